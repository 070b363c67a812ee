"""infra/patterns.json is the one source of the EventBridge rule patterns: every rule of every
template must be a pattern of it, unchanged.

The CDK app imports the file (infra/cdk/lib/patterns.ts); the SAM templates infra/template.yaml
and infra/forwarder.yaml repeat the patterns in YAML. Checked here:

- each SAM template as written: every AWS::Events::Rule is named after a source entry (Local<Name>Rule
  and Central<Name>Rule for an entry on both buses, <Name>Rule for an entry on the default bus
  only and in the forwarder), its EventPattern is the entry's pattern with each ${Name} written as
  !Ref Name (the whole value) or !Sub (inside a longer string), its State is the entry's, its bus
  is the default bus or the central bus as the entry says, its Description names the entry;
- each deployment, SAM (parameters and conditions resolved by cfn_eval, with non-default
  log-archive values) and the synthesised CDK templates in infra/cdk/cdk.out (the example context
  of infra/infra.mk): exactly the expected rules exist, and each resolved pattern is the entry's
  pattern with the deployment's values filled in.

test_drift_from_the_pattern_source_is_caught puts deliberately wrong patterns (in copies, never in
the templates) through the same checks. What the patterns match is test_patterns.py's subject.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import pytest

from cfn_eval import Deployment, canonical, is_scheduled, load_template

INFRA = Path(__file__).resolve().parents[1]
CDK_OUT = Path(os.environ.get("CDK_OUT", INFRA / "cdk" / "cdk.out"))
SOURCE: dict[str, dict] = json.loads((INFRA / "patterns.json").read_text())["patterns"]
FORWARDED = [name for name, e in SOURCE.items() if e["forwarded"]]

# The log-archive settings of infra/infra.mk's synth (RootwatchLogArchive), and other values for
# the SAM variants so that the substitution is checked with more than the defaults.
LOG_BUCKET = os.environ.get("ROOTWATCH_EXAMPLE_LOG_BUCKET", "example-org-trail-logs")
LOG_PREFIX = os.environ.get("ROOTWATCH_EXAMPLE_LOG_PREFIX", "AWSLogs/")
SAM_LOG_ARCHIVE = {"LogArchiveBucket": "org-trail-logs-b", "LogArchivePrefix": "cloudtrail/AWSLogs/"}

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
CDK_HASH = re.compile(r"[0-9A-F]{8}$")
RULE_ID = re.compile(r"^(Local|Central)?([A-Za-z0-9]+)Rule$")
WHERE = {"default": "Local", "central": "Central"}

# name -> (template file, kind, parameters, region, the entries it must hold)
SAM_VARIANTS = {
    "sam:template": ("template.yaml", "main", {}, "us-east-1", FORWARDED),
    "sam:template+log-archive": ("template.yaml", "main", SAM_LOG_ARCHIVE, "us-east-1", FORWARDED + ["LogArchive"]),
    "sam:template+log-archive, other bus name": (
        "template.yaml",
        "main",
        {**SAM_LOG_ARCHIVE, "CentralBusName": "security-events"},
        "us-east-1",
        FORWARDED + ["LogArchive"],
    ),
    "sam:log-archive-only": ("template.yaml", "main", {**SAM_LOG_ARCHIVE, "CloudTrailRules": "false"}, "eu-west-1", ["LogArchive"]),
    "sam:forwarder": ("forwarder.yaml", "forwarder", {"CentralAccountId": "111122223333"}, "eu-west-1", FORWARDED),
}
CDK_STACKS = {
    "cdk:Rootwatch": ("main", {}, "us-east-1", FORWARDED),
    "cdk:RootwatchForwarder": ("forwarder", {"CentralAccountId": "111122223333"}, "eu-west-1", FORWARDED),
    "cdk:RootwatchLogArchive": ("main", {}, "eu-west-1", ["LogArchive"]),
}
CDK_VALUES = {"LogArchiveBucket": LOG_BUCKET, "LogArchivePrefix": LOG_PREFIX}


# ------------------------------------------------------------------------- the source's forms
def placeholders(value) -> set[str]:
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(placeholders(v) for v in value.values())) if value else set()
    return set()


def as_written(value):
    """The pattern as a SAM template writes it: ${Name} alone is !Ref Name, inside text !Sub."""
    if isinstance(value, str):
        if PLACEHOLDER.fullmatch(value):
            return {"Ref": PLACEHOLDER.fullmatch(value).group(1)}
        return {"Fn::Sub": value} if PLACEHOLDER.search(value) else value
    if isinstance(value, list):
        return [as_written(v) for v in value]
    if isinstance(value, dict):
        return {k: as_written(v) for k, v in value.items()}
    return value


def filled(value, values: dict[str, str]):
    """The pattern with each ${Name} replaced by the deployment's value."""
    if isinstance(value, str):

        def one(m):
            assert m.group(1) in values, f"no value for ${{{m.group(1)}}}"
            return str(values[m.group(1)])

        return PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        return [filled(v, values) for v in value]
    if isinstance(value, dict):
        return {k: filled(v, values) for k, v in value.items()}
    return value



