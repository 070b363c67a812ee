//! The AssumeRoot task policies: which actions each of AWS's five `root-task` managed policies
//! permits. One table (data); the root-only task catalog takes the event names of its rows for
//! privileged tasks from here (`catalog.rs`), so the two cannot drift apart.
//!
//! Each policy denies every action but the ones it lists (a `Deny` with `NotAction`), and those
//! only on the root user (resource `arn:aws:iam::*:root`) or for a root caller.

use crate::core::record::Record;

/// `sts:AssumeRoot` takes one of these policies as `TaskPolicyArn` to scope the session.
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html>
pub const ASSUME_ROOT_API_DOC: &str =
    "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html";
/// The task policies and the actions they permit (one section per policy).
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/security-iam-awsmanpol.html>
pub const TASK_POLICIES_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/security-iam-awsmanpol.html";
/// The ARN prefix of the task policies: `arn:aws:iam::aws:policy/root-task/<name>`.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html>
pub const TASK_POLICY_ARN_PREFIX: &str = "arn:aws:iam::aws:policy/root-task/";

/// One AWS-managed task policy of `sts:AssumeRoot`.
#[derive(Debug)]
pub struct TaskPolicy {
    /// The policy name, the last part of its ARN.
    pub name: &'static str,
    /// The service prefix of every action it permits (`iam`, `s3`, `sqs`).
    pub service: &'static str,
    /// The CloudTrail event source of those actions.
    pub event_source: &'static str,
    /// The changes it permits, grouped as the catalog's rows use them (each group is the event
    /// list of one catalog row). Action name = CloudTrail event name for all of them.
    pub changes: &'static [&'static [&'static str]],
    /// The reads it permits (IAM action names, without the service prefix).
    pub reads: &'static [&'static str],
    pub doc: &'static str,
}

/// `IAMCreateRootUserPassword`: create a root password (login profile).
pub const ROOT_PASSWORD_CREATE: &[&str] = &["CreateLoginProfile"];
/// `IAMDeleteRootUserCredentials`, access keys.
pub const ROOT_KEY_DELETE: &[&str] = &["DeleteAccessKey"];
/// `IAMDeleteRootUserCredentials`, X.509 signing certificates.
pub const ROOT_CERT_DELETE: &[&str] = &["DeleteSigningCertificate"];
/// `IAMDeleteRootUserCredentials`, the password (login profile).
pub const ROOT_PASSWORD_DELETE: &[&str] = &["DeleteLoginProfile"];
/// `IAMDeleteRootUserCredentials`, MFA.
pub const ROOT_MFA_REMOVE: &[&str] = &["DeactivateMFADevice", "DeleteVirtualMFADevice"];
/// `S3UnlockBucketPolicy`: edit or delete the bucket policy (a policy that denies everyone).
pub const BUCKET_POLICY_CHANGES: &[&str] = &["DeleteBucketPolicy", "PutBucketPolicy"];
/// `SQSUnlockQueuePolicy`: the queue policy is an attribute (`SetQueueAttributes` with `Policy`).
pub const QUEUE_POLICY_CHANGES: &[&str] = &["SetQueueAttributes"];

/// What the root user's credentials are read with (the audit policy; the others include it).
const ROOT_CREDENTIAL_READS: &[&str] = &[
    "ListAccessKeys",
    "ListSigningCertificates",
    "GetLoginProfile",
    "ListMFADevices",
    "GetUser",
    "GetAccessKeyLastUsed",
];

