//! An S3 Batch Operations invocation (schema 1.0 and 2.0) and the response it expects. Pure.

use super::notification::str_at;
use crate::core::sanitize::clean;
use crate::input::s3_keys::{decode_key, ObjectRef};
use serde_json::{json, Value};

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