def expected_rules(kind: str, entries: list[str], source: dict) -> dict[tuple[str | None, str], str]:
    """(Local/Central/None, entry name) -> bus ("default" or "central") of every rule a template must hold."""
    out = {}
    for name in entries:
        entry = source[name]
        if kind == "forwarder":
            assert entry["forwarded"], name
            out[(None, name)] = "default"
        elif entry["buses"] == ["default"]:
            out[(None, name)] = "default"
        else:
            for bus in entry["buses"]:
                out[(WHERE[bus], name)] = bus
    return out


def rule_key(logical_id: str, prefix: str, cdk: bool) -> tuple[str | None, str] | None:
    lid = logical_id
    if cdk:
        lid = CDK_HASH.sub("", lid)
    if not lid.startswith(prefix):
        return None
    m = RULE_ID.match(lid[len(prefix) :])
    return (m.group(1), m.group(2)) if m else None


def rules_of(resources: dict) -> dict[str, dict]:
    """The event-pattern rules (the scheduled heartbeat rule has no pattern: test_detector_health.py)."""
    return {lid: r for lid, r in resources.items() if r["Type"] == "AWS::Events::Rule" and not is_scheduled(r)}


def match_rules(rules: dict, kind: str, entries: list[str], source: dict, prefix: str, cdk: bool):
    """Pairs (logical id, entry name, bus) and the problems of rules that are extra or missing."""
    want = expected_rules(kind, entries, source)
    problems, pairs, seen = [], [], set()
    for lid in rules:
        key = rule_key(lid, prefix, cdk)
        if key not in want:
            problems.append(f"{lid}: not a rule of infra/patterns.json for this template (expected {sorted(map(str, want))})")
            continue
        if key in seen:
            problems.append(f"{lid}: a second rule for {key}")
        seen.add(key)
        pairs.append((lid, key[1], want[key]))
    problems += [f"no rule for {key} of infra/patterns.json" for key in want if key not in seen]
    return pairs, problems


# ------------------------------------------------------------------------- the checks
def written_problems(template: dict, kind: str, entries: list[str], source: dict = SOURCE) -> list[str]:
    """A SAM template as written against the source."""
    rules = rules_of(template["Resources"])
    pairs, problems = match_rules(rules, kind, entries, source, "", cdk=False)
    for lid, name, bus in pairs:
        entry, props = source[name], rules[lid]["Properties"]
        want = as_written(entry["pattern"])
        if canonical(props.get("EventPattern")) != canonical(want):
            problems.append(f"{lid}: EventPattern {json.dumps(props.get('EventPattern'))} is not {name} of infra/patterns.json {json.dumps(want)}")
        if props.get("State") != entry["state"]:
            problems.append(f"{lid}: State {props.get('State')}, {name} says {entry['state']}")
        want_bus = None if bus == "default" else {"Ref": "CentralBus"}
        if props.get("EventBusName") != want_bus:
            problems.append(f"{lid}: EventBusName {props.get('EventBusName')}, expected {want_bus} ({bus} bus)")
        if entry["description"] not in props.get("Description", ""):
            problems.append(f"{lid}: Description {props.get('Description')!r} does not name {entry['description']!r}")
    return problems


def deployed_problems(
    d: Deployment, kind: str, entries: list[str], values: dict, cdk: bool, source: dict = SOURCE
) -> list[str]:
    """A deployment (parameters, conditions and intrinsic functions resolved) against the source."""
    prefix = "Detector" if cdk and kind == "main" else ""
    resolved = {r["logical_id"]: r for r in d.rules()}
    pairs, problems = match_rules(resolved, kind, entries, source, prefix, cdk)
    buses = [lid for lid, r in d.resources.items() if r["Type"] == "AWS::Events::EventBus"]
    for lid, name, bus in pairs:
        entry, rule = source[name], resolved[lid]
        want = filled(entry["pattern"], values)
        if canonical(rule["pattern"]) != canonical(want):
            problems.append(f"{lid}: pattern {json.dumps(rule['pattern'])} is not {name} of infra/patterns.json {json.dumps(want)}")
        if (rule["state"] or "ENABLED") != entry["state"]:
            problems.append(f"{lid}: State {rule['state']}, {name} says {entry['state']}")
        want_bus = None if bus == "default" else (d.ref(buses[0]) if len(buses) == 1 else f"one central bus, not {buses}")
        if rule["bus"] != want_bus:
            problems.append(f"{lid}: bus {rule['bus']}, expected {want_bus} ({bus} bus)")
    return problems


