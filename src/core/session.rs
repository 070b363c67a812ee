//! Session tracking, pure core: which call issued the temporary key a record uses, and who
//! started the chain. No I/O and no clock: times are the records' own `eventTime`s.
//!
//! A session-issuing STS call (its `assumption`) becomes a [`Session`] keyed by the access key
//! it issued. A later record whose `userIdentity.accessKeyId` is that key, at an `eventTime`
//! inside the session's lifetime, belongs to it; walking back through the issuers' own keys gives
//! the chain and its first principal, the [`Origin`].

use crate::core::model::{Hop, Origin, PrincipalClass, RecordReport};
use std::collections::{BTreeSet, HashMap};

/// Default capacity of the in-memory tracker, in sessions. `tests/session_memory.rs` measures
/// the heap one session takes with realistic field lengths; docs/sessions.md gives the figure.
pub const MEMORY_CAPACITY: usize = 100_000;
/// Longest chain followed (a loop in forged data stops here too).
pub const MAX_CHAIN: usize = 16;
/// Tolerance for a use recorded a little before its issuing call (clocks of different services).
pub const CLOCK_SKEW: i64 = 300;

/// Access key ids that start with `ASIA` are temporary (STS) credentials; `AKIA` are long-term.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids>
pub const TEMPORARY_KEY_PREFIX: &str = "ASIA";
/// The join key: `responseElements.credentials.accessKeyId` of the issuing call is the
/// `userIdentity.accessKeyId` of every request made with those credentials.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>
pub const JOIN_DOC: &str =
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html";

/// AssumeRole, AssumeRoleWithSAML and AssumeRoleWithWebIdentity default to one hour.
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>
pub const ROLE_DEFAULT_SECONDS: i64 = 3_600;
/// AssumeRoot sessions last at most 900 seconds, the default.
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html>
pub const ROOT_DEFAULT_SECONDS: i64 = 900;
/// GetFederationToken and GetSessionToken default to 12 hours (43,200 s) and allow at most
/// 36 hours (129,600 s), the longest lifetime STS gives.
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html>
pub const TOKEN_DEFAULT_SECONDS: i64 = 43_200;
/// The longest lifetime of any STS credentials (GetFederationToken / GetSessionToken, 36 h).
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html>
pub const MAX_LIFETIME_SECONDS: i64 = 129_600;

/// The principal that made a session-issuing call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    pub arn: Option<String>,
    /// A name when there is no ARN: the service (`invokedBy`), the user name or principal id
    /// (SAML and web-identity callers have no ARN).
    pub name: Option<String>,
    /// `userIdentity.type` as recorded.
    pub kind: Option<String>,
    pub class: PrincipalClass,
    pub account_id: Option<String>,
    /// The key the issuer itself used: the link to the previous hop of a role chain.
    pub access_key_id: Option<String>,
}

/// Credentials issued by one successful STS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The access key id issued (`responseElements.credentials.accessKeyId`).
    pub key: String,
    pub api: String,
    /// eventTime of the issuing call, epoch seconds.
    pub issued_at: i64,
    /// Expiry of the credentials, epoch seconds.
    pub expires_at: i64,
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub source_identity: Option<String>,
    /// The account the credentials act in.
    pub account: Option<String>,
    pub task_policy: Option<String>,
    pub event_id: Option<String>,
    pub issuer: Issuer,
}

impl Session {
    /// The session a report's record issued: a successful session-issuing call with a key and a
    /// readable eventTime. Its lifetime is the recorded `expiration`; when that is missing or
    /// unreadable, the requested `durationSeconds` or the API's default; never above 36 hours.
    pub fn from_report(report: &RecordReport) -> Option<Session> {
        let a = report.assumption.as_ref()?;
        if !a.succeeded {
            return None;
        }
        let key = a.access_key_id.clone().filter(|k| !k.is_empty())?;
        let issued_at = report
            .event_time
            .as_deref()
            .and_then(crate::core::time::parse)?;
        let default = a.duration_seconds.unwrap_or(match a.api.as_str() {
            "AssumeRoot" => ROOT_DEFAULT_SECONDS,
            "GetFederationToken" | "GetSessionToken" => TOKEN_DEFAULT_SECONDS,
            _ => ROLE_DEFAULT_SECONDS,
        });
        let expires_at = a
            .expires
            .as_deref()
            .and_then(crate::core::time::parse)
            .filter(|e| *e > issued_at)
            .unwrap_or(issued_at.saturating_add(default))
            .min(issued_at + MAX_LIFETIME_SECONDS);
        let p = &report.principal;
        Some(Session {
            key,
            api: a.api.clone(),
            issued_at,
            expires_at,
            role_arn: a.role_arn.clone(),
            session_name: a.session_name.clone(),
            source_identity: a.source_identity.clone(),
            account: a.target_account.clone(),
            task_policy: a.task_policy.clone(),
            event_id: owned(&report.event_id),
            issuer: Issuer {
                arn: owned(&p.arn),
                name: owned(&p.invoked_by)
                    .or_else(|| owned(&p.user_name))
                    .or_else(|| owned(&p.principal_id)),
                kind: owned(&p.kind),
                class: p.class,
                account_id: owned(&p.account_id),
                access_key_id: owned(&p.access_key_id),
            },
        })
    }

