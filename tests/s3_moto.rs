//! Organisation-trail log files in S3, with the real `aws-sdk-s3` against moto's server on
//! 127.0.0.1: notifications in every envelope through the function, alerts read back from an SQS
//! queue subscribed to the SNS topic, failures reported by key, Batch Operations result codes,
//! memory on a 50 MB object, and the CLI backfill compared with a local replay. Run by
//! `make test`; skipped by a plain `cargo test`.

mod support;

use rootwatch::aws::function::{Config, Handler};
use rootwatch::aws::s3::S3Objects;
use rootwatch::aws::sns::SnsPublisher;
use rootwatch::aws::store::MemoryStore;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{
    cloudtrail_notification, drain, eventbridge_object_created, log_object, put_object, records_of,
    s3_bucket, s3_notification, sdk_config, sns_envelope, sqs_event, topic_with_queue, trail_key,
    Moto,
};

const BUCKET: &str = "org-trail";
const ORG: &str = "o-a1b2c3d4e5";
const ACCOUNT: &str = "111122223333";
const WAIT: Duration = Duration::from_secs(15);

type Function = Handler<SnsPublisher, MemoryStore, S3Objects>;

fn function(cfg: &aws_config::SdkConfig, topic_arn: &str) -> Function {
    let publisher = SnsPublisher {
        client: aws_sdk_sns::Client::new(cfg),
        topic_arn: topic_arn.into(),
    };
    Handler::new(Config::for_topic(topic_arn), publisher).with_objects(S3Objects {
        client: support::s3_client(cfg),
    })
}

/// The function publishing to `topic` on moto, reading S3 from a port where nothing listens.
async fn function_with_dead_s3(cfg: &aws_config::SdkConfig, topic: &str) -> Function {
    let dead = sdk_config(&format!("http://127.0.0.1:{}", support::free_port())).await;
    let publisher = SnsPublisher {
        client: aws_sdk_sns::Client::new(cfg),
        topic_arn: topic.into(),
    };
    Handler::new(Config::for_topic(topic), publisher).with_objects(S3Objects {
        client: support::s3_client(&dead),
    })
}

/// The first record of a sample, with its own eventID.
fn record(path: &str, event_id: &str) -> Value {
    let mut r = records_of(path).remove(0);
    r["eventID"] = json!(event_id);
    r
}

/// A benign record (an IAM user's call): read, never alerted.
fn benign(event_id: &str) -> Value {
    record("events/principals/iam_user.json", event_id)
}

fn key(day: &str, rand: &str) -> String {
    trail_key(ORG, ACCOUNT, "us-east-1", day, "0410", rand)
}

