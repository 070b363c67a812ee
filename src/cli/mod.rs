//! The `rootwatch` command line: [`args`] (read once into typed values), output formats
//! ([`render`], [`outputs`]), session trees ([`tree`]), the SNS backfill ([`backfill`]) and the
//! download of `s3://` paths ([`fetch`]). Errors are `anyhow` here, at the edge.

pub mod args;
pub mod audit;
pub mod backfill;
pub mod fetch;
pub mod findings;
pub mod outputs;
pub mod render;
pub mod report;
pub(crate) mod sort;
pub mod suppressions;
pub mod tree;

use crate::aws::sns::SnsPublisher;
use crate::cli::render::{Json, Jsonl, Table};
use crate::input::s3_keys::DayRange;
use crate::replay::{self, Output, Stats};
use anyhow::Result;
use args::{s3_url, Cli, Color, Command, Format, Sort};
use backfill::Backfill;
use clap::Parser;
use fetch::{fetch, Fetched};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use outputs::{finish_progress, one_line, AlertText, Cli2, Trees};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the command line; the exit status says whether every input was read.
pub fn main() -> ExitCode {
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

/// What a replay did: counts, errors reported, and (published, failed) alerts with a topic.
pub(crate) type Outcome = (Stats, u64, Option<(u64, u64)>);

/// Runs a replay into one output format. S3 paths are read from their downloaded copies in
/// `fetched`, the others as given, in the order given.
pub(crate) fn run_replay<O: Output>(
    inner: O,
    paths: &[PathBuf],
    fetched: Option<&Fetched>,
    opts: &replay::Options,
    progress: Option<ProgressBar>,
    backfill: Option<Backfill>,
) -> io::Result<Outcome> {
    let mut o = Cli2 {
        inner,
        progress,
        errors: 0,
        backfill,
    };
    let stats = match fetched {
        None => replay::replay(paths, opts, &mut o)?,
        Some(fetched) => {
            let mut stats = Stats::default();
            let mut sources = replay::Inputs::default();
            for (i, path) in paths.iter().enumerate() {
                match fetched.paths.get(&i) {
                    None => sources.extend(replay::plan(
                        std::slice::from_ref(path),
                        &mut stats,
                        &mut o,
                    )?),
                    Some(f) => {
                        for e in &f.errors {
                            stats.errors += 1;
                            o.error(e)?;
                        }
                        stats.digest_files_skipped += f.selection.digests;
                        stats.files_skipped += f.selection.other;
                        for file in &f.files {
                            sources.push(file.clone());
                        }
                    }
                }
            }
            replay::replay_sources(sources, stats, opts, &mut o)?
        }
    };
    let backfilled = o.end_backfill();
    finish_progress(&o.progress);
    o.inner.finish(&stats)?;
    Ok((stats, o.errors, backfilled))
}

pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

pub(crate) fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Sessions {
            format,
            session_capacity,
            threads,
            paths,
        } => {
            let opts = replay::Options {
                session_capacity,
                threads,
                ..replay::Options::default()
            };
            let out = BufWriter::new(io::stdout().lock());
            let trees = Trees {
                forest: crate::cli::tree::Forest::default(),
                format,
                out,
            };
            let fetched = if paths.iter().any(|p| s3_url(p).is_some()) {
                Some(fetch(
                    &paths,
                    &DayRange::default(),
                    io::stderr().is_terminal(),
                )?)
            } else {
                None
            };
            let (stats, errors, _) =
                run_replay(trees, &paths, fetched.as_ref(), &opts, None, None)?;
            if stats.sessions_evicted > 0 {
                eprintln!(
                    "rootwatch: {} session(s) forgotten at capacity; raise --session-capacity",
                    stats.sessions_evicted
                );
            }
            Ok(if errors > 0 || stats.errors > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Audit(args) => audit::run(args),
        Command::Catalog => {
            let mut out = io::stdout().lock();
            out.write_all(crate::core::catalog::markdown().as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            format,
            sort,
            report,
            min_severity,
            color,
            no_progress,
            paths,
            sns_topic_arn,
            alert_min_severity,
            alert_format,
            security_hub,
            sessions,
            patterns,
            threads,
            since,
            until,
            suppressions,
        } => {
            let range = DayRange { since, until };
            let any_s3 = paths.iter().any(|p| s3_url(p).is_some());
            if let (Some(s), Some(u)) = (since, until) {
                if s > u {
                    return usage("--since is after --until");
                }
            }
            if !range.is_open() && !any_s3 {
                return usage(
                    "--since and --until select S3 objects by their date path: give an s3:// path",
                );
            }
            let rules = crate::core::rules::RuleConfig::from_lists(
                &sessions.watch_role,
                &sessions.trusted_account,
            )
            .and_then(|r| r.with_detector_resources(&sessions.detector_resource))
            .map_err(anyhow::Error::msg)?;
            let now = suppressions::now();
            let suppressions = match suppressions::load(suppressions.as_deref(), now) {
                Ok(s) => s,
                Err(why) => return usage(&why),
            };
            let opts = replay::Options {
                pipeline: crate::core::pipeline::Pipeline {
                    patterns: patterns.config(),
                    ..crate::core::pipeline::Pipeline::new(rules, min_severity)
                },
                session_capacity: sessions.session_capacity,
                threads,
                suppressions,
                now,
            };
            let backfill = match sns_topic_arn {
                None => None,
                Some(topic_arn) => {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    let sdk = rt.block_on(aws_config::load_from_env());
                    let publisher = SnsPublisher {
                        client: crate::aws::sns::client(&sdk),
                        topic_arn,
                    };
                    Some(Backfill {
                        rt,
                        publisher,
                        min: alert_min_severity,
                        format: alert_format,
                        pending: Vec::new(),
                        published: 0,
                        failed: 0,
                    })
                }
            };
            let hub_counts = std::rc::Rc::new(findings::HubCounts::default());
            let hub = if security_hub {
                Some(findings::hub(std::rc::Rc::clone(&hub_counts))?)
            } else {
                None
            };
            let draw = !no_progress && io::stderr().is_terminal();
            let fetched = if any_s3 {
                Some(fetch(&paths, &range, draw)?)
            } else {
                None
            };
            let fetched = fetched.as_ref();
            let stdout = io::stdout();
            let out = BufWriter::with_capacity(256 * 1024, stdout.lock());
            let progress = (draw
                && (paths.len() > 1 || any_s3 || paths.iter().any(|p| p.is_dir())))
            .then(|| {
                let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                pb.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {prefix} {wide_bar} {pos}/{len} files  {msg}",
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
            let terminal = io::stdout().is_terminal();
            let mut inner: Box<dyn replay::Output> = match format {
                Format::Jsonl => Box::new(Jsonl { out }),
                Format::Json => Box::new(Json::new(out)),
                Format::Table => Box::new(Table {
                    out,
                    color,
                    principal_width: terminal.then_some(render::TERMINAL_PRINCIPAL_WIDTH),
                }),
                Format::Alert => Box::new(AlertText {
                    out,
                    min: alert_min_severity,
                    format: alert_format,
                }),
                Format::Ocsf => Box::new(findings::OcsfLines { out }),
                Format::Asff => Box::new(findings::AsffLines { out }),
            };
            inner = Box::new(findings::ToSecurityHub { inner, hub });
            if let Some(path) = report {
                inner = Box::new(report::WithReport {
                    inner,
                    collector: report::Collector::default(),
                    path,
                });
            }
            if sort == Sort::Time {
                inner = Box::new(sort::ByTime::new(inner));
            }
            let (stats, errors, backfilled) =
                run_replay(inner, &paths, fetched, &opts, progress, backfill)?;
            if format == Format::Jsonl {
                eprintln!("{}", one_line(&stats));
            }
            let mut failed = false;
            if let Some((published, not_published)) = backfilled {
                eprintln!(
                    "rootwatch: {published} alert(s) published to SNS, {not_published} failed"
                );
                if not_published > 0 {
                    eprintln!("rootwatch: {not_published} alert(s) were not published (see above); replay again to retry");
                    failed = true;
                }
            }
            if security_hub {
                let (imported, not_imported) = (hub_counts.imported.get(), hub_counts.failed.get());
                eprintln!(
                    "rootwatch: {imported} finding(s) imported into Security Hub, {not_imported} failed"
                );
                if not_imported > 0 {
                    eprintln!("rootwatch: {not_imported} finding(s) were not imported (see above); replay again to retry (a finding imported twice is updated, not duplicated)");
                    failed = true;
                }
            }
            if errors > 0 || stats.errors > 0 {
                eprintln!(
                    "rootwatch: {} input(s) could not be read (see above)",
                    stats.errors
                );
                failed = true;
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

pub(crate) fn usage(why: &str) -> Result<ExitCode> {
    eprintln!("rootwatch: error: {why}");
    Ok(ExitCode::from(2))
}
