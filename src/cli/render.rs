//! Output formats of `rootwatch replay`: `table` for a person, `jsonl` (the contract of
//! `design.md`) and `json` for machines.

use crate::core::model::{RecordReport, Severity};
use crate::replay::{InputError, Output, Stats};
use std::io::{self, Write};

/// One JSON object per record, one per line.
pub struct Jsonl<W: Write> {
    pub out: W,
}

impl<W: Write> Output for Jsonl<W> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, report)?;
        self.out.write_all(b"\n")
    }
    fn error(&mut self, _: &InputError) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Stats) -> io::Result<()> {
        self.out.flush()
    }
}

/// Renders one report as its `jsonl` line (without the newline).
pub fn jsonl_line(report: &RecordReport) -> String {
    serde_json::to_string(report).expect("reports serialise")
}

/// One JSON document `{"records": [...], "errors": [...], "summary": {...}}`, streamed.
pub struct Json<W: Write> {
    pub out: W,
    started: bool,
    errors: Vec<InputError>,
}

/// At most this many errors are kept for the JSON document (all are counted).
pub const MAX_KEPT_ERRORS: usize = 1000;

impl<W: Write> Json<W> {
    pub fn new(out: W) -> Self {
        Json {
            out,
            started: false,
            errors: Vec::new(),
        }
    }
    fn end_document(&mut self, stats: &Stats) -> io::Result<()> {
        if !self.started {
            self.out.write_all(b"{\"records\":[")?;
        }
        self.out.write_all(b"],\"errors\":")?;
        serde_json::to_writer(&mut self.out, &self.errors)?;
        self.out.write_all(b",\"summary\":")?;
        serde_json::to_writer(&mut self.out, stats)?;
        self.out.write_all(b"}\n")
    }
}

impl<W: Write> Output for Json<W> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        self.out.write_all(if self.started {
            b","
        } else {
            b"{\"records\":["
        })?;
        self.started = true;
        serde_json::to_writer(&mut self.out, report).map_err(io::Error::from)
    }
    fn error(&mut self, e: &InputError) -> io::Result<()> {
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(e.clone());
        }
        Ok(())
    }
    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        self.end_document(stats)?;
        self.out.flush()
    }
}

/// One line per finding for a person, then a summary.
pub struct Table<W: Write> {
    pub out: W,
    pub color: bool,
    /// On a terminal, the principal column is cut to this many characters (`…` marks the cut);
    /// `None` prints it whole (a pipe, a file; `jsonl` always has the full text).
    pub principal_width: Option<usize>,
}

/// The principal column's width on a terminal.
pub const TERMINAL_PRINCIPAL_WIDTH: usize = 60;

/// `s` cut to `width` characters, the last one `…` when cut.
pub fn cap(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn paint(color: bool, sev: Severity) -> (&'static str, &'static str) {
    if !color {
        return ("", "");
    }
    let on = match sev {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[36m",
        Severity::Info => "\x1b[2m",
    };
    (on, "\x1b[0m")
}

impl<W: Write> Table<W> {
    fn summary(&mut self, stats: &Stats) -> io::Result<()> {
        let w = &mut self.out;
        let total: u64 = stats.findings_by_rule.values().sum();
        if total == 0 && stats.files_read == 0 && stats.records == 0 && stats.errors > 0 {
            writeln!(w, "Nothing was read (see the errors above).")?;
        } else if total == 0 {
            writeln!(w, "No findings.")?;
        }
        writeln!(w)?;
        writeln!(w, "Summary")?;
        let mut files = format!("{}", stats.files_read);
        if stats.files_skipped > 0 {
            files += &format!(
                " ({} files not named *.json, *.jsonl, *.ndjson skipped)",
                stats.files_skipped
            );
        }
        if stats.digest_files_skipped > 0 {
            files += &format!(" ({} digest files skipped)", stats.digest_files_skipped);
        }
        writeln!(w, "  files read       {files}")?;
        writeln!(w, "  records read     {}", stats.records)?;
        if stats.not_cloudtrail_events > 0 {
            writeln!(
                w,
                "  other events     {} (EventBridge events without a CloudTrail record)",
                stats.not_cloudtrail_events
            )?;
        }
        writeln!(w, "  unreadable       {}", stats.errors)?;
        if stats.sessions_tracked > 0 || stats.sessions_evicted > 0 {
            let mut line = format!(
                "  sessions         {} issued in the input, {} records attributed to their origin",
                stats.sessions_tracked, stats.records_with_origin
            );
            if stats.sessions_evicted > 0 {
                line += &format!(
                    "; {} forgotten at capacity (raise --session-capacity)",
                    stats.sessions_evicted
                );
            }
            writeln!(w, "{line}")?;
        }
        writeln!(
            w,
            "  by principal     {}",
            join(stats.by_class.iter().map(|(k, v)| format!("{k} {v}")))
        )?;
        writeln!(
            w,
            "  findings         {total}{}",
            if total > 0 { ":" } else { "" }
        )?;
        for (rule, n) in &stats.findings_by_rule {
            writeln!(w, "    {rule:<28} {n}")?;
        }
        if total > 0 {
            let by_sev: Vec<String> = stats
                .findings_by_severity
                .iter()
                .rev()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            writeln!(w, "  by severity      {}", by_sev.join(", "))?;
        }
        if stats.suppressed > 0 {
            writeln!(
                w,
                "  suppressed       {} (findings covered by --suppressions; in jsonl/json)",
                stats.suppressed
            )?;
        }
        Ok(())
    }
}

/// The principal in a few words: the ARN's resource part without `assumed-role/`.
pub fn short_principal(p: &crate::core::model::Principal) -> String {
    let from_arn = p
        .arn
        .as_deref()
        .and_then(crate::core::classify::arn_resource)
        .map(|r| r.strip_prefix("assumed-role/").unwrap_or(r).to_owned());
    match (p.class, from_arn) {
        (crate::core::model::PrincipalClass::RootSession, _) => "root (AssumeRoot session)".into(),
        (_, Some(r)) if !r.is_empty() => r,
        _ => p
            .principal_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| p.class.to_string()),
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

impl<W: Write> Output for Table<W> {
    fn record(&mut self, r: &RecordReport) -> io::Result<()> {
        for f in r.findings.iter().filter(|f| !f.is_suppressed()) {
            let (on, off) = paint(self.color, f.severity);
            let mut who = short_principal(&r.principal);
            if let Some(o) = &r.origin {
                let short = o
                    .arn
                    .as_deref()
                    .and_then(crate::core::classify::arn_resource)
                    .map(|a| a.strip_prefix("assumed-role/").unwrap_or(a))
                    .unwrap_or(o.who());
                who.push_str(&format!(" ← {short}"));
            }
            if let Some(width) = self.principal_width {
                who = cap(&who, width);
            }
            let ip = r
                .source_ip
                .as_deref()
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default();
            writeln!(
                self.out,
                "{time:<20}  {account:<12}  {region:<9}  {on}{sev:<8}{off}  {who}  {title}{ip}",
                time = r.event_time.as_deref().unwrap_or("-"),
                account = r.principal.account_id.as_deref().unwrap_or("-"),
                region = r.aws_region.as_deref().unwrap_or("-"),
                sev = f.severity.as_str().to_uppercase(),
                title = f.title,
            )?;
        }
        Ok(())
    }
    fn error(&mut self, _: &InputError) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        self.summary(stats)?;
        self.out.flush()
    }
}
