//! The S3 adapter: which objects a notification names, which keys are CloudTrail log files, and
//! reading an object as a stream of records.
//!
//! - [`notice`] reads the notification shapes that name objects: an S3 event notification, an
//!   EventBridge "Object Created" event, CloudTrail's own delivery notification, and the SNS
//!   envelope around either of the last two kinds. [`BatchJob`] is an S3 Batch Operations
//!   invocation and its response. All pure.
//! - [`key_kind`] and [`key_day`] judge a key by its name, so that digest files, other files and
//!   (for a backfill) objects outside a date range are never downloaded.
//! - [`ObjectSource`] is the one call the function makes (`GetObject`), with the real
//!   `aws-sdk-s3` client ([`S3Objects`]) and a hand-written fake ([`FakeObjects`]) behind it.
//! - [`feed`], [`decoder`] and [`learn`] stream an object: its body goes chunk by chunk to a
//!   blocking thread that gunzips it into [`input::decode_stream`], and the records come back in
//!   small batches through a bounded channel. Memory does not grow with the object: a few chunks
//!   and a batch are in flight, plus what `decode_stream` keeps (at most [`input::SLURP_LIMIT`]).

use crate::core::sanitize::{clean, MAX_FIELD};
use crate::core::session::SessionTracker;
use crate::input::{self, DecodeError, Item, Stop};
use crate::replay::DIGEST_MARKER;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io::{self, Read};
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Longest key shown in logs, errors and reports (S3 keys are at most 1,024 bytes).
pub const MAX_KEY: usize = 1024;

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub bucket: String,
    /// The key as stored (already URL-decoded where the notification encodes it).
    pub key: String,
    pub version_id: Option<String>,
}

impl ObjectRef {
    pub fn new(bucket: &str, key: &str) -> ObjectRef {
        ObjectRef {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id: None,
        }
    }

    /// `s3://bucket/key`, sanitised: bucket and key come from notifications anyone who can write
    /// to the bucket (or send to the queue) chooses.
    pub fn url(&self) -> String {
        format!(
            "s3://{}/{}",
            clean(&self.bucket, MAX_FIELD),
            clean(&self.key, MAX_KEY)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// What a key is, judged by its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A CloudTrail log file (`*.json.gz`, or `*.json`).
    Log,
    /// A CloudTrail digest file: it holds hashes, no records.
    /// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html>
    Digest,
    /// Anything else (folders, manifests, other files).
    Other,
}

/// CloudTrail names log files `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html>
pub fn key_kind(key: &str) -> KeyKind {
    let name = key.rsplit('/').next().unwrap_or(key);
    if name.contains(DIGEST_MARKER) {
        KeyKind::Digest
    } else if name.ends_with(".json.gz") || name.ends_with(".json") {
        KeyKind::Log
    } else {
        KeyKind::Other
    }
}

/// A UTC calendar day, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Day> {
        let mut parts = s.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        Day::of(y, m, d)
    }

    fn of(y: &str, m: &str, d: &str) -> Option<Day> {
        let num = |s: &str| -> Option<i64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let t = crate::core::time::epoch(num(y)?, num(m)?, num(d)?, 0, 0, 0)?;
        Some(Day(t.div_euclid(86_400)))
    }
}

/// The day in a CloudTrail key's date path:
/// `[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE`. That is the day
/// (UTC) the file was delivered; a file can hold records written at any time before.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-find-log-files.html>
pub fn key_day(key: &str) -> Option<Day> {
    let parts: Vec<&str> = key.split('/').collect();
    (1..parts.len()).find_map(|i| {
        let account = parts[i - 1];
        if !parts[i].starts_with("CloudTrail")
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        // REGION, YYYY, MM, DD, and a file name after them.
        let rest = parts.get(i + 1..i + 6)?;
        if rest[0].is_empty() || rest[4].is_empty() || rest[1].len() != 4 {
            return None;
        }
        if rest[2].len() != 2 || rest[3].len() != 2 {
            return None;
        }
        Day::of(rest[1], rest[2], rest[3])
    })
}

/// Inclusive `--since` / `--until` days; `None` ends are open.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayRange {
    pub since: Option<Day>,
    pub until: Option<Day>,
}

impl DayRange {
    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    pub fn contains(&self, day: Day) -> bool {
        self.since.is_none_or(|s| day >= s) && self.until.is_none_or(|u| day <= u)
    }
}

/// What a backfill listing selected, and what it left out.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Selection {
    /// Log files to read: (key, size in bytes), in listing order.
    pub selected: Vec<(String, u64)>,
    pub digests: u64,
    /// Keys that are not log files (`*.json.gz`, `*.json`).
    pub other: u64,
    /// Keys whose date path is outside the range.
    pub outside: u64,
    /// Keys without a CloudTrail date path, when a range was given.
    pub undated: u64,
}

impl Selection {
    /// Sorts one listed key: outside the range (or undated, with a range) first, then by name.
    pub fn add(&mut self, key: &str, size: u64, range: &DayRange) {
        if !range.is_open() {
            match key_day(key) {
                None => {
                    self.undated += 1;
                    return;
                }
                Some(d) if !range.contains(d) => {
                    self.outside += 1;
                    return;
                }
                Some(_) => {}
            }
        }
        match key_kind(key) {
            KeyKind::Digest => self.digests += 1,
            KeyKind::Other => self.other += 1,
            KeyKind::Log => self.selected.push((key.to_owned(), size)),
        }
    }
}

/// `s3://bucket/prefix`: a bucket and a key prefix (possibly empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    /// `None` unless `s` starts with `s3://` and names a bucket.
    pub fn parse(s: &str) -> Option<S3Url> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "s3://{}/{}",
            clean(&self.bucket, MAX_FIELD),
            clean(&self.prefix, MAX_KEY)
        )
    }
}

