//! The command line, read once into typed values by clap: subcommands, flags and their parsers.

use crate::core::model::Severity;
use crate::input::s3_keys::{Day, S3Url};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Detect AWS root-user activity in CloudTrail and tell who is behind each session.
#[derive(Parser)]
#[command(name = "rootwatch", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Analyse CloudTrail files, folders, standard input (`-`) or S3 prefixes (`s3://`).
    ///
    /// Reads CloudTrail log files (`{"Records":[...]}`, plain or .gz), EventBridge events, bare
    /// records, JSON arrays and JSON Lines. Folders are walked recursively in name order,
    /// reading *.json, *.jsonl, *.ndjson and their .gz forms. `s3://bucket/prefix/` reads the
    /// *.json.gz and *.json objects under the prefix (digest files skipped), optionally only
    /// those of --since/--until. Exit status 1 when an input could not be read (after
    /// everything readable was processed).
    Replay {
        /// Output format (on standard output).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Order of the output: `input` (the default: files in the order given, folders in name
        /// order, records as they are in each file) or `time` (by eventTime, oldest first; the
        /// output is then written at the end).
        #[arg(long, value_enum, default_value_t = Sort::Input)]
        sort: Sort,
        /// Also write a self-contained HTML report to this file: what was read, a timeline of
        /// the findings, a findings table with filters, the session graph. Opens from file://,
        /// with no network access.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
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
        /// Also import every finding into AWS Security Hub (BatchImportFindings, 100 per call)
        /// as the calling account's default product; AWS configuration as for --sns-topic-arn.
        #[arg(long)]
        security_hub: bool,
        /// Alert format with --sns-topic-arn: standard or chatbot.
        #[arg(long, default_value = "standard")]
        alert_format: crate::core::alert::AlertFormat,
        #[command(flatten)]
        sessions: SessionArgs,
        #[command(flatten)]
        patterns: PatternArgs,
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
        /// A suppression file (TOML, docs/suppressions.md): the findings it covers stay in
        /// jsonl/json marked "suppressed", leave the table and are not published.
        #[arg(long, value_name = "FILE")]
        suppressions: Option<PathBuf>,
        /// Files or folders to read; `-` for standard input; `s3://bucket/prefix/` for the
        /// objects under an S3 prefix (AWS_REGION, credentials, AWS_ENDPOINT_URL as for SNS).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show the session trees of the input: who started which chain, through which roles and
    /// accounts, with how many requests under each.
    Sessions {
        /// Output format (on standard output).
        #[arg(long, value_enum, default_value_t = TreeFormat::Tree)]
        format: TreeFormat,
        /// Sessions kept in memory at most (about 820 bytes each).
        #[arg(long, default_value_t = crate::core::session::MEMORY_CAPACITY)]
        session_capacity: usize,
        /// Files read at once (default: every core).
        #[arg(long, default_value_t = default_threads())]
        threads: usize,
        /// Files or folders to read; `-` for standard input; `s3://bucket/prefix/` as for replay.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the root-only task catalog (Markdown).
    Catalog,
    /// Audit root credentials: which accounts still have a root password, access keys, MFA or
    /// signing certificates (the caller's account, or the organisation's with --organization).
    /// Exit status 1 when an account could not be read (the others are still audited).
    Audit(crate::cli::audit::AuditArgs),
}

/// Session tracking and the two configurable session rules (the function reads the same
/// settings from WATCHED_ROLES and TRUSTED_ACCOUNTS).
#[derive(clap::Args)]
pub(crate) struct SessionArgs {
    /// Alert (watched-role-assumed) on any assumption of a role matching this ARN pattern; `*`
    /// matches any text. Repeat or separate with commas.
    #[arg(long = "watch-role", value_name = "ARN_PATTERN")]
    pub(crate) watch_role: Vec<String>,
    /// Accounts trusted to assume roles in other accounts (untrusted-account-assumption fires
    /// for any other caller account). Repeat or separate with commas.
    #[arg(long = "trusted-account", value_name = "ACCOUNT_ID")]
    pub(crate) trusted_account: Vec<String>,
    /// The detector's own resources (names, ARNs or URLs; `*` globs, e.g. rootwatch-*):
    /// detector-tamper fires when they are deleted, disabled or changed. Repeat or separate with
    /// commas. Stopping, deleting or narrowing any CloudTrail trail fires without it.
    #[arg(long = "detector-resource", value_name = "NAME_OR_ARN")]
    pub(crate) detector_resource: Vec<String>,
    /// Sessions kept in memory at most (about 820 bytes each); beyond it the earliest-expiring
    /// are forgotten and the summary says how many.
    #[arg(long, default_value_t = crate::core::session::MEMORY_CAPACITY)]
    pub(crate) session_capacity: usize,
}

/// Thresholds and windows of the pattern rules (the function reads ROOT_LOGIN_FAILURES,
/// ROOT_LOGIN_WINDOW_MINUTES, SPRAY_ACCOUNTS, SPRAY_WINDOW_MINUTES). Replay remembers AssumeRoot
/// callers over the whole input.
#[derive(clap::Args)]
pub(crate) struct PatternArgs {
    /// root-login-brute-force: this many failed root console sign-ins on one account ...
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) root_login_failures: u32,
    /// ... within this many minutes.
    #[arg(long, default_value_t = 15, value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub(crate) root_login_window: u32,
    /// root-login-spray: one address failing root sign-in on this many accounts ...
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) spray_accounts: u32,
    /// ... within this many minutes.
    #[arg(long, default_value_t = 60, value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub(crate) spray_window: u32,
}

impl PatternArgs {
    pub(crate) fn config(&self) -> crate::core::patterns::PatternConfig {
        crate::core::patterns::PatternConfig {
            brute_force_failures: self.root_login_failures as usize,
            brute_force_window: i64::from(self.root_login_window) * 60,
            spray_accounts: self.spray_accounts as usize,
            spray_window: i64::from(self.spray_window) * 60,
            // Replay remembers callers over its whole input.
            new_caller_memory: i64::MAX / 4,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub(crate) enum TreeFormat {
    /// Indented trees, for a person.
    Tree,
    /// A Graphviz document (`dot -Tsvg`).
    Dot,
    /// One JSON document: the trees, nested.
    Json,
    /// A self-contained HTML page drawing the session graph (no Graphviz needed).
    Html,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub(crate) enum Format {
    /// One line per finding (time, account, region, severity, principal, what happened), then a summary; for a person.
    Table,
    /// One JSON object per CloudTrail record, one per line (docs/jsonl.md); summary on stderr.
    Jsonl,
    /// One JSON document {"records": [...], "errors": [...], "summary": {...}}.
    Json,
    /// The subject and e-mail text of each alert, as an SNS e-mail subscriber reads it (findings at --alert-min-severity or above).
    Alert,
    /// One OCSF Detection Finding (class 2004, OCSF 1.5.0) per finding, one per line.
    Ocsf,
    /// One AWS Security Finding Format (ASFF) document per finding, one per line.
    Asff,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub(crate) enum Sort {
    /// The order of the input (the default).
    Input,
    /// By eventTime, oldest first (records without a time last).
    Time,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}

pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub(crate) fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

pub(crate) fn parse_day(s: &str) -> Result<Day, String> {
    Day::parse(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// The S3 location of a path argument, when it is one.
pub(crate) fn s3_url(path: &std::path::Path) -> Option<S3Url> {
    path.to_str().and_then(S3Url::parse)
}
