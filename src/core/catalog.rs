//! The root-only task catalog: data, not code.
//!
//! Each row says which CloudTrail event (source + name), under which condition, performs a task
//! only the root user can do, with the AWS page that says so. `evaluate` walks this table for
//! every record made with root credentials (own or AssumeRoot session). The rows for the tasks
//! an AssumeRoot session can do take their event names from the task policy table
//! (`task_policy.rs`).
//! Source of the task list: <https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-tasks.html>

use crate::core::model::{Severity, Task};
use crate::core::record::{raw_as, Record};
use crate::core::task_policy::{
    self, BUCKET_POLICY_CHANGES, QUEUE_POLICY_CHANGES, ROOT_CERT_DELETE, ROOT_KEY_DELETE,
    ROOT_MFA_REMOVE, ROOT_PASSWORD_CREATE, ROOT_PASSWORD_DELETE,
};
use serde::Deserialize;
use std::borrow::Cow;

/// Tasks that require root user credentials.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-tasks.html>
pub const ROOT_TASKS_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-tasks.html";
/// Console sign-in events (ConsoleLogin, PasswordUpdated, PasswordRecovery*) in CloudTrail.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html>
pub const SIGNIN_EVENTS_DOC: &str = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html";
/// Privileged tasks performed through `sts:AssumeRoot` and the task policies.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html>
pub const PRIVILEGED_TASK_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html";
/// Root user access keys.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_add-key.html>
pub const ROOT_ACCESS_KEY_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_add-key.html";
/// Root user MFA.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-virt-mfa-for-root.html>
pub const ROOT_MFA_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-virt-mfa-for-root.html";
/// X.509 signing certificates: without `UserName` the call acts on the caller's own, and "you can
/// use this operation to manage AWS account root user credentials".
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_UploadSigningCertificate.html>
pub const SIGNING_CERT_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_UploadSigningCertificate.html";
/// MFA delete on S3 buckets can be enabled only by the root user.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html>
pub const MFA_DELETE_DOC: &str =
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html";
/// Billing console events: `SetAccountPreferences` (account name, email, password),
/// `CloseAccount`, `SetIAMAccessPreference` ("only for customers with root access"), and the
/// tax console's invoices.
/// <https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/logging-using-cloudtrail.html>
pub const BILLING_EVENTS_DOC: &str =
    "https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/logging-using-cloudtrail.html";
/// Closing an account from its Account page requires signing in as the root user (a member
/// account can also be closed from the management account with `organizations:CloseAccount`).
/// <https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-closing.html>
pub const CLOSE_ACCOUNT_DOC: &str =
    "https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-closing.html";
/// The root user e-mail address: a standalone or management account changes it signed in as the
/// root user; a member account's is changed from the management (or delegated administrator)
/// account with `StartPrimaryEmailUpdate` and `AcceptPrimaryEmailUpdate`, no root needed.
/// <https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-update-root-user-email.html>
pub const ROOT_EMAIL_DOC: &str =
    "https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-update-root-user-email.html";
/// The account name: "IAM principals must have the `account:PutAccountName` IAM permission".
/// <https://docs.aws.amazon.com/accounts/latest/reference/API_PutAccountName.html>
pub const ACCOUNT_NAME_DOC: &str =
    "https://docs.aws.amazon.com/accounts/latest/reference/API_PutAccountName.html";
/// CloudTrail records every Account Management API call (`account.amazonaws.com`).
/// <https://docs.aws.amazon.com/accounts/latest/reference/monitoring-cloudtrail.html>
pub const ACCOUNT_EVENTS_DOC: &str =
    "https://docs.aws.amazon.com/accounts/latest/reference/monitoring-cloudtrail.html";
/// Root password reset ("Forgot password") flow.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reset-root-password.html>
pub const ROOT_PASSWORD_RESET_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reset-root-password.html";
/// Editing IAM policies (what root does to restore locked-out administrators).
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_manage-edit.html>
pub const EDIT_POLICIES_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_manage-edit.html";

