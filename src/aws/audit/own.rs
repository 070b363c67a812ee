//! The caller's own account: `sts:GetCallerIdentity`, `iam:GetAccountSummary`, the credential
//! report (generated when needed, polled a bounded number of times) and
//! `iam:ListVirtualMFADevices` (is root's MFA virtual?).

use super::{sentence, AuditError};
use crate::core::audit::credential_report::{own_account, parse_root_row, AccountSummary};
use crate::core::audit::{AccountKind, RootCredentials};
use aws_config::SdkConfig;
use aws_sdk_iam::types::{AssignmentStatusType, ReportStateType, SummaryKeyType};
use std::time::Duration;

/// `GenerateCredentialReport` is polled this many times, [`POLL_EVERY`] apart, until the report
/// is `COMPLETE`. A report is generated at most every four hours; "If the report is not yet
/// ready, wait a few seconds and try again".
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateCredentialReport.html>
pub const POLLS: u32 = 20;
/// Time between two polls of the credential report.
pub const POLL_EVERY: Duration = Duration::from_millis(500);

/// The caller's account id (`sts:GetCallerIdentity`, which needs no permission).
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>
pub async fn caller_account(sdk: &SdkConfig) -> Result<String, AuditError> {
    let sts = aws_sdk_sts::Client::new(sdk);
    let out = sts.get_caller_identity().send().await.map_err(|e| {
        AuditError::Read(sentence(
            "sts:GetCallerIdentity",
            "the caller's account",
            &e,
        ))
    })?;
    out.account().map(str::to_owned).ok_or_else(|| {
        AuditError::Read(
            "sts:GetCallerIdentity returned no account id; check the credentials.".into(),
        )
    })
}

/// The caller's own account's root credentials, or one sentence saying why they could not be read.
pub async fn read(iam: &aws_sdk_iam::Client, kind: AccountKind) -> Result<RootCredentials, String> {
    let here = "the caller's account";
    let summary = iam
        .get_account_summary()
        .send()
        .await
        .map_err(|e| sentence("iam:GetAccountSummary", here, &e))?;
    let map = summary.summary_map();
    let flag = |k: SummaryKeyType| map.and_then(|m| m.get(&k)).is_some_and(|v| *v > 0);
    let summary = AccountSummary {
        mfa_enabled: flag(SummaryKeyType::AccountMfaEnabled),
        access_keys_present: flag(SummaryKeyType::AccountAccessKeysPresent),
        signing_certificates_present: flag(SummaryKeyType::AccountSigningCertificatesPresent),
    };
    let mut ready = false;
    for _ in 0..POLLS {
        let g = iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| sentence("iam:GenerateCredentialReport", here, &e))?;
        if g.state() == Some(&ReportStateType::Complete) {
            ready = true;
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    if !ready {
        return Err(format!(
            "the credential report of {here} was not ready after {POLLS} polls; run the audit again in a minute."
        ));
    }
    let report = iam
        .get_credential_report()
        .send()
        .await
        .map_err(|e| sentence("iam:GetCredentialReport", here, &e))?;
    let content = report.content().map(|b| b.as_ref()).unwrap_or_default();
    let row = parse_root_row(content).map_err(|e| format!("{e}."))?;
    let virtual_mfa = if summary.mfa_enabled || row.mfa_active {
        root_has_virtual_mfa(iam).await?
    } else {
        false
    };
    Ok(own_account(&summary, &row, virtual_mfa, kind))
}

/// A virtual MFA device assigned to root appears in `ListVirtualMFADevices` with the root user's
/// ARN (`arn:aws:iam::ACCOUNT:root`).
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListVirtualMFADevices.html>
async fn root_has_virtual_mfa(iam: &aws_sdk_iam::Client) -> Result<bool, String> {
    let mut marker = None;
    loop {
        let out = iam
            .list_virtual_mfa_devices()
            .assignment_status(AssignmentStatusType::Assigned)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| sentence("iam:ListVirtualMFADevices", "the caller's account", &e))?;
        if out
            .virtual_mfa_devices()
            .iter()
            .any(|d| d.user().is_some_and(|u| u.arn().ends_with(":root")))
        {
            return Ok(true);
        }
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(false),
        }
    }
}
