//! The real `aws-sdk-sns` against moto's server on 127.0.0.1, and the real binary under
//! `cargo lambda watch`: alerts are read back from SQS subscribed to the topic.
//! Run by `make test` (it installs moto and cargo-lambda); skipped by a plain `cargo test`.

mod support;

use rootwatch::aws::function::{Config, Handler};
use rootwatch::aws::sns::SnsPublisher;
use serde_json::Value;
use std::time::Duration;
use support::{drain, sdk_config, topic_with_queue, LambdaWatch, Moto};

const WAIT: Duration = Duration::from_secs(15);

fn sample(path: &str) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn handler(cfg: &aws_config::SdkConfig, topic_arn: &str) -> Handler<SnsPublisher> {
    let config = Config::for_topic(topic_arn);
    let publisher = SnsPublisher {
        client: aws_sdk_sns::Client::new(cfg),
        topic_arn: topic_arn.into(),
    };
    Handler::new(config, publisher)
}

fn attr(m: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    m.message_attributes()?
        .get(name)?
        .string_value()
        .map(str::to_owned)
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn alerts_reach_a_subscribed_queue_with_attributes() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts", false).await;
    let h = handler(&cfg, &topic);
    for f in [
        "events/rules/root-console-login-nomfa.json",
        "events/principals/iam_user.json",
        "events/principals/root_session.json",
    ] {
        h.handle(&sample(f)).await.unwrap();
    }
    let got = drain(&cfg, &queue, 2, WAIT).await;
    assert_eq!(
        got.len(),
        2,
        "one alert per alerting record, none for the benign one"
    );
    let envelopes: Vec<Value> = got
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    let login = envelopes
        .iter()
        .find(|e| e["Subject"].as_str().unwrap().contains("CRITICAL"))
        .expect("login alert");
    assert_eq!(
        login["Subject"],
        "[rootwatch] CRITICAL 111122223333: Root user signed in to the console without MFA"
    );
    assert_eq!(login["MessageAttributes"]["severity"]["Value"], "critical");
    assert_eq!(
        login["MessageAttributes"]["principal_class"]["Value"],
        "root"
    );
    assert_eq!(
        login["MessageAttributes"]["event_name"]["Value"],
        "ConsoleLogin"
    );
    // The sqs protocol gets the JSON document (MessageStructure=json).
    let doc: Value = serde_json::from_str(login["Message"].as_str().unwrap()).unwrap();
    assert_eq!(doc["alert"]["rule"], "root-console-login");
    assert_eq!(doc["principal"]["arn"], "arn:aws:iam::111122223333:root");
    let session = envelopes
        .iter()
        .find(|e| e["MessageAttributes"]["principal_class"]["Value"] == "root_session")
        .expect("session alert");
    assert_eq!(session["MessageAttributes"]["severity"]["Value"], "medium");
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn raw_delivery_gives_the_document_and_sqs_attributes() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts-raw", true).await;
    let h = handler(&cfg, &topic);
    h.handle(&sample("events/root-only-task/close-account.json"))
        .await
        .unwrap();
    let got = drain(&cfg, &queue, 1, WAIT).await;
    assert_eq!(got.len(), 1);
    let doc: Value = serde_json::from_str(got[0].body().unwrap()).unwrap();
    assert_eq!(doc["alert"]["tasks"][0], "close-account");
    assert_eq!(attr(&got[0], "severity").as_deref(), Some("critical"));
    assert_eq!(attr(&got[0], "account_id").as_deref(), Some("111122223333"));
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn sqs_batch_through_the_sdk_publishes_and_dedups() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "alerts-batch", true).await;
    let h = handler(&cfg, &topic);
    let login = sample("events/rules/root-console-login-mfa.json");
    let payload = serde_json::json!({"Records": [
        {"messageId": "a", "body": login, "eventSource": "aws:sqs"},
        {"messageId": "b", "body": login, "eventSource": "aws:sqs"},
        {"messageId": "c", "body": "{not json", "eventSource": "aws:sqs"},
    ]})
    .to_string();
    let out = h.handle(&payload).await.unwrap();
    assert_eq!(out, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(
        drain(&cfg, &queue, 1, WAIT).await.len(),
        1,
        "the duplicate delivery published nothing"
    );
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn missing_topic_or_dead_endpoint_is_a_retryable_error() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let h = handler(&cfg, "arn:aws:sns:us-east-1:123456789012:no-such-topic");
    let err = h
        .handle(&sample("events/rules/root-console-login-nomfa.json"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NotFound"), "{err}");

    let dead = sdk_config(&format!("http://127.0.0.1:{}", support::free_port())).await;
    let h = handler(&dead, "arn:aws:sns:us-east-1:123456789012:alerts");
    let err = h
        .handle(&sample("events/rules/root-console-login-nomfa.json"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not be published"), "{err}");
    assert!(err.to_string().contains("could not be reached"), "{err}");
    // SQS mode: exactly the failed message comes back.
    let payload = serde_json::json!({"Records": [
        {"messageId": "ok", "body": sample("events/principals/iam_user.json"), "eventSource": "aws:sqs"},
        {"messageId": "bad", "body": sample("events/principals/root.json"), "eventSource": "aws:sqs"},
    ]})
    .to_string();
    let out = h.handle(&payload).await.unwrap();
    assert_eq!(
        out,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "bad"}]})
    );
}

