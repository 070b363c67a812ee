//! What one invocation did, as counts, printed as one CloudWatch Embedded Metric Format line;
//! and the payload description used in logs.

use crate::core::model::{PrincipalClass, Rule};
use crate::core::sanitize::clean;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

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
    /// Store calls not made because the store had failed earlier in the invocation.
    pub store_skipped: u64,
    /// Alerts not published because another delivery held their claim (retried).
    pub claims_held: u64,
    /// Records returned to the queue to wait for their `AssumeRoot` call.
    pub held_for_assume_root: u64,
    /// Invocations that stopped starting work because their deadline was near (0 or 1).
    pub out_of_time: u64,
    /// Heartbeats published (the dead man's switch).
    pub heartbeats: u64,
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
    /// Findings a suppression covers (kept in the report, not published).
    pub suppressed: u64,
    /// Reads of the suppression file (`SUPPRESSIONS_S3_URI`).
    pub suppression_reads: u64,
    /// Reads of it that failed or were refused: nothing is suppressed until the next read.
    pub suppression_errors: u64,
    /// Expired entries seen at those reads (ignored).
    pub suppressions_expired: u64,
    /// Findings imported into Security Hub (`SECURITY_HUB=true`).
    pub security_hub_imported: u64,
    /// Findings not imported (refused, failed, or no time left): their inputs are retried.
    pub security_hub_failed: u64,
}

impl Counts {
    pub(super) fn touched_s3(&self) -> bool {
        self.objects_read
            + self.objects_skipped
            + self.objects_refused
            + self.object_errors
            + self.object_retries
            + self.notifications_ignored
            > 0
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
    metric("StoreSkipped".into(), c.store_skipped);
    metric("ClaimsHeld".into(), c.claims_held);
    metric("HeldForAssumeRoot".into(), c.held_for_assume_root);
    metric("DeadlineStops".into(), c.out_of_time);
    // Sent only after a heartbeat was published: the alarm treats a missing value as breaching.
    if c.heartbeats > 0 {
        metric("Heartbeat".into(), c.heartbeats);
    }
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
    // Only invocations that read the suppression file or suppressed a finding send these.
    if c.suppressed + c.suppression_reads + c.suppression_errors + c.suppressions_expired > 0 {
        metric("FindingsSuppressed".into(), c.suppressed);
        metric("SuppressionFileErrors".into(), c.suppression_errors);
        metric("SuppressionsExpired".into(), c.suppressions_expired);
    }
    // Only invocations that imported into Security Hub (or tried) send these.
    if c.security_hub_imported + c.security_hub_failed > 0 {
        metric("SecurityHubImported".into(), c.security_hub_imported);
        metric("SecurityHubFailed".into(), c.security_hub_failed);
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

pub(super) fn now_s() -> i64 {
    (now_ms() / 1000) as i64
}

pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
