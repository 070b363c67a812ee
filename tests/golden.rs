//! Golden files: every sample under `events/` has its expected `--format jsonl` output beside it
//! as `<file>.expected`. `UPDATE_EXPECT=1 cargo test --test golden` rewrites them.

use rootwatch::model::Severity;
use rootwatch::render::jsonl_line;
use rootwatch::replay::{self, InputError, Output};
use std::path::{Path, PathBuf};

#[derive(Default)]
struct Collect {
    lines: Vec<String>,
}

impl Output for Collect {
    fn record(&mut self, r: &rootwatch::model::RecordReport) -> std::io::Result<()> {
        self.lines.push(jsonl_line(r));
        Ok(())
    }
    fn error(&mut self, e: &InputError) -> std::io::Result<()> {
        self.lines
            .push(serde_json::json!({ "error": e.to_string() }).to_string());
        Ok(())
    }
}

fn samples(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            samples(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_sample_matches_its_expected_output() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut files = Vec::new();
    samples(Path::new("events"), &mut files);
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        if let Some(event) = name.strip_suffix(".expected") {
            assert!(
                path.with_file_name(event).exists(),
                "{} has no sample beside it",
                path.display()
            );
            continue;
        }
        if !replay::is_readable_name(&name) {
            continue;
        }
        let mut out = Collect::default();
        let stats = replay::replay(std::slice::from_ref(path), Severity::Info, &mut out).unwrap();
        assert!(stats.records > 0, "{} gave no record", path.display());
        let got = out.lines.join("\n") + "\n";
        let expected_path = PathBuf::from(format!("{}.expected", path.display()));
        checked += 1;
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!(
                "{}: output differs\n--- expected\n{want}--- got\n{got}",
                path.display()
            )),
            Err(_) => failures.push(format!(
                "{}: no {} (run UPDATE_EXPECT=1 cargo test)",
                path.display(),
                expected_path.display()
            )),
        }
    }
    assert!(checked >= 40, "only {checked} samples found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
