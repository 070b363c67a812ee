#!/usr/bin/env python3
"""Writes events/detector-tamper/*.json: EventBridge envelopes around CloudTrail records of
requests that blind the detector, in the shapes the CloudTrail, EventBridge, Lambda, SNS, KMS,
DynamoDB, IAM and Organizations CloudTrail pages and API references document. Written by us; the golden test replays them with
`--detector-resource rootwatch-*` and the key's ARN
(arn:aws:kms:us-east-1:111122223333:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d).

Run: python3 scripts/make-tamper-samples.py
"""
import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "events" / "detector-tamper"
ACCOUNT = "111122223333"

ADMIN = {
    "type": "AssumedRole",
    "principalId": "AROAADMINROLEEXAMPLE:mallory",
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/mallory",
    "accountId": ACCOUNT,
    "accessKeyId": "ASIAMALLORYEXAMPLE01",
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAADMINROLEEXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:role/Admin",
            "accountId": ACCOUNT,
            "userName": "Admin",
        },
        "attributes": {"creationDate": "2026-11-23T09:58:00Z", "mfaAuthenticated": "false"},
    },
}
DEPLOYER = {
    **ADMIN,
    "principalId": "AROADEPLOYROLEEXAMPL:pipeline",
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/pipeline",
    "accessKeyId": "ASIADEPLOYEXAMPLE001",
    "invokedBy": "cloudformation.amazonaws.com",
}


