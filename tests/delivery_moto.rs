//! Delivery guarantees of the function (issue 15) against moto's server: the real SNS and
//! DynamoDB clients (built as the binary builds them), SNS and the table each behind their own
//! fault proxy, so that one hangs while the other answers.
//!
//! - an instance killed between its claim and its publish, then a retry: the retry inside the
//!   lease is returned (never acknowledged), the retry after it publishes: one alert;
//! - a hung SNS endpoint under an invocation deadline: the invocation returns before the deadline
//!   with every message in `batchItemFailures`, publishing them together (not one after another),
//!   and their redelivery publishes each once;
//! - a deadline too close to start a publish: the messages are returned unstarted;
//! - the real binary under a loopback Runtime API: a root request with a temporary key and no
//!   known session waits in the queue for its AssumeRoot call, then alerts as a root session;
//!   when the call never comes it alerts as root credentials, saying it waited; the heartbeat
//!   publishes a `rule=heartbeat` message and the `Heartbeat` metric.
//!
//! Run by `make test` (it installs moto); skipped by a plain `cargo test`.

mod support;

use rootwatch::aws::dynamo::DynamoStore;
use rootwatch::aws::function::{Config, Handler, Invocation, RetryableError};
use rootwatch::aws::sns::SnsPublisher;
use rootwatch::aws::store::{ASYNC_RETRY_DELAY_SECONDS, CLAIM_LEASE_SECONDS};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use support::fault::{Fault, FaultProxy};
use support::{drain, sdk_config, topic_with_queue, Moto};

const WAIT: Duration = Duration::from_secs(15);

/// The clock of the instances: now plus a shift the test sets (a retry minutes later).
static SHIFT: AtomicI64 = AtomicI64::new(0);
fn clock() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now + SHIFT.load(Ordering::SeqCst)
}

/// A root request that alerts, with `id` as eventID.
fn event(id: &str) -> String {
    json!({"version": "0", "id": id, "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
        "account": "111122223333", "time": "2026-12-06T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventVersion": "1.09", "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"},
            "eventTime": "2026-12-06T10:00:00Z", "eventSource": "iam.amazonaws.com",
            "eventName": "CreateUser", "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1", "eventID": id,
            "readOnly": false, "eventType": "AwsApiCall"}})
    .to_string()
}

/// An instance publishing through `sns` and sharing the table `table` through `db`.
async fn instance(
    sns: &str,
    db: &str,
    topic: &str,
    table: &str,
) -> Handler<SnsPublisher, DynamoStore> {
    let mut config = Config::for_topic(topic);
    config.sessions_table = Some(table.into());
    let publisher = SnsPublisher {
        client: rootwatch::aws::sns::client(&sdk_config(sns).await),
        topic_arn: topic.into(),
    };
    let store = DynamoStore {
        client: rootwatch::aws::sns::store_client(&sdk_config(db).await),
        table: table.into(),
    };
    Handler::with_store(config, publisher, Some(store)).with_clock(clock)
}

fn event_ids(msgs: &[aws_sdk_sqs::types::Message]) -> Vec<String> {
    let mut ids: Vec<String> = msgs
        .iter()
        .map(|m| {
            let doc: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            doc["event_id"].as_str().unwrap_or("-").to_owned()
        })
        .collect();
    ids.sort();
    ids
}

