"""The EventBridge rule patterns of every template reach the function with exactly the sample
events they should.

Patterns are read from the templates themselves, evaluated for a deployment (parameters,
conditions and intrinsic functions resolved by cfn_eval): infra/template.yaml with its defaults,
with the log-archive option, and with the log-archive path alone (CloudTrailRules=false);
infra/forwarder.yaml; and the synthesised CDK templates in infra/cdk/cdk.out (run `cdk synth`
first; `make infra` does, with the example log-archive settings below for RootwatchLogArchive).

Events are every record under events/ (bare CloudTrail records, `{"Records": [...]}` log files,
EventBridge envelopes, JSON Lines, gzip; `*.expected` skipped), walked at test time, plus
synthetic records defined below for cases events/ does not hold: root-only tasks without a Root
identity, detector-tamper calls (until events/detector-tamper/ holds samples; then both count),
look-alikes that must not match, and S3 "Object Created" events for the log-archive rule.

The pattern engine is moto's EventBridge, run as a server on a free 127.0.0.1 port. moto 5.2.5
answers TestEventPattern with an empty body (its backend raises NotImplementedError), so each
pattern becomes a rule on a bus with its own SQS queue as target, every event is sent with
PutEvents (ten at a time, each tagged in `resources` with its case number), and a message in a
queue means "matched" (moto's rule-matching engine implements $or at any level, prefix, suffix,
wildcard, anything-but, exists and equals-ignore-case, all of which the tests below exercise).
TestEventPattern is probed once: once moto answers it, its answer must agree for every event.

Expected, for a CloudTrail event: it reaches the function iff
  - its userIdentity.type is "Root" (any CloudTrail detail-type: the function decides what is an
    alert; the rule keeps volume down), or
  - it is one of the six STS session APIs (AssumeRole, AssumeRoleWithSAML,
    AssumeRoleWithWebIdentity, AssumeRoot, GetFederationToken, GetSessionToken) by any identity
    but Root (a root GetSessionToken takes the first rule: one delivery), or
  - it is a root-only task that only root can cause, whatever identity is recorded (README catalog
    rows "any record (only root can cause it)": signin PasswordRecoveryRequested /
    PasswordRecoveryCompleted, billingconsole CloseAccount / SetIAMAccessPreference). Such
    records may come without userIdentity.type; a third rule catches them; or
  - it is an API call of the detector-tamper list (TAMPER_APIS below: any resource, Lambda names
    by prefix because CloudTrail records versioned names), by any identity but Root (Root
    records take the first rule);
for an S3 "Object Created" event (templates with the log-archive rule only): iff it is in the
log-archive bucket and its key is a CloudTrail log file under the prefix (not a digest or
Insights file). No CloudTrail event reaches the S3 rule, no S3 event a CloudTrail rule, and no
event matches two rules of one template (no duplicate deliveries).
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

from cfn_eval import Deployment, canonical, load_template

INFRA = Path(__file__).resolve().parents[1]
REPO = INFRA.parent
EVENTS = REPO / "events"
CDK_OUT = Path(os.environ.get("CDK_OUT", INFRA / "cdk" / "cdk.out"))

# The example log-archive settings: infra/infra.mk synthesises RootwatchLogArchive with them, and
# the SAM variants below use them too.
LOG_BUCKET = os.environ.get("ROOTWATCH_EXAMPLE_LOG_BUCKET", "example-org-trail-logs")
LOG_PREFIX = os.environ.get("ROOTWATCH_EXAMPLE_LOG_PREFIX", "AWSLogs/")
LOG_KEY_ARN = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAIL_TOPIC_ARN = "arn:aws:sns:eu-west-1:444455556666:org-trail-notifications"
BATCH_BUCKET = "example-rootwatch-batch"

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
# Issue 7, rule detector-tamper: event source -> (prefix match?, event names).
TAMPER_APIS = {
    "cloudtrail.amazonaws.com": (False, ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"]),
    "events.amazonaws.com": (
        False,
        ["DisableRule", "DeleteRule", "RemoveTargets", "PutRule", "PutTargets", "DeleteEventBus", "RemovePermission"],
    ),
    "lambda.amazonaws.com": (
        True,
        [
            "DeleteFunction",
            "PutFunctionConcurrency",
            "DeleteEventSourceMapping",
            "UpdateEventSourceMapping",
            "UpdateFunctionConfiguration",
            "UpdateFunctionCode",
            "RemovePermission",
            "PutFunctionEventInvokeConfig",
            "UpdateFunctionEventInvokeConfig",
        ],
    ),
    "sqs.amazonaws.com": (False, ["DeleteQueue", "SetQueueAttributes", "PurgeQueue", "RemovePermission"]),
    "sns.amazonaws.com": (
        False,
        ["DeleteTopic", "Unsubscribe", "SetTopicAttributes", "SetSubscriptionAttributes", "RemovePermission"],
    ),
    "kms.amazonaws.com": (False, ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"]),
    "dynamodb.amazonaws.com": (False, ["DeleteTable", "PutResourcePolicy", "DeleteResourcePolicy", "UpdateTimeToLive"]),
    "iam.amazonaws.com": (
        False,
        [
            "DeleteRole",
            "DeleteRolePolicy",
            "DetachRolePolicy",
            "PutRolePolicy",
            "PutRolePermissionsBoundary",
            "UpdateAssumeRolePolicy",
            "AttachRolePolicy",
        ],
    ),
    # Issue 15: the account leaving its organisation (always), CloudTrail's trusted access or
    # delegated administrator removed (the function checks servicePrincipal; the rule does not).
    "organizations.amazonaws.com": (False, ["LeaveOrganization", "DisableAWSServiceAccess", "DeregisterDelegatedAdministrator"]),
}
# How CloudTrail records the Lambda API calls (versioned names).
LAMBDA_RECORDED_NAMES = {
    "DeleteFunction": "DeleteFunction20150331",
    "PutFunctionConcurrency": "PutFunctionConcurrency20171031",
    "DeleteEventSourceMapping": "DeleteEventSourceMapping20150331",
    "UpdateEventSourceMapping": "UpdateEventSourceMapping20150331",
    "UpdateFunctionConfiguration": "UpdateFunctionConfiguration20150331v2",
    "UpdateFunctionCode": "UpdateFunctionCode20150331v2",
    "RemovePermission": "RemovePermission20150331v2",
    # No version suffix known for the asynchronous invocation calls (API version 2019-09-25): the
    # unversioned name, which the prefix matches as well as any versioned spelling.
    "PutFunctionEventInvokeConfig": "PutFunctionEventInvokeConfig",
    "UpdateFunctionEventInvokeConfig": "UpdateFunctionEventInvokeConfig",
}
DETAIL_TYPE_BY_EVENT_TYPE = {
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
}
CLOUDTRAIL_STATE = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
REGION = "us-east-1"


# ------------------------------------------------------------------------- templates
LOG_ARCHIVE_PARAMS = {
    "LogArchiveBucket": LOG_BUCKET,
    "LogArchivePrefix": LOG_PREFIX,
    "LogArchiveKeyArn": LOG_KEY_ARN,
    "LogArchiveNotification": "both",
    "CloudTrailTopicArn": TRAIL_TOPIC_ARN,
    "BatchOperationsBucket": BATCH_BUCKET,
}
# name -> (template file, parameters, region)
SAM_VARIANTS = {
    "sam:template": ("template.yaml", {}, "us-east-1"),
    "sam:template+log-archive": ("template.yaml", LOG_ARCHIVE_PARAMS, "us-east-1"),
    "sam:log-archive-only": ("template.yaml", {**LOG_ARCHIVE_PARAMS, "CloudTrailRules": "false"}, "eu-west-1"),
    "sam:forwarder": ("forwarder.yaml", {"CentralAccountId": "111122223333"}, "eu-west-1"),
}


def cdk_templates() -> dict[str, Path]:
    """Synthesised CDK templates; none when cdk.out is missing (test_every_template_... fails)."""
    return {f"cdk:{p.name.removesuffix('.template.json')}": p for p in sorted(CDK_OUT.glob("*.template.json"))}


def deployments() -> dict[str, Deployment]:
    out = {}
    for name, (file, params, region) in SAM_VARIANTS.items():
        out[name] = Deployment(load_template(INFRA / file), params, region=region)
    for name, path in cdk_templates().items():
        template = load_template(path)
        params = {"CentralAccountId": "111122223333"} if "CentralAccountId" in template.get("Parameters", {}) else {}
        out[name] = Deployment(template, params, region="eu-west-1" if "LogArchive" in name else REGION)
    return out


DEPLOYMENTS = deployments()


def is_s3_rule(rule: dict) -> bool:
    return rule["pattern"].get("source") == ["aws.s3"]


def cloudtrail_rules(d: Deployment) -> list[dict]:
    return [r for r in d.rules() if not is_s3_rule(r)]


def s3_rules(d: Deployment) -> list[dict]:
    return [r for r in d.rules() if is_s3_rule(r)]



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
    """An EventBridge event as CloudTrail (or S3) would deliver it: envelopes as they are, bare
    records wrapped (detail-type from eventType, source "aws." + the first label of eventSource)."""
    if "detail" in item and "detail-type" in item:
        return {"source": item.get("source"), "detail-type": item["detail-type"], "detail": item["detail"]}
    event_source = item.get("eventSource") or ""
    event_type = item.get("eventType")
    if item.get("eventName") == "ConsoleLogin" or event_type == "AwsConsoleSignIn":
        detail_type = "AWS Console Sign In via CloudTrail"
    else:
        detail_type = DETAIL_TYPE_BY_EVENT_TYPE.get(event_type, "AWS API Call via CloudTrail")
    return {"source": "aws." + str(event_source).split(".")[0], "detail-type": detail_type, "detail": item}


def is_s3_event(event: dict) -> bool:
    """An S3 event notification on EventBridge (not a CloudTrail record of an S3 API call, which
    has source aws.s3 too)."""
    return event.get("source") == "aws.s3" and not str(event.get("detail-type", "")).endswith("via CloudTrail")


def is_tamper(detail: dict) -> bool:
    source, name = detail.get("eventSource"), detail.get("eventName")
    if source not in TAMPER_APIS or not isinstance(name, str):
        return False
    prefix, names = TAMPER_APIS[source]
    return any(name.startswith(n) for n in names) if prefix else name in names


def should_reach(event: dict) -> bool:
    """A CloudTrail event reaches the function (one of the four CloudTrail rules)."""
    detail = event["detail"]
    identity = detail.get("userIdentity")
    identity_type = identity.get("type") if isinstance(identity, dict) else None
    source, name = detail.get("eventSource"), detail.get("eventName")
    return (
        identity_type == "Root"
        or (source == "sts.amazonaws.com" and name in SESSION_APIS)
        or (source, name) in INHERENT_ROOT_TASKS
        or (event["detail-type"] == "AWS API Call via CloudTrail" and is_tamper(detail))
    )


# CloudTrail log files: PREFIX[o-ID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_TIME_UNIQUE.json.gz
# (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-find-log-files.html).
LOG_FILE_KEY = re.compile(
    r"(o-[a-z0-9]{10,32}/)?[0-9]{12}/CloudTrail/[a-z0-9-]+/[0-9]{4}/[0-9]{2}/[0-9]{2}/"
    r"[0-9]{12}_CloudTrail_[a-z0-9-]+_[0-9]{8}T[0-9]{4}Z_[A-Za-z0-9]+\.json\.gz"
)
# Keys the rule's wildcard lets through although they are not log files: the function skips
# non-log keys itself (the rule only keeps the volume down).
LOOSER_THAN_THE_FORMAT = {"synthetic/s3/odd-name-under-cloudtrail"}


def s3_should_reach(event: dict, name: str) -> bool:
    """An S3 event reaches the log-archive rule (of a template created with LOG_BUCKET/LOG_PREFIX)."""
    detail = event["detail"]
    if event["detail-type"] != "Object Created" or detail.get("bucket", {}).get("name") != LOG_BUCKET:
        return False
    key = detail.get("object", {}).get("key", "")
    if name in LOOSER_THAN_THE_FORMAT:
        return True
    return key.startswith(LOG_PREFIX) and LOG_FILE_KEY.fullmatch(key[len(LOG_PREFIX) :]) is not None


def tamper_record(source: str, recorded_name: str, identity: dict | None, **extra) -> dict:
    """A bare CloudTrail management-event record of a call to source."""
    record = {
        "eventVersion": "1.10",
        "eventTime": "2026-11-23T12:00:00Z",
        "eventSource": source,
        "eventName": recorded_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.22.10",
        "requestParameters": {"name": "rootwatch-LocalRootActivityRule-1A2B3C4D5E6F"},
        "responseElements": None,
        "eventID": str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps([source, recorded_name, identity]))),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
        **extra,
    }
    if identity is not None:
        record["userIdentity"] = identity
    return record


ROLE_SESSION = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLEROLEID:mallory",
    "arn": "arn:aws:sts::111122223333:assumed-role/Admin/mallory",
    "accountId": "111122223333",
}
ROOT = {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}


def synthetic_tamper_cases() -> list[tuple[str, dict]]:
    """Every call of the tamper list by a role session (Lambda with its recorded, versioned name),
    the same by Root and without a userIdentity.type, and look-alikes that must not match."""
    cases = []
    for source, (_, names) in TAMPER_APIS.items():
        for n in names:
            recorded = LAMBDA_RECORDED_NAMES[n] if source == "lambda.amazonaws.com" else n
            cases.append((f"synthetic/tamper/{source.split('.')[0]}-{recorded}", tamper_record(source, recorded, ROLE_SESSION)))
    cases += [
        # Root's DeleteTrail takes the root rule only (no duplicate).
        ("synthetic/tamper/root-DeleteTrail", tamper_record("cloudtrail.amazonaws.com", "DeleteTrail", ROOT)),
        # No userIdentity.type, or no userIdentity at all: still tampering.
        ("synthetic/tamper/no-type-StopLogging", tamper_record("cloudtrail.amazonaws.com", "StopLogging", {"principalId": "x"})),
        ("synthetic/tamper/no-identity-DeleteQueue", tamper_record("sqs.amazonaws.com", "DeleteQueue", None)),
        # An AWS service acting (e.g. CloudFormation deleting a stack) is reported too.
        (
            "synthetic/tamper/service-DeleteTable",
            tamper_record("dynamodb.amazonaws.com", "DeleteTable", {"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"}),
        ),
        # The unversioned Lambda spelling matches too (prefix).
        ("synthetic/tamper/lambda-DeleteFunction-unversioned", tamper_record("lambda.amazonaws.com", "DeleteFunction", ROLE_SESSION)),
        # DeleteFunctionEventInvokeConfig is let through by the DeleteFunction prefix, and a
        # versioned spelling of the invocation-settings calls by theirs.
        (
            "synthetic/tamper/lambda-DeleteFunctionEventInvokeConfig",
            tamper_record("lambda.amazonaws.com", "DeleteFunctionEventInvokeConfig", ROLE_SESSION),
        ),
        (
            "synthetic/tamper/lambda-PutFunctionEventInvokeConfig-versioned",
            tamper_record("lambda.amazonaws.com", "PutFunctionEventInvokeConfig20190925", ROLE_SESSION),
        ),
        # Look-alikes: a name of the list under another source (no cross product), and reads or
        # creations of the same resources.
        ("synthetic/not-tamper/sqs-DeleteTable", tamper_record("sqs.amazonaws.com", "DeleteTable", ROLE_SESSION)),
        ("synthetic/not-tamper/iam-DeleteQueue", tamper_record("iam.amazonaws.com", "DeleteQueue", ROLE_SESSION)),
        ("synthetic/not-tamper/events-DescribeRule", tamper_record("events.amazonaws.com", "DescribeRule", ROLE_SESSION)),
        ("synthetic/not-tamper/lambda-GetFunction", tamper_record("lambda.amazonaws.com", "GetFunction20150331v2", ROLE_SESSION)),
        ("synthetic/not-tamper/lambda-CreateFunction", tamper_record("lambda.amazonaws.com", "CreateFunction20150331", ROLE_SESSION)),
        ("synthetic/not-tamper/cloudtrail-StartLogging", tamper_record("cloudtrail.amazonaws.com", "StartLogging", ROLE_SESSION)),
        ("synthetic/not-tamper/kms-EnableKey", tamper_record("kms.amazonaws.com", "EnableKey", ROLE_SESSION)),
        ("synthetic/not-tamper/iam-CreateRole", tamper_record("iam.amazonaws.com", "CreateRole", ROLE_SESSION)),
        ("synthetic/not-tamper/sns-Subscribe", tamper_record("sns.amazonaws.com", "Subscribe", ROLE_SESSION)),
        ("synthetic/not-tamper/s3-DeleteBucket", tamper_record("s3.amazonaws.com", "DeleteBucket", ROLE_SESSION)),
        ("synthetic/not-tamper/dynamodb-DeleteBackup", tamper_record("dynamodb.amazonaws.com", "DeleteBackup", ROLE_SESSION)),
        ("synthetic/not-tamper/dynamodb-GetResourcePolicy", tamper_record("dynamodb.amazonaws.com", "GetResourcePolicy", ROLE_SESSION)),
        ("synthetic/not-tamper/iam-AttachUserPolicy", tamper_record("iam.amazonaws.com", "AttachUserPolicy", ROLE_SESSION)),
        ("synthetic/not-tamper/lambda-GetFunctionEventInvokeConfig", tamper_record("lambda.amazonaws.com", "GetFunctionEventInvokeConfig", ROLE_SESSION)),
        ("synthetic/not-tamper/organizations-EnableAWSServiceAccess", tamper_record("organizations.amazonaws.com", "EnableAWSServiceAccess", ROLE_SESSION)),
    ]
    return cases


def s3_event(key: str, bucket: str = LOG_BUCKET, detail_type: str = "Object Created") -> dict:
    """An S3 event on EventBridge (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html)."""
    return {
        "source": "aws.s3",
        "detail-type": detail_type,
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 4096, "etag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0062E99A88DC407460"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "cloudtrail.amazonaws.com",
            "reason": "PutObject",
        },
    }


def synthetic_s3_cases() -> list[tuple[str, dict]]:
    org = f"{LOG_PREFIX}o-a1b2c3d4e5/111122223333"
    log = "CloudTrail/eu-west-1/2026/11/23/111122223333_CloudTrail_eu-west-1_20261123T1205Z_Ab12Cd34Ef56Gh78.json.gz"
    return [
        ("synthetic/s3/org-trail-log-file", s3_event(f"{org}/{log}")),
        ("synthetic/s3/account-trail-log-file", s3_event(f"{LOG_PREFIX}111122223333/{log}")),
        (
            "synthetic/s3/org-trail-log-file-us-east-1",
            s3_event(f"{org}/CloudTrail/us-east-1/2026/11/23/111122223333_CloudTrail_us-east-1_20261123T1210Z_Zz99Yy88Xx77Ww66.json.gz"),
        ),
        # Not log files: digest (also .json.gz), Insights, an uncompressed copy, other folders.
        (
            "synthetic/s3/digest-file",
            s3_event(
                f"{org}/CloudTrail-Digest/eu-west-1/2026/11/23/"
                "111122223333_CloudTrail-Digest_eu-west-1_org-trail_eu-west-1_20261123T120513Z.json.gz"
            ),
        ),
        (
            "synthetic/s3/insights-file",
            s3_event(f"{org}/CloudTrail-Insight/eu-west-1/2026/11/23/111122223333_CloudTrail-Insight_eu-west-1_20261123T1205Z_Ab12.json.gz"),
        ),
        ("synthetic/s3/uncompressed-copy", s3_event(f"{org}/{log}".removesuffix(".gz"))),
        ("synthetic/s3/config-history", s3_event(f"{org}/Config/eu-west-1/2026/11/23/ConfigHistory/x.json.gz")),
        # Another prefix, another bucket, another event type.
        ("synthetic/s3/outside-the-prefix", s3_event(f"backup/{org}/{log}")),
        ("synthetic/s3/other-bucket", s3_event(f"{org}/{log}", bucket="another-bucket")),
        ("synthetic/s3/object-deleted", s3_event(f"{org}/{log}", detail_type="Object Deleted")),
        # The wildcard is looser than the file-name format: the function skips such keys.
        ("synthetic/s3/odd-name-under-cloudtrail", s3_event(f"{org}/CloudTrail/notes.json.gz")),
    ]


def synthetic_cases() -> list[tuple[str, dict]]:
    """Records events/ lacks: root-only tasks recorded without userIdentity.type (must reach the
    function) and look-alikes that must not; detector-tamper calls; S3 events."""
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

    cases += [(name, envelope(rec)) for name, rec in synthetic_tamper_cases()]
    cases += synthetic_s3_cases()
    return cases


def all_cases() -> list[tuple[str, dict]]:
    cases = []
    # The samples, not their goldens (`*.expected`) nor their labels (`labels.toml`).
    samples = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
    for path in sorted(p for p in EVENTS.rglob("*") if p.is_file() and p.name.endswith(samples)):
        rel = path.relative_to(EVENTS).as_posix()
        for i, item in enumerate(read_items(path)):
            cases.append((f"{rel}#{i}", envelope(item)))
    assert len(cases) >= 50, f"only {len(cases)} sample records under {EVENTS}"
    cases += [(name, envelope(ev)) for name, ev in synthetic_cases()]
    names = [n for n, _ in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


def expected_rule_kind(name: str, event: dict, d: Deployment) -> str | None:
    """'cloudtrail', 's3' or None: which kind of rule of deployment d the event must match."""
    if is_s3_event(event):
        return "s3" if s3_rules(d) and s3_should_reach(event, name) else None
    return "cloudtrail" if cloudtrail_rules(d) and should_reach(event) else None


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
    test_event_pattern_works: bool | None = None

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
        if Matcher.test_event_pattern_works is None:
            Matcher.test_event_pattern_works = self.test_event_pattern({"source": ["x"]}, {"source": "x", "detail-type": "t", "detail": {}}) is not None

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

    def match_all(self, cases: list[tuple[str, dict]]) -> dict[str, list[dict]]:
        """Case name -> the patterns that matched it, each checked to deliver the event once and
        unchanged. Events go ten to a PutEvents call, tagged in `resources` with their index."""
        for start in range(0, len(cases), 10):
            entries = [
                {
                    "EventBusName": self.bus,
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": [f"urn:rootwatch-test:case:{start + i}"],
                }
                for i, (_, event) in enumerate(cases[start : start + 10])
            ]
            r = self.events.put_events(Entries=entries)
            assert r["FailedEntryCount"] == 0, r
        matched: dict[str, list[dict]] = {name: [] for name, _ in cases}
        for p, q in self.queues:
            seen: set[int] = set()
            while True:
                msgs = self.sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
                if not msgs:
                    break
                for m in msgs:
                    self.sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
                    body = json.loads(m["Body"])
                    index = int(body["resources"][0].rsplit(":", 1)[1])
                    assert index not in seen, f"{cases[index][0]}: two deliveries from {p['logical_id']}"
                    seen.add(index)
                    name, event = cases[index]
                    assert body["detail"] == event["detail"] and body["detail-type"] == event["detail-type"], name
                    matched[name].append(p)
        if Matcher.test_event_pattern_works:
            for name, event in cases:
                for p, _ in self.queues:
                    answer = self.test_event_pattern(p["pattern"], event)
                    assert answer == (p in matched[name]), f"{name}: TestEventPattern says {answer} for {p['logical_id']}"
        return matched


def distinct(patterns: list[dict]) -> list[dict]:
    seen, out = set(), []
    for p in patterns:
        key = canonical(p["pattern"])
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


CASES = all_cases()
DEPLOYMENT_NAMES = list(DEPLOYMENTS)


@pytest.fixture(scope="session")
def matches(moto):
    """Deployment name -> case name -> matched patterns (each deployment's distinct patterns)."""
    cache: dict[str, dict[str, list[dict]]] = {}

    def get(name: str) -> dict[str, list[dict]]:
        if name not in cache:
            cache[name] = Matcher(moto, distinct(DEPLOYMENTS[name].rules())).match_all(CASES)
        return cache[name]

    return get


def mismatches(url: str, patterns: list[dict], cases, kind: str = "cloudtrail") -> list[str]:
    matched = Matcher(url, patterns).match_all(cases)
    if kind == "s3":
        return [n for n, e in cases if is_s3_event(e) and bool(matched[n]) != s3_should_reach(e, n)]
    return [n for n, e in cases if not is_s3_event(e) and bool(matched[n]) != should_reach(e)]


# ------------------------------------------------------------------------- tests
def test_every_template_has_the_same_four_cloudtrail_patterns():
    assert {"sam:template", "sam:forwarder"} <= set(DEPLOYMENTS)
    assert {"cdk:Rootwatch", "cdk:RootwatchForwarder", "cdk:RootwatchLogArchive"} <= set(DEPLOYMENTS), (
        f"CDK templates missing in {CDK_OUT}: run `make infra-cdk-synth` (cdk synth with the example log-archive context)"
    )
    reference = None
    for name, d in DEPLOYMENTS.items():
        rules = cloudtrail_rules(d)
        if name in ("sam:log-archive-only", "cdk:RootwatchLogArchive"):
            assert rules == [], f"{name}: CloudTrail rules in the log-archive-only stack"
            continue
        keys = {canonical(r["pattern"]) for r in rules}
        assert len(keys) == 4, f"{name}: {len(keys)} distinct patterns, expected 4"
        reference = reference or keys
        assert keys == reference, f"{name}: patterns differ from the SAM template's"
        for r in rules:
            assert r["state"] == CLOUDTRAIL_STATE, f"{name}/{r['logical_id']}"


def test_main_templates_watch_the_default_and_the_central_bus():
    for name, d in DEPLOYMENTS.items():
        rules = cloudtrail_rules(d)
        if not rules:
            continue
        if "forwarder" in name.lower():  # default bus only
            assert len(rules) == 4 and all(r["bus"] is None for r in rules), name
            continue
        assert len(rules) == 8, f"{name}: {len(rules)} rules"
        for key in {canonical(r["pattern"]) for r in rules}:
            buses = [r["bus"] for r in rules if canonical(r["pattern"]) == key]
            assert None in buses and len(buses) == 2 and buses[0] != buses[1], f"{name}: pattern not on both buses: {buses}"


def test_log_archive_rule_only_with_the_option_and_the_same_everywhere():
    expected = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [LOG_BUCKET]}, "object": {"key": [{"wildcard": f"{LOG_PREFIX}*/CloudTrail/*.json.gz"}]}},
    }
    with_option = ("sam:template+log-archive", "sam:log-archive-only", "cdk:RootwatchLogArchive")
    for name, d in DEPLOYMENTS.items():
        rules = s3_rules(d)
        if name not in with_option:
            assert rules == [], name
            continue
        assert len(rules) == 1, f"{name}: {len(rules)} S3 rules"
        (rule,) = rules
        assert canonical(rule["pattern"]) == canonical(expected), f"{name}: {rule['pattern']}"
        assert rule["bus"] is None and rule["state"] in (None, "ENABLED"), name
    # sns only: no rule (the trail topic feeds the queue).
    d = Deployment(load_template(INFRA / "template.yaml"), {**LOG_ARCHIVE_PARAMS, "LogArchiveNotification": "sns"})
    assert s3_rules(d) == []