    /// `true` when a request at `at` can have used these credentials.
    pub fn live_at(&self, at: i64) -> bool {
        self.issued_at - CLOCK_SKEW <= at && at <= self.expires_at
    }

    /// Where the chain goes on: the issuer's own temporary key, at the time of this call.
    pub fn previous(&self) -> Option<(&str, i64)> {
        self.issuer
            .access_key_id
            .as_deref()
            .filter(|k| k.starts_with(TEMPORARY_KEY_PREFIX) && *k != self.key)
            .map(|k| (k, self.issued_at))
    }

    pub fn hop(&self) -> Hop {
        Hop {
            api: self.api.clone(),
            role_arn: self.role_arn.clone(),
            session_name: self.session_name.clone(),
            account: self.account.clone(),
            source_identity: self.source_identity.clone(),
            task_policy: self.task_policy.clone(),
            access_key_id: self.key.clone(),
            issued: crate::core::time::format(self.issued_at),
            expires: crate::core::time::format(self.expires_at),
            event_id: self.event_id.clone(),
        }
    }
}

/// `true` for keys worth looking up: only temporary keys can have been issued by a tracked call.
pub fn is_temporary(key: &str) -> bool {
    key.starts_with(TEMPORARY_KEY_PREFIX)
}

/// Of the sessions recorded for one key (keys can be reused after expiry), the one live at `at`;
/// the most recently issued when several are.
pub fn pick(sessions: &[Session], at: i64) -> Option<&Session> {
    sessions
        .iter()
        .filter(|s| s.live_at(at))
        .max_by_key(|s| (s.issued_at, s.expires_at))
}

/// [`pick`] for the key a record used, leaving out the session the record issued itself: a call
/// cannot be made with the key it returns (the AWS docs' AssumeRoot example shows one example key
/// on both sides). The record is known by its eventID (`own_event`), or, without one, as the call
/// at the same time made with the same key.
pub fn pick_for_record<'s>(
    sessions: &'s [Session],
    at: i64,
    own_event: Option<&str>,
) -> Option<&'s Session> {
    let own = |s: &Session| match own_event {
        Some(id) => s.event_id.as_deref() == Some(id),
        None => {
            s.event_id.is_none()
                && s.issued_at == at
                && s.issuer.access_key_id.as_deref() == Some(s.key.as_str())
        }
    };
    sessions
        .iter()
        .filter(|s| s.live_at(at) && !own(s))
        .max_by_key(|s| (s.issued_at, s.expires_at))
}

/// The origin of a chain given from the last hop back to the first.
pub fn origin_of_chain(mut hops: Vec<&Session>) -> Option<Origin> {
    hops.reverse();
    let first = hops.first()?;
    Some(Origin {
        arn: first.issuer.arn.clone(),
        name: first.issuer.name.clone(),
        kind: first.issuer.kind.clone(),
        class: first.issuer.class,
        account_id: first.issuer.account_id.clone(),
        chain: hops.iter().map(|s| s.hop()).collect(),
    })
}

/// What [`SessionTracker::learn`] did with a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    New,
    /// The same key and issue time is already known (a duplicate delivery).
    Known,
    /// The tracker is full and every tracked session expires later: this one was not kept.
    Dropped,
}

/// Sessions in memory, bounded: at capacity, the session that expires first is forgotten, so the
/// set kept does not depend on the order sessions were learned in.
#[derive(Debug)]
pub struct SessionTracker {
    by_key: HashMap<String, Vec<Session>>,
    by_expiry: BTreeSet<(i64, String, i64)>,
    capacity: usize,
    /// Sessions forgotten because the tracker was full.
    pub evicted: u64,
    /// Sessions dropped by [`SessionTracker::prune`] because they had expired.
    pub expired: u64,
}

