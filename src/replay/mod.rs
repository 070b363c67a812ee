//! `replay`: walk the given paths, decode every input, analyse every record, hand the reports to
//! an [`Output`]. Unreadable inputs are reported and skipped; everything readable is processed.
//!
//! Two passes: the first learns every session issued anywhere in the input (session-issuing STS
//! calls only), the second analyses every record with the sessions known. So a record is
//! attributed as if all records had been processed in eventTime order, whatever the order of
//! files and of records in them, while only one record is held at a time. Output keeps the input
//! order. Standard input is read once into memory for the two passes.

use crate::core::model::{InputRef, PrincipalClass, RecordReport, Rule, Severity};
use crate::core::pipeline::{issues_credentials, may_be_observed, Pipeline};
use crate::core::session::{Learned, SessionTracker};
use crate::input::walk::{is_lines_name, path_name, Walked};
pub use crate::input::walk::{
    InputError, Inputs, Source, SourceRef, DIGEST_MARKER, READ_EXTENSIONS,
};
use crate::input::{self, DecodeError, Item, Stop};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

/// Where reports, errors and progress go.
pub trait Output {
    fn record(&mut self, report: &RecordReport) -> io::Result<()>;
    /// [`Output::record`] with ownership, for outputs that keep the report (no copy).
    fn take(&mut self, report: RecordReport) -> io::Result<()> {
        self.record(&report)
    }
    fn error(&mut self, err: &InputError) -> io::Result<()>;
    /// Called before each pass over the inputs: 1 learns the sessions, 2 reports every record.
    fn pass_started(&mut self, _pass: u8) {}
    /// Called before each input is read in a pass (`n` of `total`, 0-based; `total` counts each
    /// input once, whatever the pass).
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
    /// Serialised most severe first, the order of the table's summary.
    #[serde(serialize_with = "most_severe_first")]
    pub findings_by_severity: BTreeMap<Severity, u64>,
    /// Sessions learned from session-issuing calls in the input.
    pub sessions_tracked: u64,
    /// Sessions forgotten because the tracker was full (`--session-capacity`).
    pub sessions_evicted: u64,
    /// Records attributed to an origin.
    pub records_with_origin: u64,
    /// Findings a suppression covers (`--suppressions`): kept in the reports, not counted in
    /// `findings_by_rule` / `findings_by_severity`.
    pub suppressed: u64,
}

fn most_severe_first<S: serde::Serializer>(
    m: &BTreeMap<Severity, u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().rev())
}

/// What a replay does besides reading: the findings kept, the rule settings, the session store.
#[derive(Debug, Clone)]
pub struct Options {
    /// The per-record pipeline: rule settings and the lowest severity of the findings kept.
    pub pipeline: Pipeline,
    /// Capacity of the in-memory session tracker.
    pub session_capacity: usize,
    /// Files read at once (1: one at a time, streaming).
    pub threads: usize,
    /// The suppressions applied to every report (`--suppressions`; none by default).
    pub suppressions: crate::core::suppress::Suppressions,
    /// The wall clock of the run (epoch seconds): what the suppressions' expiry is compared with.
    pub now: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            pipeline: Pipeline::default(),
            session_capacity: crate::core::session::MEMORY_CAPACITY,
            threads: 1,
            suppressions: Default::default(),
            now: 0,
        }
    }
}

/// Expands `paths` into the inputs to read: files as given, directories walked recursively in
/// file-name order. `-` is standard input. Directories are walked once here to count their files
/// and report what cannot be read or is skipped; the passes walk them again.
pub fn plan(paths: &[PathBuf], stats: &mut Stats, out: &mut dyn Output) -> io::Result<Inputs> {
    let mut inputs = Inputs::default();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Source::Stdin);
            continue;
        }
        if !path.is_dir() {
            inputs.push(Source::File(path.clone()));
            continue;
        }
        inputs.push_dir(path, |w| {
            match w {
                Walked::File(_) => {}
                Walked::Digest => stats.digest_files_skipped += 1,
                Walked::Other => stats.files_skipped += 1,
                Walked::Error(e) => {
                    stats.errors += 1;
                    out.error(&e)?;
                }
            }
            Ok(())
        })?;
    }
    Ok(inputs)
}

/// Replays `paths`. Returns the counts; an `Err` only when the output failed (e.g. a closed pipe).
pub fn replay(paths: &[PathBuf], opts: &Options, out: &mut dyn Output) -> io::Result<Stats> {
    let mut stats = Stats::default();
    let sources = plan(paths, &mut stats, out)?;
    replay_sources(sources, stats, opts, out)
}

