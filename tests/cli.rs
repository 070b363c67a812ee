//! The `rootwatch replay` binary: input shapes, bad inputs among good ones, gzip, folders,
//! output formats and pipes.

use assert_cmd::Command;
use predicates::prelude::*;
use std::io::Write;
use std::path::Path;

fn rootwatch() -> Command {
    let mut c = Command::cargo_bin("rootwatch").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn record(id: &str, kind: &str, name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"{kind}","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}},"eventTime":"2026-11-23T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","eventID":"{id}","readOnly":false,"eventType":"AwsApiCall"}}"#
    )
}

fn envelope(rec: &str) -> String {
    format!(
        r#"{{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"111122223333","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{rec}}}"#
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Runs `replay --format jsonl` and returns (event ids in output order, stderr, exit code).
fn jsonl(args: &[&Path]) -> (Vec<String>, String, i32) {
    let out = rootwatch()
        .arg("replay")
        .arg("--format")
        .arg("jsonl")
        .args(args)
        .output()
        .unwrap();
    let ids = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("each line is JSON");
            v["event_id"].as_str().unwrap_or("").to_owned()
        })
        .collect();
    (
        ids,
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap(),
    )
}

#[test]
fn each_input_shape_is_read() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let shapes: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "envelope.json",
            envelope(&record("e1", "Root", "CreateUser")).into_bytes(),
            vec!["e1"],
        ),
        (
            "logfile.json",
            format!(
                r#"{{"Records":[{},{}]}}"#,
                record("l1", "Root", "A"),
                record("l2", "IAMUser", "B")
            )
            .into_bytes(),
            vec!["l1", "l2"],
        ),
        (
            "bare.json",
            record("b1", "Root", "A").into_bytes(),
            vec!["b1"],
        ),
        (
            "array.json",
            format!(
                "[{},{}]",
                record("a1", "Root", "A"),
                envelope(&record("a2", "Root", "B"))
            )
            .into_bytes(),
            vec!["a1", "a2"],
        ),
        (
            "lines.jsonl",
            format!(
                "{}\n\n{}\n",
                record("j1", "Root", "A"),
                envelope(&record("j2", "Root", "B"))
            )
            .into_bytes(),
            vec!["j1", "j2"],
        ),
        (
            "concatenated.json",
            format!(
                "{}\n{}",
                record("c1", "Root", "A"),
                record("c2", "Root", "B")
            )
            .into_bytes(),
            vec!["c1", "c2"],
        ),
        (
            "logfile.json.gz",
            gzip(format!(r#"{{"Records":[{}]}}"#, record("g1", "Root", "A")).as_bytes()),
            vec!["g1"],
        ),
        (
            "lines.ndjson.gz",
            gzip(
                format!(
                    "{}\n{}\n",
                    record("n1", "Root", "A"),
                    record("n2", "Root", "B")
                )
                .as_bytes(),
            ),
            vec!["n1", "n2"],
        ),
    ];
    for (name, bytes, want) in shapes {
        let f = p.join(name);
        std::fs::write(&f, bytes).unwrap();
        let (ids, stderr, code) = jsonl(&[&f]);
        assert_eq!(ids, want, "{name}: {stderr}");
        assert_eq!(code, 0, "{name}: {stderr}");
    }
}

