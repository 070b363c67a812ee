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
//!
//! Security Hub (`SECURITY_HUB=true`) is a second, independent sink of the same findings (objects:
//! `objects.rs`), imported after SNS whatever SNS did. A finding it does not take (or an import
//! the deadline leaves no time for) makes its input retryable like a failed publish; the retry
//! publishes nothing to SNS again (the claim is settled, `claims.rs`) and re-imports the
//! finding, which updates it (same `Id`) instead of duplicating it.

use crate::aws::s3::{self, NoObjects, Notice, ObjectRef, ObjectSource};
use crate::aws::sns::Publisher;
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

/// Lambda's Invoke API accepts only valid JSON payloads, so the runtime always hands us JSON.
/// <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>
pub const INVOKE_DOC: &str = "https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html";
/// Partial batch responses: `{"batchItemFailures":[{"itemIdentifier": messageId}]}`.
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting>
pub const SQS_PARTIAL_BATCH_DOC: &str =
    "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html";

mod audit;
mod budget;
mod claims;
mod config;
mod heartbeat;
mod hold;
mod metrics;
mod objects;
mod patterns;
mod retry;
mod security_hub;
mod sqs;
mod suppressions;

pub use audit::{is_audit, Auditor, SNAPSHOT_DAYS};
pub use budget::{Invocation, PUBLISH_BUDGET, SAFETY_MARGIN};
pub use claims::{then, Answer, Step, Then, CLAIM_TABLE};
pub use config::{
    capacity_for_memory, Config, ConfigError, ASSUME_ROOT_WAIT_SECONDS, SESSION_BYTES,
};
pub use heartbeat::HEARTBEAT_RULE;
pub use metrics::{emf, shape, Counts};
pub use objects::ObjectOutcome;
pub use retry::RetryableError;

use claims::Delivery;
use hold::Wait;
pub use hold::MAX_WAIT_RECEIVES;
pub use sqs::Queued;
pub use suppressions::{SuppressionSource, SUPPRESSIONS_TTL_SECONDS};

/// Alerts of one batch published at once (each a separate SNS call).
pub const PUBLISH_CONCURRENCY: usize = 8;
/// One input of a batch: its name for logs, its bytes, and for an SQS message how long it has
/// waited in the queue.
pub struct Input<'a> {
    pub source: String,
    pub bytes: &'a [u8],
    pub queued: Option<Queued>,
}

