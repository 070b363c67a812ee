//! Property tests of the pure core (issue 7, hardening):
//!
//! 1. any JSON value in any field of real-shaped records (root, role session, AssumeRole,
//!    AssumeRoot and its privileged session, console sign-in) never makes the record unreadable
//!    and never panics: `Record::from_json` → `classify` → `evaluate` → `analyze`, session
//!    learning (`Session::from_report`, `SessionTracker`), alerts, table / JSON / tree output;
//! 2. alerts keep what `src/alert.rs` promises whatever strings an attacker puts in the fields
//!    they choose: the subject is ASCII, printable, under 100 characters; the message fits in
//!    256 KiB; the e-mail text has no control character but our own newlines and no forged
//!    line; every JSON document (SNS message, machine document, chat notification) parses;
//! 3. booleans and numbers written as strings (`"true"`, `"True"`, `1`, `"900"`, ...) give the
//!    same report (class, findings, origin, assumption) as the native JSON values.
//!
//! Case counts (kept small so that `cargo test` stays fast; each case runs six to eight records
//! through everything): 64 for each of the two tests of property 1, 48 for property 2, 96 for
//! property 3 (reports only); about 10 s of CPU in a debug build.

use proptest::prelude::*;
use proptest::sample::Index;
use rootwatch::core::alert::{self, Alert, AlertFormat, MAX_MESSAGE_BYTES, MAX_SUBJECT};
use rootwatch::core::classify::classify;
use rootwatch::core::model::{InputRef, RecordReport, Severity};
use rootwatch::core::pipeline::{NoOrigins, Pipeline};
use rootwatch::core::record::Record;
use rootwatch::core::rules::{evaluate, Context, RuleConfig};
use rootwatch::core::session::{Session, SessionTracker};
use rootwatch::replay::Output;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// Records

const CALLER_KEY: &str = "ASIACALLERKEY0000001";
const ROOT_KEY: &str = "ASIAROOTSESSION00001";
const ROLE_KEY: &str = "ASIAROLESESSION00001";

/// An AssumeRoot call by an Identity Center session (caller side), issuing [`ROOT_KEY`].
fn assume_root() -> Value {
    json!({
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:jane",
            "arn": "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/jane",
            "accountId": "111122223333",
            "accessKeyId": CALLER_KEY,
            "userName": "jane",
            "invokedBy": "sts.amazonaws.com",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLE",
                    "arn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123",
                    "accountId": "111122223333",
                    "userName": "AWSReservedSSO_Admin_0123"
                },
                "attributes": {"creationDate": "2026-11-23T09:55:00Z", "mfaAuthenticated": "true"},
                "sourceIdentity": "jane@example.com",
                "ec2RoleDelivery": "2.0",
                "assumedRoot": "false"
            },
            "onBehalfOf": {"userId": "u-1", "identityStoreArn": "arn:aws:identitystore::111122223333:identitystore/d-1"}
        },
        "eventTime": "2026-11-23T10:00:00Z",
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoot",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.22.0",
        "requestParameters": {
            "targetPrincipal": "444455556666",
            "taskPolicyArn": {"arn": "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"},
            "durationSeconds": 900,
            "roleSessionName": "jane-unlock"
        },
        "responseElements": {
            "credentials": {"accessKeyId": ROOT_KEY, "expiration": "Nov 23, 2026, 10:15:00 AM", "sessionToken": "x"},
            "sourceIdentity": "jane@example.com"
        },
        "additionalEventData": {"MFAUsed": "Yes"},
        "requestID": "r-1",
        "eventID": "e-assumeroot",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

/// A request in that privileged session (target side), made with [`ROOT_KEY`].
fn root_session_use() -> Value {
    json!({
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "Root",
            "principalId": "444455556666",
            "arn": "arn:aws:iam::444455556666:root",
            "accountId": "444455556666",
            "accessKeyId": ROOT_KEY,
            "sessionContext": {"attributes": {"creationDate": "2026-11-23T10:00:00Z", "mfaAuthenticated": "false"}, "assumedRoot": "true"}
        },
        "eventTime": "2026-11-23T10:03:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "DeleteBucketPolicy",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.22.0",
        "requestParameters": {"bucketName": "locked", "Host": "locked.s3.amazonaws.com", "policy": ""},
        "responseElements": null,
        "additionalEventData": {"SignatureVersion": "SigV4", "bytesTransferredIn": 0},
        "requestID": "r-2",
        "eventID": "e-rootsession",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "444455556666"
    })
}

