//! One sentence for every AWS error a user can meet: what went wrong and what to do, instead of
//! the SDK's nested `DispatchFailure(ConnectorError { ... })`. Used for S3, SNS and DynamoDB
//! (and any other SDK client: [`explain`] is generic over the operation's error type).

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use std::error::Error;

/// What kind of failure an SDK error is, from its variant, service code and HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// No region in the environment or the profile.
    /// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html>
    NoRegion,
    /// No credentials found by the default chain.
    /// <https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html>
    NoCredentials,
    /// Credentials found but rejected (unknown key, bad signature, expired token).
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot.html>
    BadCredentials,
    /// 403 / AccessDenied / AuthorizationError (SNS) / AccessDeniedException (DynamoDB).
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>
    /// <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>
    /// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>
    AccessDenied,
    /// NoSuchBucket, NoSuchKey, NotFound (SNS topic), ResourceNotFoundException (DynamoDB).
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>
    NotFound,
    /// The endpoint could not be reached (refused, DNS, TLS, timeout).
    /// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>
    Unreachable,
    /// No answer within the client's timeouts.
    /// <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/timeouts.html>
    TimedOut,
    /// Throttling or a 5xx answer.
    Throttled,
    /// Anything else the service answered.
    Other,
}

/// Sorts an SDK error into a [`Cause`].
pub fn cause<E, R>(err: &SdkError<E, R>) -> Cause
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let text = chain_text(err);
    let lower = text.to_ascii_lowercase();
    if lower.contains("region must be set") || lower.contains("no region") {
        return Cause::NoRegion;
    }
    if lower.contains("no credentials")
        || lower.contains("credentials provider")
        || lower.contains("loading credentials")
        || lower.contains("failed to load credentials")
    {
        return Cause::NoCredentials;
    }
    match err {
        SdkError::ServiceError(se) => by_code(se.err().code().unwrap_or_default(), &text),
        SdkError::TimeoutError(_) => Cause::TimedOut,
        SdkError::DispatchFailure(d) if d.is_timeout() => Cause::TimedOut,
        SdkError::DispatchFailure(_) => Cause::Unreachable,
        SdkError::ResponseError(_) => Cause::Other,
        _ => Cause::Other,
    }
}

fn by_code(code: &str, text: &str) -> Cause {
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "AuthorizationError"
        | "Forbidden"
        | "AllAccessDisabled" => Cause::AccessDenied,
        "NoSuchBucket"
        | "NoSuchKey"
        | "NotFound"
        | "NotFoundException"
        | "ResourceNotFoundException" => Cause::NotFound,
        "InvalidAccessKeyId"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "UnrecognizedClientException"
        | "InvalidToken" => Cause::BadCredentials,
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "ProvisionedThroughputExceededException"
        | "InternalError"
        | "ServiceUnavailable" => Cause::Throttled,
        _ if text.contains("status code: 403") || text.contains("403 Forbidden") => {
            Cause::AccessDenied
        }
        _ => Cause::Other,
    }
}

/// The error and its sources, joined (what the SDK knows, for sorting only).
fn chain_text(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// One sentence: `doing` (e.g. "listing s3://bucket/prefix/"), what failed, what to do. The
/// service's own code and message are kept in brackets when it answered; nothing else of the SDK.
pub fn explain<E, R>(err: &SdkError<E, R>, doing: &str) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let what = match cause(err) {
        Cause::NoRegion => "no AWS region is set: set AWS_REGION (e.g. AWS_REGION=us-east-1) or a region in your AWS profile".to_owned(),
        Cause::NoCredentials => "no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`".to_owned(),
        Cause::BadCredentials => "AWS rejected the credentials (unknown, expired or mistyped): refresh them (`aws sso login`, new keys) and check AWS_PROFILE".to_owned(),
        Cause::AccessDenied => "access denied: the credentials in use lack the permission for this call; grant it to that principal or use another profile".to_owned(),
        Cause::NotFound => "it does not exist: check the name, the account and the region (AWS_REGION)".to_owned(),
        Cause::Unreachable => {
            let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
            match endpoint {
                Some(e) => format!("the endpoint {} could not be reached: check AWS_ENDPOINT_URL and that the service is running", crate::core::sanitize::clean(&e, 200)),
                None => "the AWS endpoint could not be reached: check the network, a proxy, AWS_REGION and AWS_ENDPOINT_URL".to_owned(),
            }
        }
        Cause::TimedOut => "no answer within the client's timeout: the endpoint is slow or unreachable; try again, check the network and AWS_ENDPOINT_URL".to_owned(),
        Cause::Throttled => "AWS is throttling or failing the requests: try again in a few minutes".to_owned(),
        Cause::Other => "the call failed: check the name, the region and the permissions".to_owned(),
    };
    let detail = match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!(" ({c}: {m})"),
                (Some(c), None) => format!(" ({c})"),
                (None, Some(m)) => format!(" ({m})"),
                (None, None) => String::new(),
            }
        }
        _ => String::new(),
    };
    let sentence = if doing.is_empty() {
        format!("{what}{detail}")
    } else {
        format!("{doing}: {what}{detail}")
    };
    crate::core::sanitize::clean(&sentence, 600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_are_sorted() {
        assert_eq!(by_code("NoSuchBucket", ""), Cause::NotFound);
        assert_eq!(by_code("NotFound", ""), Cause::NotFound);
        assert_eq!(by_code("ResourceNotFoundException", ""), Cause::NotFound);
        assert_eq!(by_code("AuthorizationError", ""), Cause::AccessDenied);
        assert_eq!(by_code("AccessDeniedException", ""), Cause::AccessDenied);
        assert_eq!(by_code("InvalidClientTokenId", ""), Cause::BadCredentials);
        assert_eq!(by_code("SlowDown", ""), Cause::Throttled);
        assert_eq!(by_code("Whatever", ""), Cause::Other);
    }
}
