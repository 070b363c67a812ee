//! The binary as a Lambda function (when `AWS_LAMBDA_RUNTIME_API` is set): configuration and
//! clients built once at init, then the runtime's loop over invocations.

use crate::aws::sns::SnsPublisher;

/// CA bundle files: Amazon Linux 2023 (the `provided.al2023` runtime), then Debian/Ubuntu and
/// Alpine layouts. <https://docs.aws.amazon.com/linux/al2023/ug/ca-certificates.html>
const CA_BUNDLES: &[&str] = &[
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
];

/// The SDK's TLS client loads the system roots when it is built at init. Without
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`, `rustls-native-certs` reads the CA bundle *and* every file of
/// the certificate directory (about 300 files that repeat the bundle): most of our start-up.
/// Pointing `SSL_CERT_FILE` at the bundle loads the same roots once. Runs before any thread is
/// started; a value the deployment sets is kept.
pub fn prefer_ca_bundle() {
    if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
        return;
    }
    if let Some(bundle) = CA_BUNDLES
        .iter()
        .find(|p| std::path::Path::new(p).is_file())
    {
        std::env::set_var("SSL_CERT_FILE", bundle);
    }
}

/// Lambda mode: configuration and the SNS client are built once, at init (TLS at the first
/// request); the S3 client at the first S3 notification.
pub fn run() -> Result<(), lambda_runtime::Error> {
    use crate::aws::function::{Config, Handler};
    use lambda_runtime::{service_fn, LambdaEvent};
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|k| std::env::var(k).ok())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let sdk = crate::aws::sns::load_lazy_tls().await;
        let publisher = SnsPublisher {
            client: crate::aws::sns::client(&sdk),
            topic_arn: config.topic_arn.clone(),
        };
        let store = config
            .sessions_table
            .clone()
            .map(|table| crate::aws::dynamo::DynamoStore {
                client: crate::aws::sns::store_client(&sdk),
                table,
            });
        let objects = {
            let sdk = sdk.clone();
            crate::aws::s3::LazyS3Objects::new(move || crate::aws::s3::client(&sdk))
        };
        tracing::info!(
            topic = %config.topic_arn,
            min_severity = %config.min_severity,
            sessions = config.sessions_table.as_deref().unwrap_or("memory"),
            watched_roles = config.rules.watched_roles.len(),
            trusted_accounts = config.rules.trusted_accounts.len(),
            detector_resources = config.rules.detector_resources.len(),
            log_buckets = %config.log_buckets.as_ref().map_or("any".to_owned(), |b| b.join(",")),
            "rootwatch function ready"
        );
        let handler = Handler::with_store(config, publisher, store).with_objects(objects);
        let handler = &handler;
        lambda_runtime::run(service_fn(
            move |event: LambdaEvent<Box<serde_json::value::RawValue>>| async move {
                // The runtime's deadline (epoch ms) as an Instant: no work is started that
                // could not finish before it.
                let left = event
                    .context
                    .deadline()
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default();
                let deadline = std::time::Instant::now() + left;
                handler
                    .handle_until(event.payload.get(), Some(deadline))
                    .await
                    .map_err(lambda_runtime::Error::from)
            },
        ))
        .await
    })
}