/// A role session (the one issued with [`CALLER_KEY`]) assuming another role, issuing
/// [`ROLE_KEY`].
fn role_session_assume_role() -> Value {
    json!({
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROADEPLOY:ci",
            "arn": "arn:aws:sts::111122223333:assumed-role/DeployRole/ci",
            "accountId": "111122223333",
            "accessKeyId": ROOT_KEY,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROADEPLOY", "arn": "arn:aws:iam::111122223333:role/DeployRole", "accountId": "111122223333", "userName": "DeployRole"},
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-11-23T10:00:00Z", "mfaAuthenticated": "false"},
                "sourceIdentity": "ci"
            }
        },
        "eventTime": "2026-11-23T10:04:00Z",
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRole",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.90",
        "userAgent": "Boto3/1.35.70",
        "requestParameters": {
            "roleArn": "arn:aws:iam::555566667777:role/BreakGlassAdmin",
            "roleSessionName": "ci-hop",
            "durationSeconds": "3600",
            "sourceIdentity": "ci"
        },
        "responseElements": {
            "credentials": {"accessKeyId": ROLE_KEY, "expiration": "2026-11-23T11:04:00Z"},
            "assumedRoleUser": {"assumedRoleId": "AROABG:ci-hop", "arn": "arn:aws:sts::555566667777:assumed-role/BreakGlassAdmin/ci-hop"}
        },
        "eventID": "e-assumerole",
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333"
    })
}

/// A request made with [`ROLE_KEY`] (a plain role session).
fn role_session_use() -> Value {
    json!({
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROABG:ci-hop",
            "arn": "arn:aws:sts::555566667777:assumed-role/BreakGlassAdmin/ci-hop",
            "accountId": "555566667777",
            "accessKeyId": ROLE_KEY,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::555566667777:role/BreakGlassAdmin", "userName": "BreakGlassAdmin"},
                "attributes": {"mfaAuthenticated": "false"}
            }
        },
        "eventTime": "2026-11-23T10:10:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateAccessKey",
        "requestParameters": {"userName": "bob"},
        "eventID": "e-roleuse"
    })
}

/// The root user's own credentials in the console: a root-only task.
fn root_own() -> Value {
    json!({
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "Root",
            "principalId": "111122223333",
            "arn": "arn:aws:iam::111122223333:root",
            "accountId": "111122223333",
            "accessKeyId": "ASIAROOTCONSOLE00001",
            "invokedBy": "signin.amazonaws.com",
            "sessionContext": {"sessionIssuer": {}, "attributes": {"creationDate": "2026-11-23T10:00:00Z", "mfaAuthenticated": "true"}}
        },
        "eventTime": "2026-11-23T10:20:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateAccessKey",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.77",
        "userAgent": "AWS Internal",
        "requestParameters": null,
        "responseElements": {"accessKey": {"accessKeyId": "AKIAROOTNEWKEY000001", "status": "Active"}},
        "eventID": "e-rootown",
        "readOnly": false,
        "eventType": "AwsApiCall"
    })
}

