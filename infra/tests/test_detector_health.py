"""The dead man's switch (issue 15, item 4), in every SAM variant and the synthesised CDK stacks.

- a scheduled rule on the default bus, default input (EventBridge's Scheduled Event reaches the
  function unchanged), whose target is the event path: the buffer queue (queue mode) or the event
  function (direct mode), with the CloudTrail rules' dead-letter queue and retries; the queues'
  policies or a Lambda permission admit exactly that rule; none without the event path or with
  HeartbeatSchedule empty;
- the Heartbeat alarm: namespace rootwatch, metric Heartbeat, no dimensions, Sum over 3600 s,
  one period, < 1, missing data breaching, alarm and OK actions to the health topic only;
- the health topic is encrypted with a key of its own (rotated; not the alert key, which no
  function role may use here), CloudWatch alarms of this account may use it and publish;
- the alert topic's e-mail subscription drops heartbeats (filter on message attributes), and
  because such a filter also drops attribute-less alarm notifications (shown on moto's SNS), every
  operational alarm also notifies the health topic;
- SAM and CDK build the same, and their outputs agree.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from cfn_eval import Deployment, load_template

INFRA = Path(__file__).resolve().parents[1]
CDK_OUT = Path(os.environ.get("CDK_OUT", INFRA / "cdk" / "cdk.out"))
ACCOUNT = "123456789012"
NO_HEARTBEATS = {"rule": [{"anything-but": "heartbeat"}]}

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
# name -> (parameters, region, the heartbeat's schedule or None)
SAM_VARIANTS = {
    "defaults (queue mode)": ({"AlertEmail": "sec@example.com"}, "us-east-1", "rate(30 minutes)"),
    "direct mode, health e-mail": (
        {"InvocationMode": "direct", "AlertEmail": "sec@example.com", "HealthEmail": "pager@example.com"},
        "us-east-1",
        "rate(30 minutes)",
    ),
    "hourly cron, log archive too": ({**LOG_ARCHIVE, "HeartbeatSchedule": "cron(0 * * * ? *)"}, "us-east-1", "cron(0 * * * ? *)"),
    "heartbeat off": ({"HeartbeatSchedule": "", "AlertEmail": "sec@example.com"}, "us-east-1", None),
    "log archive alone": ({**LOG_ARCHIVE, "CloudTrailRules": "false"}, "eu-west-1", None),
}
CDK_STACKS = {"Rootwatch": ("us-east-1", "rate(30 minutes)"), "RootwatchLogArchive": ("eu-west-1", None)}


def sam(params: dict, region: str) -> Deployment:
    return Deployment(load_template(INFRA / "template.yaml"), params, account=ACCOUNT, region=region)


def cdk(stack: str) -> Deployment:
    path = CDK_OUT / f"{stack}.template.json"
    assert path.exists(), f"{path}: run `make infra-cdk-synth`"
    return Deployment(load_template(path), account=ACCOUNT, region=CDK_STACKS[stack][0])


DEPLOYMENTS = {f"sam: {n}": (lambda p=p, r=r: sam(p, r)) for n, (p, r, _) in SAM_VARIANTS.items()}
DEPLOYMENTS |= {f"cdk: {n}": (lambda n=n: cdk(n)) for n in CDK_STACKS}
SCHEDULES = {f"sam: {n}": s for n, (_, _, s) in SAM_VARIANTS.items()} | {f"cdk: {n}": s for n, (_, s) in CDK_STACKS.items()}


# ------------------------------------------------------------------------- helpers
def of_type(d: Deployment, kind: str) -> dict[str, dict]:
    return {lid: r for lid, r in d.resources.items() if r["Type"] == kind}


def topics(d: Deployment) -> tuple[str, str]:
    """Logical ids of the alert topic and the health topic (by display name)."""
    by_name = {d.resolve(r["Properties"]["DisplayName"]): lid for lid, r in of_type(d, "AWS::SNS::Topic").items()}
    assert set(by_name) == {"rootwatch", "rootwatch health"}, by_name
    return by_name["rootwatch"], by_name["rootwatch health"]


def key_of(d: Deployment, topic: str) -> str:
    """Logical id of the KMS key that encrypts a topic (Ref or GetAtt Arn)."""
    ref = d.resources[topic]["Properties"]["KmsMasterKeyId"]
    lid = ref["Ref"] if "Ref" in ref else ref["Fn::GetAtt"][0]
    assert d.resources[lid]["Type"] == "AWS::KMS::Key"
    return lid


def event_function(d: Deployment) -> str | None:
    fns = [lid for lid, r in d.resources.items() if r["Type"] in ("AWS::Lambda::Function", "AWS::Serverless::Function") and int(r["Properties"]["Timeout"]) == 30]
    return fns[0] if fns else None


def buffer_queue(d: Deployment) -> str | None:
    qs = [lid for lid, r in of_type(d, "AWS::SQS::Queue").items() if r["Properties"].get("VisibilityTimeout") == 180]
    return qs[0] if qs else None


def dead_letter_queue(d: Deployment) -> str:
    """The event path's dead-letter queue: the one the CloudTrail rules dead-letter to."""
    (rule, *_) = [r for r in of_type(d, "AWS::Events::Rule").values() if "EventPattern" in r["Properties"] and "aws.s3" not in json.dumps(r["Properties"]["EventPattern"])]
    return d.resolve(rule["Properties"]["Targets"])[0]["DeadLetterConfig"]["Arn"]


