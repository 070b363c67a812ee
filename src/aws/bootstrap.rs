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

/// The invocation's deadline as an [`std::time::Instant`]: `Lambda-Runtime-Deadline-Ms` is the
/// epoch time in milliseconds by which it must end. A value before 2001 is no epoch time:
/// `cargo lambda watch` sends the function's timeout itself (e.g. `600000`), which is taken as
/// the time from now.
/// <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-next>
pub fn deadline_of(raw_ms: u64, now: std::time::SystemTime) -> std::time::Instant {
    const EPOCH_2001_MS: u64 = 978_307_200_000;
    let left = if raw_ms < EPOCH_2001_MS {
        std::time::Duration::from_millis(raw_ms)
    } else {
        (std::time::UNIX_EPOCH + std::time::Duration::from_millis(raw_ms))
            .duration_since(now)
            .unwrap_or_default()
    };
    std::time::Instant::now() + left
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
        // SECURITY_HUB=true: the calling account (sts:GetCallerIdentity needs no permission) and
        // the function's region give the default product the findings go to.
        // <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>
        let hub = if config.security_hub {
            let target = crate::aws::securityhub::target(&sdk).await?;
            tracing::info!(product = %target.product_arn(), "findings also go to Security Hub");
            Some(crate::aws::securityhub::Hub {
                client: crate::aws::securityhub::client(&sdk),
                target,
            })
        } else {
            None
        };
        let auditor = config.audit.clone().map(|opts| {
            Box::new(crate::aws::function::Auditor {
                sdk: sdk.clone(),
                opts,
            })
        });
        let mut handler = Handler::with_store(config, publisher, store).with_objects(objects);
        handler.auditor = auditor;
        if let Some(hub) = hub {
            handler = handler.with_security_hub(hub);
        }
        let handler = &handler;
        lambda_runtime::run(service_fn(
            move |event: LambdaEvent<Box<serde_json::value::RawValue>>| async move {
                let deadline = deadline_of(event.context.deadline, std::time::SystemTime::now());
                handler
                    .handle_until(event.payload.get(), Some(deadline))
                    .await
                    .map_err(lambda_runtime::Error::from)
            },
        ))
        .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    #[test]
    fn the_deadline_is_an_epoch_time_or_the_emulators_timeout() {
        let now = UNIX_EPOCH + Duration::from_secs(1_796_530_785);
        let start = Instant::now();
        let real = deadline_of(1_796_530_785_000 + 30_000, now);
        let left = real.duration_since(start);
        assert!(
            left > Duration::from_secs(29) && left <= Duration::from_secs(31),
            "{left:?}"
        );
        let emulator = deadline_of(600_000, SystemTime::now());
        let left = emulator.duration_since(start);
        assert!(
            left >= Duration::from_secs(599) && left <= Duration::from_secs(601),
            "{left:?}"
        );
        // Past: no time left.
        let past = deadline_of(1_796_530_785_000 - 5_000, now);
        assert!(past.duration_since(start) < Duration::from_secs(1));
    }
}