/// Decodes a key as S3 event notifications encode it (`application/x-www-form-urlencoded`:
/// `+` for a space, `%XX` for a byte). A malformed escape is kept as it is.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>
pub fn decode_key(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Notifications

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

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
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
    // SNS → SQS without raw delivery: the message is the `Message` string of an envelope.
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
        if !str_at(r, &["eventName"]).is_some_and(|n| n.starts_with("ObjectCreated:")) {
            ignored += 1;
            continue;
        }
        match (
            str_at(r, &["s3", "bucket", "name"]),
            str_at(r, &["s3", "object", "key"]),
        ) {
            (Some(b), Some(k)) if !b.is_empty() && !k.is_empty() => objects.push(ObjectRef {
                bucket: b.to_owned(),
                key: decode_key(k),
                version_id: str_at(r, &["s3", "object", "versionId"])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
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
/// `detail.object.key`). The key is given as stored: the page documents no encoding, unlike
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
/// keys as stored.
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

// ---------------------------------------------------------------------------------------------
// S3 Batch Operations

/// An S3 Batch Operations invocation (schema 1.0 or 2.0).
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-invoke-lambda.html>
#[derive(Debug, Clone, PartialEq)]
pub struct BatchJob {
    pub schema: String,
    pub invocation_id: String,
    pub tasks: Vec<BatchTask>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchTask {
    pub task_id: String,
    /// The object, or why the task does not name one.
    pub object: Result<ObjectRef, String>,
}

/// A task's result code.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-invoke-lambda.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultCode {
    Succeeded,
    /// Batch Operations invokes the function again for the task.
    TemporaryFailure,
    PermanentFailure,
}

impl ResultCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Succeeded => "Succeeded",
            ResultCode::TemporaryFailure => "TemporaryFailure",
            ResultCode::PermanentFailure => "PermanentFailure",
        }
    }
}

/// Reads a Batch Operations invocation: `None` when the payload is not one. Schema 1.0 names
/// the bucket by `s3BucketArn`, 2.0 by `s3Bucket`; keys are URL-encoded as in the manifest
/// (the AWS examples decode them with `unquote_plus`).
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_LambdaInvokeOperation.html>
pub fn batch_job(payload: &str) -> Option<BatchJob> {
    if !payload.contains("\"invocationSchemaVersion\"") {
        return None;
    }
    let v: Value = serde_json::from_str(payload).ok()?;
    let schema = str_at(&v, &["invocationSchemaVersion"])?.to_owned();
    let invocation_id = str_at(&v, &["invocationId"]).unwrap_or_default().to_owned();
    let tasks = v
        .get("tasks")?
        .as_array()?
        .iter()
        .map(|t| {
            let bucket = str_at(t, &["s3Bucket"])
                .filter(|b| !b.is_empty())
                .or_else(|| {
                    // arn:aws:s3:::bucket (bucket names have no ':')
                    str_at(t, &["s3BucketArn"]).and_then(|a| a.rsplit(':').next())
                })
                .filter(|b| !b.is_empty());
            let key = str_at(t, &["s3Key"]).filter(|k| !k.is_empty());
            let object = match (bucket, key) {
                (Some(b), Some(k)) => Ok(ObjectRef {
                    bucket: b.to_owned(),
                    key: decode_key(k),
                    version_id: str_at(t, &["s3VersionId"])
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                }),
                (None, _) => Err("the task names no bucket (s3Bucket or s3BucketArn)".to_owned()),
                (_, None) => Err("the task names no key (s3Key)".to_owned()),
            };
            BatchTask {
                task_id: str_at(t, &["taskId"]).unwrap_or_default().to_owned(),
                object,
            }
        })
        .collect();
    Some(BatchJob {
        schema,
        invocation_id,
        tasks,
    })
}

impl BatchJob {
    /// The documented response: one result per task, in order. Tasks left without a result
    /// would count as permanent failures (`treatMissingKeysAs`), but every task gets one.
    pub fn response(&self, results: &[(ResultCode, String)]) -> Value {
        let results: Vec<Value> = self
            .tasks
            .iter()
            .zip(results)
            .map(|(t, (code, text))| {
                json!({
                    "taskId": t.task_id,
                    "resultCode": code.as_str(),
                    "resultString": clean(text, 300),
                })
            })
            .collect();
        json!({
            "invocationSchemaVersion": self.schema,
            "treatMissingKeysAs": ResultCode::PermanentFailure.as_str(),
            "invocationId": self.invocation_id,
            "results": results,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Reading objects

/// Why an object could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// `NoSuchKey` (404). Without `s3:ListBucket`, which the function does not have, S3
    /// answers a missing key with 403 instead.
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>
    #[error("not found: {0}")]
    NotFound(String),
    #[error("access denied: {0}")]
    Denied(String),
    /// Throttling, 5xx, timeouts, connection errors: worth trying again later.
    #[error("{0} (retryable)")]
    Retryable(String),
    #[error("{0}")]
    Permanent(String),
}

impl ObjectError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ObjectError::Retryable(_))
    }
}

/// An object's body, chunk by chunk.
pub struct Body(BodyInner);

enum BodyInner {
    Sdk(aws_sdk_s3::primitives::ByteStream),
    Chunks(VecDeque<Result<Vec<u8>, ObjectError>>),
}

impl Body {
    /// A body made of these chunks (fakes and tests).
    pub fn from_chunks(chunks: impl IntoIterator<Item = Result<Vec<u8>, ObjectError>>) -> Body {
        Body(BodyInner::Chunks(chunks.into_iter().collect()))
    }

    pub fn from_sdk(stream: aws_sdk_s3::primitives::ByteStream) -> Body {
        Body(BodyInner::Sdk(stream))
    }

    /// The next chunk; `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, ObjectError>> {
        match &mut self.0 {
            BodyInner::Chunks(c) => c.pop_front(),
            BodyInner::Sdk(s) => s.next().await.map(|r| {
                r.map(Vec::from).map_err(|e| {
                    ObjectError::Retryable(format!(
                        "reading the body failed: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    ))
                })
            }),
        }
    }
}

/// Where objects are read from: `GetObject`, nothing else.
pub trait ObjectSource: Send + Sync {
    fn get(&self, obj: &ObjectRef) -> impl Future<Output = Result<Body, ObjectError>> + Send;
}

/// The real thing. The SDK retries throttling, 5xx and timeouts itself (standard mode); what
/// still fails is classified by [`classify`].
#[derive(Clone, Debug)]
pub struct S3Objects {
    pub client: aws_sdk_s3::Client,
}

impl ObjectSource for S3Objects {
    async fn get(&self, obj: &ObjectRef) -> Result<Body, ObjectError> {
        self.client
            .get_object()
            .bucket(&obj.bucket)
            .key(&obj.key)
            .set_version_id(obj.version_id.clone())
            .send()
            .await
            .map(|out| Body::from_sdk(out.body))
            .map_err(classify)
    }
}

/// [`S3Objects`] built on first use. Building an SDK client parses its endpoint rules; the
/// function builds the S3 client only when an S3 notification arrives, so an instance that only
/// sees EventBridge events does not pay for it at start-up.
pub struct LazyS3Objects {
    make: Box<dyn Fn() -> aws_sdk_s3::Client + Send + Sync>,
    built: std::sync::OnceLock<S3Objects>,
}

impl LazyS3Objects {
    pub fn new(make: impl Fn() -> aws_sdk_s3::Client + Send + Sync + 'static) -> Self {
        LazyS3Objects {
            make: Box::new(make),
            built: std::sync::OnceLock::new(),
        }
    }
}

impl ObjectSource for LazyS3Objects {
    async fn get(&self, obj: &ObjectRef) -> Result<Body, ObjectError> {
        let objects = self.built.get_or_init(|| S3Objects {
            client: (self.make)(),
        });
        objects.get(obj).await
    }
}

impl S3Objects {
    /// Lists `url` (ListObjectsV2, every page) and sorts each key into `selection`.
    pub async fn list(
        &self,
        url: &S3Url,
        range: &DayRange,
        selection: &mut Selection,
    ) -> Result<u64, ObjectError> {
        let mut token: Option<String> = None;
        let mut listed = 0;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&url.bucket)
                .prefix(&url.prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(classify)?;
            for o in page.contents() {
                if let Some(key) = o.key() {
                    listed += 1;
                    let size = o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
                    selection.add(key, size, range);
                }
            }
            match (page.is_truncated(), page.next_continuation_token()) {
                (Some(true), Some(t)) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(listed),
            }
        }
    }
}

/// Sorts an SDK error into [`ObjectError`]: 404 / `NoSuchKey`, 403 / `AccessDenied`,
/// throttling, 5xx and transport errors (retryable), the rest (permanent).
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>
pub fn classify<E, R>(e: aws_sdk_s3::error::SdkError<E, R>) -> ObjectError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HasStatus,
{
    use aws_sdk_s3::error::SdkError;
    let text = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
    let text = clean(&text, 500);
    match &e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status_code();
            let code = se.err().code().unwrap_or_default();
            if code == "NoSuchKey" || code == "NoSuchBucket" || status == 404 {
                ObjectError::NotFound(text)
            } else if code == "AccessDenied" || status == 403 {
                ObjectError::Denied(text)
            } else if status == 429
                || status >= 500
                || matches!(
                    code,
                    "SlowDown" | "Throttling" | "ThrottlingException" | "RequestTimeout"
                )
            {
                ObjectError::Retryable(text)
            } else {
                ObjectError::Permanent(text)
            }
        }
        SdkError::ConstructionFailure(_) => ObjectError::Permanent(text),
        _ => ObjectError::Retryable(text),
    }
}

