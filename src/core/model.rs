//! The output vocabulary: principal classes, rule ids, task ids, severities and the per-record
//! report whose JSON form is the `--format jsonl` contract of `shared/design.md`.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

macro_rules! named_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name { $($(#[$vm])* $variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.pad(self.as_str()) }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
                    let names: Vec<_> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown {} {s:?}; expected one of: {}", stringify!($name), names.join(", "))
                })
            }
        }
    };
}

named_enum! {
    /// How bad a finding is, in increasing order.
    pub enum Severity {
        Info => "info",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

named_enum! {
    /// Our class of the principal behind a record (finer than `userIdentity.type`).
    pub enum PrincipalClass {
        Root => "root",
        /// A request in an `sts:AssumeRoot` privileged session.
        RootSession => "root_session",
        IamUser => "iam_user",
        /// A role session of an IAM Identity Center permission set (`AWSReservedSSO_*` role).
        SsoSession => "sso_session",
        ServiceLinkedRole => "service_linked_role",
        /// An EC2 instance-profile role session.
        Ec2Instance => "ec2_instance",
        RoleSession => "role_session",
        FederatedUser => "federated_user",
        SamlUser => "saml_user",
        WebIdentityUser => "web_identity_user",
        IdentityCenterUser => "identity_center_user",
        AwsService => "aws_service",
        AwsAccount => "aws_account",
        /// An unauthenticated request.
        Anonymous => "anonymous",
        Directory => "directory",
        Unknown => "unknown",
        /// A `userIdentity.type` we do not know.
        Other => "other",
    }
}

named_enum! {
    /// Rule ids of `design.md`.
    pub enum Rule {
        RootConsoleLogin => "root-console-login",
        RootConsoleLoginFailure => "root-console-login-failure",
        RootCredentialUse => "root-credential-use",
        RootOnlyTask => "root-only-task",
        RootSession => "root-session",
        /// An assumption of a role matching a configured pattern (break-glass roles).
        WatchedRoleAssumed => "watched-role-assumed",
        /// A role assumed from an account outside the configured trusted list.
        UntrustedAccountAssumption => "untrusted-account-assumption",
        /// A request that stops, deletes, narrows or changes the trail or the detector itself.
        DetectorTamper => "detector-tamper",
        /// Many failed root console sign-ins on one account in a short window.
        RootLoginBruteForce => "root-login-brute-force",
        /// One address failing root console sign-in on several accounts.
        RootLoginSpray => "root-login-spray",
        /// The first AssumeRoot by a principal on a member account.
        AssumeRootNewCaller => "assume-root-new-caller",
        /// Audit: the root user has an access key (active: critical; inactive: high).
        RootAccessKeyPresent => "root-access-key-present",
        /// Audit: the root user can sign in or call the API and has no MFA device.
        RootMfaMissing => "root-mfa-missing",
        /// Audit: the root user's MFA is virtual only (no hardware or FIDO device).
        RootHardwareMfaMissing => "root-hardware-mfa-missing",
        /// Audit: the root user has an X.509 signing certificate.
        RootSigningCertificatePresent => "root-signing-certificate-present",
        /// Audit: the root user has a password (medium in a member account under centralized root access).
        RootPasswordPresent => "root-password-present",
        /// Audit: the organisation has not enabled centralized root credentials management.
        RootCredentialsManagementDisabled => "root-credentials-management-disabled",
    }
}

named_enum! {
    /// Tasks only the root user can perform (`task` of a `root-only-task` finding).
    pub enum Task {
        RootPasswordChange => "root-password-change",
        RootPasswordRecovery => "root-password-recovery",
        RootAccessKey => "root-access-key",
        RootMfaChange => "root-mfa-change",
        RootSigningCertificate => "root-signing-certificate",
        RootLoginProfile => "root-login-profile",
        AccountSettings => "account-settings",
        CloseAccount => "close-account",
        BillingIamAccess => "billing-iam-access",
        TaxInvoice => "tax-invoice",
        S3MfaDelete => "s3-mfa-delete",
        S3BucketPolicyUnlock => "s3-bucket-policy-unlock",
        SqsQueuePolicyUnlock => "sqs-queue-policy-unlock",
        RestoreIamPermissions => "restore-iam-permissions",
    }
}

/// A short string stored inline (up to 24 bytes) without a heap allocation: most report fields
/// (account ids, regions, event names, keys, times) fit, which saves an allocation per field on
/// every record.
pub type Str = compact_str::CompactString;

/// Who made the request.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Principal {
    /// `userIdentity.type` as recorded (control characters escaped), `null` when absent.
    #[serde(rename = "type")]
    pub kind: Option<Str>,
    pub class: PrincipalClass,
    pub arn: Option<Str>,
    pub account_id: Option<Str>,
    pub access_key_id: Option<Str>,
    pub principal_id: Option<Str>,
    pub user_name: Option<Str>,
    /// `sessionContext.attributes.mfaAuthenticated`.
    pub mfa_authenticated: Option<bool>,
    pub invoked_by: Option<Str>,
    /// ARN of `sessionContext.sessionIssuer` (the role, or the user of a federation token).
    pub session_issuer: Option<Str>,
    pub session_name: Option<Str>,
    pub source_identity: Option<Str>,
}

/// One rule that fired on a record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// One line in plain words, safe to print.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// The AWS documentation page behind the rule or task.
    pub doc: &'static str,
    /// The suppression that covers this finding (`core::suppress`): it stays in `jsonl`/`json`,
    /// leaves the table and is not published. Serialised only when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
}

