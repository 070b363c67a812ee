//! The bodies of the fuzz targets, and their seed corpora built from `events/`.
//!
//! `fuzz/fuzz_targets/<target>.rs` (cargo fuzz, libFuzzer; `make fuzz`) and `tests/fuzz_seeds.rs`
//! (plain `cargo test`, every seed and every committed reproducer once) call the same functions
//! here. Each takes arbitrary bytes and panics when an invariant does not hold:
//!
//! - [`decode`]: every input shape (plain and gzip, one JSON document, `{"Records":[…]}`,
//!   EventBridge envelopes, arrays, JSON Lines) through the decoder and the core; the in-memory
//!   and streamed readers and the gzip reader agree; error texts are safe to print.
//! - [`lambda`]: the function's payload dispatch (SQS batch, EventBridge event, anything else)
//!   through [`Handler::handle`] with an in-memory publisher; every alert published is valid.
//! - [`record`]: one record through classify, the rules (both configurable rules on), analysis
//!   with a session tracker that attributes and learns, and the `jsonl` and table renderings.
//! - [`alert`]: attacker-chosen strings in realistic records, and arbitrary reports, through
//!   [`alert::build`] in both formats; SNS's subject and size rules hold.

use crate::aws::function::{Config, Handler};
use crate::aws::testing::FakePublisher;
use crate::cli::render::Table;
use crate::core::alert::{self, Alert, AlertFormat, MAX_MESSAGE_BYTES, MAX_SUBJECT};
use crate::core::classify::classify;
use crate::core::model::{
    Finding, Hop, InputRef, Origin, Principal, PrincipalClass, RecordReport, Rule, Severity, Task,
};
use crate::core::pipeline::{NoOrigins, Pipeline};
use crate::core::record::Record;
use crate::core::rules::{evaluate, Context, RuleConfig};
use crate::core::sanitize::is_clean;
use crate::core::session::{Session, SessionTracker};
use crate::input::{self, DecodeError, Item, SLURP_LIMIT};
use crate::replay::Output;
use serde_json::{json, Value};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The fuzz targets, by name (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &["decode", "lambda", "record", "alert"];

/// Runs one target's body on `data`.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "decode" => decode(data),
        "lambda" => lambda(data),
        "record" => record(data),
        "alert" => alert(data),
        other => panic!("unknown fuzz target {other:?}"),
    }
}

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:rootwatch";

/// Both configurable rules on, as a deployment would have them.
fn rule_config() -> RuleConfig {
    RuleConfig::from_lists(
        &["arn:aws:iam::*:role/BreakGlass*, arn:aws:iam::444455556666:role/*Admin*".into()],
        &["111122223333 222233334444".into()],
    )
    .expect("valid rule config")
}

fn input_ref() -> InputRef {
    InputRef {
        file: "fuzz".into(),
        index: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// decode

/// What one decoder run handed over, as text, and how it ended.
#[derive(Debug, PartialEq)]
struct Decoded {
    items: Vec<String>,
    end: String,
}

fn decode_with(
    data: &[u8],
    lines: bool,
    limit: usize,
    analyse: bool,
    config: &RuleConfig,
) -> Decoded {
    let mut items = Vec::new();
    let mut sink = |item: Item<'_>| -> Result<(), input::Stop> {
        let (index, text) = match item {
            Item::Record {
                index,
                json,
                envelope,
            } => {
                if analyse {
                    if let Ok(rec) = Record::from_json(json) {
                        let pipeline = Pipeline::new(config.clone(), Severity::Info);
                        check_report(&pipeline.report(&rec, input_ref(), &NoOrigins));
                    }
                }
                (index, format!("record {envelope:?} {json}"))
            }
            Item::NotCloudTrail { index, detail_type } => {
                check_printable(&detail_type, "detail-type");
                (index, format!("other {detail_type}"))
            }
            Item::Bad { index, reason } => {
                check_printable(&reason, "error reason");
                (index, format!("bad {reason}"))
            }
        };
        // Indexes count every value handed over, from 0.
        assert_eq!(index, items.len() as u64, "index of {text}");
        items.push(text);
        Ok(())
    };
    let res = input::maybe_gunzip(data)
        .map_err(DecodeError::Io)
        .and_then(|r| {
            if lines {
                input::decode_lines(r, &mut sink)
            } else {
                input::decode_stream_within(r, limit, &mut sink)
            }
        });
    let end = match res {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            assert!(
                !matches!(e, DecodeError::Stopped(_)),
                "the sink never stops"
            );
            let text = e.to_string();
            check_printable(&text, "decode error");
            // serde_json's reader may place an error one column further than its slice parser
            // (see input.rs's own test), or one line further after a raw newline inside a
            // string: compare without the position.
            text.split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned()
        }
    };
    Decoded { items, end }
}