def sam(name: str) -> tuple[dict, Deployment]:
    file, kind, params, region, entries = SAM_VARIANTS[name]
    template = load_template(INFRA / file)
    return template, Deployment(template, params, region=region)


def cdk(name: str) -> Deployment:
    kind, params, region, entries = CDK_STACKS[name]
    path = CDK_OUT / f"{name.removeprefix('cdk:')}.template.json"
    assert path.exists(), f"{path}: run `make infra-cdk-synth` (cdk synth with the example log-archive context)"
    return Deployment(load_template(path), params, region=region)


# ------------------------------------------------------------------------- tests
def test_the_source_is_well_formed():
    assert set(SOURCE) == {"RootActivity", "SessionStart", "RootOnlyTask", "DetectorTamper", "LogArchive"}
    for name, e in SOURCE.items():
        assert set(e) == {"description", "state", "buses", "forwarded", "parameters", "pattern"}, name
        assert placeholders(e["pattern"]) == set(e["parameters"]), f"{name}: declare exactly the ${{Name}} values used"
        assert e["buses"] and set(e["buses"]) <= {"default", "central"}, name
        assert not (e["forwarded"] and e["parameters"]), f"{name}: the forwarder has no such parameters"
        assert set(e["pattern"]) <= {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}, name
    sam_params = load_template(INFRA / "template.yaml")["Parameters"]
    assert all(p in sam_params for e in SOURCE.values() for p in e["parameters"]), "placeholders are SAM parameters"


@pytest.mark.parametrize("file,kind", [("template.yaml", "main"), ("forwarder.yaml", "forwarder")])
def test_sam_template_as_written_is_the_source(file, kind):
    entries = list(SOURCE) if kind == "main" else FORWARDED
    assert written_problems(load_template(INFRA / file), kind, entries) == []


@pytest.mark.parametrize("name", list(SAM_VARIANTS))
def test_sam_deployment_is_the_source(name):
    _, d = sam(name)
    _, kind, _, _, entries = SAM_VARIANTS[name]
    assert deployed_problems(d, kind, entries, d.params, cdk=False) == []


@pytest.mark.parametrize("name", list(CDK_STACKS))
def test_synthesised_cdk_template_is_the_source(name):
    kind, _, _, entries = CDK_STACKS[name]
    assert deployed_problems(cdk(name), kind, entries, CDK_VALUES, cdk=True) == []


def test_the_cdk_app_reads_the_source():
    """patterns.ts imports infra/patterns.json, and no CDK source file holds a pattern of its own."""
    lib = INFRA / "cdk" / "lib"
    assert "from '../../patterns.json'" in (lib / "patterns.ts").read_text()
    literals = ["AssumeRoleWithSAML", "PasswordRecoveryRequested", "UpdateAssumeRolePolicy", "Object Created", "AWS Console Signin via CloudTrail"]
    for path in lib.rglob("*.ts"):
        text = path.read_text()
        quoted = [x for x in literals if f"'{x}'" in text]  # a string of the code (comments quote with ")
        assert not quoted, f"{path.name} spells out a pattern ({quoted}): read it from infra/patterns.json"


