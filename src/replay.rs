//! `replay`: walk the given paths, decode every input, analyse every record, hand the reports to
//! an [`Output`]. Unreadable inputs are reported and skipped; everything readable is processed.

use crate::analyze::{analyze, filter_findings};
use crate::input::{self, DecodeError, Item, Stop};
use crate::model::{InputRef, PrincipalClass, RecordReport, Rule, Severity};
use crate::record::Record;
use crate::sanitize::{clean, MAX_FIELD};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// File names read when a directory is walked (each also with `.gz`).
pub const READ_EXTENSIONS: &[&str] = &[".json", ".jsonl", ".ndjson"];
/// CloudTrail digest files sit beside the logs in S3 and hold no records.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html>
pub const DIGEST_MARKER: &str = "CloudTrail-Digest";

/// An input (or part of one) that could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
pub struct InputError {
    pub file: String,
    /// 0-based record index within the file, when the error concerns one record.
    pub index: Option<u64>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}: record {i}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Where reports, errors and progress go.
pub trait Output {
    fn record(&mut self, report: &RecordReport) -> io::Result<()>;
    fn error(&mut self, err: &InputError) -> io::Result<()>;
    /// Called before each input is read (`n` of `total`, 0-based).
    fn input_started(&mut self, _name: &str, _n: usize, _total: usize) {}
    /// Called once after the last input: write any summary and flush.
    fn finish(&mut self, _stats: &Stats) -> io::Result<()> {
        Ok(())
    }
}

/// Counts of one replay.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Stats {
    pub files_read: u64,
    /// Files under a directory not named `*.json`, `*.jsonl`, `*.ndjson` (or `.gz` of those).
    pub files_skipped: u64,
    pub digest_files_skipped: u64,
    pub records: u64,
    /// EventBridge events that carry no CloudTrail record.
    pub not_cloudtrail_events: u64,
    /// Unreadable inputs: files, parts of files and records.
    pub errors: u64,
    pub by_class: BTreeMap<PrincipalClass, u64>,
    pub findings_by_rule: BTreeMap<Rule, u64>,
    pub findings_by_severity: BTreeMap<Severity, u64>,
}

/// One input to read.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => clean(&p.display().to_string(), 4 * MAX_FIELD),
            Source::Stdin => "<stdin>".into(),
        }
    }
}

/// Expands `paths` into the inputs to read: files as given, directories walked recursively in
/// file-name order. `-` is standard input.
pub fn plan(paths: &[PathBuf], stats: &mut Stats, out: &mut dyn Output) -> io::Result<Vec<Source>> {
    let mut sources = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            sources.push(Source::Stdin);
            continue;
        }
        if !path.is_dir() {
            sources.push(Source::File(path.clone()));
            continue;
        }
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let file = e.path().unwrap_or(path).display().to_string();
                    stats.errors += 1;
                    out.error(&InputError {
                        file: clean(&file, 4 * MAX_FIELD),
                        index: None,
                        message: e.to_string(),
                    })?;
                    continue;
                }
            };
            if entry.file_type().is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy();
            if name.contains(DIGEST_MARKER) {
                stats.digest_files_skipped += 1;
            } else if is_readable_name(&name) {
                sources.push(Source::File(entry.into_path()));
            } else {
                stats.files_skipped += 1;
            }
        }
    }
    Ok(sources)
}

/// `true` for `*.json`, `*.jsonl`, `*.ndjson` and their `.gz` forms.
pub fn is_readable_name(name: &str) -> bool {
    let base = name.strip_suffix(".gz").unwrap_or(name);
    READ_EXTENSIONS.iter().any(|e| base.ends_with(e))
}

fn is_lines_name(name: &str) -> bool {
    let base = name.strip_suffix(".gz").unwrap_or(name);
    base.ends_with(".jsonl") || base.ends_with(".ndjson")
}