def heartbeat(d: Deployment) -> tuple[str, dict] | None:
    scheduled = d.schedules()
    assert len(scheduled) <= 1, scheduled
    return (scheduled[0], d.resources[scheduled[0]]) if scheduled else None


def heartbeat_alarms(d: Deployment) -> list[dict]:
    return [r["Properties"] for r in of_type(d, "AWS::CloudWatch::Alarm").values() if r["Properties"].get("MetricName") == "Heartbeat"]


# ------------------------------------------------------------------------- the rule
@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_the_heartbeat_rule_takes_the_event_path_with_default_input(name):
    d, schedule = DEPLOYMENTS[name](), SCHEDULES[name]
    found = heartbeat(d)
    if schedule is None:
        assert found is None and heartbeat_alarms(d) == []
        return
    lid, rule = found
    props = d.resolve(rule["Properties"])
    assert props["ScheduleExpression"] == schedule
    assert props.get("State", "ENABLED") == "ENABLED"
    assert "EventPattern" not in props and "EventBusName" not in props, "a scheduled rule on the default bus"
    (target,) = props["Targets"]
    assert not {"Input", "InputPath", "InputTransformer"} & set(target), "default input: the Scheduled Event itself"
    assert "RoleArn" not in target
    fn, queue = event_function(d), buffer_queue(d)
    assert fn is not None
    assert target["Arn"] == (d.arn(queue) if queue else d.arn(fn))
    assert target["DeadLetterConfig"] == {"Arn": dead_letter_queue(d)}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}

    rule_arn = d.arn(lid)
    assert rule_arn.startswith(f"arn:aws:events:{d.region}:{ACCOUNT}:rule/")
    perms = [d.resolve(r["Properties"]) for r in of_type(d, "AWS::Lambda::Permission").values()]
    mine = [p for p in perms if p["SourceArn"] == rule_arn]
    admitted = []
    for p in of_type(d, "AWS::SQS::QueuePolicy").values():
        doc = d.resolve(p["Properties"]["PolicyDocument"])
        for s in doc["Statement"]:
            if s["Effect"] == "Allow" and s["Principal"] == {"Service": "events.amazonaws.com"}:
                arns = s["Condition"]["ArnEquals"]["aws:SourceArn"]
                if rule_arn in (arns if isinstance(arns, list) else [arns]):
                    admitted.append(d.resolve(p["Properties"]["Queues"])[0])
    queue_urls = {d.ref(q) for q in of_type(d, "AWS::SQS::Queue")}
    assert set(admitted) <= queue_urls
    (dlq,) = [q for q in of_type(d, "AWS::SQS::Queue") if d.arn(q) == dead_letter_queue(d)]
    if queue:
        # The buffer queue takes it; the dead-letter queue takes its failed deliveries.
        assert sorted(admitted) == sorted([d.ref(queue), d.ref(dlq)])
        assert mine == []
    else:
        assert admitted == [d.ref(dlq)]
        assert mine == [
            {"FunctionName": d.arn(fn), "Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com", "SourceArn": rule_arn}
        ]