/// When a catalog row applies, beyond source and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// The call acts on the root user's own credentials: `requestParameters.userName` absent,
    /// empty, or the `AWS ROOT USER` placeholder the IAM console records.
    OwnCredentials,
    /// `PutBucketVersioning` whose `VersioningConfiguration` sets `MfaDelete`.
    SetsMfaDelete,
    /// `SetQueueAttributes` that sets (or clears) the queue `Policy`.
    SetsQueuePolicy,
}

/// One row of the catalog.
#[derive(Debug)]
pub struct TaskEntry {
    pub task: Task,
    pub event_source: &'static str,
    pub event_names: &'static [&'static str],
    pub condition: Condition,
    pub severity: Severity,
    /// The event itself can only come from root: the row applies also when the record carries
    /// no `userIdentity.type` (billing console events are documented with a sparse identity) or
    /// is a service event (a password recovery, which no credential makes).
    pub inherent: bool,
    /// What happened, in plain words, completing "Root user ...".
    pub what: &'static str,
    pub doc: &'static str,
}

macro_rules! row {
    ($task:ident, $src:literal, [$($n:literal),+], $($rest:tt)*) => {
        row!(@ $task, $src, &[$($n),+], $($rest)*)
    };
    // Event names from the task policy table: the changes an AssumeRoot task policy permits.
    ($task:ident, $src:literal, granted $names:path, $($rest:tt)*) => {
        row!(@ $task, $src, $names, $($rest)*)
    };
    (@ $task:ident, $src:literal, $names:expr, $cond:ident, $sev:ident, $what:literal, $doc:expr) => {
        row!(@ $task, $src, $names, $cond, $sev, false, $what, $doc)
    };
    (@ $task:ident, $src:literal, $names:expr, $cond:ident, $sev:ident, $inherent:literal, $what:literal, $doc:expr) => {
        TaskEntry {
            task: Task::$task,
            event_source: $src,
            event_names: $names,
            condition: Condition::$cond,
            severity: Severity::$sev,
            inherent: $inherent,
            what: $what,
            doc: $doc,
        }
    };
}

