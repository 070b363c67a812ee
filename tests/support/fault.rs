//! A fault-injecting HTTP/1.1 proxy for the emulator tests: it forwards every request to
//! `moto_server` unchanged, or, when told to, fails it the way AWS endpoints fail: a reset
//! connection, a connection closed without an answer, HTTP 500 / 503, SNS `Throttling` (HTTP 400
//! with the Query-protocol XML error; `ThrottlingException` in JSON for DynamoDB), or an answer
//! delayed beyond the client's timeout. Faults can start after N more requests ("mid-batch")
//! or last for N requests only ("transient"). Every request is logged with its API action.
//!
//! Plain std: one thread accepts on 127.0.0.1, one thread serves each client connection
//! (keep-alive, as the SDK's pool uses it), and each forwarded request opens its own connection
//! to moto (`Connection: close`), so the answer is read to its end and re-framed with a
//! `Content-Length`.
//!
//! Requests are forwarded one at a time. moto evaluates a conditional write and then stores the
//! item without a lock, so two concurrent `PutItem`s can both pass a condition that DynamoDB
//! evaluates atomically; in series they cannot, and concurrent clients see DynamoDB's semantics.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a request fails.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Reset the connection (RST) as soon as the request arrives: nothing is forwarded.
    Refuse,
    /// Read the whole request, forward nothing, close the connection without an answer.
    Close,
    /// Answer this HTTP status (500, 503, ...) with the protocol's error body.
    Status(u16),
    /// Answer HTTP 400 `Throttling` (SNS, Query protocol XML) / `ThrottlingException` (JSON).
    Throttle,
    /// Wait this long, then forward (the client has usually given up by then).
    Delay(Duration),
}

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// `Publish`, `PublishBatch`, `PutItem`, ... (`?` when unknown).
    pub action: String,
    /// The fault applied, `None` when forwarded as is.
    pub fault: Option<Fault>,
}

#[derive(Debug, Default)]
struct Plan {
    /// Requests still forwarded before `fault` applies.
    pass: u64,
    fault: Option<Fault>,
    /// Requests the fault still applies to; `None` for all of them.
    times: Option<u64>,
}

impl Plan {
    fn next(&mut self) -> Option<Fault> {
        if self.pass > 0 {
            self.pass -= 1;
            return None;
        }
        match self.times {
            Some(0) => None,
            Some(n) => {
                self.times = Some(n - 1);
                self.fault.clone()
            }
            None => self.fault.clone(),
        }
    }
}

#[derive(Default)]
struct State {
    plan: Mutex<Plan>,
    seen: Mutex<Vec<Seen>>,
    /// Held while a request is with moto.
    upstream: Mutex<()>,
}

