//! One finding as an OCSF Detection Finding (`--format ocsf`): a pure mapping from a record's
//! report and one of its findings to a JSON document, one per line.
//!
//! Every string taken from the record was sanitized when the report was built
//! (`core::sanitize`, as for the titles of alerts); serde_json escapes what JSON needs.

use crate::core::finding_uid;
use crate::core::model::{Finding, RecordReport, Severity};
use serde_json::{json, Map, Value};

/// The OCSF version of the documents: the newest the pinned validator (`py-ocsf-models` 0.10.0,
/// `requirements-test.txt`) models.
/// <https://schema.ocsf.io/1.5.0/classes/detection_finding>
pub const OCSF_VERSION: &str = "1.5.0";

/// Detection Finding: class 2004 in category 2 (Findings); activity 1 (Create), so `type_uid` is
/// `class_uid * 100 + activity_id` = 200401.
/// <https://schema.ocsf.io/1.5.0/classes/detection_finding>
pub const CLASS_UID: u32 = 2004;
/// The Findings category. <https://schema.ocsf.io/1.5.0/categories/findings>
pub const CATEGORY_UID: u32 = 2;
/// `type_uid` of a Detection Finding: Create.
pub const TYPE_UID: u32 = 200401;

/// `severity_id` and its caption: Informational 1, Low 2, Medium 3, High 4, Critical 5.
/// <https://schema.ocsf.io/1.5.0/classes/detection_finding>
pub fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// The `time` of a finding: the record's `eventTime` in epoch milliseconds, else `now_ms` (a
/// record without a readable time; the id does not depend on it).
pub fn time_ms(report: &RecordReport, now_ms: i64) -> i64 {
    report
        .event_time
        .as_deref()
        .and_then(crate::core::time::parse)
        .map_or(now_ms, |s| s.saturating_mul(1000))
}

/// An AWS account object (type_id 10, "AWS Account"). The record has no account name; the
/// pinned validator requires `name`, so it is the account id.
/// <https://schema.ocsf.io/1.5.0/objects/account>
fn account(uid: &str) -> Value {
    json!({"uid": uid, "name": uid, "type_id": 10, "type": "AWS Account"})
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        m.insert(k.to_owned(), Value::String(v.to_owned()));
    }
}

/// The actor as OCSF's own CloudTrail mapping (API Activity, as Amazon Security Lake and the
/// OpenSearch CloudTrail log type map it) fills it: `userIdentity.type` → `user.type`, `arn` →
/// `user.uid`, `principalId` → `user.uid_alt`, `userName` → `user.name`, `accessKeyId` →
/// `user.credential_uid`, `accountId` → `user.account.uid`, `sessionIssuer.arn` →
/// `session.issuer`, `mfaAuthenticated` → `session.is_mfa`, `invokedBy` → `invoked_by`.
/// <https://docs.opensearch.org/docs/security-analytics/log-types-reference/cloudtrail>
fn actor(report: &RecordReport) -> Value {
    let p = &report.principal;
    let mut user = Map::new();
    put(&mut user, "uid", p.arn.as_deref());
    put(&mut user, "uid_alt", p.principal_id.as_deref());
    put(&mut user, "name", p.user_name.as_deref());
    put(&mut user, "credential_uid", p.access_key_id.as_deref());
    // OCSF's user type_id has no CloudTrail identity types: Other (99), with the recorded name.
    match p.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => {
            user.insert("type".into(), json!(k));
            user.insert("type_id".into(), json!(99));
        }
        None => {
            user.insert("type".into(), json!("Unknown"));
            user.insert("type_id".into(), json!(0));
        }
    }
    if let Some(a) = p.account_id.as_deref().filter(|a| !a.is_empty()) {
        user.insert("account".into(), account(a));
    }
    let mut actor = Map::new();
    actor.insert("user".into(), Value::Object(user));
    let mut session = Map::new();
    put(&mut session, "issuer", p.session_issuer.as_deref());
    if let Some(mfa) = p.mfa_authenticated {
        session.insert("is_mfa".into(), json!(mfa));
    }
    if !session.is_empty() {
        actor.insert("session".into(), Value::Object(session));
    }
    put(&mut actor, "invoked_by", p.invoked_by.as_deref());
    Value::Object(actor)
}

/// `eventName` → `api.operation`, `errorCode` → `api.response.error` (the same page). OCSF's
/// mapping puts `eventSource` in `api.service.name`, but the pinned validator requires a service's
/// `uid` and `version` too, which a CloudTrail record does not have: `eventSource` is in
/// `evidences[0].data.event_source` instead.
fn api(report: &RecordReport) -> Value {
    let mut api = Map::new();
    api.insert(
        "operation".into(),
        json!(report.event_name.as_deref().unwrap_or("unknown")),
    );
    if let Some(e) = report.error_code.as_deref() {
        api.insert("response".into(), json!({"error": e}));
    }
    Value::Object(api)
}

/// `sourceIPAddress` → `src_endpoint.ip` when it is an address, else `src_endpoint.domain` (an
/// AWS service name such as `cloudtrail.amazonaws.com`).
fn src_endpoint(report: &RecordReport) -> Option<Value> {
    let s = report.source_ip.as_deref()?;
    Some(if s.parse::<core::net::IpAddr>().is_ok() {
        json!({"ip": s})
    } else {
        json!({"domain": s})
    })
}

