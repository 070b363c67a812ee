//! A loopback stub for `rootwatch audit` tests. moto implements IAM's account summary and
//! credential reports, Organizations and STS, but not `sts:AssumeRoot`, nor
//! `iam:ListOrganizationsFeatures`, nor the root-session reads that follow an AssumeRoot
//! (`GetLoginProfile`, `ListAccessKeys`, `ListMFADevices`, `ListSigningCertificates` with no user
//! name), and its credential report has no `<root_account>` row (AWS always writes one). The
//! stub answers those itself, from the hand-written facts a test gives it, and forwards every
//! other request to moto unchanged. It counts the AssumeRoot calls in flight at once (each is
//! held [`HOLD`] so that overlapping calls overlap), to measure the audit's concurrency.

use super::fault::{action, forward, read_message, Message};
use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long an AssumeRoot answer is held.
pub const HOLD: Duration = Duration::from_millis(40);
/// The task policy the audit must ask for.
pub const AUDIT_TASK: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";

/// A member account's root credentials as the stub reports them.
#[derive(Debug, Clone, Default)]
pub struct MemberRoot {
    pub password: bool,
    /// (key id, active)
    pub keys: Vec<(String, bool)>,
    /// MFA serial numbers.
    pub mfa: Vec<String>,
    /// (certificate id, active)
    pub certs: Vec<(String, bool)>,
}

/// What the stub answers.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `EnabledFeatures` of ListOrganizationsFeatures.
    pub features: Vec<String>,
    /// Member accounts' root credentials; an account not listed has none.
    pub members: HashMap<String, MemberRoot>,
    /// Accounts whose AssumeRoot is denied.
    pub deny_assume_root: HashSet<String>,
    /// Accounts whose ListAccessKeys (in the root session) is denied.
    pub deny_list_keys: HashSet<String>,
    /// The caller's credential report (CSV), answered for GetCredentialReport.
    pub credential_report: String,
}

#[derive(Default)]
struct State {
    facts: Mutex<Facts>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    assume_root: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// The running stub.
pub struct AuditStub {
    pub endpoint: String,
    state: Arc<State>,
}

impl AuditStub {
    pub fn start(upstream: u16, facts: Facts) -> AuditStub {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        *state.facts.lock().unwrap() = facts;
        let s = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, &s);
                });
            }
        });
        AuditStub {
            endpoint: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    /// Replaces the facts (a change between two runs).
    pub fn set(&self, facts: Facts) {
        *self.state.facts.lock().unwrap() = facts;
    }

    /// The most AssumeRoot calls that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// The target account of every AssumeRoot call, in arrival order.
    pub fn assume_root_calls(&self) -> Vec<String> {
        self.state.assume_root.lock().unwrap().clone()
    }
}

impl Drop for AuditStub {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
    }
}

