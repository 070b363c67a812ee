"""Each function has its own IAM role with only what it needs (issue 15, item 6), in every SAM
variant and in the synthesised CDK stacks, and SAM and CDK grant the same.

- the event function's role: its log group, publish to the alert topic, the alert key, the buffer
  queue (queue mode) or the dead-letter queue as on-failure destination (direct mode), the
  sessions table, X-Ray when tracing. Nothing of S3 or of the log files' key.
- the log-archive function's role: its log group, publish, the alert key, the log-archive queue,
  s3:GetObject under the bucket's prefix, kms:Decrypt of the log files' key through S3 only, the
  sessions table, X-Ray when tracing.
- with a suppression file (SuppressionsS3Uri), both: s3:GetObject on that one object, nothing more.
- no `*` resource but X-Ray's (which has no resource-level permissions) and the log-file prefix;
- the alert key's and the topic's policies name exactly the roles of the functions deployed;
- the S3 Batch Operations role trusts only jobs of this account and region.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cfn_eval import Deployment, load_template

INFRA = Path(__file__).resolve().parents[1]
CDK_OUT = Path(os.environ.get("CDK_OUT", INFRA / "cdk" / "cdk.out"))
ACCOUNT = "123456789012"

LOG_BUCKET = os.environ.get("ROOTWATCH_EXAMPLE_LOG_BUCKET", "example-org-trail-logs")
LOG_PREFIX = os.environ.get("ROOTWATCH_EXAMPLE_LOG_PREFIX", "AWSLogs/")
LOG_KEY_ARN = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# The example settings of infra/infra.mk's synth (RootwatchLogArchive).
LOG_ARCHIVE = {
    "LogArchiveBucket": LOG_BUCKET,
    "LogArchivePrefix": LOG_PREFIX,
    "LogArchiveKeyArn": LOG_KEY_ARN,
    "LogArchiveNotification": "both",
    "CloudTrailTopicArn": "arn:aws:sns:eu-west-1:444455556666:org-trail-notifications",
    "BatchOperationsBucket": "example-rootwatch-batch",
}
SAM_VARIANTS = {
    "defaults": ({}, "us-east-1"),
    "direct mode, no sessions table, tracing": (
        {"InvocationMode": "direct", "SessionTracking": "false", "EnableTracing": "true"},
        "us-east-1",
    ),
    "log archive too": (LOG_ARCHIVE, "us-east-1"),
    "log archive too, SSE-S3, no Batch Operations": (
        {"LogArchiveBucket": LOG_BUCKET, "LogArchivePrefix": "cloudtrail/AWSLogs/"},
        "us-east-1",
    ),
    "log archive alone": ({**LOG_ARCHIVE, "CloudTrailRules": "false"}, "eu-west-1"),
    "security hub, log archive too": ({**LOG_ARCHIVE, "SecurityHub": "true"}, "us-east-1"),
}
# The example suppression file of infra/infra.mk's synth (both CDK stacks).
SUPPRESSIONS = "s3://example-rootwatch-config/rootwatch/suppressions.toml"
SAM_VARIANTS["defaults, suppressions"] = ({"SuppressionsS3Uri": SUPPRESSIONS}, "us-east-1")
SAM_VARIANTS["log archive alone, suppressions"] = ({**LOG_ARCHIVE, "CloudTrailRules": "false", "SuppressionsS3Uri": SUPPRESSIONS}, "eu-west-1")
FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")


def sam(params: dict, region: str) -> Deployment:
    return Deployment(load_template(INFRA / "template.yaml"), params, account=ACCOUNT, region=region)


def cdk(stack: str) -> Deployment:
    path = CDK_OUT / f"{stack}.template.json"
    assert path.exists(), f"{path}: run `make infra-cdk-synth`"
    region = "eu-west-1" if "LogArchive" in stack else "us-east-1"
    return Deployment(load_template(path), account=ACCOUNT, region=region)


DEPLOYMENTS = {f"sam: {name}": (lambda p=p, r=r: sam(p, r)) for name, (p, r) in SAM_VARIANTS.items()}
DEPLOYMENTS["cdk: Rootwatch"] = lambda: cdk("Rootwatch")
DEPLOYMENTS["cdk: RootwatchLogArchive"] = lambda: cdk("RootwatchLogArchive")


# ------------------------------------------------------------------------- helpers
def functions(d: Deployment) -> dict[str, str]:
    """'event' / 'log-archive' -> logical id of the function (by its timeout: 30 s / 300 s)."""
    kinds = {30: "event", 300: "log-archive"}
    out = {}
    for lid, r in d.resources.items():
        if r["Type"] in FUNCTION_TYPES:
            kind = kinds[int(r["Properties"]["Timeout"])]
            assert kind not in out, f"two {kind} functions"
            out[kind] = lid
    return out


def role_of(d: Deployment, function: str) -> str:
    role = d.resources[function]["Properties"]["Role"]
    assert list(role) == ["Fn::GetAtt"], role
    lid, attr = role["Fn::GetAtt"] if isinstance(role["Fn::GetAtt"], list) else role["Fn::GetAtt"].split(".")
    assert attr == "Arn" and d.resources[lid]["Type"] == "AWS::IAM::Role"
    return lid


def statements(d: Deployment, role: str) -> list[dict]:
    """Every statement granted to a role: inline policies, RolePolicy and Policy resources (resolved)."""
    out = []
    for r in d.resources.values():
        props = r.get("Properties", {})
        if r["Type"] == "AWS::IAM::RolePolicy" and props["RoleName"] == {"Ref": role}:
            out += d.resolve(props["PolicyDocument"])["Statement"]
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in props.get("Roles", []):
            out += d.resolve(props["PolicyDocument"])["Statement"]
    for inline in d.resources[role]["Properties"].get("Policies", []):
        out += d.resolve(inline["PolicyDocument"])["Statement"]
    return out


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def summary(sts: list[dict]) -> dict[str, tuple]:
    """Sid -> (sorted actions, condition operators and keys): what SAM and CDK must agree on."""
    out = {}
    for s in sts:
        assert s["Effect"] == "Allow", s
        assert s.get("Sid"), f"statement without Sid: {s}"
        cond = sorted((op, key) for op, keys in s.get("Condition", {}).items() for key in keys)
        out[s["Sid"]] = (sorted(listed(s["Action"])), cond)
    return out


def settings(d: Deployment) -> dict[str, str]:
    """The SAM parameters of a deployment; for a CDK template, the settings of infra/infra.mk's synth."""
    if "InvocationMode" in d.params:
        return d.params
    return {"InvocationMode": "queue", "EnableTracing": "false", "LogArchiveKeyArn": LOG_KEY_ARN, "LogArchiveBucket": LOG_BUCKET, "LogArchivePrefix": LOG_PREFIX, "SuppressionsS3Uri": SUPPRESSIONS}