/// The eventIDs of the alerts in the queue (raw delivery: the body is the alert document).
fn alerted(messages: &[aws_sdk_sqs::types::Message]) -> BTreeSet<String> {
    messages
        .iter()
        .map(|m| {
            let doc: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            doc["event_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Whether moto's request log shows a GET of a key containing `name`.
fn requested(moto: &Moto, name: &str) -> bool {
    moto.log()
        .lines()
        .any(|l| l.contains("\"GET /") && l.contains(name))
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Log lines of the function (tracing) during `f`, captured on this thread.
async fn logged<T>(f: impl std::future::Future<Output = T>) -> (T, String) {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let out = f.await;
    drop(guard);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (out, text)
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn notifications_in_every_envelope_alert_once_each() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts", true).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    // One object per envelope, each with one alerting record and one benign one. The first key
    // has a space: S3 notifications encode it as `+`.
    let samples = [
        ("events/rules/root-console-login-nomfa.json", "with space"),
        ("events/root-only-task/close-account.json", "b"),
        ("events/root-only-task/root-access-key.json", "c"),
        ("events/principals/root.json", "d"),
    ];
    let mut keys = Vec::new();
    for (i, (sample, rand)) in samples.iter().enumerate() {
        let k = key("2026-11-23", rand);
        let body = log_object(&[
            record(sample, &format!("alert-{i}")),
            benign(&format!("benign-{i}")),
        ]);
        put_object(&s3, BUCKET, &k, body).await;
        keys.push(k);
    }
    let digest = format!(
        "AWSLogs/{ORG}/{ACCOUNT}/CloudTrail-Digest/us-east-1/2026/11/23/{ACCOUNT}_CloudTrail-Digest_us-east-1_org_us-east-1_20261123T041000Z.json.gz"
    );
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-23T04:00:00.000Z","Bucket":"org-trail","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"#;
    let eventbridge_login = support::eventbridge(&record(
        "events/rules/root-console-login-mfa.json",
        "alert-eventbridge",
    ));
    let payload = sqs_event(&[
        ("s3", &s3_notification(BUCKET, &[&keys[0]])),
        ("eventbridge", &eventbridge_object_created(BUCKET, &keys[1])),
        (
            "sns",
            &sns_envelope(&cloudtrail_notification(BUCKET, &[&keys[2], &digest])),
        ),
        ("raw", &cloudtrail_notification(BUCKET, &[&keys[3]])),
        ("test", test_event),
        ("cloudtrail-event", &eventbridge_login),
    ]);
    let (result, counts) = function(&cfg, &topic).handle_counted(&payload).await;
    assert_eq!(result.unwrap(), json!({"batchItemFailures": []}));
    assert_eq!(
        (
            counts.objects_read,
            counts.objects_skipped,
            counts.object_errors
        ),
        (4, 1, 0),
        "{counts:?}"
    );
    assert_eq!(counts.notifications_ignored, 1, "s3:TestEvent");
    assert_eq!(counts.records, 9, "8 from objects, 1 from EventBridge");
    let got = drain(&cfg, &queue, 5, WAIT).await;
    assert_eq!(
        alerted(&got),
        set(&[
            "alert-0",
            "alert-1",
            "alert-2",
            "alert-3",
            "alert-eventbridge"
        ])
    );
    assert_eq!(got.len(), 5, "one alert per alerting record");
    // The digest file was skipped by name: never requested.
    assert!(requested(&moto, "_b.json.gz"), "{}", moto.log());
    assert!(!requested(&moto, "CloudTrail-Digest"), "{}", moto.log());

    // The same S3 notification invoked directly (no SQS): read again, alerts not repeated.
    let (result, counts) = function(&cfg, &topic)
        .handle_counted(&s3_notification(BUCKET, &[&keys[0]]))
        .await;
    assert_eq!(result.unwrap(), json!({}));
    assert_eq!(counts.objects_read, 1);
    assert_eq!(
        counts.alerts_published, 1,
        "a new instance has no memory of it"
    );
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn corrupt_or_missing_objects_are_reported_by_key_and_the_others_read() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts", true).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    let good1 = key("2026-11-23", "good1");
    let corrupt = key("2026-11-23", "corrupt");
    let missing = key("2026-11-23", "missing");
    let good2 = key("2026-11-23", "good2");
    let login = "events/rules/root-console-login-nomfa.json";
    put_object(&s3, BUCKET, &good1, log_object(&[record(login, "g1")])).await;
    put_object(&s3, BUCKET, &good2, log_object(&[record(login, "g2")])).await;
    // A gzip stream cut short after its first record.
    let whole = log_object(&[benign("c1"), benign("c2"), benign("c3")]);
    put_object(&s3, BUCKET, &corrupt, whole[..whole.len() / 2].to_vec()).await;
    let h = function(&cfg, &topic);
    let payload = sqs_event(&[(
        "m1",
        &s3_notification(BUCKET, &[&good1, &corrupt, &missing, &good2]),
    )]);
    let ((result, counts), log) = logged(h.handle_counted(&payload)).await;
    assert_eq!(result.unwrap(), json!({"batchItemFailures": []}), "{log}");
    assert_eq!(counts.objects_read, 2, "{counts:?}");
    assert_eq!(counts.object_errors, 2, "{counts:?}");
    assert_eq!(counts.object_retries, 0);
    for k in [&corrupt, &missing] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("s3://{BUCKET}/{k}")) && l.contains("not read"))
            .unwrap_or_else(|| panic!("no error line naming {k}:\n{log}"));
        assert!(line.contains("acknowledged"), "{line}");
    }
    assert!(log.contains("corrupt object"), "{log}");
    assert!(
        log.contains("not found") && log.contains("NoSuchKey"),
        "{log}"
    );
    assert_eq!(
        alerted(&drain(&cfg, &queue, 2, WAIT).await),
        set(&["g1", "g2"])
    );
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn a_record_seen_through_eventbridge_and_s3_alerts_once() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts", true).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    let login = record("events/rules/root-console-login-nomfa.json", "both-ways");
    let k = key("2026-11-23", "both");
    put_object(&s3, BUCKET, &k, log_object(&[benign("x"), login.clone()])).await;
    let h = function(&cfg, &topic);
    // EventBridge first (minutes before CloudTrail delivers the file), then the file.
    let (r, first) = h.handle_counted(&support::eventbridge(&login)).await;
    r.unwrap();
    let (r, second) = h
        .handle_counted(&sqs_event(&[(
            "m",
            &eventbridge_object_created(BUCKET, &k),
        )]))
        .await;
    assert_eq!(r.unwrap(), json!({"batchItemFailures": []}));
    assert_eq!((first.alerts_published, second.alerts_published), (1, 0));
    assert_eq!(second.duplicates_skipped, 1);
    assert_eq!(second.records, 2);
    let got = drain(&cfg, &queue, 1, WAIT).await;
    assert_eq!(alerted(&got), set(&["both-ways"]));
    assert_eq!(got.len(), 1);
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn batch_operations_tasks_get_their_result_codes() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts", true).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    let good = key("2026-11-22", "good");
    let corrupt = key("2026-11-22", "corrupt");
    let missing = key("2026-11-22", "missing");
    put_object(
        &s3,
        BUCKET,
        &good,
        log_object(&[
            record("events/root-only-task/close-account.json", "bo-1"),
            benign("bo-2"),
        ]),
    )
    .await;
    put_object(&s3, BUCKET, &corrupt, b"\x1f\x8b\x08\x00garbage".to_vec()).await;
    // Schema 1.0 names the bucket by ARN; keys are URL-encoded as in the manifest.
    let task = |id: &str, k: &str| json!({"taskId": id, "s3Key": k, "s3VersionId": null, "s3BucketArn": format!("arn:aws:s3:::{BUCKET}")});
    let job = json!({"invocationSchemaVersion": "1.0", "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
        "job": {"id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"},
        "tasks": [task("t-good", &good), task("t-missing", &missing), task("t-corrupt", &corrupt)]});
    let h = function(&cfg, &topic);
    let (result, counts) = h.handle_counted(&job.to_string()).await;
    let out = result.unwrap();
    assert_eq!(out["invocationSchemaVersion"], "1.0");
    assert_eq!(out["treatMissingKeysAs"], "PermanentFailure");
    assert_eq!(out["invocationId"], job["invocationId"]);
    let codes: Vec<(&str, &str)> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["taskId"].as_str().unwrap(),
                r["resultCode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            ("t-good", "Succeeded"),
            ("t-missing", "PermanentFailure"),
            ("t-corrupt", "PermanentFailure")
        ],
        "{out}"
    );
    assert_eq!(
        out["results"][0]["resultString"],
        "2 records read, 1 alerts"
    );
    assert!(
        out["results"][1]["resultString"]
            .as_str()
            .unwrap()
            .contains("NoSuchKey"),
        "{out}"
    );
    assert!(
        out["results"][2]["resultString"]
            .as_str()
            .unwrap()
            .contains("corrupt object"),
        "{out}"
    );
    assert_eq!((counts.objects_read, counts.object_errors), (1, 2));
    assert_eq!(alerted(&drain(&cfg, &queue, 1, WAIT).await), set(&["bo-1"]));

    // Schema 2.0 names the bucket; an S3 that does not answer is a temporary failure.
    let h = function_with_dead_s3(&cfg, &topic).await;
    let job = json!({"invocationSchemaVersion": "2.0", "invocationId": "inv-2", "job": {"id": "j", "userArguments": {}},
        "tasks": [{"taskId": "t", "s3Key": good, "s3VersionId": null, "s3Bucket": BUCKET}]});
    let (result, counts) = h.handle_counted(&job.to_string()).await;
    let out = result.unwrap();
    assert_eq!(out["invocationSchemaVersion"], "2.0");
    assert_eq!(out["results"][0]["resultCode"], "TemporaryFailure", "{out}");
    assert_eq!(counts.object_retries, 1);
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn unreachable_s3_returns_the_message_and_fails_a_direct_invocation() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, _queue) = topic_with_queue(&cfg, "alerts", true).await;
    let h = function_with_dead_s3(&cfg, &topic).await;
    let k = key("2026-11-23", "x");
    let payload = sqs_event(&[
        ("s3", &s3_notification(BUCKET, &[&k])),
        ("other", &support::eventbridge(&benign("b"))),
    ]);
    let (result, counts) = h.handle_counted(&payload).await;
    assert_eq!(
        result.unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "s3"}]})
    );
    assert_eq!((counts.object_retries, counts.records), (1, 1));
    let err = h
        .handle_counted(&s3_notification(BUCKET, &[&k]))
        .await
        .0
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("s3://{BUCKET}/{k}")),
        "{err}"
    );
}

