//! The Lambda adapter: EventBridge events (direct invocation) and SQS batches whose bodies are
//! EventBridge events, through the same core as `replay`, alerts to a [`Publisher`]. The same
//! function reads CloudTrail log files from S3 ([`crate::aws::s3`]) when a message names them: an S3
//! event notification (direct or in an SQS body), an EventBridge "Object Created" event,
//! CloudTrail's delivery notification (SNS envelope or raw), or an S3 Batch Operations task.
//!
//! Failure policy: a failed publish is an error (EventBridge → Lambda retries the invocation and
//! then its on-failure destination keeps the event; SQS → the message is reported in
//! `batchItemFailures` and redelivered). Malformed input is logged, counted and acknowledged:
//! retrying it cannot help. For objects: a read that may succeed later (throttling, 5xx,
//! timeouts, connection errors) is retried like a failed publish (Batch Operations:
//! `TemporaryFailure`); a missing or forbidden object, a corrupt one, or one in a bucket not in
//! `LOG_BUCKETS` is logged with its bucket and key, counted and acknowledged
//! (`PermanentFailure`).

use crate::aws::s3::{self, NoObjects, Notice, ObjectRef, ObjectSource};
use crate::aws::sns::{PublishError, Publisher};
use crate::aws::store::{MemoryStore, SessionStore};
use crate::core::alert::{self, Alert};
use crate::core::model::{InputRef, Severity};
use crate::core::pipeline::{Lookup, Pipeline};
use crate::core::record::Record;
use crate::core::sanitize::clean;
use crate::core::session::{Session, MAX_CHAIN};
use crate::input::{self, Item};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;

/// Lambda's Invoke API accepts only valid JSON payloads, so the runtime always hands us JSON.
/// <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>
pub const INVOKE_DOC: &str = "https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html";
/// Partial batch responses: `{"batchItemFailures":[{"itemIdentifier": messageId}]}`.
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting>
pub const SQS_PARTIAL_BATCH_DOC: &str =
    "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html";

mod claims;
mod config;
mod metrics;
mod objects;

pub use config::{Config, ConfigError};
pub use metrics::{emf, shape, Counts};
pub use objects::ObjectOutcome;

/// Why an invocation must be retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryableError {
    #[error("{failed} alert(s) could not be published; the invocation fails so that Lambda retries it: {first}")]
    Publish { failed: usize, first: PublishError },
    #[error("{failed} object(s) could not be read or their alerts published; the invocation fails so that Lambda retries it: {first}")]
    Objects { failed: usize, first: String },
}

/// The function: configuration, a publisher, the instance's memory, the shared store and where
/// S3 objects are read from.
///
/// Sessions and alert claims always go to the instance's [`MemoryStore`]; with a shared store
/// (`SESSIONS_TABLE`) they also go there, so that every instance sees them. When the shared store
/// fails, detection goes on with memory alone (logged once, counted each time).
pub struct Handler<P, S = MemoryStore, O = NoObjects> {
    pub config: Config,
    pub publisher: P,
    pub local: MemoryStore,
    pub shared: Option<S>,
    pub objects: O,
    /// The per-record pipeline (every finding kept: `MIN_SEVERITY` applies to the alerts).
    pub pipeline: Pipeline,
    degraded: AtomicBool,
    /// Every report the pipeline gave, once [`Handler::keep_reports`] was called: for the tests
    /// that compare the function with replay. Off by default (the binary built for the tests
    /// links this feature too, and must hold no more than the shipped one).
    #[cfg(any(test, feature = "testing"))]
    pub reports: Option<std::sync::Mutex<Vec<crate::core::model::RecordReport>>>,
    clock: fn() -> i64,
}

#[derive(serde::Deserialize)]
struct SqsProbe {
    #[serde(rename = "Records", default)]
    records: Vec<SqsProbeRecord>,
}

#[derive(serde::Deserialize)]
struct SqsProbeRecord {
    #[serde(rename = "eventSource", default)]
    event_source: Option<String>,
}

/// `true` when the payload is an SQS event (`Records[].eventSource == "aws:sqs"`).
fn is_sqs(payload: &str) -> bool {
    serde_json::from_str::<SqsProbe>(payload).is_ok_and(|p| {
        !p.records.is_empty()
            && p.records
                .iter()
                .all(|r| r.event_source.as_deref() == Some("aws:sqs"))
    })
}

impl<P: Publisher> Handler<P, MemoryStore> {
    /// A function without a shared table.
    pub fn new(config: Config, publisher: P) -> Self {
        Handler::with_store(config, publisher, None)
    }
}

