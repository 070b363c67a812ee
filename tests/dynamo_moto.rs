//! The DynamoDB session store with the real `aws-sdk-dynamodb` against moto's server on
//! 127.0.0.1: function instances sharing one table attribute each other's sessions, publish a
//! duplicate delivery once, and set the TTL attribute. Run by `make test`.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use rootwatch::aws::dynamo::{DynamoStore, PK, TTL_ATTRIBUTE};
use rootwatch::aws::function::{Config, Handler};
use rootwatch::aws::testing::FakePublisher;
use rootwatch::core::pipeline::Origins;
use serde_json::{json, Value};
use support::{sdk_config, sessions_table as table, Moto};

const NOW: i64 = 1_795_000_000;

fn now() -> i64 {
    NOW
}

fn instance(cfg: &aws_config::SdkConfig, table: &str) -> Handler<FakePublisher, DynamoStore> {
    let mut config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
    config.sessions_table = Some(table.into());
    let store = DynamoStore {
        client: aws_sdk_dynamodb::Client::new(cfg),
        table: table.into(),
    };
    Handler::with_store(config, FakePublisher::default(), Some(store)).with_clock(now)
}

fn records(case: &str) -> Vec<Value> {
    support::sequence(case)
}

fn find(recs: &[Value], name: &str) -> String {
    support::eventbridge(recs.iter().find(|r| r["eventName"] == name).unwrap())
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn instances_sharing_a_table_attribute_each_others_sessions() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    table(&cfg, "sessions").await;
    let recs = records("sso-assumeroot");
    let a = instance(&cfg, "sessions");
    let b = instance(&cfg, "sessions");
    a.handle(&find(&recs, "AssumeRoot")).await.unwrap();
    b.handle(&find(&recs, "DeleteBucketPolicy")).await.unwrap();
    let sent = b.publisher.published();
    assert_eq!(sent.len(), 1, "{}", moto.log());
    assert!(
        sent[0].text.contains("opened by arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane.doe@example.com via AssumeRoot"),
        "{}",
        sent[0].text
    );

    // A role chain learned by two instances, used on a third.
    let chain = records("user-role-chain");
    let c = instance(&cfg, "sessions");
    let hop = |n: usize| {
        let r = chain
            .iter()
            .filter(|r| r["eventName"] == "AssumeRole")
            .nth(n)
            .unwrap();
        json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.sts", "detail": r})
            .to_string()
    };
    // File order puts hop 2 (Admin → Auditor) first.
    a.handle(&hop(1)).await.unwrap();
    b.handle(&hop(0)).await.unwrap();
    let use_of_hop2 = chain
        .iter()
        .find(|r| r["eventName"] == "ListBuckets" && r["userIdentity"]["type"] == "AssumedRole")
        .unwrap();
    let text = json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": use_of_hop2}).to_string();
    let mut counts = rootwatch::aws::function::Counts::default();
    c.process(text.as_bytes(), "event", &mut counts)
        .await
        .unwrap();
    assert_eq!(
        counts.records_with_origin, 1,
        "the third instance attributed the use"
    );
    assert_eq!(counts.store_errors, 0);
    // What it learned from the table: both hops, back to alice.
    let at = rootwatch::core::time::parse("2026-11-20T09:07:30Z").unwrap();
    let origin = c.local.origin("ASIACHAINHOP2EXAMPLE", at, None).unwrap();
    assert_eq!(
        origin.arn.as_deref(),
        Some("arn:aws:iam::111122223333:user/alice")
    );
    let roles: Vec<_> = origin
        .chain
        .iter()
        .map(|h| h.role_arn.clone().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "arn:aws:iam::444455556666:role/Admin",
            "arn:aws:iam::555566667777:role/Auditor"
        ]
    );
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn a_duplicate_delivery_is_published_once_across_instances() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    table(&cfg, "dedup").await;
    let a = instance(&cfg, "dedup");
    let b = instance(&cfg, "dedup");
    let ev = std::fs::read_to_string("events/rules/root-console-login-nomfa.json").unwrap();
    for h in [&a, &b, &a] {
        h.handle(&ev).await.unwrap();
    }
    assert_eq!(
        a.publisher.published().len() + b.publisher.published().len(),
        1
    );
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn a_failed_publish_gives_the_claim_back_to_another_instance() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    table(&cfg, "retry").await;
    let a = instance(&cfg, "retry");
    let b = instance(&cfg, "retry");
    let ev = std::fs::read_to_string("events/rules/root-console-login-nomfa.json").unwrap();
    a.publisher.fail_with(Some("InternalError"));
    assert!(a.handle(&ev).await.is_err(), "the failure is retryable");
    b.handle(&ev).await.unwrap();
    assert_eq!(
        b.publisher.published().len(),
        1,
        "the retry on another instance publishes"
    );
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn items_carry_the_ttl_attribute() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let db = table(&cfg, "ttl").await;
    let ttl = db
        .describe_time_to_live()
        .table_name("ttl")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some(TTL_ATTRIBUTE)
    );
    let recs = records("sso-assumeroot");
    let a = instance(&cfg, "ttl");
    a.handle(&find(&recs, "AssumeRoot")).await.unwrap();
    let items = db.scan().table_name("ttl").send().await.unwrap();
    let by_pk = |pk: &str| {
        items
            .items()
            .iter()
            .find(|i| i.get(PK) == Some(&AttributeValue::S(pk.into())))
            .cloned()
            .unwrap_or_else(|| panic!("no {pk} in {:?}", items.items()))
    };
    let session = by_pk("session#ASIAROOTSEQ1EXAMPLE1");
    let expiry = rootwatch::core::time::parse("2026-11-21T14:15:00Z").unwrap();
    assert_eq!(
        session.get(TTL_ATTRIBUTE),
        Some(&AttributeValue::N(expiry.to_string())),
        "session items expire with the credentials"
    );
    let claim = by_pk("event#5e5510a0-0000-4000-8000-000000000018");
    assert_eq!(claim.get("state"), Some(&AttributeValue::S("sent".into())));
    assert_eq!(
        claim.get(TTL_ATTRIBUTE),
        Some(&AttributeValue::N(
            (NOW + rootwatch::aws::store::DEDUP_TTL_SECONDS).to_string()
        ))
    );
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn detection_goes_on_when_the_table_is_missing() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    // No table: every store call fails.
    let a = instance(&cfg, "missing");
    let recs = records("sso-assumeroot");
    a.handle(&find(&recs, "AssumeRoot")).await.unwrap();
    a.handle(&find(&recs, "DeleteBucketPolicy")).await.unwrap();
    let sent = a.publisher.published();
    assert_eq!(sent.len(), 2, "alerts still go out");
    assert!(
        sent[1]
            .text
            .contains("opened by arn:aws:sts::111122223333:assumed-role/AWSReservedSSO"),
        "the instance's memory still attributes: {}",
        sent[1].text
    );
}
