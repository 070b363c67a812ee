//! Shared helpers for the tests that need an emulator: a `moto_server` per test, SDK clients
//! pointed at it, SNS topic → SQS queue plumbing, and a `cargo lambda watch` server.
//!
//! Use from a test file with `mod support;`. The binaries come from the environment that
//! `make test` sets up (`MOTO_SERVER`, `CARGO_LAMBDA`); tests that use them are marked
//! `#[ignore = "needs moto_server; run make test"]` so a plain `cargo test` skips them.
#![allow(dead_code)]

pub mod audit_stub;
pub mod fault;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The path of a tool named by env var `var`, or a panic that says how to get it.
pub fn tool_from_env(var: &str) -> PathBuf {
    let path = match std::env::var_os(var) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "env var {var} is not set: run the emulator tests with `make test` \
             (it installs the tools into .venv/ and sets {var})"
        ),
    };
    assert!(
        path.is_file(),
        "{var}={} does not exist: run `make test` (it installs the tools into .venv/)",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1 (bound, read, released: a tiny race is accepted).
pub fn free_port() -> u16 {
    let l = TcpListener::bind((HOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

fn port_accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((HOST, port)), Duration::from_millis(200)).is_ok()
}

/// A minimal HTTP/1.0 client over std's `TcpStream`: sends `method path` with `body` to
/// 127.0.0.1:`port` and returns (status, body). Handles `Content-Length`, chunked and
/// read-to-close bodies. `timeout` bounds each read and write.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<(u16, String)> {
    let mut s =
        TcpStream::connect_timeout(&SocketAddr::from((HOST, port)), Duration::from_secs(5))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    s.flush()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<(u16, String)> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of HTTP headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| bad("bad HTTP status line"))?;
    let mut chunked = false;
    let mut length = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse::<usize>().ok();
            }
        }
    }
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    } else if let Some(n) = length {
        body.truncate(n);
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("<cannot read {}: {e}>", path.display()))
}

fn log_file(dir: &tempfile::TempDir, name: &str) -> (PathBuf, File, File) {
    let path = dir.path().join(name);
    let out = File::create(&path).expect("create log file");
    let err = out.try_clone().expect("clone log file");
    (path, out, err)
}

