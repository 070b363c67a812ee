#!/usr/bin/env python3
"""Writes the session sequences under events/sessions/ as CloudTrail log files.

Written by us from the documented record shapes:
- https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
- https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html (STS examples)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html (AssumeRoot)

Records are deliberately out of order (uses before the calls that issued their keys, accounts in
files that sort before the caller's) and interleaved with unrelated noise. Re-run after a change,
then `UPDATE_EXPECT=1 cargo test --test golden`.
"""
import datetime as dt
import json
import os
import shutil

OUT = os.path.join(os.path.dirname(__file__), "..", "events", "sessions")
MGMT, DEV, PROD, AUDIT = "111122223333", "222233334444", "444455556666", "555566667777"
_n = [0]


def eid():
    _n[0] += 1
    return f"5e5510a0-0000-4000-8000-{_n[0]:012d}"


def t(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")


def us(when):
    """The console-like `expiration` format: Nov 20, 2026, 10:00:00 AM."""
    h = when.hour % 12 or 12
    return f"{when:%b} {when.day}, {when.year}, {h}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


def base(ident, time, source, name, region="us-east-1", ip="198.51.100.14", read_only=None,
         req=None, resp=None, recipient=None, agent="aws-cli/2.22.10 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0"):
    r = {
        "eventVersion": "1.10",
        "userIdentity": ident,
        "eventTime": time,
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": req,
        "responseElements": resp,
        "requestID": eid().replace("5e5510a0", "0e0e0e0e"),
        "eventID": eid(),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": recipient or ident.get("accountId"),
        "eventCategory": "Management",
    }
    if read_only is not None:
        r["readOnly"] = read_only
    return r


def iam_user(name, account, key):
    return {"type": "IAMUser", "principalId": f"AIDA{name.upper():<16}"[:21].replace(" ", "X"),
            "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account,
            "accessKeyId": key, "userName": name}


def role_session(role, session, account, key, created, source_identity=None, path=""):
    ctx = {"sessionIssuer": {"type": "Role", "principalId": f"AROA{role.upper()[:12]:X<12}EXAMPLE",
                             "arn": f"arn:aws:iam::{account}:role/{path}{role}", "accountId": account,
                             "userName": role},
           "webIdFederationData": {},
           "attributes": {"creationDate": created, "mfaAuthenticated": "false"}}
    if source_identity:
        ctx["sourceIdentity"] = source_identity
    return {"type": "AssumedRole", "principalId": f"AROA{role.upper()[:12]:X<12}EXAMPLE:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}", "accountId": account,
            "accessKeyId": key, "sessionContext": ctx}


def assume_role(caller, time, role_arn, session, key, minutes=60, source_identity=None, region="us-east-1"):
    start = t(time)
    req = {"roleArn": role_arn, "roleSessionName": session, "durationSeconds": minutes * 60}
    resp = {"credentials": {"accessKeyId": key, "sessionToken": "<redacted>",
                            "expiration": us(start + dt.timedelta(minutes=minutes))},
            "assumedRoleUser": {"assumedRoleId": f"AROAEXAMPLE:{session}",
                                "arn": role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + f"/{session}"}}
    if source_identity:
        req["sourceIdentity"] = source_identity
        resp["sourceIdentity"] = source_identity
    return base(caller, time, "sts", "AssumeRole", region=region, read_only=True, req=req, resp=resp)


def log(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"Records": records}, f, indent=2)
        f.write("\n")


