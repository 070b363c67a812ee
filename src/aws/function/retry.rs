//! Why an invocation, or one input of it, must be retried: [`RetryableError`], and how the
//! failures of one input add up.

use super::claims::RetryWhy;
use crate::aws::sns::PublishError;

/// Why an invocation (or one SQS message of it) must be retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryableError {
    #[error("{failed} alert(s) could not be published; the invocation fails so that Lambda retries it: {first}")]
    Publish { failed: usize, first: PublishError },
    #[error("{failed} alert(s) are being published by another delivery that has not settled its claim (it may have died); retried after the claim's lease")]
    Claimed { failed: usize },
    #[error("{records} record(s) may belong to an AssumeRoot session whose AssumeRoot call has not arrived; returned to the queue to wait for it")]
    Waiting { records: usize },
    #[error("the invocation's deadline is near: not started, returned for a retry")]
    OutOfTime,
    #[error("{failed} object(s) could not be read or their alerts published; the invocation fails so that Lambda retries it: {first}")]
    Objects { failed: usize, first: String },
    #[error("the scheduled audit could not run: {0}")]
    Audit(String),
    #[error("{failed} finding(s) could not be imported into Security Hub; the input is retried (its SNS alerts are not published again, a re-imported finding is updated): {first}")]
    SecurityHub { failed: usize, first: String },
}

impl RetryableError {
    /// Adds a failed delivery to an input's result.
    pub(super) fn add(result: &mut Result<(), RetryableError>, why: RetryWhy) {
        match (result.as_mut(), why) {
            (Ok(()), RetryWhy::Published(first)) => {
                *result = Err(RetryableError::Publish { failed: 1, first })
            }
            (Ok(()), RetryWhy::Held) => *result = Err(RetryableError::Claimed { failed: 1 }),
            (Ok(()), RetryWhy::OutOfTime) => *result = Err(RetryableError::OutOfTime),
            (Err(RetryableError::Publish { failed, .. }), _)
            | (Err(RetryableError::Claimed { failed }), _)
            | (Err(RetryableError::Objects { failed, .. }), _)
            | (Err(RetryableError::SecurityHub { failed, .. }), _) => *failed += 1,
            (Err(RetryableError::Waiting { records }), _) => *records += 1,
            (Err(RetryableError::OutOfTime), _) | (Err(RetryableError::Audit(_)), _) => {}
        }
    }
}
