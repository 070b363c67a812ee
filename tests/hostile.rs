//! Hostile and odd input (issue 7, hardening), each through the real `rootwatch replay` binary
//! (standard output, standard error, exit status) and through the Lambda [`Handler`] (in
//! process, with the fake publisher): deep nesting, 1 MB strings, invalid UTF-8, NUL bytes,
//! duplicate keys, truncated gzip, empty files, a `Records` that is not an array, a null
//! `userIdentity`, and files that mix good and bad records.
//!
//! Each case gives a clear error that names the file and the record index (and position), or a
//! best-effort classification; never a panic; the other records and the other files are still
//! processed. The function acknowledges (and counts) what it cannot read and never retries it.

mod support;
use support::sqs_event as sqs;

use rootwatch::aws::function::{Config, Counts, Handler};
use rootwatch::aws::testing::FakePublisher;
use rootwatch::core::alert::MAX_MESSAGE_BYTES;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A root record (it alerts) with `id` as eventID.
fn rec(id: &str) -> String {
    rec_named(id, "CreateUser")
}

fn rec_named(id: &str, name: &str) -> String {
    json!({"eventVersion": "1.09", "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"},
        "eventTime": "2026-11-23T10:00:00Z", "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.1", "eventID": id, "readOnly": false, "eventType": "AwsApiCall"})
    .to_string()
}

