//! The pattern rules (issue 16): `root-login-brute-force`, `root-login-spray`,
//! `assume-root-new-caller`, in replay (the input in any order, any thread count) and in the
//! function (memory; and two instances sharing one DynamoDB table on moto, which count together
//! and fire once).

mod support;

use rootwatch::aws::dynamo::DynamoStore;
use rootwatch::aws::function::{Config, Handler};
use rootwatch::aws::testing::FakePublisher;
use rootwatch::core::model::{RecordReport, Rule};
use rootwatch::replay::{self, InputError, Options, Output};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::fault::FaultProxy;
use support::{sdk_config, Moto};

#[derive(Default)]
struct Found(BTreeMap<String, Vec<Rule>>);

impl Output for Found {
    fn record(&mut self, r: &RecordReport) -> std::io::Result<()> {
        let pattern: Vec<Rule> = r
            .findings
            .iter()
            .map(|f| f.rule)
            .filter(|r| {
                matches!(
                    r,
                    Rule::RootLoginBruteForce | Rule::RootLoginSpray | Rule::AssumeRootNewCaller
                )
            })
            .collect();
        if !pattern.is_empty() {
            self.0
                .insert(r.event_id.as_deref().unwrap_or("-").to_owned(), pattern);
        }
        Ok(())
    }
    fn error(&mut self, e: &InputError) -> std::io::Result<()> {
        panic!("{e:?}")
    }
}

fn run(paths: &[PathBuf], threads: usize) -> BTreeMap<String, Vec<Rule>> {
    let mut found = Found::default();
    let opts = Options {
        threads,
        ..Options::default()
    };
    replay::replay(paths, &opts, &mut found).unwrap();
    found.0
}

/// The records of every sample of events/patterns, each in its own file, named so that a
/// directory walk reads them in `order` (a permutation).
fn split_into_files(dir: &Path, order: &[usize]) -> Vec<Value> {
    let mut records: Vec<Value> = Vec::new();
    for f in [
        "root-login-brute-force",
        "root-login-spray",
        "root-login-failures-slow",
    ] {
        records.extend(support::records_of(&format!("events/patterns/{f}.json")));
    }
    for (n, &i) in order.iter().enumerate() {
        let doc = serde_json::json!({ "Records": [records[i % records.len()]] });
        std::fs::write(dir.join(format!("{n:03}.json")), doc.to_string()).unwrap();
    }
    records
}

#[test]
fn replay_finds_the_same_patterns_in_any_order_and_thread_count() {
    let n = 13;
    let forward: Vec<usize> = (0..n).collect();
    let backward: Vec<usize> = (0..n).rev().collect();
    let shuffled: Vec<usize> = (0..n).map(|i| (i * 5) % n).collect();
    let mut results = Vec::new();
    for order in [&forward, &backward, &shuffled] {
        let dir = tempfile::tempdir().unwrap();
        let records = split_into_files(dir.path(), order);
        assert_eq!(records.len(), n);
        for threads in [1, 4] {
            results.push(run(&[dir.path().to_path_buf()], threads));
        }
    }
    // One brute-force burst and one spray, on the 5th failure in time and the 3rd account.
    let first = &results[0];
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(
        first["7a77e2a5-0001-4000-8000-000000000004"],
        [Rule::RootLoginBruteForce]
    );
    assert_eq!(
        first["7a77e2a5-0002-4000-8000-000000000002"],
        [Rule::RootLoginSpray]
    );
    for r in &results {
        assert_eq!(r, first);
    }
}

fn events(path: &str) -> Vec<String> {
    support::records_of(path)
        .iter()
        .map(support::eventbridge)
        .collect()
}

