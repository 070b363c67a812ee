//! The README's claims: sample output, catalog table, every class/rule/task documented, and the
//! two quick-start commands.

use rootwatch::cli::render::Table;
use rootwatch::core::model::{PrincipalClass, Rule, Severity, Task};
use rootwatch::replay::{self, Output};

fn readme() -> String {
    std::fs::read_to_string("README.md").unwrap()
}

/// A documentation file under `docs/`, where the README's longer sections now live.
fn doc(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn block_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("README lacks {marker}"));
    let rest = &text[start..];
    let open = rest.find("```text\n").unwrap() + "```text\n".len();
    let close = rest[open..].find("```").unwrap();
    &rest[open..open + close]
}

#[test]
fn sample_output_is_what_replay_prints() {
    let mut table = Table {
        out: Vec::new(),
        color: false,
        principal_width: None,
    };
    let stats =
        replay::replay(&["events/".into()], &replay::Options::default(), &mut table).unwrap();
    table.finish(&stats).unwrap();
    let actual = String::from_utf8(table.out).unwrap();
    let actual_lines: Vec<&str> = actual.lines().map(str::trim_end).collect();
    let readme = readme();
    let sample = block_after(&readme, "<!-- sample-output");
    let mut checked = 0;
    for line in sample.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            actual_lines.contains(&line.trim_end()),
            "README line not in output:\n{line}\n--- output:\n{actual}"
        );
        checked += 1;
    }
    assert!(checked >= 15, "sample too short: {checked} lines");
}

#[test]
fn catalog_table_is_generated() {
    let readme = doc("docs/rules.md");
    let start = readme.find("<!-- catalog:").unwrap();
    let body_start = start + readme[start..].find("-->\n").unwrap() + 4;
    let end = readme.find("<!-- /catalog -->").unwrap();
    assert_eq!(
        &readme[body_start..end],
        rootwatch::core::catalog::markdown(),
        "run `rootwatch catalog` and paste it into the README"
    );
}

#[test]
fn tamper_table_is_generated() {
    let readme = doc("docs/rules.md");
    let start = readme.find("<!-- tamper:").unwrap();
    let start = start + readme[start..].find('\n').unwrap() + 1;
    let end = readme.find("<!-- /tamper -->").unwrap();
    assert_eq!(
        &readme[start..end],
        rootwatch::core::tamper::markdown(),
        "paste rootwatch::core::tamper::markdown() into the README"
    );
}

#[test]
fn every_class_rule_and_task_is_documented() {
    let readme = doc("docs/rules.md");
    let names = PrincipalClass::ALL
        .iter()
        .map(|c| c.as_str())
        .chain(Rule::ALL.iter().map(|r| r.as_str()))
        .chain(Task::ALL.iter().map(|t| t.as_str()));
    for n in names {
        assert!(
            readme.contains(&format!("`{n}`")),
            "README does not mention `{n}`"
        );
    }
}

#[test]
fn quick_start_has_the_two_commands() {
    let readme = readme();
    assert!(readme.contains("cargo run --release -- replay events/"));
    assert!(readme.contains("make test"));
}

/// The alert for the README's sample event, read through the real replay path.
fn login_alert() -> rootwatch::core::alert::Alert {
    struct One(Option<rootwatch::core::model::RecordReport>);
    impl Output for One {
        fn record(&mut self, r: &rootwatch::core::model::RecordReport) -> std::io::Result<()> {
            self.0 = Some(r.clone());
            Ok(())
        }
        fn error(&mut self, e: &replay::InputError) -> std::io::Result<()> {
            panic!("{e}")
        }
    }
    let mut one = One(None);
    let path = "events/rules/root-console-login-nomfa.json";
    replay::replay(&[path.into()], &replay::Options::default(), &mut one).unwrap();
    let report = one.0.expect("one record");
    rootwatch::core::alert::build(
        &report,
        Severity::Medium,
        rootwatch::core::alert::AlertFormat::Standard,
    )
    .unwrap()
}

#[test]
fn sample_email_is_what_the_alert_says() {
    let alert = login_alert();
    let want = format!("Subject: {}\n\n{}", alert.subject, alert.text.trim_end());
    let readme = readme();
    let sample = block_after(&readme, "<!-- sample-email");
    assert_eq!(sample.trim_end(), want);
}

#[test]
fn sample_document_is_what_the_alert_sends() {
    let alert = login_alert();
    let got: serde_json::Value = serde_json::from_str(&alert.document).unwrap();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        println!("{}", serde_json::to_string_pretty(&got).unwrap());
    }
    let readme = doc("docs/function.md");
    let start = readme.find("<!-- sample-document").expect("marker");
    let rest = &readme[start..];
    let open = rest.find("```json\n").unwrap() + 8;
    let close = rest[open..].find("```").unwrap();
    let want: serde_json::Value = serde_json::from_str(&rest[open..open + close]).unwrap();
    assert_eq!(want, got);
}

#[test]
fn sessions_sample_is_what_the_command_prints() {
    let readme = doc("docs/sessions.md");
    let sample = block_after(&readme, "<!-- sample-sessions");
    let out = assert_cmd::Command::cargo_bin("rootwatch")
        .unwrap()
        .args(["sessions", "events/sessions/user-role-chain"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(sample, String::from_utf8(out.stdout).unwrap());
}

/// Markdown link targets `[text](target)` outside fenced code blocks.
fn link_targets(text: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').expect("unclosed link");
            targets.push(&after[..end]);
            rest = &after[end..];
        }
    }
    targets
}

/// GitHub's heading anchors of a Markdown file (lowercase, punctuation dropped, spaces to `-`,
/// `-1`, `-2`, ... for repeated headings), headings in fenced code blocks left out.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let n = seen.iter().filter(|s| **s == slug).count();
        seen.push(slug.clone());
        out.push(if n == 0 { slug } else { format!("{slug}-{n}") });
    }
    out
}

#[test]
fn readme_is_short_and_every_relative_link_resolves() {
    let lines = readme().lines().count();
    assert!(lines <= 300, "README.md has {lines} lines; at most 300");
    let mut files = vec![std::path::PathBuf::from("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir("docs")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    assert!(docs.len() >= 8, "docs/ lacks files: {docs:?}");
    files.extend(docs);
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let linked = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            assert!(
                linked.exists(),
                "{}: link ({target}) points at {}, which does not exist",
                file.display(),
                linked.display()
            );
            if !anchor.is_empty() {
                let headings = anchors(&std::fs::read_to_string(&linked).unwrap());
                assert!(
                    headings.iter().any(|h| h == anchor),
                    "{}: link ({target}): {} has no heading #{anchor}",
                    file.display(),
                    linked.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} relative links checked");
}

#[test]
fn audit_rule_table_is_generated() {
    let docs = doc("docs/audit.md");
    let start = docs.find("<!-- audit-rules -->").unwrap();
    let start = start + docs[start..].find('\n').unwrap() + 1;
    let end = docs.find("<!-- /audit-rules -->").unwrap();
    assert_eq!(
        &docs[start..end],
        rootwatch::core::audit::rules::markdown(),
        "paste rootwatch::core::audit::rules::markdown() into docs/audit.md"
    );
}