impl Default for SessionTracker {
    fn default() -> Self {
        SessionTracker::new(MEMORY_CAPACITY)
    }
}

impl SessionTracker {
    pub fn new(capacity: usize) -> Self {
        SessionTracker {
            by_key: HashMap::new(),
            by_expiry: BTreeSet::new(),
            capacity: capacity.max(1),
            evicted: 0,
            expired: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.by_expiry.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_expiry.is_empty()
    }

    /// Remembers a session.
    pub fn learn(&mut self, session: Session) -> Learned {
        let id = (session.expires_at, session.key.clone(), session.issued_at);
        if self
            .by_key
            .get(&session.key)
            .is_some_and(|v| v.iter().any(|s| s.issued_at == session.issued_at))
        {
            return Learned::Known;
        }
        if self.by_expiry.len() >= self.capacity {
            let first = self.by_expiry.first().cloned().expect("full is not empty");
            if id <= first {
                self.evicted += 1;
                return Learned::Dropped;
            }
            self.remove(&first);
            self.evicted += 1;
        }
        self.by_expiry.insert(id);
        // Keys are rarely reused: room for one session, not the default four.
        self.by_key
            .entry(session.key.clone())
            .or_insert_with(|| Vec::with_capacity(1))
            .push(session);
        Learned::New
    }

    fn remove(&mut self, id: &(i64, String, i64)) {
        let (_, key, issued) = id;
        self.by_expiry.remove(id);
        if let Some(v) = self.by_key.get_mut(key) {
            v.retain(|s| s.issued_at != *issued);
            if v.is_empty() {
                self.by_key.remove(key);
            }
        }
    }

    /// Forgets every session expired before `now` (less the clock skew). Returns how many.
    pub fn prune(&mut self, now: i64) -> usize {
        let mut n = 0;
        while let Some(first) = self.by_expiry.first().cloned() {
            if first.0 + CLOCK_SKEW >= now {
                break;
            }
            self.remove(&first);
            n += 1;
        }
        self.expired += n as u64;
        n
    }

    /// Every session, for merging trackers.
    pub fn into_sessions(self) -> impl Iterator<Item = Session> {
        self.by_key.into_values().flatten()
    }

    /// Every session recorded for `key`.
    pub fn sessions(&self, key: &str) -> &[Session] {
        self.by_key.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The session of `key` live at `at`.
    pub fn get(&self, key: &str, at: i64) -> Option<&Session> {
        pick(self.sessions(key), at)
    }

    /// Walks a chain back from the key a record used (at its time `at`; `own_event` is the
    /// record's eventID). Returns the hops found, last first, and the link where the walk stopped
    /// for want of a session (`None` when the chain ended at a principal that is not a session).
    pub fn walk(
        &self,
        key: &str,
        at: i64,
        own_event: Option<&str>,
    ) -> (Vec<&Session>, Option<(String, i64)>) {
        let mut hops: Vec<&Session> = Vec::new();
        let mut next = Some((key, at));
        while let Some((k, t)) = next.take() {
            if hops.len() >= MAX_CHAIN {
                break;
            }
            let all = self.sessions(k);
            let found = if hops.is_empty() {
                pick_for_record(all, t, own_event)
            } else {
                pick(all, t)
            };
            let Some(found) = found else {
                return (hops, Some((k.to_owned(), t)));
            };
            if hops
                .iter()
                .any(|h| h.key == found.key && h.issued_at == found.issued_at)
            {
                break;
            }
            next = found.previous();
            hops.push(found);
        }
        (hops, None)
    }

    /// The origin of a request made with `key` at `at` by the record `own_event` (its eventID).
    pub fn origin(&self, key: &str, at: i64, own_event: Option<&str>) -> Option<Origin> {
        if !self.by_key.contains_key(key) {
            return None;
        }
        origin_of_chain(self.walk(key, at, own_event).0)
    }

    /// The first link of the chain from (`key`, `at`) that is not known here: what a shared store
    /// should be asked for before [`SessionTracker::origin`].
    pub fn missing_link(
        &self,
        key: &str,
        at: i64,
        own_event: Option<&str>,
    ) -> Option<(String, i64)> {
        self.walk(key, at, own_event).1
    }

    /// Learns a session in streaming use: at capacity, sessions expired before it was issued go
    /// first.
    pub fn learn_live(&mut self, session: Session) -> Learned {
        if self.len() >= self.capacity {
            self.prune(session.issued_at);
        }
        self.learn(session)
    }

    /// Streaming use (the function): the origin of the report's record from what is known so
    /// far, then learns the session the record issued, if any. Expired sessions are dropped
    /// relative to the record's own time.
    pub fn observe(&mut self, report: &RecordReport) -> (Option<Origin>, Option<Session>) {
        let at = report
            .event_time
            .as_deref()
            .and_then(crate::core::time::parse);
        let origin = match (report.principal.access_key_id.as_deref(), at) {
            (Some(k), Some(at)) => self.origin(k, at, report.event_id.as_deref()),
            _ => None,
        };
        let issued = Session::from_report(report);
        if let Some(s) = &issued {
            self.learn_live(s.clone());
        }
        (origin, issued)
    }
}

fn owned(s: &Option<crate::core::model::Str>) -> Option<String> {
    s.as_deref().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(key: &str, issuer_key: Option<&str>, issued: i64, expires: i64) -> Session {
        Session {
            key: key.into(),
            api: "AssumeRole".into(),
            issued_at: issued,
            expires_at: expires,
            role_arn: Some(format!("arn:aws:iam::111122223333:role/{key}")),
            session_name: None,
            source_identity: None,
            account: Some("111122223333".into()),
            task_policy: None,
            event_id: None,
            issuer: Issuer {
                arn: Some(format!("issuer-of-{key}")),
                name: None,
                kind: Some("AssumedRole".into()),
                class: PrincipalClass::RoleSession,
                account_id: None,
                access_key_id: issuer_key.map(Into::into),
            },
        }
    }

    fn chain_keys(o: &Origin) -> Vec<&str> {
        o.chain.iter().map(|h| h.access_key_id.as_str()).collect()
    }

    #[test]
    fn huge_duration_is_capped_not_overflowed() {
        let json = r#"{"eventName":"AssumeRole","eventTime":"2026-11-20T09:00:00Z","requestParameters":{"durationSeconds":"9223372036854775807"},"responseElements":{"credentials":{"accessKeyId":"ASIAHUGE"}}}"#;
        let rec = crate::core::record::Record::from_json(json).unwrap();
        let input = crate::core::model::InputRef {
            file: "t".into(),
            index: 0,
        };
        let report = crate::core::pipeline::analyze(
            &rec,
            input,
            None,
            &crate::core::rules::RuleConfig::NONE,
        );
        let s = Session::from_report(&report).unwrap();
        assert_eq!(s.expires_at - s.issued_at, MAX_LIFETIME_SECONDS);
    }

    #[test]
    fn walks_a_chain_to_its_first_principal() {
        let mut t = SessionTracker::default();
        t.learn(session("ASIA1", Some("AKIAUSER"), 100, 4000));
        t.learn(session("ASIA2", Some("ASIA1"), 200, 4000));
        t.learn(session("ASIA3", Some("ASIA2"), 300, 4000));
        let o = t.origin("ASIA3", 500, None).unwrap();
        assert_eq!(chain_keys(&o), ["ASIA1", "ASIA2", "ASIA3"]);
        assert_eq!(o.arn.as_deref(), Some("issuer-of-ASIA1"));
    }

    #[test]
    fn expired_key_does_not_match() {
        let mut t = SessionTracker::default();
        t.learn(session("ASIA1", None, 100, 1000));
        assert!(t.origin("ASIA1", 1000, None).is_some());
        assert!(t.origin("ASIA1", 1001, None).is_none());
        assert!(t.origin("ASIA1", 100 - CLOCK_SKEW - 1, None).is_none());
    }

    #[test]
    fn reused_key_matches_the_live_issue() {
        let mut t = SessionTracker::default();
        t.learn(session("ASIA1", Some("ASIAOLD"), 100, 1000));
        let mut again = session("ASIA1", Some("ASIANEW"), 5000, 9000);
        again.issuer.arn = Some("second".into());
        t.learn(again);
        assert_eq!(t.get("ASIA1", 500).unwrap().issued_at, 100);
        assert_eq!(t.get("ASIA1", 6000).unwrap().issued_at, 5000);
        assert!(t.get("ASIA1", 3000).is_none());
    }

    #[test]
    fn chain_link_must_be_live_when_the_next_hop_was_issued() {
        let mut t = SessionTracker::default();
        t.learn(session("ASIA1", None, 100, 200));
        t.learn(session("ASIA2", Some("ASIA1"), 300, 4000));
        let o = t.origin("ASIA2", 400, None).unwrap();
        assert_eq!(chain_keys(&o), ["ASIA2"]);
    }

    #[test]
    fn a_loop_in_forged_data_ends() {
        let mut t = SessionTracker::default();
        t.learn(session("ASIA1", Some("ASIA2"), 100, 4000));
        t.learn(session("ASIA2", Some("ASIA1"), 100, 4000));
        let o = t.origin("ASIA1", 500, None).unwrap();
        assert_eq!(o.chain.len(), 2);
    }

    #[test]
    fn capacity_keeps_the_latest_expiring_whatever_the_order() {
        let all: Vec<Session> = (0..10)
            .map(|i| session(&format!("ASIA{i}"), None, 0, 1000 + i))
            .collect();
        let kept = |order: &[usize]| {
            let mut t = SessionTracker::new(3);
            for &i in order {
                t.learn(all[i].clone());
            }
            assert_eq!(t.evicted, 7);
            let mut keys: Vec<String> = (0..10)
                .filter(|i| t.get(&format!("ASIA{i}"), 10).is_some())
                .map(|i| format!("ASIA{i}"))
                .collect();
            keys.sort();
            keys
        };
        let forward: Vec<usize> = (0..10).collect();
        let backward: Vec<usize> = (0..10).rev().collect();
        assert_eq!(kept(&forward), ["ASIA7", "ASIA8", "ASIA9"]);
        assert_eq!(kept(&backward), kept(&forward));
    }

    #[test]
    fn duplicate_is_known_and_prune_drops_expired() {
        let mut t = SessionTracker::default();
        assert_eq!(t.learn(session("ASIA1", None, 0, 100)), Learned::New);
        assert_eq!(t.learn(session("ASIA1", None, 0, 100)), Learned::Known);
        t.learn(session("ASIA2", None, 0, 10_000));
        assert_eq!(t.prune(100 + CLOCK_SKEW + 1), 1);
        assert_eq!(t.len(), 1);
        assert!(t.sessions("ASIA1").is_empty());
    }

    #[test]
    fn a_call_is_not_made_with_the_key_it_returns() {
        let mut t = SessionTracker::default();
        let mut s = session("ASIA1", Some("ASIA1"), 100, 1000);
        s.event_id = Some("issuing".into());
        t.learn(s);
        assert!(t.origin("ASIA1", 100, Some("issuing")).is_none());
        assert!(t.origin("ASIA1", 200, Some("later")).is_some());
        let mut t = SessionTracker::default();
        t.learn(session("ASIA2", Some("ASIA2"), 100, 1000));
        assert!(
            t.origin("ASIA2", 100, None).is_none(),
            "same call, no eventIDs"
        );
        assert!(t.origin("ASIA2", 101, None).is_some());
    }

    #[test]
    fn observe_attributes_from_what_came_before_and_learns() {
        use crate::core::pipeline::analyze;
        use crate::core::record::Record;
        let report = |json: &str| {
            let r = Record::from_json(json).unwrap();
            let input = crate::core::model::InputRef {
                file: "t".into(),
                index: 0,
            };
            analyze(&r, input, None, &crate::core::rules::RuleConfig::NONE)
        };
        let issue = report(
            r#"{"eventID":"i","eventTime":"2026-11-20T09:00:00Z","eventName":"AssumeRole","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/alice","accessKeyId":"AKIAA"},"requestParameters":{"roleArn":"arn:aws:iam::1:role/R"},"responseElements":{"credentials":{"accessKeyId":"ASIAR","expiration":"Nov 20, 2026, 10:00:00 AM"}}}"#,
        );
        let use_ = report(
            r#"{"eventID":"u","eventTime":"2026-11-20T09:30:00Z","eventName":"ListBuckets","userIdentity":{"type":"AssumedRole","accessKeyId":"ASIAR"}}"#,
        );
        let mut t = SessionTracker::default();
        assert_eq!(t.observe(&use_).0, None, "the use came first");
        let (origin, issued) = t.observe(&issue);
        assert_eq!(origin, None);
        assert_eq!(issued.unwrap().key, "ASIAR");
        let (origin, _) = t.observe(&use_);
        assert_eq!(
            origin.unwrap().arn.as_deref(),
            Some("arn:aws:iam::1:user/alice")
        );
        assert_eq!(t.missing_link("ASIAR", 1, None), Some(("ASIAR".into(), 1)));
    }

    #[test]
    fn long_term_keys_end_the_walk() {
        let s = session("ASIA1", Some("AKIAUSER"), 0, 10);
        assert_eq!(s.previous(), None);
        assert!(is_temporary("ASIAX") && !is_temporary("AKIAX"));
    }
}
