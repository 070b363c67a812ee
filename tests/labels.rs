//! Hand-written labels: every record of every sample under `events/` has one entry in
//! `events/labels.toml`, written from the AWS documentation and the record's content (not from
//! the program's output). Replay (the library, as `tests/golden.rs` runs it, same settings) must
//! agree with each label: the principal class, every rule that must fire, no rule that must stay
//! silent, the task, and the lead (highest) severity. A record without a label fails, and so
//! does a label that names no record.
//!
//! The goldens (`*.expected`) pin the wording; these labels are the evidence that the wording
//! says the right thing.

mod support;

use rootwatch::core::model::{PrincipalClass, RecordReport, Rule, Severity, Task};
use rootwatch::replay::{self, InputError, Output};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const LABELS: &str = "events/labels.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Labels {
    record: Vec<Label>,
}

/// One record's label.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Label {
    /// The sample file, from the crate root (`events/...`).
    file: String,
    /// The 0-based index of the record in its file.
    index: u64,
    /// The record's `eventID`, when it has one (a cross-check of the key).
    #[serde(default)]
    id: Option<String>,
    /// `principal.class`.
    class: String,
    /// Rules that must fire.
    fires: Vec<String>,
    /// Rules that must not fire: a list, or "rest" for every rule not in `fires`.
    silent: Silent,
    /// The `task` of the `root-only-task` finding; absent when no finding names a task.
    #[serde(default)]
    task: Option<String>,
    /// The highest severity of the record's findings, or "none" when nothing fires.
    severity: String,
    /// One line: why, in the words of the AWS page.
    why: String,
    /// The AWS page the label rests on.
    doc: String,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Silent {
    Rules(Vec<String>),
    Keyword(String),
}

fn load() -> Vec<Label> {
    let text = std::fs::read_to_string(LABELS).unwrap();
    let labels: Labels = toml::from_str(&text).unwrap_or_else(|e| panic!("{LABELS}: {e}"));
    labels.record
}

/// What a label asks of the code, parsed; or why the label itself is malformed.
struct Want {
    class: PrincipalClass,
    fires: Vec<Rule>,
    silent: Vec<Rule>,
    task: Option<Task>,
    severity: Option<Severity>,
}

fn parse(l: &Label) -> Result<Want, String> {
    let rule = |r: &String| r.parse::<Rule>();
    let fires = l.fires.iter().map(rule).collect::<Result<Vec<_>, _>>()?;
    let silent = match &l.silent {
        Silent::Keyword(k) if k == "rest" => Rule::ALL
            .iter()
            .copied()
            .filter(|r| !fires.contains(r))
            .collect(),
        Silent::Keyword(k) => return Err(format!("silent = {k:?}: a list or \"rest\"")),
        Silent::Rules(rs) => rs.iter().map(rule).collect::<Result<Vec<_>, _>>()?,
    };
    if let Some(r) = fires.iter().find(|r| silent.contains(r)) {
        return Err(format!("{r} both fires and is silent"));
    }
    let severity = match l.severity.as_str() {
        "none" => None,
        s => Some(s.parse::<Severity>()?),
    };
    if severity.is_none() != fires.is_empty() {
        return Err("severity \"none\" goes with no rule firing, and only with it".into());
    }
    let task = l.task.as_deref().map(str::parse::<Task>).transpose()?;
    if task.is_some() != fires.contains(&Rule::RootOnlyTask) {
        return Err("a task goes with root-only-task firing, and only with it".into());
    }
    if l.why.trim().is_empty() || l.why.contains('\n') {
        return Err("why: one line".into());
    }
    if !l.doc.starts_with("https://docs.aws.amazon.com/") {
        return Err(format!("doc {:?} is not an AWS documentation page", l.doc));
    }
    Ok(Want {
        class: l.class.parse::<PrincipalClass>()?,
        fires,
        silent,
        task,
        severity,
    })
}

#[derive(Default)]
struct Collect {
    reports: Vec<RecordReport>,
    errors: Vec<String>,
}

impl Output for Collect {
    fn record(&mut self, r: &RecordReport) -> std::io::Result<()> {
        self.reports.push(r.clone());
        Ok(())
    }
    fn error(&mut self, e: &InputError) -> std::io::Result<()> {
        self.errors.push(e.to_string());
        Ok(())
    }
}

/// What replay replays as one input, as the golden test does: each sample file, and each folder
/// directly under `events/sessions/` (a sequence of log files read together).
fn units(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() && dir == Path::new("events/sessions") {
            out.push(p);
        } else if p.is_dir() {
            units(&p, out);
        } else if rootwatch::input::walk::is_readable_name(&name) {
            out.push(p);
        }
    }
}