fn pattern_alerts(sent: &[rootwatch::core::alert::Alert]) -> Vec<String> {
    let mut rules: Vec<String> = sent
        .iter()
        .flat_map(|a| {
            let doc: Value = serde_json::from_str(&a.document).unwrap();
            doc["alert"]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r.as_str())
                .filter(|r| r.starts_with("root-login-") || *r == "assume-root-new-caller")
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    rules.sort();
    rules
}

#[tokio::test]
async fn the_function_without_a_table_counts_in_memory() {
    let h = Handler::new(
        Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch"),
        FakePublisher::default(),
    );
    for e in events("events/patterns/root-login-brute-force.json") {
        h.handle(&e).await.unwrap();
    }
    for e in events("events/patterns/root-login-failures-slow.json") {
        h.handle(&e).await.unwrap();
    }
    // Delivered twice: counted once.
    for e in events("events/patterns/root-login-brute-force.json") {
        h.handle(&e).await.unwrap();
    }
    assert_eq!(
        pattern_alerts(&h.publisher.published()),
        ["root-login-brute-force"]
    );
}

fn instance(endpoint: &aws_config::SdkConfig) -> Handler<FakePublisher, DynamoStore> {
    let mut config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
    config.sessions_table = Some("patterns".into());
    let store = DynamoStore {
        client: rootwatch::aws::sns::store_client(endpoint),
        table: "patterns".into(),
    };
    Handler::with_store(config, FakePublisher::default(), Some(store))
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn two_instances_sharing_the_table_count_together_and_fire_once() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    support::sessions_table(&cfg, "patterns").await;
    // The table through the proxy, which hands moto one request at a time: moto's conditional
    // writes are not atomic under concurrent requests (DynamoDB's are).
    let proxy = FaultProxy::start(moto.port);
    let through = sdk_config(&proxy.endpoint).await;
    let (a, b) = (instance(&through), instance(&through));
    // The burst split between the instances, at the same time: neither sees 5 alone.
    let burst = events("events/patterns/root-login-brute-force.json");
    let spray = events("events/patterns/root-login-spray.json");
    let slow = events("events/patterns/root-login-failures-slow.json");
    let (to_a, to_b): (Vec<_>, Vec<_>) = burst
        .iter()
        .chain(&spray)
        .chain(&slow)
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let run = |h: &'static Handler<FakePublisher, DynamoStore>, evs: Vec<String>| async move {
        for e in evs {
            h.handle(&e).await.unwrap();
        }
    };
    let a: &'static _ = Box::leak(Box::new(a));
    let b: &'static _ = Box::leak(Box::new(b));
    tokio::join!(
        run(a, to_a.into_iter().map(|(_, e)| e.clone()).collect()),
        run(b, to_b.into_iter().map(|(_, e)| e.clone()).collect())
    );
    let mut all = a.publisher.published();
    all.extend(b.publisher.published());
    assert_eq!(
        pattern_alerts(&all),
        ["root-login-brute-force", "root-login-spray"],
        "{}",
        moto.log()
    );
    // Delivered again to the other instance: nothing new.
    for e in burst.iter().chain(&spray) {
        b.handle(e).await.unwrap();
    }
    let mut again = a.publisher.published();
    again.extend(b.publisher.published());
    assert_eq!(pattern_alerts(&again).len(), 2);
    assert!(proxy.count("UpdateItem").0 >= 1);

    // The first AssumeRoot by a caller on an account fires on one instance; the same caller on
    // the same account, on the other instance, does not.
    let calls = support::sequence("sso-assumeroot");
    let call = calls
        .iter()
        .find(|r| r["eventName"] == "AssumeRoot")
        .unwrap()
        .clone();
    let mut later = call.clone();
    later["eventID"] = serde_json::json!("later-assume-root");
    later["eventTime"] = serde_json::json!("2026-11-21T15:00:00Z");
    a.handle(&support::eventbridge(&call)).await.unwrap();
    b.handle(&support::eventbridge(&later)).await.unwrap();
    let mut all = a.publisher.published();
    all.extend(b.publisher.published());
    assert_eq!(
        pattern_alerts(&all)
            .iter()
            .filter(|r| *r == "assume-root-new-caller")
            .count(),
        1
    );
}
