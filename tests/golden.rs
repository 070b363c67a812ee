//! Golden files: every sample under `events/` has its expected `--format jsonl` output beside it
//! as `<file>.expected`. A folder under `events/sessions/` is one case (a sequence of log files
//! replayed together): `<folder>.expected` holds its jsonl output and `<folder>.sessions.expected`
//! its `rootwatch sessions` tree. `UPDATE_EXPECT=1 cargo test --test golden` rewrites them.
//! Every sample is replayed with the detector resources of [`support::SAMPLE_DETECTOR_RESOURCES`].

mod support;

use rootwatch::cli::render::jsonl_line;
use rootwatch::cli::tree::Forest;
use rootwatch::replay::{self, InputError, Output};
use std::path::{Path, PathBuf};

#[derive(Default)]
struct Collect {
    lines: Vec<String>,
    forest: Forest,
}

impl Output for Collect {
    fn record(&mut self, r: &rootwatch::core::model::RecordReport) -> std::io::Result<()> {
        self.lines.push(jsonl_line(r));
        self.forest.add(r);
        Ok(())
    }
    fn error(&mut self, e: &InputError) -> std::io::Result<()> {
        self.lines
            .push(serde_json::json!({ "error": e.to_string() }).to_string());
        Ok(())
    }
}

/// Sample files, and session cases (folders directly under `events/sessions/`).
fn samples(dir: &Path, files: &mut Vec<PathBuf>, cases: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() && dir == Path::new("events/sessions") {
            cases.push(p);
        } else if p.is_dir() {
            samples(&p, files, cases);
        } else {
            files.push(p);
        }
    }
}

/// Compares (or, with UPDATE_EXPECT, writes) one expected file.
fn check(expected_path: &Path, got: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(expected_path, got).unwrap();
        return;
    }
    match std::fs::read_to_string(expected_path) {
        Ok(want) if want == got => {}
        Ok(want) => failures.push(format!(
            "{}: output differs\n--- expected\n{want}--- got\n{got}",
            expected_path.display()
        )),
        Err(_) => failures.push(format!(
            "no {} (run UPDATE_EXPECT=1 cargo test --test golden)",
            expected_path.display()
        )),
    }
}

fn run(path: &Path) -> Collect {
    let mut out = Collect::default();
    let opts = support::sample_options();
    let stats = replay::replay(&[path.to_owned()], &opts, &mut out).unwrap();
    assert!(stats.records > 0, "{} gave no record", path.display());
    out
}

#[test]
fn every_sample_matches_its_expected_output() {
    let mut files = Vec::new();
    let mut cases = Vec::new();
    samples(Path::new("events"), &mut files, &mut cases);
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        if let Some(stem) = name.strip_suffix(".expected") {
            let stem = stem.strip_suffix(".sessions").unwrap_or(stem);
            assert!(
                path.with_file_name(stem).exists(),
                "{} has no sample beside it",
                path.display()
            );
            continue;
        }
        if !rootwatch::input::walk::is_readable_name(&name) {
            continue;
        }
        let out = run(path);
        checked += 1;
        let got = out.lines.join("\n") + "\n";
        check(
            Path::new(&format!("{}.expected", path.display())),
            &got,
            &mut failures,
        );
    }
    for case in &cases {
        let out = run(case);
        checked += 1;
        let got = out.lines.join("\n") + "\n";
        check(
            Path::new(&format!("{}.expected", case.display())),
            &got,
            &mut failures,
        );
        let tree = rootwatch::cli::tree::text(&out.forest.trees());
        check(
            Path::new(&format!("{}.sessions.expected", case.display())),
            &tree,
            &mut failures,
        );
    }
    assert!(checked >= 40, "only {checked} samples found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
