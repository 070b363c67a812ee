//! Failure injection against moto's server (issue 7, hardening): the real `aws-sdk-sns` and
//! `aws-sdk-dynamodb` clients, built as the binary builds them (`rootwatch::aws::sns::client`,
//! `rootwatch::aws::sns::store_client`), talk to moto through the fault proxy of
//! `tests/support/fault.rs`, which fails requests on demand. Alerts are read back from an SQS
//! queue subscribed to the topic.
//!
//! - SNS unavailable (reset, closed, 500, 503), throttled, mid-batch: nothing is lost; a direct
//!   invocation fails (Lambda retries it), an SQS batch names exactly the messages whose alerts
//!   did not go out, a transient fault that clears within the SDK's retries is delivered once,
//!   `replay --sns-topic-arn` names the alerts it could not send and exits 1;
//! - a slow SNS is cut by the client's timeouts instead of holding the invocation;
//! - DynamoDB unavailable mid-run: detection goes on from memory, logged once, counted;
//! - one event delivered three times in SQS batches to two instances sharing the table: one
//!   alert.
//!
//! Run by `make test` (it installs moto); skipped by a plain `cargo test`.

mod support;
use support::sqs_event as sqs;

use rootwatch::aws::dynamo::DynamoStore;
use rootwatch::aws::function::{Config, Counts, Handler};
use rootwatch::aws::sns::{SnsPublisher, OPERATION_TIMEOUT};
use rootwatch::aws::testing::FakePublisher;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::fault::{Fault, FaultProxy};
use support::{drain, sdk_config, topic_with_queue, Moto};

const WAIT: Duration = Duration::from_secs(15);

/// The EventBridge event of a root request (it alerts) with `id` as eventID, `seconds` after
/// 10:00 (the function publishes a batch's alerts in eventTime order).
fn event(id: &str, seconds: u32) -> String {
    json!({"version": "0", "id": id, "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
        "account": "111122223333", "time": "2026-11-23T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventVersion": "1.09", "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"},
            "eventTime": format!("2026-11-23T10:{:02}:{:02}Z", seconds / 60, seconds % 60), "eventSource": "iam.amazonaws.com",
            "eventName": "CreateUser", "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1", "eventID": id,
            "readOnly": false, "eventType": "AwsApiCall"}})
    .to_string()
}

/// The function publishing to `topic` through `endpoint` (the proxy).
async fn function(endpoint: &str, topic: &str) -> Handler<SnsPublisher> {
    let sdk = sdk_config(endpoint).await;
    let publisher = SnsPublisher {
        client: rootwatch::aws::sns::client(&sdk),
        topic_arn: topic.into(),
    };
    Handler::new(Config::for_topic(topic), publisher)
}

