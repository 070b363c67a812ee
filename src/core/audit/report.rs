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

/// Marks the findings of `audit` that an entry of `suppressions` covers at `now` (epoch seconds),
/// as the stream's findings are marked: judged on the account's report at `time`. Returns how
/// many were marked.
pub fn suppress(
    audit: &mut AccountAudit,
    suppressions: &crate::core::suppress::Suppressions,
    time: &str,
    now: i64,
) -> usize {
    let Some(mut report) = to_report(audit, time, 0) else {
        return 0;
    };
    let n = suppressions.apply(&mut report, now);
    audit.findings = report.findings;
    n
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

    #[test]
    fn a_suppression_covers_an_audit_finding_by_rule_and_account() {
        use crate::core::suppress::Suppressions;
        let root = RootCredentials {
            password: Presence::Present,
            password_last_used: None,
            mfa: vec![],
            access_keys: vec![],
            certificates: vec![],
        };
        let mut audit = AccountAudit {
            account_id: "444455556666".into(),
            account_name: None,
            kind: AccountKind::Member,
            findings: evaluate("444455556666", AccountKind::Member, &root, None),
            root: Some(root),
            error: None,
        };
        // 2026-12-06T06:00:00Z
        let now = 1_796_536_800;
        let file = b"[[suppress]]\nrule = \"root-password-present\"\naccount = \"444455556666\"\nreason = \"member accounts keep a password until the migration, SEC-42\"\nexpires = 2027-03-31\n";
        let set = Suppressions::parse(file, "s.toml", now).unwrap();
        assert_eq!(suppress(&mut audit, &set, "2026-12-06T06:00:00Z", now), 1);
        let marked: Vec<(&str, bool)> = audit
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.is_suppressed()))
            .collect();
        assert_eq!(
            marked,
            [("root-mfa-missing", false), ("root-password-present", true)]
        );
        // The alert leaves the suppressed finding out.
        let r = to_report(&audit, "2026-12-06T06:00:00Z", 0).unwrap();
        let a = build(&r, Severity::Info, AlertFormat::Standard).unwrap();
        assert!(!a.text.contains("root-password-present"), "{}", a.text);
    }
}