# ------------------------------------------------------------------------- the alarm
@pytest.mark.parametrize("name", [n for n, s in SCHEDULES.items() if s])
def test_the_heartbeat_alarm(name):
    d = DEPLOYMENTS[name]()
    (alarm,) = heartbeat_alarms(d)
    _, health = topics(d)
    alarm = d.resolve(alarm)
    assert "Dimensions" not in alarm or alarm["Dimensions"] == [], "EMF Dimensions [[]]: the metric has none"
    assert {k: v for k, v in alarm.items() if k not in ("AlarmDescription", "Dimensions")} == {
        "Namespace": "rootwatch",
        "MetricName": "Heartbeat",
        "Statistic": "Sum",
        "Period": 3600,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "LessThanThreshold",
        "TreatMissingData": "breaching",
        "AlarmActions": [d.arn(health)],
        "OKActions": [d.arn(health)],
    }


@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_every_other_alarm_still_reaches_people(name):
    """The alert topic's filtered subscriptions never get alarm notifications (they carry no
    message attributes): every operational alarm notifies the health topic too, and the alert
    topic as before."""
    d = DEPLOYMENTS[name]()
    alert, health = topics(d)
    others = [d.resolve(r["Properties"]) for r in of_type(d, "AWS::CloudWatch::Alarm").values() if r["Properties"].get("MetricName") != "Heartbeat"]
    assert len(others) >= 3  # direct mode has no buffer queue to alarm on
    for a in others:
        assert a["AlarmActions"] == [d.arn(alert), d.arn(health)], a["AlarmDescription"]
        assert a["TreatMissingData"] == "notBreaching"


# ------------------------------------------------------------------------- the health topic
@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_the_health_topic_has_its_own_key(name):
    d = DEPLOYMENTS[name]()
    alert, health = topics(d)
    alert_key, health_key = key_of(d, alert), key_of(d, health)
    assert health_key != alert_key
    key = d.resources[health_key]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = d.resolve(key["KeyPolicy"])["Statement"]
    assert statements[0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} and statements[0]["Action"] == "kms:*"
    (cw,) = statements[1:]
    assert cw["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(cw["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cw["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    # The functions' roles may use neither the health key nor publish to the health topic.
    roles = {d.arn(lid) for lid in of_type(d, "AWS::IAM::Role")}
    assert not any(arn in json.dumps(statements) for arn in roles)
    (policy,) = [d.resolve(p["Properties"]) for p in of_type(d, "AWS::SNS::TopicPolicy").values() if d.resolve(p["Properties"]["Topics"]) == [d.ref(health)]]
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allows] == [{"Service": "cloudwatch.amazonaws.com"}]
    assert allows[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{d.region}:{ACCOUNT}:alarm:*"},
    }
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy["PolicyDocument"]["Statement"])
    for lid, r in [*of_type(d, "AWS::IAM::Policy").items(), *of_type(d, "AWS::IAM::RolePolicy").items()]:
        text = json.dumps(d.resolve(r["Properties"]["PolicyDocument"]))
        assert d.arn(health_key) not in text and d.ref(health) not in text, lid