/// One record waiting for analysis: which input it came from, its time, its text.
struct Pending {
    input: usize,
    index: u64,
    time: Option<i64>,
    json: String,
    enveloped: bool,
}

impl<P: Publisher, S: SessionStore> Handler<P, S, NoObjects> {
    pub fn with_store(config: Config, publisher: P, shared: Option<S>) -> Self {
        Handler {
            pipeline: Pipeline::new(config.rules.clone(), Severity::Info),
            config,
            publisher,
            local: MemoryStore::default(),
            shared,
            objects: NoObjects,
            degraded: AtomicBool::new(false),
            #[cfg(any(test, feature = "testing"))]
            reports: Default::default(),
            clock: metrics::now_s,
        }
    }
}

/// One SQS message: read inline (by index into the inputs), objects to read, or nothing to do.
enum Plan {
    Inline(usize),
    Objects(Vec<ObjectRef>),
    Done,
}

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    /// The same function reading S3 objects from `objects`.
    pub fn with_objects<O2: ObjectSource>(self, objects: O2) -> Handler<P, S, O2> {
        Handler {
            config: self.config,
            publisher: self.publisher,
            local: self.local,
            shared: self.shared,
            objects,
            pipeline: self.pipeline,
            degraded: self.degraded,
            #[cfg(any(test, feature = "testing"))]
            reports: self.reports,
            clock: self.clock,
        }
    }

    /// Keeps every report from now on, in [`Handler::reports`] (tests).
    #[cfg(any(test, feature = "testing"))]
    pub fn keep_reports(mut self) -> Self {
        self.reports = Some(Default::default());
        self
    }

    /// Replaces the wall clock used for alert claims (tests).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    /// Handles one invocation payload (JSON text). Returns the response, or an error when the
    /// invocation must be retried. Prints the invocation's counts as an EMF line.
    pub async fn handle(&self, payload: &str) -> Result<Value, RetryableError> {
        let (result, counts) = self.handle_counted(payload).await;
        println!("{}", emf(&counts, metrics::now_ms()));
        result
    }

    /// [`Handler::handle`] without printing: the response and the invocation's counts.
    pub async fn handle_counted(&self, payload: &str) -> (Result<Value, RetryableError>, Counts) {
        let mut counts = Counts::default();
        let result = if let Some(job) = s3::batch_job(payload) {
            Ok(self.handle_batch(&job, &mut counts).await)
        } else if is_sqs(payload) {
            Ok(self.handle_sqs(payload, &mut counts).await)
        } else {
            match s3::notice(payload) {
                notice @ (Notice::Objects { .. } | Notice::Ignored(_)) => {
                    let objects = self.accept(notice, "event", &mut counts);
                    let mut seen = HashSet::new();
                    let (mut failed, mut first) = (0, None);
                    for obj in &objects {
                        if let ObjectOutcome::Failed { retry: true, why } =
                            self.read_object(obj, &mut seen, &mut counts).await
                        {
                            failed += 1;
                            first.get_or_insert(format!("{}: {why}", obj.url()));
                        }
                    }
                    match first {
                        None => Ok(json!({})),
                        Some(first) => Err(RetryableError::Objects { failed, first }),
                    }
                }
                Notice::Inner(message) => self
                    .process(message.as_bytes(), "event", &mut counts)
                    .await
                    .map(|()| json!({})),
                Notice::NotS3 => self
                    .process(payload.as_bytes(), "event", &mut counts)
                    .await
                    .map(|()| json!({})),
            }
        };
        (result, counts)
    }

    /// The objects a notification names; what it does not name is counted and logged here.
    fn accept(&self, notice: Notice, source: &str, counts: &mut Counts) -> Vec<ObjectRef> {
        match notice {
            Notice::Objects {
                via,
                objects,
                ignored,
                bad,
            } => {
                if ignored > 0 {
                    counts.notifications_ignored += ignored;
                    tracing::info!(
                        source,
                        via,
                        ignored,
                        "S3 events other than a new object; acknowledged"
                    );
                }
                if bad > 0 {
                    counts.unreadable_inputs += bad;
                    tracing::warn!(
                        source,
                        via,
                        bad,
                        "notification entries without a bucket or key; acknowledged"
                    );
                }
                objects
            }
            Notice::Ignored(what) => {
                counts.notifications_ignored += 1;
                if what.starts_with("SNS") {
                    tracing::warn!(source, what, "SNS subscription message acknowledged: confirm or remove the subscription with the AWS CLI");
                } else {
                    tracing::info!(source, what, "notification acknowledged");
                }
                Vec::new()
            }
            Notice::Inner(_) | Notice::NotS3 => Vec::new(),
        }
    }

    async fn handle_sqs(&self, payload: &str, counts: &mut Counts) -> Value {
        let event: aws_lambda_events::sqs::SqsEvent = match serde_json::from_str(payload) {
            Ok(e) => e,
            Err(e) => {
                counts.unreadable_inputs += 1;
                tracing::warn!(error = %e, bytes = payload.len(), "SQS event not understood; acknowledged");
                return json!({ "batchItemFailures": [] });
            }
        };
        // Bodies that name S3 objects are read object by object; the others (EventBridge
        // events, and what an SNS envelope carries) together, as before.
        let notices: Vec<Notice> = event
            .records
            .iter()
            .map(|msg| s3::notice(msg.body.as_deref().unwrap_or("")))
            .collect();
        let mut inputs: Vec<(String, &[u8])> = Vec::new();
        let mut plans: Vec<Plan> = Vec::with_capacity(notices.len());
        for (msg, notice) in event.records.iter().zip(&notices) {
            let id = msg.message_id.as_deref().unwrap_or_default();
            let source = format!("sqs:{}", clean(id, 80));
            let plan = match notice {
                Notice::NotS3 => {
                    let body = msg.body.as_deref().unwrap_or("");
                    inputs.push((source, body.as_bytes()));
                    Plan::Inline(inputs.len() - 1)
                }
                Notice::Inner(message) => {
                    inputs.push((source, message.as_bytes()));
                    Plan::Inline(inputs.len() - 1)
                }
                other => Plan::Objects(self.accept(other.clone(), &source, counts)),
            };
            plans.push(match plan {
                Plan::Objects(o) if o.is_empty() => Plan::Done,
                p => p,
            });
        }
        let results = self.process_inputs(&inputs, counts).await;
        let mut seen = HashSet::new();
        let mut failures = Vec::new();
        for (msg, plan) in event.records.iter().zip(&plans) {
            let id = msg.message_id.clone().unwrap_or_default();
            let failed = match plan {
                Plan::Done => false,
                Plan::Inline(i) => match &results[*i] {
                    Ok(()) => false,
                    Err(e) => {
                        tracing::error!(message_id = %clean(&id, 80), error = %e, "alert not published; message returned to the queue");
                        true
                    }
                },
                Plan::Objects(objects) => {
                    let mut failed = false;
                    for obj in objects {
                        if let ObjectOutcome::Failed { retry: true, .. } =
                            self.read_object(obj, &mut seen, counts).await
                        {
                            failed = true;
                        }
                    }
                    if failed {
                        tracing::error!(message_id = %clean(&id, 80), "object not read (or its alerts not published); message returned to the queue");
                    }
                    failed
                }
            };
            if failed {
                failures.push(json!({ "itemIdentifier": id }));
            }
        }
        json!({ "batchItemFailures": failures })
    }

    /// Reads every record of one input, publishes the alerts. `Err` only when a publish failed.
    pub async fn process(
        &self,
        bytes: &[u8],
        source: &str,
        counts: &mut Counts,
    ) -> Result<(), RetryableError> {
        let inputs = [(source.to_owned(), bytes)];
        self.process_inputs(&inputs, counts)
            .await
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Processes the records of several inputs (an SQS batch) together, in eventTime order, so
    /// that a session issued in one message attributes a use in another. One result per input:
    /// `Err` when an alert of that input could not be published.
    pub async fn process_inputs(
        &self,
        inputs: &[(String, &[u8])],
        counts: &mut Counts,
    ) -> Vec<Result<(), RetryableError>> {
        let mut pending: Vec<Pending> = Vec::new();
        for (n, (source, bytes)) in inputs.iter().enumerate() {
            self.decode_input(n, source, bytes, &mut pending, counts);
        }
        // Records without a readable eventTime go last, in arrival order.
        pending.sort_by_key(|p| p.time.unwrap_or(i64::MAX));
        let mut alerts: Vec<(usize, Alert)> = Vec::new();
        for p in &pending {
            let Ok(rec) = self.pipeline.parse(&p.json, p.enveloped) else {
                continue;
            };
            let input = InputRef {
                file: inputs[p.input].0.clone(),
                index: p.index,
            };
            if let Some(a) = self.analyse(&rec, input, true, counts).await {
                alerts.push((p.input, a));
            }
        }
        let mut results: Vec<Result<(), RetryableError>> = inputs.iter().map(|_| Ok(())).collect();
        for (input, a) in &alerts {
            if let Err(e) = self.publish_once(a, counts).await {
                match &mut results[*input] {
                    Ok(()) => {
                        results[*input] = Err(RetryableError::Publish {
                            failed: 1,
                            first: e,
                        })
                    }
                    Err(RetryableError::Publish { failed, .. })
                    | Err(RetryableError::Objects { failed, .. }) => *failed += 1,
                }
            }
        }
        results
    }

    /// The pipeline on one parsed record (its session's origin from memory, after the shared
    /// table was asked for what memory lacks), the counts and the alert to publish, if any. With
    /// `learn`, the session the record issues is remembered too (the S3 path learned it in its
    /// first pass).
    async fn analyse(
        &self,
        rec: &Record<'_>,
        input: InputRef,
        learn: bool,
        counts: &mut Counts,
    ) -> Option<Alert> {
        self.fetch_sessions(rec, counts).await;
        let report = self.pipeline.report(rec, input, &self.local);
        #[cfg(any(test, feature = "testing"))]
        if let Some(kept) = &self.reports {
            kept.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(report.clone());
        }
        if learn {
            if let Some(session) = Session::from_report(&report) {
                counts.sessions_learned += 1;
                self.local.learn(session.clone());
                if let Some(shared) = &self.shared {
                    if let Err(e) = shared.save(&session).await {
                        self.store_failed(&e, counts);
                    }
                }
            }
        }
        counts.records += 1;
        counts.records_with_origin += u64::from(report.origin.is_some());
        *counts.by_class.entry(report.principal.class).or_default() += 1;
        for f in &report.findings {
            *counts.findings.entry(f.rule).or_default() += 1;
        }
        alert::build(&report, self.config.min_severity, self.config.format)
    }

    fn decode_input(
        &self,
        n: usize,
        source: &str,
        bytes: &[u8],
        pending: &mut Vec<Pending>,
        counts: &mut Counts,
    ) {
        let decoded = input::decode_stream(bytes, &mut |item: Item<'_>| {
            match item {
                Item::Record {
                    index,
                    json,
                    envelope,
                } => match self.pipeline.parse(json, envelope.is_some()) {
                    Ok(rec) => pending.push(Pending {
                        input: n,
                        index,
                        time: rec.event_time.as_deref().and_then(crate::core::time::parse),
                        json: json.to_owned(),
                        enveloped: envelope.is_some(),
                    }),
                    Err(e) => {
                        counts.unreadable_inputs += 1;
                        tracing::warn!(source, index, error = %e, "record not analysed; acknowledged");
                    }
                },
                Item::NotCloudTrail { detail_type, .. } => {
                    counts.not_cloudtrail += 1;
                    tracing::info!(source, detail_type = %clean(&detail_type, 100), "EventBridge event without a CloudTrail record; acknowledged");
                }
                Item::Bad { index, reason } => {
                    counts.unreadable_inputs += 1;
                    tracing::warn!(source, index, reason = %clean(&reason, 300), shape = %shape(bytes), "input not understood; acknowledged");
                }
            }
            Ok(())
        });
        if let Err(e) = decoded {
            counts.unreadable_inputs += 1;
            tracing::warn!(source, error = %clean(&e.to_string(), 300), shape = %shape(bytes), bytes = bytes.len(), "malformed input; acknowledged, not retried");
        }
    }

    /// Copies into this instance's memory the sessions of a record's chain that only the shared
    /// table knows, hop by hop, each key asked at most once. Records without a temporary key, and
    /// a function without a table, make no call.
    async fn fetch_sessions(&self, rec: &Record<'_>, counts: &mut Counts) {
        let Some(shared) = &self.shared else {
            return;
        };
        let Some(Lookup { key, at, own_event }) = Pipeline::lookup(rec) else {
            return;
        };
        // Ask the table for each link this instance does not know, once, then walk again.
        let mut asked: Vec<String> = Vec::new();
        while let Some((k, _)) = self.local.missing_link(&key, at, own_event.as_deref()) {
            if asked.contains(&k) || asked.len() >= MAX_CHAIN {
                break;
            }
            match shared.sessions(&k).await {
                Ok(all) => all.into_iter().for_each(|s| {
                    self.local.learn(s);
                }),
                Err(e) => {
                    self.store_failed(&e, counts);
                    break;
                }
            }
            asked.push(k);
        }
    }
}

#[cfg(test)]
mod tests;
