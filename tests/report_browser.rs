//! `replay --report FILE.html` and `sessions --format html` in a real browser: headless Chromium
//! (`CHROMIUM`, default `chromium`; `make test` installs Debian's package, pinned) opens the page
//! from file:// and the tests read the DOM its script built (`--dump-dom`). What is expected comes
//! from the `jsonl` output of the same replay, not from the page's own data. Screenshots are kept
//! in `target/report-artefacts/`.
//!
//! The page's state is in its URL fragment (`#severity=critical`, `#page=all`, `#event=ID`), which
//! is how these tests drive the filters: `--dump-dom` cannot click.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const NEEDS: &str = "needs chromium; make test installs it";

fn rootwatch() -> Command {
    let mut c = Command::cargo_bin("rootwatch").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn artefacts() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/report-artefacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn chromium(args: &[String]) -> std::process::Output {
    let bin = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin} ({e}): {NEEDS}"));
    assert!(
        out.status.success(),
        "{bin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The DOM after the page's script ran, for `page` with a URL fragment.
fn dom(page: &Path, fragment: &str) -> String {
    let url = format!(
        "file://{}#{fragment}",
        page.canonicalize().unwrap().display()
    );
    let out = chromium(&["--dump-dom".into(), url]);
    let dom = String::from_utf8(out.stdout).unwrap();
    assert!(
        dom.contains("data-drawn=\"true\""),
        "the script did not finish: {dom}"
    );
    dom
}

fn screenshot(page: &Path, name: &str) -> PathBuf {
    let shot = artefacts().join(name);
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    chromium(&[
        format!("--screenshot={}", shot.display()),
        "--window-size=1400,1000".into(),
        url,
    ]);
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "empty screenshot"
    );
    shot
}

/// (event id, severity) of every finding, from `--format jsonl`, and the report beside it.
fn replay_with_report(paths: &[&str], report: &Path) -> Vec<(String, String)> {
    let out = rootwatch()
        .args(["replay", "--no-progress", "--format", "jsonl", "--report"])
        .arg(report)
        .args(paths)
        .output()
        .unwrap();
    let mut findings = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for f in v["findings"].as_array().unwrap() {
            findings.push((
                v["event_id"].as_str().unwrap_or("-").to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            ));
        }
    }
    findings
}

fn rows(dom: &str) -> Vec<&str> {
    dom.split("<tr data-event-id=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect()
}

fn check_every_finding(dom: &str, findings: &[(String, String)]) {
    let shown = rows(dom);
    assert_eq!(shown.len(), findings.len(), "one row per finding");
    let mut a: Vec<&str> = shown.clone();
    let mut b: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "every finding's event id");
    // The SVGs, drawn by the script: one dot per finding with a time, the graph's nodes.
    assert!(dom.contains("id=\"timeline-svg\""));
    assert_eq!(dom.matches("<circle").count(), findings.len());
    assert!(dom.contains("id=\"graph-svg\""));
    assert!(dom.matches("<g class=\"node").count() > 1);
}

#[test]
fn the_report_is_written_beside_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("r.html");
    let out = rootwatch()
        .args(["replay", "--report"])
        .arg(&page)
        .arg("events/rules/")
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("Summary"),
        "the normal output is still written"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Self-contained: nothing to fetch.
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(external), "{external}");
    }
    assert!(html.contains("default-src 'none'"));
    // A folder that does not exist: the table is printed, then the error names the file.
    let bad = dir.path().join("no/such/dir/r.html");
    let out = rootwatch()
        .args(["replay", "--report"])
        .arg(&bad)
        .arg("events/rules/")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("Summary"));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("cannot write the report {}", bad.display())),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs chromium; make test installs it"]
fn report_of_the_samples_in_a_browser() {
    let dir = artefacts();
    let page = dir.join("events.html");
    let findings = replay_with_report(&["events/"], &page);
    assert!(findings.len() > 50);
    // Every finding, across pages (#page=all).
    let all = dom(&page, "page=all");
    check_every_finding(&all, &findings);
    // The default view is one page of at most 100 rows.
    let first = dom(&page, "");
    assert!(rows(&first).len() <= 100);
    assert!(first.contains(&format!(
        "{} of {} findings",
        findings.len(),
        findings.len()
    )));
    // A filter narrows the table: exactly the critical findings.
    let critical: Vec<&str> = findings
        .iter()
        .filter(|f| f.1 == "critical")
        .map(|f| f.0.as_str())
        .collect();
    assert!(!critical.is_empty() && critical.len() < findings.len());
    let narrowed = dom(&page, "severity=critical&page=all");
    let mut got = rows(&narrowed);
    let mut want = critical.clone();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    assert!(narrowed.contains(&format!(
        "{} of {} findings",
        critical.len(),
        findings.len()
    )));
    // Search narrows too: the one finding of this event id.
    let one = &findings[0].0;
    let searched = dom(&page, &format!("q={one}"));
    assert!(rows(&searched).iter().all(|r| r == one));
    // A finding's sentence and record, opened by its id.
    let opened = dom(&page, &format!("event={one}"));
    let detail = &opened[opened.find("id=\"detail-record\"").unwrap()..];
    assert!(detail[..2000.min(detail.len())].contains(one.as_str()));
    let shot = screenshot(&page, "events.png");
    eprintln!("screenshot: {}", shot.display());
}

