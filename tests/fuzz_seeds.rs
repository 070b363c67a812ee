//! The fuzz targets' seed corpora and committed reproducers, once each, on the stable toolchain
//! (`make test`; the fuzzing itself is `make fuzz`). Seeds are built from `events/` in-process,
//! as `make fuzz` builds them; `ROOTWATCH_FUZZ_SEEDS=DIR` also writes them to `DIR/<target>/`.

use rootwatch::fuzzing::{self, TARGETS};
use std::path::Path;

fn events() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/events"))
}

/// Runs every seed of `target`; names the seed that failed.
fn run_seeds(target: &str) -> usize {
    let seeds = fuzzing::seeds(target, events()).unwrap();
    for (name, bytes) in &seeds {
        let r = std::panic::catch_unwind(|| fuzzing::run(target, bytes));
        assert!(r.is_ok(), "{target} seed {name} failed");
    }
    seeds.len()
}

#[test]
fn decode_seeds() {
    assert!(run_seeds("decode") > 300);
}

#[test]
fn lambda_seeds() {
    assert!(run_seeds("lambda") > 300);
}

#[test]
fn record_seeds() {
    assert!(run_seeds("record") > 60);
}

#[test]
fn alert_seeds() {
    assert!(run_seeds("alert") > 60);
}

/// Every committed reproducer (`fuzz/regressions/<target>/*`) passes now.
#[test]
fn regressions() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions"));
    let mut n = 0;
    for target in TARGETS {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let r = std::panic::catch_unwind(|| fuzzing::run(target, &bytes));
            assert!(r.is_ok(), "regression {} failed", path.display());
            n += 1;
        }
    }
    eprintln!("{n} regression inputs");
}

/// The corpora hold every sample and every shape around it.
#[test]
fn seeds_cover_the_samples_and_shapes() {
    let decode = fuzzing::seeds("decode", events()).unwrap();
    let names: Vec<&str> = decode.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "shapes_cloudtrail-logfile.json.gz",
        "shapes_cloudtrail-logfile.json.gz.plain",
        "shapes_lines.jsonl",
        "principals_root.json",
        "principals_root.json.gz",
        "principals_root.json.as.jsonl",
        "principals_root.json.as.logfile",
        "principals_root.json.0.eventbridge",
        "principals_root.json.as.sqs",
        "edge-empty",
    ] {
        assert!(names.contains(&want), "no seed {want}");
    }
    let gz = &decode[names
        .iter()
        .position(|n| *n == "principals_root.json.gz")
        .unwrap()]
    .1;
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    assert!(fuzzing::seeds("nope", events()).is_err());
}

/// `ROOTWATCH_FUZZ_SEEDS=DIR cargo test --test fuzz_seeds write_seeds` writes the corpora for
/// `make fuzz`; without the variable this only checks that they can be written.
#[test]
fn write_seeds() {
    let (dir, _tmp) = match std::env::var_os("ROOTWATCH_FUZZ_SEEDS") {
        Some(d) => (std::path::PathBuf::from(d), None),
        None => {
            let t = tempfile::tempdir().unwrap();
            (t.path().to_owned(), Some(t))
        }
    };
    let n = fuzzing::write_seeds(events(), &dir).unwrap();
    for target in TARGETS {
        let files = std::fs::read_dir(dir.join(target)).unwrap().count();
        assert!(files > 0, "{target}: no seed written");
    }
    eprintln!("{n} seeds written to {}", dir.display());
}

/// The cargo-fuzz crate (built only by `make fuzz`) has one target per `fuzzing::TARGETS` entry,
/// each calling its function, and `make fuzz` runs them all.
#[test]
fn fuzz_crate_matches_the_targets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(root.join("fuzz/fuzz_targets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut want: Vec<String> = TARGETS.iter().map(|t| format!("{t}.rs")).collect();
    want.sort();
    assert_eq!(files, want);
    for t in TARGETS {
        let body = std::fs::read_to_string(root.join(format!("fuzz/fuzz_targets/{t}.rs"))).unwrap();
        assert!(
            body.contains(&format!("rootwatch::fuzzing::{t}(data)")),
            "fuzz/fuzz_targets/{t}.rs does not call rootwatch::fuzzing::{t}"
        );
        assert!(
            manifest.contains(&format!("name = \"{t}\"\npath = \"fuzz_targets/{t}.rs\"")),
            "no [[bin]] {t} in fuzz/Cargo.toml"
        );
    }
    assert!(
        makefile.contains(&format!("FUZZ_TARGETS ?= {}\n", TARGETS.join(" "))),
        "make fuzz does not run every target"
    );
}
