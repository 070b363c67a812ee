//! `rootwatch replay --suppressions FILE` through the binary: a covered finding stays in `jsonl`
//! with its `suppressed` object, leaves the table, the alert text and the counts; bad and hostile
//! files are usage errors (exit 2) naming the file, the line and the key; expired entries warn.
//! Expected values are written by hand (the sample's finding from its label, the counts from the
//! README's sample output).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const NOMFA: &str = "events/rules/root-console-login-nomfa.json";

fn rootwatch() -> Command {
    let mut c = Command::cargo_bin("rootwatch").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// The UTC date `days` from now, `YYYY-MM-DD` (the binary compares expiry with the wall clock).
fn date_in(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    rootwatch::core::time::format(now + days * 86_400)[..10].to_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// (stdout, stderr, exit code) of `replay` with a suppression file.
fn replay(file: &Path, args: &[&str]) -> (String, String, i32) {
    let out = rootwatch()
        .arg("replay")
        .arg("--suppressions")
        .arg(file)
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap(),
    )
}

#[test]
fn a_covered_finding_stays_in_jsonl_marked_and_leaves_the_table_and_the_alerts() {
    let d = tempfile::tempdir().unwrap();
    let expires = date_in(30);
    let file = write(
        d.path(),
        "s.toml",
        format!(
            "[[suppress]]\nrule = \"root-console-login\"\naccount = \"111122223333\"\nsource_ip = \"203.0.113.0/24\"\nreason = \"drill SEC-1234\"\nexpires = {expires}\n"
        )
        .as_bytes(),
    );
    let (out, err, code) = replay(&file, &["--format", "jsonl", NOMFA]);
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let f = &line["findings"][0];
    assert_eq!(f["rule"], "root-console-login");
    assert_eq!(f["severity"], "critical");
    assert_eq!(
        f["suppressed"],
        serde_json::json!({"reason": "drill SEC-1234", "expires": expires})
    );
    assert!(err.contains("0 findings, 1 suppressed"), "{err}");

    let (table, _, code) = replay(&file, &[NOMFA]);
    assert_eq!(code, 0);
    assert!(
        !table.contains("Root user signed in to the console without MFA"),
        "{table}"
    );
    assert!(table.contains("No findings."), "{table}");
    assert!(table.contains("  suppressed       1 "), "{table}");

    let (alert, _, code) = replay(&file, &["--format", "alert", NOMFA]);
    assert_eq!((alert.as_str(), code), ("", 0), "no alert text");

    let (json, _, _) = replay(&file, &["--format", "json", NOMFA]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["summary"]["suppressed"], 1);
    assert_eq!(
        doc["records"][0]["findings"][0]["suppressed"]["reason"],
        "drill SEC-1234"
    );
}

#[test]
fn over_the_samples_a_rule_leaves_the_counts_and_detector_tamper_stays() {
    let d = tempfile::tempdir().unwrap();
    let file = write(
        d.path(),
        "s.toml",
        format!(
            "[[suppress]]\nrule = \"root-console-login\"\nreason = \"r\"\nexpires = {}\n\n[[suppress]]\naccount = \"111122223333\"\nprincipal = \"arn:aws:sts::111122223333:assumed-role/Admin/*\"\nreason = \"everything Admin does\"\nexpires = {}\n",
            date_in(1),
            date_in(1)
        )
        .as_bytes(),
    );
    let (table, err, code) = replay(&file, &["events/"]);
    assert_eq!(code, 0, "{err}");
    // README: root-console-login 6 of 87 findings; no root-console-login line is left.
    assert!(
        !table.contains("    root-console-login           "),
        "{table}"
    );
    assert!(table.contains("root-console-login-failure   15"), "{table}");
    // The tampering by Admin/mallory is still shown, whatever the entry for Admin says.
    assert!(
        table.contains("Detector tampering: CloudTrail logging stopped on arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail by arn:aws:sts::111122223333:assumed-role/Admin/mallory"),
        "{table}"
    );
    assert!(table.contains("detector-tamper              8"), "{table}");
    assert!(table.contains("  suppressed       "), "{table}");
}

#[test]
fn an_expired_entry_warns_and_suppresses_nothing() {
    let d = tempfile::tempdir().unwrap();
    let file = write(
        d.path(),
        "old.toml",
        format!(
            "[[suppress]]\nrule = \"root-console-login\"\nreason = \"last year's drill \\u00e9\"\nexpires = {}\n",
            date_in(-1)
        )
        .as_bytes(),
    );
    let (table, err, code) = replay(&file, &[NOMFA]);
    assert_eq!(code, 0);
    assert!(err.contains("warning"), "{err}");
    assert!(
        err.contains("old.toml: line 1: suppression expired on"),
        "{err}"
    );
    assert!(err.contains("last year's drill é"), "{err}");
    assert!(table.contains("Root user signed in to the console without MFA"));
    assert!(!table.contains("suppressed"), "{table}");
}

/// Every bad file: exit 2, nothing on stdout, and stderr names the file, the line and the key.
#[test]
fn bad_and_hostile_files_are_usage_errors_naming_file_line_and_key() {
    let d = tempfile::tempdir().unwrap();
    let ok_date = date_in(10);
    let far = date_in(400);
    let e = |keys: &str| format!("[[suppress]]\n{keys}\n");
    let mut binary = b"[[suppress]]\nrule = \"root-session\"\n".to_vec();
    binary.extend((0u8..=255).cycle().take(4096));
    let mut large = e(&format!(
        "rule = \"root-session\"\nreason = \"r\"\nexpires = {ok_date}"
    ))
    .into_bytes();
    while large.len() <= 2 * 1024 * 1024 {
        large.extend_from_slice(b"# padding padding padding padding padding padding padding\n");
    }
    let cases: Vec<(&str, Vec<u8>, &str, Option<&str>)> = vec![
        (
            "unknown-key",
            e(&format!("rule = \"root-session\"\nexpiry = {ok_date}\nreason = \"r\"")).into_bytes(),
            "line 3",
            Some("expiry"),
        ),
        (
            "missing-reason",
            e(&format!("rule = \"root-session\"\nexpires = {ok_date}")).into_bytes(),
            "line 1",
            Some("reason"),
        ),
        (
            "missing-expires",
            e("rule = \"root-session\"\nreason = \"r\"").into_bytes(),
            "line 1",
            Some("expires"),
        ),
        (
            "too-far",
            e(&format!("rule = \"root-session\"\nreason = \"r\"\nexpires = {far}")).into_bytes(),
            "line 4",
            Some("expires"),
        ),
        (
            "bad-cidr",
            e(&format!("source_ip = \"10.0.0.300/8\"\nreason = \"r\"\nexpires = {ok_date}"))
                .into_bytes(),
            "line 2",
            Some("source_ip"),
        ),
        (
            "tamper",
            e(&format!("rule = \"detector-tamper\"\nreason = \"r\"\nexpires = {ok_date}"))
                .into_bytes(),
            "line 2",
            Some("rule"),
        ),
        (
            "syntax",
            e(&format!("rule = root-session\nreason = \"r\"\nexpires = {ok_date}")).into_bytes(),
            "line 2",
            Some("rule"),
        ),
        (
            "ansi",
            e(&format!(
                "rule = \"root-session\"\nreason = \"ok \\u001b]0;owned\\u0007 \\u001b[2J\"\nexpires = {ok_date}"
            ))
            .into_bytes(),
            "line 3",
            Some("reason"),
        ),
        (
            "raw-control",
            e(&format!("rule = \"root-session\"\nreason = \"a\u{1b}[31mb\"\nexpires = {ok_date}"))
                .into_bytes(),
            "line 3",
            None,
        ),
        // Bytes 0..=255 after two lines: byte 10 is a line break, 0x80 (not UTF-8) is on line 4.
        ("binary", binary, "line 4", None),
        ("large", large, "line ", None),
    ];
    for (name, bytes, line, key) in &cases {
        let file = write(d.path(), &format!("{name}.toml"), bytes);
        let (out, err, code) = replay(&file, &[NOMFA]);
        assert_eq!(code, 2, "{name}: {err}");
        assert_eq!(out, "", "{name}: nothing is replayed");
        assert!(err.starts_with("rootwatch: error: "), "{name}: {err}");
        assert!(
            err.contains(&format!("{name}.toml: {line}")),
            "{name}: {err}"
        );
        if let Some(k) = key {
            assert!(err.contains(&format!("key `{k}`")), "{name}: {err}");
        }
        assert!(
            !err.trim_end().chars().any(char::is_control),
            "{name}: no control character reaches the terminal: {err:?}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line: {err}");
    }
}

#[test]
fn a_missing_file_is_a_usage_error_naming_it() {
    let (_, err, code) = replay(Path::new("no/such/suppressions.toml"), &[NOMFA]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such/suppressions.toml"), "{err}");
}

/// docs/suppressions.md: its example file is valid, and its `jsonl` finding is what an entry of
/// that reason gives the sample it names (judged on the example's own dates: 2026-12-06).
#[test]
fn the_documented_example_file_and_finding_are_what_the_code_reads_and_writes() {
    use rootwatch::core::model::InputRef;
    use rootwatch::core::pipeline::{NoOrigins, Pipeline};
    use rootwatch::core::suppress::Suppressions;
    let doc = std::fs::read_to_string("docs/suppressions.md").unwrap();
    let block = |fence: &str| -> String {
        let start = doc.find(fence).unwrap() + fence.len();
        let end = start + doc[start..].find("```").unwrap();
        doc[start..end].trim().to_owned()
    };
    let now = 1_796_558_400; // 2026-12-06T12:00:00Z
    let example = Suppressions::parse(block("```toml\n").as_bytes(), "example", now).unwrap();
    assert_eq!(example.entries.len(), 2);
    let entry = "[[suppress]]\nrule = \"root-console-login\"\nreason = \"drill SEC-1234\"\nexpires = 2027-01-31\n";
    let set = Suppressions::parse(entry.as_bytes(), "e", now).unwrap();
    let text = std::fs::read_to_string(NOMFA).unwrap();
    let event: serde_json::Value = serde_json::from_str(&text).unwrap();
    let input = InputRef {
        file: NOMFA.into(),
        index: 0,
    };
    let mut report = Pipeline::default()
        .run(&event["detail"].to_string(), true, input, &NoOrigins)
        .unwrap();
    assert_eq!(set.apply(&mut report, now), 1);
    let shown: serde_json::Value = serde_json::from_str(&block("```json\n")).unwrap();
    assert_eq!(serde_json::to_value(&report.findings[0]).unwrap(), shown);
}

/// Issue 17: a covered finding stays in `--format ocsf` as OCSF's "Suppressed" status (status_id
/// 3 of the Detection Finding class) and in `--format asff` with `Workflow.Status` SUPPRESSED,
/// both with the entry's reason; without the file the same finding is "New" and has no workflow.
#[test]
fn ocsf_and_asff_keep_a_covered_finding_marked_suppressed() {
    let d = tempfile::tempdir().unwrap();
    let expires = date_in(30);
    let file = write(
        d.path(),
        "s.toml",
        format!(
            "[[suppress]]\nrule = \"root-console-login\"\nreason = \"drill SEC-1234\"\nexpires = {expires}\n"
        )
        .as_bytes(),
    );
    let (out, err, code) = replay(&file, &["--format", "ocsf", NOMFA]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["finding_info"]["analytic"]["uid"], "root-console-login");
    assert_eq!(
        (doc["status_id"].as_i64(), doc["status"].as_str()),
        (Some(3), Some("Suppressed"))
    );
    let detail = doc["status_detail"].as_str().unwrap();
    assert!(
        detail.contains("drill SEC-1234") && detail.contains(&expires),
        "{detail}"
    );

    let (out, err, code) = replay(&file, &["--format", "asff", NOMFA]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["GeneratorId"], "root-console-login");
    assert_eq!(doc["Workflow"]["Status"], "SUPPRESSED");
    assert_eq!(
        doc["ProductFields"]["rootwatch/suppressedReason"],
        "drill SEC-1234"
    );

    for (format, field) in [("ocsf", "status_id"), ("asff", "Workflow")] {
        let out = rootwatch()
            .args(["replay", "--format", format, NOMFA])
            .output()
            .unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
        match format {
            "ocsf" => assert_eq!(doc[field], 1, "{doc}"),
            _ => assert!(doc.get(field).is_none(), "{doc}"),
        }
    }
}

/// The HTML report leaves a suppressed finding out of its rows (as the table does) and counts it
/// in its header.
#[test]
fn the_report_counts_a_suppressed_finding_and_does_not_list_it() {
    let d = tempfile::tempdir().unwrap();
    let file = write(
        d.path(),
        "s.toml",
        format!(
            "[[suppress]]\nrule = \"root-console-login\"\nreason = \"drill\"\nexpires = {}\n",
            date_in(30)
        )
        .as_bytes(),
    );
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(NOMFA).unwrap()).unwrap();
    let id = sample["eventID"]
        .as_str()
        .or(sample["detail"]["eventID"].as_str())
        .unwrap()
        .to_owned();
    let page = d.path().join("r.html");
    for (suppress, listed) in [(true, false), (false, true)] {
        let mut c = rootwatch();
        c.args(["replay", "--format", "jsonl", "--report"])
            .arg(&page);
        if suppress {
            c.arg("--suppressions").arg(&file);
        }
        let out = c.arg(NOMFA).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let html = std::fs::read_to_string(&page).unwrap();
        assert_eq!(html.contains(&id), listed, "suppressed={suppress}");
        assert_eq!(
            html.contains("<b id=\"suppressed\">1</b> suppressed"),
            suppress
        );
    }
}
