//! CloudTrail log files in S3, named by a notification or an S3 Batch Operations task: each
//! object read in two streaming passes like `replay` (sessions first, then every record through
//! the pipeline), and what became of it.
//!
//! Failure policy: a read that may succeed later (throttling, 5xx, timeouts, connection errors)
//! or an alert not published is retried (`Failed { retry: true }`; Batch Operations:
//! `TemporaryFailure`); a missing or forbidden object, a corrupt one, or one in a bucket not in
//! `LOG_BUCKETS` is logged with its bucket and key, counted and acknowledged (`PermanentFailure`).

use super::{Counts, Handler};
use crate::aws::s3::{self, Decoded, ObjectRef, ObjectSource, ResultCode};
use crate::aws::sns::{PublishError, Publisher};
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
    pub(super) async fn handle_batch(&self, job: &s3::BatchJob, counts: &mut Counts) -> Value {
        let mut seen = HashSet::new();
        let mut results = Vec::with_capacity(job.tasks.len());
        for task in &job.tasks {
            let result = match &task.object {
                Err(why) => {
                    counts.unreadable_inputs += 1;
                    tracing::warn!(task = %clean(&task.task_id, 100), why = %why, "Batch Operations task without an object");
                    (ResultCode::PermanentFailure, why.clone())
                }
                Ok(obj) => match self.read_object(obj, &mut seen, counts).await {
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
    /// records issue (into this instance's memory and the shared store); pass 2 runs every
    /// record through the core and publishes its alerts, once per eventID. The object is read
    /// twice (two GETs) so that nothing but the record at hand is held.
    pub async fn read_object(
        &self,
        obj: &ObjectRef,
        seen: &mut HashSet<ObjectRef>,
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
        seen.insert(obj.clone());
        // Pass 1: sessions.
        let body = match self.objects.get(obj).await {
            Ok(b) => b,
            Err(e) => return self.object_failed(&url, e.is_retryable(), e.to_string(), counts),
        };
        let (tracker, fed) =
            s3::learn(body, url.clone(), crate::core::session::MEMORY_CAPACITY).await;
        counts.object_bytes += fed.bytes;
        if let Some(e) = fed.error {
            return self.object_failed(&url, e.is_retryable(), e.to_string(), counts);
        }
        let Some(tracker) = tracker else {
            return self.object_failed(&url, true, "the decoder thread failed".into(), counts);
        };
        for session in tracker.into_sessions() {
            counts.sessions_learned += 1;
            self.local.learn(session.clone());
            if let Some(shared) = &self.shared {
                if let Err(e) = shared.save(&session).await {
                    self.store_failed(&e, counts);
                }
            }
        }
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
        let (mut records, mut alerts, mut unpublished) = (0u64, 0u64, None::<(u64, PublishError)>);
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
                            if let Some(a) = self.analyse(&rec, input, false, counts).await {
                                match self.publish_once(&a, counts).await {
                                    Ok(()) => alerts += 1,
                                    Err(e) => match &mut unpublished {
                                        Some((n, _)) => *n += 1,
                                        None => unpublished = Some((1, e)),
                                    },
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
        counts.object_bytes += fed.bytes;
        let decoded = done.await;
        if let Some((n, e)) = unpublished {
            let why = format!("{n} alert(s) not published: {e}");
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