fn emulator_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ]
}

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn replay_backfill_publishes_every_alert() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "backfill", true).await;
    let bin = assert_cmd::cargo::cargo_bin("rootwatch");
    let out = std::process::Command::new(&bin)
        .args([
            "replay",
            "--format",
            "jsonl",
            "--sns-topic-arn",
            &topic,
            "events/",
        ])
        .envs(emulator_env(&moto.endpoint))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Expected: records whose findings reach medium (the default --alert-min-severity).
    let expected = String::from_utf8(out.stdout)
        .unwrap()
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
    assert!(expected > 20, "{expected}");
    assert!(
        stderr.contains(&format!("{expected} alert(s) published to SNS, 0 failed")),
        "{stderr}"
    );
    assert_eq!(
        drain(&cfg, &queue, expected, Duration::from_secs(30))
            .await
            .len(),
        expected
    );

    // A topic that does not exist: every alert reported, exit status 1.
    let out = std::process::Command::new(&bin)
        .args([
            "replay",
            "--sns-topic-arn",
            "arn:aws:sns:us-east-1:123456789012:gone",
            "events/rules/root-console-login-nomfa.json",
        ])
        .envs(emulator_env(&moto.endpoint))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .contains("alert not published (events/rules/root-console-login-nomfa.json: record 0"),
        "{stderr}"
    );
    // One sentence that says what to do (src/aws/errors.rs), no SDK internals.
    assert!(
        stderr.contains("publishing to SNS: it does not exist: check the name"),
        "{stderr}"
    );
    assert!(!stderr.contains("ServiceError"), "{stderr}");
}

#[tokio::test]
#[ignore = "needs moto_server and cargo-lambda; run make test"]
async fn the_binary_under_cargo_lambda_publishes_alerts() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "lambda", true).await;
    let mut env = emulator_env(&moto.endpoint);
    env.push(("SNS_TOPIC_ARN", topic.clone()));
    env.push(("AWS_LAMBDA_LOG_FORMAT", "JSON".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let watch = LambdaWatch::start(&env);
    // EventBridge payload, as the rule invokes the function.
    let (status, body) = watch.invoke(
        "rootwatch",
        &sample("events/rules/root-console-login-nomfa.json"),
    );
    assert_eq!(status, 200, "{body}\n{}", watch.log());
    assert_eq!(body.trim(), "{}");
    // SQS payload whose body is an EventBridge event.
    let payload = serde_json::json!({"Records": [
        {"messageId": "m1", "body": sample("events/root-only-task/root-access-key.json"), "eventSource": "aws:sqs"},
        {"messageId": "m2", "body": sample("events/principals/iam_user.json"), "eventSource": "aws:sqs"},
    ]})
    .to_string();
    let (status, body) = watch.invoke("rootwatch", &payload);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        serde_json::json!({"batchItemFailures": []})
    );
    // Garbage of the right syntax is acknowledged, not retried.
    let (status, body) = watch.invoke("rootwatch", r#"{"hello": "world"}"#);
    assert_eq!((status, body.trim()), (200, "{}"));
    let got = drain(&cfg, &queue, 2, WAIT).await;
    assert_eq!(got.len(), 2, "{}", watch.log());
    let rules: Vec<String> = got.iter().map(|m| attr(m, "severity").unwrap()).collect();
    assert!(rules.contains(&"critical".to_owned()), "{rules:?}");
    let log = watch.log();
    assert!(
        log.contains("CloudWatchMetrics"),
        "EMF metrics in the log:\n{log}"
    );
}

#[tokio::test]
#[ignore = "needs moto_server and cargo-lambda; run make test"]
async fn binary_with_sessions_table_attributes_across_invocations() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "sessions", true).await;
    let db = support::sessions_table(&cfg, "rootwatch-sessions").await;
    let mut env = emulator_env(&moto.endpoint);
    env.push(("SNS_TOPIC_ARN", topic.clone()));
    env.push(("SESSIONS_TABLE", "rootwatch-sessions".into()));
    env.push(("WATCHED_ROLES", "arn:aws:iam::*:role/BreakGlass*".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let watch = LambdaWatch::start(&env);
    for name in ["AssumeRoot", "DeleteBucketPolicy"] {
        let (status, body) = watch.invoke(
            "rootwatch",
            &support::sequence_event("sso-assumeroot", name),
        );
        assert_eq!((status, body.trim()), (200, "{}"), "{}", watch.log());
    }
    let got = drain(&cfg, &queue, 2, WAIT).await;
    assert_eq!(got.len(), 2, "{}", watch.log());
    let docs: Vec<Value> = got
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    let member = docs
        .iter()
        .find(|d| d["event_name"] == "DeleteBucketPolicy")
        .expect("the member-account alert");
    assert_eq!(member["principal"]["class"], "root_session");
    assert_eq!(
        member["origin"]["arn"],
        "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane.doe@example.com"
    );
    // The session went through the table, not only the instance's memory.
    let item = db
        .get_item()
        .table_name("rootwatch-sessions")
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("session#ASIAROOTSEQ1EXAMPLE1".into()),
        )
        .send()
        .await
        .unwrap();
    assert!(item.item().is_some(), "{}", watch.log());
    assert!(
        watch.log().contains("rootwatch-sessions"),
        "the init log names the table"
    );
}
