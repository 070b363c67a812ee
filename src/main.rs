use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rootwatch::model::{RecordReport, Severity};
use rootwatch::render::{Json, Jsonl, Table};
use rootwatch::replay::{self, InputError, Output, Stats};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Detect AWS root-user activity in CloudTrail and tell who is behind each session.
#[derive(Parser)]
#[command(name = "rootwatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse CloudTrail files, folders or standard input (`-`).
    ///
    /// Reads CloudTrail log files (`{"Records":[...]}`, plain or .gz), EventBridge events, bare
    /// records, JSON arrays and JSON Lines. Folders are walked recursively in name order,
    /// reading *.json, *.jsonl, *.ndjson and their .gz forms. Exit status 1 when an input could
    /// not be read (after everything readable was processed).
    Replay {
        /// Output format: `table` for a person, `jsonl` one JSON object per record, `json` one document.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Drop findings below this severity (info, low, medium, high, critical).
        #[arg(long, default_value = "info", value_parser = parse_severity)]
        min_severity: Severity,
        /// Colour: auto (on a terminal, unless NO_COLOR is set), always, never.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Never draw a progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Files or folders to read; `-` for standard input.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the root-only task catalog (Markdown).
    Catalog,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Table,
    Jsonl,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Color {
    Auto,
    Always,
    Never,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// Adds error reporting on stderr and a progress bar to a format.
struct Cli2<O> {
    inner: O,
    progress: Option<ProgressBar>,
    errors: u64,
}

impl<O: Output> Output for Cli2<O> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
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
    fn input_started(&mut self, name: &str, n: usize, total: usize) {
        if let Some(pb) = &self.progress {
            pb.set_length(total as u64);
            pb.set_position(n as u64);
            pb.set_message(name.rsplit('/').next().unwrap_or(name).to_owned());
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rootwatch: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Catalog => {
            let mut out = io::stdout().lock();
            out.write_all(rootwatch::catalog::markdown().as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            format,
            min_severity,
            color,
            no_progress,
            paths,
        } => {
            let stdout = io::stdout();
            let out = BufWriter::with_capacity(256 * 1024, stdout.lock());
            let progress = (!no_progress
                && io::stderr().is_terminal()
                && (paths.len() > 1 || paths.iter().any(|p| p.is_dir())))
            .then(|| {
                let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                pb.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files  {msg}",
                    )
                    .expect("valid template"),
                );
                pb
            });
            let color = match color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            let (stats, errors) = match format {
                Format::Jsonl => {
                    let mut o = Cli2 {
                        inner: Jsonl { out },
                        progress,
                        errors: 0,
                    };
                    let stats = replay::replay(&paths, min_severity, &mut o)?;
                    o.inner.out.flush()?;
                    finish_progress(&o.progress);
                    eprintln!("{}", one_line(&stats));
                    (stats, o.errors)
                }
                Format::Json => {
                    let mut o = Cli2 {
                        inner: Json::new(out),
                        progress,
                        errors: 0,
                    };
                    let stats = replay::replay(&paths, min_severity, &mut o)?;
                    o.inner.finish(&stats)?;
                    o.inner.out.flush()?;
                    finish_progress(&o.progress);
                    (stats, o.errors)
                }
                Format::Table => {
                    let mut o = Cli2 {
                        inner: Table { out, color },
                        progress,
                        errors: 0,
                    };
                    let stats = replay::replay(&paths, min_severity, &mut o)?;
                    finish_progress(&o.progress);
                    o.inner.finish(&stats)?;
                    o.inner.out.flush()?;
                    (stats, o.errors)
                }
            };
            if errors > 0 || stats.errors > 0 {
                eprintln!(
                    "rootwatch: {} input(s) could not be read (see above)",
                    stats.errors
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn finish_progress(pb: &Option<ProgressBar>) {
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
}

fn one_line(s: &Stats) -> String {
    let findings: u64 = s.findings_by_rule.values().sum();
    format!(
        "rootwatch: {} records from {} files ({} skipped), {} unreadable, {} findings",
        s.records,
        s.files_read,
        s.files_skipped + s.digest_files_skipped,
        s.errors,
        findings
    )
}