def expected_sids(d: Deployment, kind: str) -> list[str]:
    p = settings(d)
    sessions = any(r["Type"] == "AWS::DynamoDB::Table" for r in d.resources.values())
    sids = ["OwnLogs", "PublishAlerts", "UseTheKey"]
    if kind == "event":
        sids.append("OnFailureDestination" if p["InvocationMode"] == "direct" else "ReadTheBufferQueue")
    else:
        sids += ["ReadTheLogArchiveQueue", "ReadTheLogFiles"]
        if p["LogArchiveKeyArn"]:
            sids.append("DecryptTheLogFilesThroughS3")
    if sessions:
        sids.append("SessionsTable")
    if p.get("SuppressionsS3Uri"):
        sids.append("ReadTheSuppressionFile")
    if p.get("EnableTracing") == "true":
        sids.append("XRayTraces")
    if p.get("SecurityHub") == "true":
        sids.append("ImportFindings")
    return sids


# ------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_each_function_has_its_own_role_with_only_what_it_needs(name):
    d = DEPLOYMENTS[name]()
    fns = functions(d)
    roles = {kind: role_of(d, lid) for kind, lid in fns.items()}
    assert len(set(roles.values())) == len(roles), f"functions share a role: {roles}"
    for kind, role in roles.items():
        assert d.resources[role]["Properties"].get("ManagedPolicyArns") is None, "no managed policies"
        trust = d.resolve(d.resources[role]["Properties"]["AssumeRolePolicyDocument"])["Statement"]
        assert trust == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            }
        ], trust
        sts = statements(d, role)
        assert [s["Sid"] for s in sts] == expected_sids(d, kind), kind
        by_sid = {s["Sid"]: s for s in sts}
        if "SessionsTable" in by_sid:
            # Both keep the pattern rules' window sets (UpdateItem: conditional updates, REMOVE when
            # pruning); the log-archive function writes a log file's sessions 25 a call (BatchWriteItem).
            want = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] + (["dynamodb:BatchWriteItem"] if kind != "event" else [])
            assert sorted(listed(by_sid["SessionsTable"]["Action"])) == sorted(want), (kind, by_sid["SessionsTable"]["Action"])
        # Its own log group only.
        (log_group,) = [lid for lid, r in d.resources.items() if r["Type"] == "AWS::Logs::LogGroup" and d.name(lid) == d.resolve(d.resources[fns[kind]]["Properties"]["LoggingConfig"]["LogGroup"])]
        assert listed(by_sid["OwnLogs"]["Resource"]) == [d.arn(log_group)]
        # No wildcard resource but X-Ray's, the log-file prefix and the log group's streams.
        for s in sts:
            for resource in listed(s["Resource"]):
                if s["Sid"] == "OwnLogs":
                    continue  # its log group's ARN (which ends in :*, the group's streams), checked above
                if s["Sid"] == "XRayTraces":
                    assert resource == "*"
                elif s["Sid"] == "ReadTheSuppressionFile":
                    assert resource == "arn:aws:s3:::" + settings(d)["SuppressionsS3Uri"].removeprefix("s3://")
                    assert listed(s["Action"]) == ["s3:GetObject"]
                elif s["Sid"] == "ReadTheLogFiles":
                    p = settings(d)
                    assert resource == f"arn:aws:s3:::{p['LogArchiveBucket']}/{p['LogArchivePrefix']}*"
                    assert listed(s["Action"]) == ["s3:GetObject"]
                else:
                    assert "*" not in resource, f"{kind} {s['Sid']}: {resource}"
        if "ImportFindings" in by_sid:
            # BatchImportFindings only, on this account's default product only.
            s = by_sid["ImportFindings"]
            assert listed(s["Action"]) == ["securityhub:BatchImportFindings"]
            assert listed(s["Resource"]) == [f"arn:aws:securityhub:{d.region}:{ACCOUNT}:product/{ACCOUNT}/default"]
        text = repr([s for s in sts if s["Sid"] != "ReadTheSuppressionFile"])
        assert ("securityhub:" in text) == (settings(d).get("SecurityHub") == "true")
        if kind == "event":
            assert "s3:" not in text and LOG_KEY_ARN not in text, "the event function reads no log files"
        else:
            assert "sqs:SendMessage" not in text
            if "BufferQueue" in d.resources:
                assert d.arn("BufferQueue") not in text
            decrypt = by_sid.get("DecryptTheLogFilesThroughS3")
            if decrypt:
                assert decrypt["Action"] == "kms:Decrypt" or decrypt["Action"] == ["kms:Decrypt"]
                assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}


