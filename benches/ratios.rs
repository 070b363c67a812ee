//! `cargo bench --bench ratios -- [core|replay|memory|startup|handler|python|all|profiles] [CORPUS]
//! [PROFILE…]`
//!
//! Every figure is a ratio against a baseline measured in the same run, on the same bytes: this
//! machine is shared and noisy, absolute times are not stable. Each side is run several times,
//! alternating, and the median is kept. CORPUS is a folder of CloudTrail files (we use
//! `../shared/datasets`); without it, a synthetic corpus is generated from `events/` so that the
//! benchmark runs for anyone.

use flate2::read::MultiGzDecoder;
use rootwatch::core::model::InputRef;
use rootwatch::core::pipeline::Pipeline;

use rootwatch::core::session::{Session, SessionTracker};
use rootwatch::input::{self, Item};
use rootwatch::replay::learn_record;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;

#[path = "support/function_memory.rs"]
mod function_memory;
#[path = "support/function_s3.rs"]
mod function_s3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `a` and `b` alternately `ROUNDS` times; returns their median times.
fn alternate(mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        a();
        ta.push(t.elapsed());
        let t = Instant::now();
        b();
        tb.push(t.elapsed());
    }
    (median(ta), median(tb))
}

/// Every readable CloudTrail file under `dir`, in name order.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy();
        if e.file_type().is_file()
            && rootwatch::input::walk::is_readable_name(&name)
            && !name.ends_with(".expected")
        {
            out.push(e.into_path());
        }
    }
    out
}

fn read_plain(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        if MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .is_err()
        {
            return Vec::new();
        }
        out
    } else {
        raw
    }
}

/// The JSON text of every record of the corpus.
fn records(corpus: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for f in files(corpus) {
        let bytes = read_plain(&f);
        let _ = input::decode_stream(bytes.as_slice(), &mut |item: Item<'_>| {
            if let Item::Record { json, .. } = item {
                out.push(json.to_owned());
            }
            Ok(())
        });
    }
    out
}

/// A corpus folder made from `events/`: every record, `copies` times, with fresh eventIDs and
/// access keys, as gzipped CloudTrail log files of 500 records.
fn synthetic(copies: usize) -> tempfile::TempDir {
    let base = records(Path::new("events"));
    let dir = tempfile::tempdir().unwrap();
    let mut batch = Vec::new();
    let mut n = 0;
    let flush = |batch: &mut Vec<String>, n: &mut usize| {
        if batch.is_empty() {
            return;
        }
        let body = format!("{{\"Records\":[{}]}}", batch.join(","));
        let path = dir
            .path()
            .join(format!("111122223333_CloudTrail_us-east-1_{n:06}.json.gz"));
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::default(),
        );
        gz.write_all(body.as_bytes()).unwrap();
        gz.finish().unwrap();
        batch.clear();
        *n += 1;
    };
    for c in 0..copies {
        for r in &base {
            batch.push(
                r.replace("\"eventID\":\"", &format!("\"eventID\":\"{c:05}-"))
                    .replace("\"eventID\": \"", &format!("\"eventID\": \"{c:05}-")),
            );
            if batch.len() == 500 {
                flush(&mut batch, &mut n);
            }
        }
    }
    flush(&mut batch, &mut n);
    dir
}