/// The proxy, stopped on drop (connections already open end when their client closes them).
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: give it to the SDK as the endpoint.
    pub endpoint: String,
    pub port: u16,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// A proxy to `127.0.0.1:upstream` on a free port, forwarding everything.
    pub fn start(upstream: u16) -> FaultProxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, &st);
                });
            }
        });
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            state,
            stop,
        }
    }

    fn plan(&self, plan: Plan) {
        *self.state.plan.lock().unwrap() = plan;
    }

    /// Forward everything from now on.
    pub fn pass(&self) {
        self.plan(Plan::default());
    }

    /// Fail every request from now on.
    pub fn fail(&self, fault: Fault) {
        self.plan(Plan {
            pass: 0,
            fault: Some(fault),
            times: None,
        });
    }

    /// Forward `n` more requests, then fail every one ("unavailable mid-batch").
    pub fn fail_after(&self, n: u64, fault: Fault) {
        self.plan(Plan {
            pass: n,
            fault: Some(fault),
            times: None,
        });
    }

    /// Fail the next `n` requests, then forward again (a transient fault).
    pub fn fail_times(&self, n: u64, fault: Fault) {
        self.plan(Plan {
            pass: 0,
            fault: Some(fault),
            times: Some(n),
        });
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// (requests, faulted requests) for one API action.
    pub fn count(&self, action: &str) -> (usize, usize) {
        let seen = self.seen();
        let mine: Vec<&Seen> = seen.iter().filter(|s| s.action == action).collect();
        (
            mine.len(),
            mine.iter().filter(|s| s.fault.is_some()).count(),
        )
    }

    /// Forgets the requests seen.
    pub fn clear(&self) {
        self.state.seen.lock().unwrap().clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

/// An HTTP message head and body.
pub struct Message {
    /// Request or status line.
    pub first: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one message; `Ok(None)` at a clean end of the connection. Bodies: `Content-Length`,
/// chunked, or (answers only, `to_close`) everything up to the end of the connection.
pub fn read_message<R: BufRead>(r: &mut R, to_close: bool) -> std::io::Result<Option<Message>> {
    let mut first = String::new();
    if r.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut m = Message {
        first: first.trim_end().to_owned(),
        headers,
        body: Vec::new(),
    };
    let chunked = m
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            m.body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = m
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        m.body.resize(n, 0);
        r.read_exact(&mut m.body)?;
    } else if to_close {
        r.read_to_end(&mut m.body)?;
    }
    Ok(Some(m))
}

/// `Publish` from a Query-protocol body, `PutItem` from `X-Amz-Target: DynamoDB_20120810.PutItem`.
pub fn action(req: &Message) -> String {
    if let Some(t) = req.header("x-amz-target") {
        return t.rsplit('.').next().unwrap_or(t).to_owned();
    }
    String::from_utf8_lossy(&req.body)
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("?")
        .to_owned()
}

fn is_json(req: &Message) -> bool {
    req.header("x-amz-target").is_some()
        || req
            .header("content-type")
            .is_some_and(|c| c.contains("json"))
}

/// The error answer of `fault` in the request's protocol.
fn error_answer(req: &Message, status: u16, code: &str) -> Vec<u8> {
    let (kind, body) = if is_json(req) {
        let code = match code {
            "Throttling" => "ThrottlingException",
            "InternalFailure" => "InternalServerError",
            other => other,
        };
        (
            "application/x-amz-json-1.0",
            format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected by the fault proxy"}}"#
            ),
        )
    } else {
        let kind = if status >= 500 { "Receiver" } else { "Sender" };
        (
            "text/xml",
            format!(
                "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>injected by the fault proxy</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            ),
        )
    };
    let reason = match status {
        400 => "Bad Request",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nx-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nConnection: keep-alive\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// Forwards `req` to moto and returns the answer, re-framed for a keep-alive connection.
pub fn forward(req: &Message, upstream: u16) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream))?;
    up.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{}\r\n", req.first);
    for (k, v) in &req.headers {
        if !matches!(
            k.to_ascii_lowercase().as_str(),
            "connection" | "keep-alive" | "transfer-encoding" | "content-length"
        ) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    up.flush()?;
    let mut r = BufReader::new(up);
    let answer = read_message(&mut r, true)?
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
    let mut out = format!("{}\r\n", answer.first);
    for (k, v) in &answer.headers {
        if !matches!(
            k.to_ascii_lowercase().as_str(),
            "connection" | "keep-alive" | "transfer-encoding" | "content-length"
        ) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: keep-alive\r\n\r\n",
        answer.body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(&answer.body);
    Ok(out)
}

/// Makes the connection end with a reset (RST) when it is closed: SO_LINGER 0. The caller
/// returns, and dropping its handles closes it.
fn reset(conn: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a correctly sized `linger` value.
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// Serves one client connection, request after request.
fn serve(conn: TcpStream, upstream: u16, state: &State) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut out = conn.try_clone()?;
    let mut r = BufReader::new(conn.try_clone()?);
    while let Some(req) = read_message(&mut r, false)? {
        let fault = state.plan.lock().unwrap().next();
        state.seen.lock().unwrap().push(Seen {
            action: action(&req),
            fault: fault.clone(),
        });
        let forward = |req: &Message| {
            let _one_at_a_time = state.upstream.lock().unwrap_or_else(|p| p.into_inner());
            forward(req, upstream)
        };
        let answer = match &fault {
            None => forward(&req)?,
            Some(Fault::Refuse) => {
                reset(&conn);
                return Ok(());
            }
            Some(Fault::Close) => {
                let _ = conn.shutdown(Shutdown::Both);
                return Ok(());
            }
            Some(Fault::Status(code)) => {
                let name = if *code == 503 {
                    "ServiceUnavailable"
                } else {
                    "InternalFailure"
                };
                error_answer(&req, *code, name)
            }
            Some(Fault::Throttle) => error_answer(&req, 400, "Throttling"),
            Some(Fault::Delay(d)) => {
                std::thread::sleep(*d);
                forward(&req)?
            }
        };
        out.write_all(&answer)?;
        out.flush()?;
        if req
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            break;
        }
    }
    Ok(())
}