fn log_file(records: &[String]) -> String {
    format!(r#"{{"Records":[{}]}}"#, records.join(","))
}

fn envelope(record: &str) -> String {
    format!(
        r#"{{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"111122223333","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{record}}}"#
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// What one run of the binary gave.
struct Run {
    /// eventIDs of the records printed (`--format jsonl`), in order ("" for none).
    ids: Vec<String>,
    lines: Vec<Value>,
    stderr: String,
    code: i32,
}

impl Run {
    fn err(&self, needle: &str) {
        assert!(
            self.stderr.contains(needle),
            "missing {needle:?} in:\n{}",
            self.stderr
        );
    }
}

/// `rootwatch replay --format jsonl PATHS...`; checks it did not panic.
fn replay(paths: &[PathBuf]) -> Run {
    let out = assert_cmd::Command::cargo_bin("rootwatch")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["replay", "--format", "jsonl"])
        .args(paths)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    let code = out.status.code().expect("exited, not killed by a signal");
    assert!(
        !stderr.contains("panicked") && code != 101,
        "panic ({code}):\n{stderr}"
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .expect("stdout is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let ids = lines
        .iter()
        .map(|v| v["event_id"].as_str().unwrap_or("").to_owned())
        .collect();
    Run {
        ids,
        lines,
        stderr,
        code,
    }
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn handler() -> Handler<FakePublisher> {
    Handler::new(
        Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch"),
        FakePublisher::default(),
    )
}

/// The function on one input of raw bytes (what an SQS body or an event holds): counts, and
/// whether it must be retried.
async fn lambda(h: &Handler<FakePublisher>, bytes: &[u8]) -> (Counts, bool) {
    let mut counts = Counts::default();
    let inputs = [("test".to_owned(), bytes)];
    let results = h.process_inputs(&inputs, &mut counts).await;
    (counts, results.iter().any(Result::is_err))
}

fn event_ids(h: &Handler<FakePublisher>) -> Vec<String> {
    h.publisher
        .published()
        .iter()
        .map(|a| a.event_id.clone().unwrap_or_default())
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deep_nesting() {
    let d = tempfile::tempdir().unwrap();
    let open = "[".repeat(100_000);
    let balanced = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let object = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
    let field = log_file(&[
        rec("d1"),
        format!(
            r#"{{"eventName":"X","requestParameters":{balanced},"responseElements":{object}}}"#
        ),
        rec("d2"),
    ]);
    let files = [
        write(d.path(), "a-open.json", &open),
        write(d.path(), "b-field.json", &field),
        write(d.path(), "c-object.json", &object),
        write(
            d.path(),
            "d-lines.jsonl",
            format!("{}\n{open}\n{balanced}\n{}\n", rec("j1"), rec("j2")),
        ),
        write(d.path(), "e-good.json", rec("g1")),
    ];
    let r = replay(&files);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.ids, ["d1", "", "d2", "j1", "j2", "g1"], "{}", r.stderr);
    r.err("a-open.json: record 0: EOF while parsing a list at line 1 column 100000");
    // Nesting is skipped without recursion where it is not read, and refused past serde_json's
    // limit (128) where it is: either way, no stack overflow.
    r.err("c-object.json: record 0: not a CloudTrail record: none of eventName");
    r.err("d-lines.jsonl: record 1: line 2: column 100000: EOF while parsing a list");
    r.err("d-lines.jsonl: record 2: not a CloudTrail record: none of eventName");

    let h = handler();
    for payload in [&open, &balanced, &object] {
        assert_eq!(h.handle(payload).await.unwrap(), json!({}));
    }
    let (counts, retry) = lambda(&h, field.as_bytes()).await;
    assert!(!retry);
    assert_eq!((counts.records, counts.alerts_published), (3, 2));
    let out = h
        .handle(&sqs(&[
            ("open", &open),
            ("object", &object),
            ("good", &envelope(&rec("g2"))),
        ]))
        .await
        .unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(event_ids(&h), ["d1", "d2", "g2"]);
}

#[tokio::test]
async fn megabyte_strings() {
    let d = tempfile::tempdir().unwrap();
    // 300,000 characters, 0.9 MB as JSON; seven of them keep the record (6.3 MB) under the
    // 8 MiB a record may have (a larger one is refused: src/input/decode.rs tests).
    let big = "\u{202e}A\n".repeat(100_000);
    let mut v: Value = serde_json::from_str(&rec("big")).unwrap();
    for path in ["userAgent", "errorMessage", "sourceIPAddress"] {
        v[path] = json!(big);
    }
    v["userIdentity"]["principalId"] = json!(big);
    v["userIdentity"]["userName"] = json!(big);
    v["requestParameters"] = json!({ "userName": big, "policyDocument": big });
    let record = v.to_string();
    assert!(record.len() > 1 << 20 && record.len() < rootwatch::input::MAX_RECORD_BYTES);
    let f = write(
        d.path(),
        "big.json",
        log_file(&[record.clone(), rec("after")]),
    );
    let r = replay(std::slice::from_ref(&f));
    assert_eq!(
        (r.code, r.ids.clone()),
        (0, vec!["big".into(), "after".into()]),
        "{}",
        r.stderr
    );
    let ua = r.lines[0]["user_agent"].as_str().unwrap();
    // At most 200 characters of the input, each escaped in at most 10.
    assert!(ua.len() < 2_100 && ua.ends_with('…'), "{ua}");
    assert!(!ua.contains('\n') && !ua.contains('\u{202e}'), "{ua}");
    assert!(
        serde_json::to_string(&r.lines[0]).unwrap().len() < 8_000,
        "the report line is bounded"
    );
    // The e-mail text of the alert, as printed.
    let out = assert_cmd::Command::cargo_bin("rootwatch")
        .unwrap()
        .args(["replay", "--format", "alert"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.len() < 2 * 8_000, "{}", text.len());
    assert!(!text.contains('\u{202e}'));

    let h = handler();
    assert_eq!(h.handle(&envelope(&record)).await.unwrap(), json!({}));
    let sent = h.publisher.published();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].size() <= MAX_MESSAGE_BYTES && sent[0].subject.len() < 100);
}

#[tokio::test]
async fn invalid_utf8() {
    let d = tempfile::tempdir().unwrap();
    let bad = rec("u2").replace("CreateUser", "Create\u{fffd}User");
    let bytes = log_file(&[rec("u1"), bad, rec("u3")])
        .into_bytes()
        .into_iter()
        // U+FFFD (EF BF BD) -> two bytes that are not UTF-8.
        .collect::<Vec<u8>>();
    let bytes = replace(&bytes, "\u{fffd}".as_bytes(), b"\xff\xfe");
    assert!(std::str::from_utf8(&bytes).is_err());
    let column = bytes.iter().position(|b| *b == 0xff).unwrap() + 1;
    let files = [
        write(d.path(), "a-bad.json", &bytes),
        write(
            d.path(),
            "b-lines.jsonl",
            [
                rec("j1").as_bytes(),
                b"\n{\"eventName\":\"\xc3\x28\"}\n",
                rec("j2").as_bytes(),
            ]
            .concat(),
        ),
        write(d.path(), "c-gzip.json.gz", gzip(&bytes)),
        write(d.path(), "d-outside.json", b"[\xff]"),
        write(d.path(), "e-good.json", rec("g1")),
    ];
    let r = replay(&files);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Every record is read; the damaged one best effort, its bytes read as U+FFFD.
    assert_eq!(
        r.ids,
        ["u1", "u2", "u3", "j1", "j2", "u1", "u2", "u3", "g1"],
        "{}",
        r.stderr
    );
    assert_eq!(r.lines[1]["event_name"], "Create\u{fffd}\u{fffd}User");
    assert_eq!(r.lines[1]["principal"]["class"], "root");
    r.err(&format!(
        "a-bad.json: invalid UTF-8 at line 1 column {column}, read as U+FFFD"
    ));
    r.err("b-lines.jsonl: record 1: line 2: not UTF-8");
    r.err("c-gzip.json.gz: invalid UTF-8 at line 1 column");
    r.err("d-outside.json: record 0: expected value at line 1 column 2");

    // The function is handed JSON text by Lambda (the Invoke API and SQS bodies are UTF-8);
    // raw bytes still go through its decoder.
    let h = handler();
    let (counts, retry) = lambda(&h, &bytes).await;
    assert!(!retry);
    assert_eq!((counts.records, counts.unreadable_inputs), (3, 1));
    assert_eq!(event_ids(&h), ["u1", "u2", "u3"]);
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[tokio::test]
async fn nul_bytes() {
    let d = tempfile::tempdir().unwrap();
    let raw_in_string = log_file(&[
        rec("n1"),
        rec("n2").replace("CreateUser", "Create\0User"),
        rec("n3"),
    ]);
    let escaped = rec("ne").replace("CreateUser", "Create\\u0000User");
    let files = [
        write(d.path(), "a-raw.json", &raw_in_string),
        write(d.path(), "b-escaped.json", &escaped),
        write(
            d.path(),
            "c-between.json",
            format!("{}\0{}", rec("c1"), rec("c2")),
        ),
        write(
            d.path(),
            "d-lines.jsonl",
            format!(
                "{}\n\0\n{{\"eventName\":\"a\0b\"}}\n{}\n",
                rec("j1"),
                rec("j2")
            ),
        ),
    ];
    let r = replay(&files);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.ids, ["n1", "ne", "c1", "j1", "j2"], "{}", r.stderr);
    let col = raw_in_string.find('\0').unwrap();
    r.err(&format!(
        "a-raw.json: record 1: control character (\\u0000-\\u001F) found while parsing a string at line 1 column {col}"
    ));
    r.err("c-between.json: record 1: expected value at line 1 column");
    r.err("d-lines.jsonl: record 1: line 2: column 1: expected value");
    r.err("d-lines.jsonl: record 2: line 3: column");
    // An escaped NUL is valid JSON: read, and shown escaped.
    assert_eq!(r.lines[1]["event_name"], "Create\\u{0}User");

    let h = handler();
    h.handle(&envelope(&escaped)).await.unwrap();
    let sent = h.publisher.published();
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].text.contains('\0') && !sent[0].subject.contains('\0'));
    assert!(
        sent[0].text.contains("Create\\u{0}User"),
        "{}",
        sent[0].text
    );
    let (counts, retry) = lambda(&h, raw_in_string.as_bytes()).await;
    assert!(!retry);
    assert_eq!((counts.records, counts.unreadable_inputs), (1, 1));
}

#[tokio::test]
async fn duplicate_keys() {
    let d = tempfile::tempdir().unwrap();
    let dup_name = format!(
        r#"{},"eventName":"DeleteUser"}}"#,
        rec("k2").strip_suffix('}').unwrap()
    );
    let dup_identity =
        rec("k3").replacen(r#""type":"Root""#, r#""type":"Root","type":"IAMUser""#, 1);
    let two_logs = format!(r#"{{"Records":[{}],"Records":[{}]}}"#, rec("k4"), rec("k5"));
    let dup_detail = format!(
        r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{},"detail":{}}}"#,
        rec("k6"),
        rec("k7")
    );
    let files = [
        write(
            d.path(),
            "a-records.json",
            log_file(&[rec("k1"), dup_name.clone(), dup_identity, rec("k8")]),
        ),
        write(d.path(), "b-two-logs.json", &two_logs),
        write(d.path(), "c-envelope.json", &dup_detail),
    ];
    let r = replay(&files);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.ids, ["k1", "k8", "k4", "k5"], "{}", r.stderr);
    r.err("a-records.json: record 1: not a CloudTrail record: duplicate field `eventName`");
    r.err("a-records.json: record 2: not a CloudTrail record: duplicate field `type`");
    r.err("c-envelope.json: record 0: not a CloudTrail record or event: duplicate field `detail`");

    let h = handler();
    let out = h
        .handle(&sqs(&[
            ("dup", &envelope(&dup_name)),
            ("dup-detail", &dup_detail),
            ("good", &envelope(&rec("k9"))),
        ]))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"batchItemFailures": []}),
        "acknowledged, never retried"
    );
    assert_eq!(event_ids(&h), ["k9"]);
    let (counts, _) = lambda(&h, two_logs.as_bytes()).await;
    assert_eq!(counts.records, 2);
}

