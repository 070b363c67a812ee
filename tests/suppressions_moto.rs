//! Suppressions in the function and in the SNS backfill, with the real `aws-sdk-s3` and
//! `aws-sdk-sns` against moto's server on 127.0.0.1: the file is an S3 object read again after
//! its TTL (the handler's clock is injected: no sleeping), an object that cannot be parsed
//! suppresses nothing, a missing one neither, and a suppressed finding is never published.
//! Run by `make test`; skipped by a plain `cargo test`.

mod support;

use rootwatch::aws::function::{emf, Config, Handler, SuppressionSource};
use rootwatch::aws::s3::{ObjectRef, S3Objects};
use rootwatch::aws::sns::SnsPublisher;
use rootwatch::aws::store::MemoryStore;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use support::{drain, put_object, records_of, s3_bucket, sdk_config, topic_with_queue, Moto};

const BUCKET: &str = "rootwatch-config";
const KEY: &str = "suppressions.toml";
const WAIT: Duration = Duration::from_secs(15);
/// 2026-12-06T12:00:00Z, the handler's clock at the start.
const T0: i64 = 1_796_558_400;

/// The handler's clock (epoch seconds), moved by the test.
static CLOCK: AtomicI64 = AtomicI64::new(T0);

fn clock() -> i64 {
    CLOCK.load(Ordering::SeqCst)
}

type Function = Handler<SnsPublisher, MemoryStore, S3Objects>;

fn function(cfg: &aws_config::SdkConfig, topic: &str, key: &str) -> Function {
    let mut config = Config::for_topic(topic);
    config.suppressions = Some(SuppressionSource {
        object: ObjectRef::new(BUCKET, key),
        ttl: 60,
    });
    let publisher = SnsPublisher {
        client: aws_sdk_sns::Client::new(cfg),
        topic_arn: topic.into(),
    };
    Handler::new(config, publisher)
        .with_objects(S3Objects {
            client: support::s3_client(cfg),
        })
        .with_clock(clock)
}

/// The EventBridge event of a sample's first record, with its own eventID.
fn event(path: &str, id: &str) -> String {
    let mut r = records_of(path).remove(0);
    r["eventID"] = json!(id);
    support::eventbridge(&r)
}

