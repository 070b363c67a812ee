"""The pattern rules' settings (docs/rules.md#pattern-rules) reach both functions, in every SAM
variant and the synthesised CDK stacks, and SAM, CDK and the function agree on them.

- infra/template.yaml: a parameter for each (RootLoginFailures, RootLoginWindowMinutes,
  SprayAccounts, SprayWindowMinutes, NewCallerDays) with its default, a description naming the
  variable, an AllowedPattern that admits exactly the whole numbers from 1 to the maximum, and a
  place in the parameter groups;
- every function (the event function and the log-archive function) gets each as its environment
  variable: the default unless the parameter is set, and the parameter's value when it is;
- the CDK construct's PATTERN_SETTINGS have the same variables, defaults and maxima under the
  parameters' names in lower camel case, and its synthesised stacks give both functions the
  defaults and the same environment variable names as SAM;
- src/aws/function/config.rs reads those variables with those ranges, and src/core/patterns.rs
  has those defaults.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest

from cfn_eval import Deployment, load_template

INFRA = Path(__file__).resolve().parents[1]
ROOT = INFRA.parent
CDK_OUT = Path(os.environ.get("CDK_OUT", INFRA / "cdk" / "cdk.out"))
ACCOUNT = "123456789012"

# parameter -> (environment variable, default, maximum); the minimum is 1.
SETTINGS = {
    "RootLoginFailures": ("ROOT_LOGIN_FAILURES", "5", 1000),
    "RootLoginWindowMinutes": ("ROOT_LOGIN_WINDOW_MINUTES", "15", 1440),
    "SprayAccounts": ("SPRAY_ACCOUNTS", "3", 1000),
    "SprayWindowMinutes": ("SPRAY_WINDOW_MINUTES", "60", 1440),
    "NewCallerDays": ("NEW_CALLER_DAYS", "90", 3650),
}
DEFAULTS = {var: default for var, default, _ in SETTINGS.values()}
# The example suppression file of infra/infra.mk's synth (both CDK stacks).
SUPPRESSIONS = "s3://example-rootwatch-config/rootwatch/suppressions.toml"

LOG_BUCKET = os.environ.get("ROOTWATCH_EXAMPLE_LOG_BUCKET", "example-org-trail-logs")
LOG_PREFIX = os.environ.get("ROOTWATCH_EXAMPLE_LOG_PREFIX", "AWSLogs/")
LOG_ARCHIVE = {
    "LogArchiveBucket": LOG_BUCKET,
    "LogArchivePrefix": LOG_PREFIX,
    "LogArchiveKeyArn": "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "LogArchiveNotification": "both",
    "CloudTrailTopicArn": "arn:aws:sns:eu-west-1:444455556666:org-trail-notifications",
    "BatchOperationsBucket": "example-rootwatch-batch",
}
SAM_VARIANTS = {
    "defaults": ({}, "us-east-1"),
    "direct mode, no sessions table": ({"InvocationMode": "direct", "SessionTracking": "false"}, "us-east-1"),
    "log archive too": (LOG_ARCHIVE, "us-east-1"),
    "log archive alone": ({**LOG_ARCHIVE, "CloudTrailRules": "false"}, "eu-west-1"),
}
CDK_STACKS = {"Rootwatch": "us-east-1", "RootwatchLogArchive": "eu-west-1"}
FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")


def sam(params: dict, region: str = "us-east-1", template: dict | None = None) -> Deployment:
    return Deployment(template or load_template(INFRA / "template.yaml"), params, account=ACCOUNT, region=region)


def cdk(stack: str) -> Deployment:
    path = CDK_OUT / f"{stack}.template.json"
    assert path.exists(), f"{path}: run `make infra-cdk-synth`"
    return Deployment(load_template(path), account=ACCOUNT, region=CDK_STACKS[stack])


# ------------------------------------------------------------------------- helpers
def environments(d: Deployment) -> dict[str, dict]:
    """'event' / 'log-archive' (by timeout, 30 s / 300 s) -> the function's resolved environment."""
    kinds = {30: "event", 300: "log-archive"}
    out = {}
    for r in d.resources.values():
        if r["Type"] in FUNCTION_TYPES:
            kind = kinds[int(r["Properties"]["Timeout"])]
            assert kind not in out, f"two {kind} functions"
            out[kind] = d.resolve(r["Properties"]["Environment"]["Variables"])
    return out


def setting_problems(d: Deployment, want: dict[str, str]) -> list[str]:
    """What differs from `want` (variable -> value) in any function's environment."""
    envs = environments(d)
    assert envs, "no function"
    return [
        f"{kind}: {var}={env.get(var)!r}, expected {value!r}"
        for kind, env in envs.items()
        for var, value in want.items()
        if env.get(var) != value
    ]