/// The five task policies `sts:AssumeRoot` accepts, with the actions each permits (policy
/// version v1 of 2024-11-06, the default version).
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/security-iam-awsmanpol.html#security-iam-awsmanpol-IAMAuditRootUserCredentials>
pub const TASK_POLICIES: &[TaskPolicy] = &[
    TaskPolicy {
        name: "IAMAuditRootUserCredentials",
        service: "iam",
        event_source: "iam.amazonaws.com",
        changes: &[],
        reads: &[
            "ListAccessKeys",
            "ListSigningCertificates",
            "GetLoginProfile",
            "ListMFADevices",
            "GetAccountSummary",
            "GetUser",
            "GetAccessKeyLastUsed",
        ],
        doc: TASK_POLICIES_DOC,
    },
    TaskPolicy {
        name: "IAMCreateRootUserPassword",
        service: "iam",
        event_source: "iam.amazonaws.com",
        changes: &[ROOT_PASSWORD_CREATE],
        reads: &["GetLoginProfile"],
        doc: TASK_POLICIES_DOC,
    },
    TaskPolicy {
        name: "IAMDeleteRootUserCredentials",
        service: "iam",
        event_source: "iam.amazonaws.com",
        changes: &[
            ROOT_KEY_DELETE,
            ROOT_CERT_DELETE,
            ROOT_PASSWORD_DELETE,
            ROOT_MFA_REMOVE,
        ],
        reads: ROOT_CREDENTIAL_READS,
        doc: TASK_POLICIES_DOC,
    },
    TaskPolicy {
        name: "S3UnlockBucketPolicy",
        service: "s3",
        event_source: "s3.amazonaws.com",
        changes: &[BUCKET_POLICY_CHANGES],
        reads: &["GetBucketPolicy", "ListAllMyBuckets"],
        doc: TASK_POLICIES_DOC,
    },
    TaskPolicy {
        name: "SQSUnlockQueuePolicy",
        service: "sqs",
        event_source: "sqs.amazonaws.com",
        changes: &[QUEUE_POLICY_CHANGES],
        reads: &["GetQueueAttributes", "ListQueues", "GetQueueUrl"],
        doc: TASK_POLICIES_DOC,
    },
];

impl TaskPolicy {
    /// Every action the policy permits, as IAM writes them (`s3:PutBucketPolicy`).
    pub fn actions(&self) -> impl Iterator<Item = String> + '_ {
        self.changes
            .iter()
            .flat_map(|g| g.iter())
            .chain(self.reads)
            .map(move |a| format!("{}:{a}", self.service))
    }

    /// Whether the policy permits the change a record makes (source and event name).
    pub fn permits_change(&self, event_source: &str, event_name: &str) -> bool {
        self.event_source == event_source && self.changes.iter().any(|g| g.contains(&event_name))
    }

    /// Whether the policy permits the request at all, change or read. The one read whose
    /// CloudTrail event is not named after its action: `ListBuckets` needs `s3:ListAllMyBuckets`.
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html>
    pub fn permits(&self, record: &Record) -> bool {
        let (source, name) = (record.event_source(), record.event_name());
        let action = if source == "s3.amazonaws.com" && name == "ListBuckets" {
            "ListAllMyBuckets"
        } else {
            name
        };
        self.permits_change(source, name)
            || (self.event_source == source && self.reads.contains(&action))
    }
}

/// The task policy an `AssumeRoot` call named (`taskPolicyArn.arn`), if it is one of the five.
pub fn by_arn(arn: &str) -> Option<&'static TaskPolicy> {
    let name = arn.strip_prefix(TASK_POLICY_ARN_PREFIX)?;
    TASK_POLICIES.iter().find(|p| p.name == name)
}

/// The task policy one of whose change groups is this list of event names (the catalog's rows
/// for AssumeRoot tasks are these groups).
pub fn owning(events: &[&str]) -> Option<&'static TaskPolicy> {
    TASK_POLICIES.iter().find(|p| p.changes.contains(&events))
}

