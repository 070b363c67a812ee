//! One record in, one report out: classification, findings and assumption together.

use crate::model::{InputRef, RecordReport, Severity};
use crate::record::Record;
use crate::sanitize::{clean, field, MAX_TEXT};

/// Analyses one record. Pure: the same record always gives the same report.
pub fn analyze(record: &Record, input: InputRef) -> RecordReport {
    let principal = crate::classify::classify(record);
    let findings = crate::rules::evaluate(record, &principal);
    let assumption = crate::assume::extract(record, &principal);
    RecordReport {
        event_id: field(record.event_id.as_deref()),
        event_name: field(record.event_name.as_deref()),
        event_source: field(record.event_source.as_deref()),
        event_time: field(record.event_time.as_deref()),
        aws_region: field(record.aws_region.as_deref()),
        source_ip: field(record.source_ip_address.as_deref()),
        user_agent: record.user_agent.as_deref().map(|u| clean(u, MAX_TEXT)),
        error_code: field(record.error_code.as_deref()),
        read_only: record.is_read_only(),
        principal,
        findings,
        assumption,
        origin: None,
        input,
    }
}

/// Drops findings below `min` (the records themselves are kept).
pub fn filter_findings(report: &mut RecordReport, min: Severity) {
    report.findings.retain(|f| f.severity >= min);
}