/// 1. Core: parse + classify + evaluate + session tracking per record, against IgnoredAny.
///
/// "streaming" is what the function does for each record (look up the origin, analyse, learn
/// the session it issued); "two passes" adds replay's first pass over every record.
fn core(corpus: &Path) {
    let recs = records(corpus);
    let bytes: usize = recs.iter().map(String::len).sum();
    let pipeline = Pipeline::default();
    let ignored = || {
        for r in &recs {
            let _: serde::de::IgnoredAny = serde_json::from_str(r).unwrap();
        }
    };
    let analyse = |tracker: &mut SessionTracker, learn: bool| {
        let mut findings = 0usize;
        for (i, r) in recs.iter().enumerate() {
            let input = InputRef {
                file: String::new(),
                index: i as u64,
            };
            let rec = pipeline.parse(r, false).unwrap();
            let report = pipeline.report(&rec, input, &*tracker);
            if learn {
                if let Some(s) = Session::from_report(&report) {
                    tracker.learn_live(s);
                }
            }
            findings += report.findings.len();
        }
        std::hint::black_box(findings);
    };
    let streaming = || analyse(&mut SessionTracker::default(), true);
    let two_passes = || {
        let mut tracker = SessionTracker::default();
        for (i, r) in recs.iter().enumerate() {
            learn_record(r, "bench", i as u64, &mut tracker);
        }
        analyse(&mut tracker, false);
    };
    let rps = |d: Duration| recs.len() as f64 / d.as_secs_f64();
    for (label, ours) in [
        ("streaming", &streaming as &dyn Fn()),
        ("two passes", &two_passes as &dyn Fn()),
    ] {
        let (base, mine) = alternate(ignored, ours);
        println!(
            "core      {} records, {:.1} MB, {label}: IgnoredAny {:.0} rec/s, rootwatch {:.0} rec/s -> ratio {:.2} (target >= 0.50)",
            recs.len(),
            bytes as f64 / 1e6,
            rps(base),
            rps(mine),
            base.as_secs_f64() / mine.as_secs_f64()
        );
    }
}

/// Decompress + IgnoredAny over the same files, in this process, one thread.
fn decompress_and_validate(paths: &[PathBuf]) {
    for p in paths {
        let bytes = read_plain(p);
        let _: Result<serde::de::IgnoredAny, _> = serde_json::from_slice(&bytes);
    }
}

fn cli_replay(corpus: &Path, threads: usize) {
    let st = Command::new(env!("CARGO_BIN_EXE_rootwatch"))
        .args(["replay", "--format", "jsonl", "--no-progress", "--threads"])
        .arg(threads.to_string())
        .arg(corpus)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.code().is_some_and(|c| c <= 1), "replay failed: {st}");
}

/// 2. Replay end to end through the CLI (jsonl to /dev/null), 1..N threads.
fn replay_bench(corpus: &Path) {
    let paths = files(corpus);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut one = None;
    for threads in 1..=cores.max(2) {
        let (base, mine) = alternate(
            || decompress_and_validate(&paths),
            || cli_replay(corpus, threads),
        );
        let ratio = base.as_secs_f64() / mine.as_secs_f64();
        let speedup = one.map(|o: f64| ratio / o).unwrap_or(1.0);
        one.get_or_insert(ratio);
        println!(
            "replay    {} files, {threads} thread(s): decompress+IgnoredAny {:.2} s, rootwatch replay {:.2} s -> ratio {ratio:.2} (target >= 0.60), x{speedup:.2} vs 1 thread",
            paths.len(),
            base.as_secs_f64(),
            mine.as_secs_f64(),
        );
    }
}

