//! The caller's own account: the credential report's `<root_account>` row (CSV) and
//! `iam:GetAccountSummary`'s root counters, combined into [`RootCredentials`].

use super::{AccessKey, AccountKind, Certificate, MfaKind, Presence, RootCredentials};

/// The credential report names the root user's row `<root_account>`; its `password_enabled` is
/// always `not_supported`; a field with no value is `N/A`, `no_information` or `not_supported`.
/// Inactive access keys show as `FALSE`, like absent ones.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html>
pub const ROOT_ROW_USER: &str = "<root_account>";

/// The root row of a credential report, as far as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RootRow {
    pub password_last_used: Option<String>,
    pub mfa_active: bool,
    /// `access_key_1_active`, `access_key_2_active` with their last-used dates.
    pub access_keys_active: Vec<(bool, Option<String>)>,
    /// `cert_1_active`, `cert_2_active`.
    pub certs_active: Vec<bool>,
}

/// Why a credential report could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    #[error("the credential report is not CSV ({0}); generate it again with iam:GenerateCredentialReport")]
    Csv(String),
    #[error("the credential report has no column {0:?}; it is not an IAM credential report")]
    Column(&'static str),
    #[error("the credential report has no <root_account> row; AWS always writes one, so the report is incomplete: generate it again")]
    NoRootRow,
}

/// `iam:GetAccountSummary`'s root counters: `AccountMFAEnabled`, `AccountAccessKeysPresent`,
/// `AccountSigningCertificatesPresent` (1 when root has one, else 0).
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountSummary {
    pub mfa_enabled: bool,
    pub access_keys_present: bool,
    pub signing_certificates_present: bool,
}

fn value(s: &str) -> Option<String> {
    match s.trim() {
        "" | "N/A" | "no_information" | "not_supported" => None,
        v => Some(v.to_owned()),
    }
}

fn truthy(s: &str) -> bool {
    s.trim().eq_ignore_ascii_case("true")
}

/// Reads the `<root_account>` row of a credential report (the CSV content, decoded).
pub fn parse_root_row(csv_text: &[u8]) -> Result<RootRow, ReportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_text);
    let headers = reader
        .headers()
        .map_err(|e| ReportError::Csv(e.to_string()))?
        .clone();
    let col = |name: &'static str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or(ReportError::Column(name))
    };
    let user = col("user")?;
    let mfa = col("mfa_active")?;
    let pw_used = col("password_last_used")?;
    let optional = |name: &'static str| headers.iter().position(|h| h.trim() == name);
    let keys = [
        (
            optional("access_key_1_active"),
            optional("access_key_1_last_used_date"),
        ),
        (
            optional("access_key_2_active"),
            optional("access_key_2_last_used_date"),
        ),
    ];
    let certs = [optional("cert_1_active"), optional("cert_2_active")];
    for rec in reader.records() {
        let rec = rec.map_err(|e| ReportError::Csv(e.to_string()))?;
        if rec.get(user) != Some(ROOT_ROW_USER) {
            continue;
        }
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("");
        return Ok(RootRow {
            password_last_used: value(get(Some(pw_used))),
            mfa_active: truthy(get(Some(mfa))),
            access_keys_active: keys
                .iter()
                .map(|(a, u)| (truthy(get(*a)), value(get(*u))))
                .collect(),
            certs_active: certs.iter().map(|c| truthy(get(*c))).collect(),
        });
    }
    Err(ReportError::NoRootRow)
}

