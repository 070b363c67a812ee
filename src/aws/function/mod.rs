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

use crate::aws::s3::{
    self, Decoded, KeyKind, NoObjects, Notice, ObjectRef, ObjectSource, ResultCode,
};
use crate::aws::sns::{PublishError, Publisher};
use crate::aws::store::{Claim, MemoryStore, SessionStore, StoreError};
use crate::core::alert::{self, Alert, AlertFormat};
use crate::core::model::{InputRef, Origin, PrincipalClass, Rule, Severity};
use crate::core::pipeline::{analyze, session_lookup};
use crate::core::record::Record;
use crate::core::rules::RuleConfig;
use crate::core::sanitize::clean;
use crate::core::session::{Session, MAX_CHAIN};
use crate::input::{self, Item};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

/// Lambda's Invoke API accepts only valid JSON payloads, so the runtime always hands us JSON.
/// <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>
pub const INVOKE_DOC: &str = "https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html";
/// Partial batch responses: `{"batchItemFailures":[{"itemIdentifier": messageId}]}`.
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting>
pub const SQS_PARTIAL_BATCH_DOC: &str =
    "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html";

/// The function's configuration, read once at init.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub topic_arn: String,
    pub min_severity: Severity,
    pub format: AlertFormat,
    /// `SESSIONS_TABLE`: the DynamoDB table shared by every instance (sessions and alert claims).
    pub sessions_table: Option<String>,
    /// `WATCHED_ROLES`, `TRUSTED_ACCOUNTS`, `DETECTOR_RESOURCES`.
    pub rules: RuleConfig,
    /// `LOG_BUCKETS`: the only buckets whose objects are read; `None` reads any bucket.
    pub log_buckets: Option<Vec<String>>,
}

impl Config {
    /// A configuration with defaults for everything but the topic.
    pub fn for_topic(topic_arn: &str) -> Config {
        Config {
            topic_arn: topic_arn.to_owned(),
            min_severity: Severity::Medium,
            format: AlertFormat::Standard,
            sessions_table: None,
            rules: RuleConfig::default(),
            log_buckets: None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("SNS_TOPIC_ARN is not set: the function needs the ARN of the SNS topic to publish alerts to")]
    MissingTopic,
    #[error("{name}={value:?} is not valid: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
}

impl Config {
    /// Reads `SNS_TOPIC_ARN` (required), `MIN_SEVERITY` (default `medium`), `ALERT_FORMAT`
    /// (`standard` or `chatbot`), `SESSIONS_TABLE`, `WATCHED_ROLES`, `TRUSTED_ACCOUNTS` and
    /// `DETECTOR_RESOURCES` and `LOG_BUCKETS` (comma-separated lists).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let topic_arn = get("SNS_TOPIC_ARN")
            .filter(|s| !s.trim().is_empty())
            .ok_or(ConfigError::MissingTopic)?;
        if !topic_arn.starts_with("arn:") {
            return Err(ConfigError::Invalid {
                name: "SNS_TOPIC_ARN",
                value: topic_arn,
                why: "expected an ARN (arn:aws:sns:REGION:ACCOUNT:NAME)".into(),
            });
        }
        let min_severity = match get("MIN_SEVERITY").filter(|s| !s.is_empty()) {
            None => Severity::Medium,
            Some(v) => v.parse().map_err(|why| ConfigError::Invalid {
                name: "MIN_SEVERITY",
                value: v,
                why,
            })?,
        };
        let format = match get("ALERT_FORMAT") {
            None => AlertFormat::Standard,
            Some(v) => v.parse().map_err(|why| ConfigError::Invalid {
                name: "ALERT_FORMAT",
                value: v,
                why,
            })?,
        };
        let sessions_table = get("SESSIONS_TABLE").filter(|s| !s.trim().is_empty());
        if let Some(t) = &sessions_table {
            let ok = (3..=255).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !ok {
                return Err(ConfigError::Invalid {
                    name: "SESSIONS_TABLE",
                    value: t.clone(),
                    why: "a DynamoDB table name is 3-255 characters of a-z, A-Z, 0-9, _, - and ."
                        .into(),
                });
            }
        }
        let list = |name: &str| get(name).into_iter().collect::<Vec<_>>();
        let rules = RuleConfig::from_lists(&list("WATCHED_ROLES"), &list("TRUSTED_ACCOUNTS"))
            .map_err(|why| ConfigError::Invalid {
                name: "WATCHED_ROLES / TRUSTED_ACCOUNTS",
                value: format!(
                    "{} / {}",
                    get("WATCHED_ROLES").unwrap_or_default(),
                    get("TRUSTED_ACCOUNTS").unwrap_or_default()
                ),
                why,
            })?
            .with_detector_resources(&list("DETECTOR_RESOURCES"))
            .map_err(|why| ConfigError::Invalid {
                name: "DETECTOR_RESOURCES",
                value: get("DETECTOR_RESOURCES").unwrap_or_default(),
                why,
            })?;
        let log_buckets = match get("LOG_BUCKETS") {
            None => None,
            Some(v) => {
                let names: Vec<String> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|b| !b.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = names.iter().find(|b| !is_bucket_name(b)) {
                    return Err(ConfigError::Invalid {
                        name: "LOG_BUCKETS",
                        value: v.clone(),
                        why: format!(
                            "{bad:?} is not a bucket name (3-63 characters of a-z, 0-9, . and -)"
                        ),
                    });
                }
                (!names.is_empty()).then_some(names)
            }
        };
        Ok(Config {
            topic_arn,
            min_severity,
            format,
            sessions_table,
            rules,
            log_buckets,
        })
    }

