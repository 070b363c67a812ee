//! What changed since the last audit of an account: the scheduled audit alerts on these only.
//! Pure: the previous snapshot (the account's root credentials as last seen) and the current
//! one in, change findings out. The first audit of an account (no snapshot) reports its
//! findings as they are: that is the change from nothing known.

use super::rules::evaluate;
use super::{AccountKind, MfaKind, OrgFacts, Presence, RootCredentials};
use crate::core::model::{Finding, Rule};

/// The change findings of one account between two runs.
pub fn changes(
    account: &str,
    kind: AccountKind,
    previous: Option<&RootCredentials>,
    current: &RootCredentials,
    org: Option<&OrgFacts>,
) -> Vec<Finding> {
    let now = evaluate(account, kind, current, org);
    let Some(prev) = previous else {
        return now;
    };
    let of = |rule: Rule| now.iter().find(|f| f.rule == rule).cloned();
    let mut out = Vec::new();
    let mut push = |rule: Rule, title: String| {
        if let Some(mut f) = of(rule) {
            f.title = title;
            out.push(f);
        }
    };
    if new_keys(prev, current) {
        push(
            Rule::RootAccessKeyPresent,
            format!("New since the last audit: a root access key in {account}"),
        );
    }
    if !prev.mfa.is_empty() && current.mfa.is_empty() {
        push(
            Rule::RootMfaMissing,
            format!("New since the last audit: MFA removed from the root user of {account}"),
        );
    }
    let hardware = |r: &RootCredentials| r.mfa.contains(&MfaKind::Hardware);
    if hardware(prev) && !hardware(current) && !current.mfa.is_empty() {
        push(
            Rule::RootHardwareMfaMissing,
            format!("New since the last audit: the root user of {account} lost its hardware MFA"),
        );
    }
    if grew(&prev.certificates, &current.certificates, |c| {
        c.id.as_deref()
    }) {
        push(
            Rule::RootSigningCertificatePresent,
            format!("New since the last audit: a root signing certificate in {account}"),
        );
    }
    if prev.password == Presence::Absent && current.password == Presence::Present {
        push(
            Rule::RootPasswordPresent,
            format!("New since the last audit: a root password in {account}"),
        );
    }
    out
}

/// A key that was not there before, or one that became active.
fn new_keys(prev: &RootCredentials, cur: &RootCredentials) -> bool {
    let active = |r: &RootCredentials| r.access_keys.iter().filter(|k| k.active).count();
    grew(&prev.access_keys, &cur.access_keys, |k| k.id.as_deref()) || active(cur) > active(prev)
}

/// More items than before, or (when the source names them) one whose id is new.
fn grew<T>(prev: &[T], cur: &[T], id: impl Fn(&T) -> Option<&str>) -> bool {
    cur.len() > prev.len()
        || cur
            .iter()
            .filter_map(&id)
            .any(|i| !prev.iter().filter_map(&id).any(|p| p == i))
}

/// The organisation turned centralized root credentials management off since the last run.
pub fn org_changes(
    management: &str,
    previous: Option<&OrgFacts>,
    current: &OrgFacts,
) -> Vec<Finding> {
    match previous {
        Some(p) if p.root_credentials_management && !current.root_credentials_management => {
            let mut f = super::rules::org_finding(management);
            f.title = format!(
                "New since the last audit: centralized root credentials management disabled in the organisation of {management}"
            );
            vec![f]
        }
        None if !current.root_credentials_management => {
            vec![super::rules::org_finding(management)]
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::AccessKey;
    use crate::core::model::Severity;

    fn safe() -> RootCredentials {
        RootCredentials {
            password: Presence::Absent,
            password_last_used: None,
            mfa: vec![MfaKind::Hardware],
            access_keys: vec![],
            certificates: vec![],
        }
    }

    fn rules(f: &[Finding]) -> Vec<(&str, Severity)> {
        f.iter().map(|f| (f.rule.as_str(), f.severity)).collect()
    }

    #[test]
    fn no_change_no_finding_even_with_standing_findings() {
        let mut r = safe();
        r.access_keys.push(AccessKey {
            id: Some("AKIAOLD".into()),
            active: true,
            last_used: None,
        });
        assert!(changes("1", AccountKind::Member, Some(&r), &r, None).is_empty());
    }

    #[test]
    fn a_new_key_and_removed_mfa_are_two_changes() {
        let prev = safe();
        let mut cur = safe();
        cur.mfa.clear();
        cur.access_keys.push(AccessKey {
            id: Some("AKIANEW".into()),
            active: true,
            last_used: None,
        });
        let f = changes("444455556666", AccountKind::Member, Some(&prev), &cur, None);
        assert_eq!(
            rules(&f),
            [
                ("root-access-key-present", Severity::Critical),
                ("root-mfa-missing", Severity::High)
            ]
        );
        assert_eq!(
            f[1].title,
            "New since the last audit: MFA removed from the root user of 444455556666"
        );
    }

    #[test]
    fn a_replaced_key_is_new_a_deleted_one_is_not() {
        let key = |id: &str| AccessKey {
            id: Some(id.into()),
            active: false,
            last_used: None,
        };
        let mut prev = safe();
        prev.access_keys.push(key("AKIAOLD"));
        let mut cur = safe();
        cur.access_keys.push(key("AKIANEW"));
        assert_eq!(
            rules(&changes("1", AccountKind::Member, Some(&prev), &cur, None)),
            [("root-access-key-present", Severity::High)]
        );
        assert!(changes("1", AccountKind::Member, Some(&prev), &safe(), None).is_empty());
    }

    #[test]
    fn the_first_run_reports_what_is_there() {
        let mut cur = safe();
        cur.password = Presence::Present;
        assert_eq!(
            rules(&changes("1", AccountKind::Standalone, None, &cur, None)),
            [("root-password-present", Severity::Info)]
        );
    }

    #[test]
    fn central_management_turned_off_is_a_change() {
        let on = OrgFacts {
            root_credentials_management: true,
            root_sessions: true,
        };
        let off = OrgFacts {
            root_credentials_management: false,
            root_sessions: true,
        };
        assert_eq!(org_changes("1", Some(&on), &off).len(), 1);
        assert!(org_changes("1", Some(&off), &off).is_empty());
        assert!(org_changes("1", Some(&off), &on).is_empty());
    }
}