/// A root console sign-in.
fn root_login() -> Value {
    json!({
        "eventVersion": "1.10",
        "userIdentity": {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"},
        "eventTime": "2026-11-23T10:30:00Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.77",
        "userAgent": "Mozilla/5.0",
        "requestParameters": null,
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/", "MobileVersion": "No", "MFAUsed": "No"},
        "eventID": "e-login",
        "eventType": "AwsConsoleSignIn",
        "recipientAccountId": "111122223333"
    })
}

fn sequence() -> Vec<Value> {
    vec![
        assume_root(),
        root_session_use(),
        role_session_assume_role(),
        role_session_use(),
        root_own(),
        root_login(),
    ]
}

/// Paths (object keys from the record down) worth putting odd values at: every key of the
/// record, and keys the rules read that this record does not have.
fn paths_of(v: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Object(m) = v {
            for (k, child) in m {
                at.push(k.clone());
                out.push(at.clone());
                walk(child, at, out);
                at.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    for extra in [
        "errorCode",
        "errorMessage",
        "readOnly",
        "managementEvent",
        "eventType",
        "userIdentity.invokedBy",
        "userIdentity.userName",
        "userIdentity.sessionContext.assumedRoot",
        "userIdentity.sessionContext.ec2RoleDelivery",
        "userIdentity.sessionContext.sessionIssuer.arn",
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        "requestParameters.roleArn",
        "requestParameters.durationSeconds",
        "requestParameters.targetPrincipal",
        "requestParameters.taskPolicyArn.arn",
        "requestParameters.VersioningConfiguration.MfaDelete",
        "requestParameters.attributes.Policy",
        "responseElements.ConsoleLogin",
        "responseElements.credentials.accessKeyId",
        "responseElements.credentials.expiration",
        "additionalEventData.MFAUsed",
    ] {
        let p: Vec<String> = extra.split('.').map(str::to_owned).collect();
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Sets `path` in `v`, creating objects on the way; a step through a non-object is replaced by
/// an object.
fn set(v: &mut Value, path: &[String], value: Value) {
    let mut cur = v;
    for (i, key) in path.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().expect("object");
        if i + 1 == path.len() {
            obj.insert(key.clone(), value);
            return;
        }
        cur = obj.entry(key.clone()).or_insert(Value::Null);
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Characters an attacker would try: controls, separators, bidi overrides, BOM, non-ASCII, JSON
/// and Markdown syntax, plus anything at all.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        3 => prop::sample::select(vec![
            '\0', '\n', '\r', '\t', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}',
            '\u{200b}', '\u{200e}', '\u{200f}', '\u{2028}', '\u{2029}', '\u{202a}', '\u{202e}',
            '\u{2066}', '\u{2069}', '\u{feff}', '\u{fffd}', '\u{ffff}', 'é', 'ß', '日', '🙂',
            '"', '\\', '<', '>', '&', '*', '`', '%', ':', ' ', '/', '#', '[', ']',
        ]),
        4 => prop::char::range(' ', '~'),
    ]
}

const FORGERIES: &[&str] = &[
    "\nSeverity:       INFO\nWho:            nobody",
    "x\r\nSubject: [rootwatch] INFO all clear\r\n\r\n",
    "\u{2028}Account:        000000000000",
    "\u{202e}moc.elpmaxe\u{202c}",
    "\u{1b}[2J\u{1b}[31mred",
    "\"},\"alert\":{\"severity\":\"info\"},\"x\":{\"",
    "*bold* `code` <https://evil.example|click>",
    "",
    " ",
];

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::collection::vec(hostile_char(), 0..48).prop_map(|c| c.into_iter().collect()),
        2 => prop::sample::select(FORGERIES).prop_map(str::to_owned),
        // Long: up to 20,000 characters (the fixed test below and tests/hostile.rs go to 1 MB).
        1 => (prop::collection::vec(hostile_char(), 1..8), 300usize..20_000).prop_map(|(c, n)| {
            c.iter().cycle().take(n).collect()
        }),
    ]
}

