//! An audited account as the per-record report every sink takes (alert text, SNS attributes,
//! and the formats built on the report): the audit's findings go where the stream's go.
//!
//! The report names the account's root user as its principal, `rootwatch.audit` as its event
//! source and `RootCredentialAudit` as its event name, and the audit's time as its event time.

use super::AccountAudit;
use crate::core::model::{InputRef, Principal, PrincipalClass, RecordReport};
use crate::core::sanitize::{clean, MAX_FIELD};

/// The event source of audit reports.
pub const AUDIT_SOURCE: &str = "rootwatch.audit";
/// The event name of audit reports.
pub const AUDIT_EVENT: &str = "RootCredentialAudit";

/// The report of one audited account at `time` (RFC 3339, UTC), or `None` when it has no finding.
/// The event id is `rootwatch-audit-<account>-<time>`: one per account and run.
pub fn to_report(audit: &AccountAudit, time: &str, index: u64) -> Option<RecordReport> {
    if audit.findings.is_empty() {
        return None;
    }
    let account = clean(&audit.account_id, MAX_FIELD);
    Some(RecordReport {
        event_id: Some(format!("rootwatch-audit-{account}-{time}").into()),
        event_name: Some(AUDIT_EVENT.into()),
        event_source: Some(AUDIT_SOURCE.into()),
        event_time: Some(time.into()),
        aws_region: None,
        source_ip: None,
        user_agent: None,
        error_code: None,
        read_only: true,
        principal: Principal {
            kind: Some("Root".into()),
            class: PrincipalClass::Root,
            arn: Some(format!("arn:aws:iam::{account}:root").into()),
            account_id: Some(account.as_str().into()),
            access_key_id: None,
            principal_id: Some(account.as_str().into()),
            user_name: None,
            mfa_authenticated: None,
            invoked_by: None,
            session_issuer: None,
            session_name: None,
            source_identity: None,
        },
        findings: audit.findings.clone(),
        assumption: None,
        origin: None,
        input: InputRef {
            file: AUDIT_SOURCE.into(),
            index,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::alert::{build, AlertFormat};
    use crate::core::audit::{rules::evaluate, AccountKind, Presence, RootCredentials};
    use crate::core::model::Severity;

    #[test]
    fn an_audit_finding_becomes_an_alert() {
        let root = RootCredentials {
            password: Presence::Unknown,
            password_last_used: None,
            mfa: vec![],
            access_keys: vec![],
            certificates: vec![],
        };
        let audit = AccountAudit {
            account_id: "111122223333".into(),
            account_name: None,
            kind: AccountKind::Standalone,
            findings: evaluate("111122223333", AccountKind::Standalone, &root, None),
            root: Some(root),
            error: None,
        };
        let r = to_report(&audit, "2026-12-06T06:00:00Z", 0).unwrap();
        let a = build(&r, Severity::Info, AlertFormat::Standard).unwrap();
        assert_eq!(
            a.subject,
            "[rootwatch] HIGH 111122223333: Root user of 111122223333 has no MFA device"
        );
        assert!(a.text.contains("root-mfa-missing"), "{}", a.text);
        assert!(a.text.contains(
            "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-9"
        ));
        assert!(a
            .attributes
            .contains(&("rule", "String.Array", r#"["root-mfa-missing"]"#.into())));
        let none = AccountAudit {
            findings: vec![],
            ..audit
        };
        assert!(to_report(&none, "2026-12-06T06:00:00Z", 0).is_none());
    }
}