/// eventIDs of the alerts in the queue (raw delivery: the body is the JSON document).
async fn delivered(cfg: &aws_config::SdkConfig, queue: &str, expect: usize) -> Vec<String> {
    let mut ids: Vec<String> = drain(cfg, queue, expect, WAIT)
        .await
        .iter()
        .map(|m| {
            let doc: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            doc["event_id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids
}

fn failures(ids: &[&str]) -> Value {
    let items: Vec<Value> = ids.iter().map(|i| json!({ "itemIdentifier": i })).collect();
    json!({ "batchItemFailures": items })
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn sns_down_throttled_or_cut_loses_nothing_on_direct_invocation() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "direct", true).await;
    let proxy = FaultProxy::start(moto.port);
    let h = function(&proxy.endpoint, &topic).await;
    let faults = [
        Fault::Status(503),
        Fault::Status(500),
        Fault::Refuse,
        Fault::Close,
        Fault::Throttle,
    ];
    for (i, fault) in faults.iter().enumerate() {
        let ev = event(&format!("down-{i}"), i as u32);
        proxy.fail(fault.clone());
        proxy.clear();
        let err = h
            .handle(&ev)
            .await
            .expect_err("a failed publish fails the invocation");
        assert!(
            matches!(
                err,
                rootwatch::aws::function::RetryableError::Publish { failed: 1, .. }
            ),
            "{fault:?}: {err}"
        );
        let (tries, faulted) = proxy.count("Publish");
        assert!(
            tries >= 2 && faulted == tries,
            "{fault:?}: the SDK retried ({tries} tries)"
        );
        if *fault == Fault::Throttle {
            assert!(err.to_string().contains("Throttling"), "{err}");
        }
        // Lambda retries the invocation once SNS is back.
        proxy.pass();
        h.handle(&ev).await.unwrap();
    }
    // A transient fault that clears within the SDK's own retries: delivered once, no error.
    for (i, (fault, n)) in [
        (Fault::Throttle, 2),
        (Fault::Status(500), 1),
        (Fault::Close, 1),
    ]
    .into_iter()
    .enumerate()
    {
        proxy.fail_times(n, fault.clone());
        proxy.clear();
        h.handle(&event(&format!("blip-{i}"), 30 + i as u32))
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(
            proxy.count("Publish"),
            (n as usize + 1, n as usize),
            "{fault:?}"
        );
    }
    let mut want: Vec<String> = (0..faults.len()).map(|i| format!("down-{i}")).collect();
    want.extend((0..3).map(|i| format!("blip-{i}")));
    want.sort();
    assert_eq!(
        delivered(&cfg, &queue, want.len()).await,
        want,
        "each alert exactly once"
    );
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn sqs_batch_names_exactly_the_messages_whose_alerts_failed() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "batch", true).await;
    let proxy = FaultProxy::start(moto.port);
    let h = function(&proxy.endpoint, &topic).await;
    let benign = std::fs::read_to_string("events/principals/iam_user.json").unwrap();
    for (round, fault) in [Fault::Status(503), Fault::Throttle, Fault::Refuse]
        .into_iter()
        .enumerate()
    {
        let id = |n: u32| format!("r{round}-a{n}");
        let (a1, a3, a5) = (event(&id(1), 1), event(&id(3), 3), event(&id(5), 5));
        let batch = [
            ("m1", a1.as_str()),
            ("m2", benign.as_str()),
            ("m3", a3.as_str()),
            ("m4", "not json"),
            ("m5", a5.as_str()),
        ];
        // SNS goes away after the first alert of the batch to reach it (the alerts of a batch
        // are published together: which one is first is not fixed).
        proxy.fail_after(1, fault.clone());
        let out = h.handle(&sqs(&batch)).await.unwrap();
        let sent = delivered(&cfg, &queue, 1).await;
        assert_eq!(sent.len(), 1, "{fault:?}: one alert went out");
        let alerting = [("m1", id(1)), ("m3", id(3)), ("m5", id(5))];
        let returned: Vec<&str> = alerting
            .iter()
            .filter(|(_, e)| *e != sent[0])
            .map(|(m, _)| *m)
            .collect();
        assert_eq!(returned.len(), 2, "{fault:?}: {sent:?}");
        assert_eq!(
            out,
            failures(&returned),
            "{fault:?}: exactly the messages whose alert did not go out"
        );
        // SQS delivers the failed messages again; SNS is back.
        proxy.pass();
        let again: Vec<(&str, &str)> = batch
            .iter()
            .filter(|(m, _)| returned.contains(m))
            .copied()
            .collect();
        assert_eq!(h.handle(&sqs(&again)).await.unwrap(), failures(&[]));
        let mut all = sent;
        all.extend(delivered(&cfg, &queue, 2).await);
        all.sort();
        assert_eq!(all, [id(1), id(3), id(5)]);
    }
}

/// The environment that points the unchanged binary at the proxy.
fn cli_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("NO_COLOR", "1".into()),
    ]
}