/// A log file of at least `bytes` of JSON: the samples' records over and over, each with its
/// own eventID, with an AssumeRole and a use of its key (sessions), and one root sign-in.
fn big_log(bytes: usize) -> (String, usize) {
    let mut pool: Vec<Value> = Vec::new();
    for dir in ["events/principals", "events/rules"] {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            pool.extend(records_of(f.to_str().unwrap()));
        }
    }
    pool.extend(support::sequence("user-role-chain"));
    // Records that do not alert only, but for one root sign-in: one alert whatever the size.
    pool.retain(|r| !alerts(r));
    let mut out = String::from("{\"Records\":[");
    let mut n = 0;
    let login = record("events/rules/root-console-login-nomfa.json", "big-login");
    out.push_str(&login.to_string());
    n += 1;
    while out.len() < bytes {
        let mut r = pool[n % pool.len()].clone();
        r["eventID"] = json!(format!("big-{n}"));
        out.push(',');
        out.push_str(&r.to_string());
        n += 1;
    }
    out.push_str("]}");
    (out, n)
}

/// Whether the function would alert on `record` alone (default settings).
fn alerts(record: &Value) -> bool {
    let text = record.to_string();
    let input = rootwatch::core::model::InputRef {
        file: String::new(),
        index: 0,
    };
    let report = rootwatch::core::pipeline::Pipeline::default()
        .run(&text, false, input, &rootwatch::core::pipeline::NoOrigins)
        .unwrap();
    let config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:t");
    rootwatch::core::alert::build(&report, config.min_severity, config.format).is_some()
}

