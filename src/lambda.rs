//! The Lambda adapter: EventBridge events (direct invocation) and SQS batches whose bodies are
//! EventBridge events, through the same core as `replay`, alerts to a [`Publisher`].
//!
//! Failure policy: a failed publish is an error (EventBridge → Lambda retries the invocation and
//! then its on-failure destination keeps the event; SQS → the message is reported in
//! `batchItemFailures` and redelivered). Malformed input is logged, counted and acknowledged:
//! retrying it cannot help.

use crate::alert::{self, Alert, AlertFormat};
use crate::analyze::{analyze, session_lookup};
use crate::input::{self, Item};
use crate::model::{InputRef, Origin, PrincipalClass, Rule, Severity};
use crate::record::Record;
use crate::rules::RuleConfig;
use crate::sanitize::clean;
use crate::session::{Session, MAX_CHAIN};
use crate::sns::{PublishError, Publisher};
use crate::store::{Claim, MemoryStore, SessionStore, StoreError};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
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
    /// `DETECTOR_RESOURCES` (comma-separated lists).
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
        Ok(Config {
            topic_arn,
            min_severity,
            format,
            sessions_table,
            rules,
        })
    }
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
}

/// Why an invocation must be retried.
#[derive(Debug, thiserror::Error)]
#[error("{failed} alert(s) could not be published; the invocation fails so that Lambda retries it: {first}")]
pub struct RetryableError {
    pub failed: usize,
    pub first: PublishError,
}

/// The function: configuration, a publisher, the instance's memory and the shared store.
///
/// Sessions and alert claims always go to the instance's [`MemoryStore`]; with a shared store
/// (`SESSIONS_TABLE`) they also go there, so that every instance sees them. When the shared store
/// fails, detection goes on with memory alone (logged once, counted each time).
pub struct Handler<P, S = MemoryStore> {
    pub config: Config,
    pub publisher: P,
    pub local: MemoryStore,
    pub shared: Option<S>,
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

impl<P: Publisher, S: SessionStore> Handler<P, S> {
    pub fn with_store(config: Config, publisher: P, shared: Option<S>) -> Self {
        Handler {
            config,
            publisher,
            local: MemoryStore::default(),
            shared,
            degraded: AtomicBool::new(false),
            clock: now_s,
        }
    }

    /// Replaces the wall clock used for alert claims (tests).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    /// Handles one invocation payload (JSON text). Returns the response, or an error when the
    /// invocation must be retried.
    pub async fn handle(&self, payload: &str) -> Result<Value, RetryableError> {
        let mut counts = Counts::default();
        let result = if is_sqs(payload) {
            Ok(self.handle_sqs(payload, &mut counts).await)
        } else {
            self.process(payload.as_bytes(), "event", &mut counts)
                .await
                .map(|()| json!({}))
        };
        println!("{}", emf(&counts, now_ms()));
        result
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
        let inputs: Vec<(String, &[u8])> = event
            .records
            .iter()
            .map(|msg| {
                let id = msg.message_id.as_deref().unwrap_or_default();
                let body = msg.body.as_deref().unwrap_or("");
                (format!("sqs:{}", clean(id, 80)), body.as_bytes())
            })
            .collect();
        let results = self.process_inputs(&inputs, counts).await;
        let mut failures = Vec::new();
        for (msg, result) in event.records.iter().zip(results) {
            if let Err(e) = result {
                let id = msg.message_id.clone().unwrap_or_default();
                tracing::error!(message_id = %clean(&id, 80), error = %e, "alert not published; message returned to the queue");
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
            let Ok(rec) = Record::from_json(&p.json) else {
                continue;
            };
            let origin = self.origin(&rec, counts).await;
            let input = InputRef {
                file: inputs[p.input].0.clone(),
                index: p.index,
            };
            let report = analyze(&rec, input, origin, &self.config.rules);
            if let Some(session) = Session::from_report(&report) {
                counts.sessions_learned += 1;
                self.local.learn(session.clone());
                if let Some(shared) = &self.shared {
                    if let Err(e) = shared.save(&session).await {
                        self.store_failed(&e, counts);
                    }
                }
            }
            counts.records += 1;
            counts.records_with_origin += u64::from(report.origin.is_some());
            *counts.by_class.entry(report.principal.class).or_default() += 1;
            for f in &report.findings {
                *counts.findings.entry(f.rule).or_default() += 1;
            }
            if let Some(a) = alert::build(&report, self.config.min_severity, self.config.format) {
                alerts.push((p.input, a));
            }
        }
        let mut results: Vec<Result<(), RetryableError>> = inputs.iter().map(|_| Ok(())).collect();
        for (input, a) in &alerts {
            if let Err(e) = self.publish_once(a, counts).await {
                match &mut results[*input] {
                    Ok(()) => {
                        results[*input] = Err(RetryableError {
                            failed: 1,
                            first: e,
                        })
                    }
                    Err(r) => r.failed += 1,
                }
            }
        }
        results
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
                        time: rec.event_time.as_deref().and_then(crate::time::parse),
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
        let own = crate::sanitize::field(rec.event_id.as_deref());
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
    for (class, n) in &c.by_class {
        metric(format!("Records_{class}"), *n);
    }
    for (rule, n) in &c.findings {
        metric(format!("Findings_{rule}"), *n);
    }
    let defs: Vec<Value> = values
        .keys()
        .map(|k| json!({ "Name": k, "Unit": "Count" }))
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