fn replay_to_sns(endpoint: &str, topic: &str, path: &std::path::Path) -> (String, i32) {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("rootwatch"))
        .args([
            "replay",
            "--format",
            "jsonl",
            "--threads",
            "1",
            "--sns-topic-arn",
            topic,
        ])
        .arg(path)
        .envs(cli_env(endpoint))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 25);
    (stderr, out.status.code().unwrap())
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn replay_names_the_alerts_not_sent_and_a_second_replay_sends_them() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "backfill", true).await;
    let proxy = FaultProxy::start(moto.port);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs.json");
    let ids: Vec<String> = (0..25).map(|i| format!("bf-{i:02}")).collect();
    let records: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::from_str::<Value>(&event(id, i as u32)).unwrap()["detail"].clone()
        })
        .collect();
    std::fs::write(&file, json!({ "Records": records }).to_string()).unwrap();
    let name = file.display().to_string();

    // PublishBatch sends 10 at a time: the first call goes through, then SNS throttles.
    proxy.fail_after(1, Fault::Throttle);
    let (stderr, code) = tokio::task::spawn_blocking({
        let (endpoint, topic, file) = (proxy.endpoint.clone(), topic.clone(), file.clone());
        move || replay_to_sns(&endpoint, &topic, &file)
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("10 alert(s) published to SNS, 15 failed"),
        "{stderr}"
    );
    assert!(stderr.contains("replay again to retry"), "{stderr}");
    for (i, id) in ids.iter().enumerate() {
        let line = format!("alert not published ({name}: record {i}, event {id}): ");
        assert_eq!(stderr.contains(&line), i >= 10, "{line}\n{stderr}");
    }
    assert!(stderr.contains("Throttling"), "{stderr}");
    assert_eq!(delivered(&cfg, &queue, 10).await, ids[..10]);

    // Once SNS is back, replaying again sends every alert, those that failed included.
    proxy.pass();
    let (stderr, code) = tokio::task::spawn_blocking({
        let (endpoint, topic, file) = (proxy.endpoint.clone(), topic.clone(), file.clone());
        move || replay_to_sns(&endpoint, &topic, &file)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("25 alert(s) published to SNS, 0 failed"),
        "{stderr}"
    );
    assert_eq!(delivered(&cfg, &queue, 25).await, ids);
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn slow_sns_is_cut_by_the_client_timeouts() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, _queue) = topic_with_queue(&cfg, "slow", true).await;
    let proxy = FaultProxy::start(moto.port);
    proxy.fail(Fault::Delay(Duration::from_secs(90)));
    let h = function(&proxy.endpoint, &topic).await;
    let limit = OPERATION_TIMEOUT + Duration::from_secs(4);

    // The binary's backfill, at the same time.
    let cli = tokio::task::spawn_blocking({
        let (endpoint, topic) = (proxy.endpoint.clone(), topic.clone());
        move || {
            let started = Instant::now();
            let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("rootwatch"))
                .args(["replay", "--sns-topic-arn", &topic])
                .arg("events/rules/root-console-login-nomfa.json")
                .envs(cli_env(&endpoint))
                .output()
                .unwrap();
            (started.elapsed(), out)
        }
    });
    // A client without our timeouts (the SDK's defaults: a connect timeout only) is still
    // waiting when ours has given up.
    let sdk = sdk_config(&proxy.endpoint).await;
    let default_client = aws_sdk_sns::Client::new(&sdk);
    let unbounded = tokio::time::timeout(
        limit,
        default_client
            .publish()
            .topic_arn(&topic)
            .message("x")
            .send(),
    );
    let slow = event("slow-1", 1);
    let ours = async {
        let started = Instant::now();
        (h.handle(&slow).await, started.elapsed())
    };
    let ((ours, took), unbounded) = tokio::join!(ours, unbounded);
    let err = ours.expect_err("a publish that times out fails the invocation");
    assert!(
        took >= rootwatch::aws::sns::ATTEMPT_TIMEOUT && took <= limit,
        "gave up after {took:?}"
    );
    assert!(err.to_string().to_lowercase().contains("timeout"), "{err}");
    assert!(
        unbounded.is_err(),
        "the default client answered: {unbounded:?}"
    );

    let (took, out) = cli.await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        took <= limit + Duration::from_secs(5),
        "replay took {took:?}"
    );
    assert!(
        stderr
            .contains("alert not published (events/rules/root-console-login-nomfa.json: record 0"),
        "{stderr}"
    );
}

/// Log lines of the code under test, captured (the tests run on one thread).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn count(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .matches(needle)
            .count()
    }
}

const NOW: i64 = 1_795_000_000;

fn now() -> i64 {
    NOW
}

async fn instance(endpoint: &str, table: &str) -> Handler<FakePublisher, DynamoStore> {
    let sdk = sdk_config(endpoint).await;
    let mut config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
    config.sessions_table = Some(table.into());
    let store = DynamoStore {
        client: rootwatch::aws::sns::store_client(&sdk),
        table: table.into(),
    };
    Handler::with_store(config, FakePublisher::default(), Some(store)).with_clock(now)
}