/// The function: configuration, a publisher, the instance's memory, the shared store and where
/// S3 objects are read from.
///
/// Sessions and alert claims always go to the instance's [`MemoryStore`]; with a shared store
/// (`SESSIONS_TABLE`) they also go there, so that every instance sees them. When the shared store
/// fails, it is skipped for the rest of the invocation and detection goes on with memory alone
/// (logged once per invocation, counted in `StoreErrors` and `StoreSkipped`).
pub struct Handler<P, S = MemoryStore, O = NoObjects> {
    pub config: Config,
    pub publisher: P,
    pub local: MemoryStore,
    pub shared: Option<S>,
    pub objects: O,
    /// The per-record pipeline (every finding kept: `MIN_SEVERITY` applies to the alerts).
    pub pipeline: Pipeline,
    /// The scheduled audit (`AUDIT`), when configured.
    pub auditor: Option<Box<Auditor>>,
    /// Every report the pipeline gave, once [`Handler::keep_reports`] was called: for the tests
    /// that compare the function with replay. Off by default (the binary built for the tests
    /// links this feature too, and must hold no more than the shipped one).
    #[cfg(any(test, feature = "testing"))]
    pub reports: Option<std::sync::Mutex<Vec<crate::core::model::RecordReport>>>,
    /// `SECURITY_HUB=true`: where findings are imported, beside SNS.
    pub security_hub: Option<crate::aws::securityhub::Hub>,
    clock: fn() -> i64,
    clock_ms: fn() -> i64,
    /// The last read of `SUPPRESSIONS_S3_URI`.
    suppressions: suppressions::Cache,
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
            pipeline: Pipeline {
                patterns: config.patterns,
                ..Pipeline::new(config.rules.clone(), Severity::Info)
            },
            local: MemoryStore::new(config.session_capacity, crate::aws::store::DEDUP_CAPACITY),
            config,
            publisher,
            shared,
            objects: NoObjects,
            auditor: None,
            #[cfg(any(test, feature = "testing"))]
            reports: Default::default(),
            security_hub: None,
            clock: metrics::now_s,
            clock_ms: || metrics::now_ms() as i64,
            suppressions: Default::default(),
        }
    }
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
            auditor: self.auditor,
            #[cfg(any(test, feature = "testing"))]
            reports: self.reports,
            security_hub: self.security_hub,
            clock: self.clock,
            clock_ms: self.clock_ms,
            suppressions: self.suppressions,
        }
    }

    /// Imports every alerting finding into Security Hub too (`SECURITY_HUB=true`).
    pub fn with_security_hub(mut self, hub: crate::aws::securityhub::Hub) -> Self {
        self.security_hub = Some(hub);
        self
    }

    /// Keeps every report from now on, in [`Handler::reports`] (tests).
    #[cfg(any(test, feature = "testing"))]
    pub fn keep_reports(mut self) -> Self {
        self.reports = Some(Default::default());
        self
    }

    /// Replaces the wall clock used for alert claims and queue ages (tests): epoch seconds.
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the wall clock in epoch milliseconds, compared with SQS `SentTimestamp` (tests).
    pub fn with_clock_ms(mut self, clock_ms: fn() -> i64) -> Self {
        self.clock_ms = clock_ms;
        self
    }

    /// Handles one invocation payload (JSON text). Returns the response, or an error when the
    /// invocation must be retried. Prints the invocation's counts as an EMF line.
    pub async fn handle(&self, payload: &str) -> Result<Value, RetryableError> {
        self.handle_until(payload, None).await
    }

    /// [`Handler::handle`] for an invocation that must end by `deadline` (the runtime's
    /// `Context::deadline`): no work is started that could not finish before it.
    pub async fn handle_until(
        &self,
        payload: &str,
        deadline: Option<std::time::Instant>,
    ) -> Result<Value, RetryableError> {
        let inv = Invocation::until(deadline);
        let (result, counts) = self.handle_in(payload, &inv).await;
        println!("{}", emf(&counts, metrics::now_ms()));
        result
    }

    /// [`Handler::handle`] without printing and without a deadline: the response and the
    /// invocation's counts.
    pub async fn handle_counted(&self, payload: &str) -> (Result<Value, RetryableError>, Counts) {
        self.handle_in(payload, &Invocation::default()).await
    }

    /// One invocation, within `inv`'s limits.
    pub async fn handle_in(
        &self,
        payload: &str,
        inv: &Invocation,
    ) -> (Result<Value, RetryableError>, Counts) {
        let mut counts = Counts::default();
        let result = if let Some(job) = s3::batch_job(payload) {
            Ok(self.handle_batch(&job, inv, &mut counts).await)
        } else if sqs::is_sqs(payload) {
            Ok(self.handle_sqs(payload, inv, &mut counts).await)
        } else if audit::is_audit(payload) {
            // Boxed: the audit's SDK futures would make every invocation's future larger.
            Box::pin(self.scheduled_audit(inv, &mut counts)).await
        } else if let Some((time, rule)) = heartbeat::heartbeat(payload.as_bytes()) {
            match self.beat(&time, &rule, inv, &mut counts).await {
                Ok(()) => Ok(json!({})),
                Err(Some(first)) => Err(RetryableError::Publish { failed: 1, first }),
                Err(None) => Err(RetryableError::OutOfTime),
            }
        } else {
            match s3::notice(payload) {
                notice @ (Notice::Objects { .. } | Notice::Ignored(_)) => {
                    let objects = self.accept(notice, "event", &mut counts);
                    let mut seen = HashSet::new();
                    let (mut failed, mut first) = (0, None);
                    for obj in &objects {
                        if let ObjectOutcome::Failed { retry: true, why } =
                            // Boxed: an object's future is large (S3, SNS, Security Hub).
                            Box::pin(self.read_object(obj, &mut seen, inv, &mut counts))
                                    .await
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
                    .process_in(&[direct(message.as_bytes())], inv, &mut counts)
                    .await
                    .pop()
                    .unwrap_or(Ok(()))
                    .map(|()| json!({})),
                Notice::NotS3 => self
                    .process_in(&[direct(payload.as_bytes())], inv, &mut counts)
                    .await
                    .pop()
                    .unwrap_or(Ok(()))
                    .map(|()| json!({})),
            }
        };
        counts.store_skipped += inv.store_skipped();
        counts.out_of_time += u64::from(inv.ran_out_of_time());
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

    /// Reads every record of one input, publishes the alerts. `Err` when the input must be
    /// retried (an alert not published).
    pub async fn process(
        &self,
        bytes: &[u8],
        source: &str,
        counts: &mut Counts,
    ) -> Result<(), RetryableError> {
        let inputs = [Input {
            source: source.to_owned(),
            bytes,
            queued: None,
        }];
        let inv = Invocation::default();
        let result = self
            .process_in(&inputs, &inv, counts)
            .await
            .pop()
            .unwrap_or(Ok(()));
        counts.store_skipped += inv.store_skipped();
        result
    }

    /// [`Handler::process_in`] for named inputs that are not queued messages, without a
    /// deadline.
    pub async fn process_inputs(
        &self,
        inputs: &[(String, &[u8])],
        counts: &mut Counts,
    ) -> Vec<Result<(), RetryableError>> {
        let inputs: Vec<Input> = inputs
            .iter()
            .map(|(source, bytes)| Input {
                source: source.clone(),
                bytes,
                queued: None,
            })
            .collect();
        let inv = Invocation::default();
        let results = self.process_in(&inputs, &inv, counts).await;
        counts.store_skipped += inv.store_skipped();
        results
    }

    /// Processes the records of several inputs (an SQS batch) together, in eventTime order, so
    /// that a session issued in one message attributes a use in another; then publishes their
    /// alerts, [`PUBLISH_CONCURRENCY`] at a time. One result per input: `Err` when the input
    /// must be retried (an alert not published, a claim held elsewhere, a record waiting for
    /// its `AssumeRoot` call, or the deadline).
    pub async fn process_in(
        &self,
        inputs: &[Input<'_>],
        inv: &Invocation,
        counts: &mut Counts,
    ) -> Vec<Result<(), RetryableError>> {
        let mut pending: Vec<Pending> = Vec::new();
        for (n, input) in inputs.iter().enumerate() {
            self.decode_input(n, &input.source, input.bytes, &mut pending, counts);
        }
        // Records without a readable eventTime go last, in arrival order.
        pending.sort_by_key(|p| p.time.unwrap_or(i64::MAX));
        let mut results: Vec<Result<(), RetryableError>> = inputs.iter().map(|_| Ok(())).collect();
        let mut alerts: Vec<(usize, Alert)> = Vec::new();
        let mut findings: Vec<(usize, crate::core::asff::Document)> = Vec::new();
        for p in &pending {
            let Ok(rec) = self.pipeline.parse(&p.json, p.enveloped) else {
                continue;
            };
            let input = InputRef {
                file: inputs[p.input].source.clone(),
                index: p.index,
            };
            let report = self.analyse(&rec, input, true, inv, counts).await;
            let note = if Pipeline::awaits_issuing_call(&rec, &report) {
                match self.wait_for_issuer(inputs[p.input].queued) {
                    Wait::Hold => {
                        counts.held_for_assume_root += 1;
                        tracing::info!(source = %inputs[p.input].source, index = p.index, "root request with a temporary key and no known session: returned to the queue to wait for its AssumeRoot call");
                        RetryableError::add_waiting(&mut results[p.input]);
                        continue;
                    }
                    Wait::Waited(note) | Wait::Unqueued(note) => Some(note),
                }
            } else {
                None
            };
            if let Some(a) = alert::build_with(
                &report,
                self.config.min_severity,
                self.config.format,
                note.as_deref(),
            ) {
                alerts.push((p.input, a));
            }
            if let Some(hub) = &self.security_hub {
                findings.extend(security_hub::documents(
                    &report,
                    self.config.min_severity,
                    &hub.target,
                    p.input,
                    (self.clock)(),
                ));
            }
        }
        for (input, delivery) in self.deliver(alerts, inv, counts).await {
            if let Delivery::Retry { why } = delivery {
                RetryableError::add(&mut results[input], why);
            }
        }
        // Security Hub after SNS, whatever SNS did: a sink's failure neither blocks nor
        // repeats the other's delivery.
        if let Some(hub) = &self.security_hub {
            security_hub::import(hub, findings, &mut results, inv, counts).await;
        }
        results
    }

    /// The pipeline on one parsed record (its session's origin from memory, after the shared
    /// table was asked for what memory lacks), and the counts. With `learn`, the session the
    /// record issues is remembered too (the S3 path learned it in its first pass).
    async fn analyse(
        &self,
        rec: &Record<'_>,
        input: InputRef,
        learn: bool,
        inv: &Invocation,
        counts: &mut Counts,
    ) -> crate::core::model::RecordReport {
        self.fetch_sessions(rec, inv, counts).await;
        let mut report = self.pipeline.report(rec, input, &self.local);
        let found = self.pattern_findings(&report, inv, counts).await;
        report.findings.extend(found);
        if self.config.suppressions.is_some() {
            let suppressions = Box::pin(self.suppressions(counts)).await; // boxed: a rare S3 read
            let now = (self.clock)();
            counts.suppressed += self.pipeline.suppress(&mut report, &suppressions, now) as u64;
        }
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
                if let Some(shared) = self.shared_store(inv) {
                    if let Err(e) = shared.save(&session).await {
                        let mut t = claims::Tally::default();
                        self.store_failed(&e, inv, &mut t);
                        counts.store_errors += t.store_errors;
                    }
                }
            }
        }
        counts.records += 1;
        counts.records_with_origin += u64::from(report.origin.is_some());
        *counts.by_class.entry(report.principal.class).or_default() += 1;
        for f in report.findings.iter().filter(|f| !f.is_suppressed()) {
            *counts.findings.entry(f.rule).or_default() += 1;
        }
        report
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
    /// a function without a table (or whose table failed in this invocation), make no call.
    async fn fetch_sessions(&self, rec: &Record<'_>, inv: &Invocation, counts: &mut Counts) {
        if self.shared.is_none() {
            return;
        }
        let Some(Lookup { key, at, own_event }) = Pipeline::lookup(rec) else {
            return;
        };
        // Ask the table for each link this instance does not know, once, then walk again.
        let mut asked: Vec<String> = Vec::new();
        while let Some((k, _)) = self.local.missing_link(&key, at, own_event.as_deref()) {
            if asked.contains(&k) || asked.len() >= MAX_CHAIN {
                break;
            }
            let Some(shared) = self.shared_store(inv) else {
                break;
            };
            match shared.sessions(&k).await {
                Ok(all) => all.into_iter().for_each(|s| {
                    self.local.learn(s);
                }),
                Err(e) => {
                    let mut t = claims::Tally::default();
                    self.store_failed(&e, inv, &mut t);
                    counts.store_errors += t.store_errors;
                    break;
                }
            }
            asked.push(k);
        }
    }
}

/// A direct invocation's payload as the one input of a batch.
fn direct(bytes: &[u8]) -> Input<'_> {
    Input {
        source: "event".to_owned(),
        bytes,
        queued: None,
    }
}

#[cfg(test)]
mod tests;