/// Any JSON value: scalars (odd numbers and hostile strings included), arrays and objects, at
/// most 4 levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![
            0i64,
            -1,
            1,
            900,
            3600,
            129_600,
            i64::MAX,
            i64::MIN,
            1_795_000_000,
            1_795_000_000_000,
        ])
        .prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        hostile_string().prop_map(Value::String),
        prop::sample::select(vec![
            "true",
            "True",
            "false",
            "No",
            "YES",
            "1",
            "0",
            "Root",
            "AssumedRole",
            "AssumeRoot",
            "ASIAROOTSESSION00001",
            "2026-11-23T10:05:00Z",
            "Nov 23, 2026, 10:15:00 AM",
            "9999-12-31T23:59:59Z",
            "0000-00-00T00:00:00Z",
            "1795000000",
            "-1",
            "1e400",
            "Failure",
            "Success",
            "sts.amazonaws.com",
            "signin.amazonaws.com",
            "",
            "9223372036854775807",
            "arn:aws:iam::*:role/*",
            "arn:",
            ":::::",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{1,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// The pipeline and the checks

fn config() -> RuleConfig {
    RuleConfig::from_lists(&["*".to_owned()], &["999988887777".to_owned()]).unwrap()
}

/// Runs records through everything the replay and the function do with them, in order, with one
/// session tracker; checks every alert. Returns the reports.
fn pipeline(records: &[Value], cfg: &RuleConfig) -> Vec<RecordReport> {
    run(records, cfg, true)
}

/// [`pipeline`]; `outputs` builds and checks alerts, table, JSON Lines and session trees.
fn run(records: &[Value], cfg: &RuleConfig, outputs: bool) -> Vec<RecordReport> {
    let mut tracker = SessionTracker::new(8);
    let mut streaming = SessionTracker::new(8);
    let mut forest = rootwatch::cli::tree::Forest::default();
    let mut table = rootwatch::cli::render::Table {
        out: Vec::new(),
        color: false,
        principal_width: None,
    };
    let mut reports = Vec::new();
    for (i, v) in records.iter().enumerate() {
        let text = v.to_string();
        let rec = Record::from_json(&text)
            .unwrap_or_else(|e| panic!("the lenient model refused a record: {e}: {text}"));
        let principal = classify(&rec);
        let _ = evaluate(&rec, &principal, &Context::NONE);
        let _ = rec.is_read_only();
        let input = InputRef {
            file: "invariants".into(),
            index: i as u64,
        };
        let report = Pipeline::new(cfg.clone(), Severity::Info).report(&rec, input, &tracker);
        if let Some(s) = Session::from_report(&report) {
            assert!(s.expires_at >= s.issued_at, "{s:?}");
            tracker.learn_live(s);
        }
        let _ = streaming.observe(&report);
        if !outputs {
            reports.push(report);
            continue;
        }
        for format in [AlertFormat::Standard, AlertFormat::Chatbot] {
            if let Some(a) = alert::build(&report, Severity::Info, format) {
                check_alert(&a, &report, Severity::Info, format);
            }
        }
        let line = rootwatch::cli::render::jsonl_line(&report);
        assert!(!line.contains('\n'), "one line per record");
        serde_json::from_str::<Value>(&line).expect("jsonl line parses");
        table.record(&report).unwrap();
        forest.add(&report);
        reports.push(report);
    }
    let shown = String::from_utf8(table.out).expect("table is UTF-8");
    assert_no_raw_unsafe(&shown, true, "table");
    let trees = forest.trees();
    assert_no_raw_unsafe(&rootwatch::cli::tree::text(&trees), true, "tree");
    assert_no_raw_unsafe(&rootwatch::cli::tree::dot(&trees), true, "dot");
    reports
}

/// Control characters (but `\n` when allowed), line and paragraph separators, bidi controls,
/// zero-width characters and the BOM: what `sanitize` escapes.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn assert_no_raw_unsafe(s: &str, newlines: bool, what: &str) {
    let bad: Vec<char> = s
        .chars()
        .filter(|&c| is_unsafe(c) && !(newlines && c == '\n'))
        .collect();
    assert!(bad.is_empty(), "{what}: raw {bad:?}");
}

fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings_in(x, out)
        }),
        _ => {}
    }
}

/// The header lines of the e-mail text, in the order `alert.rs` writes them.
const LABELS: &[&str] = &[
    "Severity:",
    "Who:",
    "Session origin:",
    "Account:",
    "Region:",
    "Time:",
    "Source IP:",
    "User agent:",
    "Event:",
    "Root-only task:",
];
const REQUIRED: &[&str] = &[
    "Severity:",
    "Who:",
    "Account:",
    "Region:",
    "Time:",
    "Source IP:",
    "User agent:",
    "Event:",
];

