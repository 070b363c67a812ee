//! The function's Security Hub sink (`SECURITY_HUB=true`): the ASFF documents of an
//! invocation's alerting findings, imported once after SNS; a finding not imported makes its
//! input retryable (see the failure policy in `mod.rs`).

use super::RetryableError;
use crate::aws::securityhub::{self, Hub};
use crate::core::asff::{self, Document, Target};
use crate::core::model::{RecordReport, Severity};

/// The documents of `report`'s findings at or above `min` (the alerts' minimum) that no
/// suppression covers, tagged with the input they came from. `now_s` is the import's `UpdatedAt`.
pub(super) fn documents(
    report: &RecordReport,
    min: Severity,
    target: &Target,
    input: usize,
    now_s: i64,
) -> Vec<(usize, Document)> {
    let now = crate::core::time::format(now_s);
    report
        .findings
        .iter()
        .filter(|f| f.severity >= min && !f.is_suppressed())
        .map(|f| (input, asff::document(report, f, target, &now)))
        .collect()
}

/// The time an import of `n` findings may take: one call of up to 100 findings each, each call
/// bounded by the client's operation timeout (the SNS client's).
pub(super) fn import_budget(n: usize) -> std::time::Duration {
    let calls = n.div_ceil(securityhub::MAX_BATCH).max(1) as u32;
    crate::aws::sns::OPERATION_TIMEOUT * calls
}

/// Imports `findings` (one attempt: the input is what Lambda or SQS retries); an input with a
/// finding not imported gets [`RetryableError::SecurityHub`] unless it is already retryable.
/// Not started when the invocation's deadline is too near for it: every input with a finding
/// is then returned for a retry ([`RetryableError::OutOfTime`]), nothing is lost.
pub(super) async fn import(
    hub: &Hub,
    findings: Vec<(usize, Document)>,
    results: &mut [Result<(), RetryableError>],
    inv: &super::Invocation,
    counts: &mut super::Counts,
) {
    if findings.is_empty() {
        return;
    }
    if !inv.can_start(import_budget(findings.len())) {
        for (input, _) in &findings {
            if results[*input].is_ok() {
                results[*input] = Err(RetryableError::OutOfTime);
            }
        }
        counts.security_hub_failed += findings.len() as u64;
        return;
    }
    let docs: Vec<Document> = findings.iter().map(|(_, d)| d.clone()).collect();
    let (imported, failed) = securityhub::import(&hub.client, &docs, 1).await;
    counts.security_hub_imported += imported as u64;
    counts.security_hub_failed += failed.len() as u64;
    tracing::info!(
        imported,
        failed = failed.len(),
        "findings imported into Security Hub"
    );
    for f in failed {
        let Some((input, _)) = findings.iter().find(|(_, d)| d.id == f.id) else {
            continue;
        };
        tracing::warn!(finding = %f.id, reason = %f.reason, "finding not imported into Security Hub; the input is retried");
        match &mut results[*input] {
            Ok(()) => {
                results[*input] = Err(RetryableError::SecurityHub {
                    failed: 1,
                    first: format!("{}: {}", f.id, f.reason),
                })
            }
            Err(RetryableError::SecurityHub { failed, .. }) => *failed += 1,
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{InputRef, Suppressed};
    use crate::core::pipeline::{NoOrigins, Pipeline};

    /// A root console sign-in without MFA: one critical finding.
    const NOMFA: &str = r#"{"eventVersion":"1.09","eventTime":"2026-11-23T04:12:09Z",
      "eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1",
      "sourceIPAddress":"203.0.113.77","eventID":"nomfa-1","responseElements":{"ConsoleLogin":"Success"},
      "additionalEventData":{"MFAUsed":"No"},
      "userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}}"#;

    #[test]
    fn a_suppressed_finding_is_not_imported() {
        let input = InputRef {
            file: "t".into(),
            index: 0,
        };
        let mut report = Pipeline::default()
            .run(NOMFA, false, input, &NoOrigins)
            .unwrap();
        assert_eq!(report.findings.len(), 1);
        let target = Target::of_record(&report);
        assert_eq!(documents(&report, Severity::Medium, &target, 0, 0).len(), 1);
        report.findings[0].suppressed = Some(Suppressed {
            reason: "drill".into(),
            expires: "2027-01-31".into(),
        });
        assert!(documents(&report, Severity::Medium, &target, 0, 0).is_empty());
    }

    #[test]
    fn the_import_budget_is_one_operation_timeout_per_call() {
        let t = crate::aws::sns::OPERATION_TIMEOUT;
        assert_eq!(import_budget(1), t);
        assert_eq!(import_budget(100), t);
        assert_eq!(import_budget(101), t * 2);
    }

    /// Too near the deadline, nothing is imported and every input with a finding is retried.
    #[tokio::test]
    async fn no_import_is_started_near_the_deadline() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let hub = Hub {
            client: securityhub::client(&sdk),
            target: Target::of_record(
                &Pipeline::default()
                    .run(
                        NOMFA,
                        false,
                        InputRef {
                            file: "t".into(),
                            index: 0,
                        },
                        &NoOrigins,
                    )
                    .unwrap(),
            ),
        };
        let doc = |input| {
            let report = Pipeline::default()
                .run(
                    NOMFA,
                    false,
                    InputRef {
                        file: "t".into(),
                        index: 0,
                    },
                    &NoOrigins,
                )
                .unwrap();
            documents(&report, Severity::Medium, &hub.target, input, 0).remove(0)
        };
        let inv = super::super::Invocation::until(Some(std::time::Instant::now()));
        let mut results = vec![Ok(()), Ok(()), Ok(())];
        let mut counts = super::super::Counts::default();
        import(&hub, vec![doc(0), doc(2)], &mut results, &inv, &mut counts).await;
        assert!(matches!(results[0], Err(RetryableError::OutOfTime)));
        assert!(results[1].is_ok());
        assert!(matches!(results[2], Err(RetryableError::OutOfTime)));
        assert_eq!(
            (counts.security_hub_imported, counts.security_hub_failed),
            (0, 2)
        );
    }
}
