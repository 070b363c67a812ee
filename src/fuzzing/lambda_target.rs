//! The `lambda` part of the fuzz bodies (see the module above).

use super::*;

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("current-thread runtime");
    }
    RUNTIME.with(|rt| rt.block_on(f))
}

/// Invokes a fresh function (both configurable rules, every severity, in-memory publisher) with
/// one payload; checks every alert it published. Returns the response.
pub(crate) fn invoke(payload: &str, format: AlertFormat) -> Value {
    let mut config = Config::for_topic(TOPIC);
    config.format = format;
    config.min_severity = Severity::Info;
    config.rules = rule_config();
    let h = Handler::new(config, FakePublisher::default());
    let response = block_on(h.handle(payload)).expect("the in-memory publisher never fails");
    let sent = h.publisher.published();
    let mut ids: Vec<&str> = sent.iter().filter_map(|a| a.event_id.as_deref()).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "an event alerted twice");
    for a in &sent {
        check_alert(a, format);
    }
    response
}

pub(crate) fn sqs_message(id: &str, body: &str) -> Value {
    json!({
        "messageId": id, "receiptHandle": "h", "body": body, "attributes": {},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:rootwatch", "awsRegion": "us-east-1"
    })
}

pub(crate) fn eventbridge(detail: Value) -> Value {
    let source = detail
        .get("eventSource")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_suffix(".amazonaws.com"))
        .map_or("aws.cloudtrail".to_owned(), |s| format!("aws.{s}"));
    let detail_type = if detail.get("eventName").and_then(Value::as_str) == Some("ConsoleLogin") {
        "AWS Console Sign In via CloudTrail"
    } else {
        "AWS API Call via CloudTrail"
    };
    json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": detail_type,
        "source": source, "account": detail.get("recipientAccountId").cloned().unwrap_or(Value::Null),
        "time": detail.get("eventTime").cloned().unwrap_or(Value::Null),
        "region": detail.get("awsRegion").cloned().unwrap_or(Value::Null),
        "resources": [], "detail": detail
    })
}

/// Arbitrary bytes as a Lambda payload (an EventBridge event, an SQS batch, anything), as the
/// body of SQS messages (delivered twice), and as the detail of an EventBridge event.
pub fn lambda(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let format = if data.len().is_multiple_of(2) {
        AlertFormat::Standard
    } else {
        AlertFormat::Chatbot
    };
    invoke(text, format);
    let batch = json!({ "Records": [sqs_message("m-1", text), sqs_message("m-2", text)] });
    let response = invoke(&batch.to_string(), format);
    assert_eq!(response, json!({ "batchItemFailures": [] }), "SQS response");
    if let Ok(detail) = serde_json::from_str::<Value>(text) {
        if detail.is_object() {
            invoke(&eventbridge(detail).to_string(), format);
        }
    }
}