async fn run(h: &Handler<FakePublisher, DynamoStore>, event: &str) -> Counts {
    let mut counts = Counts::default();
    h.process(event.as_bytes(), "event", &mut counts)
        .await
        .expect("alerts published");
    counts
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn dynamodb_unavailable_mid_run_degrades_to_memory() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let db = support::sessions_table(&cfg, "sessions").await;
    let proxy = FaultProxy::start(moto.port);
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let a = instance(&proxy.endpoint, "sessions").await;

    // The table works: the session goes there.
    let c = run(&a, &support::sequence_event("sso-assumeroot", "AssumeRoot")).await;
    assert_eq!((c.sessions_learned, c.store_errors), (1, 0));
    assert!(proxy.count("PutItem").0 >= 1);

    // It goes away (connections reset): the use of that session is still alerted, attributed
    // from the instance's memory; the failed claim is counted, and the store is not called
    // again in this invocation (the settle is skipped).
    proxy.fail(Fault::Refuse);
    let c = run(
        &a,
        &support::sequence_event("sso-assumeroot", "DeleteBucketPolicy"),
    )
    .await;
    assert_eq!(c.alerts_published, 1);
    assert_eq!(c.store_errors, 1, "{c:?}");
    assert!(c.store_skipped >= 1, "{c:?}");
    let sent = a.publisher.published();
    assert!(
        sent.last().unwrap().text.contains(
            "opened by arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane.doe@example.com via AssumeRoot"
        ),
        "{}",
        sent.last().unwrap().text
    );

    // It hangs: each call is cut by the store's timeouts, the alert still goes out.
    proxy.fail(Fault::Delay(Duration::from_secs(60)));
    let started = Instant::now();
    let login = std::fs::read_to_string("events/rules/root-console-login-nomfa.json").unwrap();
    let c = run(&a, &login).await;
    let took = started.elapsed();
    assert_eq!(c.alerts_published, 1);
    assert_eq!(c.store_errors, 1, "{c:?}");
    assert!(c.store_skipped >= 1, "{c:?}");
    assert!(
        took <= rootwatch::aws::sns::STORE_OPERATION_TIMEOUT + Duration::from_secs(3),
        "{took:?}"
    );

    // Another instance with empty memory: no origin, but the alert goes out.
    proxy.fail(Fault::Status(500));
    let b = instance(&proxy.endpoint, "sessions").await;
    let c = run(
        &b,
        &support::sequence_event("sso-assumeroot", "DeleteBucketPolicy"),
    )
    .await;
    assert_eq!(c.alerts_published, 1);
    assert!(c.store_errors >= 1, "{c:?}");
    assert!(
        b.publisher.published()[0]
            .text
            .contains("Session origin: not known"),
        "{}",
        b.publisher.published()[0].text
    );

    // Logged once per invocation, however many calls failed: three invocations met a failure.
    assert_eq!(logs.count("session store unavailable"), 3);

    // The table comes back: the next claim goes there again.
    proxy.pass();
    let mfa = std::fs::read_to_string("events/rules/root-console-login-mfa.json").unwrap();
    let c = run(&a, &mfa).await;
    assert_eq!((c.alerts_published, c.store_errors), (1, 0));
    let id: Value = serde_json::from_str(&mfa).unwrap();
    let claim = db
        .get_item()
        .table_name("sessions")
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "event#{}",
                id["detail"]["eventID"].as_str().unwrap()
            )),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        claim.item().and_then(|i| i.get("state")),
        Some(&aws_sdk_dynamodb::types::AttributeValue::S("sent".into()))
    );
    assert_eq!(logs.count("session store unavailable"), 3);
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn one_event_three_times_in_sqs_batches_to_two_instances_alerts_once() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    support::sessions_table(&cfg, "dedup").await;
    let (topic, queue) = topic_with_queue(&cfg, "dedup", true).await;
    // The table through the proxy, which hands moto one request at a time: moto's conditional
    // put is not atomic under concurrent requests (DynamoDB's is), and the instances below race.
    // (Straight to moto, this test once saw two alerts for one event.)
    let proxy = FaultProxy::start(moto.port);
    let table_cfg = sdk_config(&proxy.endpoint).await;
    let instance = || {
        let mut config = Config::for_topic(&topic);
        config.sessions_table = Some("dedup".into());
        let publisher = SnsPublisher {
            client: rootwatch::aws::sns::client(&cfg),
            topic_arn: topic.clone(),
        };
        let store = DynamoStore {
            client: rootwatch::aws::sns::store_client(&table_cfg),
            table: "dedup".into(),
        };
        Handler::with_store(config, publisher, Some(store))
    };
    let (a, b) = (instance(), instance());
    let mut events: Vec<String> = (1..=8).map(|i| event(&format!("dup-{i}"), i)).collect();
    events.push(std::fs::read_to_string("events/rules/root-console-login-nomfa.json").unwrap());
    for (round, ev) in events.iter().enumerate() {
        // Twice in one batch on instance A while instance B gets it in another batch, at the
        // same time; in the last round one after the other.
        let first = sqs(&[("m1", ev), ("m2", ev)]);
        let second = sqs(&[("m3", ev)]);
        let (x, y) = if round + 1 < events.len() {
            tokio::join!(a.handle(&first), b.handle(&second))
        } else {
            (a.handle(&first).await, b.handle(&second).await)
        };
        // A delivery that met another's unsettled claim is returned to its queue, never
        // acknowledged; the queue redelivers it (here at once: the other has settled by now).
        let mut again: Vec<(&Handler<SnsPublisher, DynamoStore>, Vec<String>)> = Vec::new();
        for (h, r) in [(&a, x), (&b, y)] {
            let failed: Vec<String> = r.unwrap()["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
                .collect();
            if !failed.is_empty() {
                again.push((h, failed));
            }
        }
        for (h, ids) in again {
            let msgs: Vec<(&str, &str)> = ids.iter().map(|i| (i.as_str(), ev.as_str())).collect();
            assert_eq!(
                h.handle(&sqs(&msgs)).await.unwrap(),
                failures(&[]),
                "round {round}: redelivered after the claim settled: acknowledged"
            );
        }
        let got = drain(&cfg, &queue, 1, WAIT).await;
        assert_eq!(
            got.len(),
            1,
            "round {round}: one alert for three deliveries"
        );
    }
    assert!(
        proxy.count("PutItem").0 >= 2 * events.len(),
        "the claims went to the table"
    );
}

