//! The scheduled audit: a daily EventBridge schedule (template parameter `AuditSchedule`, off by
//! default) invokes the function with the constant input `{"rootwatch": "audit"}`. The function
//! audits root credentials as `rootwatch audit` does, compares each account with the snapshot
//! its last run stored in the table (`audit#ACCOUNT`, kept [`SNAPSHOT_DAYS`] days), and alerts
//! only on what changed (`core::audit::changes`). A snapshot is stored once the account's alert
//! is published, so a failed publish alerts again on the retry.
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html>

use super::budget::{Invocation, PUBLISH_BUDGET};
use super::{Counts, Handler, RetryableError};
use crate::aws::audit::{run, AuditOptions};
use crate::aws::s3::ObjectSource;
use crate::aws::sns::Publisher;
use crate::aws::store::SessionStore;
use crate::core::alert;
use crate::core::audit::changes::{changes, org_changes};
use crate::core::audit::report::{suppress, to_report};
use crate::core::audit::{AccountAudit, AccountKind, OrgFacts, RootCredentials};
use serde_json::{json, Value};

/// Days a snapshot is kept after the audit that wrote it (DynamoDB TTL): an account not audited
/// for that long is audited afresh.
pub const SNAPSHOT_DAYS: i64 = 90;

/// What the scheduled audit reads and with which SDK configuration.
#[derive(Debug, Clone)]
pub struct Auditor {
    pub sdk: aws_config::SdkConfig,
    pub opts: AuditOptions,
}

