//! CloudTrail log files in S3: [`ObjectSource`] is the one call the function and the CLI make
//! (`GetObject`), with the real `aws-sdk-s3` client ([`S3Objects`]) behind it; which objects a
//! notification names ([`notification`]), S3 Batch Operations ([`batch`]) and reading an object
//! as a stream of records ([`stream`]).

pub mod batch;
pub mod notification;
pub mod stream;

pub use crate::input::s3_keys::ObjectRef;
pub use batch::{batch_job, BatchJob, BatchTask, ResultCode};
pub use notification::{notice, Notice};
pub use stream::{decoder, download, feed, learn, ChunkReader, ChunkSender, Decoded, Decoder, Fed};

use crate::core::sanitize::clean;
use crate::input::s3_keys::{DayRange, S3Url, Selection};
use std::collections::VecDeque;
use std::future::Future;

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
    R: std::fmt::Debug + HasStatus + 'static,
{
    use aws_sdk_s3::error::SdkError;
    let text = crate::aws::errors::explain(&e, "");
    let text = clean(&text, 600);
    use crate::aws::errors::Cause;
    if matches!(
        crate::aws::errors::cause(&e),
        Cause::NoRegion | Cause::NoCredentials | Cause::BadCredentials
    ) {
        return ObjectError::Permanent(text);
    }
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

/// The S3 client. With an endpoint of its own (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`: an
/// emulator), requests name the bucket in the path, not in the host name, which such an
/// endpoint does not resolve.
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>
pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let own_endpoint =
        sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(own_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

#[cfg(test)]
mod tests;