/// What `src/alert.rs` promises of every alert.
fn check_alert(a: &Alert, report: &RecordReport, min: Severity, format: AlertFormat) {
    // Subject: SNS rules (ASCII, starts with a letter, number or punctuation, no line breaks or
    // control characters, under 100 characters).
    let s = &a.subject;
    assert!(
        !s.is_empty() && s.len() < 100 && s.len() <= MAX_SUBJECT,
        "subject length {}: {s:?}",
        s.len()
    );
    assert!(
        s.chars().all(|c| c.is_ascii_graphic() || c == ' '),
        "subject: {s:?}"
    );
    assert!(
        s.chars().next().is_some_and(|c| c.is_ascii_graphic()),
        "subject start: {s:?}"
    );

    // Size, attributes included, and every JSON document.
    let message = a.sns_message();
    assert!(
        a.size() <= MAX_MESSAGE_BYTES && message.len() <= MAX_MESSAGE_BYTES,
        "size {}",
        a.size()
    );
    let msg: Value = serde_json::from_str(&message).expect("the SNS message is JSON");
    for protocol in [
        "default",
        "email",
        "email-json",
        "sqs",
        "lambda",
        "http",
        "https",
    ] {
        assert!(msg[protocol].is_string(), "{protocol} missing");
    }
    assert_eq!(msg["email"].as_str(), Some(a.text.as_str()));
    let doc: Value = serde_json::from_str(&a.document).expect("the document is JSON");
    let mut strings = Vec::new();
    strings_in(&doc, &mut strings);
    for x in &strings {
        assert_no_raw_unsafe(x, false, "document string");
    }
    match format {
        AlertFormat::Chatbot => {
            let chat: Value =
                serde_json::from_str(a.chat.as_deref().expect("chatbot alert has chat JSON"))
                    .expect("the chat notification is JSON");
            assert_eq!(chat["version"], "1.0");
            assert_eq!(chat["source"], "custom");
            let title = chat["content"]["title"].as_str().expect("title");
            assert_no_raw_unsafe(title, false, "chat title");
            let description = chat["content"]["description"]
                .as_str()
                .expect("description");
            assert_no_raw_unsafe(description, true, "chat description");
            if description != "(truncated)" {
                assert_eq!(
                    description.split('\n').count(),
                    5,
                    "chat description lines: {description:?}"
                );
            }
            assert_eq!(msg["default"].as_str(), a.chat.as_deref());
        }
        AlertFormat::Standard => {
            assert_eq!(a.chat, None);
            assert_eq!(msg["default"].as_str(), Some(a.text.as_str()));
        }
    }
    for (name, kind, value) in &a.attributes {
        assert_no_raw_unsafe(value, false, name);
        match *kind {
            "Number" => {
                value.parse::<u8>().expect("Number attribute");
            }
            "String.Array" => {
                serde_json::from_str::<Vec<String>>(value).expect("String.Array attribute");
            }
            _ => assert!(!value.is_empty(), "{name} is empty"),
        }
    }

    // The e-mail text: no control character but our newlines, and exactly our layout.
    assert_no_raw_unsafe(&a.text, true, "text");
    if a.text.contains("[truncated]") {
        return;
    }
    let findings = report.findings.iter().filter(|f| f.severity >= min).count();
    let lines: Vec<&str> = a.text.split('\n').collect();
    let fail = |why: &str| -> ! { panic!("{why}: forged or missing line in\n{}", a.text) };
    if lines.len() < 2 || !lines[1].is_empty() {
        fail("title");
    }
    let mut i = 2;
    let mut seen: Vec<usize> = Vec::new();
    while i < lines.len() && !lines[i].is_empty() {
        let label = lines[i].get(..16).map(str::trim_end);
        let Some(n) = label.and_then(|l| LABELS.iter().position(|x| *x == l)) else {
            fail("header");
        };
        if seen.last().is_some_and(|&last| n <= last) {
            fail("header order");
        }
        seen.push(n);
        i += 1;
    }
    for r in REQUIRED {
        if !seen.iter().any(|&n| LABELS[n] == *r) {
            fail(r);
        }
    }
    let rest = &lines[i..];
    let link = usize::from(alert::console_link(report).is_some()) * 2;
    // "", "Findings:", findings, "", why, next, ["", link], about, "" (the final newline).
    if rest.len() != 2 + findings + 3 + link + 2 {
        fail("line count");
    }
    if !rest[0].is_empty() || rest[1] != "Findings:" {
        fail("findings header");
    }
    if !rest[2..2 + findings].iter().all(|l| l.starts_with("  - ")) {
        fail("finding lines");
    }
    let tail = &rest[2 + findings..];
    if !tail[0].is_empty()
        || !tail[1].starts_with("Why it matters: ")
        || !tail[2].starts_with("What to do next: ")
        || (link > 0
            && (!tail[3].is_empty()
                || !tail[4].starts_with(
                    "Event in the CloudTrail console: https://console.aws.amazon.com/cloudtrailv2/home?region=",
                )))
        || !tail[3 + link].starts_with("About this rule: https://")
        || !tail[4 + link].is_empty()
    {
        fail("footer");
    }
}

// ---------------------------------------------------------------------------------------------
// Property 1: any JSON anywhere

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Up to four fields of one record of the sequence get arbitrary JSON values; nothing
    /// panics, every record stays readable, every alert keeps its promises.
    #[test]
    fn any_json_in_any_field_is_survived(
        which in 0usize..6,
        changes in prop::collection::vec((any::<Index>(), any_json()), 1..5),
    ) {
        let mut records = sequence();
        let paths = paths_of(&records[which]);
        for (at, value) in changes {
            let path: &Vec<String> = at.get(&paths);
            set(&mut records[which], path, value);
        }
        pipeline(&records, &config());
    }

    /// The whole `userIdentity`, `sessionContext`, `requestParameters`, ... replaced by one
    /// arbitrary value in every record at once.
    #[test]
    fn any_json_as_a_whole_object_is_survived(
        value in any_json(),
        key in prop::sample::select(vec![
            "userIdentity", "userIdentity.sessionContext", "userIdentity.sessionContext.sessionIssuer",
            "userIdentity.sessionContext.attributes", "requestParameters", "responseElements",
            "responseElements.credentials", "additionalEventData", "requestParameters.taskPolicyArn",
        ]),
    ) {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        let records: Vec<Value> = sequence()
            .into_iter()
            .map(|mut r| {
                set(&mut r, &path, value.clone());
                r
            })
            .collect();
        pipeline(&records, &config());
    }
}