/// Arbitrary bytes through every input shape the decoder accepts, then the Lambda dispatch.
pub fn decode(data: &[u8]) {
    let config = rule_config();
    // A file as replay reads it (plain or gzip, one or several JSON values), each record analysed.
    let memory = decode_with(data, false, SLURP_LIMIT, true, &config);
    // An input above the in-memory limit is streamed: the same values and end.
    let streamed = decode_with(data, false, 0, false, &config);
    if memory.end.starts_with("read error") {
        // A corrupt gzip stream: read whole, it fails before parsing; streamed, the values
        // before the damage are handed over first. Either way the input ends in an error.
        assert_ne!(streamed.end, "ok", "a read error is lost when streaming");
    } else {
        assert_eq!(memory, streamed, "in-memory and streamed decoding differ");
    }
    // Gzip is detected by content: the compressed input decodes as the input.
    if !data.starts_with(&[0x1f, 0x8b]) {
        let gz = decode_with(&gzip(data), false, SLURP_LIMIT, false, &config);
        assert_eq!(memory, gz, "gzip and plain decoding differ");
    }
    // The same bytes as JSON Lines (`*.jsonl`, `*.ndjson`).
    decode_with(data, true, SLURP_LIMIT, true, &config);
    lambda(data);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("gzip to memory");
    gz.finish().expect("gzip to memory")
}

// ---------------------------------------------------------------------------------------------
// lambda

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("current-thread runtime");
    }
    RUNTIME.with(|rt| rt.block_on(f))
}

/// Invokes a fresh function (both configurable rules, every severity, in-memory publisher) with
/// one payload; checks every alert it published. Returns the response.
fn invoke(payload: &str, format: AlertFormat) -> Value {
    let mut config = Config::for_topic(TOPIC);
    config.format = format;
    config.min_severity = Severity::Info;
    config.rules = rule_config();
    let h = Handler::new(config, FakePublisher::default());
    let response = block_on(h.handle(payload)).expect("the in-memory publisher never fails");
    let sent = h.publisher.published();
    let mut ids: Vec<&str> = sent.iter().filter_map(|a| a.event_id.as_deref()).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "an event alerted twice");
    for a in &sent {
        check_alert(a, format);
    }
    response
}

fn sqs_message(id: &str, body: &str) -> Value {
    json!({
        "messageId": id, "receiptHandle": "h", "body": body, "attributes": {},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:rootwatch", "awsRegion": "us-east-1"
    })
}

fn eventbridge(detail: Value) -> Value {
    let source = detail
        .get("eventSource")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_suffix(".amazonaws.com"))
        .map_or("aws.cloudtrail".to_owned(), |s| format!("aws.{s}"));
    let detail_type = if detail.get("eventName").and_then(Value::as_str) == Some("ConsoleLogin") {
        "AWS Console Sign In via CloudTrail"
    } else {
        "AWS API Call via CloudTrail"
    };
    json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": detail_type,
        "source": source, "account": detail.get("recipientAccountId").cloned().unwrap_or(Value::Null),
        "time": detail.get("eventTime").cloned().unwrap_or(Value::Null),
        "region": detail.get("awsRegion").cloned().unwrap_or(Value::Null),
        "resources": [], "detail": detail
    })
}