/// Replays inputs already planned, adding to `stats` (which holds what planning counted).
pub fn replay_sources(
    mut inputs: Inputs,
    mut stats: Stats,
    opts: &Options,
    out: &mut dyn Output,
) -> io::Result<Stats> {
    for source in inputs.given_mut() {
        if let Source::Stdin = source {
            let mut bytes = Vec::new();
            match io::Read::read_to_end(&mut io::stdin().lock(), &mut bytes) {
                Ok(_) => *source = Source::Memory("<stdin>".into(), bytes),
                Err(e) => {
                    stats.errors += 1;
                    out.error(&InputError {
                        file: "<stdin>".into(),
                        index: None,
                        message: e.to_string(),
                    })?;
                    *source = Source::Memory("<stdin>".into(), Vec::new());
                }
            }
        }
    }
    let total = inputs.len();
    let threads = opts.threads.clamp(1, total.max(1));
    // Progress positions stay below `total`: a directory may hold more files by now than when it
    // was counted.
    // Pass 1: sessions. Unreadable inputs are reported by pass 2.
    out.pass_started(1);
    let learning = if threads == 1 {
        let mut learning = Learning::new(opts.session_capacity);
        for (n, source) in inputs.iter().enumerate() {
            let name = source.name();
            out.input_started(&name, n.min(total), total);
            learn_sessions(&source, &name, &mut learning);
        }
        learning
    } else {
        parallel::learn(&inputs, threads, opts.session_capacity, out)
    };
    let Learning { tracker, notes } = learning;
    stats.sessions_tracked = tracker.len() as u64;
    stats.sessions_evicted = tracker.evicted;
    // Between the passes: the pattern rules, in eventTime order.
    let found = patterns::evaluate(notes, &tracker, opts.pipeline.patterns);
    // Pass 2: every record.
    out.pass_started(2);
    if threads > 1 {
        parallel::analyse(&inputs, threads, opts, &tracker, &found, &mut stats, out)?;
        return Ok(stats);
    }
    let mut pass = Pass {
        pipeline: &opts.pipeline,
        tracker: &tracker,
        found: &found,
        stats: &mut stats,
        suppressions: &opts.suppressions,
        now: opts.now,
    };
    for (n, source) in inputs.iter().enumerate() {
        let name = source.name();
        out.input_started(&name, n.min(total), total);
        read_source(&source, &name, &mut pass, out)?;
    }
    Ok(stats)
}

mod parallel;
pub mod patterns;

pub use patterns::PatternFindings;

/// What pass 1 learns: the sessions, and the records the pattern rules need.
#[derive(Debug)]
pub struct Learning {
    pub tracker: SessionTracker,
    pub notes: Vec<patterns::Noted>,
}

impl Learning {
    pub fn new(capacity: usize) -> Self {
        Learning {
            tracker: SessionTracker::new(capacity),
            notes: Vec::new(),
        }
    }

    /// Pass 1 on one record's JSON text.
    pub fn record(&mut self, json: &str, name: &str, index: u64) {
        learn_record(json, name, index, &mut self.tracker);
        patterns::note(json, name, index, &mut self.notes);
    }
}

impl Stats {
    /// Adds the counts of one part of a replay (a file read by a worker).
    pub fn merge(&mut self, o: &Stats) {
        self.files_read += o.files_read;
        self.files_skipped += o.files_skipped;
        self.digest_files_skipped += o.digest_files_skipped;
        self.records += o.records;
        self.not_cloudtrail_events += o.not_cloudtrail_events;
        self.errors += o.errors;
        self.records_with_origin += o.records_with_origin;
        self.suppressed += o.suppressed;
        for (k, v) in &o.by_class {
            *self.by_class.entry(*k).or_default() += v;
        }
        for (k, v) in &o.findings_by_rule {
            *self.findings_by_rule.entry(*k).or_default() += v;
        }
        for (k, v) in &o.findings_by_severity {
            *self.findings_by_severity.entry(*k).or_default() += v;
        }
    }
}

/// Pass 1 over one input: learns the sessions its records issue, and notes the records the
/// pattern rules need. A file whose text holds no `"credentials"` key, `ConsoleLogin` or
/// `AssumeRoot` has neither and is not decoded at all.
pub fn learn_sessions(source: &Source, name: &str, learning: &mut Learning) {
    let mut sink = |item: Item<'_>| -> Result<(), Stop> {
        if let Item::Record { index, json, .. } = item {
            learning.record(json, name, index);
        }
        Ok(())
    };
    let _ = match source {
        Source::Stdin => Ok(()),
        Source::Memory(_, bytes) => input::maybe_gunzip(bytes.as_slice())
            .map_err(DecodeError::Io)
            .and_then(|r| input::decode_stream(r, &mut sink)),
        Source::File(path) | Source::Spooled(_, path) => {
            match input::slurp_file(path, input::SLURP_LIMIT) {
                Ok(Some(bytes)) if !issues_credentials(&bytes) && !may_be_observed(&bytes) => {
                    Ok(())
                }
                Ok(Some(bytes)) if is_lines_name(&path_name(path)) => {
                    input::decode_lines(bytes.as_slice(), &mut sink)
                }
                Ok(Some(bytes)) => input::decode_slice(&bytes, &mut sink),
                Ok(None) => match std::fs::File::open(path) {
                    Ok(f) => input::maybe_gunzip(f)
                        .map_err(DecodeError::Io)
                        .and_then(|r| {
                            if is_lines_name(&path_name(path)) {
                                input::decode_lines(r, &mut sink)
                            } else {
                                input::decode_stream(r, &mut sink)
                            }
                        }),
                    Err(e) => Err(DecodeError::Io(e)),
                },
                Err(e) => Err(DecodeError::Io(e)),
            }
        }
    };
}

