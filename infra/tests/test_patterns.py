"""The EventBridge rule patterns of every template reach the function with exactly the sample
events they should.

Patterns are read from the templates themselves: infra/template.yaml, infra/forwarder.yaml and
the synthesised CDK templates in infra/cdk/cdk.out (run `cdk synth` first; `make infra` does).
Events are every record under events/ (bare CloudTrail records, `{"Records": [...]}` log files,
EventBridge envelopes, JSON Lines, gzip; `*.expected` skipped), walked at test time, plus a few
synthetic records defined below for cases events/ does not hold.

The pattern engine is moto's EventBridge, run as a server on a free 127.0.0.1 port. moto 5.2.5
answers TestEventPattern with an empty body (its backend raises NotImplementedError), so each
pattern becomes a rule on a bus with its own SQS queue as target, every event is sent with
PutEvents, and a message in the queue means "matched" (moto's rule-matching engine). TestEventPattern
is still asked for every event and pattern: once moto answers it, its answer must agree.

Expected: an event reaches the function iff
  - its userIdentity.type is "Root" (any CloudTrail detail-type: the function decides what is an
    alert; the rule keeps volume down), or
  - it is one of the six STS session APIs (AssumeRole, AssumeRoleWithSAML,
    AssumeRoleWithWebIdentity, AssumeRoot, GetFederationToken, GetSessionToken), or
  - it is a root-only task that only root can cause, whatever identity is recorded (README catalog
    rows "any record (only root can cause it)": signin PasswordRecoveryRequested /
    PasswordRecoveryCompleted, billingconsole CloseAccount / SetIAMAccessPreference). Such
    records may come without userIdentity.type; a third rule catches them.
and no event matches two rules of one template (no duplicate deliveries).
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
import yaml

INFRA = Path(__file__).resolve().parents[1]
REPO = INFRA.parent
EVENTS = REPO / "events"
CDK_OUT = Path(os.environ.get("CDK_OUT", INFRA / "cdk" / "cdk.out"))

SESSION_APIS = {
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "AssumeRoot",
    "GetFederationToken",
    "GetSessionToken",
}
# Catalog rows whose condition is "any record (only root can cause it)".
INHERENT_ROOT_TASKS = {
    ("signin.amazonaws.com", "PasswordRecoveryRequested"),
    ("signin.amazonaws.com", "PasswordRecoveryCompleted"),
    ("billingconsole.amazonaws.com", "CloseAccount"),
    ("billingconsole.amazonaws.com", "SetIAMAccessPreference"),
}
DETAIL_TYPE_BY_EVENT_TYPE = {
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
}
REGION = "us-east-1"


# ------------------------------------------------------------------------- templates
class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags as {"Fn::X": value}."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path) -> dict:
    text = path.read_text()
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def rule_patterns(template: dict) -> list[dict]:
    """Every AWS::Events::Rule's EventPattern, with its bus (None = default bus) and state."""
    out = []
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::Events::Rule":
            continue
        props = res.get("Properties", {})
        pattern = props.get("EventPattern")
        if isinstance(pattern, str):
            pattern = json.loads(pattern)
        out.append(
            {
                "logical_id": name,
                "pattern": pattern,
                "bus": props.get("EventBusName"),
                "state": props.get("State"),
            }
        )
    return out