/// Arbitrary bytes as a Lambda payload (an EventBridge event, an SQS batch, anything), as the
/// body of SQS messages (delivered twice), and as the detail of an EventBridge event.
pub fn lambda(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let format = if data.len().is_multiple_of(2) {
        AlertFormat::Standard
    } else {
        AlertFormat::Chatbot
    };
    invoke(text, format);
    let batch = json!({ "Records": [sqs_message("m-1", text), sqs_message("m-2", text)] });
    let response = invoke(&batch.to_string(), format);
    assert_eq!(response, json!({ "batchItemFailures": [] }), "SQS response");
    if let Ok(detail) = serde_json::from_str::<Value>(text) {
        if detail.is_object() {
            invoke(&eventbridge(detail).to_string(), format);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// record

/// The sessions the samples in `events/sessions/` issue, learned once.
fn sample_sessions() -> &'static [Session] {
    static SESSIONS: OnceLock<Vec<Session>> = OnceLock::new();
    SESSIONS.get_or_init(|| {
        const FILES: &[&str] = &[
            include_str!("../events/sessions/user-role-chain/111122223333_CloudTrail_us-east-1_20261120T0900Z_c.json"),
            include_str!("../events/sessions/user-role-chain/444455556666_CloudTrail_us-east-1_20261120T0905Z_b.json"),
            include_str!("../events/sessions/user-role-chain/555566667777_CloudTrail_us-east-1_20261120T0910Z_a.json"),
            include_str!("../events/sessions/sso-assumeroot/111122223333_CloudTrail_us-east-1_20261121T1400Z_b.json"),
            include_str!("../events/sessions/federation-token/111122223333_CloudTrail_us-east-1_20261122T0800Z_a.json"),
            include_str!("../events/sessions/expired-key-reused/111122223333_CloudTrail_us-east-1_20261122T1200Z_a.json"),
        ];
        let mut tracker = SessionTracker::default();
        for file in FILES {
            let _ = input::decode_stream(file.as_bytes(), &mut |item: Item<'_>| {
                if let Item::Record { index, json, .. } = item {
                    crate::replay::learn_record(json, "sample", index, &mut tracker);
                }
                Ok(())
            });
        }
        let mut all: Vec<Session> = tracker.into_sessions().collect();
        all.sort_by(|a, b| (&a.key, a.issued_at).cmp(&(&b.key, b.issued_at)));
        all
    })
}

/// A tracker that knows the sample sessions, so that fuzzed records using their keys are
/// attributed.
fn sample_tracker() -> SessionTracker {
    let mut t = SessionTracker::default();
    for s in sample_sessions() {
        t.learn(s.clone());
    }
    t
}

/// The report of one record, attributed from `tracker` as replay does.
fn report_with(rec: &Record, tracker: &SessionTracker, config: &RuleConfig) -> RecordReport {
    Pipeline::new(config.clone(), Severity::Info).report(rec, input_ref(), tracker)
}

/// Arbitrary bytes as one record: classify, rules, analysis with session tracking, renderings,
/// alerts.
pub fn record(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rec) = Record::from_json(text) else {
        return;
    };
    let config = rule_config();
    let principal = classify(&rec);
    check_strings(&serde_json::to_value(&principal).expect("principal serialises"));
    let ctx = Context {
        origin: None,
        config: &config,
    };
    let findings = evaluate(&rec, &principal, &ctx);
    assert_eq!(findings, evaluate(&rec, &principal, &ctx), "rules are pure");

    let mut tracker = sample_tracker();
    let report = report_with(&rec, &tracker, &config);
    check_report(&report);
    if report.origin.is_none() && report.principal.class == principal.class {
        // Analysis is classification and the rules, nothing more.
        assert_eq!(report.findings, findings, "analysis and the rules disagree");
    }
    // The tracker learns what the record issued; a use of the issued key is attributed to it.
    let (_, issued) = tracker.observe(&report);
    if let Some(s) = issued {
        assert!(
            s.expires_at > s.issued_at,
            "session ends before it starts: {s:?}"
        );
        let origin = tracker
            .origin(&s.key, s.issued_at + 1, None)
            .unwrap_or_else(|| panic!("a use of the key just issued has no origin: {s:?}"));
        let last = origin.last().expect("an origin has a chain");
        assert_eq!(last.access_key_id, s.key);
        check_strings(&serde_json::to_value(&origin).expect("origin serialises"));
    }
    for format in [AlertFormat::Standard, AlertFormat::Chatbot] {
        if let Some(a) = alert::build(&report, Severity::Info, format) {
            check_alert(&a, format);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// alert

/// Realistic records that alert, whose attacker-chosen fields the `alert` target replaces.
const TEMPLATES: &[&str] = &[
    // root console sign-in without MFA
    r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2026-11-23T04:12:09Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No","LoginTo":"https://console.aws.amazon.com/"},"eventID":"11111111-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#,
    // root credentials used in the console
    r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"ASIAROOTCONSOLE0001","invokedBy":"signin.amazonaws.com","sessionContext":{"sessionIssuer":{},"attributes":{"creationDate":"2026-11-23T04:12:09Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-23T04:15:37Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"AWS Internal","requestParameters":{"userName":"backdoor"},"responseElements":null,"eventID":"22222222-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#,
    // root-only task, failed, with an error message
    r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"AKIAROOTKEY00000001"},"eventTime":"2026-11-23T05:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","errorCode":"LimitExceeded","errorMessage":"Cannot exceed quota for AccessKeysPerUser: 2","requestParameters":{},"responseElements":null,"eventID":"33333333-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#,
    // sts:AssumeRoot by an Identity Center session
    r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:admin","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_RootAccess_0123456789abcdef/admin","accountId":"111122223333","accessKeyId":"ASIASSOADMIN0000001","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_RootAccess_0123456789abcdef","accountId":"111122223333","userName":"AWSReservedSSO_RootAccess_0123456789abcdef"},"attributes":{"creationDate":"2026-11-21T13:55:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-21T14:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRoot","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.22.0","requestParameters":{"targetPrincipal":"222233334444","taskPolicyArn":{"arn":"arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"},"durationSeconds":900},"responseElements":{"credentials":{"accessKeyId":"ASIAROOTSESSION0001","sessionToken":"x","expiration":"Nov 21, 2026, 2:15:00 PM"}},"eventID":"44444444-2222-3333-4444-555555555555","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#,
    // AssumeRole of a watched role from an untrusted account
    r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::999988887777:user/mallory","accountId":"999988887777","accessKeyId":"AKIAMALLORY00000001","userName":"mallory"},"eventTime":"2026-11-20T09:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10","userAgent":"Boto3/1.35.0","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/BreakGlassAdmin","roleSessionName":"mallory","sourceIdentity":"mallory@example.com","durationSeconds":3600},"responseElements":{"credentials":{"accessKeyId":"ASIABREAKGLASS00001","sessionToken":"x","expiration":"Nov 20, 2026, 10:00:00 AM"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLE:mallory","arn":"arn:aws:sts::444455556666:assumed-role/BreakGlassAdmin/mallory"}},"eventID":"55555555-2222-3333-4444-555555555555","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"444455556666"}"#,
    // root console sign-in failure
    r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2026-11-23T04:11:30Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"Mozilla/5.0","errorMessage":"Failed authentication","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"eventID":"66666666-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#,
];

/// A request made with the key a template issued (`KEY` and `TIME` are replaced).
const FOLLOW_UP: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"222233334444","arn":"arn:aws:iam::222233334444:root","accountId":"222233334444","accessKeyId":"KEY","sessionContext":{"attributes":{"creationDate":"TIME","mfaAuthenticated":"false"},"assumedRoot":"true"}},"eventTime":"TIME","eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.22.0","requestParameters":{"bucketName":"locked"},"responseElements":null,"eventID":"77777777-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"222233334444"}"#;

/// The fields the `alert` target sets, in the order of the input's chunks.
const FIELDS: &[&[&str]] = &[
    &["userAgent"],
    &["requestParameters", "roleSessionName"],
    &["userIdentity", "arn"],
    &["errorMessage"],
    &["requestParameters", "roleArn"],
    &["sourceIPAddress"],
    &["eventID"],
    &["userIdentity", "accountId"],
    &["awsRegion"],
    &["requestParameters", "sourceIdentity"],
    &["requestParameters", "taskPolicyArn", "arn"],
    &["requestParameters", "targetPrincipal"],
    &["responseElements", "credentials", "accessKeyId"],
    &["responseElements", "credentials", "expiration"],
    &["userIdentity", "principalId"],
    &["userIdentity", "userName"],
    &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
    &["errorCode"],
    &["eventName"],
    &["eventSource"],
    &["eventTime"],
    &["userIdentity", "type"],
    &["userIdentity", "invokedBy"],
    &["additionalEventData", "MFAUsed"],
    &["responseElements", "ConsoleLogin"],
    &["requestParameters", "durationSeconds"],
    &["requestParameters"],
];

/// Separates the chunks of an `alert` input (never part of UTF-8 text).
pub const ALERT_SEPARATOR: u8 = 0xff;
/// A chunk that starts with this byte is JSON to put in the field as is (when it parses).
pub const ALERT_RAW_JSON: u8 = 0xfe;

fn set_path(v: &mut Value, path: &[&str], new: Value) {
    let mut cur = v;
    for (i, key) in path.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let obj = cur.as_object_mut().expect("just made an object");
        if i + 1 == path.len() {
            obj.insert((*key).to_owned(), new);
            return;
        }
        cur = obj.entry(*key).or_insert_with(|| json!({}));
    }
}

