//! Where the function keeps what it learns between records and invocations: tracked sessions and
//! the eventIDs it has alerted on. [`MemoryStore`] is the embedded default (one instance);
//! [`crate::aws::dynamo::DynamoStore`] shares both with every concurrent instance through a table.

use crate::core::model::Origin;
use crate::core::pipeline::Origins;
use crate::core::session::{Learned, Session, SessionTracker};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;

/// How long a claim on an eventID holds while its alert is being published. It must outlast
/// every holder that is still alive (the event function's timeout, [`EVENT_FUNCTION_TIMEOUT_SECONDS`],
/// and one publish, [`crate::aws::sns::OPERATION_TIMEOUT`], plus the settle call), so that two
/// live instances never publish the same alert; and it must end before the first retry of a
/// delivery whose holder died ([`ASYNC_RETRY_DELAY_SECONDS`], [`EVENT_QUEUE_VISIBILITY_SECONDS`]),
/// so that the retry publishes instead of waiting on a dead claim. `tests/delivery_constants.rs`
/// checks these inequalities and that the templates use these values.
pub const CLAIM_LEASE_SECONDS: i64 = 45;
/// The event function's timeout in the templates (`Timeout` of the event function).
pub const EVENT_FUNCTION_TIMEOUT_SECONDS: i64 = 30;
/// Lambda retries a failed asynchronous invocation after about one minute, then two.
/// <https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html>
pub const ASYNC_RETRY_DELAY_SECONDS: i64 = 60;
/// The log-archive function's timeout in the templates. Its claims are per alert, so what
/// bounds one is a publish and its settle ([`crate::aws::function::PUBLISH_BUDGET`]).
pub const LOG_ARCHIVE_TIMEOUT_SECONDS: i64 = 300;
/// The log-archive queue's visibility timeout in the templates (6 x its function's timeout).
pub const LOG_ARCHIVE_VISIBILITY_SECONDS: i64 = 1800;
/// The queues' `maxReceiveCount` in the templates: a message received this many times goes to
/// the dead-letter queue.
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// The event queue's visibility timeout in the templates: a message reported in
/// `batchItemFailures` comes back after it (6 x the function timeout, as Lambda advises).
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html>
pub const EVENT_QUEUE_VISIBILITY_SECONDS: i64 = 180;
/// How long an alerted eventID is remembered. EventBridge retries a failed delivery for up to
/// 24 hours, so a duplicate comes within that window.
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html>
pub const DEDUP_TTL_SECONDS: i64 = 2 * 86_400;
/// eventIDs remembered by one instance's [`MemoryStore`].
pub const DEDUP_CAPACITY: usize = 10_000;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("session store: {op} failed: {message}")]
pub struct StoreError {
    pub op: &'static str,
    pub message: String,
}

/// What a window set holds: its entries (time, value) and when its rule last fired.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    pub entries: Vec<(i64, String)>,
    pub fired: Option<i64>,
}

/// The answer to a claim on an eventID (the state machine is the table of
/// [`crate::aws::function`]'s `claims` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Ours: publish, then settle.
    Granted,
    /// Published already (settled as sent): nothing to do.
    Duplicate,
    /// Another delivery holds an unexpired claim and has not settled: it may be publishing now,
    /// or it may have died. Not ours to acknowledge: the delivery is retried after the lease.
    Busy,
}