#[test]
fn bad_files_among_good_ones_are_named_and_the_rest_processed() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("a-good.json"), record("ok1", "Root", "A")).unwrap();
    std::fs::write(
        p.join("b-broken.json"),
        "{\"Records\": [\n  {\"eventName\": \"A\"},\n  {oops}\n]}",
    )
    .unwrap();
    std::fs::write(p.join("c-empty.json"), "").unwrap();
    std::fs::write(p.join("d-records-not-array.json"), r#"{"Records": 5}"#).unwrap();
    std::fs::write(
        p.join("e-truncated.json.gz"),
        &gzip(record("t1", "Root", "A").as_bytes())[..30],
    )
    .unwrap();
    std::fs::write(
        p.join("f-lines.jsonl"),
        format!(
            "{}\nnot json\n42\n{}\n",
            record("ok2", "Root", "A"),
            record("ok3", "Root", "B")
        ),
    )
    .unwrap();
    std::fs::write(p.join("g-not-a-record.json"), r#"{"hello": "world"}"#).unwrap();
    std::fs::write(p.join("h-good.json"), record("ok4", "IAMUser", "A")).unwrap();
    let (ids, stderr, code) = jsonl(&[p]);
    assert_eq!(code, 1, "{stderr}");
    // The record before the syntax error in b-broken is still processed (its id is empty).
    assert_eq!(ids, vec!["ok1", "", "ok2", "ok3", "ok4"], "{stderr}");
    let err = |needle: &str| assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    err("b-broken.json: record 1: key must be a string at line 3 column 4");
    err("c-empty.json: empty input");
    err("d-records-not-array.json: record 0: invalid type: integer `5`, expected `Records` to be an array");
    err("e-truncated.json.gz: read error");
    err("f-lines.jsonl: record 1: line 2: column 2: expected ident");
    err("f-lines.jsonl: record 2: line 3: expected a CloudTrail record, log file or EventBridge event, found a number");
    err("g-not-a-record.json: record 0: not a CloudTrail record");
    err("7 input(s) could not be read");
    // Any number of threads: the same lines and the same errors in the same order.
    let run = |threads: &str| {
        let out = rootwatch()
            .args(["replay", "--format", "jsonl", "--threads", threads])
            .arg(p)
            .output()
            .unwrap();
        (out.stdout, out.stderr, out.status.code())
    };
    let one = run("1");
    assert_eq!(String::from_utf8_lossy(&one.1), stderr);
    for threads in ["2", "5"] {
        assert_eq!(run(threads), one, "--threads {threads}");
    }
}

#[test]
fn output_does_not_depend_on_threads() {
    let run = |threads: &str| {
        rootwatch()
            .args([
                "replay",
                "--format",
                "jsonl",
                "--threads",
                threads,
                "events/",
            ])
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1");
    assert!(one.len() > 10_000);
    assert_eq!(run("3"), one);
    assert_eq!(run("8"), one);
}

#[test]
fn folders_are_walked_in_name_order_and_other_files_counted() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::create_dir_all(p.join("b/nested")).unwrap();
    std::fs::create_dir_all(p.join("a")).unwrap();
    std::fs::write(p.join("b/nested/z.json"), record("3", "Root", "A")).unwrap();
    std::fs::write(p.join("b/y.json"), record("2", "Root", "A")).unwrap();
    std::fs::write(p.join("a/x.jsonl"), record("1", "Root", "A")).unwrap();
    std::fs::write(p.join("a/notes.txt"), "not read").unwrap();
    std::fs::write(
        p.join("a/111122223333_CloudTrail-Digest_us-east-1_x.json.gz"),
        gzip(b"{}"),
    )
    .unwrap();
    let (ids, stderr, code) = jsonl(&[p]);
    // Depth first, each folder in name order: a/x, b/nested/z, b/y.
    assert_eq!(
        (ids, code),
        (vec!["1".to_owned(), "3".into(), "2".into()], 0),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 records from 3 files (2 skipped)"),
        "{stderr}"
    );
}

#[test]
fn missing_path_is_an_error_naming_it() {
    rootwatch()
        .args(["replay", "no/such/file.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no/such/file.json: read error"));
}

#[test]
fn stdin_is_read_with_a_dash() {
    rootwatch()
        .args(["replay", "--format", "jsonl", "-"])
        .write_stdin(envelope(&record("s1", "Root", "CreateUser")))
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""event_id":"s1""#));
}

#[test]
fn table_shows_findings_and_summary() {
    rootwatch()
        .args([
            "replay",
            "events/rules/root-console-login-nomfa.json",
            "events/principals/iam_user.json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("CRITICAL"))
        .stdout(predicate::str::contains(
            "Root user signed in to the console without MFA from 203.0.113.77",
        ))
        .stdout(predicate::str::contains("records read     2"))
        .stdout(predicate::str::contains(
            "by principal     root 1, iam_user 1",
        ))
        .stdout(predicate::str::contains("root-console-login           1"));
}

#[test]
fn min_severity_drops_lower_findings() {
    let out = rootwatch()
        .args([
            "replay",
            "--format",
            "jsonl",
            "--min-severity",
            "critical",
            "events/rules/",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut sev = Vec::new();
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for f in v["findings"].as_array().unwrap() {
            sev.push(f["severity"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        sev,
        vec!["critical"],
        "only the no-MFA login is critical in events/rules"
    );
    rootwatch()
        .args(["replay", "--min-severity", "severe", "events/"])
        .assert()
        .code(2);
}

#[test]
fn json_format_is_one_document() {
    let out = rootwatch()
        .args(["replay", "--format", "json", "events/shapes/"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = v["records"].as_array().unwrap().len() as u64;
    assert_eq!(v["summary"]["records"].as_u64(), Some(n));
    assert!(n >= 10);
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);
}

#[test]
fn hostile_strings_never_reach_the_terminal_raw() {
    for format in ["table", "jsonl", "json"] {
        let out = rootwatch()
            .args([
                "replay",
                "--format",
                format,
                "events/shapes/hostile-useragent.json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let bad: Vec<char> = text
            .chars()
            .filter(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c))
            .collect();
        assert!(bad.is_empty(), "{format}: raw control characters {bad:?}");
        assert!(!text.contains("\nSeverity: info"), "{format}: forged line");
    }
}

#[test]
fn colour_only_when_asked() {
    let f = "events/rules/root-console-login-nomfa.json";
    rootwatch()
        .args(["replay", f])
        .assert()
        .stdout(predicate::str::contains("\x1b[").not());
    rootwatch()
        .args(["replay", "--color", "always", f])
        .assert()
        .stdout(predicate::str::contains("\x1b[1;31mCRITICAL"));
}

#[test]
fn broken_pipe_exits_quietly() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("big.json");
    let recs: Vec<String> = (0..20_000)
        .map(|i| record(&i.to_string(), "Root", "A"))
        .collect();
    std::fs::write(&f, format!(r#"{{"Records":[{}]}}"#, recs.join(","))).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("rootwatch");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' replay --format jsonl '{}' | head -n 1 >/dev/null; echo \"status=${{PIPESTATUS:-x}}\"", bin.display(), f.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' replay --format jsonl '{}' | head -n 1 >/dev/null",
            bin.display(),
            f.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