/// Peak RSS (kB) of `cmd`. Linux folds a forked child's copy of its parent's memory into the
/// child's `ru_maxrss`, so a child of this (large) process would report at least our own peak:
/// the command is run by a fresh copy of this binary (`peak-rss CMD…`), which is small.
fn peak_rss_kb(cmd: Command) -> i64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("peak-rss")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// `peak-rss CMD ARGS…`: runs CMD and prints its peak RSS in kB, from `wait4`'s rusage.
// `wait4` reaps the child; clippy cannot see that.
#[allow(clippy::zombie_processes)]
fn peak_rss_child(args: &[String]) {
    let child = Command::new(&args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain libc call with valid pointers to locals.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    println!("{}", usage.ru_maxrss);
}

/// A folder of `target_bytes` (uncompressed) made by repeating the corpus's files: round `r`
/// copies the corpus's layout under `rNNNN/` (CloudTrail's S3 layout bounds the files of one
/// directory: one account, region and day), or with `flat` puts every copy in one directory.
fn repeated(corpus: &Path, target_bytes: u64, flat: bool) -> (tempfile::TempDir, u64, usize) {
    let src = files(corpus);
    let sizes: Vec<u64> = src.iter().map(|p| read_plain(p).len() as u64).collect();
    let dir = tempfile::tempdir().unwrap();
    let (mut total, mut count, mut round) = (0, 0, 0);
    while total < target_bytes {
        for (p, size) in src.iter().zip(&sizes) {
            let dest = if flat {
                let name = p.file_name().unwrap().to_string_lossy();
                dir.path().join(format!("r{round:04}_{name}"))
            } else {
                let rel = p.strip_prefix(corpus).unwrap_or(p);
                dir.path().join(format!("r{round:04}")).join(rel)
            };
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::copy(p, &dest).unwrap();
            total += size;
            count += 1;
            if total >= target_bytes {
                break;
            }
        }
        round += 1;
    }
    (dir, total, count)
}

/// Benchmark 3, memory: peak RSS replaying 100 MB and 1 GB (uncompressed) folders in the
/// corpus's layout, and 1 GB in one flat directory (one thread).
fn memory(corpus: &Path) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (label, bytes, flat, threads) in [
        ("100 MB", 100_000_000u64, false, &[1, cores][..]),
        ("1 GB", 1_000_000_000, false, &[1, cores][..]),
        ("1 GB, one flat directory,", 1_000_000_000, true, &[1][..]),
    ] {
        let (dir, total, count) = repeated(corpus, bytes, flat);
        for &threads in threads {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_rootwatch"));
            cmd.args(["replay", "--format", "jsonl", "--no-progress", "--threads"])
                .arg(threads.to_string())
                .arg(dir.path());
            let kb = peak_rss_kb(cmd);
            println!(
                "memory    {label} folder ({:.0} MB uncompressed, {count} files), {threads} thread(s): peak RSS {:.1} MB (target <= 64 MB, flat)",
                total as f64 / 1e6,
                kb as f64 / 1024.0
            );
        }
    }
}

/// Time from spawn to the first `GET /2018-06-01/runtime/invocation/next` on a stub Runtime API.
fn time_to_next(bin: &Path) -> Duration {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let start = Instant::now();
    // Only what Lambda's runtime environment sets: this machine's SSL_CERT_DIR / AWS_CA_BUNDLE
    // would make the TLS client read ~300 certificate files that Lambda does not have set.
    // <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>
    let mut child = Command::new(bin)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "en_US.UTF-8")
        .env("TZ", ":UTC")
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 256];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"next") {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "runtime closed the connection");
        got.extend_from_slice(&buf[..n]);
    }
    let t = start.elapsed();
    assert!(
        String::from_utf8_lossy(&got).starts_with("GET /2018-06-01/runtime/invocation/next"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    let _ = child.kill();
    let _ = child.wait();
    t
}

/// 4. Lambda start-up against a hello-world `lambda_runtime` binary of the same profile.
fn startup() {
    // The same settings as this benchmark's own build (`bench`, the settings of `dist`).
    let st = Command::new(env!("CARGO"))
        .args([
            "build",
            "--profile",
            "dist",
            "--locked",
            "--example",
            "hello_lambda",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let hello = Path::new(&target).join("dist/examples/hello_lambda");
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_rootwatch"));
    let (mut th, mut to) = (Vec::new(), Vec::new());
    for _ in 0..4 * ROUNDS {
        th.push(time_to_next(&hello));
        to.push(time_to_next(&ours));
    }
    let (h, o) = (median(th), median(to));
    println!(
        "startup   to the first /next: hello-world {:.1} ms, rootwatch {:.1} ms -> {:.2}x (target <= 2x); binary {:.1} MB",
        h.as_secs_f64() * 1e3,
        o.as_secs_f64() * 1e3,
        o.as_secs_f64() / h.as_secs_f64(),
        std::fs::metadata(&ours).unwrap().len() as f64 / 1e6
    );
}

/// Records the alerts a handler would publish (to publish the same one bare).
#[derive(Default, Clone)]
struct Keep(std::sync::Arc<std::sync::Mutex<Vec<rootwatch::core::alert::Alert>>>);

impl rootwatch::aws::sns::Publisher for Keep {
    async fn publish(
        &self,
        alert: &rootwatch::core::alert::Alert,
    ) -> Result<(), rootwatch::aws::sns::PublishError> {
        self.0.lock().unwrap().push(alert.clone());
        Ok(())
    }
    async fn publish_all(
        &self,
        alerts: &[rootwatch::core::alert::Alert],
    ) -> Vec<Result<(), rootwatch::aws::sns::PublishError>> {
        self.0.lock().unwrap().extend(alerts.iter().cloned());
        alerts.iter().map(|_| Ok(())).collect()
    }
}

/// An EventBridge event of one CloudTrail record: a root `CreateUser` (alerts) or, with
/// `benign`, the same call by an IAM user (no finding).
fn handler_event(id: &str, benign: bool) -> String {
    let (kind, arn) = if benign {
        ("IAMUser", "arn:aws:iam::111122223333:user/alice")
    } else {
        ("Root", "arn:aws:iam::111122223333:root")
    };
    serde_json::json!({"version": "0", "id": id, "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam", "account": "111122223333", "time": "2026-11-23T10:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"eventVersion": "1.09", "userIdentity": {"type": kind, "arn": arn,
            "accountId": "111122223333"}, "eventTime": "2026-11-23T10:00:00Z",
            "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
            "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1", "eventID": id,
            "readOnly": false, "eventType": "AwsApiCall"}})
    .to_string()
}

/// Starts moto's server on a free loopback port; `None` when it is not installed.
fn start_moto() -> Option<(std::process::Child, String)> {
    let bin = std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".venv/bin/moto_server"));
    if !bin.exists() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((child, format!("http://127.0.0.1:{port}")))
}