#[tokio::test]
async fn truncated_gzip() {
    let d = tempfile::tempdir().unwrap();
    let records: Vec<String> = (0..200).map(|i| rec(&format!("t{i}"))).collect();
    let whole = gzip(log_file(&records).as_bytes());
    let cut = &whole[..whole.len() * 2 / 3];
    let lines = gzip(records.join("\n").as_bytes());
    let files = [
        write(d.path(), "a-cut.json.gz", cut),
        write(d.path(), "b-cut.jsonl.gz", &lines[..lines.len() / 2]),
        write(d.path(), "c-header-only.json.gz", &whole[..10]),
        write(d.path(), "d-good.json", rec("g1")),
    ];
    let r = replay(&files);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The records before the cut are read, then the cut is named with the record it hit.
    let first = (0..r.ids.len())
        .take_while(|i| r.ids[*i] == format!("t{i}"))
        .count();
    assert!(first > 50 && first < 200, "{first}: {}", r.stderr);
    r.err(&format!("a-cut.json.gz: read error at record {first}: "));
    let second = (0..r.ids.len() - first)
        .take_while(|i| r.ids[first + i] == format!("t{i}"))
        .count();
    assert!(second > 20, "{second}");
    r.err("b-cut.jsonl.gz: read error");
    r.err("c-header-only.json.gz: read error at record 0");
    assert_eq!(r.ids.last().map(String::as_str), Some("g1"));

    // The function gets JSON text, not gzip: a text cut in the middle keeps what came before.
    let text = log_file(&records);
    let h = handler();
    let (counts, retry) = lambda(&h, &text.as_bytes()[..text.len() / 2]).await;
    assert!(!retry);
    assert!(
        counts.records > 50 && counts.unreadable_inputs == 1,
        "{counts:?}"
    );
    assert_eq!(counts.alerts_published, counts.records);
}