/// The HTTP status of a raw response (lets [`classify`] take any SDK response type).
pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// A source with no client: every read fails (permanently). The function always has a client;
/// this is the default of [`crate::aws::function::Handler`] for callers that read no objects.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObjects;

impl ObjectSource for NoObjects {
    async fn get(&self, _obj: &ObjectRef) -> Result<Body, ObjectError> {
        Err(ObjectError::Permanent(
            "this function was built without an S3 client".into(),
        ))
    }
}

type FakeKey = (String, String);

/// A hand-written fake: objects in memory, served in small chunks; errors on demand; every
/// request remembered.
#[derive(Debug, Default)]
pub struct FakeObjects {
    objects: Mutex<HashMap<FakeKey, Vec<u8>>>,
    /// `get` fails with this error.
    failing: Mutex<HashMap<FakeKey, ObjectError>>,
    /// The body fails with this error after this many bytes.
    broken: Mutex<HashMap<FakeKey, (usize, ObjectError)>>,
    gets: Mutex<Vec<String>>,
}

impl FakeObjects {
    /// Chunk size of the bodies served.
    pub const CHUNK: usize = 1000;

    pub fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        lock(&self.objects).insert((bucket.into(), key.into()), bytes);
    }
    pub fn fail(&self, bucket: &str, key: &str, e: ObjectError) {
        lock(&self.failing).insert((bucket.into(), key.into()), e);
    }
    pub fn break_after(&self, bucket: &str, key: &str, bytes: usize, e: ObjectError) {
        lock(&self.broken).insert((bucket.into(), key.into()), (bytes, e));
    }
    /// Every `get` so far, as `bucket/key`.
    pub fn gets(&self) -> Vec<String> {
        lock(&self.gets).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ObjectSource for FakeObjects {
    async fn get(&self, obj: &ObjectRef) -> Result<Body, ObjectError> {
        let k = (obj.bucket.clone(), obj.key.clone());
        lock(&self.gets).push(format!("{}/{}", obj.bucket, obj.key));
        if let Some(e) = lock(&self.failing).get(&k) {
            return Err(e.clone());
        }
        let Some(bytes) = lock(&self.objects).get(&k).cloned() else {
            return Err(ObjectError::NotFound(format!("{}/{}", obj.bucket, obj.key)));
        };
        let broken = lock(&self.broken).get(&k).cloned();
        let mut chunks: Vec<Result<Vec<u8>, ObjectError>> = Vec::new();
        let mut sent = 0;
        for c in bytes.chunks(Self::CHUNK) {
            if let Some((limit, e)) = &broken {
                if sent + c.len() > *limit {
                    chunks.push(Ok(c[..limit - sent].to_vec()));
                    chunks.push(Err(e.clone()));
                    return Ok(Body::from_chunks(chunks));
                }
            }
            sent += c.len();
            chunks.push(Ok(c.to_vec()));
        }
        Ok(Body::from_chunks(chunks))
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming

/// Chunks in flight between the body and the decoder thread.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Batches of records in flight between the decoder thread and the caller.
const BATCHES_IN_FLIGHT: usize = 2;
/// Records per batch, and bytes of JSON per batch, at most (roughly).
const BATCH_RECORDS: usize = 256;
const BATCH_BYTES: usize = 1 << 20;

/// How feeding a body ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fed {
    /// Bytes received (compressed, as stored).
    pub bytes: u64,
    /// The body failed part way (the decoder saw an I/O error then).
    pub error: Option<ObjectError>,
}

/// What the decoder hands over, owned (it crosses threads).
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Record { index: u64, json: String },
    NotCloudTrail { index: u64, detail_type: String },
    Bad { index: u64, reason: String },
}

/// A `Read` over the chunks sent by [`feed`]; used on a blocking thread only.
pub struct ChunkReader {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(Ok(c)) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The sending half of a decoder's input.
pub type ChunkSender = mpsc::Sender<io::Result<Vec<u8>>>;

fn chunk_channel() -> (ChunkSender, ChunkReader) {
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    (
        tx,
        ChunkReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        },
    )
}

/// Sends `body` to a decoder chunk by chunk, waiting while the decoder is behind. Stops early
/// when the decoder is gone. A failing body is passed on as an I/O error and reported.
pub async fn feed(mut body: Body, tx: ChunkSender) -> Fed {
    let mut fed = Fed::default();
    while let Some(chunk) = body.next_chunk().await {
        match chunk {
            Ok(c) => {
                fed.bytes += c.len() as u64;
                if tx.send(Ok(c)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
                fed.error = Some(e);
                break;
            }
        }
    }
    fed
}

/// A decoder thread and its ends: send chunks to `input`, receive batches from `output`, and
/// await `done` for how decoding ended (`Err` for a corrupt object).
pub struct Decoder {
    pub input: ChunkSender,
    pub output: mpsc::Receiver<Vec<Decoded>>,
    pub done: tokio::task::JoinHandle<Result<(), DecodeError>>,
}

/// Starts decoding on a blocking thread: gunzip (by magic bytes) → [`input::decode_stream`].
/// The records read before an error are all handed over before `done` reports it.
pub fn decoder() -> Decoder {
    let (input, reader) = chunk_channel();
    let (tx, output) = mpsc::channel::<Vec<Decoded>>(BATCHES_IN_FLIGHT);
    let done = tokio::task::spawn_blocking(move || {
        let mut batch: Vec<Decoded> = Vec::with_capacity(BATCH_RECORDS);
        let mut size = 0;
        let result = {
            let mut sink = |item: Item<'_>| -> Result<(), Stop> {
                let d = match item {
                    Item::Record { index, json, .. } => {
                        size += json.len();
                        Decoded::Record {
                            index,
                            json: json.to_owned(),
                        }
                    }
                    Item::NotCloudTrail { index, detail_type } => {
                        Decoded::NotCloudTrail { index, detail_type }
                    }
                    Item::Bad { index, reason } => Decoded::Bad { index, reason },
                };
                batch.push(d);
                if batch.len() >= BATCH_RECORDS || size >= BATCH_BYTES {
                    size = 0;
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_RECORDS));
                    tx.blocking_send(full)
                        .map_err(|_| Stop(io::Error::other("the reader of the records is gone")))?;
                }
                Ok(())
            };
            input::maybe_gunzip(reader)
                .map_err(DecodeError::Io)
                .and_then(|r| input::decode_stream(r, &mut sink))
        };
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        result
    });
    Decoder {
        input,
        output,
        done,
    }
}