/// Pass 1 on one record's JSON text: learns the session it issued, if any.
pub fn learn_record(json: &str, name: &str, index: u64, tracker: &mut SessionTracker) {
    if let Some(s) = Pipeline::session_issued(json, name, index) {
        let _: Learned = tracker.learn(s);
    }
}

/// Pass 2 state.
pub struct Pass<'a> {
    pub pipeline: &'a Pipeline,
    pub tracker: &'a SessionTracker,
    /// The pattern rules' findings, by the record that raised them.
    pub found: &'a PatternFindings,
    pub stats: &'a mut Stats,
    /// Applied once a report has every finding, at `now`.
    pub suppressions: &'a crate::core::suppress::Suppressions,
    pub now: i64,
}

/// Reads one input into `out`.
pub fn read_source(
    source: &Source,
    name: &str,
    pass: &mut Pass,
    out: &mut dyn Output,
) -> io::Result<()> {
    // A file that cannot be opened (missing, a permission) is an error, not a file read.
    let mut opened = true;
    let result = match source {
        Source::Stdin => decode(io::stdin().lock(), false, name, pass, out),
        Source::Memory(_, bytes) => decode(bytes.as_slice(), false, name, pass, out),
        Source::File(path) | Source::Spooled(_, path) => {
            match input::slurp_file(path, input::SLURP_LIMIT) {
                Ok(Some(bytes)) => {
                    decode_bytes(&bytes, is_lines_name(&path_name(path)), name, pass, out)
                }
                Ok(None) => match std::fs::File::open(path) {
                    Ok(f) => decode(f, is_lines_name(&path_name(path)), name, pass, out),
                    Err(e) => {
                        opened = false;
                        Err(DecodeError::Io(e))
                    }
                },
                Err(e) => {
                    opened = false;
                    Err(DecodeError::Io(e))
                }
            }
        }
    };
    match result {
        Ok(()) => {
            pass.stats.files_read += 1;
            Ok(())
        }
        Err(DecodeError::Stopped(e)) => Err(e),
        Err(e) => {
            if opened {
                pass.stats.files_read += 1;
            }
            pass.stats.errors += 1;
            out.error(&InputError {
                file: name.to_owned(),
                index: None,
                message: e.to_string(),
            })
        }
    }
}

/// Decodes one reader (plain or gzip) and analyses each record.
pub fn decode<R: io::Read>(
    reader: R,
    lines: bool,
    name: &str,
    pass: &mut Pass,
    out: &mut dyn Output,
) -> Result<(), DecodeError> {
    let reader = input::maybe_gunzip(reader)?;
    analyse_items(name, pass, out, |sink| {
        if lines {
            input::decode_lines(reader, sink)
        } else {
            input::decode_stream(reader, sink)
        }
    })
}

/// [`decode`] over a whole file already in memory (decompressed).
pub fn decode_bytes(
    bytes: &[u8],
    lines: bool,
    name: &str,
    pass: &mut Pass,
    out: &mut dyn Output,
) -> Result<(), DecodeError> {
    analyse_items(name, pass, out, |sink| {
        if lines {
            input::decode_lines(bytes, sink)
        } else {
            input::decode_slice(bytes, sink)
        }
    })
}