/// 4c. Time per invocation of the function's handler (this build), SNS on moto's server: a
/// benign event against parsing the same payload into a `serde_json::Value` (all that
/// hello-world's handler does), an alerting event against one bare `Publish` of the same alert
/// through the same client. Invocations alternate; medians of 200.
fn handler() {
    use rootwatch::aws::function::{Config, Handler};
    use rootwatch::aws::sns::{Publisher, SnsPublisher};
    let Some((mut moto, endpoint)) = start_moto() else {
        println!("handler   skipped: no moto_server (`make venv` installs it; or set MOTO_SERVER)");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sns::config::Credentials::new(
                "bench", "bench", None, None, "static",
            ))
            .endpoint_url(&endpoint)
            .load()
            .await;
        let sdk = rootwatch::aws::sns::with_lazy_tls(&sdk);
        let sns = rootwatch::aws::sns::client(&sdk);
        let topic = sns
            .create_topic()
            .name("bench")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let publisher = SnsPublisher {
            client: sns,
            topic_arn: topic.clone(),
        };
        let h = Handler::new(Config::for_topic(&topic), publisher.clone());
        // The alert the handler publishes, to publish it bare.
        let keep = Keep::default();
        Handler::new(Config::for_topic(&topic), keep.clone())
            .handle(&handler_event("kept", false))
            .await
            .unwrap();
        let alert = keep.0.lock().unwrap().pop().expect("one alert");
        const N: usize = 200;
        let (mut parse, mut benign, mut bare, mut alerting) = (vec![], vec![], vec![], vec![]);
        // Warm up: the connection to moto.
        publisher.publish(&alert).await.unwrap();
        for i in 0..N {
            let quiet = handler_event(&format!("benign-{i}"), true);
            let loud = handler_event(&format!("alert-{i}"), false);
            let t = Instant::now();
            std::hint::black_box(serde_json::from_str::<serde_json::Value>(&quiet).unwrap());
            parse.push(t.elapsed());
            let t = Instant::now();
            h.handle(&quiet).await.unwrap();
            benign.push(t.elapsed());
            let t = Instant::now();
            publisher.publish(&alert).await.unwrap();
            bare.push(t.elapsed());
            let t = Instant::now();
            h.handle(&loud).await.unwrap();
            alerting.push(t.elapsed());
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (parse, benign, bare, alerting) =
            (median(parse), median(benign), median(bare), median(alerting));
        println!(
            "handler   benign event {:.3} ms vs parsing it into a Value {:.3} ms -> {:.1}x; alerting event {:.2} ms vs a bare Publish of the same alert {:.2} ms -> {:.2}x (SNS on moto, medians of {N})",
            ms(benign),
            ms(parse),
            benign.as_secs_f64() / parse.as_secs_f64(),
            ms(alerting),
            ms(bare),
            alerting.as_secs_f64() / bare.as_secs_f64()
        );
    });
    let _ = moto.kill();
    let _ = moto.wait();
}