/// Pass 1 over an object: the sessions its records issue ([`crate::replay::learn_record`] on
/// each record, on a blocking thread). Decoding errors are left to pass 2. `None` if the
/// decoder thread died.
pub async fn learn(body: Body, name: String, capacity: usize) -> (Option<SessionTracker>, Fed) {
    let (tx, reader) = chunk_channel();
    let thread = tokio::task::spawn_blocking(move || {
        let mut tracker = SessionTracker::new(capacity);
        let mut sink = |item: Item<'_>| -> Result<(), Stop> {
            if let Item::Record { index, json, .. } = item {
                crate::replay::learn_record(json, &name, index, &mut tracker);
            }
            Ok(())
        };
        let _ = input::maybe_gunzip(reader)
            .map_err(DecodeError::Io)
            .and_then(|r| input::decode_stream(r, &mut sink));
        tracker
    });
    let fed = feed(body, tx).await;
    (thread.await.ok(), fed)
}

/// Downloads an object to `path` as stored (compressed), chunk by chunk. Returns its size.
pub async fn download(
    source: &impl ObjectSource,
    obj: &ObjectRef,
    path: &std::path::Path,
) -> Result<u64, ObjectError> {
    use std::io::Write;
    let mut body = source.get(obj).await?;
    let local = |e: io::Error| ObjectError::Permanent(format!("{}: {e}", path.display()));
    let mut file = io::BufWriter::new(std::fs::File::create(path).map_err(local)?);
    let mut size = 0;
    while let Some(chunk) = body.next_chunk().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        file.write_all(&chunk).map_err(local)?;
    }
    file.flush().map_err(local)?;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(n: Notice) -> Vec<String> {
        match n {
            Notice::Objects { objects, .. } => objects
                .iter()
                .map(|o| format!("{}/{}", o.bucket, o.key))
                .collect(),
            other => vec![format!("{other:?}")],
        }
    }

    macro_rules! notices {
        ($name:ident, $body:expr, $want:expr) => {
            #[test]
            fn $name() {
                let want: Vec<&str> = $want;
                assert_eq!(objects(notice($body)), want);
            }
        };
    }

    notices!(
        s3_notification,
        r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/x.json.gz"}}}]}"#,
        vec!["b/AWSLogs/x.json.gz"]
    );
    notices!(
        s3_key_decoded,
        r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"my+logs/a%2Bb%3D.json"}}}]}"#,
        vec!["b/my logs/a+b=.json"]
    );
    notices!(
        s3_removed_ignored,
        r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#,
        vec![]
    );
    notices!(
        s3_test_event,
        r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2025-01-01T00:00:00.000Z","Bucket":"b"}"#,
        vec![r#"Ignored("s3:TestEvent")"#]
    );
    notices!(
        eventbridge_object_created,
        r#"{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"my+key.json","size":5}}}"#,
        vec!["b/my+key.json"]
    );
    notices!(
        eventbridge_object_deleted_ignored,
        r#"{"detail-type":"Object Deleted","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}"#,
        vec![]
    );
    notices!(
        eventbridge_cloudtrail_s3_call_is_not_s3,
        r#"{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"eventName":"PutObject","eventSource":"s3.amazonaws.com"}}"#,
        vec!["NotS3"]
    );
    notices!(
        cloudtrail_raw,
        r#"{"s3Bucket":"b","s3ObjectKey":["AWSLogs/1.json.gz","AWSLogs/2.json.gz"]}"#,
        vec!["b/AWSLogs/1.json.gz", "b/AWSLogs/2.json.gz"]
    );
    notices!(
        sns_cloudtrail,
        r#"{"Type" : "Notification","MessageId":"m","Message" : "{\"s3Bucket\":\"b\",\"s3ObjectKey\":[\"AWSLogs/k+1.json.gz\"]}"}"#,
        vec!["b/AWSLogs/k+1.json.gz"]
    );
    notices!(
        sns_s3_notification,
        r#"{"Type":"Notification","Message":"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"a+b\"}}}]}"}"#,
        vec!["b/a b"]
    );
    notices!(
        sns_test_event,
        r#"{"Type":"Notification","Message":"{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\"}"}"#,
        vec![r#"Ignored("s3:TestEvent")"#]
    );
    notices!(
        sns_other_message_is_read_inside,
        r#"{"Type":"Notification","Message":"{\"eventName\":\"ConsoleLogin\"}"}"#,
        vec![r#"Inner("{\"eventName\":\"ConsoleLogin\"}")"#]
    );
    notices!(
        sns_confirmation,
        r#"{"Type":"SubscriptionConfirmation","SubscribeURL":"https://x"}"#,
        vec![r#"Ignored("SNS SubscriptionConfirmation")"#]
    );
    notices!(
        eventbridge_cloudtrail_event,
        r#"{"detail-type":"AWS API Call via CloudTrail","source":"aws.signin","detail":{"eventName":"ConsoleLogin"}}"#,
        vec!["NotS3"]
    );
    notices!(
        cloudtrail_log_file,
        r#"{"Records":[{"eventSource":"iam.amazonaws.com","eventName":"CreateUser"}]}"#,
        vec!["NotS3"]
    );
    notices!(not_json, "{not json \"aws:s3\"", vec!["NotS3"]);
    notices!(array, r#"[{"eventSource":"aws:s3"}]"#, vec!["NotS3"]);
    notices!(
        s3_entry_without_key_is_bad,
        r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]}"#,
        vec![]
    );

    #[test]
    fn counts_of_ignored_and_bad_entries() {
        let n = notice(
            r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete"},{"eventSource":"aws:s3","eventName":"ObjectCreated:Copy","s3":{"bucket":{"name":7}}}]}"#,
        );
        assert_eq!(
            n,
            Notice::Objects {
                via: "s3",
                objects: vec![],
                ignored: 1,
                bad: 1
            }
        );
        let n = notice(r#"{"s3Bucket":"b","s3ObjectKey":["k",5,""]}"#);
        assert!(matches!(n, Notice::Objects { bad: 2, .. }), "{n:?}");
    }

    macro_rules! decodes {
        ($name:ident, $input:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(decode_key($input), $want);
            }
        };
    }

    decodes!(plus_is_space, "a+b", "a b");
    decodes!(percent_escapes, "a%2Bb%20c%3D%2F", "a+b c=/");
    decodes!(utf8_escapes, "caf%C3%A9", "café");
    decodes!(bad_escape_kept, "100%zz%4", "100%zz%4");
    decodes!(
        plain_kept,
        "AWSLogs/o-a1b2/1.json.gz",
        "AWSLogs/o-a1b2/1.json.gz"
    );
    decodes!(invalid_utf8_replaced, "%FF", "\u{fffd}");

    macro_rules! kinds {
        ($name:ident, $key:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(key_kind($key), $want);
            }
        };
    }

    kinds!(log_gz, "AWSLogs/111122223333/CloudTrail/us-east-1/2025/03/14/111122223333_CloudTrail_us-east-1_20250314T0000Z_abc.json.gz", KeyKind::Log);
    kinds!(log_plain, "x/y.json", KeyKind::Log);
    kinds!(digest, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/03/14/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20250314T000000Z.json.gz", KeyKind::Digest);
    kinds!(
        folder_marker,
        "AWSLogs/111122223333/CloudTrail/",
        KeyKind::Other
    );
    kinds!(
        other_file,
        "AWSLogs/111122223333/CloudTrail/us-east-1/2025/03/14/notes.txt",
        KeyKind::Other
    );
    kinds!(jsonl_not_a_log, "a/b.jsonl.gz", KeyKind::Other);
    kinds!(name_only_counts, "x.json.gz/readme", KeyKind::Other);

    fn day(s: &str) -> Option<Day> {
        Day::parse(s)
    }

    macro_rules! days {
        ($name:ident, $key:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(key_day($key), $want.and_then(day));
            }
        };
    }

    days!(
        org_trail,
        "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/2025/03/14/f.json.gz",
        Some("2025-03-14")
    );
    days!(
        account_trail_with_prefix,
        "my/prefix/AWSLogs/111122223333/CloudTrail/us-east-1/2024/02/29/f.json.gz",
        Some("2024-02-29")
    );
    days!(
        digest_path_dated_too,
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/02/f.json.gz",
        Some("2025-01-02")
    );
    days!(
        invalid_date,
        "AWSLogs/111122223333/CloudTrail/us-east-1/2025/02/30/f.json.gz",
        None::<&str>
    );
    days!(
        no_file_after_date,
        "AWSLogs/111122223333/CloudTrail/us-east-1/2025/02/03/",
        None::<&str>
    );
    days!(
        short_account,
        "AWSLogs/11112222333/CloudTrail/us-east-1/2025/02/03/f.json.gz",
        None::<&str>
    );
    days!(no_date_path, "logs/f.json.gz", None::<&str>);
    days!(
        one_digit_month,
        "AWSLogs/111122223333/CloudTrail/us-east-1/2025/2/03/f.json.gz",
        None::<&str>
    );

    #[test]
    fn day_parse_is_strict() {
        assert_eq!(Day::parse("1970-01-02"), Some(Day(1)));
        for bad in [
            "2025-1-01",
            "2025-13-01",
            "25-01-01",
            "2025-01-01x",
            "2025/01/01",
            "",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn selection_filters_by_date_then_name() {
        let range = DayRange {
            since: day("2025-03-12"),
            until: day("2025-03-13"),
        };
        let mut s = Selection::default();
        let base = "AWSLogs/o-x/111122223333";
        for (key, size) in [
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/11/a.json.gz"),
                1,
            ),
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/12/b.json.gz"),
                2,
            ),
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/13/c.json.gz"),
                3,
            ),
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/14/d.json.gz"),
                4,
            ),
            (
                format!(
                    "{base}/CloudTrail-Digest/us-east-1/2025/03/12/x_CloudTrail-Digest_y.json.gz"
                ),
                5,
            ),
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/12/notes.txt"),
                6,
            ),
            ("elsewhere/e.json.gz".to_owned(), 7),
        ] {
            s.add(&key, size, &range);
        }
        assert_eq!(
            s.selected,
            vec![
                (
                    format!("{base}/CloudTrail/us-east-1/2025/03/12/b.json.gz"),
                    2
                ),
                (
                    format!("{base}/CloudTrail/us-east-1/2025/03/13/c.json.gz"),
                    3
                )
            ]
        );
        assert_eq!((s.digests, s.other, s.outside, s.undated), (1, 1, 2, 1));
        // Without a range nothing is dated out.
        let mut open = Selection::default();
        open.add("elsewhere/e.json.gz", 7, &DayRange::default());
        assert_eq!(open.selected.len(), 1);
    }

    #[test]
    fn s3_urls() {
        let u = S3Url::parse("s3://bucket/AWSLogs/o-1/").unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.prefix.as_str()),
            ("bucket", "AWSLogs/o-1/")
        );
        assert_eq!(S3Url::parse("s3://bucket").unwrap().prefix, "");
        assert_eq!(S3Url::parse("s3:///x"), None);
        assert_eq!(S3Url::parse("logs/x"), None);
        assert_eq!(
            ObjectRef::new("b", "k\u{1b}[31m").url(),
            "s3://b/k\\u{1b}[31m",
            "keys are sanitised"
        );
    }

    #[test]
    fn batch_jobs_of_both_schemas() {
        let v1 = r#"{"invocationSchemaVersion":"1.0","invocationId":"inv","job":{"id":"j"},"tasks":[{"taskId":"t1","s3Key":"a+b%2Fc.json.gz","s3VersionId":null,"s3BucketArn":"arn:aws:s3:::logs"}]}"#;
        let job = batch_job(v1).unwrap();
        assert_eq!(job.schema, "1.0");
        assert_eq!(
            job.tasks[0].object,
            Ok(ObjectRef::new("logs", "a b/c.json.gz"))
        );
        let v2 = r#"{"invocationSchemaVersion":"2.0","invocationId":"inv","job":{"id":"j","userArguments":{}},"tasks":[{"taskId":"t1","s3Key":"k.json","s3VersionId":"v1","s3Bucket":"logs2"},{"taskId":"t2","s3Bucket":"logs2"}]}"#;
        let job = batch_job(v2).unwrap();
        let mut want = ObjectRef::new("logs2", "k.json");
        want.version_id = Some("v1".into());
        assert_eq!(job.tasks[0].object, Ok(want));
        assert!(job.tasks[1].object.is_err());
        let resp = job.response(&[
            (ResultCode::Succeeded, "ok".into()),
            (ResultCode::PermanentFailure, "line\nbreak".into()),
        ]);
        assert_eq!(
            resp,
            json!({"invocationSchemaVersion": "2.0", "treatMissingKeysAs": "PermanentFailure", "invocationId": "inv",
                "results": [{"taskId": "t1", "resultCode": "Succeeded", "resultString": "ok"},
                            {"taskId": "t2", "resultCode": "PermanentFailure", "resultString": "line\\u{a}break"}]})
        );
        assert_eq!(batch_job(r#"{"Records":[]}"#), None);
        assert_eq!(batch_job(r#"{"invocationSchemaVersion":"1.0"}"#), None);
    }

    fn gz(text: &str) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    async fn decode_all(body: Body) -> (Vec<Decoded>, Fed, Result<(), String>) {
        let mut d = decoder();
        let consume = async {
            let mut all = Vec::new();
            while let Some(batch) = d.output.recv().await {
                all.extend(batch);
            }
            all
        };
        let (fed, all) = tokio::join!(feed(body, d.input), consume);
        let done = d.done.await.unwrap().map_err(|e| e.to_string());
        (all, fed, done)
    }

    #[tokio::test]
    async fn streams_a_gzip_object_in_order() {
        let records: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"eventName":"E{i}","eventID":"{i}"}}"#))
            .collect();
        let bytes = gz(&format!(r#"{{"Records":[{}]}}"#, records.join(",")));
        let n = bytes.len() as u64;
        let body = Body::from_chunks(bytes.chunks(100).map(|c| Ok(c.to_vec())));
        let (all, fed, done) = decode_all(body).await;
        assert_eq!(done, Ok(()));
        assert_eq!(
            fed,
            Fed {
                bytes: n,
                error: None
            }
        );
        assert_eq!(all.len(), 1000);
        assert_eq!(
            all[999],
            Decoded::Record {
                index: 999,
                json: records[999].clone()
            }
        );
    }

    #[tokio::test]
    async fn a_failing_body_is_reported_as_the_source_error() {
        let bytes = gz(r#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#);
        let body = Body::from_chunks([
            Ok(bytes[..10].to_vec()),
            Err(ObjectError::Retryable("connection reset".into())),
        ]);
        let (_, fed, done) = decode_all(body).await;
        assert_eq!(
            fed.error,
            Some(ObjectError::Retryable("connection reset".into()))
        );
        assert!(done.is_err());
    }

    #[tokio::test]
    async fn a_corrupt_object_hands_over_what_came_before() {
        let body = Body::from_chunks([Ok(br#"{"Records":[{"eventName":"A"},{oops"#.to_vec())]);
        let (all, fed, done) = decode_all(body).await;
        assert_eq!(fed.error, None);
        assert_eq!(all.len(), 1);
        assert!(done.unwrap_err().contains("record 1"));
        // Truncated gzip.
        let bytes = gz(r#"{"Records":[{"eventName":"A"}]}"#);
        let body = Body::from_chunks([Ok(bytes[..bytes.len() - 12].to_vec())]);
        let (_, _, done) = decode_all(body).await;
        assert!(done.is_err());
    }

    #[tokio::test]
    async fn learn_finds_the_sessions_an_object_issues() {
        let text = std::fs::read_to_string(
            "events/sessions/user-role-chain/111122223333_CloudTrail_us-east-1_20261120T0900Z_c.json",
        )
        .unwrap();
        let (t, fed) = learn(Body::from_chunks([Ok(gz(&text))]), "x".into(), 10).await;
        assert_eq!(fed.error, None);
        assert!(!t.unwrap().is_empty());
        let (t, _) = learn(
            Body::from_chunks([Ok(gz(r#"{"Records":[]}"#))]),
            "x".into(),
            10,
        )
        .await;
        assert!(t.unwrap().is_empty());
    }

    #[tokio::test]
    async fn fake_serves_chunks_and_fails_on_demand() {
        let f = FakeObjects::default();
        f.put("b", "k", vec![7; 2500]);
        f.break_after("b", "k", 1500, ObjectError::Retryable("reset".into()));
        let mut body = f.get(&ObjectRef::new("b", "k")).await.unwrap();
        let mut got = Vec::new();
        while let Some(c) = body.next_chunk().await {
            got.push(c.map(|c| c.len()));
        }
        assert_eq!(
            got,
            vec![
                Ok(1000),
                Ok(500),
                Err(ObjectError::Retryable("reset".into()))
            ]
        );
        f.fail("b", "x", ObjectError::Denied("no".into()));
        assert!(matches!(
            f.get(&ObjectRef::new("b", "x")).await,
            Err(ObjectError::Denied(_))
        ));
        assert!(matches!(
            f.get(&ObjectRef::new("b", "y")).await,
            Err(ObjectError::NotFound(_))
        ));
        assert_eq!(f.gets(), vec!["b/k", "b/x", "b/y"]);
    }

    #[tokio::test]
    async fn download_writes_the_object_as_stored() {
        let f = FakeObjects::default();
        f.put("b", "k", vec![1; 2100]);
        let dir = std::env::temp_dir().join(format!("rootwatch-s3-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        assert_eq!(
            download(&f, &ObjectRef::new("b", "k"), &path).await,
            Ok(2100)
        );
        assert_eq!(std::fs::read(&path).unwrap(), vec![1; 2100]);
        assert!(download(&f, &ObjectRef::new("b", "missing"), &path)
            .await
            .is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The function on S3 input, with the fake source and the fake publisher: dispatch, failure
/// policy, counts.
#[cfg(test)]
mod function_tests {
    use super::*;
    use crate::aws::function::{Config, Counts, Handler};
    use crate::aws::sns::FakePublisher;
    use crate::aws::store::MemoryStore;

    const LOGIN: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2026-11-23T04:12:09Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"ID","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#;
    const KEY: &str = "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/11/23/111122223333_CloudTrail_us-east-1_20261123T0415Z_a.json.gz";

    fn login(id: &str) -> String {
        LOGIN.replace("\"ID\"", &format!("{id:?}"))
    }

    fn log(records: &[String]) -> Vec<u8> {
        let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn function(objects: FakeObjects) -> Handler<FakePublisher, MemoryStore, FakeObjects> {
        let config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
        Handler::new(config, FakePublisher::default()).with_objects(objects)
    }

    fn sqs(bodies: &[(&str, &str)]) -> String {
        let records: Vec<Value> = bodies
            .iter()
            .map(|(id, body)| json!({"messageId": id, "body": body, "eventSource": "aws:sqs"}))
            .collect();
        json!({ "Records": records }).to_string()
    }

    fn notification(key: &str) -> String {
        json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "trail"}, "object": {"key": key}}}]})
        .to_string()
    }

    async fn run(
        h: &Handler<FakePublisher, MemoryStore, FakeObjects>,
        payload: &str,
    ) -> (Value, Counts) {
        let (r, c) = h.handle_counted(payload).await;
        (r.expect("not retried"), c)
    }

    #[tokio::test]
    async fn every_envelope_reads_its_object() {
        for (name, body) in [
            ("s3 notification", notification(KEY)),
            ("eventbridge", json!({"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {"name": "trail"}, "object": {"key": KEY}}}).to_string()),
            ("cloudtrail raw", json!({"s3Bucket": "trail", "s3ObjectKey": [KEY]}).to_string()),
            ("sns cloudtrail", json!({"Type": "Notification", "Message": json!({"s3Bucket": "trail", "s3ObjectKey": [KEY]}).to_string()}).to_string()),
        ] {
            let f = FakeObjects::default();
            f.put("trail", KEY, log(&[login("e1")]));
            let h = function(f);
            let (out, c) = run(&h, &sqs(&[("m", &body)])).await;
            assert_eq!(out, json!({"batchItemFailures": []}), "{name}");
            assert_eq!((c.objects_read, c.records, c.alerts_published), (1, 1, 1), "{name}");
            assert_eq!(h.objects.gets().len(), 2, "{name}: two passes, two GETs");
        }
    }

    #[tokio::test]
    async fn direct_notification_and_the_test_event() {
        let f = FakeObjects::default();
        f.put("trail", "a b/x.json", log(&[login("e1")]));
        let h = function(f);
        let (out, c) = run(&h, &notification("a+b/x.json")).await;
        assert_eq!((out, c.objects_read), (json!({}), 1));
        assert_eq!(h.objects.gets(), vec!["trail/a b/x.json"; 2]);
        let (out, c) = run(
            &h,
            r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"trail"}"#,
        )
        .await;
        assert_eq!((out, c.notifications_ignored, c.records), (json!({}), 1, 0));
    }

    #[tokio::test]
    async fn names_decide_what_is_downloaded() {
        let h = function(FakeObjects::default());
        let digest = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/23/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261123T041500Z.json.gz";
        let body = json!({"s3Bucket": "trail", "s3ObjectKey": [digest, "AWSLogs/manifest.csv"]})
            .to_string();
        let (out, c) = run(&h, &sqs(&[("m", &body)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.objects_skipped, c.object_errors), (2, 0));
        assert!(h.objects.gets().is_empty());
    }

    #[tokio::test]
    async fn confirmations_and_other_s3_events_are_acknowledged_and_counted() {
        let h = function(FakeObjects::default());
        let removed = notification(KEY).replace("ObjectCreated:Put", "ObjectRemoved:Delete");
        let confirmation = json!({"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"}).to_string();
        let (out, c) = run(&h, &sqs(&[("a", &removed), ("b", &confirmation)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.notifications_ignored, c.records), (2, 0));
        assert!(h.objects.gets().is_empty());
    }

    #[tokio::test]
    async fn log_buckets_refuses_other_buckets_without_a_get() {
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&[login("e1")]));
        let mut h = function(f);
        h.config.log_buckets = Some(vec!["org-trail".into()]);
        let (out, c) = run(&h, &sqs(&[("m", &notification(KEY))])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.objects_refused, c.records), (1, 0));
        assert!(h.objects.gets().is_empty());
        assert_eq!(h.publisher.calls(), 0);
        let job = json!({"invocationSchemaVersion": "2.0", "invocationId": "i", "job": {"id": "j"},
            "tasks": [{"taskId": "1", "s3Key": KEY, "s3Bucket": "trail"}]});
        let (out, _) = run(&h, &job.to_string()).await;
        assert_eq!(out["results"][0]["resultCode"], "PermanentFailure");
        assert_eq!(
            out["results"][0]["resultString"],
            "the bucket is not in LOG_BUCKETS"
        );
    }

    #[tokio::test]
    async fn failure_policy() {
        let retry = ObjectError::Retryable("SlowDown".into());
        for (name, setup, failed, errors, retries) in [
            ("throttled", (Some(retry.clone()), None), true, 0, 1),
            (
                "denied",
                (Some(ObjectError::Denied("no".into())), None),
                false,
                1,
                0,
            ),
            (
                "missing",
                (Some(ObjectError::NotFound("k".into())), None),
                false,
                1,
                0,
            ),
            ("reset mid-body", (None, Some(retry.clone())), true, 0, 1),
        ] {
            let f = FakeObjects::default();
            f.put("trail", KEY, log(&[login("e1"), login("e2"), login("e3")]));
            let (fail, broken) = setup;
            if let Some(e) = fail {
                f.fail("trail", KEY, e);
            }
            if let Some(e) = broken {
                f.break_after("trail", KEY, 40, e);
            }
            let h = function(f);
            let (out, c) = run(&h, &sqs(&[("m", &notification(KEY)), ("ok", r#"{"x":1}"#)])).await;
            let want = if failed {
                json!({"batchItemFailures": [{"itemIdentifier": "m"}]})
            } else {
                json!({"batchItemFailures": []})
            };
            assert_eq!(out, want, "{name}");
            assert_eq!(
                (c.object_errors, c.object_retries),
                (errors, retries),
                "{name}"
            );
            // Direct invocation: retried by failing; acknowledged otherwise.
            let (r, _) = h.handle_counted(&notification(KEY)).await;
            assert_eq!(r.is_err(), failed, "{name}");
        }
    }

    #[tokio::test]
    async fn corrupt_objects_are_acknowledged_and_the_next_read() {
        let f = FakeObjects::default();
        let whole = log(&[login("e1"), login("e2")]);
        f.put("trail", KEY, whole[..whole.len() - 10].to_vec());
        let other = KEY.replace("_a.json.gz", "_b.json.gz");
        f.put("trail", &other, log(&[login("e3")]));
        let h = function(f);
        let body = json!({"s3Bucket": "trail", "s3ObjectKey": [KEY, other]}).to_string();
        let (out, c) = run(&h, &sqs(&[("m", &body)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.object_errors, c.objects_read), (1, 1));
        assert!(h
            .publisher
            .published()
            .iter()
            .any(|a| a.event_id.as_deref() == Some("e3")));
    }

    #[tokio::test]
    async fn a_failed_publish_returns_the_message_and_a_retry_alerts_once() {
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&[login("e1"), login("e2")]));
        let h = function(f);
        h.publisher.fail_with(Some("throttled"));
        let payload = sqs(&[("m", &notification(KEY))]);
        let (out, c) = run(&h, &payload).await;
        assert_eq!(out, json!({"batchItemFailures": [{"itemIdentifier": "m"}]}));
        assert_eq!((c.publish_failures, c.object_retries), (2, 1));
        h.publisher.fail_with(None);
        let (out, c) = run(&h, &payload).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!(c.alerts_published, 2);
        let (_, c) = run(&h, &payload).await;
        assert_eq!((c.alerts_published, c.duplicates_skipped), (0, 2));
    }

    #[tokio::test]
    async fn one_object_named_twice_in_a_batch_is_read_once() {
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&[login("e1")]));
        let h = function(f);
        let (_, c) = run(
            &h,
            &sqs(&[("a", &notification(KEY)), ("b", &notification(KEY))]),
        )
        .await;
        assert_eq!((c.objects_read, c.objects_skipped), (1, 1));
        assert_eq!(h.objects.gets().len(), 2);
    }

    #[tokio::test]
    async fn sessions_in_an_object_attribute_its_records_whatever_the_order() {
        // A use of the key comes before the AssumeRole that issued it.
        let dir = "events/sessions/user-role-chain";
        let mut recs: Vec<Value> = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            recs.extend(v["Records"].as_array().unwrap().iter().cloned());
        }
        recs.reverse();
        let texts: Vec<String> = recs.iter().map(Value::to_string).collect();
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&texts));
        let config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
        let shared = MemoryStore::default();
        let h = Handler::with_store(config, FakePublisher::default(), Some(shared)).with_objects(f);
        let (r, c) = h.handle_counted(&notification(KEY)).await;
        r.unwrap();
        assert!(c.sessions_learned >= 2, "{c:?}");
        assert!(c.records_with_origin >= 2, "{c:?}");
        // Learned into the shared store too, for the other instances.
        let shared = h.shared.as_ref().unwrap();
        let t = shared.tracker.lock().unwrap();
        assert_eq!(t.len() as u64, c.sessions_learned);
    }

    #[tokio::test]
    async fn batch_operations_answer_per_task() {
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&[login("e1")]));
        f.fail(
            "trail",
            "AWSLogs/slow.json.gz",
            ObjectError::Retryable("503".into()),
        );
        let h = function(f);
        let job = json!({"invocationSchemaVersion": "1.0", "invocationId": "i", "job": {"id": "j"}, "tasks": [
            {"taskId": "1", "s3Key": KEY, "s3BucketArn": "arn:aws:s3:::trail"},
            {"taskId": "2", "s3Key": "AWSLogs/slow.json.gz", "s3BucketArn": "arn:aws:s3:::trail"},
            {"taskId": "3", "s3Key": "AWSLogs/x.json.gz", "s3BucketArn": "arn:aws:s3:::trail"},
            {"taskId": "4", "s3Key": "AWSLogs/readme.txt", "s3BucketArn": "arn:aws:s3:::trail"},
            {"taskId": "5", "s3BucketArn": "arn:aws:s3:::trail"}]});
        let (out, _) = run(&h, &job.to_string()).await;
        let codes: Vec<&str> = out["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resultCode"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "Succeeded",
                "TemporaryFailure",
                "PermanentFailure",
                "Succeeded",
                "PermanentFailure"
            ]
        );
        assert_eq!(
            out["results"][3]["resultString"],
            "skipped: not a log file (*.json.gz, *.json)"
        );
    }

    #[tokio::test]
    async fn eventbridge_bodies_keep_their_path() {
        let h = function(FakeObjects::default());
        let event = json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.signin",
            "detail": serde_json::from_str::<Value>(&login("e1")).unwrap()})
        .to_string();
        let (out, c) = run(&h, &sqs(&[("m", &event)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.records, c.alerts_published), (1, 1));
        assert!(h.objects.gets().is_empty());
        let line = crate::aws::function::emf(&c, 0);
        assert!(
            !line.contains("ObjectsRead"),
            "no S3 metrics without S3: {line}"
        );
    }

    #[tokio::test]
    async fn an_sns_envelope_around_an_eventbridge_event_is_read_inside() {
        let h = function(FakeObjects::default());
        let event = json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.signin",
            "detail": serde_json::from_str::<Value>(&login("e1")).unwrap()})
        .to_string();
        let envelope = json!({"Type": "Notification", "Message": event}).to_string();
        let (out, c) = run(&h, &sqs(&[("m", &envelope)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.records, c.alerts_published), (1, 1));
        let (out, c) = run(&h, &envelope).await;
        assert_eq!((out, c.records, c.duplicates_skipped), (json!({}), 1, 1));
    }

    #[test]
    fn emf_has_object_metrics_when_objects_were_touched() {
        let c = Counts {
            objects_read: 2,
            object_bytes: 2048,
            ..Counts::default()
        };
        let v: Value = serde_json::from_str(&crate::aws::function::emf(&c, 0)).unwrap();
        assert_eq!(v["ObjectsRead"], 2);
        assert_eq!(v["ObjectBytes"], 2048);
        let defs = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert!(defs.contains(&json!({"Name": "ObjectBytes", "Unit": "Bytes"})));
    }

    #[test]
    fn log_buckets_config() {
        let get = |v: &'static str| {
            move |k: &str| match k {
                "SNS_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".to_owned()),
                "LOG_BUCKETS" => Some(v.to_owned()),
                _ => None,
            }
        };
        let c = Config::from_env(get(" org-trail , logs.example-2 ")).unwrap();
        assert_eq!(
            c.log_buckets,
            Some(vec!["org-trail".to_owned(), "logs.example-2".to_owned()])
        );
        assert!(c.reads_bucket("org-trail") && !c.reads_bucket("other"));
        assert_eq!(Config::from_env(get(" ")).unwrap().log_buckets, None);
        assert!(Config::from_env(get("Org_Trail")).is_err());
        assert!(Config::from_env(get("ab")).is_err());
    }
}
