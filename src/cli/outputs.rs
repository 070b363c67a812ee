//! The outputs of the CLI around a format: `--format alert` text, session trees, and the wrapper
//! that adds errors on stderr, the progress bar and the SNS backfill.

use super::args::TreeFormat;
use super::backfill::Backfill;
use crate::core::model::{RecordReport, Severity};
use crate::replay::{InputError, Output, Stats};
use indicatif::ProgressBar;
use std::io::{self, Write};

/// `--format alert`: subject and e-mail body of each alert.
pub(crate) struct AlertText<W: Write> {
    pub(crate) out: W,
    pub(crate) min: Severity,
    pub(crate) format: crate::core::alert::AlertFormat,
}

impl<W: Write> Output for AlertText<W> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        if let Some(a) = crate::core::alert::build_replay(report, self.min, self.format) {
            writeln!(self.out, "Subject: {}\n\n{}\n---", a.subject, a.text)?;
        }
        Ok(())
    }
    fn error(&mut self, _: &InputError) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Stats) -> io::Result<()> {
        self.out.flush()
    }
}

/// `rootwatch sessions`: collects the reports into session trees, printed at the end.
pub(crate) struct Trees<W: Write> {
    pub(crate) forest: crate::cli::tree::Forest,
    pub(crate) format: TreeFormat,
    pub(crate) out: W,
}

impl<W: Write> Output for Trees<W> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        self.forest.add(report);
        Ok(())
    }
    fn error(&mut self, _: &InputError) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Stats) -> io::Result<()> {
        let trees = std::mem::take(&mut self.forest).trees();
        let text = match self.format {
            TreeFormat::Tree => crate::cli::tree::text(&trees),
            TreeFormat::Dot => crate::cli::tree::dot(&trees),
            TreeFormat::Json => {
                serde_json::to_string_pretty(&trees).map_err(io::Error::other)? + "\n"
            }
            TreeFormat::Html => crate::cli::report::sessions_page(&trees)?,
        };
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

impl<O: Output + ?Sized> Output for Box<O> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        (**self).record(report)
    }
    fn take(&mut self, report: RecordReport) -> io::Result<()> {
        (**self).take(report)
    }
    fn error(&mut self, err: &InputError) -> io::Result<()> {
        (**self).error(err)
    }
    fn pass_started(&mut self, pass: u8) {
        (**self).pass_started(pass)
    }
    fn input_started(&mut self, name: &str, n: usize, total: usize) {
        (**self).input_started(name, n, total)
    }
    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        (**self).finish(stats)
    }
}

/// Adds error reporting on stderr, a progress bar and SNS backfill to a format.
pub(crate) struct Cli2<O> {
    pub(crate) inner: O,
    pub(crate) progress: Option<ProgressBar>,
    pub(crate) errors: u64,
    pub(crate) backfill: Option<Backfill>,
}

impl<O> Cli2<O> {
    /// Publishes what is pending; returns (published, failed), or None without a topic.
    pub(crate) fn end_backfill(&mut self) -> Option<(u64, u64)> {
        let b = self.backfill.as_mut()?;
        b.flush(&self.progress);
        Some((b.published, b.failed))
    }
}

impl<O: Output> Output for Cli2<O> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        if let Some(b) = &mut self.backfill {
            b.add(report, &self.progress);
        }
        self.inner.record(report)
    }
    fn error(&mut self, err: &InputError) -> io::Result<()> {
        self.errors += 1;
        let line = format!("rootwatch: error: {err}");
        match &self.progress {
            Some(pb) => pb.println(line),
            None => eprintln!("{line}"),
        }
        self.inner.error(err)
    }
    fn pass_started(&mut self, pass: u8) {
        if let Some(pb) = &self.progress {
            pb.set_prefix(match pass {
                1 => "pass 1/2 (sessions)",
                _ => "pass 2/2 (findings)",
            });
            pb.set_position(0);
        }
        self.inner.pass_started(pass);
    }
    fn input_started(&mut self, name: &str, n: usize, total: usize) {
        if let Some(pb) = &self.progress {
            pb.set_length(total as u64);
            pb.set_position(n as u64);
            pb.set_message(name.rsplit('/').next().unwrap_or(name).to_owned());
        }
    }
}

pub(crate) fn finish_progress(pb: &Option<ProgressBar>) {
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
}

pub(crate) fn one_line(s: &Stats) -> String {
    let findings: u64 = s.findings_by_rule.values().sum();
    let suppressed = if s.suppressed > 0 {
        format!(", {} suppressed", s.suppressed)
    } else {
        String::new()
    };
    format!(
        "rootwatch: {} records from {} files ({} skipped), {} unreadable, {} findings{suppressed}",
        s.records,
        s.files_read,
        s.files_skipped + s.digest_files_skipped,
        s.errors,
        findings
    )
}