def range_problems(pattern: str, maximum: int) -> list[str]:
    """Where an AllowedPattern differs from 'a whole number from 1 to maximum' (CloudFormation
    matches the whole value)."""
    matches = {n: bool(re.fullmatch(pattern, str(n))) for n in range(0, maximum + 12)}
    problems = [f"{n}: {'admitted' if ok else 'refused'}" for n, ok in matches.items() if ok != (1 <= n <= maximum)]
    problems += [f"{v!r} admitted" for v in ["", "01", "2.5", "1e2", "+5", "-1", " 5", "5 ", "0x10", "5\n"] if re.fullmatch(pattern, v)]
    return problems


def parameter_problems(template: dict) -> list[str]:
    params = template["Parameters"]
    problems = []
    for name, (var, default, maximum) in SETTINGS.items():
        p = params.get(name)
        if p is None:
            problems.append(f"{name}: missing")
            continue
        if p.get("Type") != "String" or str(p.get("Default")) != default:
            problems.append(f"{name}: Type {p.get('Type')}, Default {p.get('Default')!r}")
        if var not in p.get("Description", ""):
            problems.append(f"{name}: the description does not name {var}")
        if p.get("ConstraintDescription") != f"a whole number from 1 to {maximum}":
            problems.append(f"{name}: ConstraintDescription {p.get('ConstraintDescription')!r}")
        problems += [f"{name}: {x}" for x in range_problems(p.get("AllowedPattern", ".*"), maximum)]
        if not re.fullmatch(p.get("AllowedPattern", ".*"), default):
            problems.append(f"{name}: the default {default} is refused")
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [n for g in groups for n in g["Parameters"]]
    problems += [f"{name}: in {grouped.count(name)} parameter groups" for name in SETTINGS if grouped.count(name) != 1]
    return problems


def cdk_settings() -> dict[str, tuple[str, str, int]]:
    """PATTERN_SETTINGS of the CDK construct: prop -> (variable, default, maximum)."""
    text = (INFRA / "cdk" / "lib" / "root-activity-detector.ts").read_text()
    (block,) = re.findall(r"export const PATTERN_SETTINGS = \{(.*?)\n\} as const;", text, re.S)
    rows = re.findall(r"^\s+(\w+): \{ variable: '([A-Z_]+)', default: (\d+), max: (\d+) \},$", block, re.M)
    assert len(rows) == block.count("variable:"), f"unparsed PATTERN_SETTINGS rows: {block}"
    return {prop: (var, default, int(maximum)) for prop, var, default, maximum in rows}


def lower_camel(name: str) -> str:
    return name[0].lower() + name[1:]


# ------------------------------------------------------------------------- tests
def test_the_parameters_admit_whole_numbers_in_range_and_are_grouped():
    assert parameter_problems(load_template(INFRA / "template.yaml")) == []


@pytest.mark.parametrize("name", list(SAM_VARIANTS))
def test_every_parameter_reaches_both_functions_with_its_default(name):
    params, region = SAM_VARIANTS[name]
    d = sam(params, region)
    expected = {"defaults": ["event"], "direct mode, no sessions table": ["event"], "log archive too": ["event", "log-archive"], "log archive alone": ["log-archive"]}
    assert sorted(environments(d)) == expected[name]
    assert setting_problems(d, DEFAULTS) == []


@pytest.mark.parametrize("name", list(SAM_VARIANTS))
def test_every_parameter_is_passed_as_set(name):
    """Values other than the defaults (each a different one) arrive unchanged: the environment
    refers to the parameters."""
    params, region = SAM_VARIANTS[name]
    chosen = {"RootLoginFailures": "1000", "RootLoginWindowMinutes": "1", "SprayAccounts": "7", "SprayWindowMinutes": "1440", "NewCallerDays": "3650"}
    d = sam({**params, **chosen}, region)
    assert setting_problems(d, {SETTINGS[p][0]: v for p, v in chosen.items()}) == []


@pytest.mark.parametrize("stack", list(CDK_STACKS))
def test_the_cdk_stacks_give_both_functions_the_defaults(stack):
    d = cdk(stack)
    assert sorted(environments(d)) == (["event"] if stack == "Rootwatch" else ["log-archive"])
    assert setting_problems(d, DEFAULTS) == []


def test_the_cdk_construct_has_the_same_settings():
    assert cdk_settings() == {lower_camel(name): s for name, s in SETTINGS.items()}


