//! `rootwatch replay --report FILE.html` and `rootwatch sessions --format html`: one
//! self-contained HTML page (styles, script and data inline; no network access when opened),
//! fed by the same reports as the other formats. Layout: [`page`] (the template), [`escape`]
//! (what makes record strings safe in it), `report.css` and `report.js` (inlined).
//!
//! Record strings are already sanitised by the core (control characters escaped, long values
//! cut); here they are escaped once more for HTML ([`escape::html`]) where the page is written in
//! Rust, and embedded as JSON ([`escape::script_json`]) that the script puts into the page as
//! text only.

pub mod escape;
pub mod page;

use crate::cli::render::short_principal;
use crate::cli::tree::{Forest, Node, Tree};
use crate::core::model::{PrincipalClass, RecordReport, Rule, Severity};
use crate::replay::{InputError, Output, Stats};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

/// One row of the findings table (one finding).
#[derive(Debug, Serialize)]
pub struct Row {
    /// eventID of the record ("-" when it has none).
    pub id: String,
    pub time: String,
    pub account: String,
    pub region: String,
    pub severity: Severity,
    pub rule: Rule,
    /// The finding's sentence.
    pub title: String,
    /// The principal in a few words, with its origin (`← who`) when known.
    pub who: String,
    pub class: PrincipalClass,
    pub ip: String,
    /// Index of the record in `records`.
    pub rec: usize,
}

/// A node of the session graph: an origin, or a session it opened (one hop).
#[derive(Debug, Serialize)]
pub struct GraphNode {
    /// `origin`, `session` or `root` (an AssumeRoot session).
    pub kind: &'static str,
    pub label: String,
    pub detail: String,
    /// Requests made with this session's credentials (for an origin: under it in all).
    pub requests: u64,
    /// Rows of the findings raised by requests made with this session's credentials.
    pub findings: Vec<usize>,
    pub children: Vec<GraphNode>,
}

/// What was read: the header of the page.
#[derive(Debug, Default, Serialize)]
pub struct Read {
    pub files: u64,
    pub records: u64,
    pub unreadable: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    pub accounts: BTreeSet<String>,
    pub by_severity: Vec<(Severity, u64)>,
    pub by_rule: Vec<(Rule, u64)>,
    /// Findings a suppression covers: counted, not listed (as in the table).
    pub suppressed: u64,
}

/// Everything the page shows.
#[derive(Debug, Serialize)]
pub struct Data {
    pub read: Read,
    pub findings: Vec<Row>,
    /// The `jsonl` object of every record with a finding (already sanitised by the core).
    pub records: Vec<Box<RawValue>>,
    pub graph: Vec<GraphNode>,
}

/// Collects a replay's reports for the page.
#[derive(Default)]
pub struct Collector {
    forest: Forest,
    rows: Vec<Row>,
    records: Vec<Box<RawValue>>,
    /// Rows by the session (issued, access key) whose credentials made the request.
    by_session: BTreeMap<(String, String), Vec<usize>>,
    first: Option<String>,
    last: Option<String>,
    accounts: BTreeSet<String>,
}

impl Collector {
    pub fn add(&mut self, r: &RecordReport) {
        self.forest.add(r);
        if let Some(t) = r.event_time.as_deref() {
            if self.first.as_deref().is_none_or(|f| t < f) {
                self.first = Some(t.to_owned());
            }
            if self.last.as_deref().is_none_or(|l| t > l) {
                self.last = Some(t.to_owned());
            }
        }
        if let Some(a) = r.principal.account_id.as_deref() {
            if self.accounts.len() < 10_000 && !self.accounts.contains(a) {
                self.accounts.insert(a.to_owned());
            }
        }
        // Suppressed findings leave the page as they leave the table (counted in the header).
        if r.findings.iter().all(|f| f.is_suppressed()) {
            return;
        }
        let line = crate::cli::render::jsonl_line(r);
        let Ok(raw) = RawValue::from_string(line) else {
            return;
        };
        let rec = self.records.len();
        self.records.push(raw);
        let mut who = short_principal(&r.principal);
        if let Some(o) = &r.origin {
            who.push_str(" ← ");
            who.push_str(o.who());
        }
        let session = r
            .origin
            .as_ref()
            .and_then(|o| o.last())
            .map(|h| (h.issued.clone(), h.access_key_id.clone()));
        for f in r.findings.iter().filter(|f| !f.is_suppressed()) {
            let row = self.rows.len();
            if let Some(k) = &session {
                self.by_session.entry(k.clone()).or_default().push(row);
            }
            self.rows.push(Row {
                id: r.event_id.as_deref().unwrap_or("-").to_owned(),
                time: r.event_time.as_deref().unwrap_or("-").to_owned(),
                account: r.principal.account_id.as_deref().unwrap_or("-").to_owned(),
                region: r.aws_region.as_deref().unwrap_or("-").to_owned(),
                severity: f.severity,
                rule: f.rule,
                title: f.title.to_string(),
                who: who.clone(),
                class: r.principal.class,
                ip: r.source_ip.as_deref().unwrap_or("-").to_owned(),
                rec,
            });
        }
    }

