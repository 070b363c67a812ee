//! `rootwatch audit`, the pure part: plain typed facts about one account's root credentials in,
//! findings out. The facts come from the caller's own account (`iam:GetAccountSummary` and the
//! credential report's `<root_account>` row, [`credential_report`]) or from a member account read
//! through an `sts:AssumeRoot` session (its login profile, access keys, MFA devices and signing
//! certificates). [`rules`] is the table of the six audit rules and the function that applies
//! it, [`changes`] compares two runs (what the scheduled audit alerts on), [`report`] turns an
//! account's findings into the per-record report every sink already takes.

pub mod changes;
pub mod credential_report;
pub mod report;
pub mod rules;

use serde::{Deserialize, Serialize};

/// Where an account sits in its organisation: it decides what its root password means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// Not audited as part of an organisation (no `--organization`).
    Standalone,
    /// The organisation's management account.
    Management,
    /// A member account of the organisation.
    Member,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Standalone => "standalone",
            AccountKind::Management => "management",
            AccountKind::Member => "member",
        }
    }
}

/// Whether a credential exists, as far as the reads could tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Present,
    Absent,
    /// The source does not say (the credential report shows `not_supported` for root's password).
    Unknown,
}

/// What kind of MFA device protects root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MfaKind {
    /// An authenticator app: its serial number is an ARN with `:mfa/`.
    Virtual,
    /// A hardware TOTP token (a plain serial number) or a FIDO security key (an ARN with `:u2f/`).
    Hardware,
}

/// One root access key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    /// The key id when the source gives it (member accounts); the credential report does not.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    pub active: bool,
    /// RFC 3339 time of its last use, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_used: Option<String>,
}

/// One root X.509 signing certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    pub active: bool,
}

/// The state of one account's root credentials: the facts the rules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCredentials {
    pub password: Presence,
    /// RFC 3339 time of the last root console sign-in, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub password_last_used: Option<String>,
    /// The MFA devices assigned to root, by kind.
    pub mfa: Vec<MfaKind>,
    pub access_keys: Vec<AccessKey>,
    pub certificates: Vec<Certificate>,
}

impl RootCredentials {
    /// Root can sign in or call the API: a password (or an unknown one) or an access key.
    pub fn usable(&self) -> bool {
        self.password != Presence::Absent || !self.access_keys.is_empty()
    }
}

/// What is known about the organisation (with `--organization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgFacts {
    /// `RootCredentialsManagement` is among `iam:ListOrganizationsFeatures`'s enabled features.
    pub root_credentials_management: bool,
    /// `RootSessions` is enabled (member accounts can be read with `sts:AssumeRoot`).
    pub root_sessions: bool,
}

/// `RootCredentialsManagement` and `RootSessions`, the two features of centralized root access.
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html>
pub const FEATURE_ROOT_CREDENTIALS_MANAGEMENT: &str = "RootCredentialsManagement";
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html>
pub const FEATURE_ROOT_SESSIONS: &str = "RootSessions";

impl OrgFacts {
    /// From the `EnabledFeatures` list of `ListOrganizationsFeatures`.
    pub fn from_features<S: AsRef<str>>(features: &[S]) -> OrgFacts {
        let has = |f: &str| features.iter().any(|x| x.as_ref() == f);
        OrgFacts {
            root_credentials_management: has(FEATURE_ROOT_CREDENTIALS_MANAGEMENT),
            root_sessions: has(FEATURE_ROOT_SESSIONS),
        }
    }
}

/// An MFA device's kind from its serial number: virtual devices have an ARN serial with
/// `:mfa/`; FIDO keys have one with `:u2f/`; hardware TOTP tokens have a plain serial number.
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_MFADevice.html>
pub fn mfa_kind(serial: &str) -> MfaKind {
    if serial.starts_with("arn:") && serial.contains(":mfa/") {
        MfaKind::Virtual
    } else {
        MfaKind::Hardware
    }
}

/// One audited account: its facts and findings, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountAudit {
    pub account_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    pub kind: AccountKind,
    /// `None` when the account could not be read (`error` says why).
    pub root: Option<RootCredentials>,
    pub findings: Vec<crate::core::model::Finding>,
    /// One sentence: why the account could not be read and what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
