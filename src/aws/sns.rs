//! Publishing alerts: the [`Publisher`] trait, the real SNS client behind it, and a hand-written
//! fake for tests. The SDK retries throttling, 5xx and timeouts itself (standard retry mode);
//! what still fails comes back as an error, never swallowed.

use crate::core::alert::{Alert, MAX_MESSAGE_BYTES};
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use std::future::Future;
use std::time::Duration;

/// Bounds on every SNS call. Left alone, the SDK sets only a connect timeout (3.1 s): an
/// endpoint that accepts the connection and never answers holds a publish until Lambda kills
/// the invocation (30 s), which then cannot say which alerts failed.
/// <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/timeouts.html>
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One attempt: SNS answers a publish in tens of milliseconds; 5 s leaves room for a slow
/// moment (and a cold TLS handshake) without waiting on a dead connection.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole call, the SDK's retries (3 attempts, standard mode) included: half the function's
/// 30 s timeout, so that a failed publish is reported (and retried by Lambda or SQS) before the
/// invocation itself times out.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);
/// The optional session table (DynamoDB answers in milliseconds, and the function goes on
/// without it): one attempt 1 s, the whole call 3 s.
pub const STORE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
pub const STORE_OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

/// [`CONNECT_TIMEOUT`], [`ATTEMPT_TIMEOUT`], [`OPERATION_TIMEOUT`].
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// [`CONNECT_TIMEOUT`], [`STORE_ATTEMPT_TIMEOUT`], [`STORE_OPERATION_TIMEOUT`].
pub fn store_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(STORE_ATTEMPT_TIMEOUT)
        .operation_timeout(STORE_OPERATION_TIMEOUT)
        .build()
}

/// The SNS client the binary uses: `sdk` (region, credentials, endpoint) with [`timeouts`].
pub fn client(sdk: &SdkConfig) -> aws_sdk_sns::Client {
    let conf = aws_sdk_sns::config::Builder::from(sdk).timeout_config(timeouts());
    aws_sdk_sns::Client::from_conf(conf.build())
}

/// The DynamoDB client of the session store: `sdk` with [`store_timeouts`].
pub fn store_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk).timeout_config(store_timeouts());
    aws_sdk_dynamodb::Client::from_conf(conf.build())
}

/// `sdk` with its HTTP client's TLS set up at the first request instead of when a client is
/// built. The SDK's default client loads the system's root certificates while a client is built
/// (its `validate_base_client_config`), which is most of the function's start-up. An
/// invocation that publishes nothing never needs them. The connectors are the SDK's own, built
/// on first use and then kept.
/// <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/http.html>
pub fn with_lazy_tls(sdk: &SdkConfig) -> SdkConfig {
    match sdk.http_client() {
        Some(inner) => sdk
            .to_builder()
            .http_client(lazy::LazyTls::shared(inner))
            .build(),
        None => sdk.clone(),
    }
}

/// The SDK configuration from the environment (as `aws_config::load_from_env`), with the SDK's
/// default HTTPS client (hyper 1, rustls with aws-lc) behind the lazy TLS set-up of
/// [`with_lazy_tls`], given to the loader itself: the clients it builds for the credential and
/// region chains then do not load the certificates either. Credentials and region come straight
/// from the variables Lambda sets, when they are set.
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>
pub async fn load_lazy_tls() -> SdkConfig {
    use aws_smithy_http_client::tls;
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(lazy::LazyTls::shared(https));
    // Lambda puts the function's credentials and region in the environment, which is also the
    // first place the default chains look. Taking them from there directly gives the same
    // values without building the other providers at init (STS, SSO, container, IMDS; the STS
    // client alone parses its endpoint partitions): a shorter start-up. Elsewhere (no such
    // variables), the default chains as before.
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
        && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some()
    {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if let Some(region) = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()) {
        loader = loader.region(aws_config::Region::new(region));
    }
    loader.load().await
}

mod lazy {
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use std::sync::OnceLock;

    /// Forwards to `inner`, but asks it for a connector only when a request is made.
    #[derive(Debug)]
    pub struct LazyTls {
        inner: SharedHttpClient,
    }

    impl LazyTls {
        pub fn shared(inner: SharedHttpClient) -> SharedHttpClient {
            SharedHttpClient::new(LazyTls { inner })
        }
    }

    impl HttpClient for LazyTls {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(LazyConnector {
                inner: self.inner.clone(),
                settings: settings.clone(),
                components: components.clone(),
                built: OnceLock::new(),
            })
        }
        // `validate_base_client_config` is not forwarded: that is where the default client
        // loads the certificates eagerly.
    }

    #[derive(Debug)]
    struct LazyConnector {
        inner: SharedHttpClient,
        settings: HttpConnectorSettings,
        components: RuntimeComponents,
        built: OnceLock<SharedHttpConnector>,
    }

    impl HttpConnector for LazyConnector {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            self.built
                .get_or_init(|| self.inner.http_connector(&self.settings, &self.components))
                .call(request)
        }
    }
}

/// PublishBatch takes at most 10 entries, and their total size is limited like one message.
/// <https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html>
pub const MAX_BATCH: usize = 10;

/// A publish that did not go out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("SNS publish failed: {0}")]
pub struct PublishError(pub String);

/// Where alerts go.
pub trait Publisher: Send + Sync {
    /// Publishes one alert.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<(), PublishError>> + Send;

