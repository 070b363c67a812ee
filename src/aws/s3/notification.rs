//! Which objects a notification names: an S3 event notification, an EventBridge "Object
//! Created" event, CloudTrail's own delivery notification, and the SNS envelope around either of
//! the last two kinds. Pure.

use crate::input::s3_keys::{decode_key, ObjectRef};
use aws_lambda_events::s3::S3Entity;
use serde::Deserialize;
use serde_json::Value;

/// What a message (an SQS body, or a direct invocation's payload) is.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// It names objects to read.
    Objects {
        /// The envelope, for logs: `s3`, `eventbridge`, `cloudtrail`, `sns/...`.
        via: &'static str,
        objects: Vec<ObjectRef>,
        /// Entries about something other than a new object (e.g. `ObjectRemoved:*`).
        ignored: u64,
        /// Entries without a bucket or a key.
        bad: u64,
    },
    /// A message to acknowledge and count, e.g. `s3:TestEvent` or an SNS subscription
    /// confirmation.
    Ignored(&'static str),
    /// The `Message` of an SNS envelope that is none of the above: read as the body itself.
    Inner(String),
    /// None of these: the CloudTrail path (EventBridge events, records, log files).
    NotS3,
}

/// Texts one of which every notification shape contains; anything else is not parsed twice.
const MARKERS: &[&str] = &[
    "aws:s3",
    "s3ObjectKey",
    "\"Object ",
    "s3:TestEvent",
    "\"Type\"",
];

pub(super) fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Reads a message that may name S3 objects.
pub fn notice(body: &str) -> Notice {
    if !body.trim_start().starts_with('{') || !MARKERS.iter().any(|m| body.contains(m)) {
        return Notice::NotS3;
    }
    match serde_json::from_str::<Value>(body) {
        Ok(v) => notice_value(&v, true),
        Err(_) => Notice::NotS3,
    }
}

fn notice_value(v: &Value, outer: bool) -> Notice {
    // Sent once when a notification configuration is saved.
    // <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>
    if str_at(v, &["Event"]) == Some("s3:TestEvent") {
        return Notice::Ignored("s3:TestEvent");
    }
    if let Some(n) = s3_notification(v) {
        return n;
    }
    if let Some(n) = eventbridge_object(v) {
        return n;
    }
    if let Some(n) = cloudtrail_notification(v, "cloudtrail") {
        return n;
    }
    // SNS → SQS without raw delivery: the message is the `Message` string of an envelope. Only
    // `Type` and `Message` matter: `aws_lambda_events`' `SnsMessage` also requires the signature
    // fields and a timestamp, and fits neither confirmation messages nor a stripped envelope.
    // <https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html>
    if outer {
        match str_at(v, &["Type"]) {
            Some("Notification") => {
                let Some(message) = str_at(v, &["Message"]) else {
                    return Notice::NotS3;
                };
                return match serde_json::from_str::<Value>(message) {
                    Ok(inner) => match notice_value(&inner, false) {
                        Notice::NotS3 => Notice::Inner(message.to_owned()),
                        Notice::Objects {
                            via,
                            objects,
                            ignored,
                            bad,
                        } => Notice::Objects {
                            via: match via {
                                "s3" => "sns/s3",
                                "cloudtrail" => "sns/cloudtrail",
                                other => other,
                            },
                            objects,
                            ignored,
                            bad,
                        },
                        other => other,
                    },
                    Err(_) => Notice::Inner(message.to_owned()),
                };
            }
            Some("SubscriptionConfirmation") => {
                return Notice::Ignored("SNS SubscriptionConfirmation")
            }
            Some("UnsubscribeConfirmation") => {
                return Notice::Ignored("SNS UnsubscribeConfirmation")
            }
            _ => {}
        }
    }
    Notice::NotS3
}