#[test]
#[ignore = "needs chromium; make test installs it"]
fn hostile_strings_are_text_not_markup() {
    let page = artefacts().join("hostile.html");
    let findings = replay_with_report(
        &[
            "tests/fixtures/hostile-markup.json",
            "events/shapes/hostile-useragent.json",
        ],
        &page,
    );
    assert_eq!(findings.len(), 2, "{findings:?}");
    let id = "b7d2c0de-0001-4000-8000-00000000a001";
    let dom = dom(&page, &format!("event={id}&page=all"));
    check_every_finding(&dom, &findings);
    // Nothing the attacker wrote became an element or ran: our two scripts only, no img, the
    // title unchanged.
    assert_eq!(dom.matches("<script").count(), 2, "{dom}");
    assert!(!dom.contains("<img"), "{dom}");
    assert!(!dom.contains("<svg onload"), "{dom}");
    assert!(!dom.contains("<b>evil"), "{dom}");
    assert!(dom.contains("<title>rootwatch report</title>"));
    // ... and it is on the page as text (the record in the detail pane, the principal column, the
    // session name in the graph).
    assert!(dom.contains("&lt;/script&gt;&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
    assert!(dom.contains("Admin/&lt;img src=x onerror=alert(3)&gt;"));
    assert!(dom.contains("\"&lt;img src=x onerror=alert(4)&gt;\""));
    screenshot(&page, "hostile.png");
}

#[test]
#[ignore = "needs chromium; make test installs it"]
fn ten_thousand_findings_are_paged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.jsonl");
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","principalId":"111122223333"}},"eventTime":"2026-11-{:02}T{:02}:{:02}:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","eventID":"many-{i:05}","readOnly":false,"eventType":"AwsApiCall"}}"#,
            1 + i / 1440,
            (i / 60) % 24,
            i % 60
        ));
        text.push('\n');
    }
    std::fs::write(&file, text).unwrap();
    let page = artefacts().join("many.html");
    let findings = replay_with_report(&[file.to_str().unwrap()], &page);
    assert_eq!(findings.len(), 10_000);
    let size = std::fs::metadata(&page).unwrap().len();
    eprintln!("10,000 findings: {size} bytes");
    // The default view draws one page of 100 rows, not 10,000.
    let first = dom(&page, "");
    assert_eq!(rows(&first).len(), 100);
    assert!(first.contains("10000 of 10000 findings, page 1 of 100"));
    let last = dom(&page, "page=100");
    assert_eq!(rows(&last).len(), 100);
    assert!(last.contains("page 100 of 100"));
    assert!(rows(&last).contains(&"many-09999"));
}

/// The shared dataset (real CloudTrail, ~33,600 records), where it exists.
fn dataset() -> Option<PathBuf> {
    let d = std::env::var_os("ROOTWATCH_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"));
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!(
            "skipped: no shared dataset at {} (set ROOTWATCH_DATASETS)",
            d.display()
        );
        None
    }
}

#[test]
#[ignore = "needs chromium; make test installs it"]
fn report_of_the_shared_dataset_is_small_and_complete() {
    let Some(data) = dataset() else { return };
    let page = artefacts().join("dataset.html");
    let findings = replay_with_report(&[data.to_str().unwrap()], &page);
    let size = std::fs::metadata(&page).unwrap().len();
    eprintln!(
        "shared dataset: {} findings, report {size} bytes",
        findings.len()
    );
    assert!(size < 3_000_000, "{size} bytes");
    let all = dom(&page, "page=all");
    check_every_finding(&all, &findings);
    screenshot(&page, "dataset.png");
}

#[test]
#[ignore = "needs chromium; make test installs it"]
fn sessions_html_draws_the_graph_alone() {
    let out = rootwatch()
        .args(["sessions", "--format", "html", "events/"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = artefacts().join("sessions.html");
    std::fs::write(&page, &out.stdout).unwrap();
    let trees = rootwatch()
        .args(["sessions", "--format", "json", "events/"])
        .output()
        .unwrap();
    let trees: serde_json::Value = serde_json::from_slice(&trees.stdout).unwrap();
    let origins = trees.as_array().unwrap().len();
    fn count(nodes: &serde_json::Value) -> usize {
        nodes
            .as_array()
            .unwrap()
            .iter()
            .map(|n| 1 + count(&n["sessions"]))
            .sum()
    }
    let sessions: usize = trees
        .as_array()
        .unwrap()
        .iter()
        .map(|t| count(&t["sessions"]))
        .sum();
    let dom = dom(&page, "");
    assert_eq!(dom.matches("<g class=\"node origin\"").count(), origins);
    assert_eq!(
        dom.matches("<g class=\"node session\"").count()
            + dom.matches("<g class=\"node root\"").count(),
        sessions
    );
    assert!(!dom.contains("id=\"findings\""));
    screenshot(&page, "sessions.png");
}