    /// Publishes alerts, in batches; one result per alert, in order.
    fn publish_all(
        &self,
        alerts: &[Alert],
    ) -> impl Future<Output = Vec<Result<(), PublishError>>> + Send;
}

/// The real thing: `aws-sdk-sns` against `topic_arn`.
#[derive(Clone, Debug)]
pub struct SnsPublisher {
    pub client: aws_sdk_sns::Client,
    pub topic_arn: String,
}

fn attributes(alert: &Alert) -> std::collections::HashMap<String, MessageAttributeValue> {
    alert
        .attributes
        .iter()
        .filter_map(|(name, kind, value)| {
            let v = MessageAttributeValue::builder()
                .data_type(*kind)
                .string_value(value)
                .build()
                .ok()?;
            Some((name.to_string(), v))
        })
        .collect()
}

/// One sentence saying what to do ([`crate::aws::errors::explain`]).
fn describe<E, R>(e: aws_sdk_sns::error::SdkError<E, R>) -> PublishError
where
    E: aws_sdk_sns::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    PublishError(crate::aws::errors::explain(&e, "publishing to SNS"))
}

/// Splits alerts into PublishBatch calls: at most [`MAX_BATCH`] entries and
/// [`MAX_MESSAGE_BYTES`] in total each.
pub fn batches(alerts: &[Alert]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, a) in alerts.iter().enumerate() {
        let s = a.size();
        if i > start && (i - start == MAX_BATCH || size + s > MAX_MESSAGE_BYTES) {
            out.push(start..i);
            start = i;
            size = 0;
        }
        size += s;
    }
    if start < alerts.len() {
        out.push(start..alerts.len());
    }
    out
}

impl Publisher for SnsPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message(alert.sns_message())
            .message_structure("json")
            .set_message_attributes(Some(attributes(alert)))
            .send()
            .await
            .map(|_| ())
            .map_err(describe)
    }

    async fn publish_all(&self, alerts: &[Alert]) -> Vec<Result<(), PublishError>> {
        let mut results: Vec<Result<(), PublishError>> = Vec::with_capacity(alerts.len());
        for range in batches(alerts) {
            let chunk = &alerts[range];
            let entries: Result<Vec<_>, _> = chunk
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    PublishBatchRequestEntry::builder()
                        .id(i.to_string())
                        .subject(&a.subject)
                        .message(a.sns_message())
                        .message_structure("json")
                        .set_message_attributes(Some(attributes(a)))
                        .build()
                })
                .collect();
            let sent = match entries {
                Err(e) => Err(PublishError(format!("publishing to SNS: {e}"))),
                Ok(entries) => self
                    .client
                    .publish_batch()
                    .topic_arn(&self.topic_arn)
                    .set_publish_batch_request_entries(Some(entries))
                    .send()
                    .await
                    .map_err(describe),
            };
            match sent {
                Err(e) => results.extend(chunk.iter().map(|_| Err(e.clone()))),
                Ok(out) => {
                    // Each entry must be named in Successful; anything else failed.
                    let mut mine: Vec<Result<(), PublishError>> =
                        vec![Err(PublishError("no result for this entry".into())); chunk.len()];
                    for s in out.successful() {
                        if let Some(i) = s
                            .id()
                            .and_then(|id| id.parse::<usize>().ok())
                            .filter(|i| *i < chunk.len())
                        {
                            mine[i] = Ok(());
                        }
                    }
                    for f in out.failed() {
                        if let Ok(i) = f.id().parse::<usize>() {
                            if i < chunk.len() {
                                mine[i] = Err(PublishError(format!(
                                    "{}: {}",
                                    f.code(),
                                    f.message().unwrap_or("")
                                )));
                            }
                        }
                    }
                    results.extend(mine);
                }
            }
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Severity;

    fn alert(size: usize) -> Alert {
        Alert {
            event_id: None,
            severity: Severity::High,
            subject: "s".into(),
            text: "x".repeat(size),
            document: "{}".into(),
            chat: None,
            attributes: vec![],
        }
    }

    #[test]
    fn clients_have_bounded_timeouts() {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let sns = client(&sdk).config().timeout_config().cloned().unwrap();
        assert_eq!(sns.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(sns.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(sns.operation_timeout(), Some(OPERATION_TIMEOUT));
        let db = store_client(&sdk)
            .config()
            .timeout_config()
            .cloned()
            .unwrap();
        assert_eq!(db.operation_timeout(), Some(STORE_OPERATION_TIMEOUT));
        assert!(
            OPERATION_TIMEOUT < Duration::from_secs(30),
            "under the function's timeout"
        );
    }

    #[test]
    fn batches_cap_count_and_size() {
        let small: Vec<Alert> = (0..25).map(|_| alert(10)).collect();
        assert_eq!(batches(&small), vec![0..10, 10..20, 20..25]);
        let big: Vec<Alert> = (0..3).map(|_| alert(60_000)).collect();
        let b = batches(&big);
        assert!(b.iter().all(|r| big[r.clone()].iter().map(Alert::size).sum::<usize>() <= MAX_MESSAGE_BYTES), "{b:?}");
        assert_eq!(b.iter().map(|r| r.len()).sum::<usize>(), 3);
        assert!(batches(&[]).is_empty());
    }
}
