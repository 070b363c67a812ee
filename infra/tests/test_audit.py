"""The scheduled root credentials audit (docs/audit.md) in the SAM template: off by default, and
its read-only permissions exist only when AuditSchedule is daily (the organisation's only with
AuditScope organization). infra/cdk/test/detector.test.ts checks the same of the CDK construct.
"""

from __future__ import annotations

from pathlib import Path

from cfn_eval import Deployment, load_template

INFRA = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
AUDIT_TASK = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
ACCOUNT_READS = ["iam:GenerateCredentialReport", "iam:GetAccountSummary", "iam:GetCredentialReport", "iam:ListVirtualMFADevices"]
ORG_READS = ["iam:ListOrganizationsFeatures", "organizations:DescribeOrganization", "organizations:ListAccounts"]


def sam(params: dict) -> Deployment:
    return Deployment(load_template(INFRA / "template.yaml"), params, account=ACCOUNT, region="us-east-1")


def function_statements(d: Deployment) -> dict[str, dict]:
    doc = d.resolve(d.resources["FunctionPolicy"]["Properties"]["PolicyDocument"])
    return {s["Sid"]: s for s in doc["Statement"]}


def audit_rules(d: Deployment) -> list[dict]:
    return [
        r
        for r in d.resources.values()
        if r["Type"] == "AWS::Events::Rule" and any(t.get("Input") == '{"rootwatch":"audit"}' for t in r["Properties"].get("Targets", []) if isinstance(t, dict))
    ]


def listed(v) -> list:
    return v if isinstance(v, list) else [v]


def test_off_by_default_no_rule_no_permission():
    d = sam({})
    sts = function_statements(d)
    assert not {"AuditRootCredentials", "AuditOrganization", "AuditMemberRootCredentials"} & set(sts)
    assert "sts:AssumeRoot" not in repr(sts)
    assert audit_rules(d) == []
    assert "AuditPermission" not in d.resources
    env = d.resolve(d.resources["Function"]["Properties"]["Environment"]["Variables"])
    assert "AUDIT" not in env


def test_daily_account_audit_reads_the_account_only():
    d = sam({"AuditSchedule": "daily"})
    sts = function_statements(d)
    assert sorted(listed(sts["AuditRootCredentials"]["Action"])) == ACCOUNT_READS
    assert "AuditOrganization" not in sts and "AuditMemberRootCredentials" not in sts
    (rule,) = audit_rules(d)
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 day)"
    assert "AuditPermission" in d.resources
    env = d.resolve(d.resources["Function"]["Properties"]["Environment"]["Variables"])
    assert env["AUDIT"] == "account"


def test_daily_organisation_audit_adds_organisation_reads_and_the_audit_root_session():
    d = sam({"AuditSchedule": "daily", "AuditScope": "organization"})
    sts = function_statements(d)
    assert sorted(listed(sts["AuditOrganization"]["Action"])) == ORG_READS
    member = sts["AuditMemberRootCredentials"]
    assert listed(member["Action"]) == ["sts:AssumeRoot"]
    assert member["Condition"] == {"StringEquals": {"sts:TaskPolicyArn": AUDIT_TASK}}
    env = d.resolve(d.resources["Function"]["Properties"]["Environment"]["Variables"])
    assert env["AUDIT"] == "organization"


def test_the_scope_alone_grants_nothing():
    d = sam({"AuditScope": "organization"})
    assert "sts:AssumeRoot" not in repr(function_statements(d))
    assert audit_rules(d) == []