/// Sessions and alert claims, shared by whoever holds the same store.
pub trait SessionStore: Send + Sync {
    /// A short name for logs (`memory`, `dynamodb:TABLE`).
    fn describe(&self) -> String;
    /// Every session recorded for `key` (any time; the caller picks the live one).
    fn sessions(&self, key: &str) -> impl Future<Output = Result<Vec<Session>, StoreError>> + Send;
    fn save(&self, session: &Session) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Saves several sessions (the sessions one log file issues) in as few calls as the store
    /// allows. The default saves them one by one.
    fn save_all(
        &self,
        sessions: &[Session],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            for x in sessions {
                self.save(x).await?;
            }
            Ok(())
        }
    }
    /// Adds an entry (`time`, `value`) under `event_id` to the window set `key` (a second
    /// delivery of the same eventID changes nothing) and keeps the set until `expires`; returns
    /// every entry the set holds and when its rule last fired. Sets of all instances are one.
    fn note(
        &self,
        key: &str,
        event_id: &str,
        time: i64,
        value: &str,
        expires: i64,
    ) -> impl Future<Output = Result<Window, StoreError>> + Send;
    /// Claims the firing of the rule of set `key` at `t`: granted unless it fired within
    /// `window` of `t` (one finding per burst, across instances).
    fn fire(
        &self,
        key: &str,
        t: i64,
        window: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Whether `key` was not seen within `memory` before `t`; remembers `t` either way.
    fn first(
        &self,
        key: &str,
        t: i64,
        memory: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The scheduled audit's last snapshot stored under `key` (an account's root credentials as
    /// JSON), if any.
    fn snapshot(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Stores the scheduled audit's snapshot `value` under `key`, kept until `expires`.
    fn put_snapshot(
        &self,
        key: &str,
        value: &str,
        expires: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Claims the right to publish the alert of `event_id` at time `now` (epoch seconds).
    fn claim(
        &self,
        event_id: &str,
        now: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Ends a granted claim: `published` keeps the eventID as alerted; otherwise the claim is
    /// given up so that a retry publishes.
    fn settle(
        &self,
        event_id: &str,
        published: bool,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimState {
    Pending { until: i64 },
    Sent,
}

#[derive(Debug, Default)]
struct Claims {
    state: HashMap<String, ClaimState>,
    order: VecDeque<String>,
}

/// In-process store: a bounded [`SessionTracker`] (expired sessions dropped first) and a bounded
/// set of claimed eventIDs (oldest forgotten first).
#[derive(Debug)]
pub struct MemoryStore {
    pub tracker: Mutex<SessionTracker>,
    claims: Mutex<Claims>,
    claim_capacity: usize,
    windows: Mutex<crate::aws::windows::Windows>,
    snapshots: Box<Mutex<HashMap<String, String>>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(crate::core::session::MEMORY_CAPACITY, DEDUP_CAPACITY)
    }
}

impl MemoryStore {
    pub fn new(session_capacity: usize, claim_capacity: usize) -> Self {
        MemoryStore {
            tracker: Mutex::new(SessionTracker::new(session_capacity)),
            claims: Mutex::new(Claims::default()),
            claim_capacity: claim_capacity.max(1),
            windows: Mutex::new(crate::aws::windows::Windows::new(claim_capacity.max(1))),
            snapshots: Box::default(),
        }
    }

    /// Learns a session; at capacity, expired ones (relative to its issue time) go first.
    pub fn learn(&self, session: Session) -> Learned {
        let mut t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
        t.learn_live(session)
    }

    /// The session of `key` live at `at`, if known here.
    /// The first link of a record's chain this instance does not know (see
    /// [`SessionTracker::missing_link`]).
    pub fn missing_link(
        &self,
        key: &str,
        at: i64,
        own_event: Option<&str>,
    ) -> Option<(String, i64)> {
        let t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
        t.missing_link(key, at, own_event)
    }

    pub fn claim_now(&self, event_id: &str, now: i64) -> Claim {
        let mut c = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        match c.state.get(event_id) {
            Some(ClaimState::Sent) => return Claim::Duplicate,
            Some(ClaimState::Pending { until }) if *until >= now => return Claim::Busy,
            Some(ClaimState::Pending { .. }) => {}
            None => {
                c.order.push_back(event_id.to_owned());
                if c.order.len() > self.claim_capacity {
                    if let Some(old) = c.order.pop_front() {
                        c.state.remove(&old);
                    }
                }
            }
        }
        c.state.insert(
            event_id.to_owned(),
            ClaimState::Pending {
                until: now + CLAIM_LEASE_SECONDS,
            },
        );
        Claim::Granted
    }

    pub fn settle_now(&self, event_id: &str, published: bool) {
        let mut c = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        if published {
            if let Some(s) = c.state.get_mut(event_id) {
                *s = ClaimState::Sent;
            }
        } else {
            c.state.remove(event_id);
            c.order.retain(|e| e != event_id);
        }
    }
}

/// The origin of a request made with `key` at `at`, from what this instance knows.
impl Origins for MemoryStore {
    fn origin(&self, key: &str, at: i64, own_event: Option<&str>) -> Option<Origin> {
        let t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
        t.origin(key, at, own_event)
    }
}

impl SessionStore for MemoryStore {
    fn describe(&self) -> String {
        "memory".into()
    }

    async fn sessions(&self, key: &str) -> Result<Vec<Session>, StoreError> {
        let t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
        Ok(t.sessions(key).to_vec())
    }

    async fn save(&self, session: &Session) -> Result<(), StoreError> {
        self.learn(session.clone());
        Ok(())
    }

    async fn note(
        &self,
        key: &str,
        event_id: &str,
        time: i64,
        value: &str,
        expires: i64,
    ) -> Result<Window, StoreError> {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        Ok(w.note(key, event_id, time, value, expires))
    }

    async fn fire(&self, key: &str, t: i64, window: i64) -> Result<bool, StoreError> {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        Ok(w.fire(key, t, window))
    }

    async fn first(&self, key: &str, t: i64, memory: i64) -> Result<bool, StoreError> {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        Ok(w.first(key, t, memory))
    }

    async fn snapshot(&self, key: &str) -> Result<Option<String>, StoreError> {
        let m = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        Ok(m.get(key).cloned())
    }

    async fn put_snapshot(&self, key: &str, value: &str, _expires: i64) -> Result<(), StoreError> {
        let mut m = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    async fn claim(&self, event_id: &str, now: i64) -> Result<Claim, StoreError> {
        Ok(self.claim_now(event_id, now))
    }

    async fn settle(&self, event_id: &str, published: bool, _now: i64) -> Result<(), StoreError> {
        self.settle_now(event_id, published);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_once_until_settled() {
        let m = MemoryStore::new(10, 10);
        assert_eq!(m.claim_now("e1", 0), Claim::Granted);
        assert_eq!(m.claim_now("e1", 1), Claim::Busy);
        m.settle_now("e1", true);
        assert_eq!(m.claim_now("e1", 10_000), Claim::Duplicate);
    }

    #[test]
    fn failed_publish_gives_the_claim_back() {
        let m = MemoryStore::new(10, 10);
        assert_eq!(m.claim_now("e1", 0), Claim::Granted);
        m.settle_now("e1", false);
        assert_eq!(m.claim_now("e1", 1), Claim::Granted);
    }

    #[test]
    fn stale_pending_claim_can_be_taken_over() {
        let m = MemoryStore::new(10, 10);
        assert_eq!(m.claim_now("e1", 0), Claim::Granted);
        assert_eq!(m.claim_now("e1", CLAIM_LEASE_SECONDS + 1), Claim::Granted);
    }

    #[test]
    fn claims_are_bounded() {
        let m = MemoryStore::new(10, 3);
        for i in 0..5 {
            let id = format!("e{i}");
            assert_eq!(m.claim_now(&id, 0), Claim::Granted);
            m.settle_now(&id, true);
        }
        assert_eq!(m.claim_now("e4", 0), Claim::Duplicate);
        assert_eq!(m.claim_now("e0", 0), Claim::Granted);
    }
}