fn chunk_value(chunk: &[u8]) -> Value {
    if let Some(raw) = chunk.strip_prefix(&[ALERT_RAW_JSON]) {
        if let Ok(v) = serde_json::from_slice::<Value>(raw) {
            return v;
        }
    }
    Value::String(String::from_utf8_lossy(chunk).into_owned())
}

/// Encodes an `alert` input: the control byte, then one chunk per field of [`FIELDS`] (in
/// realistic mode) or of the raw report (otherwise). Used to build seeds.
pub fn alert_input(control: u8, chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![control];
    for c in chunks {
        out.push(ALERT_SEPARATOR);
        out.extend_from_slice(c);
    }
    out
}

/// Control byte of an `alert` input: bit 0 the format (chatbot when set), bits 1-3 the minimum
/// severity, bit 4 raw mode (an arbitrary report instead of a record), bits 5-7 the template.
pub fn alert(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let format = if control & 1 == 1 {
        AlertFormat::Chatbot
    } else {
        AlertFormat::Standard
    };
    let min = Severity::ALL[usize::from(control >> 1 & 7) % Severity::ALL.len()];
    let chunks: Vec<&[u8]> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.strip_prefix(&[ALERT_SEPARATOR])
            .unwrap_or(rest)
            .split(|b| *b == ALERT_SEPARATOR)
            .collect()
    };
    if control & 0x10 != 0 {
        let report = raw_report(&chunks);
        alert_checked(&report, min, format);
        return;
    }
    let template = usize::from(control >> 5) % TEMPLATES.len();
    let mut rec: Value = serde_json::from_str(TEMPLATES[template]).expect("template parses");
    for (path, chunk) in FIELDS.iter().zip(&chunks) {
        set_path(&mut rec, path, chunk_value(chunk));
    }
    let text = rec.to_string();
    let rec = Record::from_json(&text).expect("a JSON object is a record");
    let config = rule_config();
    let mut tracker = sample_tracker();
    let report = report_with(&rec, &tracker, &config);
    check_report(&report);
    if let Some(a) = alert_checked(&report, min, format) {
        check_attributes(&a);
    }
    // A request made with the key the record issued: its alert names the session's origin.
    let (_, issued) = tracker.observe(&report);
    let (Some(_), Some(key), Some(time)) = (
        issued,
        report
            .assumption
            .as_ref()
            .and_then(|a| a.access_key_id.clone()),
        rec.event_time.as_deref(),
    ) else {
        return;
    };
    let follow = FOLLOW_UP
        .replace("\"KEY\"", &Value::String(key).to_string())
        .replace("\"TIME\"", &Value::String(time.to_owned()).to_string());
    let rec = Record::from_json(&follow).expect("follow-up parses");
    let report = report_with(&rec, &tracker, &config);
    check_report(&report);
    if let Some(a) = alert_checked(&report, min, format) {
        check_attributes(&a);
    }
}