/// Replays `paths`. Returns the counts; an `Err` only when the output failed (e.g. a closed pipe).
pub fn replay(paths: &[PathBuf], min: Severity, out: &mut dyn Output) -> io::Result<Stats> {
    let mut stats = Stats::default();
    let sources = plan(paths, &mut stats, out)?;
    let total = sources.len();
    for (n, source) in sources.iter().enumerate() {
        let name = source.name();
        out.input_started(&name, n, total);
        read_source(source, &name, min, &mut stats, out)?;
    }
    Ok(stats)
}

/// Reads one input into `out`.
pub fn read_source(
    source: &Source,
    name: &str,
    min: Severity,
    stats: &mut Stats,
    out: &mut dyn Output,
) -> io::Result<()> {
    let result = match source {
        Source::Stdin => decode(io::stdin().lock(), false, name, min, stats, out),
        Source::File(path) => match std::fs::File::open(path) {
            Ok(f) => decode(f, is_lines_name(&path_name(path)), name, min, stats, out),
            Err(e) => Err(DecodeError::Io(e)),
        },
    };
    match result {
        Ok(()) => {
            stats.files_read += 1;
            Ok(())
        }
        Err(DecodeError::Stopped(e)) => Err(e),
        Err(e) => {
            stats.files_read += 1;
            stats.errors += 1;
            out.error(&InputError {
                file: name.to_owned(),
                index: None,
                message: e.to_string(),
            })
        }
    }
}

fn path_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Decodes one reader (plain or gzip) and analyses each record.
pub fn decode<R: io::Read>(
    reader: R,
    lines: bool,
    name: &str,
    min: Severity,
    stats: &mut Stats,
    out: &mut dyn Output,
) -> Result<(), DecodeError> {
    let reader = input::maybe_gunzip(reader)?;
    let mut sink = |item: Item<'_>| -> Result<(), Stop> {
        match item {
            Item::Record {
                index,
                json,
                envelope,
            } => match Record::from_json(json) {
                Ok(rec) if envelope.is_none() && !has_record_keys(&rec) => {
                    stats.errors += 1;
                    let message = "not a CloudTrail record: none of eventName, eventSource, eventTime, eventVersion, userIdentity".to_owned();
                    out.error(&InputError {
                        file: name.to_owned(),
                        index: Some(index),
                        message,
                    })
                    .map_err(Stop)
                }
                Ok(rec) => {
                    let mut report = analyze(
                        &rec,
                        InputRef {
                            file: name.to_owned(),
                            index,
                        },
                    );
                    filter_findings(&mut report, min);
                    count(stats, &report);
                    out.record(&report).map_err(Stop)
                }
                Err(e) => {
                    stats.errors += 1;
                    let message = format!("not a CloudTrail record: {e}");
                    out.error(&InputError {
                        file: name.to_owned(),
                        index: Some(index),
                        message,
                    })
                    .map_err(Stop)
                }
            },
            Item::NotCloudTrail { .. } => {
                stats.not_cloudtrail_events += 1;
                Ok(())
            }
            Item::Bad { index, reason } => {
                stats.errors += 1;
                out.error(&InputError {
                    file: name.to_owned(),
                    index: Some(index),
                    message: reason,
                })
                .map_err(Stop)
            }
        }
    };
    if lines {
        input::decode_lines(reader, &mut sink)
    } else {
        input::decode_stream(reader, &mut sink)
    }
}

fn has_record_keys(r: &Record) -> bool {
    r.event_name.is_some()
        || r.event_source.is_some()
        || r.event_time.is_some()
        || r.event_version.is_some()
        || r.user_identity.is_some()
}

fn count(stats: &mut Stats, report: &RecordReport) {
    stats.records += 1;
    *stats.by_class.entry(report.principal.class).or_default() += 1;
    for f in &report.findings {
        *stats.findings_by_rule.entry(f.rule).or_default() += 1;
        *stats.findings_by_severity.entry(f.severity).or_default() += 1;
    }
}
