//! Importing findings into AWS Security Hub: `BatchImportFindings` in batches of at most 100,
//! findings that come back in `FailedFindings` (or whose whole call failed) retried a bounded
//! number of times with backoff, then reported. Import is idempotent by `Id`: importing a
//! finding again updates it instead of adding one.
//! <https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html>

use crate::core::asff::{Document, Target};
use aws_config::SdkConfig;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, FindingProviderFields, FindingProviderSeverity, RecordState, Resource,
    Severity, SeverityLabel,
};
use std::time::Duration;

/// At most 100 findings per `BatchImportFindings` request.
/// <https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html>
pub const MAX_BATCH: usize = 100;
/// Attempts per finding (the first one included) before it is reported as failed.
pub const ATTEMPTS: u32 = 3;
/// Backoff before the second attempt; doubled before each further one.
pub const BACKOFF: Duration = Duration::from_millis(200);

/// Why the calling account could not be found.
#[derive(Debug, thiserror::Error)]
pub enum SecurityHubError {
    #[error("could not find the calling AWS account (sts:GetCallerIdentity failed: {0}); check the AWS credentials and AWS_REGION")]
    CallerIdentity(String),
    #[error("no AWS region is configured; set AWS_REGION to the region whose Security Hub receives the findings")]
    NoRegion,
}

/// A finding that was not imported after every attempt: its `Id` and the last reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub id: String,
    pub reason: String,
}

/// The Security Hub client of the binary: `sdk` (region, credentials, endpoint) with the
/// timeouts of the SNS client.
pub fn client(sdk: &SdkConfig) -> aws_sdk_securityhub::Client {
    let conf =
        aws_sdk_securityhub::config::Builder::from(sdk).timeout_config(crate::aws::sns::timeouts());
    aws_sdk_securityhub::Client::from_conf(conf.build())
}

/// Where findings go: the calling account (`sts:GetCallerIdentity`) and the configured region;
/// the product is that account's default product in that region.
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>
pub async fn target(sdk: &SdkConfig) -> Result<Target, SecurityHubError> {
    let region = sdk
        .region()
        .map(|r| r.as_ref().to_owned())
        .ok_or(SecurityHubError::NoRegion)?;
    let sts = aws_sdk_sts::Client::new(sdk);
    let who = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| SecurityHubError::CallerIdentity(error_text(&e)))?;
    let account = who
        .account()
        .ok_or_else(|| SecurityHubError::CallerIdentity("no account in the answer".into()))?;
    Ok(Target {
        partition: crate::core::asff::partition(&region).to_owned(),
        region,
        account: account.to_owned(),
    })
}

/// The SDK's form of a document.
pub fn to_sdk(d: &Document) -> AwsSecurityFinding {
    let label = SeverityLabel::from(d.severity.label);
    let mut b = AwsSecurityFinding::builder()
        .schema_version(d.schema_version)
        .id(&d.id)
        .product_arn(&d.product_arn)
        .product_name(d.product_name)
        .company_name(d.company_name)
        .generator_id(d.generator_id)
        .aws_account_id(&d.aws_account_id)
        .created_at(&d.created_at)
        .updated_at(&d.updated_at)
        .severity(Severity::builder().label(label.clone()).build())
        .finding_provider_fields({
            let mut f = FindingProviderFields::builder()
                .severity(FindingProviderSeverity::builder().label(label).build());
            for t in &d.finding_provider_fields.types {
                f = f.types(t);
            }
            f.build()
        })
        .title(&d.title)
        .description(&d.description)
        .source_url(d.source_url)
        .region(&d.region)
        .record_state(RecordState::from(d.record_state))
        .set_product_fields(Some(
            d.product_fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ));
    if let Some(t) = &d.first_observed_at {
        b = b.first_observed_at(t);
    }
    for t in &d.types {
        b = b.types(t);
    }
    for r in &d.resources {
        b = b.resources(
            Resource::builder()
                .r#type(r.kind)
                .id(&r.id)
                .partition(aws_sdk_securityhub::types::Partition::from(
                    r.partition.as_str(),
                ))
                .region(&r.region)
                .build(),
        );
    }
    b.build()
}

fn error_text<E: std::error::Error>(e: &E) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    crate::core::sanitize::clean(&s, crate::core::sanitize::MAX_TEXT)
}

/// Where the function imports: the client and the calling account's default product.
#[derive(Clone)]
pub struct Hub {
    pub client: aws_sdk_securityhub::Client,
    pub target: Target,
}

/// Imports `docs`, in batches of [`MAX_BATCH`]; returns how many were imported and those that
/// still failed after `attempts` attempts (replay: [`ATTEMPTS`]; the function: 1, since Lambda or
/// SQS retries the whole input within the invocation's time).
pub async fn import(
    client: &aws_sdk_securityhub::Client,
    docs: &[Document],
    attempts: u32,
) -> (usize, Vec<Failed>) {
    let mut imported = 0;
    let mut failed = Vec::new();
    for chunk in docs.chunks(MAX_BATCH) {
        let mut pending: Vec<&Document> = chunk.iter().collect();
        let mut reasons: Vec<String> = vec![String::new(); pending.len()];
        for attempt in 0..attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
            }
            let findings: Vec<AwsSecurityFinding> = pending.iter().map(|d| to_sdk(d)).collect();
            match client
                .batch_import_findings()
                .set_findings(Some(findings))
                .send()
                .await
            {
                Ok(out) => {
                    let mut still = Vec::new();
                    let mut why = Vec::new();
                    for d in &pending {
                        match out.failed_findings().iter().find(|f| f.id() == Some(&d.id)) {
                            None => imported += 1,
                            Some(f) => {
                                still.push(*d);
                                why.push(crate::core::sanitize::clean(
                                    &format!(
                                        "{}: {}",
                                        f.error_code().unwrap_or("error"),
                                        f.error_message().unwrap_or("")
                                    ),
                                    crate::core::sanitize::MAX_TEXT,
                                ));
                            }
                        }
                    }
                    pending = still;
                    reasons = why;
                }
                Err(e) => {
                    let why = error_text(&e);
                    reasons = vec![why; pending.len()];
                }
            }
            if pending.is_empty() {
                break;
            }
        }
        failed.extend(pending.iter().zip(reasons).map(|(d, reason)| Failed {
            id: d.id.clone(),
            reason,
        }));
    }
    (imported, failed)
}