fn failed_ids(response: &Value) -> Vec<String> {
    let mut ids: Vec<String> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn an_instance_killed_between_claim_and_publish_loses_nothing() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    support::sessions_table(&cfg, "claims").await;
    let (topic, queue) = topic_with_queue(&cfg, "killed", true).await;
    let db = FaultProxy::start(moto.port);
    let hung_sns = FaultProxy::start(moto.port);
    // Never forwarded within this test: the killed instance's publish never reaches SNS.
    hung_sns.fail(Fault::Delay(Duration::from_secs(600)));
    let ev = event("killed-1");

    // Instance A claims the eventID in the table, then hangs in its publish and is killed.
    let a = instance(&hung_sns.endpoint, &db.endpoint, &topic, "claims").await;
    let killed = tokio::time::timeout(Duration::from_secs(3), a.handle(&ev)).await;
    assert!(killed.is_err(), "A was still publishing when killed");
    assert!(db.count("PutItem").0 >= 1, "A's claim went to the table");

    // Lambda's retry on a healthy instance B, while A's lease runs: returned, not acknowledged.
    SHIFT.store(5, Ordering::SeqCst);
    let b = instance(&moto.endpoint, &db.endpoint, &topic, "claims").await;
    let (r, counts) = b.handle_counted(&ev).await;
    assert!(
        matches!(r, Err(RetryableError::Claimed { failed: 1 })),
        "a claim held by another invocation is a retryable failure: {r:?}"
    );
    assert_eq!((counts.alerts_published, counts.claims_held), (0, 1));
    assert!(drain(&cfg, &queue, 1, Duration::from_secs(2))
        .await
        .is_empty());

    // The next retry comes after Lambda's retry delay, past the lease: B publishes.
    const { assert!(ASYNC_RETRY_DELAY_SECONDS > CLAIM_LEASE_SECONDS) };
    SHIFT.store(ASYNC_RETRY_DELAY_SECONDS, Ordering::SeqCst);
    let (r, counts) = b.handle_counted(&ev).await;
    r.expect("published");
    assert_eq!(counts.alerts_published, 1);
    // A third delivery (EventBridge delivers at least once) is a duplicate.
    let (r, counts) = b.handle_counted(&ev).await;
    r.expect("acknowledged");
    assert_eq!(counts.duplicates_skipped, 1);
    assert_eq!(event_ids(&drain(&cfg, &queue, 2, WAIT).await), ["killed-1"]);
    SHIFT.store(0, Ordering::SeqCst);
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn a_hung_sns_under_a_deadline_returns_every_message_and_loses_none() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    support::sessions_table(&cfg, "hung").await;
    let (topic, queue) = topic_with_queue(&cfg, "hung", true).await;
    let sns = FaultProxy::start(moto.port);
    sns.fail(Fault::Delay(Duration::from_secs(600)));
    let h = instance(&sns.endpoint, &moto.endpoint, &topic, "hung").await;
    let (e1, e2, e3) = (event("hung-1"), event("hung-2"), event("hung-3"));
    let batch = support::sqs_event(&[("m1", &e1), ("m2", &e2), ("m3", &e3)]);

    // 25 s left, as in a 30 s function: each publish is cut by the client at 15 s; published
    // together, all three end by then (one after another would take 45 s).
    let started = Instant::now();
    let inv = Invocation::until(Some(started + Duration::from_secs(25)));
    let (r, counts) = h.handle_in(&batch, &inv).await;
    let took = started.elapsed();
    assert_eq!(failed_ids(&r.unwrap()), ["m1", "m2", "m3"]);
    assert_eq!(counts.publish_failures, 3);
    assert!(
        took < Duration::from_secs(23),
        "returned before the deadline: {took:?}"
    );
    println!("three hung publishes returned in {took:?} (deadline 25 s)");

    // Too close to the deadline to finish a publish: nothing is started, everything returned.
    let started = Instant::now();
    let inv = Invocation::until(Some(started + Duration::from_secs(5)));
    let (r, counts) = h.handle_in(&batch, &inv).await;
    // A publish started against the hung endpoint would take the client's 15 s.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "no publish started"
    );
    assert_eq!(failed_ids(&r.unwrap()), ["m1", "m2", "m3"]);
    assert_eq!(counts.out_of_time, 1);

    // SNS answers again; the queue redelivers: each alert once.
    sns.pass();
    let (r, counts) = h.handle_counted(&batch).await;
    assert_eq!(failed_ids(&r.unwrap()), Vec::<String>::new());
    assert_eq!(counts.alerts_published, 3);
    assert_eq!(
        event_ids(&drain(&cfg, &queue, 3, WAIT).await),
        ["hung-1", "hung-2", "hung-3"]
    );
}

fn queued(id: &str, body: &str, sent_ms: i64, receives: u32) -> Value {
    support::sqs_message(id, body, sent_ms, receives)
}