/// Release-profile candidates for the function: (name, `CARGO_PROFILE_RELEASE_*` settings).
/// A position-dependent executable (`-C relocation-model=static`: no relocations for the loader
/// at start) is not among them: it cannot be built, since `crc-fast` (the S3 client's checksums)
/// also builds a C dynamic library, which cannot link without position-independent code.
const PROFILES: &[(&str, &[(&str, &str)])] = &[
    // Every candidate sets every setting, so that none inherits what `Cargo.toml` chose.
    // `strip = "debuginfo"` is what Cargo does by itself when `debug` is off.
    (
        "default",
        &[
            ("OPT_LEVEL", "3"),
            ("LTO", "false"),
            ("CODEGEN_UNITS", "16"),
            ("PANIC", "unwind"),
            ("STRIP", "debuginfo"),
        ],
    ),
    (
        "lto-thin",
        &[
            ("OPT_LEVEL", "3"),
            ("LTO", "thin"),
            ("CODEGEN_UNITS", "16"),
            ("PANIC", "unwind"),
            ("STRIP", "debuginfo"),
        ],
    ),
    (
        "lto-fat-cu1-strip",
        &[
            ("OPT_LEVEL", "3"),
            ("LTO", "fat"),
            ("CODEGEN_UNITS", "1"),
            ("PANIC", "unwind"),
            ("STRIP", "symbols"),
        ],
    ),
    (
        "size-abort-strip",
        &[
            ("OPT_LEVEL", "s"),
            ("LTO", "fat"),
            ("CODEGEN_UNITS", "1"),
            ("PANIC", "abort"),
            ("STRIP", "symbols"),
        ],
    ),
];

/// 4b. Each release-profile candidate: binary size, start-up against hello-world built with the
/// same settings, and replay time of CORPUS (1 thread) through the built binary. All candidates
/// are built first, then measured together, round-robin, so that no build runs beside a
/// measurement and a change of load reaches every candidate alike (a candidate already built
/// is not rebuilt: run it again to measure on a quiet machine). `only`: the candidates (all
/// when empty).
fn profiles(corpus: &Path, only: &[String]) {
    let chosen: Vec<_> = PROFILES
        .iter()
        .filter(|(name, _)| only.is_empty() || only.iter().any(|o| o == name))
        .collect();
    let mut bins = Vec::new();
    for (name, settings) in &chosen {
        let dir = Path::new("target/profiles").join(name);
        let build = |what: &[&str]| {
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "--release", "--locked", "--quiet"])
                .args(what)
                .env("CARGO_TARGET_DIR", &dir);
            for (k, v) in settings.iter() {
                cmd.env(format!("CARGO_PROFILE_RELEASE_{k}"), v);
            }
            assert!(cmd.status().unwrap().success(), "build {name}");
        };
        let t = Instant::now();
        build(&["--bin", "rootwatch"]);
        build(&["--example", "hello_lambda"]);
        println!(
            "profile   {name:<18} built in {:.0} s (a few seconds: it was built already)",
            t.elapsed().as_secs_f64()
        );
        bins.push((
            dir.join("release/rootwatch"),
            dir.join("release/examples/hello_lambda"),
        ));
    }
    let n = bins.len();
    let (mut th, mut to, mut tr) = (vec![vec![]; n], vec![vec![]; n], vec![vec![]; n]);
    for round in 0..4 * ROUNDS {
        for (i, (ours, hello)) in bins.iter().enumerate() {
            th[i].push(time_to_next(hello));
            to[i].push(time_to_next(ours));
            if round < ROUNDS {
                let t = Instant::now();
                let st = Command::new(ours)
                    .args(["replay", "--format", "jsonl", "--no-progress"])
                    .args(["--threads", "1"])
                    .arg(corpus)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap();
                assert!(st.code().is_some_and(|c| c <= 1));
                tr[i].push(t.elapsed());
            }
        }
    }
    let replay: Vec<Duration> = tr.into_iter().map(median).collect();
    for (i, ((name, _), (ours, _))) in chosen.iter().zip(&bins).enumerate() {
        let (h, o) = (median(th[i].clone()), median(to[i].clone()));
        println!(
            "profile   {name:<18} binary {:>5.1} MB, start-up {:.1} ms vs hello-world {:.1} ms -> {:.2}x, replay (1 thread) {:.2} s ({:.2}x the first candidate's time)",
            std::fs::metadata(ours).unwrap().len() as f64 / 1e6,
            o.as_secs_f64() * 1e3,
            h.as_secs_f64() * 1e3,
            o.as_secs_f64() / h.as_secs_f64(),
            replay[i].as_secs_f64(),
            replay[i].as_secs_f64() / replay[0].as_secs_f64()
        );
    }
}

