//! CloudTrail log files in S3, named by a notification or an S3 Batch Operations task: each
//! object read in two streaming passes like `replay` (sessions first, then every record through
//! the pipeline), and what became of it.
//!
//! Failure policy: a read that may succeed later (throttling, 5xx, timeouts, connection errors)
//! or an alert not published is retried (`Failed { retry: true }`; Batch Operations:
//! `TemporaryFailure`); a missing or forbidden object, a corrupt one, or one in a bucket not in
//! `LOG_BUCKETS` is logged with its bucket and key, counted and acknowledged (`PermanentFailure`).

use super::budget::{Invocation, PUBLISH_BUDGET};
use super::claims::{Delivery, RetryWhy};
use super::{Counts, Handler, PUBLISH_CONCURRENCY};
use crate::aws::s3::{self, Decoded, ObjectRef, ObjectSource, ResultCode};
use crate::aws::sns::Publisher;
use crate::aws::store::SessionStore;
use crate::core::model::InputRef;
use crate::core::sanitize::clean;
use crate::input::s3_keys::{key_kind, KeyKind};
use serde_json::Value;
use std::collections::HashSet;

/// What became of one object.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectOutcome {
    /// Read to its end.
    Read { records: u64, alerts: u64 },
    /// Not downloaded because of its name (or read already in this invocation).
    Skipped(&'static str),
    /// Its bucket is not in `LOG_BUCKETS`.
    Refused,
    /// Not read, or not to its end: `retry` when trying again later may succeed.
    Failed { retry: bool, why: String },
}

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    /// An S3 Batch Operations invocation: each task's object, and the documented response.
    pub(super) async fn handle_batch(
        &self,
        job: &s3::BatchJob,
        inv: &Invocation,
        counts: &mut Counts,
    ) -> Value {
        let mut seen = HashSet::new();
        let mut results = Vec::with_capacity(job.tasks.len());
        for task in &job.tasks {
            let result = match &task.object {
                Err(why) => {
                    counts.unreadable_inputs += 1;
                    tracing::warn!(task = %clean(&task.task_id, 100), why = %why, "Batch Operations task without an object");
                    (ResultCode::PermanentFailure, why.clone())
                }
                Ok(obj) => match self.read_object(obj, &mut seen, inv, counts).await {
                    ObjectOutcome::Read { records, alerts } => (
                        ResultCode::Succeeded,
                        format!("{records} records read, {alerts} alerts"),
                    ),
                    ObjectOutcome::Skipped(why) => {
                        (ResultCode::Succeeded, format!("skipped: {why}"))
                    }
                    ObjectOutcome::Refused => (
                        ResultCode::PermanentFailure,
                        "the bucket is not in LOG_BUCKETS".to_owned(),
                    ),
                    ObjectOutcome::Failed { retry: true, why } => {
                        (ResultCode::TemporaryFailure, why)
                    }
                    ObjectOutcome::Failed { retry: false, why } => {
                        (ResultCode::PermanentFailure, why)
                    }
                },
            };
            results.push(result);
        }
        job.response(&results)
    }

    /// Reads one object: two streaming passes, like `replay`. Pass 1 learns the sessions its
    /// records issue (into this instance's memory, and into the shared store in
    /// `BatchWriteItem`s of 25); pass 2 runs every record through the core and publishes its
    /// alerts, once per eventID, [`PUBLISH_CONCURRENCY`] at a time. The object is read twice
    /// (two GETs) so that nothing but the records at hand (and the alerts of one round) is held.
    /// Not started when the invocation's deadline is near (retried).
    pub async fn read_object(
        &self,
        obj: &ObjectRef,
        seen: &mut HashSet<ObjectRef>,
        inv: &Invocation,
        counts: &mut Counts,
    ) -> ObjectOutcome {
        let url = obj.url();
        if !self.config.reads_bucket(&obj.bucket) {
            counts.objects_refused += 1;
            tracing::warn!(object = %url, "bucket not in LOG_BUCKETS; object refused and acknowledged");
            return ObjectOutcome::Refused;
        }
        let skip = match key_kind(&obj.key) {
            KeyKind::Digest => Some("CloudTrail digest file"),
            KeyKind::Other => Some("not a log file (*.json.gz, *.json)"),
            KeyKind::Log if seen.contains(obj) => Some("already read in this invocation"),
            KeyKind::Log => None,
        };
        if let Some(why) = skip {
            counts.objects_skipped += 1;
            tracing::info!(object = %url, why, "object skipped");
            return ObjectOutcome::Skipped(why);
        }
        if !inv.can_start(PUBLISH_BUDGET) {
            return self.object_failed(
                &url,
                true,
                "not started: too close to the invocation's deadline".into(),
                counts,
            );
        }
        seen.insert(obj.clone());
        // Pass 1: sessions.
        let body = match self.objects.get(obj).await {
            Ok(b) => b,
            Err(e) => return self.object_failed(&url, e.is_retryable(), e.to_string(), counts),
        };
        let (sessions, fed) = s3::learn(body, url.clone()).await;
        counts.object_bytes += fed.bytes;
        if let Some(e) = fed.error {
            return self.object_failed(&url, e.is_retryable(), e.to_string(), counts);
        }
        let Some(sessions) = sessions else {
            return self.object_failed(&url, true, "the decoder thread failed".into(), counts);
        };
        counts.sessions_learned += sessions.len() as u64;
        for session in &sessions {
            self.local.learn(session.clone());
        }
        if let Some(shared) = self.shared_store(inv) {
            if let Err(e) = shared.save_all(&sessions).await {
                let mut t = super::claims::Tally::default();
                self.store_failed(&e, inv, &mut t);
                counts.store_errors += t.store_errors;
            }
        }
        drop(sessions);
        // Pass 2: every record.
        let body = match self.objects.get(obj).await {
            Ok(b) => b,
            Err(e) => return self.object_failed(&url, e.is_retryable(), e.to_string(), counts),
        };
        let s3::Decoder {
            input,
            mut output,
            done,
        } = s3::decoder();
        let (mut records, mut alerts, mut unpublished) = (0u64, 0u64, None::<(u64, RetryWhy)>);
        // Alerts wait here until a round of them is published together.
        let round = PUBLISH_CONCURRENCY * 4;
        let mut ready: Vec<((), crate::core::alert::Alert)> = Vec::new();
        // SECURITY_HUB: the object's findings, imported once after its alerts.
        let mut hub_docs: Vec<crate::core::asff::Document> = Vec::new();
        let consume = async {
            while let Some(batch) = output.recv().await {
                for item in batch {
                    match item {
                        Decoded::Record {
                            index,
                            json,
                            enveloped,
                        } => {
                            let rec = match self.pipeline.parse(&json, enveloped) {
                                Ok(r) => r,
                                Err(e) => {
                                    counts.unreadable_inputs += 1;
                                    tracing::warn!(object = %url, index, error = %e, "record not analysed; acknowledged");
                                    continue;
                                }
                            };
                            records += 1;
                            let input = InputRef {
                                file: url.clone(),
                                index,
                            };
                            let report = self.analyse(&rec, input, false, inv, counts).await;
                            if let Some(a) = crate::core::alert::build(
                                &report,
                                self.config.min_severity,
                                self.config.format,
                            ) {
                                ready.push(((), a));
                            }
                            if let Some(hub) = &self.security_hub {
                                hub_docs.extend(
                                    super::security_hub::documents(
                                        &report,
                                        self.config.min_severity,
                                        &hub.target,
                                        0,
                                        (self.clock)(),
                                    )
                                    .into_iter()
                                    .map(|(_, d)| d),
                                );
                            }
                            if ready.len() >= round {
                                let batch = std::mem::take(&mut ready);
                                for ((), d) in self.deliver(batch, inv, counts).await {
                                    tally(d, &mut alerts, &mut unpublished);
                                }
                            }
                        }
                        Decoded::NotCloudTrail { detail_type, .. } => {
                            counts.not_cloudtrail += 1;
                            tracing::info!(object = %url, detail_type = %clean(&detail_type, 100), "EventBridge event without a CloudTrail record; acknowledged");
                        }
                        Decoded::Bad { index, reason } => {
                            counts.unreadable_inputs += 1;
                            tracing::warn!(object = %url, index, reason = %clean(&reason, 300), "value not understood; acknowledged");
                        }
                    }
                }
            }
        };
        let (fed, ()) = tokio::join!(s3::feed(body, input), consume);
        for ((), d) in self.deliver(ready, inv, counts).await {
            tally(d, &mut alerts, &mut unpublished);
        }
        counts.object_bytes += fed.bytes;
        let decoded = done.await;
        // Security Hub whatever SNS did: independent sinks (mod.rs, failure policy).
        let not_imported = match &self.security_hub {
            Some(_)
                if !hub_docs.is_empty()
                    && !inv.can_start(super::security_hub::import_budget(hub_docs.len())) =>
            {
                counts.security_hub_failed += hub_docs.len() as u64;
                Some((
                    hub_docs.len(),
                    "the invocation's deadline is near".to_owned(),
                ))
            }
            Some(hub) if !hub_docs.is_empty() => {
                let (imported, failed) =
                    // Boxed: this future is large, and the object's own future holds it (a
                    // worker thread's stack is 2 MiB).
                    Box::pin(crate::aws::securityhub::import(&hub.client, &hub_docs, 1)).await;
                counts.security_hub_imported += imported as u64;
                counts.security_hub_failed += failed.len() as u64;
                failed.first().map(|f| (failed.len(), f.reason.clone()))
            }
            _ => None,
        };
        if let Some((n, e)) = unpublished {
            let why = format!("{n} alert(s) not published: {e}");
            return self.object_failed(&url, true, why, counts);
        }
        if let Some((n, e)) = not_imported {
            let why = format!("{n} finding(s) not imported into Security Hub: {e}");
            return self.object_failed(&url, true, why, counts);
        }
        if let Some(e) = fed.error {
            return self.object_failed(&url, e.is_retryable(), e.to_string(), counts);
        }
        match decoded {
            Ok(Ok(())) => {
                counts.objects_read += 1;
                tracing::info!(object = %url, records, alerts, "object read");
                ObjectOutcome::Read { records, alerts }
            }
            Ok(Err(e)) => {
                let why = format!(
                    "corrupt object: {} ({records} records before it were read)",
                    clean(&e.to_string(), 300)
                );
                self.object_failed(&url, false, why, counts)
            }
            Err(e) => self.object_failed(
                &url,
                true,
                format!("the decoder thread failed: {e}"),
                counts,
            ),
        }
    }

    pub(super) fn object_failed(
        &self,
        url: &str,
        retry: bool,
        why: String,
        counts: &mut Counts,
    ) -> ObjectOutcome {
        let why = clean(&why, 600);
        if retry {
            counts.object_retries += 1;
            tracing::error!(object = %url, error = %why, "object not read to its end; it will be retried");
        } else {
            counts.object_errors += 1;
            tracing::error!(object = %url, error = %why, "object not read; acknowledged, not retried");
        }
        ObjectOutcome::Failed { retry, why }
    }
}

/// Adds one delivery to an object's tally: published (or published before), or not.
fn tally(d: Delivery, alerts: &mut u64, unpublished: &mut Option<(u64, RetryWhy)>) {
    match d {
        Delivery::Published | Delivery::Duplicate => *alerts += 1,
        Delivery::Retry { why } => match unpublished {
            Some((n, _)) => *n += 1,
            None => *unpublished = Some((1, why)),
        },
    }
}
