//! Publishing an alert at most once across instances without ever acknowledging one that was not
//! published: a claim on its eventID in this instance's memory and in the shared table, then the
//! publish, then the claim settled.
//!
//! The state machine is [`CLAIM_TABLE`]: for each step and what it answered, what follows. The
//! code below looks every decision up there; a test checks that each pair has exactly one row.
//! The lease ([`crate::aws::store::CLAIM_LEASE_SECONDS`]) outlasts a live holder and ends before
//! the first retry of a delivery whose holder died, so a retried delivery always finds the claim
//! settled or expired.

use super::budget::{Invocation, PUBLISH_BUDGET};
use super::{Counts, Handler, PUBLISH_CONCURRENCY};
use crate::aws::s3::ObjectSource;
use crate::aws::sns::{PublishError, Publisher};
use crate::aws::store::{Claim, SessionStore, StoreError};
use crate::core::alert::Alert;
use std::collections::HashMap;

/// A step of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Before anything: is there time for a publish and its settle?
    Start,
    /// The claim in this instance's memory.
    LocalClaim,
    /// The claim in the shared table (skipped without a table, or when it failed earlier in
    /// this invocation: then as `StoreFailed`).
    SharedClaim,
    Publish,
    /// Settling a published alert as sent.
    SettleSent,
    /// Giving the claim back after a failed publish.
    SettleFailed,
}

/// What a step answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Ok,
    /// The eventID was published already.
    Sent,
    /// Another delivery holds an unexpired claim.
    Held,
    StoreFailed,
    Failed,
    OutOfTime,
}

/// What follows a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Go(Step),
    /// Acknowledged: the alert was published (now or before).
    Acknowledge,
    /// Retryable: SQS `batchItemFailures`, a direct invocation's error, Batch Operations
    /// `TemporaryFailure`. Never an acknowledgement of an alert not published.
    Retry,
}

/// The claim/settle state machine: (step, answer, what follows, why).
pub const CLAIM_TABLE: &[(Step, Answer, Then, &str)] = &[
    (Step::Start, Answer::Ok, Then::Go(Step::LocalClaim), "time left for a publish"),
    (Step::Start, Answer::OutOfTime, Then::Retry, "too close to the deadline to finish a publish"),
    (Step::LocalClaim, Answer::Ok, Then::Go(Step::SharedClaim), "this instance has not handled the eventID"),
    (Step::LocalClaim, Answer::Sent, Then::Acknowledge, "this instance published it"),
    (Step::LocalClaim, Answer::Held, Then::Retry, "this invocation is publishing it (a duplicate in one batch)"),
    (Step::SharedClaim, Answer::Ok, Then::Go(Step::Publish), "no delivery published or holds it"),
    (Step::SharedClaim, Answer::Sent, Then::Acknowledge, "another delivery published it"),
    (Step::SharedClaim, Answer::Held, Then::Retry, "another delivery holds an unexpired claim: it may be publishing, or dead; the retry comes after the lease"),
    (Step::SharedClaim, Answer::StoreFailed, Then::Go(Step::Publish), "no table to ask: publish (twice rather than never)"),
    (Step::Publish, Answer::Ok, Then::Go(Step::SettleSent), "published"),
    (Step::Publish, Answer::Failed, Then::Go(Step::SettleFailed), "not published"),
    (Step::SettleSent, Answer::Ok, Then::Acknowledge, "published and recorded"),
    (Step::SettleSent, Answer::StoreFailed, Then::Acknowledge, "published; the pending claim expires after the lease (a later duplicate delivery may publish again: a duplicate, not a loss)"),
    (Step::SettleFailed, Answer::Ok, Then::Retry, "the claim is given back; the retry publishes"),
    (Step::SettleFailed, Answer::StoreFailed, Then::Retry, "the claim stays pending until the lease ends, before the retry comes"),
];

/// What follows `step` when it answered `answer`.
pub fn then(step: Step, answer: Answer) -> Then {
    CLAIM_TABLE
        .iter()
        .find(|(s, a, _, _)| *s == step && *a == answer)
        .map(|(_, _, t, _)| *t)
        // A pair the table lacks is a bug (the table test covers every pair the code makes):
        // retrying is the safe answer.
        .unwrap_or(Then::Retry)
}

/// How one alert's delivery ended.
#[derive(Debug)]
pub enum Delivery {
    Published,
    /// Published before (by this or another delivery).
    Duplicate,
    /// Must be retried: `why` says what stopped it.
    Retry {
        why: RetryWhy,
    },
}

/// Why a delivery must be retried.
#[derive(Debug)]
pub enum RetryWhy {
    Published(PublishError),
    /// Another delivery holds the claim.
    Held,
    OutOfTime,
}