def envelope(n, source, name, params, response=None, identity=ADMIN, extra=None):
    svc = source.split(".")[0]
    detail = {
        "eventVersion": "1.10",
        "userIdentity": identity,
        "eventTime": f"2026-11-23T10:{n:02d}:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.66" if identity is ADMIN else "cloudformation.amazonaws.com",
        "userAgent": "aws-cli/2.22.10 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0 lang/python#3.12.6"
        if identity is ADMIN
        else "cloudformation.amazonaws.com",
        "requestParameters": params,
        "responseElements": response,
        "requestID": f"c0ffee00-0007-4000-8000-0000000000{n:02d}",
        "eventID": f"7a3be000-0007-4000-8000-0000000000{n:02d}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    detail.update(extra or {})
    return {
        "version": "0",
        "id": f"e7b0a11d-0007-4000-8000-0000000000{n:02d}",
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{svc}",
        "account": ACCOUNT,
        "time": detail["eventTime"],
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"
DENY_ALL = "arn:aws:iam::aws:policy/AWSDenyAll"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rootwatch-Function-9ZYXWVUTSRQP"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/rootwatch-SessionsTable-7U8I9O0P1A2S"
SAMPLES = {
    "stop-logging": envelope(1, "cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL}),
    "delete-trail": envelope(2, "cloudtrail.amazonaws.com", "DeleteTrail", {"name": "org-trail"}),
    "update-trail-no-global-events": envelope(
        3,
        "cloudtrail.amazonaws.com",
        "UpdateTrail",
        {"name": "org-trail", "includeGlobalServiceEvents": False},
        {"name": "org-trail", "s3BucketName": "org-trail-logs", "includeGlobalServiceEvents": False,
         "isMultiRegionTrail": True, "trailARN": TRAIL, "logFileValidationEnabled": True,
         "isOrganizationTrail": True},
    ),
    "event-selectors-read-only": envelope(
        4,
        "cloudtrail.amazonaws.com",
        "PutEventSelectors",
        {"trailName": "org-trail", "eventSelectors": [
            {"readWriteType": "ReadOnly", "includeManagementEvents": True, "dataResources": [],
             "excludeManagementEventSources": []}]},
        {"trailARN": TRAIL, "eventSelectors": [
            {"readWriteType": "ReadOnly", "includeManagementEvents": True, "dataResources": [],
             "excludeManagementEventSources": []}]},
    ),
    "event-selectors-unchanged": envelope(
        5,
        "cloudtrail.amazonaws.com",
        "PutEventSelectors",
        {"trailName": "org-trail", "eventSelectors": [
            {"readWriteType": "All", "includeManagementEvents": True, "dataResources": [
                {"type": "AWS::S3::Object", "values": ["arn:aws:s3:::payroll/"]}]}]},
    ),
    "disable-own-rule": envelope(
        6, "events.amazonaws.com", "DisableRule",
        {"name": "rootwatch-LocalRootActivityRule-1A2B3C4D5E6F"},
    ),
    "disable-other-rule": envelope(
        7, "events.amazonaws.com", "DisableRule", {"name": "nightly-report"},
    ),
    "function-concurrency-zero": envelope(
        8, "lambda.amazonaws.com", "PutFunctionConcurrency20171031",
        {"functionName": "rootwatch-Function-9ZYXWVUTSRQP", "reservedConcurrentExecutions": 0},
        {"reservedConcurrentExecutions": 0},
    ),
    "unsubscribe-alerts": envelope(
        9, "sns.amazonaws.com", "Unsubscribe",
        {"subscriptionArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:rootwatch-AlertTopic-5Q4W3E2R1T:"
                            "3f1e2d4c-5b6a-4789-8abc-def012345678"},
    ),
    "stack-update-own-rule": envelope(
        10, "events.amazonaws.com", "PutRule",
        {"name": "rootwatch-LocalRootActivityRule-1A2B3C4D5E6F", "state": "ENABLED",
         "eventPattern": "{\"detail\":{\"userIdentity\":{\"type\":[\"Root\"]}}}"},
        {"ruleArn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/rootwatch-LocalRootActivityRule-1A2B3C4D5E6F"},
        identity=DEPLOYER,
    ),
    "key-deletion-denied": envelope(
        11, "kms.amazonaws.com", "ScheduleKeyDeletion",
        {"keyId": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", "pendingWindowInDays": 7},
        None,
        extra={"errorCode": "AccessDeniedException",
               "errorMessage": "User is not authorized to perform: kms:ScheduleKeyDeletion"},
    ),
    # Issue 15, item 5: quieter ways to blind the detector.
    "attach-deny-all-own-role": envelope(
        12, "iam.amazonaws.com", "AttachRolePolicy",
        {"roleName": "rootwatch-FunctionRole-1Q2W3E4R5T6Y", "policyArn": DENY_ALL},
    ),
    "attach-deny-all-other-role": envelope(
        13, "iam.amazonaws.com", "AttachRolePolicy",
        {"roleName": "payments-reporting", "policyArn": DENY_ALL},
    ),
    "invoke-config-put-own": envelope(
        14, "lambda.amazonaws.com", "PutFunctionEventInvokeConfig",
        {"functionName": "rootwatch-Function-9ZYXWVUTSRQP", "maximumRetryAttempts": 0,
         "maximumEventAgeInSeconds": 60},
        {"lastModified": "Nov 23, 2026, 10:14:00 AM", "functionArn": FUNCTION_ARN,
         "maximumRetryAttempts": 0, "maximumEventAgeInSeconds": 60,
         "destinationConfig": {"onSuccess": {}, "onFailure": {}}},
    ),
    "invoke-config-update-own": envelope(
        15, "lambda.amazonaws.com", "UpdateFunctionEventInvokeConfig",
        {"functionName": FUNCTION_ARN,
         "destinationConfig": {"onFailure": {"destination": f"arn:aws:sqs:us-east-1:{ACCOUNT}:scratch"}}},
        {"lastModified": "Nov 23, 2026, 10:15:00 AM", "functionArn": FUNCTION_ARN,
         "maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 21600,
         "destinationConfig": {"onSuccess": {},
                               "onFailure": {"destination": f"arn:aws:sqs:us-east-1:{ACCOUNT}:scratch"}}},
    ),
    "invoke-config-delete-own": envelope(
        16, "lambda.amazonaws.com", "DeleteFunctionEventInvokeConfig",
        {"functionName": "rootwatch-Function-9ZYXWVUTSRQP"},
    ),
    "table-policy-put-own": envelope(
        17, "dynamodb.amazonaws.com", "PutResourcePolicy",
        {"resourceArn": TABLE_ARN,
         "policy": json.dumps({"Version": "2012-10-17", "Statement": [
             {"Effect": "Deny", "Principal": "*", "Action": "dynamodb:*", "Resource": TABLE_ARN}]})},
        {"revisionId": "1763892060000"},
    ),
    "table-policy-delete-own": envelope(
        18, "dynamodb.amazonaws.com", "DeleteResourcePolicy",
        {"resourceArn": TABLE_ARN},
        {"revisionId": "1763892120000"},
    ),
    "table-ttl-own": envelope(
        19, "dynamodb.amazonaws.com", "UpdateTimeToLive",
        {"tableName": "rootwatch-SessionsTable-7U8I9O0P1A2S",
         "timeToLiveSpecification": {"enabled": True, "attributeName": "created_at"}},
        {"timeToLiveSpecification": {"enabled": True, "attributeName": "created_at"}},
    ),
    "leave-organization": envelope(
        20, "organizations.amazonaws.com", "LeaveOrganization", None,
    ),
    "disable-cloudtrail-trusted-access": envelope(
        21, "organizations.amazonaws.com", "DisableAWSServiceAccess",
        {"servicePrincipal": "cloudtrail.amazonaws.com"},
    ),
    "disable-other-trusted-access": envelope(
        22, "organizations.amazonaws.com", "DisableAWSServiceAccess",
        {"servicePrincipal": "config.amazonaws.com"},
    ),
    "deregister-cloudtrail-delegated-admin": envelope(
        23, "organizations.amazonaws.com", "DeregisterDelegatedAdministrator",
        {"accountId": "444455556666", "servicePrincipal": "cloudtrail.amazonaws.com"},
    ),
}

for name, event in SAMPLES.items():
    (OUT / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")
print(f"wrote {len(SAMPLES)} samples to {OUT}")
