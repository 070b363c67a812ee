//! An S3 Batch Operations invocation (schema 1.0 and 2.0) and the response it expects. Pure.

use crate::core::sanitize::clean;
use crate::input::s3_keys::{decode_key, ObjectRef};
use aws_lambda_events::s3::batch_job::{S3BatchJobEvent, S3BatchJobResponse, S3BatchJobResult};
use serde_json::Value;

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

/// Reads a Batch Operations invocation (`aws_lambda_events`' `S3BatchJobEvent`): `None` when the
/// payload is not one. Schema 1.0 names the bucket by `s3BucketArn`, 2.0 by `s3Bucket` (which the
/// crate's task type keeps among its other fields); keys are URL-encoded as in the manifest (the
/// AWS examples decode them with `unquote_plus`).
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_LambdaInvokeOperation.html>
pub fn batch_job(payload: &str) -> Option<BatchJob> {
    if !payload.contains("\"invocationSchemaVersion\"") {
        return None;
    }
    let event: S3BatchJobEvent = serde_json::from_str(payload).ok()?;
    let schema = event.invocation_schema_version?;
    let tasks = event
        .tasks
        .into_iter()
        .map(|t| {
            let bucket = t
                .other
                .get("s3Bucket")
                .and_then(Value::as_str)
                .filter(|b| !b.is_empty())
                .map(str::to_owned)
                .or_else(|| {
                    // arn:aws:s3:::bucket (bucket names have no ':')
                    t.s3_bucket_arn
                        .as_deref()
                        .and_then(|a| a.rsplit(':').next())
                        .map(str::to_owned)
                })
                .filter(|b| !b.is_empty());
            let key = t.s3_key.as_deref().filter(|k| !k.is_empty());
            let object = match (bucket, key) {
                (Some(bucket), Some(k)) => Ok(ObjectRef {
                    bucket,
                    key: decode_key(k),
                    version_id: t.s3_version_id.filter(|s| !s.is_empty()),
                }),
                (None, _) => Err("the task names no bucket (s3Bucket or s3BucketArn)".to_owned()),
                (_, None) => Err("the task names no key (s3Key)".to_owned()),
            };
            BatchTask {
                task_id: t.task_id.unwrap_or_default(),
                object,
            }
        })
        .collect();
    Some(BatchJob {
        schema,
        invocation_id: event.invocation_id.unwrap_or_default(),
        tasks,
    })
}

impl BatchJob {
    /// The documented response (`S3BatchJobResponse`): one result per task, in order. Tasks
    /// left without a result would count as permanent failures (`treatMissingKeysAs`), but every
    /// task gets one.
    pub fn response(&self, results: &[(ResultCode, String)]) -> Value {
        let mut response = S3BatchJobResponse::default();
        response.invocation_schema_version = Some(self.schema.clone());
        response.treat_missing_keys_as = Some(ResultCode::PermanentFailure.as_str().to_owned());
        response.invocation_id = Some(self.invocation_id.clone());
        response.results = self
            .tasks
            .iter()
            .zip(results)
            .map(|(t, (code, text))| {
                let mut r = S3BatchJobResult::default();
                r.task_id = Some(t.task_id.clone());
                r.result_code = Some(code.as_str().to_owned());
                r.result_string = Some(clean(text, 300));
                r
            })
            .collect();
        serde_json::to_value(response).expect("a batch response serialises")
    }
}
