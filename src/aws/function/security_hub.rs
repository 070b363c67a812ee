//! The function's Security Hub sink (`SECURITY_HUB=true`): the ASFF documents of an
//! invocation's alerting findings, imported once after SNS; a finding not imported makes its
//! input retryable (see the failure policy in `mod.rs`).

use super::RetryableError;
use crate::aws::securityhub::{self, Hub};
use crate::core::asff::{self, Document, Target};
use crate::core::model::{RecordReport, Severity};

/// The documents of `report`'s findings at or above `min` (the alerts' minimum), tagged with
/// the input they came from. `now_s` is the import's `UpdatedAt`.
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
        .filter(|f| f.severity >= min)
        .map(|f| (input, asff::document(report, f, target, &now)))
        .collect()
}

/// Imports `findings` (one attempt: the input is what Lambda or SQS retries); an input with a
/// finding not imported gets [`RetryableError::SecurityHub`] unless it is already retryable.
pub(super) async fn import(
    hub: &Hub,
    findings: Vec<(usize, Document)>,
    results: &mut [Result<(), RetryableError>],
    _counts: &mut super::Counts,
) {
    if findings.is_empty() {
        return;
    }
    let docs: Vec<Document> = findings.iter().map(|(_, d)| d.clone()).collect();
    let (imported, failed) = securityhub::import(&hub.client, &docs, 1).await;
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
