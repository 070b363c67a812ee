//! The layout is the architecture, and these tests keep it so:
//! - `src/core/` is pure: no async runtime, AWS SDK, Lambda runtime, file system, network,
//!   process, environment or clock, and no path into the adapters (`aws`, `cli`, `input`,
//!   `replay`). A change that needs one of them belongs in an adapter.
//! - No source file holds more than 600 lines of non-test code, unless its first lines say why.
//! - Where a newcomer looks for a change, there is exactly one place.

use std::path::{Path, PathBuf};

/// Names a file of the pure core must not contain (outside comments).
const FORBIDDEN_IN_CORE: &[(&str, &str)] = &[
    ("tokio", "an async runtime"),
    ("aws_sdk_", "the AWS SDK"),
    ("aws_config", "the AWS SDK"),
    ("aws_smithy", "the AWS SDK"),
    ("lambda_runtime", "the Lambda runtime"),
    (
        "aws_lambda_events",
        "Lambda event types (an adapter's input)",
    ),
    ("std::fs", "the file system"),
    ("std::net", "the network"),
    ("std::process", "processes"),
    ("std::env", "the environment"),
    ("std::thread", "threads"),
    ("SystemTime", "the clock (time is a parameter)"),
    ("Instant::now", "the clock (time is a parameter)"),
    ("println!", "standard output"),
    ("eprintln!", "standard error"),
    ("crate::aws", "an adapter"),
    ("crate::cli", "an adapter"),
    ("crate::input", "an adapter"),
    ("crate::replay", "an adapter"),
];

/// Longest non-test part of a source file without a stated reason.
const MAX_LINES: usize = 600;
/// The marker of a stated reason, in a file's first 15 lines.
const REASON: &str = "Longer than 600 lines because";

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The code of a file without comments (line comments and doc comments; string contents kept).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(n, l)| {
        let code = strip_comment(l).trim();
        (!code.is_empty()).then_some((n + 1, code))
    })
}

/// A line without its `//` comment; a `//` inside a string ("https://…") is not one.
fn strip_comment(line: &str) -> &str {
    let (mut in_str, mut escaped, mut prev) = (false, false, ' ');
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_str => escaped = true,
            '"' => in_str = !in_str,
            '/' if !in_str && prev == '/' => return &line[..i - 1],
            _ => {}
        }
        prev = c;
    }
    line
}

/// Lines before the file's unit-test module (`#[cfg(test)]` followed by `mod tests`), or all of
/// it. A file that is itself a test module (`tests.rs`) has none.
fn non_test_lines(path: &Path, text: &str) -> usize {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return 0;
    }
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod tests"))
        .unwrap_or(lines.len());
    lines[..end].len()
}

#[test]
fn the_core_is_pure() {
    let files = rust_files(Path::new("src/core"));
    assert!(files.len() >= 10, "src/core/ holds the core: {files:?}");
    let mut found = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, code) in code_lines(&text) {
            for (name, what) in FORBIDDEN_IN_CORE {
                if code.contains(name) {
                    found.push(format!("{}:{n}: `{name}` ({what}): {code}", path.display()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core must stay pure; move this into src/aws, src/input, src/cli or src/replay:\n{}",
        found.join("\n")
    );
}

/// The check above can fail: a line naming an adapter is found, a comment naming one is not.
#[test]
fn the_purity_check_sees_code_not_comments() {
    let text =
        "use tokio::sync::mpsc;\n/// tokio is not used here\nlet u = \"https://x\"; // std::fs\n";
    let hits: Vec<usize> = code_lines(text)
        .filter(|(_, c)| FORBIDDEN_IN_CORE.iter().any(|(n, _)| c.contains(n)))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(hits, [1]);
}

#[test]
fn no_file_is_too_long_without_a_reason() {
    let mut long = Vec::new();
    for path in rust_files(Path::new("src")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let n = non_test_lines(&path, &text);
        let head: String = text.lines().take(15).collect::<Vec<_>>().join("\n");
        if n > MAX_LINES && !head.contains(REASON) {
            long.push(format!("{}: {n} lines of non-test code", path.display()));
        }
    }
    assert!(
        long.is_empty(),
        "split these files, or say at their top \"{REASON} …\":\n{}",
        long.join("\n")
    );
}

/// Where a change goes: exactly one file defines each of these, in the folder named for it.
#[test]
fn each_change_has_one_place() {
    for (needle, folder, change) in [
        (
            "fn console_login(",
            "src/core",
            "how root console logins are judged",
        ),
        ("pub trait Publisher", "src/aws", "how alerts are published"),
        ("pub struct Pipeline", "src/core", "the per-record path"),
        ("pub fn build(", "src/core", "what an alert says"),
        (
            "pub struct Config",
            "src/aws",
            "the function's configuration",
        ),
        ("struct Cli {", "src/cli", "the command line"),
    ] {
        let holders: Vec<String> = rust_files(Path::new("src"))
            .into_iter()
            .filter(|p| std::fs::read_to_string(p).unwrap().contains(needle))
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(holders.len(), 1, "{change}: `{needle}` in {holders:?}");
        assert!(holders[0].starts_with(folder), "{change}: {holders:?}");
    }
}

/// `cargo bench` measures what users deploy: `[profile.bench]` repeats every setting of
/// `[profile.dist]` (cargo does not let a built-in profile inherit from a custom one).
#[test]
fn benchmarks_build_like_the_deployed_binary() {
    let manifest: toml::Table = std::fs::read_to_string("Cargo.toml")
        .unwrap()
        .parse()
        .unwrap();
    let profile = |name: &str| manifest["profile"][name].as_table().unwrap().clone();
    let (mut dist, bench) = (profile("dist"), profile("bench"));
    assert_eq!(
        dist.remove("inherits")
            .and_then(|v| v.as_str().map(str::to_owned))
            .as_deref(),
        Some("release")
    );
    for (k, v) in profile("release") {
        if k != "package" {
            dist.entry(k).or_insert(v);
        }
    }
    assert_eq!(dist, bench, "[profile.bench] must equal [profile.dist]");
    assert_eq!(dist["lto"].as_str(), Some("fat"));
    // What `release` compiles less optimised (the SDK), `dist` compiles fully optimised again.
    let lowered = profile("release")["package"].as_table().unwrap().clone();
    let restored = dist["package"].as_table().unwrap();
    assert!(!lowered.is_empty());
    for (package, settings) in &lowered {
        assert_eq!(settings["opt-level"].as_integer(), Some(1), "{package}");
        assert_eq!(
            restored
                .get(package)
                .and_then(|t| t["opt-level"].as_integer()),
            Some(3),
            "[profile.dist.package.{package}] must set opt-level = 3"
        );
    }
}

/// docs/development.md's layout and "where a change goes" name files that exist.
#[test]
fn the_layout_documented_is_the_layout() {
    let doc = std::fs::read_to_string("docs/development.md").unwrap();
    let mut named = 0;
    for word in doc.split(['`', ' ', '(', ')']) {
        if word.starts_with("src/") && word.ends_with(".rs") {
            named += 1;
            assert!(
                Path::new(word).is_file(),
                "docs/development.md names {word}, which does not exist"
            );
        }
    }
    assert!(named >= 8, "{named} source files named");
    for dir in [
        "src/core",
        "src/input",
        "src/replay",
        "src/aws",
        "src/cli",
        "src/fuzzing",
    ] {
        assert!(
            doc.contains(&format!("`{dir}/`")),
            "docs/development.md does not describe {dir}/"
        );
    }
}