def test_patterns_fit_eventbridge_quota():
    """2,048 characters per pattern (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html)."""
    for name, d in DEPLOYMENTS.items():
        for r in d.rules():
            size = len(json.dumps(r["pattern"]))
            assert size <= 2048, f"{name}/{r['logical_id']}: {size} characters"


@pytest.mark.parametrize("deployment", DEPLOYMENT_NAMES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_pattern_reaches_function_iff_expected(matches, deployment, case):
    name, event = case
    d = DEPLOYMENTS[deployment]
    matched = matches(deployment)[name]
    kind = expected_rule_kind(name, event, d)
    assert len(matched) <= 1, f"{name} matches {len(matched)} rules: duplicate delivery"
    got = None if not matched else ("s3" if is_s3_rule(matched[0]) else "cloudtrail")
    assert got == kind, (
        f"{name} ({event['detail-type']}, {event['detail'].get('eventName') or event['detail'].get('object', {}).get('key')}): "
        f"matched {got or 'no'} rule, expected {kind or 'none'}"
    )


def test_counts_of_cases():
    ct = [(n, e) for n, e in CASES if not is_s3_event(e)]
    reach = [n for n, e in ct if should_reach(e)]
    tamper = [n for n, e in ct if should_reach(e) and is_tamper(e["detail"])]
    s3 = [n for n, e in CASES if is_s3_event(e)]
    s3_reach = [n for n, e in CASES if is_s3_event(e) and s3_should_reach(e, n)]
    print(
        f"\npattern cases: {len(CASES)}: {len(ct)} CloudTrail ({len(reach)} should reach the function, {len(tamper)} of them"
        f" tamper calls; {len(ct) - len(reach)} should not), {len(s3)} S3 ({len(s3_reach)} log files)"
    )
    assert len(reach) >= 30 and len(ct) - len(reach) >= 20
    assert len(tamper) >= 40 and len(s3_reach) >= 3 and len(s3) - len(s3_reach) >= 6


def test_a_wrong_pattern_fails(moto):
    """The harness can fail: a lowercase 'root' misses every root record, a root rule that knows
    only one sign-in spelling misses the root sign-in recorded with the other, exact Lambda names
    miss the versioned ones CloudTrail records, a tamper rule without the Root exclusion delivers
    root tampering twice, and a suffix-only or prefix-only S3 rule lets digest and Insights files
    through."""
    d = DEPLOYMENTS["sam:template+log-archive"]
    good = distinct(d.rules())
    root_rule = next(p for p in good if "userIdentity" in p["pattern"].get("detail", {}) and "source" not in p["pattern"])
    tamper_rule = next(p for p in good if "$or" in p["pattern"].get("detail", {}) and "eventName" not in p["pattern"]["detail"])
    s3_rule = next(p for p in good if is_s3_rule(p))

    def variant(rule, change):
        out = copy.deepcopy(good)
        for p in out:
            if p["pattern"] == rule["pattern"]:
                change(p["pattern"])
        return out

    def lowercase(p):
        p["detail"]["userIdentity"]["type"] = ["root"]

    assert len(mismatches(moto, variant(root_rule, lowercase), CASES)) >= 20

    def one_spelling(p):
        p["detail-type"] = [t for t in p["detail-type"] if t != "AWS Console Signin via CloudTrail"]

    assert mismatches(moto, variant(root_rule, one_spelling), CASES) == ["rules/root-console-login-mfa.json#0"]

    def exact_lambda_names(p):
        for branch in p["detail"]["$or"]:
            if branch["eventSource"] == ["lambda.amazonaws.com"]:
                branch["eventName"] = [x["prefix"] for x in branch["eventName"]]

    bad = mismatches(moto, variant(tamper_rule, exact_lambda_names), CASES)
    versioned = [
        n
        for n, e in CASES
        if not is_s3_event(e)
        and e["detail"].get("eventSource") == "lambda.amazonaws.com"
        and e["detail"].get("eventName") not in TAMPER_APIS["lambda.amazonaws.com"][1]
        and is_tamper(e["detail"])
        and should_reach(e)
        and (e["detail"].get("userIdentity") or {}).get("type") != "Root"
    ]
    assert set(f"synthetic/tamper/lambda-{v}" for k, v in LAMBDA_RECORDED_NAMES.items() if k != v) <= set(versioned)
    assert sorted(bad) == sorted(versioned), bad

    def without_root_exclusion(p):
        del p["detail"]["userIdentity"]

    matched = Matcher(moto, variant(tamper_rule, without_root_exclusion)).match_all(CASES)
    assert len(matched["synthetic/tamper/root-DeleteTrail"]) == 2

    def suffix_only(p):
        p["detail"]["object"]["key"] = [{"suffix": ".json.gz"}]

    bad = mismatches(moto, variant(s3_rule, suffix_only), CASES, kind="s3")
    not_logs = ["synthetic/s3/config-history", "synthetic/s3/digest-file", "synthetic/s3/insights-file"]
    assert sorted(bad) == sorted(not_logs + ["synthetic/s3/outside-the-prefix"]), bad

    def prefix_only(p):
        p["detail"]["object"]["key"] = [{"prefix": LOG_PREFIX}]

    bad = mismatches(moto, variant(s3_rule, prefix_only), CASES, kind="s3")
    assert sorted(bad) == sorted(not_logs + ["synthetic/s3/uncompressed-copy"]), bad

    # And the right patterns have no mismatch at all, through the same helper.
    assert mismatches(moto, good, CASES) == []
    assert mismatches(moto, good, CASES, kind="s3") == []


def test_readme_test_event_reaches_the_function(moto):
    """infra/test-event.json (README "Send a test event") matches a rule of every main template.
    Its source is not aws.* (PutEvents refuses those), so only the root-activity rule, which
    does not constrain source, takes it."""
    entries = json.loads((INFRA / "test-event.json").read_text())
    assert len(entries) == 1 and entries[0]["EventBusName"] == "rootwatch"
    assert not entries[0]["Source"].startswith("aws.")
    detail = json.loads(entries[0]["Detail"])
    assert detail["eventID"] == "TEST-EVENT-ID" and detail["userIdentity"]["type"] == "Root"
    event = {"source": entries[0]["Source"], "detail-type": entries[0]["DetailType"], "detail": detail}
    for name in ("sam:template", "cdk:Rootwatch"):
        matched = Matcher(moto, distinct(DEPLOYMENTS[name].rules())).match_all([("test-event", event)])
        assert len(matched["test-event"]) == 1, name
