//! Suppressions: an operator's statement that some findings are expected for a while (a
//! break-glass drill, a known automation), read from a TOML file and applied to each report.
//!
//! ```toml
//! [[suppress]]
//! rule = "root-session"                 # optional: rule id
//! task = "s3-bucket-policy-unlock"      # optional: root-only task id
//! account = "444455556666"              # optional: account id, `*` globs
//! principal = "arn:aws:sts::111122223333:assumed-role/RootAccessAdmin/*"  # optional
//! source_ip = "198.51.100.0/24"         # optional: CIDR or one address
//! reason = "quarterly break-glass drill, SEC-1234"   # required
//! expires = 2027-01-31                  # required: a date, at most one year ahead
//! ```
//!
//! Every key present must match a finding for the entry to cover it. A covered finding is kept
//! and marked ([`crate::core::model::Finding::suppressed`]); the outputs decide what that
//! means (it leaves the table and the alerts). `detector-tamper` is never covered, and an entry
//! naming it is refused. Expiry is compared with the time the caller passes in (the wall clock
//! of the run, not the records' eventTime): an entry holds through its `expires` day (UTC).
//!
//! Everything is checked when the file is read; an error names the file, the line and the key.

use crate::core::model::{Finding, RecordReport, Rule, Suppressed, Task};
use crate::core::rules::glob;
use ::core::net::IpAddr;
use ipnet::IpNet;
use std::fmt;

/// A suppression file larger than this is refused (real ones are a few kilobytes).
pub const MAX_BYTES: usize = 1024 * 1024;
/// At most this many entries (each finding is compared with every entry).
pub const MAX_ENTRIES: usize = 1000;
/// Longest `reason`, in characters.
pub const MAX_REASON: usize = 500;
/// Longest `principal` pattern (IAM ARNs are at most 2048 characters).
pub const MAX_PATTERN: usize = 2048;
/// Seconds in a day.
const DAY: i64 = 86_400;

/// A calendar day (UTC), as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub i64);

impl Day {
    /// The UTC day of `t` (epoch seconds).
    pub fn of(t: i64) -> Day {
        Day(t.div_euclid(DAY))
    }

    pub(crate) fn from_ymd(y: i64, m: i64, d: i64) -> Option<Day> {
        crate::core::time::epoch(y, m, d, 0, 0, 0).map(Day::of)
    }

    /// The same date one year later (29 February: the 28th).
    pub(crate) fn one_year_later(self) -> Day {
        let text = self.to_string();
        let (y, m, d) = (
            text[..4].parse::<i64>().unwrap_or(1970),
            text[5..7].parse::<i64>().unwrap_or(1),
            text[8..10].parse::<i64>().unwrap_or(1),
        );
        Day::from_ymd(y + 1, m, d)
            .or_else(|| Day::from_ymd(y + 1, m, d - 1))
            .unwrap_or(Day(self.0 + 365))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = crate::core::time::format(self.0 * DAY);
        f.write_str(&t[..10])
    }
}

/// One entry of the file, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    pub rule: Option<Rule>,
    pub task: Option<Task>,
    /// Account id pattern (`*` globs): the record's account or the account a call opens a
    /// session in (`assumption.target_account`).
    pub account: Option<String>,
    /// ARN pattern (`*` globs): the principal's ARN or its session origin's ARN.
    pub principal: Option<String>,
    pub source_ip: Option<IpNet>,
    pub reason: String,
    /// The last day (UTC) the entry holds.
    pub expires: Day,
    /// The line of its `[[suppress]]` header.
    pub line: usize,
}

/// The entries of one file, in file order (the first entry that covers a finding is named).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suppressions {
    /// Where the entries were read from, for messages.
    pub file: String,
    pub entries: Vec<Suppression>,
}

/// Why a suppression file is refused: the file, the line, the key when there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct SuppressError {
    pub file: String,
    pub line: usize,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for SuppressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: line {}", self.file, self.line)?;
        if let Some(k) = &self.key {
            write!(f, ": key `{k}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Suppressions {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries that no longer hold at `now`: ignored, and worth a warning.
    pub fn expired(&self, now: i64) -> impl Iterator<Item = &Suppression> {
        let today = Day::of(now);
        self.entries.iter().filter(move |e| e.expires < today)
    }

    /// The first entry holding at `now` that covers `finding` of `report`.
    pub fn covering(
        &self,
        report: &RecordReport,
        finding: &Finding,
        now: i64,
    ) -> Option<&Suppression> {
        let today = Day::of(now);
        self.entries
            .iter()
            .find(|e| e.expires >= today && e.covers(report, finding))
    }

    /// Marks every finding of `report` an entry covers at `now`; returns how many were marked.
    pub fn apply(&self, report: &mut RecordReport, now: i64) -> usize {
        if self.entries.is_empty() {
            return 0;
        }
        let marks: Vec<Option<Suppressed>> = report
            .findings
            .iter()
            .map(|f| {
                self.covering(report, f, now).map(|e| Suppressed {
                    reason: e.reason.clone(),
                    expires: e.expires.to_string(),
                })
            })
            .collect();
        let mut n = 0;
        for (f, mark) in report.findings.iter_mut().zip(marks) {
            if mark.is_some() {
                n += 1;
                f.suppressed = mark;
            }
        }
        n
    }
}

impl Suppression {
    /// Whether every key present matches. `detector-tamper` is never covered.
    pub fn covers(&self, report: &RecordReport, finding: &Finding) -> bool {
        if finding.rule == Rule::DetectorTamper {
            return false;
        }
        let p = &report.principal;
        self.rule.is_none_or(|r| r == finding.rule)
            && self.task.is_none_or(|t| finding.task == Some(t))
            && self.account.as_deref().is_none_or(|pat| {
                p.account_id.as_deref().is_some_and(|a| glob(pat, a))
                    || report
                        .assumption
                        .as_ref()
                        .and_then(|a| a.target_account.as_deref())
                        .is_some_and(|a| glob(pat, a))
            })
            && self.principal.as_deref().is_none_or(|pat| {
                p.arn.as_deref().is_some_and(|a| glob(pat, a))
                    || report
                        .origin
                        .as_ref()
                        .and_then(|o| o.arn.as_deref())
                        .is_some_and(|a| glob(pat, a))
            })
            && self.source_ip.is_none_or(|net| {
                report
                    .source_ip
                    .as_deref()
                    .and_then(|ip| ip.parse::<IpAddr>().ok())
                    .is_some_and(|ip| net.contains(&ip))
            })
    }
}

mod parse;

#[cfg(test)]
mod tests;