/// Root-only tasks that CloudTrail records.
pub const TASK_CATALOG: &[TaskEntry] = &[
    row!(
        RootPasswordChange,
        "signin.amazonaws.com",
        ["PasswordUpdated"],
        Always,
        High,
        "changed the root password",
        SIGNIN_EVENTS_DOC
    ),
    // Not named on an AWS page; detection vendors document them as the root "Forgot password" flow.
    row!(
        RootPasswordRecovery,
        "signin.amazonaws.com",
        ["PasswordRecoveryRequested"],
        Always,
        High,
        true,
        "requested root password recovery",
        ROOT_PASSWORD_RESET_DOC
    ),
    row!(
        RootPasswordRecovery,
        "signin.amazonaws.com",
        ["PasswordRecoveryCompleted"],
        Always,
        Critical,
        true,
        "completed root password recovery (new password set)",
        ROOT_PASSWORD_RESET_DOC
    ),
    row!(
        RootAccessKey,
        "iam.amazonaws.com",
        ["CreateAccessKey"],
        OwnCredentials,
        Critical,
        "created an access key for the root user",
        ROOT_ACCESS_KEY_DOC
    ),
    row!(
        RootAccessKey,
        "iam.amazonaws.com",
        ["UpdateAccessKey"],
        OwnCredentials,
        High,
        "activated or deactivated a root access key",
        ROOT_ACCESS_KEY_DOC
    ),
    row!(
        RootAccessKey,
        "iam.amazonaws.com",
        granted ROOT_KEY_DELETE,
        OwnCredentials,
        High,
        "deleted a root access key",
        ROOT_ACCESS_KEY_DOC
    ),
    row!(
        RootMfaChange,
        "iam.amazonaws.com",
        granted ROOT_MFA_REMOVE,
        OwnCredentials,
        Critical,
        "removed the root user's MFA device",
        ROOT_MFA_DOC
    ),
    row!(
        RootMfaChange,
        "iam.amazonaws.com",
        ["EnableMFADevice", "ResyncMFADevice"],
        OwnCredentials,
        High,
        "enabled or resynced an MFA device for the root user",
        ROOT_MFA_DOC
    ),
    row!(
        RootSigningCertificate,
        "iam.amazonaws.com",
        ["UploadSigningCertificate", "UpdateSigningCertificate"],
        OwnCredentials,
        High,
        "uploaded or changed a root X.509 signing certificate",
        SIGNING_CERT_DOC
    ),
    row!(
        RootSigningCertificate,
        "iam.amazonaws.com",
        granted ROOT_CERT_DELETE,
        OwnCredentials,
        High,
        "deleted a root X.509 signing certificate",
        SIGNING_CERT_DOC
    ),
    row!(
        RootLoginProfile,
        "iam.amazonaws.com",
        granted ROOT_PASSWORD_CREATE,
        OwnCredentials,
        Critical,
        "created a root password (login profile)",
        PRIVILEGED_TASK_DOC
    ),
    row!(
        RootLoginProfile,
        "iam.amazonaws.com",
        ["UpdateLoginProfile"],
        OwnCredentials,
        High,
        "changed the root password (login profile)",
        PRIVILEGED_TASK_DOC
    ),
    row!(
        RootLoginProfile,
        "iam.amazonaws.com",
        granted ROOT_PASSWORD_DELETE,
        OwnCredentials,
        High,
        "deleted the root password (login profile)",
        PRIVILEGED_TASK_DOC
    ),
    row!(
        AccountSettings,
        "billingconsole.amazonaws.com",
        ["SetAccountPreferences"],
        Always,
        High,
        "changed account settings (root e-mail address, root password or account name)",
        ROOT_EMAIL_DOC
    ),
    row!(
        CloseAccount,
        "billingconsole.amazonaws.com",
        ["CloseAccount"],
        Always,
        Critical,
        true,
        "closed the AWS account",
        CLOSE_ACCOUNT_DOC
    ),
    row!(
        BillingIamAccess,
        "billingconsole.amazonaws.com",
        ["SetIAMAccessPreference"],
        Always,
        High,
        true,
        "changed IAM user access to the Billing console",
        BILLING_EVENTS_DOC
    ),
    // The record does not say whether the invoice was one only root may see (AWS Inc./AISPL).
    row!(
        TaxInvoice,
        "taxconsole.amazonaws.com",
        ["DownloadTaxInvoice", "GetTaxInvoicesMetadata"],
        Always,
        Low,
        "viewed tax invoices",
        BILLING_EVENTS_DOC
    ),
    row!(
        S3MfaDelete,
        "s3.amazonaws.com",
        ["PutBucketVersioning"],
        SetsMfaDelete,
        Critical,
        "changed MFA Delete on an S3 bucket",
        MFA_DELETE_DOC
    ),
    row!(
        S3BucketPolicyUnlock,
        "s3.amazonaws.com",
        granted BUCKET_POLICY_CHANGES,
        Always,
        High,
        "edited or deleted an S3 bucket policy (unlock a bucket whose policy denies everyone)",
        ROOT_TASKS_DOC
    ),
    row!(
        SqsQueuePolicyUnlock,
        "sqs.amazonaws.com",
        granted QUEUE_POLICY_CHANGES,
        SetsQueuePolicy,
        High,
        "replaced an SQS queue policy (unlock a queue that denies everyone)",
        PRIVILEGED_TASK_DOC
    ),
    row!(
        RestoreIamPermissions,
        "iam.amazonaws.com",
        [
            "AttachUserPolicy",
            "AttachGroupPolicy",
            "AttachRolePolicy",
            "PutUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "AddUserToGroup",
            "CreatePolicyVersion",
            "SetDefaultPolicyVersion",
            "DeleteUserPermissionsBoundary",
            "DeleteRolePermissionsBoundary"
        ],
        Always,
        High,
        "edited IAM permissions (restoring access locked out of IAM)",
        EDIT_POLICIES_DOC
    ),
];

/// A root-only task (from AWS's list) that leaves no CloudTrail event to detect, or a task that
/// is no longer root-only.
#[derive(Debug)]
pub struct Unrecorded {
    pub name: &'static str,
    pub why: &'static str,
    pub doc: &'static str,
}