@pytest.mark.parametrize("sam_variant,cdk_stack", [("defaults", "Rootwatch"), ("log archive alone", "RootwatchLogArchive")])
def test_sam_and_cdk_give_the_functions_the_same_variables(sam_variant, cdk_stack):
    # infra/infra.mk's synth sets the example suppression file on both CDK stacks.
    params, region = SAM_VARIANTS[sam_variant]
    s = environments(sam({**params, "SuppressionsS3Uri": SUPPRESSIONS}, region))
    c = environments(cdk(cdk_stack))
    assert sorted(s) == sorted(c)
    for kind in s:
        assert sorted(s[kind]) == sorted(c[kind]), kind
        assert s[kind]["SUPPRESSIONS_S3_URI"] == c[kind]["SUPPRESSIONS_S3_URI"] == SUPPRESSIONS, kind
        assert {v: s[kind][v] for v in DEFAULTS} == {v: c[kind][v] for v in DEFAULTS} == DEFAULTS, kind


def test_the_function_reads_them_with_these_ranges_and_defaults():
    """src/aws/function/config.rs reads each variable as a whole number from 1 (at_least_one) to
    the parameter's maximum; src/core/patterns.rs's defaults, in the variables' units, are the
    parameters' defaults."""
    config = (ROOT / "src" / "aws" / "function" / "config.rs").read_text()
    maxima = {var: int(m.replace("_", "")) for var, m in re.findall(r'number\("([A-Z_]+)", ([0-9_]+)\)', config)}
    at_least_one = set(re.findall(r'at_least_one\(\s*"([A-Z_]+)"', config))
    for var, _, maximum in SETTINGS.values():
        assert maxima.get(var) == maximum, f"{var}: config.rs reads up to {maxima.get(var)}"
        assert var in at_least_one, f"{var}: config.rs does not refuse 0"

    patterns = (ROOT / "src" / "core" / "patterns.rs").read_text()
    (block,) = re.findall(r"impl Default for PatternConfig \{.*?PatternConfig \{(.*?)\}", patterns, re.S)
    fields = dict(re.findall(r"(\w+): ([0-9_ *]+),", block))
    # variable -> (PatternConfig field, seconds per unit of the variable; 1 for counts)
    units = {
        "ROOT_LOGIN_FAILURES": ("brute_force_failures", 1),
        "ROOT_LOGIN_WINDOW_MINUTES": ("brute_force_window", 60),
        "SPRAY_ACCOUNTS": ("spray_accounts", 1),
        "SPRAY_WINDOW_MINUTES": ("spray_window", 60),
        "NEW_CALLER_DAYS": ("new_caller_memory", 86_400),
    }
    for var, default in DEFAULTS.items():
        field, unit = units[var]
        assert field in fields, f"PatternConfig::default has no {field}"
        value = 1
        for factor in fields[field].split("*"):
            value *= int(factor.strip().replace("_", ""))
        assert value == int(default) * unit, f"{var}: patterns.rs's default {field} = {fields[field].strip()}"
        # and config.rs converts the variable to that field with the same unit
        conversion = "as usize" if unit == 1 else f"* {unit:_}" if unit > 999 else f"* {unit}"
        assert re.search(rf'"{var}".*?\.map_or\(d\.{field}, \|\w+\| \w+ {re.escape(conversion)}\)', config, re.S), f"{var} -> {field}"


def test_the_setting_checks_can_fail():
    """A variable missing from one function, a literal in place of the parameter, a pattern that
    admits too much or too little, and a parameter left out of the groups are each caught (in
    copies of the template)."""
    template = load_template(INFRA / "template.yaml")

    missing = copy.deepcopy(template)
    del missing["Resources"]["LogArchiveFunction"]["Properties"]["Environment"]["Variables"]["SPRAY_ACCOUNTS"]
    assert setting_problems(sam(LOG_ARCHIVE, template=missing), DEFAULTS) == ["log-archive: SPRAY_ACCOUNTS=None, expected '3'"]

    literal = copy.deepcopy(template)
    literal["Resources"]["Function"]["Properties"]["Environment"]["Variables"]["NEW_CALLER_DAYS"] = "90"
    assert setting_problems(sam({}, template=literal), DEFAULTS) == []
    assert setting_problems(sam({"NewCallerDays": "30"}, template=literal), {"NEW_CALLER_DAYS": "30"}) == ["event: NEW_CALLER_DAYS='90', expected '30'"]

    assert range_problems(r"[1-9][0-9]*", 1000) != []  # admits 1001
    assert range_problems(r"[1-9][0-9]{0,2}", 1000) == ["1000: refused"]
    assert range_problems(r"[0-9]+", 1440) != []  # admits 0 and 01

    loose = copy.deepcopy(template)
    loose["Parameters"]["SprayWindowMinutes"]["AllowedPattern"] = "^[0-9]+$"
    loose["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"][-1]["Parameters"].append("NewCallerDays")
    problems = parameter_problems(loose)
    assert any(p.startswith("SprayWindowMinutes: 0: admitted") for p in problems), problems
    assert "NewCallerDays: in 2 parameter groups" in problems
