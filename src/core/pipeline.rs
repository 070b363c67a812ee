//! One record in, one report out: classification, findings and assumption together.

use crate::core::model::{InputRef, Origin, PrincipalClass, RecordReport, Severity};
use crate::core::record::Record;
use crate::core::rules::{Context, RuleConfig};
use crate::core::sanitize::{clean, clean_str, text, MAX_FIELD, MAX_TEXT};
use std::borrow::Cow;

/// Analyses one record, given the origin of the session its key belongs to (session tracking)
/// and the rule settings. Pure: the same inputs always give the same report.
///
/// A `Root` record whose key was issued by `sts:AssumeRoot` is a privileged session
/// (`root_session`) even when `sessionContext.assumedRoot` is absent, as in the AWS docs'
/// member-account example.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html>
pub fn analyze(
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
pub fn session_lookup<'r>(record: &'r Record) -> Option<(Cow<'r, str>, i64)> {
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

/// Drops findings below `min` (the records themselves are kept).
pub fn filter_findings(report: &mut RecordReport, min: Severity) {
    report.findings.retain(|f| f.severity >= min);
}