/// Root-only tasks of AWS's current list with no CloudTrail event of their own: no rule can see
/// them. (The other tasks of the list are rows of [`TASK_CATALOG`].)
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-tasks.html>
pub const UNRECORDED_TASKS: &[Unrecorded] = &[
    Unrecorded {
        name: "Register as a seller in the Reserved Instance Marketplace",
        why: "no CloudTrail event is documented for seller registration",
        doc: ROOT_TASKS_DOC,
    },
    Unrecorded {
        name: "Request AWS GovCloud (US) account root user access keys from AWS Support",
        why: "a request to AWS Support; no API call in the account records it",
        doc: ROOT_TASKS_DOC,
    },
    Unrecorded {
        name: "Recover an unmanageable AWS KMS key by contacting AWS Support as the root user",
        why: "done through AWS Support; no API call of the root user records it",
        doc: ROOT_TASKS_DOC,
    },
];

/// Account changes that AWS's list still files under root-only "account settings" but the
/// Account Management API lets IAM principals make (recorded as `account.amazonaws.com` events,
/// not made with root credentials): not root-only tasks.
/// <https://docs.aws.amazon.com/accounts/latest/reference/monitoring-cloudtrail.html>
pub const NOT_ROOT_ONLY: &[Unrecorded] = &[
    Unrecorded {
        name: "Change the account name (`account:PutAccountName`)",
        why: "any IAM principal with `account:PutAccountName` (a member account's also from the management account); a root caller is `root-credential-use`",
        doc: ACCOUNT_NAME_DOC,
    },
    Unrecorded {
        name: "Change a member account's root e-mail address (`account:StartPrimaryEmailUpdate`, `account:AcceptPrimaryEmailUpdate`)",
        why: "made from the management or delegated administrator account; a standalone or management account's root e-mail still needs the root user (`SetAccountPreferences` above)",
        doc: ROOT_EMAIL_DOC,
    },
];

/// The catalog rows that match a record. `root` says the record was made with root
/// credentials (own or AssumeRoot session); without it only `inherent` rows can match, and only
/// on a record without `userIdentity.type` or on a service event (made by no one's credentials).
pub fn matching<'r>(
    record: &'r Record<'_>,
    root: bool,
) -> impl Iterator<Item = &'static TaskEntry> + 'r {
    let source = record.event_source();
    let name = record.event_name();
    let untyped = record.identity_type().is_none() || record.is_service_event();
    TASK_CATALOG.iter().filter(move |e| {
        (root || (e.inherent && untyped))
            && e.event_source == source
            && e.event_names.contains(&name)
            && holds(e.condition, record)
    })
}

fn holds(c: Condition, r: &Record) -> bool {
    match c {
        Condition::Always => true,
        Condition::OwnCredentials => match r.request_param("userName") {
            None => true,
            Some(u) => u.is_empty() || u.eq_ignore_ascii_case("AWS ROOT USER"),
        },
        Condition::SetsMfaDelete => {
            #[derive(Deserialize)]
            struct Req<'a> {
                #[serde(
                    rename = "VersioningConfiguration",
                    default,
                    borrow,
                    deserialize_with = "crate::core::lenient::object"
                )]
                vc: Option<Vc<'a>>,
            }
            #[derive(Deserialize)]
            struct Vc<'a> {
                #[serde(
                    rename = "MfaDelete",
                    default,
                    borrow,
                    deserialize_with = "crate::core::lenient::string"
                )]
                mfa_delete: Option<Cow<'a, str>>,
            }
            raw_as::<Req>(r.request_parameters)
                .and_then(|q| q.vc?.mfa_delete)
                .is_some()
        }
        Condition::SetsQueuePolicy => {
            #[derive(Deserialize)]
            struct Req<'a> {
                #[serde(default, borrow)]
                attributes: Option<&'a serde_json::value::RawValue>,
            }
            raw_as::<Req>(r.request_parameters)
                .and_then(|q| q.attributes)
                .is_some_and(|a| crate::core::record::raw_field(a, "Policy").is_some())
        }
    }
}