/// The members of an S3 event notification entry that matter here. `aws_lambda_events`'
/// `S3EventRecord` also requires `eventTime`, `userIdentity` and `requestParameters`, which an
/// entry may lack without its object being unreadable; its `S3Entity` (bucket, object) is used
/// as is.
#[derive(serde::Deserialize)]
struct S3Entry {
    #[serde(rename = "eventName", default)]
    event_name: Option<String>,
    #[serde(default)]
    s3: Option<S3Entity>,
}

/// An S3 event notification: `Records[]` of `eventSource: aws:s3`, keys URL-encoded.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>
fn s3_notification(v: &Value) -> Option<Notice> {
    let records = v.get("Records")?.as_array()?;
    if records.is_empty()
        || !records
            .iter()
            .all(|r| str_at(r, &["eventSource"]) == Some("aws:s3"))
    {
        return None;
    }
    let (mut objects, mut ignored, mut bad) = (Vec::new(), 0, 0);
    for r in records {
        let Ok(entry) = S3Entry::deserialize(r) else {
            bad += 1;
            continue;
        };
        if !entry
            .event_name
            .as_deref()
            .is_some_and(|n| n.starts_with("ObjectCreated:"))
        {
            ignored += 1;
            continue;
        }
        let Some(S3Entity { bucket, object, .. }) = entry.s3 else {
            bad += 1;
            continue;
        };
        match (bucket.name, object.key) {
            (Some(b), Some(k)) if !b.is_empty() && !k.is_empty() => objects.push(ObjectRef {
                bucket: b,
                key: decode_key(&k),
                version_id: object.version_id.filter(|s| !s.is_empty()),
            }),
            _ => bad += 1,
        }
    }
    Some(Notice::Objects {
        via: "s3",
        objects,
        ignored,
        bad,
    })
}

/// An S3 event delivered by EventBridge (`source: aws.s3`, `detail.bucket.name`,
/// `detail.object.key`); `aws_lambda_events` 1.2 has no type for S3's EventBridge events. The key is given as stored: the page documents no encoding, unlike
/// the notification's.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html>
fn eventbridge_object(v: &Value) -> Option<Notice> {
    if str_at(v, &["source"]) != Some("aws.s3") {
        return None;
    }
    let detail = v.get("detail")?;
    detail.get("bucket")?.as_object()?;
    detail.get("object")?.as_object()?;
    if str_at(v, &["detail-type"]) != Some("Object Created") {
        return Some(Notice::Objects {
            via: "eventbridge",
            objects: Vec::new(),
            ignored: 1,
            bad: 0,
        });
    }
    let (objects, bad) = match (
        str_at(detail, &["bucket", "name"]),
        str_at(detail, &["object", "key"]),
    ) {
        (Some(b), Some(k)) if !b.is_empty() && !k.is_empty() => (
            vec![ObjectRef {
                bucket: b.to_owned(),
                key: k.to_owned(),
                version_id: str_at(detail, &["object", "version-id"])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            }],
            0,
        ),
        _ => (Vec::new(), 1),
    };
    Some(Notice::Objects {
        via: "eventbridge",
        objects,
        ignored: 0,
        bad,
    })
}

/// CloudTrail's notification of delivered log files: `{"s3Bucket": ..., "s3ObjectKey": [...]}`,
/// keys as stored (`aws_lambda_events` has no type for it).
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/configure-sns-notifications-for-cloudtrail.html>
fn cloudtrail_notification(v: &Value, via: &'static str) -> Option<Notice> {
    let bucket = str_at(v, &["s3Bucket"])?;
    let keys = v.get("s3ObjectKey")?.as_array()?;
    let (mut objects, mut bad) = (Vec::new(), 0);
    for k in keys {
        match k.as_str() {
            Some(k) if !k.is_empty() && !bucket.is_empty() => {
                objects.push(ObjectRef::new(bucket, k))
            }
            _ => bad += 1,
        }
    }
    Some(Notice::Objects {
        via,
        objects,
        ignored: 0,
        bad,
    })
}