/// A form parameter of a Query-protocol body, URL-decoded.
fn param(req: &Message, name: &str) -> Option<String> {
    let body = String::from_utf8_lossy(&req.body).into_owned();
    body.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The access key id of a SigV4 `Authorization` header.
fn access_key(req: &Message) -> Option<String> {
    let auth = req.header("authorization")?;
    let cred = auth.split("Credential=").nth(1)?;
    Some(cred.split('/').next()?.to_owned())
}

/// Standard base64 (the credential report's `Content`).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn answer(status: u16, body: &str) -> Vec<u8> {
    let reason = if status == 200 { "OK" } else { "Error" };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nx-amzn-RequestId: 1\r\nConnection: keep-alive\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn ok(ns: &str, action: &str, result: &str) -> Vec<u8> {
    answer(
        200,
        &format!("<{action}Response xmlns=\"{ns}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{action}Response>"),
    )
}

fn error(ns: &str, status: u16, code: &str, message: &str) -> Vec<u8> {
    answer(
        status,
        &format!("<ErrorResponse xmlns=\"{ns}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>"),
    )
}

const IAM: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const STS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn handle(req: &Message, state: &State) -> Option<Vec<u8>> {
    let act = action(req);
    let facts = state.facts.lock().unwrap().clone();
    let root_session = access_key(req).and_then(|k| k.strip_prefix("ASIAROOT").map(str::to_owned));
    match (act.as_str(), root_session) {
        ("AssumeRoot", _) => {
            let target = param(req, "TargetPrincipal").unwrap_or_default();
            state.assume_root.lock().unwrap().push(target.clone());
            let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            state.max_in_flight.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(HOLD);
            state.in_flight.fetch_sub(1, Ordering::SeqCst);
            if param(req, "TaskPolicyArn.arn").as_deref() != Some(AUDIT_TASK) {
                return Some(error(STS, 400, "ValidationError", "unexpected task policy"));
            }
            if facts.deny_assume_root.contains(&target) {
                return Some(error(
                    STS,
                    403,
                    "AccessDenied",
                    &format!("not authorized to perform sts:AssumeRoot on {target}"),
                ));
            }
            Some(ok(
                STS,
                "AssumeRoot",
                &format!("<Credentials><AccessKeyId>ASIAROOT{target}</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>"),
            ))
        }
        ("ListOrganizationsFeatures", None) => {
            let members: String = facts
                .features
                .iter()
                .map(|f| format!("<member>{f}</member>"))
                .collect();
            Some(ok(
                IAM,
                "ListOrganizationsFeatures",
                &format!("<OrganizationId>o-stub</OrganizationId><EnabledFeatures>{members}</EnabledFeatures>"),
            ))
        }
        ("GetCredentialReport", None) => Some(ok(
            IAM,
            "GetCredentialReport",
            &format!(
                "<Content>{}</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>2026-12-06T06:00:00Z</GeneratedTime>",
                base64(facts.credential_report.as_bytes())
            ),
        )),
        (act, Some(account)) => {
            let m = facts.members.get(&account).cloned().unwrap_or_default();
            Some(match act {
                "GetLoginProfile" if m.password => ok(
                    IAM,
                    act,
                    "<LoginProfile><CreateDate>2020-01-01T00:00:00Z</CreateDate><PasswordResetRequired>false</PasswordResetRequired></LoginProfile>",
                ),
                "GetLoginProfile" => error(IAM, 404, "NoSuchEntity", "Login Profile for User root cannot be found."),
                "ListAccessKeys" if facts.deny_list_keys.contains(&account) => error(
                    IAM,
                    403,
                    "AccessDenied",
                    &format!("not authorized to perform iam:ListAccessKeys in {account}"),
                ),
                "ListAccessKeys" => ok(
                    IAM,
                    act,
                    &format!(
                        "<AccessKeyMetadata>{}</AccessKeyMetadata><IsTruncated>false</IsTruncated>",
                        m.keys
                            .iter()
                            .map(|(id, a)| format!(
                                "<member><AccessKeyId>{id}</AccessKeyId><Status>{}</Status><CreateDate>2021-01-01T00:00:00Z</CreateDate></member>",
                                if *a { "Active" } else { "Inactive" }
                            ))
                            .collect::<String>()
                    ),
                ),
                "ListMFADevices" => ok(
                    IAM,
                    act,
                    &format!(
                        "<MFADevices>{}</MFADevices><IsTruncated>false</IsTruncated>",
                        m.mfa
                            .iter()
                            .map(|s| format!("<member><SerialNumber>{s}</SerialNumber><EnableDate>2021-01-01T00:00:00Z</EnableDate></member>"))
                            .collect::<String>()
                    ),
                ),
                "ListSigningCertificates" => ok(
                    IAM,
                    act,
                    &format!(
                        "<Certificates>{}</Certificates><IsTruncated>false</IsTruncated>",
                        m.certs
                            .iter()
                            .map(|(id, a)| format!(
                                "<member><CertificateId>{id}</CertificateId><CertificateBody>-----BEGIN CERTIFICATE-----</CertificateBody><Status>{}</Status></member>",
                                if *a { "Active" } else { "Inactive" }
                            ))
                            .collect::<String>()
                    ),
                ),
                other => error(
                    IAM,
                    403,
                    "AccessDenied",
                    &format!("{other} is not allowed by the IAMAuditRootUserCredentials task policy"),
                ),
            })
        }
        _ => None,
    }
}

fn serve(conn: TcpStream, upstream: u16, state: &State) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut out = conn.try_clone()?;
    let mut r = BufReader::new(conn.try_clone()?);
    while let Some(req) = read_message(&mut r, false)? {
        let answer = match handle(&req, state) {
            Some(a) => a,
            None => forward(&req, upstream)?,
        };
        out.write_all(&answer)?;
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_of_known_strings() {
        assert_eq!(super::base64(b"Man"), "TWFu");
        assert_eq!(super::base64(b"Ma"), "TWE=");
        assert_eq!(super::base64(b"M"), "TQ==");
    }
}
