//! `--sort time`: holds every report until the input is read, then hands them to the format in
//! eventTime order (oldest first, records without a time last, ties in input order).

use crate::core::model::RecordReport;
use crate::replay::{InputError, Output, Stats};
use std::io;

/// Wraps a format; errors still go out at once (on stderr through the CLI wrapper).
pub(crate) struct ByTime<O> {
    pub(crate) inner: O,
    pub(crate) held: Vec<RecordReport>,
}

impl<O> ByTime<O> {
    pub(crate) fn new(inner: O) -> Self {
        ByTime {
            inner,
            held: Vec::new(),
        }
    }
}

/// The sort key: eventTime as written (ISO 8601 UTC, `Z`: text order is time order), absent last.
fn key(r: &RecordReport) -> (bool, &str) {
    match r.event_time.as_deref() {
        Some(t) => (false, t),
        None => (true, ""),
    }
}

impl<O: Output> Output for ByTime<O> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        self.held.push(report.clone());
        Ok(())
    }
    fn take(&mut self, report: RecordReport) -> io::Result<()> {
        self.held.push(report);
        Ok(())
    }
    fn error(&mut self, err: &InputError) -> io::Result<()> {
        self.inner.error(err)
    }
    fn pass_started(&mut self, pass: u8) {
        self.inner.pass_started(pass);
    }
    fn input_started(&mut self, name: &str, n: usize, total: usize) {
        self.inner.input_started(name, n, total);
    }
    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        let mut held = std::mem::take(&mut self.held);
        held.sort_by(|a, b| key(a).cmp(&key(b)));
        for r in held {
            self.inner.take(r)?;
        }
        self.inner.finish(stats)
    }
}