    /// Whether objects of `bucket` may be read (`LOG_BUCKETS`).
    pub fn reads_bucket(&self, bucket: &str) -> bool {
        self.log_buckets
            .as_ref()
            .is_none_or(|l| l.iter().any(|b| b == bucket))
    }
}

/// General purpose bucket names: 3-63 characters of lower-case letters, digits, dots and hyphens.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>
fn is_bucket_name(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
}

/// What one invocation did; printed as CloudWatch Embedded Metric Format.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Counts {
    pub records: u64,
    pub by_class: BTreeMap<PrincipalClass, u64>,
    pub findings: BTreeMap<Rule, u64>,
    pub alerts_published: u64,
    pub publish_failures: u64,
    pub duplicates_skipped: u64,
    pub unreadable_inputs: u64,
    pub not_cloudtrail: u64,
    /// Records attributed to a session origin.
    pub records_with_origin: u64,
    /// Sessions learned from session-issuing calls.
    pub sessions_learned: u64,
    /// Failed calls to the shared session store (the function goes on with memory).
    pub store_errors: u64,
    /// S3 objects read to their end.
    pub objects_read: u64,
    /// Objects not downloaded because of their name: digest files, keys that are not
    /// `*.json.gz` / `*.json`, an object already read in this invocation.
    pub objects_skipped: u64,
    /// Objects of a bucket not in `LOG_BUCKETS`.
    pub objects_refused: u64,
    /// Objects acknowledged unread or partly read: missing, forbidden, corrupt.
    pub object_errors: u64,
    /// Objects to be read again (throttling, 5xx, timeouts, connection errors, or an alert of
    /// theirs not published).
    pub object_retries: u64,
    /// Bytes received from S3 (both passes, as stored: compressed).
    pub object_bytes: u64,
    /// Messages acknowledged without reading anything: `s3:TestEvent`, SNS subscription
    /// confirmations, S3 events other than a new object.
    pub notifications_ignored: u64,
}

impl Counts {
    fn touched_s3(&self) -> bool {
        self.objects_read
            + self.objects_skipped
            + self.objects_refused
            + self.object_errors
            + self.object_retries
            + self.notifications_ignored
            > 0
    }
}

/// Why an invocation must be retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryableError {
    #[error("{failed} alert(s) could not be published; the invocation fails so that Lambda retries it: {first}")]
    Publish { failed: usize, first: PublishError },
    #[error("{failed} object(s) could not be read or their alerts published; the invocation fails so that Lambda retries it: {first}")]
    Objects { failed: usize, first: String },
}

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
    degraded: AtomicBool,
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
}

