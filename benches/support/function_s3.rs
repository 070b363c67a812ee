//! Throughput of one function instance on a CloudTrail log file in S3 (moto's server), against
//! the same binary replaying the same file from disk, one thread, in the same run. The object
//! is about 20 MB of JSON (`ROOTWATCH_MEASURE_MB`) made of the corpus's records, gzipped; the
//! function is the bench build under a loopback Runtime API. Moved here from the tests: a
//! measurement belongs in the benchmarks.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Whether the function would publish an alert for this record (default settings).
fn alerts(json: &str) -> bool {
    let input = rootwatch::core::model::InputRef {
        file: String::new(),
        index: 0,
    };
    rootwatch::core::pipeline::Pipeline::default()
        .run(json, false, input, &rootwatch::core::pipeline::NoOrigins)
        .ok()
        .and_then(|r| {
            rootwatch::core::alert::build(
                &r,
                rootwatch::core::model::Severity::Medium,
                rootwatch::core::alert::AlertFormat::Standard,
            )
        })
        .is_some()
}

pub fn run(bin: &Path, records: &[String], endpoint: &str) {
    let mb: usize = std::env::var("ROOTWATCH_MEASURE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    // Records that do not alert: the figure is the reading, not SNS (local replay publishes
    // nothing); the alert path is measured by the `handler` benchmark.
    let quiet: Vec<&String> = records.iter().filter(|r| !alerts(r)).collect();
    let mut text = String::from("{\"Records\":[");
    let mut n = 0;
    while text.len() < mb << 20 && !quiet.is_empty() {
        if n > 0 {
            text.push(',');
        }
        text.push_str(quiet[n % quiet.len()]);
        n += 1;
    }
    text.push_str("]}");
    let size = text.len();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    drop(text);
    let (bucket, key) = (
        "bench-trail",
        "AWSLogs/o-bench/111122223333/CloudTrail/us-east-1/2026/11/23/111122223333_CloudTrail_us-east-1_20261123T0410Z_bench.json.gz",
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let topic = rt.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sns::config::Credentials::new(
                "bench", "bench", None, None, "static",
            ))
            .endpoint_url(endpoint)
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(gz.clone().into())
            .send()
            .await
            .unwrap();
        aws_sdk_sns::Client::new(&sdk)
            .create_topic()
            .name("bench-s3")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap()
    });
    let notification = serde_json::json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
        "awsRegion": "us-east-1", "eventTime": "2026-11-23T04:12:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": key, "size": gz.len()}}}]})
    .to_string();
    let env = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("SNS_TOPIC_ARN", topic.as_str()),
    ];
    let (peak_kb, s3_secs) = super::function_memory::serve(bin, 512, &env, vec![notification]);
    // Baseline: the same file from disk through replay, one thread.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("object.json.gz");
    std::fs::write(&file, &gz).unwrap();
    let t = Instant::now();
    let out = Command::new(bin)
        .args([
            "replay",
            "--format",
            "jsonl",
            "--no-progress",
            "--threads",
            "1",
        ])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let local_secs = t.elapsed().as_secs_f64();
    assert!(out.code().is_some_and(|c| c <= 1), "replay ran");
    println!(
        "function  S3 log file ({:.0} MB JSON, {n} records that do not alert, {:.1} MB gzipped): {:.0} rec/s ({s3_secs:.2} s, peak RSS {:.0} MB) vs local replay {:.0} rec/s ({local_secs:.2} s): ratio {:.2}",
        size as f64 / (1 << 20) as f64,
        gz.len() as f64 / (1 << 20) as f64,
        n as f64 / s3_secs,
        peak_kb as f64 / 1024.0,
        n as f64 / local_secs,
        local_secs / s3_secs
    );
}
