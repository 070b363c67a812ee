//! One pipeline: every sample of `events/` (and, when it is there, every record of the shared
//! corpus, `../shared/corpus/records` or `ROOTWATCH_CORPUS`) goes through `replay` and through the
//! function's handler by each of its inputs — a direct EventBridge invocation, an SQS message, an
//! S3 event notification and an S3 Batch Operations task — and the reports must be identical
//! (record by record: class, findings, assumption, origin…; only the input's name differs), as
//! must the number of values refused.

mod support;

use rootwatch::aws::function::{Config, Handler};
use rootwatch::aws::testing::{FakeObjects, FakePublisher};
use rootwatch::core::model::{RecordReport, Severity};
use rootwatch::core::pipeline::Pipeline;
use rootwatch::core::rules::RuleConfig;
use rootwatch::input::s3_keys::{key_kind, KeyKind};
use rootwatch::replay::{self, InputError, Options, Output};
use serde_json::json;
use std::path::{Path, PathBuf};

const BUCKET: &str = "org-trail";

/// The rule settings both sides use: the configurable rules on, as a deployment would have them.
fn rules() -> RuleConfig {
    RuleConfig::from_lists(
        &["arn:aws:iam::*:role/BreakGlass*".into()],
        &["111122223333".into()],
    )
    .unwrap()
    .with_detector_resources(&["rootwatch-*".to_owned()])
    .unwrap()
}

#[derive(Default)]
struct Collect {
    reports: Vec<RecordReport>,
    errors: Vec<InputError>,
}

impl Output for Collect {
    fn record(&mut self, r: &RecordReport) -> std::io::Result<()> {
        self.reports.push(r.clone());
        Ok(())
    }
    fn error(&mut self, e: &InputError) -> std::io::Result<()> {
        self.errors.push(e.clone());
        Ok(())
    }
}

/// Reports without the input's name, in input order.
fn normalised(mut reports: Vec<RecordReport>) -> Vec<String> {
    reports.sort_by_key(|r| r.input.index);
    reports
        .into_iter()
        .map(|mut r| {
            r.input.file.clear();
            serde_json::to_string(&r).unwrap()
        })
        .collect()
}

fn replayed(path: &Path) -> (Vec<String>, usize) {
    let opts = Options {
        pipeline: Pipeline::new(rules(), Severity::Info),
        ..Options::default()
    };
    let mut out = Collect::default();
    replay::replay(&[path.to_path_buf()], &opts, &mut out).unwrap();
    (normalised(out.reports), out.errors.len())
}

fn handler() -> Handler<FakePublisher, rootwatch::aws::store::MemoryStore, FakeObjects> {
    let mut config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
    config.min_severity = Severity::Info;
    config.rules = rules();
    Handler::new(config, FakePublisher::default())
        .with_objects(FakeObjects::default())
        .keep_reports()
}

/// The function on one payload: its reports and the number of values it refused.
async fn invoked(
    h: &Handler<FakePublisher, rootwatch::aws::store::MemoryStore, FakeObjects>,
    payload: &str,
) -> (Vec<String>, usize) {
    let (result, counts) = h.handle_counted(payload).await;
    assert!(result.is_ok(), "{result:?}");
    let reports = std::mem::take(&mut *h.reports.as_ref().unwrap().lock().unwrap());
    (normalised(reports), counts.unreadable_inputs as usize)
}

/// Every way the function receives this file; each must give what replay gives.
async fn compare(path: &Path, failures: &mut Vec<String>) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let want = replayed(path);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let key = format!("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/23/{name}");
    let mut modes: Vec<(&str, String)> = Vec::new();
    // The function reads only objects named as CloudTrail writes them (`*.json.gz`, `*.json`):
    // the JSON Lines sample is a replay-only shape.
    if key_kind(&key) == KeyKind::Log {
        modes.push(("s3 notification", support::s3_notification(BUCKET, &[&key])));
        modes.push((
            "batch operations",
            json!({"invocationSchemaVersion": "1.0", "invocationId": "inv",
                "job": {"id": "job"},
                "tasks": [{"taskId": "t1", "s3Key": key, "s3VersionId": null,
                           "s3BucketArn": format!("arn:aws:s3:::{BUCKET}")}]})
            .to_string(),
        ));
    }
    // Lambda payloads and SQS bodies are JSON text: not the gzip sample.
    if let Ok(text) = std::str::from_utf8(&bytes) {
        modes.push(("direct invocation", text.to_owned()));
        modes.push(("sqs", support::sqs_event(&[("m1", text)])));
    }
    for (mode, payload) in &modes {
        let h = handler();
        h.objects.put(BUCKET, &key, bytes.clone());
        let got = invoked(&h, payload).await;
        if got != want {
            failures.push(format!(
                "{} via {mode}: function {} reports / {} refused, replay {} / {}\n{}",
                path.display(),
                got.0.len(),
                got.1,
                want.0.len(),
                want.1,
                first_difference(&want.0, &got.0)
            ));
        }
    }
    want.0.len()
}

fn first_difference(want: &[String], got: &[String]) -> String {
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        if w != g {
            return format!("record {i}:\n  replay:   {w}\n  function: {g}");
        }
    }
    String::new()
}

fn samples(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.extend(samples(&path));
        } else if rootwatch::input::walk::is_readable_name(&name) {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn every_sample_gives_the_same_reports_through_replay_and_the_function() {
    let files = samples(Path::new("events"));
    assert!(files.len() >= 70, "{} samples", files.len());
    let mut failures = Vec::new();
    let mut records = 0;
    for f in &files {
        records += compare(f, &mut failures).await;
    }
    eprintln!("{} samples, {records} records compared", files.len());
    assert!(records >= 80, "{records} records compared");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn every_corpus_record_gives_the_same_reports_through_replay_and_the_function() {
    let dir = std::env::var_os("ROOTWATCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/corpus/records"));
    if !dir.is_dir() {
        eprintln!(
            "{}: not found; the shared corpus is compared where it exists (set ROOTWATCH_CORPUS)",
            dir.display()
        );
        return;
    }
    let files = samples(&dir);
    let mut failures = Vec::new();
    let mut records = 0;
    for f in &files {
        records += compare(f, &mut failures).await;
    }
    eprintln!("{} corpus files, {records} records compared", files.len());
    assert!(records >= 100, "{records} records compared");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
