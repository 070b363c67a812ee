//! Publishing an alert at most once across instances: a claim on its eventID in this instance's
//! memory and in the shared table, then the publish, then the claim settled.

use super::{Counts, Handler};
use crate::aws::s3::ObjectSource;
use crate::aws::sns::{PublishError, Publisher};
use crate::aws::store::{Claim, SessionStore, StoreError};
use crate::core::alert::Alert;
use std::sync::atomic::Ordering;

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    /// Publishes an alert unless this or another instance already did (claims on its eventID).
    pub(super) async fn publish_once(
        &self,
        a: &Alert,
        counts: &mut Counts,
    ) -> Result<(), PublishError> {
        let now = (self.clock)();
        let id = a.event_id.as_deref();
        if let Some(id) = id {
            if self.local.claim_now(id, now) == Claim::Duplicate {
                return self.duplicate(id, counts);
            }
            if let Some(shared) = &self.shared {
                match shared.claim(id, now).await {
                    Ok(Claim::Granted) => {}
                    Ok(Claim::Duplicate) => {
                        self.local.settle_now(id, true);
                        return self.duplicate(id, counts);
                    }
                    // Publishing twice is better than not at all.
                    Err(e) => self.store_failed(&e, counts),
                }
            }
        }
        let result = self.publisher.publish(a).await;
        let ok = result.is_ok();
        if let Some(id) = id {
            self.local.settle_now(id, ok);
            if let Some(shared) = &self.shared {
                if let Err(e) = shared.settle(id, ok, now).await {
                    self.store_failed(&e, counts);
                }
            }
        }
        match result {
            Ok(()) => {
                counts.alerts_published += 1;
                tracing::info!(event_id = id.unwrap_or("-"), severity = %a.severity, subject = %a.subject, "alert published");
                Ok(())
            }
            Err(e) => {
                counts.publish_failures += 1;
                tracing::error!(event_id = id.unwrap_or("-"), error = %e, "alert publish failed");
                Err(e)
            }
        }
    }

    pub(super) fn duplicate(&self, id: &str, counts: &mut Counts) -> Result<(), PublishError> {
        counts.duplicates_skipped += 1;
        tracing::info!(event_id = %id, "duplicate delivery; already alerted");
        Ok(())
    }

    pub(super) fn store_failed(&self, e: &StoreError, counts: &mut Counts) {
        counts.store_errors += 1;
        if !self.degraded.swap(true, Ordering::Relaxed) {
            let store = self
                .shared
                .as_ref()
                .map(|s| s.describe())
                .unwrap_or_default();
            tracing::error!(store = %store, error = %e, "session store unavailable; detection goes on with this instance's memory (logged once)");
        } else {
            tracing::debug!(error = %e, "session store call failed");
        }
    }
}