/// The binary's environment: SNS on moto, publishing to `topic`, and `extra`.
fn binary_env(
    moto: &Moto,
    topic: &str,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("SNS_TOPIC_ARN", topic.to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    env
}

fn batch(messages: &[Value]) -> String {
    json!({ "Records": messages }).to_string()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Runs the real binary against a loopback Runtime API serving `payloads`; returns each
/// response body and the binary's stdout.
fn run_binary(env: &[(&str, String)], payloads: Vec<String>) -> (Vec<String>, String) {
    let n = payloads.len();
    let api = support::RuntimeApi::start(payloads);
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("rootwatch"))
        .envs(api.env())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut bodies = Vec::new();
    for _ in 0..n {
        let (path, body, _) = api
            .next_response(Duration::from_secs(120))
            .expect("the function answered");
        assert!(path.ends_with("/response"), "{path}: {body}");
        bodies.push(body);
    }
    let _ = child.kill();
    let _ = child.wait();
    (bodies, std::fs::read_to_string(&out_path).unwrap())
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn the_binary_waits_for_an_assume_root_call_that_arrives_late() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "wait", true).await;
    let env = binary_env(&moto, &topic, &[]);
    // The member-account request of an AssumeRoot session (Root, its ASIA key, no assumedRoot
    // flag) arrives first; the management account's AssumeRoot call after it.
    let use_ = support::sequence_event("sso-assumeroot", "DeleteBucketPolicy");
    let call = support::sequence_event("sso-assumeroot", "AssumeRoot");
    let (responses, stdout) = run_binary(
        &env,
        vec![
            batch(&[queued("use-1", &use_, now_ms(), 1)]),
            batch(&[queued("call-1", &call, now_ms(), 1)]),
            // The queue hands the request back after its visibility timeout.
            batch(&[queued("use-1", &use_, now_ms() - 180_000, 2)]),
        ],
    );
    let r: Vec<Value> = responses
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(
        failed_ids(&r[0]),
        ["use-1"],
        "the request waits in the queue"
    );
    assert_eq!(failed_ids(&r[1]), Vec::<String>::new());
    assert_eq!(failed_ids(&r[2]), Vec::<String>::new());
    assert!(stdout.contains("\"HeldForAssumeRoot\":1"), "{stdout}");
    let alerts = drain(&cfg, &queue, 2, WAIT).await;
    let docs: Vec<Value> = alerts
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    let use_alerts: Vec<&Value> = docs
        .iter()
        .filter(|d| d["event_name"] == "DeleteBucketPolicy")
        .collect();
    assert_eq!(use_alerts.len(), 1, "{docs:?}");
    let rules = &use_alerts[0]["alert"]["rules"];
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "root-session"),
        "{rules}"
    );
    assert!(
        !rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "root-credential-use"),
        "not mislabelled as root itself: {rules}"
    );
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn the_binary_alerts_root_credentials_when_no_assume_root_call_comes() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "nocall", true).await;
    let env = binary_env(&moto, &topic, &[("ASSUME_ROOT_WAIT_SECONDS", "120")]);
    let use_ = support::sequence_event("sso-assumeroot", "DeleteBucketPolicy");
    let heartbeat = json!({"version": "0", "id": "hb-1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-12-06T03:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/rootwatch-heartbeat"], "detail": {}})
    .to_string();
    let (responses, stdout) = run_binary(
        &env,
        vec![
            // Queued 2 minutes ago (the wait configured): no more waiting.
            batch(&[queued("use-1", &use_, now_ms() - 121_000, 2)]),
            // The heartbeat, directly and through the queue.
            heartbeat.clone(),
            batch(&[queued("hb", &heartbeat, now_ms(), 1)]),
        ],
    );
    let r: Vec<Value> = responses
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(failed_ids(&r[0]), Vec::<String>::new());
    assert_eq!(r[1], json!({}));
    assert_eq!(failed_ids(&r[2]), Vec::<String>::new());
    let msgs = drain(&cfg, &queue, 3, WAIT).await;
    let docs: Vec<Value> = msgs
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    let alert = docs
        .iter()
        .find(|d| d["event_name"] == "DeleteBucketPolicy")
        .expect("alerted");
    assert!(alert["alert"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "root-credential-use"));
    let note = alert["alert"]["origin_note"].as_str().unwrap();
    assert!(
        note.contains("arrived within 2 minute(s) of waiting"),
        "{note}"
    );
    // Heartbeats reach the topic marked for filtering, and count in the metric.
    let beats = msgs
        .iter()
        .filter(|m| {
            m.message_attributes()
                .and_then(|a| a.get("rule"))
                .and_then(|v| v.string_value())
                == Some("heartbeat")
        })
        .count();
    assert_eq!(beats, 2, "{docs:?}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("\"Heartbeat\":1"))
            .count(),
        2,
        "{stdout}"
    );
}
