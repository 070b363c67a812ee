//! Session tracking end to end, without emulators: replay in any order gives the same origins
//! (proptest), the function attributes across invocations, the `sessions` command and the
//! configurable rules from the command line.

mod support;

use proptest::prelude::*;
use rootwatch::aws::function::{Config, Handler};
use rootwatch::aws::testing::FakePublisher;
use rootwatch::core::model::RecordReport;
use rootwatch::replay::{self, InputError, Options, Output};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use support::{eventbridge, stdout};

const CASES: &[&str] = &[
    "user-role-chain",
    "sso-assumeroot",
    "federation-token",
    "expired-key-reused",
];

fn records(case: &str) -> Vec<Value> {
    support::sequence(case)
}

#[derive(Default)]
struct Origins(BTreeMap<String, Value>);

impl Output for Origins {
    fn record(&mut self, r: &RecordReport) -> std::io::Result<()> {
        let id = r.event_id.as_deref().unwrap().to_owned();
        let origin = serde_json::to_value(&r.origin).unwrap();
        let class = json!(r.principal.class.as_str());
        let rules: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
        self.0.insert(id, json!([origin, class, rules]));
        Ok(())
    }
    fn error(&mut self, e: &InputError) -> std::io::Result<()> {
        panic!("{e}")
    }
}

/// Replays records split over two log files (the split point and order given).
fn replay_split(records: &[Value], split: usize, dir: &Path) -> BTreeMap<String, Value> {
    let split = split.min(records.len());
    let a = dir.join("a.json");
    let b = dir.join("b.json");
    std::fs::write(&a, json!({ "Records": &records[..split] }).to_string()).unwrap();
    std::fs::write(&b, json!({ "Records": &records[split..] }).to_string()).unwrap();
    let mut out = Origins::default();
    replay::replay(&[b, a], &Options::default(), &mut out).unwrap();
    out.0
}

fn expected(case: &str) -> BTreeMap<String, Value> {
    let mut out = Origins::default();
    replay::replay(
        &[Path::new("events/sessions").join(case)],
        &Options::default(),
        &mut out,
    )
    .unwrap();
    out.0
}

