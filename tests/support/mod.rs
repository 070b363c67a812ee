//! Shared helpers for the tests that need an emulator: a `moto_server` per test, SDK clients
//! pointed at it, SNS topic → SQS queue plumbing, and a `cargo lambda watch` server.
//!
//! Use from a test file with `mod support;`. The binaries come from the environment that
//! `make test` sets up (`MOTO_SERVER`, `CARGO_LAMBDA`); tests that use them are marked
//! `#[ignore = "needs moto_server; run make test"]` so a plain `cargo test` skips them.
#![allow(dead_code)]

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
                .attribute_name(rootwatch::dynamo::PK)
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name(rootwatch::dynamo::PK)
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
                .attribute_name(rootwatch::dynamo::TTL_ATTRIBUTE)
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
