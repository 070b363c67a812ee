//! SQS batches: each message is an EventBridge event (read with the others of its batch), an S3
//! notification (its objects read one by one), or the heartbeat; what could not be done is
//! returned in `batchItemFailures` and comes back after the queue's visibility timeout.

use super::{heartbeat, Counts, Handler, Input, Invocation, ObjectOutcome};
use crate::aws::s3::{self, Notice, ObjectRef, ObjectSource};
use crate::aws::sns::Publisher;
use crate::aws::store::SessionStore;
use crate::core::sanitize::clean;
use serde_json::{json, Value};
use std::collections::HashSet;

/// How long an SQS message has been queued: `SentTimestamp` (epoch ms) and
/// `ApproximateReceiveCount` of its attributes.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub sent_ms: Option<i64>,
    pub receives: u32,
}

#[derive(serde::Deserialize)]
struct SqsProbe {
    #[serde(rename = "Records", default)]
    records: Vec<SqsProbeRecord>,
}

#[derive(serde::Deserialize)]
struct SqsProbeRecord {
    #[serde(rename = "eventSource", default)]
    event_source: Option<String>,
}

/// `true` when the payload is an SQS event (`Records[].eventSource == "aws:sqs"`).
pub(super) fn is_sqs(payload: &str) -> bool {
    serde_json::from_str::<SqsProbe>(payload).is_ok_and(|p| {
        !p.records.is_empty()
            && p.records
                .iter()
                .all(|r| r.event_source.as_deref() == Some("aws:sqs"))
    })
}

/// One SQS message: read inline (by index into the inputs), objects to read, a heartbeat, or
/// nothing to do.
pub(super) enum Plan {
    Inline(usize),
    Objects(Vec<ObjectRef>),
    Heartbeat(String, String),
    Done,
}

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    pub(super) async fn handle_sqs(
        &self,
        payload: &str,
        inv: &Invocation,
        counts: &mut Counts,
    ) -> Value {
        let event: aws_lambda_events::sqs::SqsEvent = match serde_json::from_str(payload) {
            Ok(e) => e,
            Err(e) => {
                counts.unreadable_inputs += 1;
                tracing::warn!(error = %e, bytes = payload.len(), "SQS event not understood; acknowledged");
                return json!({ "batchItemFailures": [] });
            }
        };
        // Bodies that name S3 objects are read object by object; the others (EventBridge
        // events, and what an SNS envelope carries) together, as before.
        let notices: Vec<Notice> = event
            .records
            .iter()
            .map(|msg| s3::notice(msg.body.as_deref().unwrap_or("")))
            .collect();
        let mut inputs: Vec<Input> = Vec::new();
        let mut plans: Vec<Plan> = Vec::with_capacity(notices.len());
        for (msg, notice) in event.records.iter().zip(&notices) {
            let id = msg.message_id.as_deref().unwrap_or_default();
            let source = format!("sqs:{}", clean(id, 80));
            let queued = Some(Queued {
                sent_ms: msg
                    .attributes
                    .get("SentTimestamp")
                    .and_then(|v| v.parse().ok()),
                receives: msg
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
            });
            let body = msg.body.as_deref().unwrap_or("");
            let plan = match notice {
                Notice::NotS3 => match heartbeat::heartbeat(body.as_bytes()) {
                    Some((time, rule)) => Plan::Heartbeat(time, rule),
                    None => {
                        inputs.push(Input {
                            source,
                            bytes: body.as_bytes(),
                            queued,
                        });
                        Plan::Inline(inputs.len() - 1)
                    }
                },
                Notice::Inner(message) => {
                    inputs.push(Input {
                        source,
                        bytes: message.as_bytes(),
                        queued,
                    });
                    Plan::Inline(inputs.len() - 1)
                }
                other => Plan::Objects(self.accept(other.clone(), &source, counts)),
            };
            plans.push(match plan {
                Plan::Objects(o) if o.is_empty() => Plan::Done,
                p => p,
            });
        }
        let results = self.process_in(&inputs, inv, counts).await;
        let mut seen = HashSet::new();
        let mut failures = Vec::new();
        for (msg, plan) in event.records.iter().zip(&plans) {
            let id = msg.message_id.clone().unwrap_or_default();
            let failed = match plan {
                Plan::Done => false,
                Plan::Heartbeat(time, rule) => self.beat(time, rule, inv, counts).await.is_err(),
                Plan::Inline(i) => match &results[*i] {
                    Ok(()) => false,
                    Err(e) => {
                        tracing::warn!(message_id = %clean(&id, 80), error = %e, "message returned to the queue");
                        true
                    }
                },
                Plan::Objects(objects) => {
                    let mut failed = false;
                    for obj in objects {
                        if let ObjectOutcome::Failed { retry: true, .. } =
                            self.read_object(obj, &mut seen, inv, counts).await
                        {
                            failed = true;
                        }
                    }
                    if failed {
                        tracing::error!(message_id = %clean(&id, 80), "object not read (or its alerts not published); message returned to the queue");
                    }
                    failed
                }
            };
            if failed {
                failures.push(json!({ "itemIdentifier": id }));
            }
        }
        json!({ "batchItemFailures": failures })
    }
}