// ---------------------------------------------------------------------------------------------
// Property 2: hostile strings in every attacker-controlled field

/// Names of the hostile strings, one per attacker-controlled field.
const FIELDS: &[&str] = &[
    "userAgent",
    "sourceIPAddress",
    "userName",
    "arn",
    "principalId",
    "issuer.userName",
    "issuer.arn",
    "issuer.principalId",
    "roleSessionName",
    "roleArn (role part)",
    "sourceIdentity",
    "targetPrincipal",
    "taskPolicyArn.arn",
    "errorMessage",
    "errorCode",
    "eventName",
    "eventSource",
    "eventID",
    "awsRegion",
    "accountId",
    "type",
    "invokedBy",
    "eventTime",
    "name (federation)",
];

fn hostile_records(s: &[String]) -> Vec<Value> {
    let f = |name: &str| -> Value {
        let i = FIELDS.iter().position(|x| *x == name).expect("field");
        Value::String(s[i].clone())
    };
    let mut records = Vec::new();
    // AssumeRoot by a session whose every name is hostile; its key is used below.
    let mut r = assume_root();
    for (path, field) in [
        ("userAgent", "userAgent"),
        ("sourceIPAddress", "sourceIPAddress"),
        ("eventID", "eventID"),
        ("userIdentity.arn", "arn"),
        ("userIdentity.principalId", "principalId"),
        ("userIdentity.userName", "userName"),
        (
            "userIdentity.sessionContext.sessionIssuer.userName",
            "issuer.userName",
        ),
        (
            "userIdentity.sessionContext.sessionIssuer.arn",
            "issuer.arn",
        ),
        (
            "userIdentity.sessionContext.sessionIssuer.principalId",
            "issuer.principalId",
        ),
        (
            "userIdentity.sessionContext.sourceIdentity",
            "sourceIdentity",
        ),
        ("requestParameters.roleSessionName", "roleSessionName"),
        ("requestParameters.targetPrincipal", "targetPrincipal"),
        ("requestParameters.taskPolicyArn.arn", "taskPolicyArn.arn"),
        ("responseElements.sourceIdentity", "sourceIdentity"),
    ] {
        set(&mut r, &split(path), f(field));
    }
    records.push(r);
    // The privileged session: alert names the origin (hostile names) and the task.
    let mut r = root_session_use();
    for (path, field) in [
        ("userAgent", "userAgent"),
        ("awsRegion", "awsRegion"),
        ("userIdentity.accountId", "accountId"),
        ("userIdentity.principalId", "principalId"),
        ("userIdentity.arn", "arn"),
    ] {
        set(&mut r, &split(path), f(field));
    }
    set(
        &mut r,
        &split("userIdentity.sessionContext.assumedRoot"),
        Value::Null,
    );
    records.push(r);
    // A watched role (pattern `*`) assumed across accounts by the same session.
    let mut r = role_session_assume_role();
    let role = format!(
        "arn:aws:iam::555566667777:role/{}",
        s[FIELDS
            .iter()
            .position(|x| *x == "roleArn (role part)")
            .unwrap()]
    );
    set(
        &mut r,
        &split("requestParameters.roleArn"),
        Value::String(role),
    );
    for (path, field) in [
        ("requestParameters.roleSessionName", "roleSessionName"),
        ("requestParameters.sourceIdentity", "sourceIdentity"),
        ("userIdentity.arn", "arn"),
        (
            "userIdentity.sessionContext.sessionIssuer.userName",
            "issuer.userName",
        ),
        ("sourceIPAddress", "sourceIPAddress"),
        ("userAgent", "userAgent"),
    ] {
        set(&mut r, &split(path), f(field));
    }
    records.push(r);
    // Root's own credentials: hostile event name and source in the title, a failure code.
    let mut r = root_own();
    for (path, field) in [
        ("eventName", "eventName"),
        ("eventSource", "eventSource"),
        ("errorCode", "errorCode"),
        ("eventID", "eventID"),
        ("awsRegion", "awsRegion"),
        ("eventTime", "eventTime"),
        ("userIdentity.principalId", "principalId"),
        ("userIdentity.userName", "userName"),
        ("userIdentity.accountId", "accountId"),
    ] {
        set(&mut r, &split(path), f(field));
    }
    set(&mut r, &split("userIdentity.arn"), Value::Null);
    records.push(r);
    // The same with the task row (event name kept) and a hostile invoker and type.
    let mut r = root_own();
    for (path, field) in [
        ("errorMessage", "errorMessage"),
        ("userIdentity.invokedBy", "invokedBy"),
        ("userIdentity.arn", "arn"),
        ("userAgent", "userAgent"),
    ] {
        set(&mut r, &split(path), f(field));
    }
    records.push(r);
    let mut r = root_own();
    set(&mut r, &split("userIdentity.type"), f("type"));
    records.push(r);
    // A failed root sign-in: the error message is in the title.
    let mut r = root_login();
    set(&mut r, &split("errorMessage"), f("errorMessage"));
    set(
        &mut r,
        &split("responseElements.ConsoleLogin"),
        Value::String("Failure".into()),
    );
    set(&mut r, &split("sourceIPAddress"), f("sourceIPAddress"));
    records.push(r);
    // GetFederationToken: the federated name becomes a session name.
    let mut r = role_session_assume_role();
    set(
        &mut r,
        &split("eventName"),
        Value::String("GetFederationToken".into()),
    );
    set(
        &mut r,
        &split("requestParameters.name"),
        f("name (federation)"),
    );
    records.push(r);
    records
}