/// Runs the real binary as the function against `api` until its first response, then reaps it:
/// (response body, peak RSS in bytes, stdout, seconds from payload to response).
fn run_function(env: &[(&str, String)], payload: String) -> (String, u64, String, f64) {
    let api = support::RuntimeApi::start(vec![payload]);
    let bin = assert_cmd::cargo::cargo_bin("rootwatch");
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let mut child = Command::new(&bin)
        .envs(api.env())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let got = api.next_response(Duration::from_secs(600));
    let peak = support::kill_and_peak_rss(&mut child);
    let (path, body, at) = got.expect("the function answered");
    assert!(path.ends_with("/response"), "{path}: {body}");
    let served = api.served.lock().unwrap()[0];
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    (body, peak, stdout, at.duration_since(served).as_secs_f64())
}

fn emf_value(stdout: &str, metric: &str) -> u64 {
    stdout
        .lines()
        .filter(|l| l.contains("CloudWatchMetrics"))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v[metric].as_u64())
        .sum()
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn a_50_mb_object_is_read_with_flat_memory() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts", true).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    const MB: u64 = 1 << 20;
    let (text, records) = big_log(50 * MB as usize);
    let size = text.len();
    let k = key("2026-11-23", "big");
    put_object(&s3, BUCKET, &k, support::gzip(text.as_bytes())).await;
    let env = vec![
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("SNS_TOPIC_ARN", topic.clone()),
        ("LOG_BUCKETS", BUCKET.to_owned()),
    ];
    // The binary doing nothing much: the baseline.
    let (_, idle, _, _) = run_function(&env, support::eventbridge(&benign("idle")));
    // The object, streamed.
    let (body, streamed, stdout, secs) = run_function(&env, s3_notification(BUCKET, &[&k]));
    assert_eq!(body.trim(), "{}");
    assert_eq!(emf_value(&stdout, "RecordsProcessed"), records as u64);
    assert_eq!(emf_value(&stdout, "ObjectsRead"), 1);
    assert_eq!(
        alerted(&drain(&cfg, &queue, 1, WAIT).await),
        set(&["big-login"])
    );
    // The same records handed over whole (the EventBridge path takes a log file as the payload
    // and holds it, and every record, in memory): what the bound is there to catch.
    let (_, whole, stdout_whole, _) = run_function(&env, text);
    assert_eq!(emf_value(&stdout_whole, "RecordsProcessed"), records as u64);
    println!(
        "object: {:.1} MB of JSON, {records} records; peak RSS: idle {} MB, streamed {} MB (+{} MB), whole payload {} MB (+{} MB); streamed in {secs:.1} s",
        size as f64 / MB as f64,
        idle / MB,
        streamed / MB,
        streamed.saturating_sub(idle) / MB,
        whole / MB,
        whole.saturating_sub(idle) / MB,
    );
    // Streaming holds what input::decode_stream keeps (16 MB at most) and a few batches; a
    // copy of the object alone is 50 MB.
    let bound = 40 * MB;
    assert!(
        streamed.saturating_sub(idle) < bound,
        "streaming grew RSS by {} MB",
        streamed.saturating_sub(idle) / MB
    );
    assert!(
        whole.saturating_sub(idle) > bound,
        "the bound does not catch whole-object buffering ({} MB)",
        whole.saturating_sub(idle) / MB
    );
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn backfill_of_a_prefix_since_a_day_equals_the_local_replay() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    let local = tempfile::tempdir().unwrap();
    // Each file of the session sequences becomes an object of its account and day; a role
    // chain crosses accounts and files, so attribution needs both passes.
    let mut in_range = Vec::new();
    let cases = [
        "user-role-chain",
        "sso-assumeroot",
        "federation-token",
        "expired-key-reused",
    ];
    for (c, case) in cases.iter().enumerate() {
        let mut files: Vec<_> = std::fs::read_dir(format!("events/sessions/{case}"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for (i, f) in files.iter().enumerate() {
            let recs = records_of(f.to_str().unwrap());
            let account = recs[0]["recipientAccountId"]
                .as_str()
                .or(recs[0]["userIdentity"]["accountId"].as_str())
                .unwrap_or(ACCOUNT)
                .to_owned();
            let day = if c % 2 == 0 {
                "2026-11-20"
            } else {
                "2026-11-21"
            };
            let k = trail_key(
                ORG,
                &account,
                "us-east-1",
                day,
                &format!("09{i}0"),
                &format!("{case}{i}"),
            );
            let body = log_object(&recs);
            put_object(&s3, BUCKET, &k, body.clone()).await;
            in_range.push((k, body));
        }
    }
    // In range but skipped by name: a digest file and a stray file, in S3 and locally.
    let digest = format!(
        "AWSLogs/{ORG}/{ACCOUNT}/CloudTrail-Digest/us-east-1/2026/11/20/{ACCOUNT}_CloudTrail-Digest_us-east-1_org_us-east-1_20261120T090000Z.json.gz"
    );
    let stray = format!("AWSLogs/{ORG}/{ACCOUNT}/CloudTrail/us-east-1/2026/11/20/notes.txt");
    for k in [&digest, &stray] {
        put_object(&s3, BUCKET, k, b"{}".to_vec()).await;
        in_range.push((k.clone(), b"{}".to_vec()));
    }
    // Out of range: unreadable, so a download and replay of it would show.
    let before = key("2026-11-19", "before");
    let after = key("2026-11-22", "after");
    for k in [&before, &after] {
        put_object(&s3, BUCKET, k, b"not json".to_vec()).await;
    }
    for (k, body) in &in_range {
        let p = local.path().join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("rootwatch");
    // A host name, not an IP: only path-style requests reach moto this way.
    let endpoint = format!("http://localhost:{}", moto.port);
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(&bin)
        .args([
            "replay",
            "--format",
            "jsonl",
            "--since",
            "2026-11-20",
            "--until",
            "2026-11-21",
        ])
        .arg(format!("s3://{BUCKET}/AWSLogs/"))
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ENDPOINT_URL_S3", &endpoint)
        .env("TMPDIR", tmp.path())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let from_s3 = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "the downloads are removed"
    );
    let out = Command::new(&bin)
        .args(["replay", "--format", "jsonl"])
        .arg(local.path().join("AWSLogs"))
        .output()
        .unwrap();
    let local_stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{local_stderr}");
    let from_disk = String::from_utf8(out.stdout).unwrap().replace(
        &format!("{}/", local.path().display()),
        &format!("s3://{BUCKET}/"),
    );
    assert!(from_s3.lines().count() > 20, "{from_s3}");
    assert_eq!(from_s3, from_disk);
    // The one-line summary is the same too (files read and skipped, records, findings).
    let summary = |s: &str| {
        s.lines()
            .find(|l| l.contains(" records from "))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(summary(&stderr), summary(&local_stderr), "{stderr}");
    assert!(summary(&stderr).contains("(2 skipped)"), "{stderr}");
    assert!(
        stderr.contains("2 outside --since/--until"),
        "the listing summary counts what the dates left out:\n{stderr}"
    );
    assert!(
        from_s3.contains("\"origin\":{"),
        "sessions attributed across objects"
    );
    // Out-of-range objects were never downloaded.
    assert!(requested(&moto, "user-role-chain0"), "{}", moto.log());
    for k in [&before, &after, &digest, &stray] {
        let name = k.rsplit('/').next().unwrap();
        assert!(
            !requested(&moto, name),
            "{name} was requested:\n{}",
            moto.log()
        );
    }
    // An object that cannot be read is named by its URL; the rest is still read.
    let bad = key("2026-11-20", "bad");
    put_object(&s3, BUCKET, &bad, b"{\"Records\": [oops".to_vec()).await;
    let out = Command::new(&bin)
        .args(["replay", "--format", "jsonl", "--since", "2026-11-20"])
        .arg(format!("s3://{BUCKET}/AWSLogs/{ORG}/"))
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("rootwatch: error: s3://{BUCKET}/{bad}: record 0:")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("rootwatch: error: s3://{BUCKET}/{after}: ")),
        "after is in range now:\n{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 20);
    // S3 and local paths together, their alerts published.
    let (topic, queue) = topic_with_queue(&cfg, "backfill", true).await;
    let login = "events/rules/root-console-login-nomfa.json";
    let out = Command::new(&bin)
        .args(["replay", "--format", "jsonl", "--sns-topic-arn", &topic])
        .arg(format!(
            "s3://{BUCKET}/AWSLogs/{ORG}/{ACCOUNT}/CloudTrail/us-east-1/2026/11/21/"
        ))
        .arg(login)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let files: BTreeSet<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["input"]["file"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(files.contains(login), "{files:?}");
    assert!(files.iter().any(|f| f.starts_with("s3://")), "{files:?}");
    let published = stdout
        .lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| matches!(f["severity"].as_str(), Some("medium" | "high" | "critical")))
        })
        .count();
    assert!(published >= 2, "{stdout}");
    assert!(
        stderr.contains(&format!("{published} alert(s) published to SNS, 0 failed")),
        "{stderr}"
    );
    assert_eq!(drain(&cfg, &queue, published, WAIT).await.len(), published);
    // A bucket that does not exist: the listing error names it.
    let out = Command::new(&bin)
        .args(["replay", "s3://no-such-bucket/AWSLogs/"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rootwatch: error: s3://no-such-bucket/AWSLogs/: listing failed"),
        "{stderr}"
    );
    // One sentence that says what to do, the service's code kept, no SDK internals.
    assert!(
        stderr.contains("it does not exist: check the name, the account and the region"),
        "{stderr}"
    );
    assert!(stderr.contains("(NoSuchBucket"), "{stderr}");
    assert!(!stderr.contains("ServiceError"), "{stderr}");
    // `sessions` reads the same prefixes, through the same code.
    let out = Command::new(&bin)
        .args(["sessions", "s3://no-such-bucket/AWSLogs/"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("it does not exist"), "{stderr}");
}

#[test]
fn dates_need_an_s3_path_and_a_valid_range() {
    for (args, why) in [
        (
            &["replay", "--since", "2026-11-20", "events/"][..],
            "give an s3:// path",
        ),
        (
            &[
                "replay",
                "--since",
                "2026-11-21",
                "--until",
                "2026-11-20",
                "s3://b/",
            ][..],
            "--since is after --until",
        ),
        (
            &["replay", "--until", "2026-02-30", "s3://b/"][..],
            "is not a date",
        ),
    ] {
        let out = assert_cmd::Command::cargo_bin("rootwatch")
            .unwrap()
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
}

/// One log file through the binary under a loopback Runtime API: every record read, its one
/// alert published. (Its throughput is measured by `cargo bench --bench ratios -- function-s3`,
/// not here.)
#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn one_log_file_through_the_binary_reads_every_record() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts", true).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    let (text, records) = big_log(1 << 20);
    let k = key("2026-11-23", "small");
    put_object(&s3, BUCKET, &k, support::gzip(text.as_bytes())).await;
    let env = vec![
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("SNS_TOPIC_ARN", topic.clone()),
    ];
    let (body, _, stdout, _) = run_function(&env, s3_notification(BUCKET, &[&k]));
    assert_eq!(body.trim(), "{}");
    assert_eq!(emf_value(&stdout, "RecordsProcessed"), records as u64);
    assert_eq!(emf_value(&stdout, "ObjectsRead"), 1);
    assert_eq!(
        alerted(&drain(&cfg, &queue, 1, WAIT).await),
        set(&["big-login"])
    );
}

/// Issue 15: the sessions a log file issues go to the shared table in `BatchWriteItem`s of 25,
/// not one `PutItem` each: an object issuing 60 sessions costs 3 calls (it cost 60), and every
/// session is in the table afterwards.
#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn the_sessions_of_a_log_file_are_written_25_per_call() {
    use rootwatch::aws::dynamo::DynamoStore;
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let db = support::sessions_table(&cfg, "sessions").await;
    let (topic, _queue) = topic_with_queue(&cfg, "batch-write", true).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    let proxy = support::fault::FaultProxy::start(moto.port);
    let store = DynamoStore {
        client: rootwatch::aws::sns::store_client(&sdk_config(&proxy.endpoint).await),
        table: "sessions".into(),
    };
    let mut config = Config::for_topic(&topic);
    config.sessions_table = Some("sessions".into());
    let h = Handler::with_store(
        config,
        SnsPublisher {
            client: aws_sdk_sns::Client::new(&cfg),
            topic_arn: topic.clone(),
        },
        Some(store),
    )
    .with_objects(S3Objects {
        client: support::s3_client(&cfg),
    });
    let assume = records_of(
        "events/sessions/user-role-chain/111122223333_CloudTrail_us-east-1_20261120T0900Z_c.json",
    )
    .into_iter()
    .find(|r| r["eventName"] == "AssumeRole")
    .unwrap();
    let records: Vec<Value> = (0..60)
        .map(|i| {
            let mut r = assume.clone();
            r["eventID"] = json!(format!("assume-{i}"));
            r["responseElements"]["credentials"]["accessKeyId"] =
                json!(format!("ASIABATCHWRITE{i:06}"));
            r
        })
        .collect();
    let k = key("2026-11-20", "sessions");
    put_object(&s3, BUCKET, &k, log_object(&records)).await;
    let (result, counts) = h.handle_counted(&s3_notification(BUCKET, &[&k])).await;
    result.unwrap();
    assert_eq!(counts.sessions_learned, 60);
    assert_eq!(counts.store_errors, 0);
    let (batch_writes, _) = proxy.count("BatchWriteItem");
    let (puts, _) = proxy.count("PutItem");
    println!("calls for 60 sessions of one object: {batch_writes} BatchWriteItem, {puts} PutItem (before: 60 PutItem)");
    assert_eq!((batch_writes, puts), (3, 0));
    for i in [0, 24, 25, 59] {
        let item = db
            .get_item()
            .table_name("sessions")
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("session#ASIABATCHWRITE{i:06}")),
            )
            .send()
            .await
            .unwrap();
        assert!(item.item().is_some(), "session {i} in the table");
    }
}