/// One sentence on what happened, for `finding_info.desc`.
pub fn description(report: &RecordReport, finding: &Finding) -> String {
    let p = &report.principal;
    let mut d = format!(
        "{}: {}:{} by {} ({}) in account {}, region {}, at {}",
        finding.title.trim_end_matches('.'),
        report.event_source.as_deref().unwrap_or("?"),
        report.event_name.as_deref().unwrap_or("?"),
        p.who(),
        p.class,
        finding_uid::account(report),
        report.aws_region.as_deref().unwrap_or("-"),
        report.event_time.as_deref().unwrap_or("-"),
    );
    if let Some(ip) = report.source_ip.as_deref() {
        d.push_str(&format!(" from {ip}"));
    }
    d.push('.');
    if let Some(o) = &report.origin {
        d.push_str(&format!(" Session origin: {}.", o.describe()));
    }
    if let Some(t) = finding.task {
        d.push_str(&format!(" Task: {t}."));
    }
    d.push_str(&format!(" See {}", finding.doc));
    crate::core::sanitize::clean(&d, 4000)
}

/// The Detection Finding of one finding. `now_ms` is used only when the record has no readable
/// `eventTime`.
pub fn document(report: &RecordReport, finding: &Finding, now_ms: i64) -> Value {
    let uid = finding_uid::uid(report, finding);
    let (severity_id, severity_name) = severity(finding.severity);
    let account_id = finding_uid::account(report);
    let mut cloud = Map::new();
    cloud.insert("provider".into(), json!("AWS"));
    put(&mut cloud, "region", report.aws_region.as_deref());
    if account_id != "unknown" {
        cloud.insert("account".into(), account(account_id));
    }
    let mut types = vec![finding.rule.as_str().to_owned()];
    if let Some(t) = finding.task {
        types.push(format!("task:{t}"));
    }
    // Evidence: the record itself, as OCSF's CloudTrail mapping would carry it.
    let mut evidence = Map::new();
    evidence.insert("name".into(), json!("AWS CloudTrail record"));
    evidence.insert("actor".into(), actor(report));
    evidence.insert("api".into(), api(report));
    if let Some(s) = src_endpoint(report) {
        evidence.insert("src_endpoint".into(), s);
    }
    if let Some(ua) = report.user_agent.as_deref() {
        evidence.insert("http_request".into(), json!({"user_agent": ua}));
    }
    let mut data = Map::new();
    put(&mut data, "event_id", report.event_id.as_deref());
    put(&mut data, "event_source", report.event_source.as_deref());
    put(&mut data, "event_time", report.event_time.as_deref());
    evidence.insert("data".into(), Value::Object(data));
    // What OCSF has no attribute for.
    let mut unmapped = Map::new();
    put(&mut unmapped, "event_id", report.event_id.as_deref());
    unmapped.insert("principal_class".into(), json!(report.principal.class));
    put(
        &mut unmapped,
        "session_name",
        report.principal.session_name.as_deref(),
    );
    put(
        &mut unmapped,
        "source_identity",
        report.principal.source_identity.as_deref(),
    );
    if let Some(o) = &report.origin {
        unmapped.insert("session_origin".into(), json!(o));
    }
    if let Some(t) = finding.task {
        unmapped.insert("task".into(), json!(t.as_str()));
    }
    unmapped.insert(
        "input".into(),
        json!({"file": report.input.file, "index": report.input.index}),
    );
    // A finding a suppression covers stays in the output as OCSF's "Suppressed" status, with the
    // entry's reason and last day; others are "New".
    // <https://schema.ocsf.io/1.5.0/classes/detection_finding>
    let (status_id, status) = match &finding.suppressed {
        Some(_) => (3, "Suppressed"),
        None => (1, "New"),
    };
    let mut doc = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": TYPE_UID,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": status_id,
        "status": status,
        "time": time_ms(report, now_ms),
        "message": finding.title,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": uid,
            "profiles": ["cloud", "host"],
            "product": {
                "name": "rootwatch",
                "vendor_name": "rootwatch",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "finding_info": {
            "uid": uid,
            "title": finding.title,
            "desc": description(report, finding),
            "analytic": {
                "uid": finding.rule.as_str(),
                "name": finding.rule.as_str(),
                "type_id": 1,
                "type": "Rule",
            },
            "types": types,
            "src_url": finding.doc,
            "data_sources": ["AWS CloudTrail"],
        },
        "cloud": cloud,
        "api": api(report),
        "actor": actor(report),
        "evidences": [evidence],
        "unmapped": unmapped,
    });
    if let Some(sup) = &finding.suppressed {
        doc["status_detail"] = json!(format!("suppressed until {}: {}", sup.expires, sup.reason));
    }
    doc
}

/// Every finding of a report, one document each (replay's `--min-severity` has already dropped
/// the findings below it).
pub fn documents(report: &RecordReport, now_ms: i64) -> Vec<Value> {
    report
        .findings
        .iter()
        .map(|f| document(report, f, now_ms))
        .collect()
}