impl<P: Publisher, S: SessionStore> Handler<P, S, NoObjects> {
    pub fn with_store(config: Config, publisher: P, shared: Option<S>) -> Self {
        Handler {
            config,
            publisher,
            local: MemoryStore::default(),
            shared,
            objects: NoObjects,
            degraded: AtomicBool::new(false),
            clock: now_s,
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
            degraded: self.degraded,
            clock: self.clock,
        }
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
        println!("{}", emf(&counts, now_ms()));
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

    /// An S3 Batch Operations invocation: each task's object, and the documented response.
    async fn handle_batch(&self, job: &s3::BatchJob, counts: &mut Counts) -> Value {
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
        let skip = match s3::key_kind(&obj.key) {
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
                        Decoded::Record { index, json } => {
                            let rec = match Record::from_json(&json) {
                                Ok(r) => r,
                                Err(e) => {
                                    counts.unreadable_inputs += 1;
                                    tracing::warn!(object = %url, index, error = %e, "not a CloudTrail record; acknowledged");
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

    fn object_failed(
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
            let Ok(rec) = Record::from_json(&p.json) else {
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

    /// The core on one record: its session's origin, the analysis, the counts and the alert to
    /// publish, if any. With `learn`, the session the record issues is remembered too (the S3
    /// path learned it in its first pass).
    async fn analyse(
        &self,
        rec: &Record<'_>,
        input: InputRef,
        learn: bool,
        counts: &mut Counts,
    ) -> Option<Alert> {
        let origin = self.origin(rec, counts).await;
        let report = analyze(rec, input, origin, &self.config.rules);
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
                Item::Record { index, json, .. } => match Record::from_json(json) {
                    Ok(rec) => pending.push(Pending {
                        input: n,
                        index,
                        time: rec.event_time.as_deref().and_then(crate::core::time::parse),
                        json: json.to_owned(),
                    }),
                    Err(e) => {
                        counts.unreadable_inputs += 1;
                        tracing::warn!(source, index, error = %e, "not a CloudTrail record; acknowledged");
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

    /// The origin of a record's session: the instance's memory first, then the shared store,
    /// hop by hop. Records without a temporary key make no call.
    async fn origin(&self, rec: &Record<'_>, counts: &mut Counts) -> Option<Origin> {
        let (key, at) = session_lookup(rec)?;
        let own = crate::core::sanitize::field(rec.event_id.as_deref());
        if let Some(shared) = &self.shared {
            // Ask the table for each link this instance does not know, once, then walk again.
            let mut asked: Vec<String> = Vec::new();
            while let Some((k, _)) = self.local.missing_link(&key, at, own.as_deref()) {
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
        self.local.origin(&key, at, own.as_deref())
    }

    /// Publishes an alert unless this or another instance already did (claims on its eventID).
    async fn publish_once(&self, a: &Alert, counts: &mut Counts) -> Result<(), PublishError> {
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

    fn duplicate(&self, id: &str, counts: &mut Counts) -> Result<(), PublishError> {
        counts.duplicates_skipped += 1;
        tracing::info!(event_id = %id, "duplicate delivery; already alerted");
        Ok(())
    }

    fn store_failed(&self, e: &StoreError, counts: &mut Counts) {
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

/// A short description of a payload for logs: its size and top-level keys, never its content.
pub fn shape(bytes: &[u8]) -> String {
    let keys: Vec<String> = serde_json::from_slice::<serde_json::Map<String, Value>>(bytes)
        .map(|m| m.keys().take(12).map(|k| clean(k, 40)).collect())
        .unwrap_or_default();
    if keys.is_empty() {
        format!("{} bytes, not a JSON object", bytes.len())
    } else {
        format!("{} bytes, keys [{}]", bytes.len(), keys.join(", "))
    }
}

/// CloudWatch Embedded Metric Format line for one invocation (namespace `rootwatch`).
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
pub fn emf(c: &Counts, timestamp_ms: u64) -> String {
    let mut values = serde_json::Map::new();
    let mut metric = |name: String, v: u64| {
        values.insert(name, json!(v));
    };
    metric("RecordsProcessed".into(), c.records);
    metric("AlertsPublished".into(), c.alerts_published);
    metric("PublishFailures".into(), c.publish_failures);
    metric("DuplicatesSkipped".into(), c.duplicates_skipped);
    metric("UnreadableInputs".into(), c.unreadable_inputs);
    metric("RecordsWithOrigin".into(), c.records_with_origin);
    metric("SessionsLearned".into(), c.sessions_learned);
    metric("StoreErrors".into(), c.store_errors);
    // Only invocations that dealt with S3 send these (metrics cost per name sent).
    if c.touched_s3() {
        metric("ObjectsRead".into(), c.objects_read);
        metric("ObjectsSkipped".into(), c.objects_skipped);
        metric("ObjectsRefused".into(), c.objects_refused);
        metric("ObjectErrors".into(), c.object_errors);
        metric("ObjectRetries".into(), c.object_retries);
        metric("ObjectBytes".into(), c.object_bytes);
        metric("NotificationsIgnored".into(), c.notifications_ignored);
    }
    for (class, n) in &c.by_class {
        metric(format!("Records_{class}"), *n);
    }
    for (rule, n) in &c.findings {
        metric(format!("Findings_{rule}"), *n);
    }
    let defs: Vec<Value> = values
        .keys()
        .map(|k| {
            let unit = if k == "ObjectBytes" { "Bytes" } else { "Count" };
            json!({ "Name": k, "Unit": unit })
        })
        .collect();
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{ "Namespace": "rootwatch", "Dimensions": [[]], "Metrics": defs }]
        }
    });
    doc.as_object_mut().expect("object").extend(values);
    doc.to_string()
}

fn now_s() -> i64 {
    (now_ms() / 1000) as i64
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
