//! The dead man's switch: a scheduled EventBridge rule sends its standard "Scheduled Event"
//! through the same path as CloudTrail events (bus or queue → function → SNS). The function
//! publishes a heartbeat message (attribute `rule` = `heartbeat`, which subscribers filter out)
//! and, once SNS accepted it, counts the `Heartbeat` metric. An alarm on a missing `Heartbeat`
//! (`TreatMissingData: breaching`) notifies a second topic that does not depend on the alert
//! topic's key: a disabled key, a deny policy on the role, a broken queue all silence it.
//!
//! Scheduled rules send `source: aws.events`, `detail-type: Scheduled Event`; `PutEvents`
//! refuses sources that begin with `aws.`, so no one can forge one onto the bus.
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html>
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html>

use super::budget::{Invocation, PUBLISH_BUDGET};
use super::{Counts, Handler};
use crate::aws::s3::ObjectSource;
use crate::aws::sns::{PublishError, Publisher};
use crate::aws::store::SessionStore;
use crate::core::alert::Alert;
use crate::core::model::Severity;
use crate::core::sanitize::clean;
use serde_json::json;

/// The `rule` attribute of heartbeat messages.
pub const HEARTBEAT_RULE: &str = "heartbeat";

#[derive(serde::Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    source: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "detail-type", borrow, default)]
    detail_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    time: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    resources: Vec<std::borrow::Cow<'a, str>>,
}

/// The schedule's event, if `bytes` is one: its time and the rule that sent it.
pub fn heartbeat(bytes: &[u8]) -> Option<(String, String)> {
    let p: Probe = serde_json::from_slice(bytes).ok()?;
    (p.source.as_deref() == Some("aws.events")
        && p.detail_type.as_deref() == Some("Scheduled Event"))
    .then(|| {
        (
            clean(p.time.as_deref().unwrap_or("-"), 40),
            clean(p.resources.first().map_or("-", |r| r.as_ref()), 300),
        )
    })
}

/// The heartbeat message: `info`, `rule` = `heartbeat`, no eventID (never claimed).
pub fn message(time: &str, rule: &str) -> Alert {
    let text = format!(
        "rootwatch heartbeat: the detector received its scheduled event ({time}, {rule}) and published this message. Subscribers filter rule=heartbeat out; the DetectorHealthTopic alarm fires when these stop.\n"
    );
    Alert {
        event_id: None,
        severity: Severity::Info,
        subject: "[rootwatch] heartbeat".to_owned(),
        document: json!({ "heartbeat": { "time": time, "schedule": rule } }).to_string(),
        text,
        chat: None,
        attributes: vec![
            ("severity", "String", "info".to_owned()),
            (
                "severity_level",
                "Number",
                (Severity::Info as u8).to_string(),
            ),
            // A plain String: `anything-but` filters it out alike in SNS and in moto.
            ("rule", "String", HEARTBEAT_RULE.to_owned()),
        ],
    }
}

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    /// Publishes the heartbeat; `Err` (retried like any failed publish) when SNS refused it.
    pub(super) async fn beat(
        &self,
        time: &str,
        rule: &str,
        inv: &Invocation,
        counts: &mut Counts,
    ) -> Result<(), Option<PublishError>> {
        if !inv.can_start(PUBLISH_BUDGET) {
            return Err(None);
        }
        match self.publisher.publish(&message(time, rule)).await {
            Ok(()) => {
                counts.heartbeats += 1;
                tracing::info!(time, "heartbeat published");
                Ok(())
            }
            Err(e) => {
                counts.publish_failures += 1;
                tracing::error!(error = %e, "heartbeat not published: the detector cannot alert");
                Err(Some(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_schedules_event_is_a_heartbeat() {
        let scheduled = br#"{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","account":"111122223333","time":"2026-12-06T03:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:111122223333:rule/rootwatch-heartbeat"],"detail":{}}"#;
        let (time, rule) = heartbeat(scheduled).expect("heartbeat");
        assert_eq!(time, "2026-12-06T03:00:00Z");
        assert!(rule.ends_with("rule/rootwatch-heartbeat"));
        // A custom source cannot pass for it, nor a CloudTrail event.
        let forged = br#"{"detail-type":"Scheduled Event","source":"my.app","detail":{}}"#;
        assert_eq!(heartbeat(forged), None);
        let trail =
            br#"{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{}}"#;
        assert_eq!(heartbeat(trail), None);
        assert_eq!(heartbeat(b"not json"), None);
    }

    #[test]
    fn the_message_is_marked_for_filtering() {
        let m = message("t", "r");
        assert!(m
            .attributes
            .iter()
            .any(|(k, _, v)| *k == "rule" && v == "heartbeat"));
        assert_eq!(m.event_id, None);
    }
}