/// Analyses every item `run` decodes.
fn analyse_items(
    name: &str,
    pass: &mut Pass,
    out: &mut dyn Output,
    run: impl FnOnce(&mut input::Sink<'_>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let Pass {
        pipeline,
        tracker,
        found,
        stats,
        suppressions,
        now,
    } = pass;
    let mut sink = |item: Item<'_>| -> Result<(), Stop> {
        match item {
            Item::Record {
                index,
                json,
                envelope,
            } => {
                let input = InputRef {
                    file: name.to_owned(),
                    index,
                };
                match pipeline.run(json, envelope.is_some(), input, *tracker) {
                    Ok(mut report) => {
                        if !found.is_empty() {
                            if let Some(fs) = found.get(&(name.to_owned(), index)) {
                                let min = pipeline.min;
                                report
                                    .findings
                                    .extend(fs.iter().filter(|f| f.severity >= min).cloned());
                            }
                        }
                        pipeline.suppress(&mut report, suppressions, *now);
                        count(stats, &report);
                        out.take(report).map_err(Stop)
                    }
                    Err(e) => {
                        stats.errors += 1;
                        out.error(&InputError {
                            file: name.to_owned(),
                            index: Some(index),
                            message: e.to_string(),
                        })
                        .map_err(Stop)
                    }
                }
            }
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
    run(&mut sink)
}

fn count(stats: &mut Stats, report: &RecordReport) {
    stats.records += 1;
    stats.records_with_origin += u64::from(report.origin.is_some());
    *stats.by_class.entry(report.principal.class).or_default() += 1;
    for f in &report.findings {
        if f.is_suppressed() {
            stats.suppressed += 1;
            continue;
        }
        *stats.findings_by_rule.entry(f.rule).or_default() += 1;
        *stats.findings_by_severity.entry(f.severity).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{"Records":[{"eventVersion":"1.08","eventSource":"s3.amazonaws.com",
        "eventName":"GetObject","eventTime":"2024-01-01T00:00:00Z","awsRegion":"us-east-1",
        "eventID":"e1","recipientAccountId":"111122223333",
        "userIdentity":{"type":"IAMUser","accountId":"111122223333"}}]}"#;

    #[derive(Default)]
    struct Seen {
        started: Vec<(String, usize, usize)>,
        records: usize,
        errors: usize,
    }

    impl Output for Seen {
        fn record(&mut self, _: &RecordReport) -> io::Result<()> {
            self.records += 1;
            Ok(())
        }
        fn error(&mut self, _: &InputError) -> io::Result<()> {
            self.errors += 1;
            Ok(())
        }
        fn input_started(&mut self, name: &str, n: usize, total: usize) {
            let short = name.rsplit('/').next().unwrap_or(name).to_owned();
            self.started.push((short, n, total));
        }
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in [
            ("b/c/z.json", LOG),
            ("a/x.json", LOG),
            ("a/notes.txt", "not a log"),
            ("b/111122223333_CloudTrail-Digest_us-east-1_x.json.gz", "{}"),
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn names(inputs: &Inputs) -> Vec<String> {
        inputs
            .iter()
            .map(|s| s.name().rsplit('/').next().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_planned_directory_is_counted_once_and_walked_in_order_by_each_pass() {
        let dir = tree();
        let mut stats = Stats::default();
        let mut out = Seen::default();
        let inputs = plan(&[dir.path().to_owned()], &mut stats, &mut out).unwrap();
        assert_eq!(inputs.len(), 2);
        assert_eq!((stats.files_skipped, stats.digest_files_skipped), (1, 1));
        assert_eq!(names(&inputs), ["x.json", "z.json"]);
        assert_eq!(
            names(&inputs),
            names(&inputs),
            "each walk gives the same order"
        );
        for threads in [1, 2] {
            let opts = Options {
                threads,
                ..Options::default()
            };
            let mut out = Seen::default();
            let planned = plan(&[dir.path().to_owned()], &mut Stats::default(), &mut out).unwrap();
            let stats = replay_sources(planned, Stats::default(), &opts, &mut out).unwrap();
            assert_eq!((stats.files_read, stats.records, out.records), (2, 2, 2));
            assert_eq!((stats.errors, out.errors), (0, 0));
            // Pass 1 then pass 2. Pass 2 reports every file in order. With several threads,
            // pass 1 reports the files the calling thread reads, at the count done so far.
            // Each pass counts the two files once: positions 0 and 1 of 2.
            let expect = |n: usize, name: &str| (name.to_owned(), n, 2);
            let split = out.started.len() - 2;
            let (first, second) = (out.started[..split].to_vec(), out.started[split..].to_vec());
            assert_eq!(second, [expect(0, "x.json"), expect(1, "z.json")]);
            assert_eq!(out.started[..first.len()], first, "pass 1 comes first");
            if threads == 1 {
                assert_eq!(first, [expect(0, "x.json"), expect(1, "z.json")]);
            } else {
                assert!(first.len() <= 2 && first.windows(2).all(|w| w[0].1 <= w[1].1));
            }
        }
    }

    #[test]
    fn files_added_after_planning_are_read_and_progress_stays_in_range() {
        let dir = tree();
        let mut out = Seen::default();
        let inputs = plan(&[dir.path().to_owned()], &mut Stats::default(), &mut out).unwrap();
        for extra in ["a/w.json", "b/y.json", "c.json"] {
            std::fs::write(dir.path().join(extra), LOG).unwrap();
        }
        let stats =
            replay_sources(inputs, Stats::default(), &Options::default(), &mut out).unwrap();
        assert_eq!(stats.records, 5);
        assert!(out
            .started
            .iter()
            .all(|(_, n, total)| n <= total && *total == 2));
    }
}