fn replayed() -> (Vec<RecordReport>, Vec<String>) {
    let mut inputs = Vec::new();
    units(Path::new("events"), &mut inputs);
    let opts = support::sample_options();
    let mut all = Collect::default();
    for input in inputs {
        let mut out = Collect::default();
        replay::replay(&[input], &opts, &mut out).unwrap();
        all.reports.extend(out.reports);
        all.errors.extend(out.errors);
    }
    (all.reports, all.errors)
}

fn key(file: &str, index: u64) -> String {
    format!("{}#{index}", file.replace('\\', "/"))
}

/// Every sample record against its label.
#[test]
fn every_sample_record_agrees_with_its_hand_written_label() {
    let labels = load();
    let mut failures = Vec::new();
    let mut by_key: BTreeMap<String, (&Label, Want)> = BTreeMap::new();
    for l in &labels {
        let k = key(&l.file, l.index);
        match parse(l) {
            Ok(w) => {
                if by_key.insert(k.clone(), (l, w)).is_some() {
                    failures.push(format!("{k}: labelled twice"));
                }
            }
            Err(e) => failures.push(format!("{k}: malformed label: {e}")),
        }
    }
    let (reports, errors) = replayed();
    for e in errors {
        failures.push(format!("a sample did not read: {e}"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in &reports {
        let k = key(&r.input.file, r.input.index);
        seen.insert(k.clone());
        let id = r.event_id.as_deref().unwrap_or("no eventID");
        let Some((label, want)) = by_key.get(&k) else {
            failures.push(format!("{k} ({id}): no label in {LABELS}"));
            continue;
        };
        let mut wrong = Vec::new();
        if let Some(lid) = &label.id {
            if r.event_id.as_deref() != Some(lid.as_str()) {
                wrong.push(format!("eventID {id}, label says {lid}"));
            }
        }
        if r.principal.class != want.class {
            wrong.push(format!(
                "class {}, label says {}",
                r.principal.class, want.class
            ));
        }
        let fired: Vec<Rule> = r.findings.iter().map(|f| f.rule).collect();
        for rule in &want.fires {
            if !fired.contains(rule) {
                wrong.push(format!("{rule} must fire"));
            }
        }
        for rule in &want.silent {
            if fired.contains(rule) {
                wrong.push(format!("{rule} must not fire"));
            }
        }
        let tasks: Vec<Task> = r.findings.iter().filter_map(|f| f.task).collect();
        let want_tasks: Vec<Task> = want.task.into_iter().collect();
        if tasks != want_tasks {
            wrong.push(format!("tasks {tasks:?}, label says {want_tasks:?}"));
        }
        let lead = r.findings.iter().map(|f| f.severity).max();
        if lead != want.severity {
            wrong.push(format!(
                "lead severity {}, label says {}",
                lead.map_or("none", Severity::as_str),
                label.severity
            ));
        }
        if !wrong.is_empty() {
            let titles: Vec<&str> = r.findings.iter().map(|f| f.title.as_str()).collect();
            failures.push(format!(
                "{k} ({id}): {}\n    label: {}\n    findings: {titles:?}",
                wrong.join("; "),
                label.why
            ));
        }
    }
    for k in by_key.keys() {
        if !seen.contains(k) {
            failures.push(format!(
                "{k}: labelled, but no sample record has this place"
            ));
        }
    }
    assert!(
        reports.len() >= 110,
        "only {} sample records replayed",
        reports.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} records disagree with {LABELS}:\n{}",
        failures.len(),
        reports.len(),
        failures.join("\n")
    );
}

/// The checks can fail: a label of the wrong class, a rule that does not fire, a silent rule
/// that fires, or a wrong severity is caught; malformed labels are refused.
#[test]
fn the_label_checks_can_fail() {
    let good = r#"
        [[record]]
        file = "events/rules/root-console-login-nomfa.json"
        index = 0
        class = "root"
        fires = ["root-console-login"]
        silent = "rest"
        severity = "critical"
        why = "x"
        doc = "https://docs.aws.amazon.com/x"
    "#;
    let parsed = |s: &str| parse(&toml::from_str::<Labels>(s).unwrap().record[0]);
    let want = parsed(good).unwrap();
    assert_eq!(want.silent.len(), Rule::ALL.len() - 1);
    for (from, to) in [
        ("severity = \"critical\"", "severity = \"none\""),
        (
            "fires = [\"root-console-login\"]",
            "fires = [\"no-such-rule\"]",
        ),
        ("silent = \"rest\"", "silent = \"all\""),
        ("silent = \"rest\"", "silent = [\"root-console-login\"]"),
        ("class = \"root\"", "class = \"superuser\""),
        (
            "doc = \"https://docs.aws.amazon.com/x\"",
            "doc = \"https://example.com\"",
        ),
        ("index = 0", "index = 0\ntask = \"close-account\""),
    ] {
        assert!(parsed(&good.replace(from, to)).is_err(), "{to}");
    }
    assert!(toml::from_str::<Labels>(&good.replace("why", "because")).is_err());
}