# ------------------------------------------------------------------------- subscriptions
@pytest.mark.parametrize("name", [n for n in DEPLOYMENTS if n.startswith("sam:")])
def test_alert_subscriptions_drop_heartbeats_health_subscriptions_do_not(name):
    d = DEPLOYMENTS[name]()
    alert, health = topics(d)
    subs = [d.resolve(r["Properties"]) for r in of_type(d, "AWS::SNS::Subscription").values()]
    to_alert = [s for s in subs if s["TopicArn"] == d.ref(alert)]
    to_health = [s for s in subs if s["TopicArn"] == d.ref(health)]
    assert len(to_alert) == (1 if d.params["AlertEmail"] else 0)
    for s in to_alert:
        assert s["FilterPolicy"] == NO_HEARTBEATS
        assert s["FilterPolicyScope"] == "MessageAttributes"
    assert len(to_health) == (1 if d.params["HealthEmail"] else 0)
    for s in to_health:
        assert "FilterPolicy" not in s and s["Protocol"] == "email" and s["Endpoint"] == d.params["HealthEmail"]


def test_the_filter_policy_on_moto_sns():
    """The template's filter policy on moto's SNS: a heartbeat (rule = heartbeat, String) is
    dropped, an alert (rule String.Array) passes, and a message without attributes, which is what
    a CloudWatch alarm notification is, is dropped too: hence the alarms' health-topic action."""
    d = DEPLOYMENTS["sam: defaults (queue mode)"]()
    (sub,) = [d.resolve(r["Properties"]) for r in of_type(d, "AWS::SNS::Subscription").values()]
    with mock_aws():
        sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="rootwatch")["TopicArn"]
        url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"FilterPolicy": json.dumps(sub["FilterPolicy"]), "FilterPolicyScope": sub["FilterPolicyScope"], "RawMessageDelivery": "true"},
        )
        string = lambda v: {"DataType": "String", "StringValue": v}  # noqa: E731
        sns.publish(TopicArn=topic, Message="heartbeat", MessageAttributes={"rule": string("heartbeat"), "severity": string("info")})
        sns.publish(
            TopicArn=topic,
            Message="alert",
            MessageAttributes={"rule": {"DataType": "String.Array", "StringValue": '["root-console-login"]'}, "severity": string("critical")},
        )
        sns.publish(TopicArn=topic, Message="alarm notification")
        got = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])]
    assert got == ["alert"]


# ------------------------------------------------------------------------- DETECTOR_RESOURCES
@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_detector_resources_names_the_health_key_and_topic(name):
    d = DEPLOYMENTS[name]()
    _, health = topics(d)
    fn = [r for r in d.resources.values() if r["Type"] in ("AWS::Lambda::Function", "AWS::Serverless::Function")][0]
    entries = d.resolve(fn["Properties"]["Environment"]["Variables"]["DETECTOR_RESOURCES"]).split(",")
    assert d.ref(key_of(d, health)) in entries
    assert d.ref(health) in entries and f"{d.ref(health)}:*" in entries


# ------------------------------------------------------------------------- SAM and CDK agree
def normalised_alarm(d: Deployment, props: dict) -> dict:
    alert, health = topics(d)
    names = {d.arn(alert): "alert", d.arn(health): "health"}
    out = d.resolve(props)
    for k in ("AlarmActions", "OKActions"):
        if k in out:
            out[k] = [names[a] for a in out[k]]
    out.pop("Dimensions", None)
    return out


@pytest.mark.parametrize("sam_variant,cdk_stack", [("defaults (queue mode)", "Rootwatch"), ("log archive alone", "RootwatchLogArchive")])
def test_sam_and_cdk_build_the_same_switch(sam_variant, cdk_stack):
    s, c = DEPLOYMENTS[f"sam: {sam_variant}"](), DEPLOYMENTS[f"cdk: {cdk_stack}"]()
    assert [normalised_alarm(s, a) for a in heartbeat_alarms(s)] == [normalised_alarm(c, a) for a in heartbeat_alarms(c)]
    assert (heartbeat(s) is None) == (heartbeat(c) is None)
    if heartbeat(s):
        assert rule_summary(s) == rule_summary(c)

    def key_policy(d):
        _, health = topics(d)
        return [{k: v for k, v in st.items() if k != "Sid"} for st in d.resolve(d.resources[key_of(d, health)]["Properties"]["KeyPolicy"])["Statement"]]

    def topic_policy(d):
        _, health = topics(d)
        (p,) = [d.resolve(p["Properties"]["PolicyDocument"]) for p in of_type(d, "AWS::SNS::TopicPolicy").values() if d.resolve(p["Properties"]["Topics"]) == [d.ref(health)]]
        return sorted((st["Effect"], json.dumps(st["Principal"]), json.dumps(st["Action"]), json.dumps(st.get("Condition"), sort_keys=True)) for st in p["Statement"])

    assert key_policy(s) == key_policy(c)
    assert topic_policy(s) == topic_policy(c)


