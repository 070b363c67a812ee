//! One invocation's limits: the time left before Lambda's deadline, and whether the shared store
//! is still used (after its first failure in an invocation it is skipped for the rest of it).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Work that could still be running at the deadline is not started this close to it: the
/// function returns what it has not done as failures (SQS: `batchItemFailures`; direct: an
/// error; Batch Operations: `TemporaryFailure`) rather than being killed mid-way, when nothing
/// can say what was lost. One publish may take [`crate::aws::sns::OPERATION_TIMEOUT`].
/// <https://docs.aws.amazon.com/lambda/latest/dg/rust-context.html>
pub const SAFETY_MARGIN: Duration = Duration::from_secs(2);

/// The longest a publish (the SDK's retries included) and its settle call take.
pub const PUBLISH_BUDGET: Duration = crate::aws::sns::OPERATION_TIMEOUT
    .saturating_add(crate::aws::sns::STORE_OPERATION_TIMEOUT)
    .saturating_add(SAFETY_MARGIN);

/// The state one invocation shares between its steps (and its concurrent publishes).
#[derive(Debug, Default)]
pub struct Invocation {
    /// `None`: no deadline (tests, `replay`).
    deadline: Option<Instant>,
    store_down: AtomicBool,
    store_skipped: AtomicU64,
    out_of_time: AtomicBool,
}

impl Invocation {
    /// An invocation that must end by `deadline`.
    pub fn until(deadline: Option<Instant>) -> Self {
        Invocation {
            deadline,
            ..Default::default()
        }
    }

    /// Whether `work` can still be started and finish `SAFETY_MARGIN` before the deadline. The
    /// first refusal is logged.
    pub fn can_start(&self, work: Duration) -> bool {
        let Some(deadline) = self.deadline else {
            return true;
        };
        let left = deadline.checked_duration_since(Instant::now());
        let ok = left.is_some_and(|left| left >= work.saturating_add(SAFETY_MARGIN));
        if !ok && !self.out_of_time.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                work_ms = work.as_millis() as u64,
                left_ms = left.unwrap_or_default().as_millis() as u64,
                "invocation deadline near: no new work started; what is left is returned for a retry"
            );
        }
        ok
    }

    /// Whether a deadline stopped work in this invocation.
    pub fn ran_out_of_time(&self) -> bool {
        self.out_of_time.load(Ordering::Relaxed)
    }

    /// Whether the shared store may be called (it has not failed in this invocation). A call not
    /// made is counted.
    pub fn store_up(&self) -> bool {
        let up = !self.store_down.load(Ordering::Relaxed);
        if !up {
            self.store_skipped.fetch_add(1, Ordering::Relaxed);
        }
        up
    }

    /// Marks the store down for the rest of the invocation; `true` the first time.
    pub fn store_failed(&self) -> bool {
        !self.store_down.swap(true, Ordering::Relaxed)
    }

    /// Store calls skipped because the store had failed earlier in this invocation.
    pub fn store_skipped(&self) -> u64 {
        self.store_skipped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_deadline_never_stops_work() {
        let inv = Invocation::default();
        assert!(inv.can_start(Duration::from_secs(3600)));
        assert!(!inv.ran_out_of_time());
    }

    #[test]
    fn work_that_would_end_past_the_deadline_is_not_started() {
        let inv = Invocation::until(Some(Instant::now() + Duration::from_secs(10)));
        assert!(inv.can_start(Duration::from_secs(1)));
        assert!(!inv.can_start(Duration::from_secs(9)));
        assert!(inv.ran_out_of_time());
        let past = Invocation::until(Some(Instant::now() - Duration::from_secs(1)));
        assert!(!past.can_start(Duration::ZERO));
    }

    #[test]
    fn the_store_is_skipped_after_its_first_failure() {
        let inv = Invocation::default();
        assert!(inv.store_up());
        assert!(inv.store_failed());
        assert!(!inv.store_failed());
        assert!(!inv.store_up());
        assert!(!inv.store_up());
        assert_eq!(inv.store_skipped(), 2);
    }
}