/// Builds the alert and checks it, and that it is there exactly when a finding is at or above
/// `min`, led by the most severe one.
fn alert_checked(report: &RecordReport, min: Severity, format: AlertFormat) -> Option<Alert> {
    let top = report
        .findings
        .iter()
        .map(|f| f.severity)
        .filter(|s| *s >= min)
        .max();
    let a = alert::build(report, min, format);
    assert_eq!(a.as_ref().map(|a| a.severity), top, "alert severity");
    if let Some(a) = &a {
        check_alert(a, format);
    }
    a
}

/// An arbitrary report, its strings raw (not sanitised as analysis does), for the alert's own
/// last line of defence.
fn raw_report(chunks: &[&[u8]]) -> RecordReport {
    let mut it = chunks.iter().copied();
    let it = &mut it;
    fn next<'c, T: From<String>>(it: &mut impl Iterator<Item = &'c [u8]>) -> Option<T> {
        it.next()
            .map(|c| T::from(String::from_utf8_lossy(c).into_owned()))
    }
    let pick = |s: &Option<crate::core::model::Str>, n: usize| {
        s.as_deref()
            .and_then(|s| s.bytes().next())
            .map_or(0, |b| usize::from(b) % n)
    };
    let mut r = RecordReport {
        event_id: next(it),
        event_name: next(it),
        event_source: next(it),
        event_time: next(it),
        aws_region: next(it),
        source_ip: next(it),
        user_agent: next(it),
        error_code: next(it),
        read_only: false,
        principal: Principal {
            kind: next(it),
            class: PrincipalClass::Root,
            arn: next(it),
            account_id: next(it),
            access_key_id: next(it),
            principal_id: next(it),
            user_name: next(it),
            mfa_authenticated: None,
            invoked_by: next(it),
            session_issuer: next(it),
            session_name: next(it),
            source_identity: next(it),
        },
        findings: Vec::new(),
        assumption: None,
        origin: None,
        input: input_ref(),
    };
    r.principal.class = PrincipalClass::ALL[pick(&r.principal.kind, PrincipalClass::ALL.len())];
    // Findings: a shape chunk (rule, severity, task, repeat per finding) and a title chunk.
    let shape = it.next().unwrap_or_default();
    let title: String = next(it).unwrap_or_default();
    // Enough text to need cutting to SNS's size (the message repeats the findings about seven
    // times: text twice, document five times), not so much that executions crawl.
    let mut budget = MAX_MESSAGE_BYTES / 4;
    for f in shape.chunks(4).take(32) {
        let at = |i: usize| f.get(i).copied().map_or(0, usize::from);
        // Most findings have one title; a fourth byte from 0xc0 up repeats it up to 63 times.
        let times = (1 + at(3).saturating_sub(0xc0))
            .min(budget / title.len().max(1))
            .max(1);
        budget = budget.saturating_sub(title.len() * times);
        r.findings.push(Finding {
            rule: Rule::ALL[at(0) % Rule::ALL.len()],
            severity: Severity::ALL[at(1) % Severity::ALL.len()],
            title: title.repeat(times),
            task: (at(2) % 2 == 1).then(|| Task::ALL[at(2) / 2 % Task::ALL.len()]),
            doc: "https://docs.aws.amazon.com/",
        });
    }
    // An origin with hops, when there is anything left.
    if let Some(arn) = next(it) {
        let mut origin = Origin {
            arn: Some(arn),
            name: next(it),
            kind: next(it),
            class: PrincipalClass::IamUser,
            account_id: next(it),
            chain: Vec::new(),
        };
        while let Some(api) = next(it) {
            origin.chain.push(Hop {
                api,
                role_arn: next(it),
                session_name: next(it),
                account: next(it),
                source_identity: next(it),
                task_policy: next(it),
                access_key_id: next(it).unwrap_or_default(),
                issued: next(it).unwrap_or_default(),
                expires: next(it).unwrap_or_default(),
                event_id: next(it),
            });
        }
        r.origin = Some(origin);
    }
    r
}

