//! `rootwatch audit`: which accounts still have root credentials, and how they are protected.
//! Reads them through `aws::audit`, prints one row per account (or JSON), and publishes the
//! findings to SNS like replay's alerts. Exit status 1 when an account could not be read.

use crate::aws::audit::{self, AuditOptions, AuditRun};
use crate::aws::sns::{Publisher, SnsPublisher};
use crate::core::alert::{build, Alert, AlertFormat};
use crate::core::asff::{self, Target};
use crate::core::audit::report::{suppress, to_report};
use crate::core::audit::{AccountAudit, MfaKind, Presence, RootCredentials};
use crate::core::model::{RecordReport, Severity};
use crate::core::sanitize::{clean, MAX_FIELD};
use anyhow::Result;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

/// The flags of `rootwatch audit`.
#[derive(clap::Args)]
pub(crate) struct AuditArgs {
    /// Output format: `table` (one row per account), `jsonl` (one JSON object per account),
    /// `json` (one document), `alert` (the e-mail text of each account's alert), `ocsf` / `asff`
    /// (one OCSF Detection Finding / ASFF document per finding, as replay writes them).
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    format: AuditFormat,
    /// Only these accounts (12-digit ids; repeat or separate with commas). Without
    /// --organization, other accounts than the caller's are read with sts:AssumeRoot.
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    accounts: Vec<String>,
    /// Audit every account of the organisation (run it in the management account or the
    /// delegated administrator for IAM).
    #[arg(long)]
    organization: bool,
    /// Accounts read at once.
    #[arg(long, default_value_t = audit::CONCURRENCY as u16, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Never draw a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Also publish each account's alert to this SNS topic (AWS_REGION, credentials,
    /// AWS_ENDPOINT_URL as for replay).
    #[arg(long, value_name = "ARN")]
    sns_topic_arn: Option<String>,
    /// Lowest severity that is published with --sns-topic-arn (and shown by --format alert).
    #[arg(long, default_value = "medium", value_parser = crate::cli::args::parse_severity)]
    alert_min_severity: Severity,
    /// Alert format with --sns-topic-arn: standard or chatbot.
    #[arg(long, default_value = "standard")]
    alert_format: AlertFormat,
    /// Also import each finding (ASFF) into Security Hub, as the calling account's default
    /// product (securityhub:BatchImportFindings), as replay does.
    #[arg(long)]
    security_hub: bool,
    /// A suppression file (TOML, docs/suppressions.md): the findings it covers stay in
    /// jsonl/json marked "suppressed", leave the table and are neither published nor imported.
    #[arg(long, value_name = "FILE")]
    suppressions: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub(crate) enum AuditFormat {
    Table,
    Jsonl,
    Json,
    /// The e-mail text of each account's alert.
    Alert,
    /// One OCSF Detection Finding per finding (one JSON document a line).
    Ocsf,
    /// One ASFF document per finding (one JSON document a line).
    Asff,
}

/// Runs `rootwatch audit`.
pub(crate) fn run(args: AuditArgs) -> Result<ExitCode> {
    let mut accounts = Vec::new();
    for a in &args.accounts {
        let a = a.trim();
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return crate::cli::usage(&format!(
                "--accounts: {:?} is not a 12-digit AWS account id",
                clean(a, MAX_FIELD)
            ));
        }
        accounts.push(a.to_owned());
    }
    let now = crate::cli::suppressions::now();
    let suppressions = match crate::cli::suppressions::load(args.suppressions.as_deref(), now) {
        Ok(s) => s,
        Err(why) => return crate::cli::usage(&why),
    };
    let opts = AuditOptions {
        organization: args.organization,
        accounts,
        concurrency: usize::from(args.concurrency),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let sdk = rt.block_on(aws_config::load_from_env());
    let draw = !args.no_progress && io::stderr().is_terminal();
    let progress = draw.then(|| {
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {pos} accounts audited  {msg}",
            )
            .expect("valid template"),
        );
        pb
    });
    let tick = |a: &AccountAudit| {
        if let Some(pb) = &progress {
            pb.inc(1);
            pb.set_message(a.account_id.clone());
        }
    };
    let mut run = rt
        .block_on(audit::run(&sdk, &opts, &tick))
        .map_err(anyhow::Error::new)?;
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    let time = crate::core::time::format(now);
    let mut suppressed = 0;
    for a in &mut run.accounts {
        suppressed += suppress(a, &suppressions, &time, now);
    }
    let reports: Vec<RecordReport> = run
        .accounts
        .iter()
        .enumerate()
        .filter_map(|(i, a)| to_report(a, &time, i as u64))
        .collect();
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        AuditFormat::Table => table(&mut out, &run)?,
        AuditFormat::Jsonl => {
            for a in &run.accounts {
                serde_json::to_writer(&mut out, a)?;
                out.write_all(b"\n")?;
            }
        }
        AuditFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &document(&run))?;
            out.write_all(b"\n")?;
        }
        AuditFormat::Ocsf => {
            for r in &reports {
                for doc in crate::core::ocsf::documents(r, now * 1000) {
                    serde_json::to_writer(&mut out, &doc)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        AuditFormat::Asff => {
            for r in &reports {
                let target = Target::of_record(r);
                for f in &r.findings {
                    serde_json::to_writer(&mut out, &asff::document(r, f, &target, &time))?;
                    out.write_all(b"\n")?;
                }
            }
        }
        AuditFormat::Alert => {
            for r in &reports {
                if let Some(a) = build(r, args.alert_min_severity, args.alert_format) {
                    writeln!(out, "Subject: {}\n\n{}", a.subject, a.text)?;
                }
            }
        }
    }
    out.flush()?;
    let mut failed = false;
    if suppressed > 0 {
        eprintln!(
            "rootwatch: {suppressed} finding(s) suppressed (kept in jsonl/json, not published)"
        );
    }
    if args.security_hub {
        let target = rt
            .block_on(crate::aws::securityhub::target(&sdk))
            .map_err(anyhow::Error::new)?;
        let client = crate::aws::securityhub::client(&sdk);
        // A suppressed finding is never imported.
        let docs: Vec<asff::Document> = reports
            .iter()
            .flat_map(|r| {
                r.findings
                    .iter()
                    .filter(|f| !f.is_suppressed())
                    .map(|f| asff::document(r, f, &target, &time))
                    .collect::<Vec<_>>()
            })
            .collect();
        let (imported, not) = rt.block_on(crate::aws::securityhub::import(
            &client,
            &docs,
            crate::aws::securityhub::ATTEMPTS,
        ));
        for f in &not {
            eprintln!(
                "rootwatch: error: finding {} not imported into Security Hub: {}",
                f.id, f.reason
            );
        }
        eprintln!(
            "rootwatch: {imported} finding(s) imported into Security Hub, {} failed",
            not.len()
        );
        failed |= !not.is_empty();
    }
    if let Some(topic_arn) = args.sns_topic_arn {
        let alerts: Vec<Alert> = reports
            .iter()
            .filter_map(|r| build(r, args.alert_min_severity, args.alert_format))
            .collect();
        let publisher = SnsPublisher {
            client: crate::aws::sns::client(&sdk),
            topic_arn,
        };
        let results = rt.block_on(publisher.publish_all(&alerts));
        let mut not = 0;
        for (a, r) in alerts.iter().zip(&results) {
            if let Err(e) = r {
                not += 1;
                eprintln!("rootwatch: error: alert not published ({}): {e}", a.subject);
            }
        }
        eprintln!(
            "rootwatch: {} alert(s) published to SNS, {not} failed",
            alerts.len() - not
        );
        failed |= not > 0;
    }
    let unreadable = run.unreadable();
    if unreadable > 0 {
        eprintln!("rootwatch: {unreadable} account(s) could not be read (see the rows above)");
        failed = true;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `--format json`: the organisation's facts and every account.
fn document(run: &AuditRun) -> serde_json::Value {
    serde_json::json!({
        "management_account": run.management,
        "organization": run.org,
        "accounts": run.accounts,
        "unreadable": run.unreadable(),
    })
}

/// The password column.
fn password(r: &RootCredentials) -> String {
    match (r.password, &r.password_last_used) {
        (Presence::Present, Some(t)) => format!("yes, used {}", t.get(..10).unwrap_or(t)),
        (Presence::Present, None) => "yes".into(),
        (Presence::Absent, _) => "no".into(),
        (Presence::Unknown, _) => "unknown".into(),
    }
}

fn mfa(r: &RootCredentials) -> String {
    if r.mfa.is_empty() {
        return "none".into();
    }
    let hw = r.mfa.iter().filter(|m| **m == MfaKind::Hardware).count();
    let virt = r.mfa.len() - hw;
    match (hw, virt) {
        (h, 0) => format!("hardware ({h})"),
        (0, v) => format!("virtual ({v})"),
        (h, v) => format!("hardware ({h}), virtual ({v})"),
    }
}

fn keys(r: &RootCredentials) -> String {
    let active = r.access_keys.iter().filter(|k| k.active).count();
    let inactive = r.access_keys.len() - active;
    match (active, inactive) {
        (0, 0) => "none".into(),
        (a, 0) => format!("{a} active"),
        (0, i) => format!("{i} inactive"),
        (a, i) => format!("{a} active, {i} inactive"),
    }
}

/// `--format table`: one row per account, then the findings and a summary.
fn table(out: &mut impl Write, run: &AuditRun) -> io::Result<()> {
    writeln!(
        out,
        "{:<12}  {:<10}  {:<22}  {:<16}  {:<18}  {:<5}  FINDINGS",
        "ACCOUNT", "KIND", "PASSWORD", "MFA", "ACCESS KEYS", "CERTS"
    )?;
    for a in &run.accounts {
        let id = clean(&a.account_id, MAX_FIELD);
        let shown: Vec<_> = a.findings.iter().filter(|f| !f.is_suppressed()).collect();
        let worst = shown
            .iter()
            .map(|f| f.severity)
            .max()
            .map(|s| s.as_str().to_uppercase());
        let findings = match worst {
            Some(w) => format!("{} ({w})", shown.len()),
            None => "0".into(),
        };
        match (&a.root, &a.error) {
            (Some(r), _) => writeln!(
                out,
                "{id:<12}  {:<10}  {:<22}  {:<16}  {:<18}  {:<5}  {findings}",
                a.kind.as_str(),
                password(r),
                mfa(r),
                keys(r),
                r.certificates.len(),
            )?,
            (None, why) => writeln!(
                out,
                "{id:<12}  {:<10}  cannot be read: {}",
                a.kind.as_str(),
                clean(why.as_deref().unwrap_or("unknown"), 400)
            )?,
        }
    }
    let all: Vec<_> = run
        .accounts
        .iter()
        .flat_map(|a| {
            a.findings
                .iter()
                .filter(|f| !f.is_suppressed())
                .map(move |f| (a, f))
        })
        .collect();
    if !all.is_empty() {
        writeln!(out, "\nFindings")?;
        for (a, f) in &all {
            writeln!(
                out,
                "  {:<8}  {:<12}  {:<36}  {}",
                f.severity.as_str().to_uppercase(),
                clean(&a.account_id, MAX_FIELD),
                f.rule.as_str(),
                f.title
            )?;
        }
    }
    let mut by = [0usize; 5];
    for (_, f) in &all {
        by[f.severity as usize] += 1;
    }
    writeln!(
        out,
        "\nSummary\n  accounts         {} ({} could not be read)\n  findings         {}: critical {}, high {}, medium {}, low {}, info {}",
        run.accounts.len(),
        run.unreadable(),
        all.len(),
        by[4],
        by[3],
        by[2],
        by[1],
        by[0]
    )?;
    let hidden: usize = run
        .accounts
        .iter()
        .map(|a| a.findings.iter().filter(|f| f.is_suppressed()).count())
        .sum();
    if hidden > 0 {
        writeln!(
            out,
            "  suppressed       {hidden} (not shown, not published)"
        )?;
    }
    if let Some(o) = &run.org {
        writeln!(
            out,
            "  organisation     centralized root access: credentials management {}, root sessions {}",
            if o.root_credentials_management { "on" } else { "off" },
            if o.root_sessions { "on" } else { "off" },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::rules::evaluate;
    use crate::core::audit::{AccessKey, AccountKind, Certificate, OrgFacts};

    /// The example of docs/audit.md: a management account, a member with an old inactive key and
    /// virtual MFA, a clean member, and a member whose root session was denied.
    fn example() -> AuditRun {
        let org = OrgFacts {
            root_credentials_management: true,
            root_sessions: true,
        };
        let row = |id: &str, kind, root: RootCredentials| AccountAudit {
            account_id: id.into(),
            account_name: None,
            kind,
            findings: evaluate(id, kind, &root, Some(&org)),
            root: Some(root),
            error: None,
        };
        let mgmt = RootCredentials {
            password: Presence::Present,
            password_last_used: Some("2026-10-02T08:14:00+00:00".into()),
            mfa: vec![MfaKind::Hardware],
            access_keys: vec![],
            certificates: vec![],
        };
        let old_key = RootCredentials {
            password: Presence::Present,
            password_last_used: None,
            mfa: vec![MfaKind::Virtual],
            access_keys: vec![AccessKey {
                id: Some("AKIAIOSFODNN7EXAMPLE".into()),
                active: false,
                last_used: None,
            }],
            certificates: vec![Certificate {
                id: Some("CERT".into()),
                active: true,
            }],
        };
        let clean = RootCredentials {
            password: Presence::Absent,
            password_last_used: None,
            mfa: vec![],
            access_keys: vec![],
            certificates: vec![],
        };
        AuditRun {
            org: Some(org),
            management: Some("111122223333".into()),
            accounts: vec![
                row("111122223333", AccountKind::Management, mgmt),
                row("444455556666", AccountKind::Member, old_key),
                row("555566667777", AccountKind::Member, clean),
                audit::row(
                    "777788889999",
                    None,
                    AccountKind::Member,
                    Err("sts:AssumeRoot in 777788889999: access denied: the credentials in use lack the permission for this call; grant it to that principal or use another profile (AccessDenied: not authorized to perform sts:AssumeRoot); docs/audit.md lists the audit's permissions".into()),
                    Some(&org),
                ),
            ],
        }
    }

    #[test]
    fn the_docs_example_table_is_what_the_command_prints() {
        let mut out = Vec::new();
        table(&mut out, &example()).unwrap();
        let out = String::from_utf8(out).unwrap();
        let docs = include_str!("../../docs/audit.md");
        let start = docs
            .find("<!-- audit-table -->")
            .expect("marker in docs/audit.md");
        let block = &docs[start..];
        let begin = block.find("```text\n").unwrap() + 8;
        let end = block[begin..].find("```").unwrap();
        assert_eq!(
            &block[begin..begin + end],
            out,
            "paste this into docs/audit.md:\n{out}"
        );
    }
}
