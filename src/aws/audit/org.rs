//! The organisation: its management account (`organizations:DescribeOrganization`), its
//! accounts (`organizations:ListAccounts`, paged) and whether centralized root access is enabled
//! (`iam:ListOrganizationsFeatures`).

use super::{sentence, AuditError};
use crate::core::audit::OrgFacts;
use crate::core::sanitize::{clean, MAX_FIELD};
use aws_config::SdkConfig;

/// What the audit needs to know about the organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Org {
    pub management: String,
    pub facts: OrgFacts,
    /// (account id, name) of every account, the management account included.
    pub accounts: Vec<(String, Option<String>)>,
}

/// Reads the organisation.
/// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html>
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html>
pub async fn read(sdk: &SdkConfig, iam: &aws_sdk_iam::Client) -> Result<Org, AuditError> {
    let orgs = aws_sdk_organizations::Client::new(sdk);
    let here = "the organisation";
    let d =
        orgs.describe_organization().send().await.map_err(|e| {
            AuditError::Read(sentence("organizations:DescribeOrganization", here, &e))
        })?;
    let management = d
        .organization()
        .and_then(|o| o.master_account_id())
        .map(str::to_owned)
        .ok_or_else(|| {
            AuditError::Read("organizations:DescribeOrganization named no management account; is the caller in an organisation?".into())
        })?;
    let features = iam
        .list_organizations_features()
        .send()
        .await
        .map_err(|e| AuditError::Read(sentence("iam:ListOrganizationsFeatures", here, &e)))?;
    let names: Vec<&str> = features
        .enabled_features()
        .iter()
        .map(|f| f.as_str())
        .collect();
    let facts = OrgFacts::from_features(&names);
    let mut accounts = Vec::new();
    let mut token = None;
    loop {
        let page = orgs
            .list_accounts()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AuditError::Read(sentence("organizations:ListAccounts", here, &e)))?;
        for a in page.accounts() {
            if let Some(id) = a.id() {
                // Account names are chosen by whoever created the account: cleaned for terminals.
                accounts.push((id.to_owned(), a.name().map(|n| clean(n, MAX_FIELD))));
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(Org {
        management,
        facts,
        accounts,
    })
}