// ---------------------------------------------------------------------------------------------
// invariants

/// Text that reaches a terminal or a log: no control character or other unsafe character.
fn check_printable(s: &str, what: &str) {
    assert!(is_clean(s, usize::MAX), "unsafe character in {what}: {s:?}");
}

/// Every string of a JSON value (keys included) is sanitised.
fn check_strings(v: &Value) {
    match v {
        Value::String(s) => check_printable(s, "report"),
        Value::Array(a) => a.iter().for_each(check_strings),
        Value::Object(o) => o.iter().for_each(|(k, v)| {
            check_printable(k, "report key");
            check_strings(v);
        }),
        _ => {}
    }
}

/// A report: its `jsonl` line is one line of valid JSON whose strings are all sanitised, and
/// its table rendering is one line per finding without control characters.
pub fn check_report(r: &RecordReport) {
    let line = crate::cli::render::jsonl_line(r);
    assert!(!line.contains('\n'), "jsonl line breaks: {line}");
    let v: Value = serde_json::from_str(&line).expect("jsonl line is JSON");
    check_strings(&v);
    let mut table = Table {
        out: Vec::new(),
        color: false,
    };
    table.record(r).expect("write to memory");
    let text = String::from_utf8(table.out).expect("table is UTF-8");
    assert_eq!(
        text.lines().count(),
        r.findings.len(),
        "table lines:\n{text}"
    );
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control character in table: {text:?}"
    );
}

/// The SNS rules and our own: subject under 100 ASCII printable characters starting with a
/// letter, digit or punctuation; the whole message at most 256 KiB; JSON bodies valid; the e-mail
/// text free of control characters but its newlines.
pub fn check_alert(a: &Alert, format: AlertFormat) {
    let s = &a.subject;
    assert!(
        !s.is_empty() && s.len() <= MAX_SUBJECT && s.len() < 100,
        "subject length {}: {s:?}",
        s.len()
    );
    assert!(
        s.bytes().all(|b| b.is_ascii_graphic() || b == b' '),
        "subject not printable ASCII: {s:?}"
    );
    assert!(
        s.as_bytes()[0].is_ascii_graphic(),
        "subject starts with a space: {s:?}"
    );
    // What SNS counts: the message, the subject and the attributes' names, types and values.
    let message = a.sns_message();
    let size = message.len()
        + s.len()
        + a.attributes
            .iter()
            .map(|(n, t, v)| n.len() + t.len() + v.len())
            .sum::<usize>();
    assert!(size <= MAX_MESSAGE_BYTES, "message of {size} bytes");
    assert!(
        !a.text.chars().any(|c| c.is_control() && c != '\n'),
        "control character in the text: {:?}",
        a.text
    );
    for line in a.text.lines() {
        check_printable(line, "alert text");
    }
    serde_json::from_str::<Value>(&a.document).expect("document is JSON");
    let msg: Value = serde_json::from_str(&message).expect("SNS message is JSON");
    assert_eq!(msg["email"], Value::String(a.text.clone()));
    match format {
        AlertFormat::Chatbot => {
            let chat = a.chat.as_deref().expect("chatbot format has a chat body");
            let chat: Value = serde_json::from_str(chat).expect("chat body is JSON");
            assert_eq!(chat["version"], "1.0");
        }
        AlertFormat::Standard => assert_eq!(a.chat, None),
    }
}

/// Message attributes of an alert from a real report: non-empty, printable values.
fn check_attributes(a: &Alert) {
    for (name, kind, value) in &a.attributes {
        assert!(!value.is_empty(), "empty attribute {name}");
        assert!(
            matches!(*kind, "String" | "Number" | "String.Array"),
            "type {kind}"
        );
        check_printable(value, name);
    }
}

// ---------------------------------------------------------------------------------------------
// seeds

/// Every sample input under `events/` (not the `.expected`/`.sessions` golden outputs), in
/// path order.
fn sample_files(events: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(events).sort_by_file_name() {
        let entry = entry.map_err(io::Error::other)?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && crate::input::walk::is_readable_name(&name) {
            out.push(entry.into_path());
        }
    }
    Ok(out)
}

fn read_plain(path: &Path) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    input::maybe_gunzip(std::fs::File::open(path)?)?.read_to_end(&mut out)?;
    Ok(out)
}

/// The records of one input, as JSON text.
fn records_of(bytes: &[u8], lines: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut sink = |item: Item<'_>| {
        if let Item::Record { json, .. } = item {
            out.push(json.to_owned());
        }
        Ok(())
    };
    let _ = if lines {
        input::decode_lines(bytes, &mut sink)
    } else {
        input::decode_stream(bytes, &mut sink)
    };
    out
}

