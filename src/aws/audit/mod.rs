//! `rootwatch audit`, the AWS side: reads each account's root credentials and hands the facts to
//! the pure core (`core::audit`). The caller's own account is read with IAM
//! ([`own`]), the organisation with Organizations and IAM ([`org`]), member accounts through
//! an `sts:AssumeRoot` session with the `IAMAuditRootUserCredentials` task policy ([`member`]).
//! Accounts are read [`CONCURRENCY`] at a time; an account that cannot be read becomes a row
//! that says why, and the others go on.

pub mod member;
pub mod org;
pub mod own;

use crate::core::audit::rules::{evaluate, org_finding};
use crate::core::audit::{AccountAudit, AccountKind, OrgFacts, RootCredentials};
use aws_config::SdkConfig;
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use futures_util::stream::{self, StreamExt};

/// Member accounts read at once: each read is an AssumeRoot call and four IAM calls.
pub const CONCURRENCY: usize = 8;

/// What to audit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditOptions {
    /// Read the organisation's accounts (from the management account or the delegated
    /// administrator for IAM).
    pub organization: bool,
    /// Only these accounts (12-digit ids); empty: the caller's account, or every account of the
    /// organisation.
    pub accounts: Vec<String>,
    /// Member accounts read at once (at least 1).
    pub concurrency: usize,
}

/// Why the audit as a whole could not run (one account that cannot be read is a row instead).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0}")]
    Read(String),
}

/// The result of one audit run.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRun {
    /// The organisation's features, with `--organization`.
    pub org: Option<OrgFacts>,
    /// The management account, with `--organization`.
    pub management: Option<String>,
    /// One row per account, in account-id order.
    pub accounts: Vec<AccountAudit>,
}

impl AuditRun {
    /// Accounts that could not be read.
    pub fn unreadable(&self) -> usize {
        self.accounts.iter().filter(|a| a.error.is_some()).count()
    }
}

/// One sentence for an SDK error (`aws::errors::explain`: what failed and what to do, with
/// AWS's code and message), naming the API and the account; access denied points at the list of
/// permissions.
pub fn sentence<
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
>(
    api: &str,
    account: &str,
    err: &SdkError<E, R>,
) -> String {
    use crate::aws::errors::{cause, explain, Cause};
    let mut s = explain(err, &format!("{api} in {account}"));
    if cause(err) == Cause::AccessDenied {
        s.push_str("; docs/audit.md lists the audit's permissions");
    }
    s
}

/// A row: the account's findings, or why it could not be read.
pub fn row(
    account: &str,
    name: Option<String>,
    kind: AccountKind,
    read: Result<RootCredentials, String>,
    org: Option<&OrgFacts>,
) -> AccountAudit {
    match read {
        Ok(root) => AccountAudit {
            account_id: account.to_owned(),
            account_name: name,
            kind,
            findings: evaluate(account, kind, &root, org),
            root: Some(root),
            error: None,
        },
        Err(why) => {
            // The organisation-level finding does not depend on the management account's own
            // credentials: it is kept when its row cannot be read.
            let findings = match org {
                Some(o) if kind == AccountKind::Management && !o.root_credentials_management => {
                    vec![org_finding(account)]
                }
                _ => vec![],
            };
            AccountAudit {
                account_id: account.to_owned(),
                account_name: name,
                kind,
                root: None,
                findings,
                error: Some(why),
            }
        }
    }
}

/// Runs the audit. `done` is called after each account (the command line's progress bar).
pub async fn run(
    sdk: &SdkConfig,
    opts: &AuditOptions,
    done: &(dyn Fn(&AccountAudit) + Sync),
) -> Result<AuditRun, AuditError> {
    let iam = aws_sdk_iam::Client::new(sdk);
    let caller = own::caller_account(sdk).await?;
    let (org, management, targets) = if opts.organization {
        let o = org::read(sdk, &iam).await?;
        let mut targets = o.accounts;
        if !opts.accounts.is_empty() {
            for a in &opts.accounts {
                if !targets.iter().any(|(id, _)| id == a) {
                    return Err(AuditError::Read(format!(
                        "account {a} is not in the organisation of management account {}; check --accounts",
                        o.management
                    )));
                }
            }
            targets.retain(|(id, _)| opts.accounts.contains(id));
        }
        (Some(o.facts), Some(o.management), targets)
    } else if opts.accounts.is_empty() {
        (None, None, vec![(caller.clone(), None)])
    } else {
        (
            None,
            None,
            opts.accounts.iter().map(|a| (a.clone(), None)).collect(),
        )
    };
    let kind_of = |id: &str| match &management {
        Some(m) if m == id => AccountKind::Management,
        Some(_) => AccountKind::Member,
        None if id == caller => AccountKind::Standalone,
        None => AccountKind::Member,
    };
    let sts = aws_sdk_sts::Client::new(sdk);
    let org_ref = org.as_ref();
    let mut accounts: Vec<AccountAudit> = stream::iter(targets)
        .map(|(id, name)| {
            let kind = kind_of(&id);
            let (iam, sts, caller) = (&iam, &sts, &caller);
            async move {
                let read = if &id == caller {
                    own::read(iam, kind).await
                } else if kind == AccountKind::Management {
                    Err(format!(
                        "sts:AssumeRoot cannot open a session in the management account {id}; run the audit in the management account to read its root user."
                    ))
                } else {
                    member::read(sdk, sts, &id).await
                };
                let r = row(&id, name, kind, read, org_ref);
                done(&r);
                r
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    Ok(AuditRun {
        org,
        management,
        accounts,
    })
}