def user_role_chain():
    d = os.path.join(OUT, "user-role-chain")
    alice = iam_user("alice", MGMT, "AKIAALICELONGEXAMPLE")
    hop1 = assume_role(alice, "2026-11-20T09:00:00Z", f"arn:aws:iam::{PROD}:role/Admin", "alice",
                       "ASIACHAINHOP1EXAMPLE", source_identity="alice@example.com")
    admin = role_session("Admin", "alice", PROD, "ASIACHAINHOP1EXAMPLE", "2026-11-20T09:00:00Z",
                         source_identity="alice@example.com")
    hop2 = assume_role(admin, "2026-11-20T09:05:00Z", f"arn:aws:iam::{AUDIT}:role/Auditor", "alice-audit",
                       "ASIACHAINHOP2EXAMPLE", source_identity="alice@example.com")
    auditor = role_session("Auditor", "alice-audit", AUDIT, "ASIACHAINHOP2EXAMPLE", "2026-11-20T09:05:00Z",
                           source_identity="alice@example.com")
    bob = iam_user("bob", MGMT, "AKIABOBLONGKEXAMPLE1")
    # The audit account's file sorts first and holds the uses of the second hop.
    log(os.path.join(d, f"{AUDIT}_CloudTrail_us-east-1_20261120T0910Z_a.json"), [
        base(auditor, "2026-11-20T09:07:30Z", "s3", "ListBuckets", read_only=True),
        base(bob, "2026-11-20T09:07:31Z", "iam", "ListUsers", read_only=True, recipient=AUDIT),
        base(auditor, "2026-11-20T09:06:10Z", "ec2", "DescribeInstances", read_only=True),
    ])
    log(os.path.join(d, f"{PROD}_CloudTrail_us-east-1_20261120T0905Z_b.json"), [
        base(admin, "2026-11-20T09:03:00Z", "iam", "ListRoles", read_only=True),
        hop2,
        base(admin, "2026-11-20T09:02:00Z", "ec2", "StopInstances", read_only=False,
             req={"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}}),
    ])
    log(os.path.join(d, f"{MGMT}_CloudTrail_us-east-1_20261120T0900Z_c.json"), [
        base(bob, "2026-11-20T08:59:00Z", "s3", "ListBuckets", read_only=True),
        hop1,
    ])


def assume_root():
    d = os.path.join(OUT, "sso-assumeroot")
    jane = role_session("AWSReservedSSO_AdministratorAccess_0123456789abcdef", "jane.doe@example.com", MGMT,
                        "ASIASSOJANEAAEXAMPLE", "2026-11-21T13:58:00Z", path="aws-reserved/sso.amazonaws.com/")
    call = base(jane, "2026-11-21T14:00:00Z", "sts", "AssumeRoot", region="us-east-1", read_only=True,
                req={"targetPrincipal": DEV,
                     "taskPolicyArn": {"arn": "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"},
                     "durationSeconds": 900},
                resp={"credentials": {"accessKeyId": "ASIAROOTSEQ1EXAMPLE1", "sessionToken": "<redacted>",
                                      "expiration": us(t("2026-11-21T14:15:00Z"))}})
    # The member-account side as the AWS docs show it: type Root, an ASIA key, no assumedRoot.
    root = {"type": "Root", "principalId": DEV, "arn": f"arn:aws:iam::{DEV}:root", "accountId": DEV,
            "accessKeyId": "ASIAROOTSEQ1EXAMPLE1",
            "sessionContext": {"attributes": {"creationDate": "2026-11-21T14:00:00Z", "mfaAuthenticated": "false"}}}
    dev_user = iam_user("ci", DEV, "AKIACIDEVLONGEXAMPL1")
    log(os.path.join(d, f"{DEV}_CloudTrail_us-east-1_20261121T1405Z_a.json"), [
        base(root, "2026-11-21T14:03:00Z", "s3", "DeleteBucketPolicy", read_only=False,
             req={"bucketName": "example-locked-bucket", "policy": ""}),
        base(dev_user, "2026-11-21T14:02:00Z", "s3", "PutObject", read_only=False, recipient=DEV,
             req={"bucketName": "example-artifacts", "key": "build.zip"}),
        base(root, "2026-11-21T14:02:30Z", "s3", "GetBucketPolicy", read_only=True,
             req={"bucketName": "example-locked-bucket"}),
    ])
    log(os.path.join(d, f"{MGMT}_CloudTrail_us-east-1_20261121T1400Z_b.json"), [call])


def federation():
    d = os.path.join(OUT, "federation-token")
    broker = iam_user("federation-broker", MGMT, "AKIAFEDBROKERSEQEXA1")
    call = base(broker, "2026-11-22T08:00:00Z", "sts", "GetFederationToken", read_only=True,
                req={"name": "dave", "durationSeconds": 7200},
                resp={"credentials": {"accessKeyId": "ASIAFEDDAVESEQEXAMP", "sessionToken": "<redacted>",
                                      "expiration": us(t("2026-11-22T10:00:00Z"))},
                      "federatedUser": {"federatedUserId": f"{MGMT}:dave",
                                        "arn": f"arn:aws:sts::{MGMT}:federated-user/dave"},
                      "packedPolicySize": 6})
    dave = {"type": "FederatedUser", "principalId": f"{MGMT}:dave",
            "arn": f"arn:aws:sts::{MGMT}:federated-user/dave", "accountId": MGMT,
            "accessKeyId": "ASIAFEDDAVESEQEXAMP",
            "sessionContext": {"sessionIssuer": {"type": "IAMUser", "principalId": "AIDAFEDBROKERXEXAMPLE",
                                                 "arn": f"arn:aws:iam::{MGMT}:user/federation-broker",
                                                 "accountId": MGMT, "userName": "federation-broker"},
                               "attributes": {"creationDate": "2026-11-22T08:00:00Z", "mfaAuthenticated": "false"}}}
    log(os.path.join(d, f"{MGMT}_CloudTrail_us-east-1_20261122T0800Z_a.json"), [
        base(dave, "2026-11-22T08:20:00Z", "s3", "GetObject", read_only=True,
             req={"bucketName": "example-reports", "key": "q3.pdf"}),
        base(dave, "2026-11-22T09:10:00Z", "dynamodb", "Scan", read_only=True, req={"tableName": "orders"}),
        call,
        # Same key after its expiry (10:00): not this session any more.
        base(dave, "2026-11-22T10:30:00Z", "s3", "GetObject", read_only=True,
             req={"bucketName": "example-reports", "key": "q4.pdf"}),
    ])


def expired_reuse():
    d = os.path.join(OUT, "expired-key-reused")
    ops = iam_user("ops", MGMT, "AKIAOPSLONGKEYEXAMP1")
    deploy = iam_user("deployer", MGMT, "AKIADEPLOYERLKEXAMP1")
    key = "ASIAREUSEDKEYEXAMPL1"
    first = assume_role(ops, "2026-11-22T12:00:00Z", f"arn:aws:iam::{MGMT}:role/Maintenance", "ops", key, minutes=60)
    second = assume_role(deploy, "2026-11-22T15:00:00Z", f"arn:aws:iam::{MGMT}:role/Deploy", "deployer", key,
                         minutes=60)
    maint = role_session("Maintenance", "ops", MGMT, key, "2026-11-22T12:00:00Z")
    dep = role_session("Deploy", "deployer", MGMT, key, "2026-11-22T15:00:00Z")
    log(os.path.join(d, f"{MGMT}_CloudTrail_us-east-1_20261122T1200Z_a.json"), [
        base(dep, "2026-11-22T15:30:00Z", "lambda", "UpdateFunctionCode20150331v2", read_only=False,
             req={"functionName": "api"}),
        base(maint, "2026-11-22T12:30:00Z", "rds", "RebootDBInstance", read_only=False,
             req={"dBInstanceIdentifier": "orders-db"}),
        second,
        # Between the two lifetimes: no live session has this key.
        base(maint, "2026-11-22T13:30:00Z", "rds", "DescribeDBInstances", read_only=True),
        first,
        base(ops, "2026-11-22T12:10:00Z", "iam", "GetUser", read_only=True),
    ])


if __name__ == "__main__":
    for case in ("user-role-chain", "sso-assumeroot", "federation-token", "expired-key-reused"):
        shutil.rmtree(os.path.join(OUT, case), ignore_errors=True)
    user_role_chain()
    assume_root()
    federation()
    expired_reuse()
