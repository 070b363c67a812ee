//! The Lambda handler in process, with the hand-written fake publisher: which inputs alert,
//! which are acknowledged, what is retried, duplicates.

mod support;
use support::sqs_event as sqs;

use rootwatch::aws::function::{Config, ConfigError, Handler};
use rootwatch::aws::testing::FakePublisher;
use rootwatch::core::alert::AlertFormat;
use rootwatch::core::model::Severity;
use serde_json::json;

fn handler() -> Handler<FakePublisher> {
    let config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
    Handler::new(config, FakePublisher::default())
}

fn sample(path: &str) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn root_login_publishes_one_alert() {
    let h = handler();
    let out = h
        .handle(&sample("events/rules/root-console-login-nomfa.json"))
        .await
        .unwrap();
    assert_eq!(out, json!({}));
    let sent = h.publisher.published();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].subject.contains("CRITICAL"), "{}", sent[0].subject);
}

#[tokio::test]
async fn benign_events_make_no_call() {
    let h = handler();
    for f in [
        "events/principals/iam_user.json",
        "events/rules/iam-user-console-login.json",
        "events/rules/root-service-invoked.json",
        "events/principals/aws_service_event.json",
    ] {
        h.handle(&sample(f)).await.unwrap();
    }
    assert_eq!(h.publisher.calls(), 0);
}

#[tokio::test]
async fn below_min_severity_makes_no_call() {
    let h = handler();
    h.handle(&sample("events/root-only-task/tax-invoice.json"))
        .await
        .unwrap();
    // root-credential-use is medium (read-only), the tax task is low: one alert at medium.
    assert_eq!(h.publisher.calls(), 1);
    let mut high = handler();
    high.config.min_severity = Severity::High;
    high.handle(&sample("events/root-only-task/tax-invoice.json"))
        .await
        .unwrap();
    assert_eq!(high.publisher.calls(), 0);
}

#[tokio::test]
async fn duplicate_deliveries_publish_once() {
    let h = handler();
    let ev = sample("events/rules/root-console-login-mfa.json");
    for _ in 0..3 {
        h.handle(&ev).await.unwrap();
    }
    assert_eq!(h.publisher.published().len(), 1);
}

#[tokio::test]
async fn failed_publish_is_retryable_and_not_remembered() {
    let h = handler();
    let ev = sample("events/rules/root-console-login-nomfa.json");
    h.publisher.fail_with(Some("ThrottlingException"));
    let err = h.handle(&ev).await.unwrap_err();
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    h.publisher.fail_with(None);
    h.handle(&ev).await.unwrap();
    assert_eq!(h.publisher.published().len(), 1, "the retry publishes");
}

#[tokio::test]
async fn sqs_batch_reports_exactly_the_failed_messages() {
    let h = handler();
    let payload = sqs(&[
        ("m-benign", &sample("events/principals/iam_user.json")),
        (
            "m-root",
            &sample("events/rules/root-console-login-nomfa.json"),
        ),
        ("m-garbage", "this is not json"),
        ("m-root2", &sample("events/principals/root.json")),
    ]);
    h.publisher.fail_with(Some("InternalError"));
    let out = h.handle(&payload).await.unwrap();
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "m-root"}, {"itemIdentifier": "m-root2"}]})
    );
    h.publisher.fail_with(None);
    let out = h.handle(&payload).await.unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(h.publisher.published().len(), 2);
}

#[tokio::test]
async fn odd_inputs_are_acknowledged_without_panic() {
    let h = handler();
    let big = json!({"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "x", "userAgent": "A".repeat(1 << 20)}}).to_string();
    for payload in [
        "{}".to_owned(),
        "[]".to_owned(),
        "42".to_owned(),
        r#"{"foo": [1, 2, 3]}"#.to_owned(),
        r#"{"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {"state": "running"}}"#.to_owned(),
        r#"{"Records": [{"eventSource": "aws:sqs"}]}"#.to_owned(),
        r#"{"Records": "nope"}"#.to_owned(),
        big,
        "[".repeat(10_000),
    ] {
        let out = h.handle(&payload).await;
        assert!(out.is_ok(), "{}: {out:?}", &payload[..payload.len().min(60)]);
    }
    assert_eq!(h.publisher.calls(), 0);
}

#[test]
fn config_is_read_once_into_typed_values() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(Config::from_env(env(&[])), Err(ConfigError::MissingTopic));
    let c = Config::from_env(env(&[
        ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:t"),
        ("MIN_SEVERITY", "HIGH"),
        ("ALERT_FORMAT", "chatbot"),
    ]))
    .unwrap();
    assert_eq!(
        (c.min_severity, c.format),
        (Severity::High, AlertFormat::Chatbot)
    );
    assert!(matches!(
        Config::from_env(env(&[
            ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:t"),
            ("MIN_SEVERITY", "loud")
        ])),
        Err(ConfigError::Invalid {
            name: "MIN_SEVERITY",
            ..
        })
    ));
    assert!(matches!(
        Config::from_env(env(&[("SNS_TOPIC_ARN", "my-topic")])),
        Err(ConfigError::Invalid {
            name: "SNS_TOPIC_ARN",
            ..
        })
    ));
    assert!(ConfigError::MissingTopic
        .to_string()
        .contains("SNS_TOPIC_ARN"));
}

#[test]
fn init_fails_clearly_without_a_topic() {
    assert_cmd::Command::cargo_bin("rootwatch")
        .unwrap()
        .env_remove("SNS_TOPIC_ARN")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:1")
        .env("AWS_LAMBDA_FUNCTION_NAME", "rootwatch")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "init failed: SNS_TOPIC_ARN is not set",
        ));
}