def test_drift_from_the_pattern_source_is_caught():
    """Deliberately wrong patterns, in copies of the templates and of the source, go through the
    same checks as the real ones and each is reported (nothing is written to the templates)."""
    template, d = sam("sam:template+log-archive")
    assert written_problems(template, "main", list(SOURCE)) == []

    def written(change):
        t = copy.deepcopy(template)
        change(t["Resources"])
        return written_problems(t, "main", list(SOURCE))

    # One API missing from one rule: only that rule is reported.
    def drop_assume_root(res):
        res["LocalSessionStartRule"]["Properties"]["EventPattern"]["detail"]["eventName"].remove("AssumeRoot")

    (problem,) = written(drop_assume_root)
    assert problem.startswith("LocalSessionStartRule: EventPattern"), problem

    # An extra account condition, a literal where the source has ${LogArchiveBucket}, the wrong
    # bus, the wrong state.
    def extra_account(res):
        res["CentralDetectorTamperRule"]["Properties"]["EventPattern"]["account"] = ["111122223333"]

    assert [p.split(":")[0] for p in written(extra_account)] == ["CentralDetectorTamperRule"]

    def literal_bucket(res):
        res["LogArchiveRule"]["Properties"]["EventPattern"]["detail"]["bucket"]["name"] = ["org-trail-logs-b"]

    assert [p.split(":")[0] for p in written(literal_bucket)] == ["LogArchiveRule"]
    # Deployed with that very bucket it resolves to the same pattern: only the written form shows
    # the lost !Ref, which every other bucket would miss.
    t = copy.deepcopy(template)
    literal_bucket(t["Resources"])
    assert deployed_problems(Deployment(t, SAM_LOG_ARCHIVE), "main", FORWARDED + ["LogArchive"], {**SAM_LOG_ARCHIVE}, cdk=False) == []

    def wrong_bus(res):
        del res["CentralRootActivityRule"]["Properties"]["EventBusName"]

    assert [p.split(":")[0] for p in written(wrong_bus)] == ["CentralRootActivityRule"]

    def plain_enabled(res):
        res["LocalRootOnlyTaskRule"]["Properties"]["State"] = "ENABLED"

    assert [p.split(":")[0] for p in written(plain_enabled)] == ["LocalRootOnlyTaskRule"]

    # A rule missing, and a rule the source does not know.
    def missing_and_extra(res):
        res["WatchEverythingRule"] = res.pop("CentralRootOnlyTaskRule")

    assert sorted(p.split(":")[0] for p in written(missing_and_extra)) == ["WatchEverythingRule", "no rule for ('Central', 'RootOnlyTask') of infra/patterns.json"]

    # The forwarder with a lowercase root (matches nothing: CloudTrail writes Root).
    forwarder = load_template(INFRA / "forwarder.yaml")
    forwarder["Resources"]["RootActivityRule"]["Properties"]["EventPattern"]["detail"]["userIdentity"]["type"] = ["root"]
    assert [p.split(":")[0] for p in written_problems(forwarder, "forwarder", FORWARDED)] == ["RootActivityRule"]

    # A deployment whose !Sub prefix lost its wildcard.
    t = copy.deepcopy(template)
    t["Resources"]["LogArchiveRule"]["Properties"]["EventPattern"]["detail"]["object"]["key"] = [
        {"wildcard": {"Fn::Sub": "${LogArchivePrefix}CloudTrail/*.json.gz"}}
    ]
    bad = Deployment(t, SAM_LOG_ARCHIVE)
    assert [p.split(":")[0] for p in deployed_problems(bad, "main", FORWARDED + ["LogArchive"], bad.params, cdk=False)] == ["LogArchiveRule"]

    # A wrong source: the IAM branch gone from DetectorTamper. Both tamper rules of every
    # template now differ from it, SAM and CDK alike.
    source = copy.deepcopy(SOURCE)
    source["DetectorTamper"]["pattern"]["detail"]["$or"] = [
        b for b in source["DetectorTamper"]["pattern"]["detail"]["$or"] if b["eventSource"] != ["iam.amazonaws.com"]
    ]
    assert sorted(p.split(":")[0] for p in written_problems(template, "main", list(SOURCE), source)) == [
        "CentralDetectorTamperRule",
        "LocalDetectorTamperRule",
    ]
    d = cdk("cdk:Rootwatch")
    bad = deployed_problems(d, "main", FORWARDED, CDK_VALUES, cdk=True, source=source)
    assert sorted(CDK_HASH.sub("", p.split(":")[0]) for p in bad) == ["DetectorCentralDetectorTamperRule", "DetectorLocalDetectorTamperRule"]

    # A synthesised CDK template edited by hand.
    t = copy.deepcopy(d.template)
    (lid,) = [x for x in rules_of(t["Resources"]) if CDK_HASH.sub("", x) == "DetectorLocalSessionStartRule"]
    t["Resources"][lid]["Properties"]["EventPattern"]["detail"]["eventName"].append("GetCallerIdentity")
    bad = deployed_problems(Deployment(t, region="us-east-1"), "main", FORWARDED, CDK_VALUES, cdk=True)
    assert [p.split(":")[0] for p in bad] == [lid]