/// The policies as a Markdown table (`rootwatch catalog`, docs/rules.md).
pub fn markdown() -> String {
    let mut s = String::from(
        "| task policy (`arn:aws:iam::aws:policy/root-task/…`) | changes it permits | reads it permits |\n|---|---|---|\n",
    );
    let list = |items: &mut dyn Iterator<Item = &&str>, service: &str| {
        let v: Vec<String> = items.map(|a| format!("`{service}:{a}`")).collect();
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    for p in TASK_POLICIES {
        s += &format!(
            "| `{}` | {} | {} |\n",
            p.name,
            list(&mut p.changes.iter().flat_map(|g| g.iter()), p.service),
            list(&mut p.reads.iter(), p.service)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each policy's actions as its policy document lists them (the `NotAction` of its
    /// `DenyAllOtherActionsOnAnyResource` statement), written out from the AWS page.
    #[test]
    fn each_policy_permits_what_its_document_lists() {
        let want: &[(&str, &[&str])] = &[
            (
                "IAMAuditRootUserCredentials",
                &[
                    "iam:ListAccessKeys",
                    "iam:ListSigningCertificates",
                    "iam:GetLoginProfile",
                    "iam:ListMFADevices",
                    "iam:GetAccountSummary",
                    "iam:GetUser",
                    "iam:GetAccessKeyLastUsed",
                ],
            ),
            (
                "IAMCreateRootUserPassword",
                &["iam:CreateLoginProfile", "iam:GetLoginProfile"],
            ),
            (
                "IAMDeleteRootUserCredentials",
                &[
                    "iam:DeleteAccessKey",
                    "iam:DeleteSigningCertificate",
                    "iam:DeleteLoginProfile",
                    "iam:DeactivateMFADevice",
                    "iam:DeleteVirtualMFADevice",
                    "iam:ListAccessKeys",
                    "iam:ListSigningCertificates",
                    "iam:GetLoginProfile",
                    "iam:ListMFADevices",
                    "iam:GetUser",
                    "iam:GetAccessKeyLastUsed",
                ],
            ),
            (
                "S3UnlockBucketPolicy",
                &[
                    "s3:DeleteBucketPolicy",
                    "s3:PutBucketPolicy",
                    "s3:GetBucketPolicy",
                    "s3:ListAllMyBuckets",
                ],
            ),
            (
                "SQSUnlockQueuePolicy",
                &[
                    "sqs:SetQueueAttributes",
                    "sqs:GetQueueAttributes",
                    "sqs:ListQueues",
                    "sqs:GetQueueUrl",
                ],
            ),
        ];
        assert_eq!(TASK_POLICIES.len(), want.len());
        for (name, actions) in want {
            let p = by_arn(&format!("{TASK_POLICY_ARN_PREFIX}{name}")).expect(name);
            let mut got: Vec<String> = p.actions().collect();
            let mut want: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{name}");
            for a in &got {
                assert!(a.starts_with(&format!("{}:", p.service)), "{a}");
            }
            assert_eq!(
                p.event_source,
                format!("{}.amazonaws.com", p.service),
                "{name}"
            );
        }
    }

    #[test]
    fn unknown_arns_are_no_task_policy() {
        assert!(by_arn("arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy").is_some());
        assert!(by_arn("arn:aws:iam::aws:policy/AdministratorAccess").is_none());
        assert!(by_arn("arn:aws:iam::aws:policy/root-task/").is_none());
        assert!(by_arn("S3UnlockBucketPolicy").is_none());
    }

    #[test]
    fn permits_maps_list_buckets_to_its_action() {
        let s3 = by_arn("arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy").unwrap();
        let rec = |src: &str, name: &str| {
            format!(r#"{{"eventSource":"{src}.amazonaws.com","eventName":"{name}"}}"#)
        };
        for (src, name, want) in [
            ("s3", "ListBuckets", true),
            ("s3", "PutBucketPolicy", true),
            ("s3", "GetBucketPolicy", true),
            ("s3", "PutBucketAcl", false),
            ("sqs", "SetQueueAttributes", false),
        ] {
            let json = rec(src, name);
            let r = Record::from_json(&json).unwrap();
            assert_eq!(s3.permits(&r), want, "{json}");
        }
        assert!(s3.permits_change("s3.amazonaws.com", "PutBucketPolicy"));
        assert!(!s3.permits_change("s3.amazonaws.com", "GetBucketPolicy"));
    }
}
