//! The one per-record pipeline: JSON text of one record → [`Record`] → session origin →
//! classification → rules → assumption → [`RecordReport`]. Replay (both passes), every input of
//! the function (EventBridge, SQS, S3 notifications, Batch Operations) and the fuzz targets call
//! [`Pipeline`]; nothing else builds a report.
//!
//! Sessions are looked up through [`Origins`], a synchronous view: replay passes its
//! [`SessionTracker`]; the function first copies what its shared table knows into its memory
//! (an adapter's job: [`Pipeline::lookup`] says which key), then passes that memory.

use crate::core::model::{InputRef, Origin, PrincipalClass, RecordReport, Severity};
use crate::core::record::Record;
use crate::core::rules::{Context, RuleConfig};
use crate::core::sanitize::{clean, clean_str, field, text, MAX_FIELD, MAX_TEXT};
use crate::core::session::{Session, SessionTracker};
use std::borrow::Cow;

/// Where the origin of a session is looked up: the access key a record uses, the record's time,
/// and its own eventID (a record never belongs to the session it issued itself).
pub trait Origins {
    fn origin(&self, key: &str, at: i64, own_event: Option<&str>) -> Option<Origin>;
}

impl Origins for SessionTracker {
    fn origin(&self, key: &str, at: i64, own_event: Option<&str>) -> Option<Origin> {
        SessionTracker::origin(self, key, at, own_event)
    }
}

/// No sessions known: every origin is `None`.
pub struct NoOrigins;

impl Origins for NoOrigins {
    fn origin(&self, _: &str, _: i64, _: Option<&str>) -> Option<Origin> {
        None
    }
}

/// Why one decoded value is not analysed. Its text is what replay prints after the file name and
/// record index, and what the function logs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotARecord {
    /// The JSON does not have a record's shape (a field of the wrong type, not an object…).
    #[error("not a CloudTrail record: {0}")]
    Shape(String),
    /// An object without any of the keys every CloudTrail record has (only checked for values
    /// that did not come in an EventBridge envelope: the envelope already says it is CloudTrail).
    #[error("not a CloudTrail record: none of eventName, eventSource, eventTime, eventVersion, userIdentity")]
    NoRecordKeys,
}

/// A session to look up before analysing a record: its temporary key, its time, its eventID.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup<'r> {
    pub key: Cow<'r, str>,
    pub at: i64,
    pub own_event: Option<String>,
}

/// The per-record pipeline, configured once: the rule settings and the lowest severity kept.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub rules: RuleConfig,
    /// Findings below this severity are dropped from the report (the record is kept).
    pub min: Severity,
    /// Thresholds and windows of the pattern rules.
    pub patterns: crate::core::patterns::PatternConfig,
}

impl Pipeline {
    pub fn new(rules: RuleConfig, min: Severity) -> Self {
        Pipeline {
            rules,
            min,
            patterns: Default::default(),
        }
    }

    /// Step 1: one decoded value's JSON text as a record. `enveloped`: it came as the `detail` of
    /// an EventBridge event.
    pub fn parse<'j>(&self, json: &'j str, enveloped: bool) -> Result<Record<'j>, NotARecord> {
        let rec = Record::from_json(json).map_err(|e| NotARecord::Shape(e.to_string()))?;
        if !enveloped && !has_record_keys(&rec) {
            return Err(NotARecord::NoRecordKeys);
        }
        Ok(rec)
    }

    /// Which session a record's origin is looked up by, if any (records with a temporary key).
    pub fn lookup<'r>(rec: &'r Record<'_>) -> Option<Lookup<'r>> {
        let (key, at) = session_lookup(rec)?;
        Some(Lookup {
            key,
            at,
            own_event: field(rec.event_id.as_deref()),
        })
    }

    /// Whether a record may be the member-account side of an AssumeRoot session whose
    /// `AssumeRoot` call has not been seen yet: a `Root` identity using a temporary (`ASIA`) key,
    /// not from a console sign-in, whose session is unknown, and that would alert as
    /// `root-credential-use`. AWS's own example of such a request carries no `assumedRoot`
    /// flag, so only the session (when its `AssumeRoot` arrives) tells it from root itself.
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html>
    pub fn awaits_issuing_call(rec: &Record<'_>, report: &RecordReport) -> bool {
        let p = &report.principal;
        p.class == PrincipalClass::Root
            && report.origin.is_none()
            && p.access_key_id
                .as_deref()
                .is_some_and(crate::core::session::is_temporary)
            && !rec
                .session_credential_from_console
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            && p.invoked_by.is_none()
            && report
                .findings
                .iter()
                .any(|f| f.rule == crate::core::model::Rule::RootCredentialUse)
    }

    /// Step 2: the report of a parsed record, its origin looked up in `sessions`.
    pub fn report(
        &self,
        rec: &Record<'_>,
        input: InputRef,
        sessions: &dyn Origins,
    ) -> RecordReport {
        let origin =
            Self::lookup(rec).and_then(|l| sessions.origin(&l.key, l.at, l.own_event.as_deref()));
        let mut report = analyze(rec, input, origin, &self.rules);
        report.findings.retain(|f| f.severity >= self.min);
        report
    }

    /// Step 3, once every finding of the record is known (the pattern rules' too): marks the
    /// findings an entry of `suppressions` covers at `now` (epoch seconds, the wall clock of the
    /// run: a suppression is a statement about the present, so a backfill of old records is
    /// judged by today's file). Returns how many were marked. `detector-tamper` is never.
    pub fn suppress(
        &self,
        report: &mut RecordReport,
        suppressions: &crate::core::suppress::Suppressions,
        now: i64,
    ) -> usize {
        suppressions.apply(report, now)
    }

    /// Both steps over one decoded value.
    pub fn run(
        &self,
        json: &str,
        enveloped: bool,
        input: InputRef,
        sessions: &dyn Origins,
    ) -> Result<RecordReport, NotARecord> {
        let rec = self.parse(json, enveloped)?;
        Ok(self.report(&rec, input, sessions))
    }

    /// What the pattern rules see in a record (pass 1 of replay), and the session its key
    /// belongs to (key, time, own eventID), to find the caller's origin once every session is
    /// known. Only text that may hold one ([`may_be_observed`]) is parsed.
    #[allow(clippy::type_complexity)]
    pub fn observed(
        json: &str,
        file: &str,
        index: u64,
    ) -> Option<(
        crate::core::patterns::Observation,
        Option<(String, i64, Option<String>)>,
    )> {
        if !may_be_observed(json.as_bytes()) {
            return None;
        }
        let rec = Record::from_json(json).ok()?;
        let input = InputRef {
            file: file.to_owned(),
            index,
        };
        let obs = crate::core::patterns::observe(&analyze(&rec, input, None, &RuleConfig::NONE))?;
        let lookup = Self::lookup(&rec).map(|l| (l.key.into_owned(), l.at, l.own_event));
        Some((obs, lookup))
    }

    /// The session a record issues, if any: the cheap path of replay's first pass and of the
    /// function's first pass over a log file. Only text holding a `"credentials"` key is parsed
    /// ([`issues_credentials`]); only the session APIs are analysed, and only they cost the
    /// input's name (`file`, record `index`) an allocation.
    pub fn session_issued(json: &str, file: &str, index: u64) -> Option<Session> {
        if !issues_credentials(json.as_bytes()) {
            return None;
        }
        let rec = Record::from_json(json).ok()?;
        if !crate::core::assume::SESSION_APIS.contains(&rec.event_name()) {
            return None;
        }
        let input = InputRef {
            file: file.to_owned(),
            index,
        };
        Session::from_report(&analyze(&rec, input, None, &RuleConfig::NONE))
    }
}

