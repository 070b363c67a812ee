//! Proves the emulator harness in `tests/support`: moto's SNS → SQS delivery (raw and
//! envelope) and `cargo lambda watch` start-up and shutdown. Run with `make test`.

mod support;

use std::net::TcpStream;
use std::time::Duration;
use support::{drain, process_group_members, sdk_config, topic_with_queue, LambdaWatch, Moto};

#[tokio::test]
#[ignore = "needs moto_server; run make test"]
async fn moto_delivers_sns_to_sqs_raw_and_enveloped() {
    let moto = Moto::start();
    moto.reset();
    let cfg = sdk_config(&moto.endpoint).await;
    let (raw_topic, raw_queue) = topic_with_queue(&cfg, "smoke-raw", true).await;
    let (env_topic, env_queue) = topic_with_queue(&cfg, "smoke-envelope", false).await;

    let sns = aws_sdk_sns::Client::new(&cfg);
    let attr = aws_sdk_sns::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value("root")
        .build()
        .unwrap();
    let message = r#"{"hello":"smoke","n":1}"#;
    for topic in [&raw_topic, &env_topic] {
        sns.publish()
            .topic_arn(topic)
            .subject("smoke test")
            .message(message)
            .message_attributes("kind", attr.clone())
            .send()
            .await
            .expect("sns publish");
    }

    let raw = drain(&cfg, &raw_queue, 1, Duration::from_secs(10)).await;
    assert_eq!(raw.len(), 1, "raw queue: {raw:?}");
    assert_eq!(raw[0].body(), Some(message));
    let kind = raw[0]
        .message_attributes()
        .and_then(|a| a.get("kind"))
        .and_then(|v| v.string_value());
    assert_eq!(kind, Some("root"), "raw delivery keeps message attributes");

    let env = drain(&cfg, &env_queue, 1, Duration::from_secs(10)).await;
    assert_eq!(env.len(), 1, "envelope queue: {env:?}");
    let body: serde_json::Value =
        serde_json::from_str(env[0].body().expect("body")).expect("envelope is JSON");
    assert_eq!(body["Type"], "Notification");
    assert_eq!(body["TopicArn"], env_topic.as_str());
    assert_eq!(body["Message"], message);
    assert_eq!(body["Subject"], "smoke test");
    assert_eq!(body["MessageAttributes"]["kind"]["Type"], "String");
    assert_eq!(body["MessageAttributes"]["kind"]["Value"], "root");

    // Nothing left behind.
    assert!(drain(&cfg, &raw_queue, 0, Duration::ZERO).await.is_empty());
    assert!(drain(&cfg, &env_queue, 0, Duration::ZERO).await.is_empty());
}

#[test]
#[ignore = "needs moto_server; run make test"]
fn lambda_watch_listens_and_its_process_group_stops() {
    let watch = LambdaWatch::start(&[("RUST_LOG", "info")]);
    let pgid = watch.pgid();
    let conn = TcpStream::connect(("127.0.0.1", watch.port));
    assert!(
        conn.is_ok(),
        "port {} refused: {conn:?}; log:\n{}",
        watch.port,
        watch.log()
    );
    drop(conn);
    assert!(
        !process_group_members(pgid).is_empty(),
        "watch should be running"
    );
    let port = watch.port;
    drop(watch);
    let left = process_group_members(pgid);
    assert!(left.is_empty(), "process group {pgid} still has {left:?}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts after drop"
    );
}