def rule_summary(d: Deployment) -> dict:
    """The heartbeat rule's properties with the target named by kind instead of by ARN."""
    lid, rule = heartbeat(d)
    props = d.resolve(rule["Properties"])
    props.pop("Description", None)
    props.setdefault("State", "ENABLED")
    (target,) = props.pop("Targets")
    kind = "buffer-queue" if buffer_queue(d) and target["Arn"] == d.arn(buffer_queue(d)) else "function"
    props["Target"] = {**{k: v for k, v in target.items() if k not in ("Arn", "Id", "DeadLetterConfig")}, "kind": kind}
    return props


@pytest.mark.parametrize("sam_variant,cdk_stack", [("defaults (queue mode)", "Rootwatch"), ("log archive alone", "RootwatchLogArchive")])
def test_sam_and_cdk_outputs_agree(sam_variant, cdk_stack):
    s, c = DEPLOYMENTS[f"sam: {sam_variant}"](), DEPLOYMENTS[f"cdk: {cdk_stack}"]()
    sam_outputs = {k for k, o in s.template["Outputs"].items() if s.included(o)}
    cdk_outputs = set(c.template["Outputs"])
    assert sam_outputs == cdk_outputs
    assert "DetectorHealthTopicArn" in sam_outputs
    for d in (s, c):
        _, health = topics(d)
        assert d.resolve(d.template["Outputs"]["DetectorHealthTopicArn"]["Value"]) == d.ref(health)


# ------------------------------------------------------------------------- the checks can fail
def test_the_switch_checks_can_fail():
    """A target with its own input, the alarm on the alert topic, the health topic under the alert
    key and an unfiltered alert subscription: each is caught (in copies of the template)."""
    template = load_template(INFRA / "template.yaml")
    params = {"AlertEmail": "sec@example.com"}

    def broken(change) -> Deployment:
        t = copy.deepcopy(template)
        change(t["Resources"])
        return Deployment(t, params, account=ACCOUNT)

    def with_input(res):
        res["HeartbeatRule"]["Properties"]["Targets"][0]["Fn::If"][1]["Input"] = '{"heartbeat": true}'

    d = broken(with_input)
    (target,) = d.resolve(heartbeat(d)[1]["Properties"])["Targets"]
    assert "Input" in target

    def alarm_on_alert_topic(res):
        res["HeartbeatAlarm"]["Properties"]["AlarmActions"] = [{"Ref": "AlertTopic"}]

    d = broken(alarm_on_alert_topic)
    (alarm,) = heartbeat_alarms(d)
    assert d.resolve(alarm)["AlarmActions"] != [d.arn(topics(d)[1])]

    def same_key(res):
        res["DetectorHealthTopic"]["Properties"]["KmsMasterKeyId"] = {"Ref": "AlertKey"}

    d = broken(same_key)
    assert key_of(d, topics(d)[1]) == key_of(d, topics(d)[0])

    def unfiltered(res):
        del res["AlertEmailSubscription"]["Properties"]["FilterPolicy"]

    d = broken(unfiltered)
    (sub,) = [d.resolve(r["Properties"]) for r in of_type(d, "AWS::SNS::Subscription").values()]
    assert sub.get("FilterPolicy") != NO_HEARTBEATS

