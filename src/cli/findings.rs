//! Findings for security tools: `--format ocsf` and `--format asff` (one JSON document per
//! finding, one per line) and `--security-hub` (the ASFF documents imported with
//! `BatchImportFindings`, beside any format).

use crate::aws::securityhub;
use crate::core::asff::{self, Target};
use crate::core::model::RecordReport;
use crate::replay::{InputError, Output, Stats};
use std::cell::Cell;
use std::io::{self, Write};
use std::rc::Rc;

/// Now, in epoch milliseconds and RFC 3339 (the core takes time as a parameter).
pub(crate) fn now() -> (i64, String) {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    (ms, crate::core::time::format(ms / 1000))
}

/// `--format ocsf`: one OCSF Detection Finding per finding.
pub(crate) struct OcsfLines<W: Write> {
    pub(crate) out: W,
}

impl<W: Write> Output for OcsfLines<W> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        if report.findings.is_empty() {
            return Ok(());
        }
        let (now_ms, _) = now();
        for doc in crate::core::ocsf::documents(report, now_ms) {
            serde_json::to_writer(&mut self.out, &doc)?;
            self.out.write_all(b"\n")?;
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

/// `--format asff`: one ASFF document per finding, for the finding's own account and the
/// record's region ([`Target::of_record`]).
pub(crate) struct AsffLines<W: Write> {
    pub(crate) out: W,
}

impl<W: Write> Output for AsffLines<W> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        if report.findings.is_empty() {
            return Ok(());
        }
        let (_, now) = now();
        let target = Target::of_record(report);
        for f in &report.findings {
            serde_json::to_writer(&mut self.out, &asff::document(report, f, &target, &now))?;
            self.out.write_all(b"\n")?;
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

/// `--security-hub`: what the import did, read by the caller after the replay.
#[derive(Default)]
pub(crate) struct HubCounts {
    pub(crate) imported: Cell<u64>,
    pub(crate) failed: Cell<u64>,
}

/// `--security-hub`: imports the ASFF document of every finding into the calling account's
/// default product, [`securityhub::MAX_BATCH`] at a time, beside the output `inner`.
pub(crate) struct ToSecurityHub<'a> {
    pub(crate) inner: Box<dyn Output + 'a>,
    pub(crate) hub: Option<Hub>,
}

/// The client, the target and the documents not yet imported.
pub(crate) struct Hub {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) client: aws_sdk_securityhub::Client,
    pub(crate) target: Target,
    pub(crate) pending: Vec<(asff::Document, String)>,
    pub(crate) counts: Rc<HubCounts>,
}

/// The Security Hub sink of a replay: the SDK configuration from the environment, the calling
/// account from `sts:GetCallerIdentity`, the region from the configuration.
pub(crate) fn hub(counts: Rc<HubCounts>) -> anyhow::Result<Hub> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let sdk = rt.block_on(aws_config::load_from_env());
    let target = rt.block_on(securityhub::target(&sdk))?;
    let client = securityhub::client(&sdk);
    Ok(Hub {
        rt,
        client,
        target,
        pending: Vec::new(),
        counts,
    })
}

impl Hub {
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let docs: Vec<asff::Document> = batch.iter().map(|(d, _)| d.clone()).collect();
        let (imported, failed) = self.rt.block_on(securityhub::import(
            &self.client,
            &docs,
            securityhub::ATTEMPTS,
        ));
        let c = &self.counts;
        c.imported.set(c.imported.get() + imported as u64);
        c.failed.set(c.failed.get() + failed.len() as u64);
        for f in failed {
            let at = batch
                .iter()
                .find(|(d, _)| d.id == f.id)
                .map_or("-", |(_, at)| at.as_str());
            eprintln!(
                "rootwatch: error: finding {} ({at}) not imported into Security Hub after {} attempts: {}",
                f.id,
                securityhub::ATTEMPTS,
                f.reason
            );
        }
    }
}

impl Output for ToSecurityHub<'_> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        if let Some(hub) = &mut self.hub {
            if !report.findings.is_empty() {
                let (_, now) = now();
                let at = format!("{}: record {}", report.input.file, report.input.index);
                // A suppressed finding stays in the output, marked, and is not imported.
                for f in report.findings.iter().filter(|f| !f.is_suppressed()) {
                    let d = asff::document(report, f, &hub.target, &now);
                    hub.pending.push((d, at.clone()));
                }
                if hub.pending.len() >= securityhub::MAX_BATCH {
                    hub.flush();
                }
            }
        }
        self.inner.record(report)
    }
    fn error(&mut self, err: &InputError) -> io::Result<()> {
        self.inner.error(err)
    }
    fn input_started(&mut self, name: &str, n: usize, total: usize) {
        self.inner.input_started(name, n, total)
    }
    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        if let Some(hub) = &mut self.hub {
            hub.flush();
        }
        self.inner.finish(stats)
    }
}
