//! The pattern rules in the function: each observation (a failed root sign-in, an `AssumeRoot`
//! call) is added to window sets in the shared table (all instances count together: the sets
//! are updated atomically, and a conditional update lets one instance fire per burst), or in the
//! instance's memory without a table or when the table failed in this invocation. The decisions
//! are the core's ([`crate::core::patterns`]), the same as replay's.

use super::budget::Invocation;
use super::claims::Tally;
use super::{Counts, Handler};
use crate::aws::s3::ObjectSource;
use crate::aws::sns::Publisher;
use crate::aws::store::{SessionStore, StoreError};
use crate::core::model::{Finding, RecordReport};
use crate::core::patterns::{self, Observation, PatternConfig};

/// The findings of one observation, with `store`'s window sets.
async fn findings<T: SessionStore>(
    store: &T,
    cfg: &PatternConfig,
    obs: &Observation,
) -> Result<Vec<Finding>, StoreError> {
    let mut out = Vec::new();
    match obs {
        Observation::RootLoginFailure {
            account,
            ip,
            time,
            event_id,
        } => {
            let key = format!("pattern#account#{account}");
            let w = store
                .note(&key, event_id, *time, ip, time + cfg.brute_force_window)
                .await?;
            if let Some(end) = patterns::brute_force_fires(cfg, &w.entries, *time, w.fired) {
                if store.fire(&key, end, cfg.brute_force_window).await? {
                    out.push(patterns::brute_force_finding(cfg, account, &w.entries, end));
                }
            }
            let key = format!("pattern#address#{ip}");
            let w = store
                .note(&key, event_id, *time, account, time + cfg.spray_window)
                .await?;
            if let Some(end) = patterns::spray_fires(cfg, &w.entries, *time, w.fired) {
                if store.fire(&key, end, cfg.spray_window).await? {
                    out.push(patterns::spray_finding(cfg, ip, &w.entries, end));
                }
            }
        }
        Observation::AssumeRoot {
            caller,
            target,
            time,
            ..
        } => {
            let key = format!("pattern#caller#{caller}#{target}");
            if store.first(&key, *time, cfg.new_caller_memory).await? {
                out.push(patterns::new_caller_finding(caller, target));
            }
        }
    }
    Ok(out)
}

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    /// The pattern findings a report raises (none for most records: no call is made).
    pub(super) async fn pattern_findings(
        &self,
        report: &RecordReport,
        inv: &Invocation,
        counts: &mut Counts,
    ) -> Vec<Finding> {
        let Some(obs) = patterns::observe(report) else {
            return Vec::new();
        };
        let cfg = self.pipeline.patterns;
        if let Some(shared) = self.shared_store(inv) {
            match findings(shared, &cfg, &obs).await {
                Ok(found) => return found,
                Err(e) => {
                    let mut t = Tally::default();
                    self.store_failed(&e, inv, &mut t);
                    counts.store_errors += t.store_errors;
                }
            }
        }
        // Without the table: this instance's memory (it cannot fail).
        findings(&self.local, &cfg, &obs).await.unwrap_or_default()
    }
}