/// The schedule's input, `{"rootwatch":"audit"}`.
pub fn is_audit(payload: &str) -> bool {
    serde_json::from_str::<Value>(payload)
        .ok()
        .is_some_and(|v| v.get("rootwatch").and_then(Value::as_str) == Some("audit"))
}

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    async fn load(&self, key: &str) -> Option<String> {
        let got = match &self.shared {
            Some(s) => s.snapshot(key).await,
            None => self.local.snapshot(key).await,
        };
        got.unwrap_or_else(|e| {
            tracing::warn!(key, error = %e, "audit snapshot not read; the account is compared with nothing");
            None
        })
    }

    async fn store(&self, key: &str, value: &str, expires: i64) -> Result<(), String> {
        let r = match &self.shared {
            Some(s) => s.put_snapshot(key, value, expires).await,
            None => self.local.put_snapshot(key, value, expires).await,
        };
        r.map_err(|e| e.to_string())
    }

    /// Runs the scheduled audit and publishes the changes since the last run.
    pub(super) async fn scheduled_audit(
        &self,
        inv: &Invocation,
        counts: &mut Counts,
    ) -> Result<Value, RetryableError> {
        let Some(auditor) = &self.auditor else {
            tracing::warn!(
                "audit event received but the scheduled audit is not configured (AUDIT); ignored"
            );
            return Ok(json!({"audit": "off"}));
        };
        let audit = run(&auditor.sdk, &auditor.opts, &|_| {})
            .await
            .map_err(|e| RetryableError::Audit(e.to_string()))?;
        let now = (self.clock)();
        let time = crate::core::time::format(now);
        let expires = now + SNAPSHOT_DAYS * 86_400;
        let (mut alerts, mut unreadable, mut failed) = (0u64, 0u64, Vec::new());
        let mut hub_failed: Vec<String> = Vec::new();
        // The suppressions in force (SUPPRESSIONS_S3_URI), as for the stream's findings.
        let suppressions = Box::pin(self.suppressions(counts)).await;
        for (i, row) in audit.accounts.iter().enumerate() {
            let Some(current) = &row.root else {
                unreadable += 1;
                tracing::warn!(account = %row.account_id, error = row.error.as_deref().unwrap_or("-"), "audit: account not read");
                continue;
            };
            let key = format!("account#{}", row.account_id);
            let previous: Option<RootCredentials> = self
                .load(&key)
                .await
                .and_then(|s| serde_json::from_str(&s).ok());
            let mut found = changes(
                &row.account_id,
                row.kind,
                previous.as_ref(),
                current,
                audit.org.as_ref(),
            );
            // The organisation-level change goes with the management account.
            let org_key = audit
                .org
                .as_ref()
                .filter(|_| row.kind == AccountKind::Management)
                .map(|o| (format!("org#{}", row.account_id), o));
            if let Some((k, o)) = &org_key {
                let before: Option<OrgFacts> = self
                    .load(k)
                    .await
                    .and_then(|s| serde_json::from_str(&s).ok());
                found.retain(|f| {
                    f.rule != crate::core::model::Rule::RootCredentialsManagementDisabled
                });
                found.extend(org_changes(&row.account_id, before.as_ref(), o));
            }
            let mut changed = AccountAudit {
                findings: found,
                ..row.clone()
            };
            counts.suppressed += suppress(&mut changed, &suppressions, &time, now) as u64;
            if let Some(report) = to_report(&changed, &time, i as u64) {
                if let Some(a) = alert::build(&report, self.config.min_severity, self.config.format)
                {
                    if !inv.can_start(PUBLISH_BUDGET) {
                        return Err(RetryableError::OutOfTime);
                    }
                    match self.publisher.publish(&a).await {
                        Ok(()) => {
                            alerts += 1;
                            counts.alerts_published += 1;
                        }
                        Err(e) => {
                            failed.push(e);
                            continue;
                        }
                    }
                }
                // SECURITY_HUB=true: the same findings (at or above MIN_SEVERITY, not
                // suppressed) as ASFF, after SNS. Not imported: the snapshot is not stored, so
                // the next run reports the change again.
                if let Some(hub) = &self.security_hub {
                    let docs: Vec<crate::core::asff::Document> = report
                        .findings
                        .iter()
                        .filter(|f| f.severity >= self.config.min_severity && !f.is_suppressed())
                        .map(|f| crate::core::asff::document(&report, f, &hub.target, &time))
                        .collect();
                    if !docs.is_empty() {
                        let (imported, not) =
                            crate::aws::securityhub::import(&hub.client, &docs, 1).await;
                        counts.security_hub_imported += imported as u64;
                        counts.security_hub_failed += not.len() as u64;
                        if let Some(f) = not.first() {
                            hub_failed.push(format!("{}: {}", f.id, f.reason));
                            continue;
                        }
                    }
                }
            }
            let snapshot = serde_json::to_string(current).expect("snapshots serialise");
            if let Err(e) = self.store(&key, &snapshot, expires).await {
                tracing::warn!(key, error = %e, "audit snapshot not stored; the next run compares with the older one");
            }
            if let Some((k, o)) = &org_key {
                let v = serde_json::to_string(o).expect("org facts serialise");
                if let Err(e) = self.store(k, &v, expires).await {
                    tracing::warn!(key = %k, error = %e, "audit snapshot not stored");
                }
            }
        }
        tracing::info!(
            accounts = audit.accounts.len(),
            unreadable,
            alerts,
            "scheduled audit done"
        );
        if let Some(first) = failed.into_iter().next() {
            return Err(RetryableError::Publish { failed: 1, first });
        }
        if let Some(first) = hub_failed.first() {
            return Err(RetryableError::SecurityHub {
                failed: hub_failed.len(),
                first: first.clone(),
            });
        }
        Ok(
            json!({"audit": {"accounts": audit.accounts.len(), "unreadable": unreadable, "alerts": alerts}}),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_schedules_input_is_an_audit() {
        assert!(super::is_audit(r#"{"rootwatch":"audit"}"#));
        assert!(!super::is_audit(r#"{"rootwatch":"heartbeat"}"#));
        assert!(!super::is_audit(
            r#"{"detail-type":"Scheduled Event","source":"aws.events"}"#
        ));
        assert!(!super::is_audit("not json"));
    }
}
