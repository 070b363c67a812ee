//! Records that may belong to an AssumeRoot session whose `AssumeRoot` call has not arrived:
//! the member-account requests can reach the function before the management account's call
//! when they come through different forwarders, and would read as root itself. A queued
//! message waits for the call (returned to the queue); a direct invocation cannot.

use super::{Handler, Queued, RetryableError};
use crate::aws::s3::ObjectSource;
use crate::aws::sns::Publisher;
use crate::aws::store::SessionStore;

/// A message whose record waits for its `AssumeRoot` call is returned to the queue at most this
/// many times (the queues' `maxReceiveCount` is 5): then it is alerted, whatever its age.
pub const MAX_WAIT_RECEIVES: u32 = 3;

/// What to do with a record that may be an AssumeRoot session's.
pub(super) enum Wait {
    /// Return its message to the queue.
    Hold,
    /// Alert, saying it waited in vain.
    Waited(String),
    /// Alert, saying it could not wait.
    Unqueued(String),
}

impl RetryableError {
    pub(super) fn add_waiting(result: &mut Result<(), RetryableError>) {
        match result {
            Ok(()) => *result = Err(RetryableError::Waiting { records: 1 }),
            Err(RetryableError::Waiting { records }) => *records += 1,
            // Retried anyway.
            Err(_) => {}
        }
    }
}

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    /// Whether a record that may be an AssumeRoot session's waits for its `AssumeRoot` call:
    /// only a queued message does (it comes back after the queue's visibility timeout), for
    /// [`Config::assume_root_wait`] since it was queued and at most [`MAX_WAIT_RECEIVES`]
    /// receives. A direct invocation cannot wait (Lambda retries it twice, then gives it to the
    /// failure destination): it alerts at once and says so.
    pub(super) fn wait_for_issuer(&self, queued: Option<Queued>) -> Wait {
        let minutes = self.config.assume_root_wait / 60;
        let Some(q) = queued else {
            return Wait::Unqueued(
                "not known: no AssumeRoot or GetSessionToken call issuing this temporary key has been seen yet (a direct invocation does not wait for it). If the AssumeRoot call arrives, requests after it are attributed; until then treat this as root credentials in use."
                    .to_owned(),
            );
        };
        let age_s = q
            .sent_ms
            .map_or(i64::MAX, |sent| ((self.clock_ms)() - sent) / 1000);
        if age_s < self.config.assume_root_wait && q.receives < MAX_WAIT_RECEIVES {
            Wait::Hold
        } else {
            Wait::Waited(format!(
                "not known: no AssumeRoot or GetSessionToken call issuing this temporary key arrived within {minutes} minute(s) of waiting (received {} time(s)). This is root credentials in use unless an AssumeRoot call for the key appears later.",
                q.receives
            ))
        }
    }
}