/// 5. The same root checks in Python (benches/baseline.py), one process, one core.
fn python(corpus: &Path) {
    let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let run_py = || {
        let st = Command::new(&py)
            .arg("benches/baseline.py")
            .arg(corpus)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "baseline.py failed");
    };
    let (base, mine) = alternate(run_py, || cli_replay(corpus, 1));
    println!(
        "python    json + root checks {:.2} s, rootwatch replay (1 thread, full analysis) {:.2} s -> rootwatch is {:.1}x faster",
        base.as_secs_f64(),
        mine.as_secs_f64(),
        base.as_secs_f64() / mine.as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let what = args.first().map(String::as_str).unwrap_or("all");
    if what == "peak-rss" {
        return peak_rss_child(&args[1..]);
    }
    let given = args.get(1).map(PathBuf::from);
    let synth;
    // Start-up and handler times read no corpus.
    let needs_corpus = !matches!(what, "startup" | "handler" | "function-memory");
    let corpus: &Path = match &given {
        Some(p) => p,
        None if !needs_corpus => Path::new("events"),
        None => {
            synth = synthetic(200);
            println!(
                "corpus    synthetic: the records of events/ x200 (pass a folder to use real logs)"
            );
            synth.path()
        }
    };
    println!(
        "machine   {} cores; ratios are medians of {ROUNDS} alternating runs",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let all = what == "all";
    if all || what == "core" {
        core(corpus);
    }
    if all || what == "replay" {
        replay_bench(corpus);
    }
    if all || what == "python" {
        python(corpus);
    }
    if all || what == "startup" {
        startup();
    }
    if all || what == "handler" {
        handler();
    }
    if all || what == "memory" {
        memory(corpus);
    }
    if all || what == "function-s3" {
        match start_moto() {
            None => println!(
                "function  S3 skipped: no moto_server (`make venv` installs it; or set MOTO_SERVER)"
            ),
            Some((mut moto, endpoint)) => {
                function_s3::run(
                    Path::new(env!("CARGO_BIN_EXE_rootwatch")),
                    &records(corpus),
                    &endpoint,
                );
                let _ = moto.kill();
                let _ = moto.wait();
            }
        }
    }
    if all || what == "function-memory" {
        function_memory::run(Path::new(env!("CARGO_BIN_EXE_rootwatch")));
    }
    // Not in "all": builds the binary four times (several minutes each). Candidate names after
    // the corpus build only those.
    if what == "profiles" {
        profiles(corpus, args.get(2..).unwrap_or_default());
    }
}