#[test]
fn cases_attribute_what_they_should() {
    let count = |case: &str| expected(case).values().filter(|v| !v[0].is_null()).count();
    // Uses of hop 1 (3) and hop 2 (2); the caller's own records have no origin.
    assert_eq!(count("user-role-chain"), 5);
    assert_eq!(count("sso-assumeroot"), 2);
    // The use after expiry is not attributed.
    assert_eq!(count("federation-token"), 2);
    assert_eq!(count("expired-key-reused"), 2);
    for v in expected("sso-assumeroot").values() {
        if v[1] == "root_session" {
            assert!(!v[2].to_string().contains("root-credential-use"), "{v}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Any permutation of a sequence's records, split anywhere over two files, gives the same
    /// origins, classes and rules as the sequence as written.
    #[test]
    fn any_order_gives_the_same_origins(
        (case, recs, split) in prop::sample::select(CASES)
            .prop_flat_map(|c| (Just(c), Just(records(c)).prop_shuffle(), 0usize..20))
    ) {
        let dir = tempfile::tempdir().unwrap();
        prop_assert_eq!(replay_split(&recs, split, dir.path()), expected(case));
    }
}

fn handler() -> Handler<FakePublisher> {
    Handler::new(
        Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch"),
        FakePublisher::default(),
    )
}

fn find<'a>(recs: &'a [Value], name: &str) -> &'a Value {
    recs.iter().find(|r| r["eventName"] == name).unwrap()
}

#[tokio::test]
async fn function_names_the_admin_behind_a_later_root_session_request() {
    let recs = records("sso-assumeroot");
    let h = handler();
    h.handle(&eventbridge(find(&recs, "AssumeRoot")))
        .await
        .unwrap();
    h.handle(&eventbridge(find(&recs, "DeleteBucketPolicy")))
        .await
        .unwrap();
    let sent = h.publisher.published();
    assert_eq!(sent.len(), 2);
    let text = &sent[1].text;
    assert!(text.contains("Root session in 222233334444 opened by arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane.doe@example.com via AssumeRoot (task S3UnlockBucketPolicy)"), "{text}");
    assert!(
        text.contains("Session origin: arn:aws:sts::111122223333"),
        "{text}"
    );
    assert!(!text.contains("root-credential-use"), "{text}");
}

#[tokio::test]
async fn function_says_origin_not_known_when_the_use_comes_first_directly() {
    let recs = records("sso-assumeroot");
    let h = handler();
    h.handle(&eventbridge(find(&recs, "DeleteBucketPolicy")))
        .await
        .unwrap();
    let sent = h.publisher.published();
    assert!(
        sent[0].text.contains(
            "Session origin: not known: no AssumeRoot or GetSessionToken call issuing this temporary key has been seen yet (a direct invocation does not wait for it)"
        ),
        "{}",
        sent[0].text
    );
    assert!(
        sent[0].text.contains("root-credential-use"),
        "{}",
        sent[0].text
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    /// In one SQS batch the function sorts by eventTime: any order of the messages gives the
    /// same alerts.
    #[test]
    fn any_order_in_one_batch_gives_the_same_alerts(perm in Just(records("sso-assumeroot")).prop_shuffle()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let subjects = |recs: &[Value]| {
            let h = handler();
            let msgs: Vec<Value> = recs.iter().enumerate().map(|(i, r)| json!({
                "messageId": format!("m{i}"), "receiptHandle": "h", "body": eventbridge(r),
                "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"})).collect();
            rt.block_on(h.handle(&json!({"Records": msgs}).to_string())).unwrap();
            let mut s: Vec<String> = h.publisher.published().iter().map(|a| a.text.clone()).collect();
            s.sort();
            s
        };
        prop_assert_eq!(subjects(&perm), subjects(&records("sso-assumeroot")));
    }
}

#[test]
fn sessions_command_as_json_and_dot() {
    // The text tree is checked against the golden files and docs/sessions.md.
    let out = stdout(&[
        "sessions",
        "--format",
        "json",
        "events/sessions/user-role-chain",
    ]);
    let trees: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(trees[0]["arn"], "arn:aws:iam::111122223333:user/alice");
    assert_eq!(trees[0]["total_requests"], 5);
    let hop1 = &trees[0]["sessions"][0];
    assert_eq!(hop1["role_arn"], "arn:aws:iam::444455556666:role/Admin");
    assert_eq!(hop1["requests"], 3);
    assert_eq!(hop1["sessions"][0]["requests"], 2);
    assert_eq!(hop1["sessions"][0]["source_identity"], "alice@example.com");
    let dot = stdout(&["sessions", "--format", "dot", "events/sessions/"]);
    assert!(dot.starts_with("digraph sessions {"), "{dot}");
    // One edge per hop: the role chain 2, the two AssumeRoot cases 1 each, the federation
    // token 1, the reused key 2.
    assert_eq!(dot.matches(" -> ").count(), 7, "{dot}");
}

#[test]
fn session_rules_from_the_command_line() {
    let out = stdout(&[
        "replay",
        "--format",
        "jsonl",
        "--watch-role",
        "arn:aws:iam::*:role/Auditor",
        "--trusted-account",
        "999988887777",
        "events/sessions/user-role-chain",
    ]);
    let mut rules = Vec::new();
    for line in out.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        for f in r["findings"].as_array().unwrap() {
            rules.push((
                f["rule"].as_str().unwrap().to_owned(),
                f["title"].as_str().unwrap().to_owned(),
            ));
        }
    }
    rules.sort();
    assert_eq!(rules.len(), 3, "{rules:?}");
    // alice (111122223333) into Admin in 444455556666; the Admin session into Auditor.
    assert_eq!(rules[0].0, "untrusted-account-assumption");
    assert_eq!(rules[1].0, "untrusted-account-assumption");
    assert_eq!(rules[2].0, "watched-role-assumed");
    assert!(
        rules[2]
            .1
            .contains("(session started by arn:aws:iam::111122223333:user/alice)"),
        "{}",
        rules[2].1
    );
    assert_cmd::Command::cargo_bin("rootwatch")
        .unwrap()
        .args(["replay", "--watch-role", "BreakGlass", "events/sessions"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is not an ARN pattern"));
}

/// An SQS event of one message with the attributes the AssumeRoot wait reads.
fn queued(id: &str, body: &str, sent_ms: i64, receives: u32) -> String {
    json!({ "Records": [support::sqs_message(id, body, sent_ms, receives)] }).to_string()
}

const T0_MS: i64 = 1_795_000_000_000;

fn failed(response: &Value) -> usize {
    response["batchItemFailures"].as_array().unwrap().len()
}

/// Issue 15: through SQS, the member-account side of an AssumeRoot session that arrives before
/// the AssumeRoot call waits in the queue, then alerts as a root session once the call is known.
#[tokio::test]
async fn queued_root_request_waits_for_its_assume_root_call() {
    let recs = records("sso-assumeroot");
    let h = handler().with_clock_ms(|| T0_MS + 60_000);
    let use_ = eventbridge(find(&recs, "DeleteBucketPolicy"));
    let call = eventbridge(find(&recs, "AssumeRoot"));
    let (r, c) = h.handle_counted(&queued("u", &use_, T0_MS, 1)).await;
    assert_eq!(failed(&r.unwrap()), 1, "returned to the queue");
    assert_eq!((c.held_for_assume_root, c.alerts_published), (1, 0));
    assert!(h.publisher.published().is_empty());
    let (r, _) = h.handle_counted(&queued("c", &call, T0_MS, 1)).await;
    assert_eq!(failed(&r.unwrap()), 0);
    let (r, c) = h.handle_counted(&queued("u", &use_, T0_MS, 2)).await;
    assert_eq!(failed(&r.unwrap()), 0);
    assert_eq!(c.held_for_assume_root, 0);
    let sent = h.publisher.published();
    let last = &sent.last().unwrap().text;
    assert!(
        last.contains("via AssumeRoot (task S3UnlockBucketPolicy)"),
        "{last}"
    );
    assert!(!last.contains("root-credential-use"), "{last}");
}

/// When the call does not come within the wait (by age, or by receive count), the request is
/// alerted as root credentials, saying it waited; a console request or a long-term key never
/// waits.
#[tokio::test]
async fn queued_root_request_alerts_as_root_after_the_wait() {
    let recs = records("sso-assumeroot");
    let use_ = eventbridge(find(&recs, "DeleteBucketPolicy"));
    for (age_ms, receives) in [(301_000, 2), (10_000, 3)] {
        let h = handler().with_clock_ms(|| T0_MS + 301_000);
        let (r, c) = h
            .handle_counted(&queued("u", &use_, T0_MS + 301_000 - age_ms, receives))
            .await;
        assert_eq!(
            failed(&r.unwrap()),
            0,
            "age {age_ms} ms, {receives} receives"
        );
        assert_eq!(c.alerts_published, 1);
        let text = &h.publisher.published()[0].text;
        assert!(text.contains("root-credential-use"), "{text}");
        assert!(
            text.contains("Session origin: not known: no AssumeRoot or GetSessionToken call issuing this temporary key arrived within 5 minute(s) of waiting"),
            "{text}"
        );
    }
    // A root console request (temporary key from the sign-in) is alerted at once.
    let mut console = find(&recs, "DeleteBucketPolicy").clone();
    console["sessionCredentialFromConsole"] = json!("true");
    let h = handler().with_clock_ms(|| T0_MS);
    let (r, c) = h
        .handle_counted(&queued("k", &eventbridge(&console), T0_MS, 1))
        .await;
    assert_eq!(failed(&r.unwrap()), 0);
    assert_eq!((c.held_for_assume_root, c.alerts_published), (0, 1));
    // So is root with a long-term key.
    let mut long_term = find(&recs, "DeleteBucketPolicy").clone();
    long_term["userIdentity"]["accessKeyId"] = json!("AKIAIOSFODNN7EXAMPLE");
    long_term["eventID"] = json!("long-term-key");
    let (r, c) = h
        .handle_counted(&queued("l", &eventbridge(&long_term), T0_MS, 1))
        .await;
    assert_eq!(failed(&r.unwrap()), 0);
    assert_eq!((c.held_for_assume_root, c.alerts_published), (0, 1));
}

/// The heartbeat is published whatever MIN_SEVERITY, marked `rule=heartbeat`, and counted.
#[tokio::test]
async fn heartbeat_is_published_and_counted() {
    let mut config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
    config.min_severity = rootwatch::core::model::Severity::Critical;
    let h = Handler::new(config, FakePublisher::default());
    let beat =
        json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-12-06T03:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/hb"], "detail": {}})
        .to_string();
    let (r, c) = h.handle_counted(&beat).await;
    r.unwrap();
    assert_eq!((c.heartbeats, c.records), (1, 0));
    let sent = h.publisher.published();
    assert_eq!(sent.len(), 1);
    assert!(sent[0]
        .attributes
        .iter()
        .any(|(k, _, v)| *k == "rule" && v == "heartbeat"));
    let emf = rootwatch::aws::function::emf(&c, 0);
    assert!(emf.contains("\"Heartbeat\":1"), "{emf}");
}
