"""DETECTOR_RESOURCES names every resource of the stack that a detector-tamper event can touch.

For a simulated deployment (cfn_eval: stack "rootwatch", generated names STACK-LogicalId-SUFFIX)
of each variant of infra/template.yaml and of the synthesised CDK stacks, every resource of the
types the tamper rule covers (Lambda function, Events rule and bus, SQS queue, SNS topic and
subscription, KMS key, DynamoDB table, IAM role) is identified the ways a CloudTrail record may
identify it (name, ARN, queue URL, key id), and each identifier must match an entry of the
functions' DETECTOR_RESOURCES the way the function matches: the full value or its last segment
(after the last /, : or |), `*` a wildcard. Both functions carry the same value, and it names
nothing outside the stack.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cfn_eval import Deployment, covered, glob_matches, load_template

INFRA = Path(__file__).resolve().parents[1]
CDK_OUT = Path(os.environ.get("CDK_OUT", INFRA / "cdk" / "cdk.out"))

TAMPER_TYPES = {
    "AWS::Lambda::Function",
    "AWS::Serverless::Function",
    "AWS::Events::Rule",
    "AWS::Events::EventBus",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::IAM::Role",
}
FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")

LOG_ARCHIVE = {
    "LogArchiveBucket": "example-org-trail-logs",
    "LogArchiveKeyArn": "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "LogArchiveNotification": "both",
    "CloudTrailTopicArn": "arn:aws:sns:eu-west-1:444455556666:org-trail-notifications",
    "BatchOperationsBucket": "example-rootwatch-batch",
}
SAM_VARIANTS = {
    "defaults": ({}, "us-east-1"),
    "e-mail, direct mode, no sessions table": (
        {"AlertEmail": "sec@example.com", "InvocationMode": "direct", "SessionTracking": "false"},
        "us-east-1",
    ),
    "organisation, other bus name, extra entries": (
        {"OrganizationId": "o-a1b2c3d4e5", "CentralBusName": "security-events", "ExtraDetectorResources": "StackSet-rootwatch-forwarder-*"},
        "us-east-1",
    ),
    "log archive too": (LOG_ARCHIVE, "us-east-1"),
    "log archive alone": ({**LOG_ARCHIVE, "CloudTrailRules": "false"}, "eu-west-1"),
    "log archive alone, sns only": ({**LOG_ARCHIVE, "CloudTrailRules": "false", "LogArchiveNotification": "sns"}, "eu-west-1"),
}


def sam(params: dict, region: str) -> Deployment:
    return Deployment(load_template(INFRA / "template.yaml"), params, region=region)


def cdk(stack: str) -> Deployment:
    path = CDK_OUT / f"{stack}.template.json"
    assert path.exists(), f"{path}: run `make infra-cdk-synth`"
    return Deployment(load_template(path), region="eu-west-1" if "LogArchive" in stack else "us-east-1")


def detector_resources(d: Deployment) -> list[str]:
    values = set()
    functions = [lid for lid, r in d.resources.items() if r["Type"] in FUNCTION_TYPES]
    assert functions, "no function"
    for lid in functions:
        env = d.resolve(d.resources[lid]["Properties"]["Environment"]["Variables"])
        values.add(env["DETECTOR_RESOURCES"])
    assert len(values) == 1, f"the functions disagree: {values}"
    entries = values.pop().split(",")
    assert all(e and e == e.strip() for e in entries), entries
    return entries


def uncovered(d: Deployment, entries: list[str]) -> list[str]:
    return [
        f"{lid} ({d.resources[lid]['Type']}): {ident}"
        for lid, res in d.resources.items()
        if res["Type"] in TAMPER_TYPES
        for ident in d.identifiers(lid)
        if not covered(entries, ident)
    ]


DEPLOYMENTS = {f"sam: {name}": (lambda p=p, r=r: sam(p, r)) for name, (p, r) in SAM_VARIANTS.items()}
DEPLOYMENTS["cdk: Rootwatch"] = lambda: cdk("Rootwatch")
DEPLOYMENTS["cdk: RootwatchLogArchive"] = lambda: cdk("RootwatchLogArchive")


@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_every_resource_of_the_stack_is_covered(name):
    d = DEPLOYMENTS[name]()
    entries = detector_resources(d)
    kinds = {d.resources[lid]["Type"] for lid in d.resources} & TAMPER_TYPES
    assert {"AWS::KMS::Key", "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::IAM::Role"} <= kinds, kinds
    assert uncovered(d, entries) == []


@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_nothing_outside_the_stack_is_covered(name):
    d = DEPLOYMENTS[name]()
    entries = detector_resources(d)
    extra = [e for e in entries if e.startswith("StackSet-")]  # ExtraDetectorResources, by design
    for outside in [
        "other-Function-1A2B3C4D5E6F",
        "arn:aws:lambda:us-east-1:123456789012:function:payments-api",
        "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
        "arn:aws:sns:us-east-1:123456789012:deployments",
        "arn:aws:sns:eu-west-1:444455556666:org-trail-notifications:0b7e5c1a-0000-4000-8000-000000000000",
        "arn:aws:kms:us-east-1:123456789012:key/0b7e5c1a-1111-4000-8000-000000000000",
        "arn:aws:iam::123456789012:role/Admin",
        "default",
        "arn:aws:events:us-east-1:123456789012:event-bus/default",
        "Sessions",
        "rootwatch2-Function-1A2B3C4D5E6F",  # a stack whose name starts with this one's, but not STACK-
    ]:
        assert not covered([e for e in entries if e not in extra], outside), f"{name}: {outside} is covered"


def test_the_check_can_fail():
    """Without the key id (a UUID, not prefixed by the stack name) or the central bus (named by a
    parameter), those resources are not covered; the stack-name glob alone covers generated names."""
    d = sam({"CentralBusName": "security-events"}, "us-east-1")
    entries = detector_resources(d)
    key_id = d.ref("AlertKey")
    assert key_id in entries and "security-events" in entries
    missing = uncovered(d, [e for e in entries if e not in (key_id, "security-events")])
    assert sorted(m.split(" ")[0] for m in missing) == ["AlertKey", "AlertKey", "CentralBus", "CentralBus"], missing
    # Generated names: only the stack-name glob, and only for this stack.
    assert covered(["rootwatch-*"], d.ref("Function")) and not covered(["other-*"], d.ref("Function"))
    assert glob_matches("rootwatch-*", "rootwatch-LocalRootActivityRule-1A2B")