fn split(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Hostile strings in every field an attacker chooses (or that a forged file holds).
    #[test]
    fn alerts_keep_their_promises_for_hostile_strings(
        strings in prop::collection::vec(hostile_string(), FIELDS.len()),
    ) {
        let reports = pipeline(&hostile_records(&strings), &config());
        // The alerts this property is about are really built: the session alert, the watched
        // role, root credential use and the failed sign-in.
        let alerting = reports
            .iter()
            .filter(|r| alert::build(r, Severity::Info, AlertFormat::Standard).is_some())
            .count();
        prop_assert!(alerting >= 5, "only {} alerts", alerting);
    }
}

/// The forging strings themselves, in every field at once (a fixed case of property 2).
#[test]
fn forging_strings_in_every_field() {
    for forgery in FORGERIES {
        let strings = vec![(*forgery).to_owned(); FIELDS.len()];
        pipeline(&hostile_records(&strings), &config());
    }
    let long = "\u{202e}\n\u{0}🙂".repeat(30_000);
    pipeline(&hostile_records(&vec![long; FIELDS.len()]), &config());
}

// ---------------------------------------------------------------------------------------------
// Property 3: the same values written as strings

/// Ways CloudTrail (and the lenient reader) write a boolean.
fn bool_as(b: bool, how: usize) -> Value {
    match how % 6 {
        0 => Value::Bool(b),
        1 => json!(if b { "true" } else { "false" }),
        2 => json!(if b { "True" } else { "False" }),
        3 => json!(if b { "TRUE" } else { "FALSE" }),
        4 => json!(if b { "yes" } else { "no" }),
        _ => json!(if b { 1 } else { 0 }),
    }
}

fn int_as(n: i64, how: usize) -> Value {
    match how % 3 {
        0 => json!(n),
        1 => json!(n.to_string()),
        _ => json!(format!(" {n} ")),
    }
}