/// Hand-written edge cases: empty inputs, wrong types, an event without a record.
const EDGE_SEEDS: &[(&str, &str)] = &[
    ("edge-empty", ""),
    ("edge-blank", " \n\t\n"),
    ("edge-empty-array", "[]"),
    ("edge-empty-object", "{}"),
    ("edge-records-not-array", r#"{"Records": 5}"#),
    (
        "edge-records-null",
        r#"{"Records": [null, 1, "x", [], {}]}"#,
    ),
    (
        "edge-not-cloudtrail",
        r#"{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}"#,
    ),
    (
        "edge-detail-not-object",
        r#"{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":[1,2]}"#,
    ),
    ("edge-sqs-empty", r#"{"Records":[]}"#),
    (
        "edge-sqs-odd-body",
        r#"{"Records":[{"messageId":"1","eventSource":"aws:sqs","body":"{\"Records\":[{\"eventName\":\"ConsoleLogin\"}]}"},{"messageId":"2","eventSource":"aws:sqs","body":"not json"}]}"#,
    ),
    (
        "edge-sqs-mixed",
        r#"{"Records":[{"eventSource":"aws:sqs","body":"{}"},{"eventSource":"aws:s3"}]}"#,
    ),
    (
        "edge-lines-bad",
        "{\"eventName\":\"A\"}\nnot json\n\n5\n{\"eventName\":\"B\"}",
    ),
    (
        "edge-several-values",
        "{\"eventName\":\"A\"} [{\"eventName\":\"B\"}] {\"Records\":[]}",
    ),
    (
        "edge-truncated",
        r#"{"Records":[{"eventName":"ConsoleLogin","userIdentity":{"type":"Root""#,
    ),
    ("edge-gzip-magic-only", "\u{1f}\u{8b}"),
];

/// A target's seed corpus, built from the samples in `events/`: (name, input). For `decode`
/// and `lambda`: every sample file as it is, gzip and plain, as JSON Lines, as an array, as a
/// log file, each record in an EventBridge envelope, and the envelopes as an SQS batch. For
/// `record`: each record alone. For `alert`: each record's attacker-chosen fields in each
/// template and format, and raw reports.
pub fn seeds(target: &str, events: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut all_records: Vec<String> = Vec::new();
    for path in sample_files(events)? {
        let rel = path.strip_prefix(events).unwrap_or(&path);
        let name = rel.to_string_lossy().replace(['/', '\\'], "_");
        let raw = std::fs::read(&path)?;
        let plain = read_plain(&path)?;
        let base = name.strip_suffix(".gz").unwrap_or(&name);
        let lines = base.ends_with(".jsonl") || base.ends_with(".ndjson");
        let records = records_of(&plain, lines);
        let values: Vec<Value> = records
            .iter()
            .filter_map(|r| serde_json::from_str(r).ok())
            .collect();
        if matches!(target, "decode" | "lambda") {
            out.push((name.clone(), raw.clone()));
            if raw != plain {
                out.push((format!("{name}.plain"), plain.clone()));
            } else if target == "decode" {
                out.push((format!("{name}.gz"), gzip(&plain)));
            }
            let jsonl: String = values.iter().map(|v| format!("{v}\n")).collect();
            out.push((format!("{name}.as.jsonl"), jsonl.into_bytes()));
            out.push((
                format!("{name}.as.array"),
                Value::from(values.clone()).to_string().into_bytes(),
            ));
            out.push((
                format!("{name}.as.logfile"),
                json!({ "Records": values }).to_string().into_bytes(),
            ));
            let envelopes: Vec<String> = values
                .iter()
                .map(|v| eventbridge(v.clone()).to_string())
                .collect();
            for (i, e) in envelopes.iter().enumerate() {
                out.push((format!("{name}.{i}.eventbridge"), e.clone().into_bytes()));
            }
            let batch: Vec<Value> = envelopes
                .iter()
                .enumerate()
                .map(|(i, e)| sqs_message(&format!("{name}-{i}"), e))
                .collect();
            out.push((
                format!("{name}.as.sqs"),
                json!({ "Records": batch }).to_string().into_bytes(),
            ));
        }
        all_records.extend(records);
    }
    all_records.sort();
    all_records.dedup();
    match target {
        "decode" | "lambda" => {
            for (name, text) in EDGE_SEEDS {
                out.push(((*name).to_owned(), text.as_bytes().to_vec()));
            }
        }
        "record" => {
            for (i, r) in all_records.iter().enumerate() {
                out.push((format!("record-{i:03}"), r.clone().into_bytes()));
            }
        }
        "alert" => alert_seeds(&all_records, &mut out),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown fuzz target {other:?}"),
            ))
        }
    }
    Ok(out)
}