/// Issue 6: a benign event makes no network call at all, an alerting one exactly one Publish;
/// prints the handler time of each (median of 40 invocations, SNS on moto through the proxy,
/// TLS set up lazily as in the binary). Times are printed, not asserted: this machine is shared.
#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn benign_events_make_no_network_call_and_handler_times() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, _queue) = topic_with_queue(&cfg, "calls", true).await;
    let proxy = FaultProxy::start(moto.port);
    let sdk = rootwatch::aws::sns::with_lazy_tls(&sdk_config(&proxy.endpoint).await);
    let h = Handler::new(
        Config::for_topic(&topic),
        SnsPublisher {
            client: rootwatch::aws::sns::client(&sdk),
            topic_arn: topic.clone(),
        },
    );
    let benign = |i: u32| {
        event(&format!("benign-{i}"), i)
            .replace("\"type\":\"Root\"", "\"type\":\"IAMUser\"")
            .replace(":root\"", ":user/alice\"")
    };
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    proxy.clear();
    let mut quiet = Vec::new();
    for i in 0..40 {
        let t = Instant::now();
        h.handle(&benign(i)).await.expect("benign event");
        quiet.push(t.elapsed());
    }
    assert!(
        proxy.seen().is_empty(),
        "a benign event made network calls: {:?}",
        proxy.seen()
    );
    let mut loud = Vec::new();
    for i in 0..40 {
        let t = Instant::now();
        h.handle(&event(&format!("alert-{i}"), i))
            .await
            .expect("alerting event");
        loud.push(t.elapsed());
    }
    let (publishes, faulted) = proxy.count("Publish");
    assert_eq!(
        (publishes, faulted),
        (40, 0),
        "one Publish per alerting event"
    );
    assert_eq!(proxy.seen().len(), 40, "and nothing else");
    println!(
        "handler time (median of 40): benign {:.3} ms (0 network calls), alerting {:.3} ms (1 Publish to moto)",
        median(quiet).as_secs_f64() * 1e3,
        median(loud).as_secs_f64() * 1e3
    );
}
