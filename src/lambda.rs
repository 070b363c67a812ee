//! The Lambda adapter: EventBridge events (direct invocation) and SQS batches whose bodies are
//! EventBridge events, through the same core as `replay`, alerts to a [`Publisher`].
//!
//! Failure policy: a failed publish is an error (EventBridge → Lambda retries the invocation and
//! then its on-failure destination keeps the event; SQS → the message is reported in
//! `batchItemFailures` and redelivered). Malformed input is logged, counted and acknowledged:
//! retrying it cannot help.

use crate::alert::{self, Alert, AlertFormat};
use crate::analyze::analyze;
use crate::input::{self, Item};
use crate::model::{InputRef, PrincipalClass, RecordReport, Rule, Severity};
use crate::record::Record;
use crate::sanitize::clean;
use crate::sns::{PublishError, Publisher};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Mutex;

/// Capacity of the per-instance duplicate cache (eventIDs already alerted).
pub const DEDUP_CAPACITY: usize = 10_000;

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
    /// Reads `SNS_TOPIC_ARN` (required), `MIN_SEVERITY` (default `medium`) and `ALERT_FORMAT`
    /// (`standard` or `chatbot`).
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
        Ok(Config {
            topic_arn,
            min_severity,
            format,
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
}

/// Why an invocation must be retried.
#[derive(Debug, thiserror::Error)]
#[error("{failed} alert(s) could not be published; the invocation fails so that Lambda retries it: {first}")]
pub struct RetryableError {
    pub failed: usize,
    pub first: PublishError,
}

/// Bounded set of recently alerted eventIDs (oldest forgotten first).
#[derive(Debug, Default)]
struct Dedup {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Dedup {
    fn insert(&mut self, id: &str) {
        if self.set.insert(id.to_owned()) {
            self.order.push_back(id.to_owned());
            if self.order.len() > DEDUP_CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// The function: configuration, a publisher, and per-instance state.
pub struct Handler<P> {
    pub config: Config,
    pub publisher: P,
    seen: Mutex<Dedup>,
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

impl<P: Publisher> Handler<P> {
    pub fn new(config: Config, publisher: P) -> Self {
        Handler {
            config,
            publisher,
            seen: Mutex::new(Dedup::default()),
        }
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
        let mut failures = Vec::new();
        for msg in &event.records {
            let id = msg.message_id.clone().unwrap_or_default();
            let body = msg.body.as_deref().unwrap_or("");
            let source = format!("sqs:{}", clean(&id, 80));
            if let Err(e) = self.process(body.as_bytes(), &source, counts).await {
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
        let mut reports: Vec<RecordReport> = Vec::new();
        let decoded = input::decode_stream(bytes, &mut |item: Item<'_>| {
            match item {
                Item::Record { index, json, .. } => match Record::from_json(json) {
                    Ok(rec) => reports.push(analyze(
                        &rec,
                        InputRef {
                            file: source.to_owned(),
                            index,
                        },
                    )),
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
        let mut alerts: Vec<Alert> = Vec::new();
        for r in &reports {
            counts.records += 1;
            *counts.by_class.entry(r.principal.class).or_default() += 1;
            for f in &r.findings {
                *counts.findings.entry(f.rule).or_default() += 1;
            }
            if let Some(a) = alert::build(r, self.config.min_severity, self.config.format) {
                alerts.push(a);
            }
        }
        let mut failed = 0;
        let mut first = None;
        for a in &alerts {
            if let Some(id) = a.event_id.as_deref() {
                if self.seen.lock().expect("dedup lock").set.contains(id) {
                    counts.duplicates_skipped += 1;
                    tracing::info!(event_id = %id, "duplicate delivery; already alerted");
                    continue;
                }
            }
            match self.publisher.publish(a).await {
                Ok(()) => {
                    counts.alerts_published += 1;
                    if let Some(id) = a.event_id.as_deref() {
                        self.seen.lock().expect("dedup lock").insert(id);
                    }
                    tracing::info!(event_id = a.event_id.as_deref().unwrap_or("-"), severity = %a.severity, subject = %a.subject, "alert published");
                }
                Err(e) => {
                    counts.publish_failures += 1;
                    failed += 1;
                    tracing::error!(event_id = a.event_id.as_deref().unwrap_or("-"), error = %e, "alert publish failed");
                    first.get_or_insert(e);
                }
            }
        }
        match first {
            None => Ok(()),
            Some(first) => Err(RetryableError { failed, first }),
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

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