impl Finding {
    /// Whether a suppression covers this finding: then it is not shown in the table nor
    /// published (SNS, and any other alert sink).
    pub fn is_suppressed(&self) -> bool {
        self.suppressed.is_some()
    }
}

/// Why a finding is suppressed: the entry's reason and its last day (`YYYY-MM-DD`, UTC).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Suppressed {
    pub reason: String,
    pub expires: String,
}

/// A session-issuing STS call (AssumeRole*, AssumeRoot, GetFederationToken, GetSessionToken).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Assumption {
    pub api: String,
    pub succeeded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_account: Option<String>,
    /// `taskPolicyArn.arn` of an AssumeRoot call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_policy: Option<String>,
    /// `requestParameters.durationSeconds`, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
}

/// The principal that started the session a record's credentials belong to (session tracking):
/// the first principal of a role chain, not the last.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Origin {
    pub arn: Option<String>,
    /// The service, user name or principal id when there is no ARN (services, SAML and
    /// web-identity callers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub class: PrincipalClass,
    pub account_id: Option<String>,
    /// Each call that issued credentials, from the origin's own call to the one whose key this
    /// record uses.
    pub chain: Vec<Hop>,
}

impl Principal {
    /// Who made the request, for sentences: the ARN, else the service that acted
    /// (`invokedBy`), else the principal id, else the user name.
    pub fn who(&self) -> &str {
        self.arn
            .as_deref()
            .or(self.invoked_by.as_deref())
            .or(self.principal_id.as_deref())
            .or(self.user_name.as_deref())
            .unwrap_or("an unknown principal")
    }
}

impl Origin {
    /// The call that issued the credentials the record uses.
    pub fn last(&self) -> Option<&Hop> {
        self.chain.last()
    }

    /// `arn`, else `name`, else the class: for sentences.
    pub fn who(&self) -> &str {
        self.arn
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or(self.class.as_str())
    }

    /// The chain in one line: `ARN (class) → AssumeRole Admin@444455556666 "alice" → …`.
    pub fn describe(&self) -> String {
        let mut out = format!("{} ({})", self.who(), self.class);
        for h in &self.chain {
            out.push_str(" → ");
            out.push_str(&h.describe());
        }
        out
    }
}

impl Hop {
    /// `AssumeRole Admin@444455556666 "alice"`, `AssumeRoot 444455556666 (task S3UnlockBucketPolicy)`.
    pub fn describe(&self) -> String {
        let mut out = self.api.clone();
        let role = self
            .role_arn
            .as_deref()
            .map(|r| r.rsplit('/').next().unwrap_or(r));
        match (role, self.account.as_deref()) {
            (Some(r), Some(a)) => out.push_str(&format!(" {r}@{a}")),
            (Some(r), None) => out.push_str(&format!(" {r}")),
            (None, Some(a)) => out.push_str(&format!(" {a}")),
            (None, None) => {}
        }
        if let Some(n) = &self.session_name {
            out.push_str(&format!(" \"{n}\""));
        }
        if let Some(t) = &self.task_policy {
            out.push_str(&format!(" (task {})", t.rsplit('/').next().unwrap_or(t)));
        }
        out
    }
}

/// One link of a session chain: a call that issued temporary credentials.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hop {
    pub api: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// The account the credentials act in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_policy: Option<String>,
    /// The access key the call issued.
    pub access_key_id: String,
    /// eventTime of the issuing call and expiry of its credentials (RFC 3339, UTC).
    pub issued: String,
    pub expires: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// Where a record came from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputRef {
    pub file: String,
    /// 0-based index of the record in its file, counting every record shape.
    pub index: u64,
}

/// Everything rootwatch says about one record: one line of `--format jsonl`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordReport {
    pub event_id: Option<Str>,
    pub event_name: Option<Str>,
    pub event_source: Option<Str>,
    pub event_time: Option<Str>,
    pub aws_region: Option<Str>,
    pub source_ip: Option<Str>,
    pub user_agent: Option<Str>,
    pub error_code: Option<Str>,
    pub read_only: bool,
    pub principal: Principal,
    pub findings: Vec<Finding>,
    pub assumption: Option<Assumption>,
    pub origin: Option<Origin>,
    pub input: InputRef,
}

/// The lowest severity: every finding is kept.
impl Default for Severity {
    fn default() -> Self {
        Severity::Info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_and_parse() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe"
            .parse::<Severity>()
            .unwrap_err()
            .contains("critical"));
    }

    #[test]
    fn names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in PrincipalClass::ALL {
            assert!(seen.insert(c.as_str()));
        }
        for t in Task::ALL {
            assert!(seen.insert(t.as_str()));
        }
    }
}