impl std::fmt::Display for RetryWhy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryWhy::Published(e) => write!(f, "{e}"),
            RetryWhy::Held => f.write_str(
                "another delivery holds the claim on this eventID and has not settled it; retried after the lease",
            ),
            RetryWhy::OutOfTime => {
                f.write_str("not started: too close to the invocation's deadline")
            }
        }
    }
}

/// What one delivery did, for the invocation's counts (deliveries run concurrently).
#[derive(Debug, Default)]
pub struct Tally {
    pub store_errors: u64,
}

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    /// Publishes an alert unless this or another delivery already did, following
    /// [`CLAIM_TABLE`].
    pub(super) async fn publish_once(&self, a: &Alert, inv: &Invocation) -> (Delivery, Tally) {
        let mut tally = Tally::default();
        let now = (self.clock)();
        let id = a.event_id.as_deref();
        let mut step = Step::Start;
        let mut published = None;
        loop {
            let answer = match step {
                Step::Start if inv.can_start(PUBLISH_BUDGET) => Answer::Ok,
                Step::Start => Answer::OutOfTime,
                Step::LocalClaim => match id.map(|id| self.local.claim_now(id, now)) {
                    None | Some(Claim::Granted) => Answer::Ok,
                    Some(Claim::Duplicate) => Answer::Sent,
                    Some(Claim::Busy) => Answer::Held,
                },
                Step::SharedClaim => match (id, self.shared_store(inv)) {
                    (Some(id), Some(shared)) => match shared.claim(id, now).await {
                        Ok(Claim::Granted) => Answer::Ok,
                        Ok(Claim::Duplicate) => Answer::Sent,
                        Ok(Claim::Busy) => Answer::Held,
                        Err(e) => {
                            self.store_failed(&e, inv, &mut tally);
                            Answer::StoreFailed
                        }
                    },
                    // Nothing shared to claim: as good as granted.
                    _ => Answer::Ok,
                },
                Step::Publish => match self.publisher.publish(a).await {
                    Ok(()) => Answer::Ok,
                    Err(e) => {
                        published = Some(e);
                        Answer::Failed
                    }
                },
                Step::SettleSent | Step::SettleFailed => {
                    let sent = step == Step::SettleSent;
                    match id {
                        None => Answer::Ok,
                        Some(id) => {
                            self.local.settle_now(id, sent);
                            match self.shared_store(inv) {
                                None => Answer::Ok,
                                Some(shared) => match shared.settle(id, sent, now).await {
                                    Ok(()) => Answer::Ok,
                                    Err(e) => {
                                        self.store_failed(&e, inv, &mut tally);
                                        Answer::StoreFailed
                                    }
                                },
                            }
                        }
                    }
                }
            };
            let next = then(step, answer);
            tracing::debug!(event_id = id.unwrap_or("-"), ?step, ?answer, ?next, "claim");
            match next {
                Then::Go(s) => step = s,
                Then::Acknowledge if step == Step::SettleSent => {
                    tracing::info!(event_id = id.unwrap_or("-"), severity = %a.severity, subject = %a.subject, "alert published");
                    return (Delivery::Published, tally);
                }
                Then::Acknowledge => {
                    tracing::info!(
                        event_id = id.unwrap_or("-"),
                        "duplicate delivery; already alerted"
                    );
                    if step == Step::SharedClaim {
                        if let Some(id) = id {
                            self.local.settle_now(id, true);
                        }
                    }
                    return (Delivery::Duplicate, tally);
                }
                Then::Retry => {
                    let why = match (published.take(), answer) {
                        (Some(e), _) => RetryWhy::Published(e),
                        (None, Answer::OutOfTime) => RetryWhy::OutOfTime,
                        (None, _) => RetryWhy::Held,
                    };
                    if step == Step::SharedClaim {
                        // Held elsewhere: this instance's claim is given back for the retry.
                        if let Some(id) = id {
                            self.local.settle_now(id, false);
                        }
                    }
                    tracing::warn!(event_id = id.unwrap_or("-"), why = %why, "alert not published now; its delivery will be retried");
                    return (Delivery::Retry { why }, tally);
                }
            }
        }
    }

    /// Publishes alerts [`PUBLISH_CONCURRENCY`] at a time, each at most once
    /// ([`claims`]), and counts what became of them. Copies of one eventID in the same round
    /// (one event delivered twice in a batch) are published once and share its outcome.
    pub(super) async fn deliver<K: Copy>(
        &self,
        alerts: Vec<(K, Alert)>,
        inv: &Invocation,
        counts: &mut Counts,
    ) -> Vec<(K, Delivery)> {
        use futures_util::stream::{self, StreamExt};
        let mut unique: Vec<(K, Alert)> = Vec::with_capacity(alerts.len());
        let mut copies: Vec<(K, usize)> = Vec::new();
        let mut first: HashMap<String, usize> = HashMap::new();
        for (k, a) in alerts {
            match a.event_id.as_ref().and_then(|id| first.get(id)) {
                Some(&at) => copies.push((k, at)),
                None => {
                    if let Some(id) = &a.event_id {
                        first.insert(id.clone(), unique.len());
                    }
                    unique.push((k, a));
                }
            }
        }
        let mut done: Vec<(usize, K, Delivery, Tally)> = stream::iter(unique)
            .enumerate()
            .map(|(n, (k, a))| async move {
                let (d, t) = self.publish_once(&a, inv).await;
                (n, k, d, t)
            })
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .collect()
            .await;
        done.sort_by_key(|(n, ..)| *n);
        let mut out: Vec<(K, Delivery)> = Vec::with_capacity(done.len() + copies.len());
        for (k, at) in copies {
            let d = match &done[at].2 {
                Delivery::Published | Delivery::Duplicate => Delivery::Duplicate,
                Delivery::Retry { .. } => Delivery::Retry {
                    why: RetryWhy::Held,
                },
            };
            counts.delivered(&d, &Tally::default());
            out.push((k, d));
        }
        for (_, k, d, t) in done {
            counts.delivered(&d, &t);
            out.push((k, d));
        }
        out
    }

    /// The shared store, unless there is none or it failed earlier in this invocation.
    pub(super) fn shared_store(&self, inv: &Invocation) -> Option<&S> {
        self.shared.as_ref().filter(|_| inv.store_up())
    }

    /// A failed store call: counted; the store is skipped for the rest of the invocation (logged
    /// once per invocation).
    pub(super) fn store_failed(&self, e: &StoreError, inv: &Invocation, tally: &mut Tally) {
        tally.store_errors += 1;
        if inv.store_failed() {
            let store = self
                .shared
                .as_ref()
                .map(|s| s.describe())
                .unwrap_or_default();
            tracing::error!(store = %store, error = %e, "session store unavailable: skipped for the rest of this invocation; detection goes on with this instance's memory");
        }
    }
}