/// The caller's own account's root credentials from the account summary, the report's root row
/// and whether a virtual MFA device is assigned to root (`iam:ListVirtualMFADevices`).
/// Inactive keys and certificates are not in the report: when the summary counts one and the
/// report shows none active, one inactive one is recorded. The root password: present when the
/// report has a last use or the account is a management account (its root user always has a
/// password); otherwise unknown, as the report does not show it.
pub fn own_account(
    summary: &AccountSummary,
    row: &RootRow,
    virtual_mfa: bool,
    kind: AccountKind,
) -> RootCredentials {
    let mut access_keys: Vec<AccessKey> = row
        .access_keys_active
        .iter()
        .filter(|(active, _)| *active)
        .map(|(_, used)| AccessKey {
            id: None,
            active: true,
            last_used: used.clone(),
        })
        .collect();
    if access_keys.is_empty() && summary.access_keys_present {
        access_keys.push(AccessKey {
            id: None,
            active: false,
            last_used: None,
        });
    }
    let mut certificates: Vec<Certificate> = row
        .certs_active
        .iter()
        .filter(|a| **a)
        .map(|_| Certificate {
            id: None,
            active: true,
        })
        .collect();
    if certificates.is_empty() && summary.signing_certificates_present {
        certificates.push(Certificate {
            id: None,
            active: false,
        });
    }
    let mfa = if summary.mfa_enabled || row.mfa_active {
        vec![if virtual_mfa {
            MfaKind::Virtual
        } else {
            MfaKind::Hardware
        }]
    } else {
        vec![]
    };
    let password = if row.password_last_used.is_some() || kind == AccountKind::Management {
        Presence::Present
    } else {
        Presence::Unknown
    };
    RootCredentials {
        password,
        password_last_used: row.password_last_used.clone(),
        mfa,
        access_keys,
        certificates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header AWS documents, and a root row with one active key used in 2026 and MFA.
    const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
alice,arn:aws:iam::111122223333:user/alice,2024-01-01T00:00:00+00:00,true,2026-01-01T00:00:00+00:00,N/A,N/A,false,true,2024-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
<root_account>,arn:aws:iam::111122223333:root,2020-05-01T10:00:00+00:00,not_supported,2026-11-02T08:00:00+00:00,not_supported,not_supported,true,true,2021-01-01T00:00:00+00:00,2026-10-30T12:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,true,2021-02-02T00:00:00+00:00
";

    #[test]
    fn reads_the_root_row_not_a_users() {
        let row = parse_root_row(REPORT.as_bytes()).unwrap();
        assert_eq!(
            row,
            RootRow {
                password_last_used: Some("2026-11-02T08:00:00+00:00".into()),
                mfa_active: true,
                access_keys_active: vec![
                    (true, Some("2026-10-30T12:00:00+00:00".into())),
                    (false, None)
                ],
                certs_active: vec![false, true],
            }
        );
    }

    #[test]
    fn a_root_row_that_never_signed_in_has_no_last_use() {
        let text = "user,arn,password_last_used,mfa_active\n<root_account>,arn:aws:iam::1:root,no_information,false\n";
        let row = parse_root_row(text.as_bytes()).unwrap();
        assert_eq!(row.password_last_used, None);
        assert!(!row.mfa_active);
        assert_eq!(row.access_keys_active, vec![(false, None), (false, None)]);
    }

    #[test]
    fn broken_reports_say_why() {
        let no_root = "user,arn,password_last_used,mfa_active\nalice,x,N/A,false\n";
        assert_eq!(
            parse_root_row(no_root.as_bytes()),
            Err(ReportError::NoRootRow)
        );
        assert_eq!(
            parse_root_row(b"user,arn\n<root_account>,x\n"),
            Err(ReportError::Column("mfa_active"))
        );
        assert!(matches!(
            parse_root_row(b"user,arn,password_last_used,mfa_active\n\xff\xfe,\x00\n"),
            Err(ReportError::Csv(_)) | Err(ReportError::NoRootRow)
        ));
    }

    #[test]
    fn an_inactive_key_counted_by_the_summary_is_recorded() {
        let row = RootRow {
            access_keys_active: vec![(false, None), (false, None)],
            certs_active: vec![false, false],
            ..RootRow::default()
        };
        let summary = AccountSummary {
            mfa_enabled: true,
            access_keys_present: true,
            signing_certificates_present: false,
        };
        let r = own_account(&summary, &row, true, AccountKind::Standalone);
        assert_eq!(
            r.access_keys,
            vec![AccessKey {
                id: None,
                active: false,
                last_used: None
            }]
        );
        assert_eq!(r.mfa, vec![MfaKind::Virtual]);
        assert_eq!(r.password, Presence::Unknown);
        assert!(r.certificates.is_empty());
        let m = own_account(&summary, &row, false, AccountKind::Management);
        assert_eq!(
            (m.password, m.mfa),
            (Presence::Present, vec![MfaKind::Hardware])
        );
    }
}
