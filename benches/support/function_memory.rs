//! Peak RSS of the function binary with its session store full, at Lambda memory settings of
//! 128 and 256 MB (the capacity follows `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), against the same
//! binary after one benign invocation in the same run (the baseline). A loopback Runtime API
//! hands out invocations, each a JSON array of 2,000 `AssumeRole` records that issue distinct
//! sessions, until twice the capacity has been offered (the store evicts past it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const PER_INVOCATION: usize = 2_000;

fn assume_role() -> serde_json::Value {
    let text = std::fs::read_to_string(
        "events/sessions/user-role-chain/111122223333_CloudTrail_us-east-1_20261120T0900Z_c.json",
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["eventName"] == "AssumeRole")
        .unwrap()
        .clone()
}

fn payload(template: &serde_json::Value, from: usize) -> String {
    let records: Vec<serde_json::Value> = (from..from + PER_INVOCATION)
        .map(|i| {
            let mut r = template.clone();
            r["eventID"] = serde_json::json!(format!("bench-{i}"));
            r["responseElements"]["credentials"]["accessKeyId"] =
                serde_json::json!(format!("ASIABENCH{i:011}"));
            r["responseElements"]["assumedRoleUser"]["assumedRoleId"] =
                serde_json::json!(format!("AROABENCH:session-{i}"));
            r
        })
        .collect();
    serde_json::Value::Array(records).to_string()
}

/// Reads one request's head and body; `None` when the peer closed.
fn request(conn: &mut TcpStream) -> Option<String> {
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(first)
}

/// Runs the binary as a function with `memory_mb` and `env`, serves `payloads`, and returns
/// its peak RSS in kB (`VmHWM`) once it has answered them all, and the seconds from the first
/// payload served to the last answer.
pub fn serve(
    bin: &Path,
    memory_mb: u32,
    env: &[(&str, &str)],
    payloads: Vec<String>,
) -> (u64, f64) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut child = Command::new(bin)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let total = payloads.len();
    let mut queue = payloads.into_iter();
    let mut answered = 0;
    let mut n = 0;
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    for conn in listener.incoming() {
        let mut conn = conn.unwrap();
        let Some(first_line) = request(&mut conn) else {
            continue;
        };
        if first_line.starts_with("GET") {
            let Some(p) = queue.next() else {
                break; // all served and answered: measure while it waits
            };
            n += 1;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: r{n}\r\n\
                 Lambda-Runtime-Deadline-Ms: 99999999999999\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                p.len()
            );
            first.get_or_insert_with(Instant::now);
            conn.write_all(head.as_bytes()).unwrap();
            conn.write_all(p.as_bytes()).unwrap();
        } else {
            answered += 1;
            last = Instant::now();
            let _ = conn.write_all(
                b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    }
    assert_eq!(answered, total, "every invocation answered");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let secs = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
    (kb, secs)
}

fn peak_kb(bin: &Path, memory_mb: u32, payloads: Vec<String>) -> u64 {
    serve(bin, memory_mb, &[], payloads).0
}

pub fn run(bin: &Path) {
    let template = assume_role();
    for memory_mb in [128u32, 256] {
        let capacity = rootwatch::aws::function::capacity_for_memory(memory_mb as usize);
        let idle = peak_kb(bin, memory_mb, vec!["[]".to_owned()]);
        let invocations = (2 * capacity).div_ceil(PER_INVOCATION);
        let payloads: Vec<String> = (0..invocations)
            .map(|k| payload(&template, k * PER_INVOCATION))
            .collect();
        let full = peak_kb(bin, memory_mb, payloads);
        println!(
            "function  {memory_mb} MB setting: capacity {capacity} sessions; {} sessions offered in {invocations} invocations: peak RSS {:.1} MB (store full) vs {:.1} MB (one empty invocation), {:.0}% of the setting",
            invocations * PER_INVOCATION,
            full as f64 / 1024.0,
            idle as f64 / 1024.0,
            100.0 * full as f64 / 1024.0 / memory_mb as f64
        );
    }
}