impl Counts {
    /// Adds one delivery's outcome.
    pub(super) fn delivered(&mut self, d: &Delivery, tally: &Tally) {
        self.store_errors += tally.store_errors;
        match d {
            Delivery::Published => self.alerts_published += 1,
            Delivery::Duplicate => self.duplicates_skipped += 1,
            Delivery::Retry { why } => {
                self.publish_failures += 1;
                if matches!(why, RetryWhy::Held) {
                    self.claims_held += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (step, answer) pair the code can produce has exactly one row.
    #[test]
    fn the_table_has_one_row_for_every_pair_the_code_makes() {
        let pairs = [
            (Step::Start, Answer::Ok),
            (Step::Start, Answer::OutOfTime),
            (Step::LocalClaim, Answer::Ok),
            (Step::LocalClaim, Answer::Sent),
            (Step::LocalClaim, Answer::Held),
            (Step::SharedClaim, Answer::Ok),
            (Step::SharedClaim, Answer::Sent),
            (Step::SharedClaim, Answer::Held),
            (Step::SharedClaim, Answer::StoreFailed),
            (Step::Publish, Answer::Ok),
            (Step::Publish, Answer::Failed),
            (Step::SettleSent, Answer::Ok),
            (Step::SettleSent, Answer::StoreFailed),
            (Step::SettleFailed, Answer::Ok),
            (Step::SettleFailed, Answer::StoreFailed),
        ];
        for (s, a) in pairs {
            let rows = CLAIM_TABLE
                .iter()
                .filter(|(rs, ra, _, _)| *rs == s && *ra == a)
                .count();
            assert_eq!(rows, 1, "{s:?} {a:?}");
        }
        assert_eq!(CLAIM_TABLE.len(), pairs.len());
    }

    /// The one property the protocol exists for: no path acknowledges an alert that was not
    /// published, except a duplicate of one that was.
    #[test]
    fn nothing_unpublished_is_acknowledged() {
        for (step, answer, next, why) in CLAIM_TABLE {
            if *next == Then::Acknowledge {
                let published = matches!(
                    (step, answer),
                    (Step::SettleSent, _)
                        | (Step::LocalClaim, Answer::Sent)
                        | (Step::SharedClaim, Answer::Sent)
                );
                assert!(published, "{step:?} {answer:?} acknowledges: {why}");
            }
        }
        assert_eq!(then(Step::SharedClaim, Answer::Held), Then::Retry);
        assert_eq!(then(Step::SettleFailed, Answer::StoreFailed), Then::Retry);
    }
}
