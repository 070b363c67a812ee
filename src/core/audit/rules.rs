//! The six audit rules as one table ([`AUDIT_RULES`]: id, severity and its condition, the AWS page
//! it rests on, what to do) and [`evaluate`], which applies it to one account's facts.

use super::{AccountKind, MfaKind, OrgFacts, Presence, RootCredentials};
use crate::core::model::{Finding, Rule, Severity};

/// Security Hub control IAM.4: "IAM root user access key should not exist".
/// <https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-4>
pub const ROOT_ACCESS_KEY_DOC: &str =
    "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-4";
/// Security Hub control IAM.9: "MFA should be enabled for the root user".
/// <https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-9>
pub const ROOT_MFA_DOC: &str =
    "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-9";
/// Security Hub control IAM.6: "Hardware MFA should be enabled for the root user".
/// <https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-6>
pub const ROOT_HARDWARE_MFA_DOC: &str =
    "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-6";
/// Root user best practices: no long-term credentials beyond what is needed (certificates are
/// one of the root credentials a privileged task deletes in a member account).
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html>
pub const ROOT_BEST_PRACTICES_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html";
/// Centralized root access: with `RootCredentialsManagement` the management account (or the
/// delegated administrator for IAM) deletes and prevents member accounts' root credentials.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#id_root-user-access-management>
pub const CENTRAL_ROOT_ACCESS_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#id_root-user-access-management";

/// One row of the audit rule table.
#[derive(Debug, Clone, Copy)]
pub struct AuditRule {
    pub rule: Rule,
    /// The usual severity; `severity_when` says when it differs.
    pub severity: Severity,
    /// When the rule fires and which severity, in words (docs/audit.md prints these).
    pub condition: &'static str,
    pub doc: &'static str,
    /// What to do, one sentence.
    pub next: &'static str,
}

/// The audit rules, one row each.
pub const AUDIT_RULES: &[AuditRule] = &[
    AuditRule {
        rule: Rule::RootAccessKeyPresent,
        severity: Severity::Critical,
        condition: "the root user has an access key: critical if one is active, high if all are inactive",
        doc: ROOT_ACCESS_KEY_DOC,
        next: "Delete the root access keys (a member account's through an AssumeRoot IAMDeleteRootUserCredentials session) and use IAM roles instead.",
    },
    AuditRule {
        rule: Rule::RootMfaMissing,
        severity: Severity::High,
        condition: "the root user has a password (or may have one) or an access key, and no MFA device",
        doc: ROOT_MFA_DOC,
        next: "Sign in as root and assign an MFA device, preferably a FIDO security key; in a member account, delete the root credentials instead.",
    },
    AuditRule {
        rule: Rule::RootHardwareMfaMissing,
        severity: Severity::Low,
        condition: "every MFA device of the root user is a virtual (authenticator app) device",
        doc: ROOT_HARDWARE_MFA_DOC,
        next: "Add a FIDO security key or hardware TOTP token to root and remove the virtual device.",
    },
    AuditRule {
        rule: Rule::RootSigningCertificatePresent,
        severity: Severity::Medium,
        condition: "the root user has an X.509 signing certificate, active or not",
        doc: ROOT_BEST_PRACTICES_DOC,
        next: "Delete the root signing certificates; no current AWS API needs them.",
    },
    AuditRule {
        rule: Rule::RootPasswordPresent,
        severity: Severity::Info,
        condition: "the root user has a password: info, or medium in a member account when centralized root credentials management is enabled (the password can be deleted)",
        doc: CENTRAL_ROOT_ACCESS_DOC,
        next: "In a member account, delete the root password through an AssumeRoot IAMDeleteRootUserCredentials session; elsewhere keep it long, unique and behind MFA.",
    },
    AuditRule {
        rule: Rule::RootCredentialsManagementDisabled,
        severity: Severity::Medium,
        condition: "the organisation has not enabled RootCredentialsManagement (reported once, on the management account's row)",
        doc: CENTRAL_ROOT_ACCESS_DOC,
        next: "Enable centralized root access (iam:EnableOrganizationsRootCredentialsManagement) and delete member accounts' root credentials.",
    },
];