/// Sets the boolean and number fields of the sequence, each written `how[i]`.
fn typed_sequence(bools: &[bool], durations: &[i64], offsets: &[i64], how: &[usize]) -> Vec<Value> {
    let t = |s: i64| {
        rootwatch::core::time::format(
            rootwatch::core::time::parse("2026-11-23T10:00:00Z").unwrap() + s,
        )
    };
    let mut ar = assume_root();
    set(&mut ar, &split("readOnly"), bool_as(bools[0], how[0]));
    set(
        &mut ar,
        &split("managementEvent"),
        bool_as(bools[1], how[1]),
    );
    set(
        &mut ar,
        &split("userIdentity.sessionContext.attributes.mfaAuthenticated"),
        bool_as(bools[2], how[2]),
    );
    set(
        &mut ar,
        &split("userIdentity.sessionContext.assumedRoot"),
        bool_as(bools[3], how[3]),
    );
    set(
        &mut ar,
        &split("requestParameters.durationSeconds"),
        int_as(durations[0], how[4]),
    );
    // Without an expiry, the requested duration decides the lifetime.
    set(
        &mut ar,
        &split("responseElements.credentials.expiration"),
        Value::Null,
    );
    let mut use_ = root_session_use();
    set(&mut use_, &split("eventTime"), json!(t(offsets[0])));
    set(
        &mut use_,
        &split("userIdentity.sessionContext.assumedRoot"),
        bool_as(bools[4], how[5]),
    );
    set(&mut use_, &split("readOnly"), bool_as(bools[5], how[6]));
    set(
        &mut use_,
        &split("managementEvent"),
        bool_as(bools[6], how[7]),
    );
    let mut role = role_session_assume_role();
    set(
        &mut role,
        &split("requestParameters.durationSeconds"),
        int_as(durations[1], how[8]),
    );
    set(
        &mut role,
        &split("responseElements.credentials.expiration"),
        Value::Null,
    );
    set(&mut role, &split("readOnly"), bool_as(bools[7], how[9]));
    set(
        &mut role,
        &split("userIdentity.sessionContext.attributes.mfaAuthenticated"),
        bool_as(bools[8], how[10]),
    );
    let mut role_use = role_session_use();
    set(&mut role_use, &split("eventTime"), json!(t(offsets[1])));
    let mut own = root_own();
    set(&mut own, &split("readOnly"), bool_as(bools[9], how[11]));
    let mut login = root_login();
    set(
        &mut login,
        &split("additionalEventData.MFAUsed"),
        bool_as(bools[10], how[12]),
    );
    set(&mut login, &split("readOnly"), bool_as(bools[11], how[13]));
    vec![ar, use_, role, role_use, own, login]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn strings_read_like_the_values_they_spell(
        bools in prop::collection::vec(any::<bool>(), 12),
        durations in prop::collection::vec(1i64..200_000, 2),
        offsets in prop::collection::vec(-400i64..150_000, 2),
        how in prop::collection::vec(0usize..6, 14),
    ) {
        // Alerts and outputs are functions of the report: comparing reports is enough here.
        let native = run(&typed_sequence(&bools, &durations, &offsets, &[0; 14]), &config(), false);
        let written = run(&typed_sequence(&bools, &durations, &offsets, &how), &config(), false);
        for (a, b) in native.iter().zip(&written) {
            prop_assert_eq!(a, b);
            prop_assert_eq!(Session::from_report(a), Session::from_report(b));
        }
    }
}

/// The properties can tell: the fixed examples the README names read the same, and a value that
/// is not a boolean does not.
#[test]
fn string_booleans_examples() {
    let class = |assumed_root: Value| {
        let mut r = root_session_use();
        set(
            &mut r,
            &split("userIdentity.sessionContext.assumedRoot"),
            assumed_root,
        );
        let text = r.to_string();
        let rec = Record::from_json(&text).unwrap();
        classify(&rec).class
    };
    assert_eq!(class(json!(true)), class(json!("true")));
    assert_eq!(class(json!(true)), class(json!("True")));
    assert_ne!(class(json!(true)), class(json!("maybe")));
    let report = |d: Value| {
        let mut r = role_session_assume_role();
        set(&mut r, &split("requestParameters.durationSeconds"), d);
        let text = r.to_string();
        let rec = Record::from_json(&text).unwrap();
        let input = InputRef {
            file: "t".into(),
            index: 0,
        };
        Pipeline::new(RuleConfig::NONE, Severity::Info).report(&rec, input, &NoOrigins)
    };
    assert_eq!(report(json!(900)), report(json!("900")));
    assert_eq!(
        report(json!(900)).assumption.unwrap().duration_seconds,
        Some(900)
    );
}

/// Regression: a forged `durationSeconds` near `i64::MAX` (and no readable expiry) overflowed
/// the session's expiry (a panic in debug builds, a wrapped, negative expiry in release).
#[test]
fn huge_duration_seconds_does_not_overflow() {
    use rootwatch::core::session::{MAX_LIFETIME_SECONDS, ROLE_DEFAULT_SECONDS};
    for (d, lifetime) in [
        (json!(i64::MAX), MAX_LIFETIME_SECONDS),
        (json!(i64::MAX.to_string()), MAX_LIFETIME_SECONDS),
        // Not an i64: unreadable, so the API's default.
        (json!(u64::MAX), ROLE_DEFAULT_SECONDS),
    ] {
        let mut r = role_session_assume_role();
        set(
            &mut r,
            &split("requestParameters.durationSeconds"),
            d.clone(),
        );
        set(
            &mut r,
            &split("responseElements.credentials.expiration"),
            Value::Null,
        );
        let reports = pipeline(&[r, role_session_use()], &RuleConfig::NONE);
        let s = Session::from_report(&reports[0]).expect("the session is learned");
        assert_eq!(s.expires_at - s.issued_at, lifetime, "{d}");
        assert!(reports[1].origin.is_some(), "the use is attributed");
    }
}
