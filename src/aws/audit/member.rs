//! A member account, read through a root session: `sts:AssumeRoot` with the
//! `IAMAuditRootUserCredentials` task policy, then, with those credentials and no user name,
//! `iam:GetLoginProfile`, `iam:ListAccessKeys`, `iam:ListMFADevices` and
//! `iam:ListSigningCertificates` of the member account's root user.

use super::sentence;
use crate::core::audit::{mfa_kind, AccessKey, Certificate, Presence, RootCredentials};
use aws_config::SdkConfig;
use aws_sdk_iam::types::StatusType;
use aws_sdk_sts::types::PolicyDescriptorType;

/// The task policy that lets a root session read (not change) the root user's credentials.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html>
pub const AUDIT_TASK_POLICY: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";
/// The shortest root session is enough for four reads (AssumeRoot allows 900 s at most).
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html>
pub const SESSION_SECONDS: i32 = 900;

/// The member account's root credentials, or one sentence saying why they could not be read.
pub async fn read(
    sdk: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    account: &str,
) -> Result<RootCredentials, String> {
    let session = sts
        .assume_root()
        .target_principal(account)
        .task_policy_arn(
            PolicyDescriptorType::builder()
                .arn(AUDIT_TASK_POLICY)
                .build(),
        )
        .duration_seconds(SESSION_SECONDS)
        .send()
        .await
        .map_err(|e| sentence("sts:AssumeRoot", account, &e))?;
    let c = session.credentials().ok_or_else(|| {
        format!("sts:AssumeRoot returned no credentials for {account}; try again.")
    })?;
    let creds = aws_sdk_iam::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "AssumeRoot",
    );
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(sdk)
            .credentials_provider(creds)
            .build(),
    );
    // A root user without a password has no login profile: NoSuchEntity.
    // <https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetLoginProfile.html>
    let password = match iam.get_login_profile().send().await {
        Ok(_) => Presence::Present,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Presence::Absent
        }
        Err(e) => return Err(sentence("iam:GetLoginProfile", account, &e)),
    };
    let keys = iam
        .list_access_keys()
        .send()
        .await
        .map_err(|e| sentence("iam:ListAccessKeys", account, &e))?;
    let access_keys = keys
        .access_key_metadata()
        .iter()
        .map(|k| AccessKey {
            id: k.access_key_id().map(str::to_owned),
            active: k.status() == Some(&StatusType::Active),
            last_used: None,
        })
        .collect();
    let mfa = iam
        .list_mfa_devices()
        .send()
        .await
        .map_err(|e| sentence("iam:ListMFADevices", account, &e))?
        .mfa_devices()
        .iter()
        .map(|d| mfa_kind(d.serial_number()))
        .collect();
    let certs = iam
        .list_signing_certificates()
        .send()
        .await
        .map_err(|e| sentence("iam:ListSigningCertificates", account, &e))?;
    let certificates = certs
        .certificates()
        .iter()
        .map(|c| Certificate {
            id: Some(c.certificate_id().to_owned()),
            active: *c.status() == StatusType::Active,
        })
        .collect();
    Ok(RootCredentials {
        password,
        password_last_used: None,
        mfa,
        access_keys,
        certificates,
    })
}