#[tokio::test]
async fn empty_files() {
    let d = tempfile::tempdir().unwrap();
    let files = [
        write(d.path(), "a-empty.json", ""),
        write(d.path(), "b-blank.json", " \n\t\n"),
        write(d.path(), "c-empty.json.gz", gzip(b"")),
        write(d.path(), "d-empty.jsonl", ""),
        write(d.path(), "e-good.json", rec("g1")),
    ];
    let r = replay(&files);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.ids, ["g1"]);
    r.err("a-empty.json: empty input: no JSON value");
    r.err("b-blank.json: record 0: EOF while parsing a value at line 3 column 0");
    r.err("c-empty.json.gz: empty input: no JSON value");
    // JSON Lines: no line is no record, not an error.
    assert!(!r.stderr.contains("d-empty.jsonl"), "{}", r.stderr);
    r.err("3 input(s) could not be read");

    let h = handler();
    let out = h
        .handle(&sqs(&[
            ("empty", ""),
            ("blank", "  "),
            ("good", &envelope(&rec("g2"))),
        ]))
        .await
        .unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(event_ids(&h), ["g2"]);
    let (counts, retry) = lambda(&h, b"").await;
    assert_eq!((counts.unreadable_inputs, retry), (1, false));
}

#[tokio::test]
async fn records_that_is_not_an_array() {
    let d = tempfile::tempdir().unwrap();
    let shapes = [
        ("a-number.json", r#"{"Records": 5}"#, "integer `5`"),
        (
            "b-object.json",
            r#"{"Records": {"eventName": "CreateUser"}}"#,
            "map",
        ),
        ("c-null.json", r#"{"Records": null}"#, "null"),
        ("d-string.json", r#"{"Records": "[]"}"#, "string \"[]\""),
    ];
    let mut files: Vec<PathBuf> = shapes
        .iter()
        .map(|(name, text, _)| write(d.path(), name, text))
        .collect();
    files.push(write(d.path(), "e-good.json", rec("g1")));
    let r = replay(&files);
    assert_eq!(
        (r.code, r.ids.clone()),
        (1, vec!["g1".to_owned()]),
        "{}",
        r.stderr
    );
    for (name, _, found) in shapes {
        r.err(&format!(
            "{name}: record 0: invalid type: {found}, expected `Records` to be an array of CloudTrail records at line 1 column"
        ));
    }

    let h = handler();
    for (_, text, _) in shapes {
        assert_eq!(h.handle(text).await.unwrap(), json!({}));
        let (counts, retry) = lambda(&h, text.as_bytes()).await;
        assert_eq!(
            (counts.unreadable_inputs, counts.records, retry),
            (1, 0, false)
        );
    }
    assert_eq!(h.publisher.calls(), 0);
}

#[tokio::test]
async fn user_identity_null_or_odd() {
    let d = tempfile::tempdir().unwrap();
    let close = |id: &str, identity: Value| {
        json!({"eventVersion": "1.09", "userIdentity": identity, "eventTime": "2026-11-23T10:00:00Z",
            "eventSource": "billingconsole.amazonaws.com", "eventName": "CloseAccount", "awsRegion": "us-east-1",
            "eventID": id, "recipientAccountId": "111122223333"})
        .to_string()
    };
    let mut plain: Value = serde_json::from_str(&rec("p1")).unwrap();
    plain["userIdentity"] = Value::Null;
    let records = vec![
        close("c-null", Value::Null),
        close("c-string", json!("Root")),
        close("c-array", json!([{"type": "Root"}])),
        close("c-number", json!(0)),
        plain.to_string(),
    ];
    let f = write(d.path(), "identity.json", log_file(&records));
    let r = replay(&[f]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.ids, ["c-null", "c-string", "c-array", "c-number", "p1"]);
    for line in &r.lines[..4] {
        // Best effort: no identity is `unknown`, and the task only root can cause still fires.
        assert_eq!(line["principal"]["class"], "unknown", "{line}");
        assert_eq!(line["findings"][0]["task"], "close-account", "{line}");
    }
    assert_eq!(r.lines[4]["principal"]["class"], "unknown");
    assert_eq!(r.lines[4]["findings"], json!([]));

    let h = handler();
    for record in &records {
        h.handle(&envelope(record)).await.unwrap();
    }
    let sent = h.publisher.published();
    assert_eq!(sent.len(), 4);
    assert!(
        sent[0]
            .subject
            .starts_with("[rootwatch] CRITICAL unknown account: Root-only task"),
        "{}",
        sent[0].subject
    );
}

#[tokio::test]
async fn files_mixing_good_and_bad_records() {
    let d = tempfile::tempdir().unwrap();
    let close = r#"{"userIdentity":null,"eventSource":"billingconsole.amazonaws.com","eventName":"CloseAccount","eventID":"m-close"}"#;
    let dup = format!(
        r#"{},"eventID":"again"}}"#,
        rec("m-dup").strip_suffix('}').unwrap()
    );
    let mixed = log_file(&[
        rec("m1"),
        "5".into(),
        r#""x""#.into(),
        "null".into(),
        "{}".into(),
        "[]".into(),
        close.into(),
        dup.clone(),
        envelope(&rec("m-envelope")),
        rec("m2"),
    ]);
    let lines = [
        rec("l1"),
        "not json".into(),
        "{}".into(),
        envelope(&rec("l2")),
        r#"{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}"#.into(),
        "[".into(),
        rec("l3"),
    ]
    .join("\n");
    let files = [
        write(d.path(), "a-mixed.json", &mixed),
        write(
            d.path(),
            "b-broken.json",
            "{\"Records\": [\n  {\"eventName\": \"A\"},\n  {oops}\n]}",
        ),
        write(d.path(), "c-lines.jsonl", &lines),
        write(d.path(), "d-good.json", rec("g1")),
    ];
    let r = replay(&files);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.ids,
        ["m1", "m-close", "m2", "", "l1", "l2", "l3", "g1"],
        "{}",
        r.stderr
    );
    for (index, what) in [
        (1, "invalid type: integer `5`, expected struct Record"),
        (2, "invalid type: string \"x\", expected struct Record"),
        (3, "invalid type: null, expected struct Record"),
        (
            4,
            "none of eventName, eventSource, eventTime, eventVersion, userIdentity",
        ),
        (
            5,
            "none of eventName, eventSource, eventTime, eventVersion, userIdentity",
        ),
        (7, "duplicate field `eventID`"),
        // A log file's Records hold records, not EventBridge events.
        (
            8,
            "none of eventName, eventSource, eventTime, eventVersion, userIdentity",
        ),
    ] {
        r.err(&format!(
            "a-mixed.json: record {index}: not a CloudTrail record: {what}"
        ));
    }
    r.err("b-broken.json: record 1: key must be a string at line 3 column 4");
    r.err("c-lines.jsonl: record 1: line 2: column 2: expected ident");
    r.err("c-lines.jsonl: record 2: not a CloudTrail record: none of eventName");
    r.err("c-lines.jsonl: record 5: line 6: column 1: EOF while parsing a list");
    assert!(
        !r.stderr.contains("c-lines.jsonl: record 4"),
        "an event that is not CloudTrail is no error"
    );

    // The function: alerts for what it can read; the rest counted and acknowledged.
    let h = handler();
    let (counts, retry) = lambda(&h, mixed.as_bytes()).await;
    assert!(!retry);
    // In eventTime order; a record without one goes last.
    assert_eq!(event_ids(&h), ["m1", "m2", "m-close"]);
    // One pipeline: what replay refuses above (`{}`, `[]` and an EventBridge event inside a
    // log file's Records hold none of a record's keys) the function refuses too, counted as
    // unreadable and acknowledged.
    assert_eq!(
        (counts.unreadable_inputs, counts.records),
        (7, 3),
        "{counts:?}"
    );
    let payload = sqs(&[
        ("good", &envelope(&rec("s1"))),
        ("garbage", "this is not json"),
        ("deep", &"[".repeat(100_000)),
        ("lines", &lines),
        ("close", &envelope(close)),
    ]);
    let h = handler();
    assert_eq!(
        h.handle(&payload).await.unwrap(),
        json!({"batchItemFailures": []})
    );
    // A body is one value (or several one after another): the JSON Lines body stops at its
    // first bad line.
    assert_eq!(event_ids(&h), ["s1", "l1", "m-close"]);
    // When publishing fails, exactly the messages with alerts come back; the unreadable ones
    // never do.
    let h = handler();
    h.publisher.fail_with(Some("InternalError"));
    assert_eq!(
        h.handle(&payload).await.unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "good"}, {"itemIdentifier": "lines"}, {"itemIdentifier": "close"}]})
    );
}