@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_the_key_and_the_topic_admit_exactly_the_functions_roles(name):
    d = DEPLOYMENTS[name]()
    roles = sorted(d.arn(role_of(d, lid)) for lid in functions(d).values())
    found = []
    for r in d.resources.values():
        if r["Type"] == "AWS::KMS::Key":
            doc = d.resolve(r["Properties"]["KeyPolicy"])
        elif r["Type"] == "AWS::SNS::TopicPolicy":
            doc = d.resolve(r["Properties"]["PolicyDocument"])
        else:
            continue
        for s in doc["Statement"]:
            if s.get("Sid") in ("FunctionPublishesAndReads", "OnlyTheFunctionPublishes"):
                found.append(s["Sid"])
                assert sorted(listed(s["Principal"]["AWS"])) == roles, s
    assert sorted(found) == ["FunctionPublishesAndReads", "OnlyTheFunctionPublishes"]


@pytest.mark.parametrize(
    "sam_variant,cdk_stack",
    [("defaults, suppressions", "Rootwatch"), ("log archive alone, suppressions", "RootwatchLogArchive")],
)
def test_sam_and_cdk_grant_the_same(sam_variant, cdk_stack):
    s, c = DEPLOYMENTS[f"sam: {sam_variant}"](), DEPLOYMENTS[f"cdk: {cdk_stack}"]()
    sf, cf = functions(s), functions(c)
    assert sorted(sf) == sorted(cf)
    for kind in sf:
        assert summary(statements(s, role_of(s, sf[kind]))) == summary(statements(c, role_of(c, cf[kind]))), kind


@pytest.mark.parametrize("name", ["sam: log archive too", "sam: log archive alone", "cdk: RootwatchLogArchive"])
def test_batch_operations_role_trusts_only_this_accounts_jobs(name):
    d = DEPLOYMENTS[name]()
    (role,) = [
        lid
        for lid, r in d.resources.items()
        if r["Type"] == "AWS::IAM::Role" and "batchoperations.s3.amazonaws.com" in repr(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    trust = d.resolve(d.resources[role]["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "batchoperations.s3.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:s3:{d.region}:{ACCOUNT}:job/*"},
            },
        }
    ]
    # Its policy is unchanged: invoke the log-archive function, manifests and reports of one prefix.
    sids = [s["Sid"] for s in statements(d, role)]
    assert sids == ["InvokeTheLogArchiveFunction", "ReadManifestsWriteReports", "ManifestAndReportBucket"]


def test_the_role_checks_can_fail():
    """A shared role, an S3 grant on the event function's role and an unconditioned Batch
    Operations trust are each caught (in copies of the template)."""
    import copy

    template = load_template(INFRA / "template.yaml")

    shared = copy.deepcopy(template)
    shared["Resources"]["LogArchiveFunction"]["Properties"]["Role"] = {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    d = Deployment(shared, LOG_ARCHIVE, account=ACCOUNT)
    assert role_of(d, functions(d)["event"]) == role_of(d, functions(d)["log-archive"])

    s3 = copy.deepcopy(template)
    s3["Resources"]["FunctionPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
        {"Sid": "ReadTheLogFiles", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    )
    d = Deployment(s3, LOG_ARCHIVE, account=ACCOUNT)
    assert "ReadTheLogFiles" in [s["Sid"] for s in statements(d, role_of(d, functions(d)["event"]))]
    assert [s["Sid"] for s in statements(d, role_of(d, functions(d)["event"]))] != expected_sids(d, "event")

    loose = copy.deepcopy(template)
    del loose["Resources"]["BatchOperationsRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    d = Deployment(loose, LOG_ARCHIVE, account=ACCOUNT)
    assert "Condition" not in d.resolve(d.resources["BatchOperationsRole"]["Properties"]["AssumeRolePolicyDocument"])["Statement"][0]