/// The catalog as a Markdown table (what `rootwatch catalog` prints and docs/rules.md shows).
pub fn markdown() -> String {
    let mut s = String::from(
        "| task | event source | event names | condition | severity | AssumeRoot task policy | AWS doc |\n|---|---|---|---|---|---|---|\n",
    );
    for e in TASK_CATALOG {
        let cond = match e.condition {
            Condition::Always if e.inherent => "any record (only root can cause it)",
            Condition::Always => "made with root credentials",
            Condition::OwnCredentials => "root, on its own credentials (no `userName`)",
            Condition::SetsMfaDelete => "root, `VersioningConfiguration.MfaDelete` set",
            Condition::SetsQueuePolicy => "root, `attributes.Policy` set",
        };
        let policy = task_policy::owning(e.event_names)
            .map(|p| format!("`{}`", p.name))
            .unwrap_or_default();
        s += &format!(
            "| `{}` | `{}` | {} | {} | {} | {policy} | [link]({}) |\n",
            e.task,
            e.event_source,
            e.event_names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            cond,
            e.severity,
            e.doc
        );
    }
    s += "\nRoot-only tasks that leave no CloudTrail trace (no rule can see them):\n\n";
    for u in UNRECORDED_TASKS {
        s += &format!("- {}: {} ([AWS]({}))\n", u.name, u.why, u.doc);
    }
    s += "\nNo longer root-only (the Account Management API; events in [AWS](";
    s += ACCOUNT_EVENTS_DOC;
    s += ")):\n\n";
    for u in NOT_ROOT_ONLY {
        s += &format!("- {}: {} ([AWS]({}))\n", u.name, u.why, u.doc);
    }
    s += "\nAssumeRoot task policies and the actions each permits (the rows above marked with a task policy take their event names from this table):\n\n";
    s += &task_policy::markdown();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(json: &str) -> Vec<Task> {
        let r = Record::from_json(json).unwrap();
        matching(&r, true).map(|e| e.task).collect()
    }

    macro_rules! yields {
        ($name:ident, $json:expr, [$($t:ident),*]) => {
            #[test]
            fn $name() {
                assert_eq!(tasks($json), vec![$(Task::$t),*], "{}", $json);
            }
        };
    }

    yields!(
        own_key,
        r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","requestParameters":{}}"#,
        [RootAccessKey]
    );
    yields!(
        own_key_null_params,
        r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","requestParameters":null}"#,
        [RootAccessKey]
    );
    yields!(
        key_for_user_not_task,
        r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","requestParameters":{"userName":"bob"}}"#,
        []
    );
    yields!(
        root_mfa_placeholder,
        r#"{"eventSource":"iam.amazonaws.com","eventName":"EnableMFADevice","requestParameters":{"userName":"AWS ROOT USER"}}"#,
        [RootMfaChange]
    );
    yields!(
        mfa_delete,
        r#"{"eventSource":"s3.amazonaws.com","eventName":"PutBucketVersioning","requestParameters":{"VersioningConfiguration":{"Status":"Enabled","MfaDelete":"Enabled"}}}"#,
        [S3MfaDelete]
    );
    yields!(
        versioning_only,
        r#"{"eventSource":"s3.amazonaws.com","eventName":"PutBucketVersioning","requestParameters":{"VersioningConfiguration":{"Status":"Enabled"}}}"#,
        []
    );
    yields!(
        queue_policy,
        r#"{"eventSource":"sqs.amazonaws.com","eventName":"SetQueueAttributes","requestParameters":{"attributes":{"Policy":""}}}"#,
        [SqsQueuePolicyUnlock]
    );
    yields!(
        queue_other_attr,
        r#"{"eventSource":"sqs.amazonaws.com","eventName":"SetQueueAttributes","requestParameters":{"attributes":{"DelaySeconds":"5"}}}"#,
        []
    );
    yields!(
        bucket_policy,
        r#"{"eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy"}"#,
        [S3BucketPolicyUnlock]
    );
    yields!(
        bucket_policy_put,
        r#"{"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","requestParameters":{"bucketName":"b","bucketPolicy":{"Version":"2012-10-17","Statement":[]}}}"#,
        [S3BucketPolicyUnlock]
    );
    yields!(
        bucket_policy_read,
        r#"{"eventSource":"s3.amazonaws.com","eventName":"GetBucketPolicy"}"#,
        []
    );
    yields!(
        wrong_source,
        r#"{"eventSource":"ec2.amazonaws.com","eventName":"DeleteBucketPolicy"}"#,
        []
    );
    yields!(
        params_not_object,
        r#"{"eventSource":"s3.amazonaws.com","eventName":"PutBucketVersioning","requestParameters":"x"}"#,
        []
    );

    #[test]
    fn catalog_covers_every_task() {
        for t in Task::ALL {
            assert!(
                TASK_CATALOG.iter().any(|e| e.task == *t),
                "{t} has no catalog row"
            );
        }
    }

    #[test]
    fn inherent_rows_match_untyped_records_only() {
        let untyped = Record::from_json(r#"{"userIdentity":{"accountId":"1"},"eventSource":"billingconsole.amazonaws.com","eventName":"SetIAMAccessPreference"}"#).unwrap();
        assert_eq!(matching(&untyped, false).count(), 1);
        let user = Record::from_json(r#"{"userIdentity":{"type":"IAMUser"},"eventSource":"billingconsole.amazonaws.com","eventName":"SetIAMAccessPreference"}"#).unwrap();
        assert_eq!(matching(&user, false).count(), 0);
        let plain = Record::from_json(r#"{"userIdentity":{"accountId":"1"},"eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy"}"#).unwrap();
        assert_eq!(matching(&plain, false).count(), 0);
    }

    /// The rows for what an AssumeRoot session can change are the task policy table's groups:
    /// each group is the event list of exactly one row, and no other row names one of its events.
    #[test]
    fn assume_root_rows_come_from_the_task_policy_table() {
        for p in task_policy::TASK_POLICIES {
            for group in p.changes {
                let rows: Vec<_> = TASK_CATALOG
                    .iter()
                    .filter(|e| e.event_source == p.event_source && e.event_names == *group)
                    .collect();
                assert_eq!(rows.len(), 1, "{} {group:?}: {rows:?}", p.name);
                assert_eq!(
                    task_policy::owning(rows[0].event_names).unwrap().name,
                    p.name
                );
            }
        }
        for e in TASK_CATALOG {
            let granted = task_policy::TASK_POLICIES.iter().any(|p| {
                e.event_names
                    .iter()
                    .any(|n| p.permits_change(e.event_source, n))
            });
            assert_eq!(
                granted,
                task_policy::owning(e.event_names).is_some(),
                "{e:?} mixes events of a task policy with others"
            );
        }
    }

    #[test]
    fn unrecorded_and_not_root_only_lists_are_current() {
        let names: Vec<&str> = UNRECORDED_TASKS.iter().map(|u| u.name).collect();
        assert!(!names.iter().any(|n| n.contains("Sign up for AWS GovCloud")));
        assert!(names
            .iter()
            .any(|n| n.contains("GovCloud (US) account root user access keys")));
        for u in UNRECORDED_TASKS.iter().chain(NOT_ROOT_ONLY) {
            assert!(u.doc.starts_with("https://docs.aws.amazon.com/"), "{u:?}");
        }
        // The account name is an Account Management API call now, not a root-only task.
        assert!(!TASK_CATALOG
            .iter()
            .any(|e| e.event_names.contains(&"PutAccountName")));
        assert!(NOT_ROOT_ONLY
            .iter()
            .any(|u| u.name.contains("PutAccountName")));
    }

    #[test]
    fn catalog_rows_are_well_formed() {
        for e in TASK_CATALOG {
            assert!(e.event_source.ends_with(".amazonaws.com"), "{e:?}");
            assert!(e.doc.starts_with("https://docs.aws.amazon.com/"), "{e:?}");
            assert!(!e.event_names.is_empty());
        }
    }
}