/// A `moto_server` on a free port of 127.0.0.1, killed on drop.
pub struct Moto {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub port: u16,
    child: Child,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts `$MOTO_SERVER -H 127.0.0.1 -p PORT` and waits (up to 30 s) until `/moto-api/`
    /// answers.
    pub fn start() -> Moto {
        let bin = tool_from_env("MOTO_SERVER");
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let (log_path, out, err) = log_file(&dir, "moto_server.log");
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            child,
            log_path,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = http(port, "GET", "/moto-api/", b"", Duration::from_secs(5)) {
                return moto;
            }
            if let Ok(Some(st)) = moto.child.try_wait() {
                panic!("moto_server exited early ({st}); log:\n{}", moto.log());
            }
            if Instant::now() >= deadline {
                panic!(
                    "moto_server not ready on port {port} after 30 s; log:\n{}",
                    moto.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Forgets every resource: `POST /moto-api/reset`.
    pub fn reset(&self) {
        let (status, body) = http(
            self.port,
            "POST",
            "/moto-api/reset",
            b"",
            Duration::from_secs(30),
        )
        .expect("POST /moto-api/reset");
        assert_eq!(status, 200, "moto reset failed: {body}");
    }

    /// What moto_server printed so far.
    pub fn log(&self) -> String {
        read_log(&self.log_path)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SDK config for the emulator: region us-east-1, static credentials `test`/`test`, the given
/// endpoint.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// Creates SNS topic `name` and SQS queue `name`, subscribes the queue (protocol `sqs`),
/// with `RawMessageDelivery=true` when `raw`. Returns (topic ARN, queue URL).
pub async fn topic_with_queue(cfg: &SdkConfig, name: &str, raw: bool) -> (String, String) {
    let sns = aws_sdk_sns::Client::new(cfg);
    let sqs = aws_sdk_sqs::Client::new(cfg);
    let topic_arn = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .expect("sns create_topic")
        .topic_arn
        .expect("topic arn");
    let queue_url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("sqs create_queue")
        .queue_url
        .expect("queue url");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("sqs get_queue_attributes")
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("queue arn");
    let sub_arn = sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .expect("sns subscribe")
        .subscription_arn
        .expect("subscription arn");
    if raw {
        sns.set_subscription_attributes()
            .subscription_arn(&sub_arn)
            .attribute_name("RawMessageDelivery")
            .attribute_value("true")
            .send()
            .await
            .expect("sns set_subscription_attributes RawMessageDelivery");
    }
    (topic_arn, queue_url)
}

/// Receives from `queue_url` (10 at a time, 1 s long polls, all message attributes and system
/// attributes) until `expect` messages arrived or `timeout` passed, then once more without
/// waiting to catch extras. Deletes what it received and returns all of it, so a test can assert
/// an exact count.
pub async fn drain(
    cfg: &SdkConfig,
    queue_url: &str,
    expect: usize,
    timeout: Duration,
) -> Vec<aws_sdk_sqs::types::Message> {
    let sqs = aws_sdk_sqs::Client::new(cfg);
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut last = false;
    loop {
        let wait = if last { 0 } else { 1 };
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .message_attribute_names("All")
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("sqs receive_message");
        let batch = out.messages.unwrap_or_default();
        let empty = batch.is_empty();
        for m in batch {
            if let Some(h) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(h)
                    .send()
                    .await
                    .expect("sqs delete_message");
            }
            got.push(m);
        }
        if last {
            if empty {
                return got;
            }
            continue;
        }
        if got.len() >= expect || Instant::now() >= deadline {
            last = true;
        }
    }
}

/// `cargo lambda watch` serving this crate on a free port of 127.0.0.1, in its own process
/// group; the whole group is stopped on drop.
pub struct LambdaWatch {
    pub port: u16,
    child: Child,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl LambdaWatch {
    /// Starts `$CARGO_LAMBDA lambda watch -A 127.0.0.1 -P PORT` in the crate root, with the
    /// tool's folder (the venv's `bin/`, where zig is) first on PATH and `env` added, and waits
    /// (up to 60 s) until the port accepts connections. The function itself is built on the
    /// first invoke.
    pub fn start(env: &[(&str, &str)]) -> LambdaWatch {
        let bin = tool_from_env("CARGO_LAMBDA");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut path_dirs = Vec::new();
        if let Some(d) = bin.parent() {
            path_dirs.push(d.to_path_buf());
        }
        path_dirs.push(root.join(".venv").join("bin"));
        if let Some(p) = std::env::var_os("PATH") {
            path_dirs.extend(std::env::split_paths(&p));
        }
        let path = std::env::join_paths(path_dirs).expect("PATH");
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let (log_path, out, err) = log_file(&dir, "cargo-lambda-watch.log");
        let child = Command::new(&bin)
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
                // The invocation's deadline: the first invoke builds the function (tens of
                // seconds here), which Lambda would not count against it (init is apart), and
                // the function starts no publish it could not finish before its deadline.
                "--timeout",
                "600",
            ])
            .current_dir(root)
            .env("PATH", path)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut w = LambdaWatch {
            port,
            child,
            log_path,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if port_accepts(port) {
                return w;
            }
            if let Ok(Some(st)) = w.child.try_wait() {
                panic!("cargo lambda watch exited early ({st}); log:\n{}", w.log());
            }
            if Instant::now() >= deadline {
                panic!(
                    "cargo lambda watch not listening on port {port} after 60 s; log:\n{}",
                    w.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// POSTs `payload` to `/2015-03-31/functions/{function}/invocations` and returns (status,
    /// body). The first invoke builds the function, hence the 600 s read timeout.
    pub fn invoke(&self, function: &str, payload: &str) -> (u16, String) {
        let path = format!("/2015-03-31/functions/{function}/invocations");
        http(
            self.port,
            "POST",
            &path,
            payload.as_bytes(),
            Duration::from_secs(600),
        )
        .unwrap_or_else(|e| panic!("invoke {function}: {e}; log:\n{}", self.log()))
    }

    /// The process group id (= the pid of `cargo lambda watch`).
    pub fn pgid(&self) -> u32 {
        self.child.id()
    }

    /// What `cargo lambda watch`, cargo and the function printed so far.
    pub fn log(&self) -> String {
        read_log(&self.log_path)
    }
}

/// Pids of the live (not zombie) processes whose process group is `pgid`, read from /proc.
pub fn process_group_members(pgid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces or parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 2 && f[0] != "Z" && f[0] != "X" && f[2].parse() == Ok(pgid) {
            pids.push(pid);
        }
    }
    pids
}

fn signal_group(pgid: u32, sig: &str) {
    // dash's builtin `kill` takes a negative pid for a group (and no `--`).
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{sig} -{pgid} 2>/dev/null"))
        .status();
}

/// Waits up to `limit` for the group to empty, reaping the leader meanwhile.
fn wait_group_gone(child: &mut Child, pgid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let _ = child.try_wait();
        if process_group_members(pgid).is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        let pgid = self.child.id();
        signal_group(pgid, "TERM");
        if !wait_group_gone(&mut self.child, pgid, Duration::from_secs(5)) {
            signal_group(pgid, "KILL");
            if !wait_group_gone(&mut self.child, pgid, Duration::from_secs(5)) {
                eprintln!(
                    "cargo lambda watch: process group {pgid} still has {:?} after SIGKILL",
                    process_group_members(pgid)
                );
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The table the templates create: partition key `pk` (S), on demand, TTL on `expires_at`.
pub async fn sessions_table(cfg: &aws_config::SdkConfig, name: &str) -> aws_sdk_dynamodb::Client {
    let db = aws_sdk_dynamodb::Client::new(cfg);
    db.create_table()
        .table_name(name)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name(rootwatch::aws::dynamo::PK)
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name(rootwatch::aws::dynamo::PK)
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    db.update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(rootwatch::aws::dynamo::TTL_ATTRIBUTE)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");
    db
}

/// Every record of a session sequence under `events/sessions/CASE/`, in file order.
pub fn sequence(case: &str) -> Vec<serde_json::Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(format!("events/sessions/{case}"))
        .expect("sequence folder")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            let doc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            doc["Records"].as_array().unwrap().clone()
        })
        .collect()
}

/// The EventBridge event ("AWS API Call via CloudTrail") that carries `record`.
pub fn eventbridge(record: &serde_json::Value) -> String {
    serde_json::json!({"version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sts", "account": record["recipientAccountId"], "time": record["eventTime"],
        "region": "us-east-1", "resources": [], "detail": record})
    .to_string()
}

/// The EventBridge event of the record named `name` in a sequence.
pub fn sequence_event(case: &str, name: &str) -> String {
    let recs = sequence(case);
    let r = recs
        .iter()
        .find(|r| r["eventName"] == name)
        .unwrap_or_else(|| panic!("no {name} in {case}"));
    eventbridge(r)
}

/// Standard output of a successful `rootwatch ARGS...`.
pub fn stdout(args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("rootwatch")
        .unwrap()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------------------------
// S3: buckets, CloudTrail-layout objects, notifications in their envelopes, and a Lambda
// runtime API to run the real binary as the function.

/// An S3 client for the emulator (path-style: the bucket is not in the host name).
pub fn s3_client(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Creates bucket `name` and returns a client.
pub async fn s3_bucket(cfg: &SdkConfig, name: &str) -> aws_sdk_s3::Client {
    let s3 = s3_client(cfg);
    s3.create_bucket()
        .bucket(name)
        .send()
        .await
        .expect("s3 create_bucket");
    s3
}

/// Puts `bytes` at `bucket/key`.
pub async fn put_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, bytes: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(bytes))
        .send()
        .await
        .unwrap_or_else(|e| panic!("s3 put_object {key}: {e:?}"));
}

/// gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

/// A CloudTrail log file as delivered: `{"Records": [...]}`, gzip.
pub fn log_object(records: &[serde_json::Value]) -> Vec<u8> {
    gzip(
        serde_json::json!({ "Records": records })
            .to_string()
            .as_bytes(),
    )
}

/// The key CloudTrail gives a log file of an organisation trail:
/// `AWSLogs/<o-org>/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<account>_CloudTrail_<region>_<stamp>_<rand>.json.gz`.
pub fn trail_key(
    org: &str,
    account: &str,
    region: &str,
    day: &str,
    hhmm: &str,
    rand: &str,
) -> String {
    let (y, m, d) = (&day[0..4], &day[5..7], &day[8..10]);
    format!(
        "AWSLogs/{org}/{account}/CloudTrail/{region}/{y}/{m}/{d}/{account}_CloudTrail_{region}_{y}{m}{d}T{hhmm}Z_{rand}.json.gz"
    )
}

/// The records of a sample under `events/`: a log file's `Records`, an EventBridge event's
/// `detail`, an array's elements, or the bare record.
pub fn records_of(path: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    if let Some(r) = v.get("Records").and_then(|r| r.as_array()) {
        return r.clone();
    }
    if let Some(d) = v.get("detail") {
        return vec![d.clone()];
    }
    match v {
        serde_json::Value::Array(a) => a,
        one => vec![one],
    }
}

/// An S3 event notification for new objects; keys URL-encoded as S3 does (`+` for a space).
pub fn s3_notification(bucket: &str, keys: &[&str]) -> String {
    let records: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| {
            let encoded: String = k
                .bytes()
                .map(|b| match b {
                    b' ' => "+".to_owned(),
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            serde_json::json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-23T04:12:00.000Z", "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                       "object": {"key": encoded, "size": 1024, "sequencer": "0A1B2C3D4E5F678901"}}})
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

/// S3's EventBridge "Object Created" event.
pub fn eventbridge_object_created(bucket: &str, key: &str) -> String {
    serde_json::json!({"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created", "source": "aws.s3", "account": "123456789012",
        "time": "2026-11-23T04:12:00Z", "region": "us-east-1", "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": {"key": key, "size": 1024},
                   "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject"}})
    .to_string()
}

/// CloudTrail's delivery notification (the SNS message; with raw delivery, the SQS body).
pub fn cloudtrail_notification(bucket: &str, keys: &[&str]) -> String {
    serde_json::json!({"s3Bucket": bucket, "s3ObjectKey": keys}).to_string()
}

/// The SNS envelope an SQS subscriber gets without raw delivery.
pub fn sns_envelope(message: &str) -> String {
    serde_json::json!({"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:cloudtrail-logs", "Subject": null,
        "Message": message, "Timestamp": "2026-11-23T04:12:00.000Z", "SignatureVersion": "1"})
    .to_string()
}

/// One SQS message as Lambda hands it over, with the attributes the function's AssumeRoot wait
/// reads: when it was sent (epoch ms) and how many times it has been received.
pub fn sqs_message(id: &str, body: &str, sent_ms: i64, receives: u32) -> serde_json::Value {
    serde_json::json!({"messageId": id, "receiptHandle": "h", "body": body,
        "attributes": {"SentTimestamp": sent_ms.to_string(), "ApproximateReceiveCount": receives.to_string()},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:rootwatch", "awsRegion": "us-east-1"})
}

/// An SQS event with these (message id, body) messages.
pub fn sqs_event(bodies: &[(&str, &str)]) -> String {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .map(|(id, body)| serde_json::json!({"messageId": id, "receiptHandle": "h", "body": body, "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:rootwatch", "awsRegion": "us-east-1"}))
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

/// A Lambda runtime API on a free port of 127.0.0.1 that hands out the given payloads, one per
/// `invocation/next`, and collects the responses; after the last payload, `next` is left
/// unanswered. One request per connection (`Connection: close`).
/// <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>
pub struct RuntimeApi {
    pub port: u16,
    responses: std::sync::mpsc::Receiver<(String, String, Instant)>,
    /// When each payload was handed out.
    pub served: std::sync::Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl RuntimeApi {
    pub fn start(payloads: Vec<String>) -> RuntimeApi {
        let listener = TcpListener::bind((HOST, 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        let (tx, responses) = std::sync::mpsc::channel();
        let served = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let served2 = served.clone();
        std::thread::spawn(move || {
            let mut queue: std::collections::VecDeque<String> = payloads.into();
            let mut parked = Vec::new();
            let mut n = 0;
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let Some((method, path, body)) = read_request(&mut conn) else {
                    continue;
                };
                if method == "GET" && path.ends_with("/invocation/next") {
                    let Some(p) = queue.pop_front() else {
                        parked.push(conn); // never answered: the function waits
                        continue;
                    };
                    n += 1;
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis()
                        + 900_000;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: req-{n}\r\n\
                         Lambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:rootwatch\r\n\
                         Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n",
                        p.len()
                    );
                    served2.lock().unwrap().push(Instant::now());
                    let _ = conn.write_all(head.as_bytes());
                    let _ = conn.write_all(p.as_bytes());
                } else {
                    let reply = b"{\"status\":\"OK\"}";
                    let head = format!(
                        "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        reply.len()
                    );
                    let _ = conn.write_all(head.as_bytes());
                    let _ = conn.write_all(reply);
                    let _ = tx.send((path, body, Instant::now()));
                }
            }
        });
        RuntimeApi {
            port,
            responses,
            served,
        }
    }

    /// The next (path, body, when) the function posted: a response or an error.
    pub fn next_response(&self, timeout: Duration) -> Option<(String, String, Instant)> {
        self.responses.recv_timeout(timeout).ok()
    }

    /// The environment the function needs to run against this API.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{}", self.port)),
            ("AWS_LAMBDA_FUNCTION_NAME", "rootwatch".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/rootwatch".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test".into()),
        ]
    }
}

/// Reads one HTTP/1.1 request: (method, path, body).
fn read_request(conn: &mut TcpStream) -> Option<(String, String, String)> {
    conn.set_read_timeout(Some(Duration::from_secs(600))).ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let split = loop {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

/// The peak resident set size of a live `child` in bytes (`VmHWM` of /proc/PID/status), then
/// kills and reaps it. Not `wait4`'s `ru_maxrss`: a spawned child's exec records the parent's
/// high-water mark there (the test process's memory, not the function's).
pub fn kill_and_peak_rss(child: &mut Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .expect("/proc/PID/status of a live child");
    let _ = child.kill();
    let _ = child.wait();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kb * 1024
}

/// The detector's own resources for `events/detector-tamper/` (what the templates would set).
pub const SAMPLE_DETECTOR_RESOURCES: &str =
    "rootwatch-*,arn:aws:kms:us-east-1:111122223333:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";

/// How the samples of `events/` are replayed (goldens and labels): the detector's resources
/// set, every finding kept.
pub fn sample_options() -> rootwatch::replay::Options {
    rootwatch::replay::Options {
        pipeline: rootwatch::core::pipeline::Pipeline::new(
            rootwatch::core::rules::RuleConfig::default()
                .with_detector_resources(&[SAMPLE_DETECTOR_RESOURCES.to_owned()])
                .unwrap(),
            rootwatch::core::model::Severity::Info,
        ),
        ..Default::default()
    }
}