/// A root console sign-in without MFA on 111122223333 (critical, alerts).
fn login(id: &str) -> String {
    event("events/rules/root-console-login-nomfa.json", id)
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

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

const SUPPRESS_LOGIN: &str = r#"
[[suppress]]
rule = "root-console-login"
account = "111122223333"
reason = "console drill SEC-77"
expires = 2027-01-31
"#;

const SUPPRESS_OTHER: &str = r#"
[[suppress]]
rule = "root-console-login"
account = "999999999999"
reason = "another account"
expires = 2027-01-31
"#;

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn the_object_suppresses_and_a_replaced_one_takes_effect_after_the_ttl() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts", true).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    put_object(&s3, BUCKET, KEY, SUPPRESS_LOGIN.as_bytes().to_vec()).await;
    let f = function(&cfg, &topic, KEY);

    // Suppressed: counted, not published. Another root event still alerts.
    let (result, counts) = f.handle_counted(&login("login-1")).await;
    assert_eq!(result.unwrap(), json!({}));
    assert_eq!(
        (counts.suppressed, counts.alerts_published),
        (1, 0),
        "{counts:?}"
    );
    assert_eq!(counts.suppression_reads, 1);
    let line: Value = serde_json::from_str(&emf(&counts, 0)).unwrap();
    assert_eq!(line["FindingsSuppressed"], 1);
    assert_eq!(line["SuppressionFileErrors"], 0);
    assert!(line.get("Findings_root-console-login").is_none(), "{line}");
    let (_, counts) = f
        .handle_counted(&event(
            "events/root-only-task/close-account.json",
            "close-1",
        ))
        .await;
    assert_eq!(counts.alerts_published, 1);
    assert_eq!(counts.suppression_reads, 0, "the read is cached");

    // The operator replaces the object: within the TTL the cached read holds...
    put_object(&s3, BUCKET, KEY, SUPPRESS_OTHER.as_bytes().to_vec()).await;
    CLOCK.store(T0 + 59, Ordering::SeqCst);
    let (_, counts) = f.handle_counted(&login("login-2")).await;
    assert_eq!((counts.suppressed, counts.alerts_published), (1, 0));
    // ... and once it has passed, the new object is in force.
    CLOCK.store(T0 + 60, Ordering::SeqCst);
    let (_, counts) = f.handle_counted(&login("login-3")).await;
    assert_eq!(counts.suppression_reads, 1);
    assert_eq!((counts.suppressed, counts.alerts_published), (0, 1));

    // The heartbeat is never a finding: published whatever the file says.
    let scheduled = r#"{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","account":"111122223333","time":"2026-12-06T12:01:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:111122223333:rule/rootwatch-heartbeat"],"detail":{}}"#;
    let (_, counts) = f.handle_counted(scheduled).await;
    assert_eq!(counts.heartbeats, 1);

    let got = drain(&cfg, &queue, 3, WAIT).await;
    let heartbeats = got
        .iter()
        .filter(|m| m.body().unwrap().contains("\"heartbeat\""))
        .count();
    assert_eq!(heartbeats, 1);
    let alerts: Vec<_> = got
        .into_iter()
        .filter(|m| !m.body().unwrap().contains("\"heartbeat\""))
        .collect();
    assert_eq!(alerted(&alerts), set(&["close-1", "login-3"]));
    assert_eq!(alerts.len(), 2);
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn an_unparseable_or_missing_object_suppresses_nothing_and_alerts_flow() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts", true).await;
    let s3 = s3_bucket(&cfg, BUCKET).await;
    // An entry for the login, then a line that is not TOML.
    let broken = format!("{SUPPRESS_LOGIN}\nrule = = 1\n");
    put_object(&s3, BUCKET, "broken.toml", broken.into_bytes()).await;
    let f = function(&cfg, &topic, "broken.toml");
    let (result, counts) = f.handle_counted(&login("broken-1")).await;
    assert_eq!(result.unwrap(), json!({}));
    assert_eq!(
        (
            counts.suppression_errors,
            counts.suppressed,
            counts.alerts_published
        ),
        (1, 0, 1),
        "{counts:?}"
    );
    let line: Value = serde_json::from_str(&emf(&counts, 0)).unwrap();
    assert_eq!(line["SuppressionFileErrors"], 1);

    // A missing object: no suppressions, no error.
    let f = function(&cfg, &topic, "absent.toml");
    let (_, counts) = f.handle_counted(&login("absent-1")).await;
    assert_eq!(
        (
            counts.suppression_errors,
            counts.suppressed,
            counts.alerts_published
        ),
        (0, 0, 1),
        "{counts:?}"
    );

    // An entry that has expired (the clock is past its day): counted, ignored.
    let expired =
        "[[suppress]]\nrule = \"root-console-login\"\nreason = \"old\"\nexpires = 2026-12-01\n";
    put_object(&s3, BUCKET, "expired.toml", expired.as_bytes().to_vec()).await;
    let f = function(&cfg, &topic, "expired.toml");
    let (_, counts) = f.handle_counted(&login("expired-1")).await;
    assert_eq!(
        (
            counts.suppressions_expired,
            counts.suppressed,
            counts.alerts_published
        ),
        (1, 0, 1),
        "{counts:?}"
    );

    let got = drain(&cfg, &queue, 3, WAIT).await;
    assert_eq!(alerted(&got), set(&["broken-1", "absent-1", "expired-1"]));
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn the_backfill_does_not_publish_a_suppressed_finding() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "backfill", true).await;
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("s.toml");
    // Dated from the wall clock: the binary compares expiry with it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expires = &rootwatch::core::time::format(now + 30 * 86_400)[..10];
    std::fs::write(
        &file,
        format!("[[suppress]]\nrule = \"root-console-login\"\nreason = \"drill\"\nexpires = {expires}\n"),
    )
    .unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("rootwatch"))
        .args(["replay", "--format", "jsonl", "--sns-topic-arn", &topic])
        .arg("--suppressions")
        .arg(&file)
        .args([
            "events/rules/root-console-login-nomfa.json",
            "events/root-only-task/close-account.json",
        ])
        .envs([
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 alert(s) published to SNS, 0 failed"),
        "{stderr}"
    );
    let got = drain(&cfg, &queue, 1, WAIT).await;
    assert_eq!(got.len(), 1);
    let doc: Value = serde_json::from_str(got[0].body().unwrap()).unwrap();
    assert_eq!(doc["event_name"], "CloseAccount");
}