/// A cheap test on a record's (or a file's) text before parsing it for the pattern rules: only
/// a `ConsoleLogin` or an `AssumeRoot` record can be observed
/// ([`crate::core::patterns::observe`]).
pub fn may_be_observed(text: &[u8]) -> bool {
    static LOGIN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"ConsoleLogin"));
    static ASSUME_ROOT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"AssumeRoot"));
    LOGIN.find(text).is_some() || ASSUME_ROOT.find(text).is_some()
}

/// A session is learned only from a response that carries `credentials.accessKeyId`, so a
/// record whose text lacks this key cannot issue one: a cheap test on a record's (or a whole
/// file's) raw text before parsing it (one SIMD substring search instead of a parse).
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_ResponseElements>
pub fn issues_credentials(text: &[u8]) -> bool {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(SESSION_MARKER));
    FINDER.find(text).is_some()
}

const SESSION_MARKER: &str = "\"credentials\"";

fn has_record_keys(r: &Record) -> bool {
    r.event_name.is_some()
        || r.event_source.is_some()
        || r.event_time.is_some()
        || r.event_version.is_some()
        || r.user_identity.is_some()
}

/// Analyses one record, given the origin of the session its key belongs to (session tracking)
/// and the rule settings. Pure: the same inputs always give the same report.
///
/// A `Root` record whose key was issued by `sts:AssumeRoot` is a privileged session
/// (`root_session`) even when `sessionContext.assumedRoot` is absent, as in the AWS docs'
/// member-account example.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html>
pub(crate) fn analyze(
    record: &Record,
    input: InputRef,
    origin: Option<Origin>,
    config: &RuleConfig,
) -> RecordReport {
    let mut principal = crate::core::classify::classify(record);
    if principal.class == PrincipalClass::Root
        && origin
            .as_ref()
            .and_then(Origin::last)
            .is_some_and(|h| h.api == crate::core::rules::ASSUME_ROOT)
    {
        principal.class = PrincipalClass::RootSession;
    }
    let ctx = Context {
        origin: origin.as_ref(),
        config,
    };
    let findings = crate::core::rules::evaluate(record, &principal, &ctx);
    let assumption = crate::core::assume::extract(record, &principal);
    RecordReport {
        event_id: text(record.event_id.as_deref()),
        event_name: text(record.event_name.as_deref()),
        event_source: text(record.event_source.as_deref()),
        event_time: text(record.event_time.as_deref()),
        aws_region: text(record.aws_region.as_deref()),
        source_ip: text(record.source_ip_address.as_deref()),
        user_agent: record.user_agent.as_deref().map(|u| clean_str(u, MAX_TEXT)),
        error_code: text(record.error_code.as_deref()),
        read_only: record.is_read_only(),
        principal,
        findings,
        assumption,
        origin,
        input,
    }
}

/// The key and time to look a record's session up by: its `userIdentity.accessKeyId` (sanitised
/// as in the report, so it joins with the issued keys) when temporary, and its eventTime.
fn session_lookup<'r>(record: &'r Record) -> Option<(Cow<'r, str>, i64)> {
    let key = record.user_identity.as_ref()?.access_key_id.as_deref()?;
    if !crate::core::session::is_temporary(key) {
        return None;
    }
    let at = crate::core::time::parse(record.event_time.as_deref()?)?;
    // Real keys are short and alphanumeric: sanitising would not change them.
    let key = if key.len() <= MAX_FIELD && key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(clean(key, MAX_FIELD))
    };
    Some((key, at))
}