    /// The page's data, with the counts of the whole replay.
    pub fn data(mut self, stats: &Stats) -> Data {
        // The table and the graph's leaves in time order (stable: ties keep the input order).
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by(|&a, &b| self.rows[a].time.cmp(&self.rows[b].time));
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut rows: Vec<Option<Row>> = self.rows.drain(..).map(Some).collect();
        self.rows = order.iter().filter_map(|&old| rows[old].take()).collect();
        for list in self.by_session.values_mut() {
            for i in list.iter_mut() {
                *i = new_index[*i];
            }
            list.sort_unstable();
        }
        let trees = self.forest.trees();
        let graph = graph(&trees, &self.by_session);
        Data {
            read: Read {
                files: stats.files_read,
                records: stats.records,
                unreadable: stats.errors,
                first: self.first,
                last: self.last,
                accounts: self.accounts,
                by_severity: stats
                    .findings_by_severity
                    .iter()
                    .rev()
                    .map(|(k, v)| (*k, *v))
                    .collect(),
                by_rule: stats
                    .findings_by_rule
                    .iter()
                    .map(|(k, v)| (*k, *v))
                    .collect(),
                suppressed: stats.suppressed,
            },
            findings: self.rows,
            records: self.records,
            graph,
        }
    }
}

/// The session graph of some trees; `by_session` gives the finding rows of each session.
pub fn graph(
    trees: &[Tree],
    by_session: &BTreeMap<(String, String), Vec<usize>>,
) -> Vec<GraphNode> {
    fn nodes(ns: &[Node], by: &BTreeMap<(String, String), Vec<usize>>) -> Vec<GraphNode> {
        ns.iter()
            .map(|n| GraphNode {
                kind: if n.hop.api == "AssumeRoot" {
                    "root"
                } else {
                    "session"
                },
                label: n.hop.describe(),
                detail: format!(
                    "{} at {} [{}]",
                    n.hop.api, n.hop.issued, n.hop.access_key_id
                ),
                requests: n.requests,
                findings: by
                    .get(&(n.hop.issued.clone(), n.hop.access_key_id.clone()))
                    .cloned()
                    .unwrap_or_default(),
                children: nodes(&n.sessions, by),
            })
            .collect()
    }
    trees
        .iter()
        .zip(crate::cli::tree::labels(trees))
        .map(|(t, label)| GraphNode {
            kind: "origin",
            label,
            detail: match &t.account_id {
                Some(a) => format!("{} in {a}", t.class),
                None => t.class.to_string(),
            },
            requests: t.total_requests,
            findings: Vec::new(),
            children: nodes(&t.sessions, by_session),
        })
        .collect()
}

/// `--report FILE.html`: collects beside a format and writes the page when the replay ends.
pub(crate) struct WithReport<O> {
    pub(crate) inner: O,
    pub(crate) collector: Collector,
    pub(crate) path: PathBuf,
}

impl<O: Output> Output for WithReport<O> {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        self.collector.add(report);
        self.inner.record(report)
    }
    fn take(&mut self, report: RecordReport) -> io::Result<()> {
        self.collector.add(&report);
        self.inner.take(report)
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
        // The normal output first: a report that cannot be written does not lose it.
        self.inner.finish(stats)?;
        let data = std::mem::take(&mut self.collector).data(stats);
        let html = page::report(&data).map_err(io::Error::other)?;
        std::fs::write(&self.path, html).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot write the report {}: {e}; check that its folder exists and is writable",
                    self.path.display()
                ),
            )
        })
    }
}

/// `rootwatch sessions --format html`: the session graph alone.
pub fn sessions_page(trees: &[Tree]) -> io::Result<String> {
    let data = Data {
        read: Read::default(),
        findings: Vec::new(),
        records: Vec::new(),
        graph: graph(trees, &BTreeMap::new()),
    };
    page::sessions(&data).map_err(io::Error::other)
}

#[cfg(test)]
mod tests;