fn alert_seeds(records: &[String], out: &mut Vec<(String, Vec<u8>)>) {
    // Each template as it is, in both formats.
    for t in 0..TEMPLATES.len() as u8 {
        for format in 0..2 {
            out.push((
                format!("alert-template-{t}-{format}"),
                vec![t << 5 | format],
            ));
        }
    }
    // The samples' own attacker-chosen fields in the templates.
    for (i, r) in records.iter().enumerate() {
        let Ok(v) = serde_json::from_str::<Value>(r) else {
            continue;
        };
        let chunks: Vec<Vec<u8>> = FIELDS
            .iter()
            .map(|path| {
                let mut cur = &v;
                for key in *path {
                    cur = cur.get(key).unwrap_or(&Value::Null);
                }
                match cur {
                    Value::String(s) => s.clone().into_bytes(),
                    Value::Null => Vec::new(),
                    other => [&[ALERT_RAW_JSON][..], other.to_string().as_bytes()].concat(),
                }
            })
            .collect();
        // Keep the template's value where the sample has none: cut after the last field set.
        let used = chunks
            .iter()
            .rposition(|c| !c.is_empty())
            .map_or(0, |n| n + 1);
        let chunks: Vec<&[u8]> = chunks[..used].iter().map(Vec::as_slice).collect();
        let control = ((i % TEMPLATES.len()) as u8) << 5 | (i % 2) as u8;
        out.push((
            format!("alert-record-{i:03}"),
            alert_input(control, &chunks),
        ));
    }
    // Raw reports: hostile strings, many findings, an origin with hops.
    let hostile = "x\u{1b}[31m\nSeverity: info\r\n\u{202e}\u{0}\u{85}\u{2028}é";
    let fields: Vec<&[u8]> = vec![hostile.as_bytes(); 19];
    let mut raw = fields.clone();
    raw.push(&[0, 4, 3, 0xfe, 2, 3, 0, 1, 4, 4, 5, 0]);
    raw.push(hostile.as_bytes());
    raw.extend([hostile.as_bytes(); 4]);
    raw.extend([b"AssumeRole".as_slice(); 1]);
    raw.extend([hostile.as_bytes(); 9]);
    out.push(("alert-raw-hostile".into(), alert_input(0x10, &raw)));
    out.push(("alert-raw-hostile-chat".into(), alert_input(0x11, &raw)));
    let big = "Root ".repeat(800);
    let mut many = fields;
    many.push(&[0xfe; 128]);
    many.push(big.as_bytes());
    out.push(("alert-raw-oversized".into(), alert_input(0x11, &many)));
}

/// Writes every target's seeds under `dir/<target>/` (replacing what was there).
pub fn write_seeds(events: &Path, dir: &Path) -> io::Result<usize> {
    let mut n = 0;
    for target in TARGETS {
        let d = dir.join(target);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
        std::fs::create_dir_all(&d)?;
        for (name, bytes) in seeds(target, events)? {
            std::fs::write(d.join(name), bytes)?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert_for(json: &str) -> Alert {
        let rec = Record::from_json(json).unwrap();
        let report = crate::core::pipeline::analyze(&rec, input_ref(), None, &RuleConfig::NONE);
        alert::build(&report, Severity::Info, AlertFormat::Standard).unwrap()
    }

    const ROOT: &str = r#"{"userIdentity":{"type":"Root","accountId":"111122223333"},"eventName":"CreateUser","eventID":"e1"}"#;

    #[test]
    fn check_alert_accepts_a_real_alert() {
        check_alert(&alert_for(ROOT), AlertFormat::Standard);
    }

    #[test]
    #[should_panic(expected = "control character in the text")]
    fn check_alert_rejects_control_characters() {
        let mut a = alert_for(ROOT);
        a.text.push('\u{1b}');
        check_alert(&a, AlertFormat::Standard);
    }

    #[test]
    #[should_panic(expected = "subject not printable ASCII")]
    fn check_alert_rejects_non_ascii_subjects() {
        let mut a = alert_for(ROOT);
        a.subject.push('é');
        check_alert(&a, AlertFormat::Standard);
    }

    #[test]
    #[should_panic(expected = "message of")]
    fn check_alert_rejects_oversized_messages() {
        let mut a = alert_for(ROOT);
        a.text = "x".repeat(MAX_MESSAGE_BYTES);
        check_alert(&a, AlertFormat::Standard);
    }

    #[test]
    #[should_panic(expected = "chat body is JSON")]
    fn check_alert_rejects_invalid_chat_json() {
        let mut a = alert_for(ROOT);
        a.chat = Some("{".into());
        check_alert(&a, AlertFormat::Chatbot);
    }

    #[test]
    #[should_panic(expected = "unsafe character in report")]
    fn check_report_rejects_raw_strings() {
        let rec = Record::from_json(ROOT).unwrap();
        let mut report = crate::core::pipeline::analyze(&rec, input_ref(), None, &RuleConfig::NONE);
        report.user_agent = Some("a\u{202e}b".into());
        check_report(&report);
    }

    #[test]
    fn sample_sessions_are_learned() {
        assert!(sample_sessions().len() >= 6, "{}", sample_sessions().len());
    }
}