/// The rule table as Markdown (docs/audit.md holds it; tests/readme.rs keeps them equal).
pub fn markdown() -> String {
    let mut out = String::from(
        "| rule | fires when | severity | AWS page | what to do |\n|---|---|---|---|---|\n",
    );
    for r in AUDIT_RULES {
        out.push_str(&format!(
            "| `{}` | {} | {} | <{}> | {} |\n",
            r.rule, r.condition, r.severity, r.doc, r.next
        ));
    }
    out
}

/// The table row of an audit rule (`None` for the stream's rules).
pub fn audit_rule(rule: Rule) -> Option<&'static AuditRule> {
    AUDIT_RULES.iter().find(|r| r.rule == rule)
}

fn finding(rule: Rule, severity: Severity, title: String) -> Finding {
    let row = audit_rule(rule).expect("every audit finding has a row");
    Finding {
        rule,
        severity,
        title,
        task: None,
        doc: row.doc,
        suppressed: None,
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// The findings of one account. `org` is what is known about the organisation (with
/// `--organization`); the organisation-level finding goes on the management account's row.
pub fn evaluate(
    account: &str,
    kind: AccountKind,
    root: &RootCredentials,
    org: Option<&OrgFacts>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let active = root.access_keys.iter().filter(|k| k.active).count();
    let inactive = root.access_keys.len() - active;
    if !root.access_keys.is_empty() {
        let (severity, what) = if active > 0 {
            (
                Severity::Critical,
                format!("{} active", plural(active, "root access key")),
            )
        } else {
            (
                Severity::High,
                format!("{} (inactive)", plural(inactive, "root access key")),
            )
        };
        let extra = if active > 0 && inactive > 0 {
            format!(", {inactive} inactive")
        } else {
            String::new()
        };
        out.push(finding(
            Rule::RootAccessKeyPresent,
            severity,
            format!("Account {account} has {what}{extra}"),
        ));
    }
    if root.mfa.is_empty() && root.usable() {
        out.push(finding(
            Rule::RootMfaMissing,
            Severity::High,
            format!("Root user of {account} has no MFA device"),
        ));
    }
    if !root.mfa.is_empty() && root.mfa.iter().all(|m| *m == MfaKind::Virtual) {
        out.push(finding(
            Rule::RootHardwareMfaMissing,
            Severity::Low,
            format!("Root user of {account} has only virtual MFA"),
        ));
    }
    if !root.certificates.is_empty() {
        out.push(finding(
            Rule::RootSigningCertificatePresent,
            Severity::Medium,
            format!(
                "Account {account} has {}",
                plural(root.certificates.len(), "root signing certificate")
            ),
        ));
    }
    if root.password == Presence::Present {
        let central = org.is_some_and(|o| o.root_credentials_management);
        let severity = if kind == AccountKind::Member && central {
            Severity::Medium
        } else {
            Severity::Info
        };
        out.push(finding(
            Rule::RootPasswordPresent,
            severity,
            format!("Root user of {account} has a password"),
        ));
    }
    if let Some(o) = org {
        if kind == AccountKind::Management && !o.root_credentials_management {
            out.push(org_finding(account));
        }
    }
    out
}

/// `root-credentials-management-disabled`, for the organisation whose management account is
/// `management` (also used when the management account's own row could not be read).
pub fn org_finding(management: &str) -> Finding {
    finding(
        Rule::RootCredentialsManagementDisabled,
        Severity::Medium,
        format!("Organisation of management account {management} has not enabled centralized root credentials management"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::{AccessKey, Certificate};

    fn none() -> RootCredentials {
        RootCredentials {
            password: Presence::Absent,
            password_last_used: None,
            mfa: vec![],
            access_keys: vec![],
            certificates: vec![],
        }
    }

    fn ids(f: &[Finding]) -> Vec<(&str, Severity)> {
        f.iter().map(|f| (f.rule.as_str(), f.severity)).collect()
    }

    fn key(active: bool) -> AccessKey {
        AccessKey {
            id: None,
            active,
            last_used: None,
        }
    }

    #[test]
    fn a_member_without_root_credentials_has_no_finding() {
        let org = OrgFacts {
            root_credentials_management: true,
            root_sessions: true,
        };
        assert!(evaluate("1", AccountKind::Member, &none(), Some(&org)).is_empty());
    }

    #[test]
    fn an_active_key_is_critical_an_inactive_one_high() {
        let mut r = none();
        r.mfa = vec![MfaKind::Hardware];
        r.access_keys = vec![key(false)];
        assert_eq!(
            ids(&evaluate("1", AccountKind::Standalone, &r, None)),
            [("root-access-key-present", Severity::High)]
        );
        r.access_keys.push(key(true));
        let f = evaluate("111122223333", AccountKind::Standalone, &r, None);
        assert_eq!(ids(&f), [("root-access-key-present", Severity::Critical)]);
        assert_eq!(
            f[0].title,
            "Account 111122223333 has 1 root access key active, 1 inactive"
        );
        assert_eq!(f[0].doc, ROOT_ACCESS_KEY_DOC);
    }

    #[test]
    fn mfa_missing_only_when_root_can_sign_in_or_call() {
        let mut r = none();
        r.password = Presence::Unknown;
        assert_eq!(
            ids(&evaluate("1", AccountKind::Standalone, &r, None)),
            [("root-mfa-missing", Severity::High)]
        );
        r.mfa = vec![MfaKind::Virtual];
        assert_eq!(
            ids(&evaluate("1", AccountKind::Standalone, &r, None)),
            [("root-hardware-mfa-missing", Severity::Low)]
        );
        r.mfa = vec![MfaKind::Virtual, MfaKind::Hardware];
        assert!(evaluate("1", AccountKind::Standalone, &r, None).is_empty());
    }

    #[test]
    fn a_password_is_medium_only_in_a_member_under_central_management() {
        let mut r = none();
        r.password = Presence::Present;
        r.mfa = vec![MfaKind::Hardware];
        r.certificates = vec![Certificate {
            id: None,
            active: false,
        }];
        let on = OrgFacts {
            root_credentials_management: true,
            root_sessions: true,
        };
        let off = OrgFacts {
            root_credentials_management: false,
            root_sessions: true,
        };
        assert_eq!(
            ids(&evaluate("1", AccountKind::Member, &r, Some(&on))),
            [
                ("root-signing-certificate-present", Severity::Medium),
                ("root-password-present", Severity::Medium)
            ]
        );
        assert_eq!(
            ids(&evaluate("1", AccountKind::Member, &r, Some(&off))),
            [
                ("root-signing-certificate-present", Severity::Medium),
                ("root-password-present", Severity::Info)
            ]
        );
        assert_eq!(
            ids(&evaluate("1", AccountKind::Management, &r, Some(&off))),
            [
                ("root-signing-certificate-present", Severity::Medium),
                ("root-password-present", Severity::Info),
                ("root-credentials-management-disabled", Severity::Medium)
            ]
        );
    }

    #[test]
    fn the_table_has_one_row_per_audit_rule() {
        let rules: Vec<&str> = AUDIT_RULES.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(
            rules,
            [
                "root-access-key-present",
                "root-mfa-missing",
                "root-hardware-mfa-missing",
                "root-signing-certificate-present",
                "root-password-present",
                "root-credentials-management-disabled"
            ]
        );
        for r in AUDIT_RULES {
            assert!(
                r.doc.starts_with("https://docs.aws.amazon.com/"),
                "{}",
                r.doc
            );
        }
    }

    #[test]
    fn mfa_kinds_from_serial_numbers() {
        use crate::core::audit::mfa_kind;
        assert_eq!(
            mfa_kind("arn:aws:iam::111122223333:mfa/root-account-mfa-device"),
            MfaKind::Virtual
        );
        assert_eq!(
            mfa_kind("arn:aws:iam::111122223333:u2f/root/key-1"),
            MfaKind::Hardware
        );
        assert_eq!(mfa_kind("GAHT12345678"), MfaKind::Hardware);
    }
}
