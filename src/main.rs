use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rootwatch::aws::s3::S3Objects;
use rootwatch::aws::sns::{Publisher, SnsPublisher};
use rootwatch::cli::render::{Json, Jsonl, Table};
use rootwatch::core::alert::Alert;
use rootwatch::core::model::{RecordReport, Severity};
use rootwatch::input::s3_keys::{Day, DayRange, ObjectRef, S3Url, Selection};
use rootwatch::replay::{self, InputError, Output, Source, Stats};
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
    /// Analyse CloudTrail files, folders, standard input (`-`) or S3 prefixes (`s3://`).
    ///
    /// Reads CloudTrail log files (`{"Records":[...]}`, plain or .gz), EventBridge events, bare
    /// records, JSON arrays and JSON Lines. Folders are walked recursively in name order,
    /// reading *.json, *.jsonl, *.ndjson and their .gz forms. `s3://bucket/prefix/` reads the
    /// *.json.gz and *.json objects under the prefix (digest files skipped), optionally only
    /// those of --since/--until. Exit status 1 when an input could not be read (after
    /// everything readable was processed).
    Replay {
        /// Output format: `table` for a person, `jsonl` one JSON object per record, `json` one
        /// document, `alert` the e-mail text of each alert (findings at --alert-min-severity or above).
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
        /// Also publish an alert per record to this SNS topic (PublishBatch, 10 per call).
        /// Uses the standard AWS configuration (AWS_REGION, credentials, AWS_ENDPOINT_URL).
        #[arg(long, value_name = "ARN")]
        sns_topic_arn: Option<String>,
        /// Lowest severity that is published with --sns-topic-arn.
        #[arg(long, default_value = "medium", value_parser = parse_severity)]
        alert_min_severity: Severity,
        /// Alert format with --sns-topic-arn: standard or chatbot.
        #[arg(long, default_value = "standard")]
        alert_format: rootwatch::core::alert::AlertFormat,
        #[command(flatten)]
        sessions: SessionArgs,
        /// Files read at once (default: every core). Output order does not depend on it.
        #[arg(long, default_value_t = default_threads())]
        threads: usize,
        /// With s3:// paths: read only objects whose CloudTrail date path
        /// (.../CloudTrail/REGION/YYYY/MM/DD/, the UTC day the file was delivered) is this day
        /// or later.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        since: Option<Day>,
        /// With s3:// paths: read only objects whose date path is this day or earlier.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        until: Option<Day>,
        /// Files or folders to read; `-` for standard input; `s3://bucket/prefix/` for the
        /// objects under an S3 prefix (AWS_REGION, credentials, AWS_ENDPOINT_URL as for SNS).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show the session trees of the input: who started which chain, through which roles and
    /// accounts, with how many requests under each.
    Sessions {
        /// `tree` (indented, for a person), `dot` (Graphviz), `json`.
        #[arg(long, value_enum, default_value_t = TreeFormat::Tree)]
        format: TreeFormat,
        /// Sessions kept in memory at most (about 820 bytes each).
        #[arg(long, default_value_t = rootwatch::core::session::MEMORY_CAPACITY)]
        session_capacity: usize,
        /// Files read at once (default: every core).
        #[arg(long, default_value_t = default_threads())]
        threads: usize,
        /// Files or folders to read; `-` for standard input.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the root-only task catalog (Markdown).
    Catalog,
}

/// Session tracking and the two configurable session rules (the function reads the same
/// settings from WATCHED_ROLES and TRUSTED_ACCOUNTS).
#[derive(clap::Args)]
struct SessionArgs {
    /// Alert (watched-role-assumed) on any assumption of a role matching this ARN pattern; `*`
    /// matches any text. Repeat or separate with commas.
    #[arg(long = "watch-role", value_name = "ARN_PATTERN")]
    watch_role: Vec<String>,
    /// Accounts trusted to assume roles in other accounts (untrusted-account-assumption fires
    /// for any other caller account). Repeat or separate with commas.
    #[arg(long = "trusted-account", value_name = "ACCOUNT_ID")]
    trusted_account: Vec<String>,
    /// The detector's own resources (names, ARNs or URLs; `*` globs, e.g. rootwatch-*):
    /// detector-tamper fires when they are deleted, disabled or changed. Repeat or separate with
    /// commas. Stopping, deleting or narrowing any CloudTrail trail fires without it.
    #[arg(long = "detector-resource", value_name = "NAME_OR_ARN")]
    detector_resource: Vec<String>,
    /// Sessions kept in memory at most (about 820 bytes each); beyond it the earliest-expiring
    /// are forgotten and the summary says how many.
    #[arg(long, default_value_t = rootwatch::core::session::MEMORY_CAPACITY)]
    session_capacity: usize,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum TreeFormat {
    Tree,
    Dot,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Table,
    Jsonl,
    Json,
    /// The e-mail text of each alert (what an SNS e-mail subscriber reads).
    Alert,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Color {
    Auto,
    Always,
    Never,
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

fn parse_day(s: &str) -> Result<Day, String> {
    Day::parse(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// The S3 location of a path argument, when it is one.
fn s3_url(path: &std::path::Path) -> Option<S3Url> {
    path.to_str().and_then(S3Url::parse)
}

/// `--format alert`: subject and e-mail body of each alert.
struct AlertText<W: Write> {
    out: W,
    min: Severity,
    format: rootwatch::core::alert::AlertFormat,
}

/// What a replay did: counts, errors reported, and (published, failed) alerts with a topic.
type Outcome = (Stats, u64, Option<(u64, u64)>);

/// Runs a replay into one output format. S3 paths are read from their downloaded copies in
/// `fetched`, the others as given, in the order given.
fn run_replay<O: Output>(
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

impl<W: Write> Output for AlertText<W> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        if let Some(a) = rootwatch::core::alert::build(report, self.min, self.format) {
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
struct Trees<W: Write> {
    forest: rootwatch::cli::tree::Forest,
    format: TreeFormat,
    out: W,
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
            TreeFormat::Tree => rootwatch::cli::tree::text(&trees),
            TreeFormat::Dot => rootwatch::cli::tree::dot(&trees),
            TreeFormat::Json => {
                serde_json::to_string_pretty(&trees).map_err(io::Error::other)? + "\n"
            }
        };
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

/// Publishes the alerts of a replay in batches.
struct Backfill {
    rt: tokio::runtime::Runtime,
    publisher: SnsPublisher,
    min: Severity,
    format: rootwatch::core::alert::AlertFormat,
    pending: Vec<(Alert, String)>,
    published: u64,
    failed: u64,
}

impl Backfill {
    fn add(&mut self, report: &RecordReport, progress: &Option<ProgressBar>) {
        if let Some(a) = rootwatch::core::alert::build(report, self.min, self.format) {
            let at = format!("{}: record {}", report.input.file, report.input.index);
            self.pending.push((a, at));
            if self.pending.len() >= rootwatch::aws::sns::MAX_BATCH {
                self.flush(progress);
            }
        }
    }
    fn flush(&mut self, progress: &Option<ProgressBar>) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let alerts: Vec<Alert> = batch.iter().map(|(a, _)| a.clone()).collect();
        let results = self.rt.block_on(self.publisher.publish_all(&alerts));
        for ((a, at), r) in batch.iter().zip(results) {
            match r {
                Ok(()) => self.published += 1,
                Err(e) => {
                    self.failed += 1;
                    let line = format!(
                        "rootwatch: error: alert not published ({at}, event {}): {e}",
                        a.event_id.as_deref().unwrap_or("-")
                    );
                    match progress {
                        Some(pb) => pb.println(line),
                        None => eprintln!("{line}"),
                    }
                }
            }
        }
    }
}

/// Adds error reporting on stderr, a progress bar and SNS backfill to a format.
struct Cli2<O> {
    inner: O,
    progress: Option<ProgressBar>,
    errors: u64,
    backfill: Option<Backfill>,
}

impl<O> Cli2<O> {
    /// Publishes what is pending; returns (published, failed), or None without a topic.
    fn end_backfill(&mut self) -> Option<(u64, u64)> {
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
    fn input_started(&mut self, name: &str, n: usize, total: usize) {
        if let Some(pb) = &self.progress {
            pb.set_length(total as u64);
            pb.set_position(n as u64);
            pb.set_message(name.rsplit('/').next().unwrap_or(name).to_owned());
        }
    }
}

/// CA bundle files: Amazon Linux 2023 (the `provided.al2023` runtime), then Debian/Ubuntu and
/// Alpine layouts. <https://docs.aws.amazon.com/linux/al2023/ug/ca-certificates.html>
const CA_BUNDLES: &[&str] = &[
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
];

/// The SDK's TLS client loads the system roots when it is built at init. Without
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`, `rustls-native-certs` reads the CA bundle *and* every file of
/// the certificate directory (about 300 files that repeat the bundle): most of our start-up.
/// Pointing `SSL_CERT_FILE` at the bundle loads the same roots once. Runs before any thread is
/// started; a value the deployment sets is kept.
fn prefer_ca_bundle() {
    if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
        return;
    }
    if let Some(bundle) = CA_BUNDLES
        .iter()
        .find(|p| std::path::Path::new(p).is_file())
    {
        std::env::set_var("SSL_CERT_FILE", bundle);
    }
}

fn main() -> ExitCode {
    // Under the Lambda runtime (or its emulator) the same binary is the function.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        prefer_ca_bundle();
        return match lambda_main() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rootwatch: init failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
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
                forest: rootwatch::cli::tree::Forest::default(),
                format,
                out,
            };
            let (stats, errors, _) = run_replay(trees, &paths, None, &opts, None, None)?;
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
        Command::Catalog => {
            let mut out = io::stdout().lock();
            out.write_all(rootwatch::core::catalog::markdown().as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            format,
            min_severity,
            color,
            no_progress,
            paths,
            sns_topic_arn,
            alert_min_severity,
            alert_format,
            sessions,
            threads,
            since,
            until,
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
            let rules = rootwatch::core::rules::RuleConfig::from_lists(
                &sessions.watch_role,
                &sessions.trusted_account,
            )
            .and_then(|r| r.with_detector_resources(&sessions.detector_resource))
            .map_err(anyhow::Error::msg)?;
            let opts = replay::Options {
                pipeline: rootwatch::core::pipeline::Pipeline::new(rules, min_severity),
                session_capacity: sessions.session_capacity,
                threads,
            };
            let backfill = match sns_topic_arn {
                None => None,
                Some(topic_arn) => {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    let sdk = rt.block_on(aws_config::load_from_env());
                    let publisher = SnsPublisher {
                        client: rootwatch::aws::sns::client(&sdk),
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
            let (stats, errors, backfilled) = match format {
                Format::Jsonl => {
                    run_replay(Jsonl { out }, &paths, fetched, &opts, progress, backfill)?
                }
                Format::Json => {
                    run_replay(Json::new(out), &paths, fetched, &opts, progress, backfill)?
                }
                Format::Table => {
                    let inner = Table { out, color };
                    run_replay(inner, &paths, fetched, &opts, progress, backfill)?
                }
                Format::Alert => {
                    let inner = AlertText {
                        out,
                        min: alert_min_severity,
                        format: alert_format,
                    };
                    run_replay(inner, &paths, fetched, &opts, progress, backfill)?
                }
            };
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

fn usage(why: &str) -> Result<ExitCode> {
    eprintln!("rootwatch: error: {why}");
    Ok(ExitCode::from(2))
}

/// S3 objects downloaded for a replay, per path argument (by index).
struct Fetched {
    paths: std::collections::HashMap<usize, FetchedPath>,
    /// The downloads, removed when the replay is over.
    _spool: tempfile::TempDir,
}

#[derive(Default)]
struct FetchedPath {
    selection: Selection,
    /// The downloaded objects, named by their s3:// URLs, in listing (key) order.
    files: Vec<Source>,
    /// A listing or a download that failed.
    errors: Vec<InputError>,
}

/// Objects downloaded at once.
const DOWNLOADS_IN_FLIGHT: usize = 8;

/// Lists every s3:// path, keeps the log files in the date range, and downloads them as stored
/// into a temporary folder; the replay then reads those copies exactly as local files.
fn fetch(paths: &[PathBuf], range: &DayRange, draw: bool) -> Result<Fetched> {
    let spool = tempfile::Builder::new().prefix("rootwatch-s3-").tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut fetched = Fetched {
        paths: Default::default(),
        _spool: spool,
    };
    let dir = fetched._spool.path().to_path_buf();
    rt.block_on(async {
        let sdk = aws_config::load_from_env().await;
        let source = S3Objects {
            client: s3_client(&sdk),
        };
        // Listing.
        let mut wanted: Vec<(usize, ObjectRef, u64)> = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            let Some(url) = s3_url(path) else { continue };
            let mut f = FetchedPath::default();
            match source.list(&url, range, &mut f.selection).await {
                Ok(listed) => {
                    let s = &f.selection;
                    eprintln!(
                        "rootwatch: {url}: {listed} object(s) listed: {} to read, {} digest and {} other file(s) skipped, {} outside --since/--until, {} without a date path",
                        s.selected.len(),
                        s.digests,
                        s.other,
                        s.outside,
                        s.undated
                    );
                }
                Err(e) => f.errors.push(InputError {
                    file: url.to_string(),
                    index: None,
                    message: format!("listing failed: {e}"),
                }),
            }
            for (key, size) in std::mem::take(&mut f.selection.selected) {
                wanted.push((i, ObjectRef::new(&url.bucket, &key), size));
            }
            fetched.paths.insert(i, f);
        }
        // Downloading, a few at once; results are put back in listing order.
        let pb = draw.then(|| {
            let pb = ProgressBar::with_draw_target(
                Some(wanted.len() as u64),
                ProgressDrawTarget::stderr(),
            );
            pb.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} objects downloaded  {msg}",
                )
                .expect("valid template"),
            );
            pb
        });
        let total_bytes: u64 = wanted.iter().map(|w| w.2).sum();
        let mut done_bytes = 0u64;
        let mut results: Vec<Option<Result<PathBuf, String>>> = vec![None; wanted.len()];
        let mut tasks = tokio::task::JoinSet::new();
        let mut next = 0;
        while next < wanted.len() || !tasks.is_empty() {
            while next < wanted.len() && tasks.len() < DOWNLOADS_IN_FLIGHT {
                let (_, obj, _) = &wanted[next];
                let suffix = if obj.key.ends_with(".gz") { ".json.gz" } else { ".json" };
                let file = dir.join(format!("{next:07}{suffix}"));
                let (source, obj, n) = (source.clone(), obj.clone(), next);
                tasks.spawn(async move {
                    let r = rootwatch::aws::s3::download(&source, &obj, &file).await;
                    (n, r.map(|_| file).map_err(|e| e.to_string()))
                });
                next += 1;
            }
            if let Some(joined) = tasks.join_next().await {
                let (n, r) = joined.map_err(|e| anyhow::anyhow!("download task failed: {e}"))?;
                done_bytes += wanted[n].2;
                results[n] = Some(r);
                if let Some(pb) = &pb {
                    pb.inc(1);
                    pb.set_message(format!(
                        "{} of {} MB",
                        done_bytes / 1_000_000,
                        total_bytes / 1_000_000
                    ));
                }
            }
        }
        if let Some(pb) = &pb {
            pb.finish_and_clear();
        }
        for ((i, obj, _), r) in wanted.iter().zip(results) {
            let f = fetched.paths.entry(*i).or_default();
            match r {
                Some(Ok(file)) => f.files.push(Source::Spooled(obj.url(), file)),
                Some(Err(e)) => f.errors.push(InputError {
                    file: obj.url(),
                    index: None,
                    message: format!("download failed: {e}"),
                }),
                None => f.errors.push(InputError {
                    file: obj.url(),
                    index: None,
                    message: "not downloaded".into(),
                }),
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(fetched)
}

/// The S3 client. With an endpoint of its own (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`: an
/// emulator), requests name the bucket in the path, not in the host name, which such an
/// endpoint does not resolve.
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>
fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let own_endpoint =
        sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(own_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Lambda mode: configuration and the SNS client are built once, at init (TLS at the first
/// request); the S3 client at the first S3 notification.
fn lambda_main() -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{service_fn, LambdaEvent};
    use rootwatch::aws::function::{Config, Handler};
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|k| std::env::var(k).ok())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let sdk = rootwatch::aws::sns::load_lazy_tls().await;
        let publisher = SnsPublisher {
            client: rootwatch::aws::sns::client(&sdk),
            topic_arn: config.topic_arn.clone(),
        };
        let store =
            config
                .sessions_table
                .clone()
                .map(|table| rootwatch::aws::dynamo::DynamoStore {
                    client: rootwatch::aws::sns::store_client(&sdk),
                    table,
                });
        let objects = {
            let sdk = sdk.clone();
            rootwatch::aws::s3::LazyS3Objects::new(move || s3_client(&sdk))
        };
        tracing::info!(
            topic = %config.topic_arn,
            min_severity = %config.min_severity,
            sessions = config.sessions_table.as_deref().unwrap_or("memory"),
            watched_roles = config.rules.watched_roles.len(),
            trusted_accounts = config.rules.trusted_accounts.len(),
            detector_resources = config.rules.detector_resources.len(),
            log_buckets = %config.log_buckets.as_ref().map_or("any".to_owned(), |b| b.join(",")),
            "rootwatch function ready"
        );
        let handler = Handler::with_store(config, publisher, store).with_objects(objects);
        let handler = &handler;
        lambda_runtime::run(service_fn(
            move |event: LambdaEvent<Box<serde_json::value::RawValue>>| async move {
                handler
                    .handle(event.payload.get())
                    .await
                    .map_err(lambda_runtime::Error::from)
            },
        ))
        .await
    })
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