def canonical(pattern: dict) -> str:
    def norm(v):
        if isinstance(v, dict):
            return {k: norm(v[k]) for k in sorted(v)}
        if isinstance(v, list):
            return sorted((norm(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
        return v

    return json.dumps(norm(pattern), sort_keys=True)


def cdk_templates() -> dict[str, Path]:
    """Synthesised CDK templates; none when cdk.out is missing (test_every_template_... fails)."""
    found = {}
    for path in sorted(CDK_OUT.glob("*.template.json")):
        found[f"cdk:{path.name.removesuffix('.template.json')}"] = path
    return found


def all_templates() -> dict[str, Path]:
    templates = {"sam:template": INFRA / "template.yaml", "sam:forwarder": INFRA / "forwarder.yaml"}
    templates.update(cdk_templates())
    return templates


# ------------------------------------------------------------------------- events
def _json_values(text: str) -> list:
    decoder = json.JSONDecoder()
    values, i, n = [], 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return values
        value, i = decoder.raw_decode(text, i)
        values.append(value)


def read_items(path: Path) -> list[dict]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    values = _json_values(data.decode("utf-8"))  # also reads JSON Lines: one value per line
    items: list[dict] = []

    def add(v):
        if isinstance(v, list):
            for x in v:
                add(x)
        elif isinstance(v, dict) and isinstance(v.get("Records"), list):
            for x in v["Records"]:
                add(x)
        elif isinstance(v, dict):
            items.append(v)
        else:
            raise AssertionError(f"{path}: unexpected JSON value {type(v).__name__}")

    for v in values:
        add(v)
    return items


def envelope(item: dict) -> dict:
    """An EventBridge event as CloudTrail would deliver it: envelopes as they are, bare records
    wrapped (detail-type from eventType, source "aws." + the first label of eventSource)."""
    if "detail" in item and "detail-type" in item:
        return {"source": item.get("source"), "detail-type": item["detail-type"], "detail": item["detail"]}
    event_source = item.get("eventSource") or ""
    event_type = item.get("eventType")
    if item.get("eventName") == "ConsoleLogin" or event_type == "AwsConsoleSignIn":
        detail_type = "AWS Console Sign In via CloudTrail"
    else:
        detail_type = DETAIL_TYPE_BY_EVENT_TYPE.get(event_type, "AWS API Call via CloudTrail")
    return {"source": "aws." + event_source.split(".")[0], "detail-type": detail_type, "detail": item}


def should_reach(detail: dict) -> bool:
    identity = detail.get("userIdentity")
    identity_type = identity.get("type") if isinstance(identity, dict) else None
    source, name = detail.get("eventSource"), detail.get("eventName")
    return (
        identity_type == "Root"
        or (source == "sts.amazonaws.com" and name in SESSION_APIS)
        or (source, name) in INHERENT_ROOT_TASKS
    )


def synthetic_cases() -> list[tuple[str, dict]]:
    """Records events/ lacks: root-only tasks recorded without userIdentity.type (must reach the
    function) and look-alikes that must not."""
    close = read_items(EVENTS / "root-only-task" / "close-account.json")[0]
    recovery = read_items(EVENTS / "root-only-task" / "root-password-recovery.json")[0]
    cases = []

    ev = copy.deepcopy(close)
    del ev["detail"]["userIdentity"]
    cases.append(("synthetic/close-account-no-useridentity", ev))

    ev = copy.deepcopy(recovery)
    ev["detail"]["userIdentity"].pop("type", None)
    cases.append(("synthetic/password-recovery-no-type", ev))

    ev = copy.deepcopy(close)
    ev["detail"]["eventName"] = "SetIAMAccessPreference"
    ev["detail"]["userIdentity"] = {"type": "Unknown"}
    cases.append(("synthetic/billing-iam-access-unknown-type", ev))

    # CloseAccount of AWS Organizations is an ordinary API call by an administrator.
    ev = copy.deepcopy(close)
    ev["source"] = "aws.organizations"
    ev["detail-type"] = "AWS API Call via CloudTrail"
    ev["detail"]["eventSource"] = "organizations.amazonaws.com"
    ev["detail"]["userIdentity"] = {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/x"}
    cases.append(("synthetic/organizations-close-account-by-role", ev))

    # STS calls that issue no session.
    ev = copy.deepcopy(close)
    ev["source"] = "aws.sts"
    ev["detail-type"] = "AWS API Call via CloudTrail"
    ev["detail"]["eventSource"] = "sts.amazonaws.com"
    ev["detail"]["eventName"] = "DecodeAuthorizationMessage"
    ev["detail"]["userIdentity"] = {"type": "IAMUser"}
    cases.append(("synthetic/sts-decode-authorization-message", ev))
    return cases


def all_cases() -> list[tuple[str, dict]]:
    cases = []
    for path in sorted(p for p in EVENTS.rglob("*") if p.is_file() and not p.name.endswith(".expected")):
        rel = path.relative_to(EVENTS).as_posix()
        for i, item in enumerate(read_items(path)):
            cases.append((f"{rel}#{i}", envelope(item)))
    assert len(cases) >= 50, f"only {len(cases)} sample records under {EVENTS}"
    cases += [(name, envelope(ev)) for name, ev in synthetic_cases()]
    return cases


# ------------------------------------------------------------------------- moto server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto():
    port = _free_port()
    server = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"moto_server exited with {proc.returncode}")
            if time.monotonic() > deadline:
                pytest.fail("moto_server did not answer /moto-api/ within 30 s")
            time.sleep(0.2)
        # Dummy credentials and the endpoint for this test process only.
        os.environ.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            AWS_DEFAULT_REGION=REGION,
            AWS_ENDPOINT_URL=url,
        )
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Matcher:
    """One bus per pattern set; one rule and one SQS queue per pattern."""

    count = 0

    def __init__(self, url: str, patterns: list[dict]):
        Matcher.count += 1
        self.events = boto3.client("events", endpoint_url=url, region_name=REGION)
        self.sqs = boto3.client("sqs", endpoint_url=url, region_name=REGION)
        self.bus = f"patterns-{Matcher.count}"
        self.events.create_event_bus(Name=self.bus)
        self.queues = []
        for j, p in enumerate(patterns):
            name = f"{self.bus}-rule-{j}"
            self.events.put_rule(
                Name=name,
                EventBusName=self.bus,
                EventPattern=json.dumps(p["pattern"]),
                State=p.get("state") or "ENABLED",
            )
            q = self.sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.events.put_targets(Rule=name, EventBusName=self.bus, Targets=[{"Id": "q", "Arn": arn}])
            self.queues.append((p, q))

    def test_event_pattern(self, pattern: dict, event: dict) -> bool | None:
        """EventBridge's TestEventPattern; None while moto answers it with an empty body."""
        full = {
            "id": "00000000-0000-0000-0000-000000000000",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": REGION,
            "resources": [],
            **event,
        }
        r = self.events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(full))
        return r.get("Result")

    def matches(self, event: dict) -> list[dict]:
        """The patterns that matched, each checked to deliver the event once and unchanged.
        Where moto implements TestEventPattern, its answer must agree."""
        r = self.events.put_events(
            Entries=[
                {
                    "EventBusName": self.bus,
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                }
            ]
        )
        assert r["FailedEntryCount"] == 0, r
        matched = []
        for p, q in self.queues:
            msgs = self.sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            for m in msgs:
                self.sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
            if msgs:
                assert len(msgs) == 1, f"{len(msgs)} deliveries from one rule"
                body = json.loads(msgs[0]["Body"])
                assert body["detail"] == event["detail"] and body["detail-type"] == event["detail-type"]
                matched.append(p)
        for p, _ in self.queues:
            answer = self.test_event_pattern(p["pattern"], event)
            if answer is not None:
                assert answer == (p in matched), f"TestEventPattern says {answer} for {p['logical_id']}"
        return matched


def distinct(patterns: list[dict]) -> list[dict]:
    seen, out = set(), []
    for p in patterns:
        key = canonical(p["pattern"])
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


@pytest.fixture(scope="session")
def matchers(moto):
    cache: dict[str, Matcher] = {}

    def get(name: str) -> Matcher:
        if name not in cache:
            cache[name] = Matcher(moto, distinct(rule_patterns(load_template(all_templates()[name]))))
        return cache[name]

    return get


def mismatches(matcher: Matcher, cases) -> list[str]:
    bad = []
    for name, event in cases:
        got = bool(matcher.matches(event))
        if got != should_reach(event["detail"]):
            bad.append(name)
    return bad


# ------------------------------------------------------------------------- tests
CASES = all_cases()
TEMPLATE_NAMES = list(all_templates())


def test_every_template_has_the_same_three_patterns():
    templates = all_templates()
    assert {"sam:template", "sam:forwarder"} <= set(templates)
    assert any(n.startswith("cdk:") for n in templates), f"no CDK template in {CDK_OUT}: run `npx cdk synth` in infra/cdk (make infra does)"
    reference = None
    for name, path in templates.items():
        rules = rule_patterns(load_template(path))
        assert rules, f"{name}: no AWS::Events::Rule"
        keys = {canonical(r["pattern"]) for r in rules}
        assert len(keys) == 3, f"{name}: {len(keys)} distinct patterns, expected 3"
        reference = reference or keys
        assert keys == reference, f"{name}: patterns differ from the SAM template's"
        for r in rules:
            assert r["state"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", f"{name}/{r['logical_id']}"


def test_main_templates_watch_the_default_and_the_central_bus():
    for name, path in all_templates().items():
        rules = rule_patterns(load_template(path))
        if len(rules) == 3:  # a forwarder: default bus only
            assert all(r["bus"] is None for r in rules), name
            continue
        assert len(rules) == 6, f"{name}: {len(rules)} rules"
        for key in {canonical(r["pattern"]) for r in rules}:
            buses = [r["bus"] for r in rules if canonical(r["pattern"]) == key]
            assert None in buses and len(buses) == 2, f"{name}: pattern not on both buses: {buses}"


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_pattern_reaches_function_iff_expected(matchers, template, case):
    name, event = case
    matched = matchers(template).matches(event)
    expected = should_reach(event["detail"])
    assert len(matched) <= 1, f"{name} matches {len(matched)} rules: duplicate delivery"
    assert bool(matched) == expected, (
        f"{name} ({event['detail-type']}, {event['detail'].get('eventName')}): "
        f"{'matched' if matched else 'not matched'}, expected {'match' if expected else 'no match'}"
    )


def test_counts_of_cases():
    reach = [n for n, e in CASES if should_reach(e["detail"])]
    skip = [n for n, e in CASES if not should_reach(e["detail"])]
    print(f"\npattern cases: {len(CASES)} ({len(reach)} should reach the function, {len(skip)} should not)")
    assert len(reach) >= 30 and len(skip) >= 20


def test_a_wrong_pattern_fails(moto):
    """The harness can fail: a lowercase 'root' misses every root record, and a root rule that
    knows only one sign-in spelling misses the root sign-in recorded with the other."""
    good = distinct(rule_patterns(load_template(INFRA / "template.yaml")))
    root_rule = next(p for p in good if "userIdentity" in p["pattern"].get("detail", {}) and "source" not in p["pattern"])

    lowercase = copy.deepcopy(good)
    for p in lowercase:
        if p["pattern"] == root_rule["pattern"]:
            p["pattern"]["detail"]["userIdentity"]["type"] = ["root"]
    bad = mismatches(Matcher(moto, lowercase), CASES)
    assert len(bad) >= 20, bad

    one_spelling = copy.deepcopy(good)
    for p in one_spelling:
        if p["pattern"] == root_rule["pattern"]:
            p["pattern"]["detail-type"] = [t for t in p["pattern"]["detail-type"] if t != "AWS Console Signin via CloudTrail"]
    bad = mismatches(Matcher(moto, one_spelling), CASES)
    assert bad == ["rules/root-console-login-mfa.json#0"], bad

    # And the right patterns have no mismatch at all, through the same helper.
    assert mismatches(Matcher(moto, good), CASES) == []


def test_readme_test_event_reaches_the_function(matchers):
    """infra/test-event.json (README "Send a test event") matches a rule of every main template.
    Its source is not aws.* (PutEvents refuses those), so only the root-activity rule, which
    does not constrain source, takes it."""
    entries = json.loads((INFRA / "test-event.json").read_text())
    assert len(entries) == 1 and entries[0]["EventBusName"] == "rootwatch"
    assert not entries[0]["Source"].startswith("aws.")
    detail = json.loads(entries[0]["Detail"])
    assert detail["eventID"] == "TEST-EVENT-ID" and detail["userIdentity"]["type"] == "Root"
    event = {"source": entries[0]["Source"], "detail-type": entries[0]["DetailType"], "detail": detail}
    mains = [n for n in TEMPLATE_NAMES if n in ("sam:template", "cdk:Rootwatch")]
    assert len(mains) == 2, mains
    for name in mains:
        assert len(matchers(name).matches(event)) == 1, name
