//! Alerts: what a person reads in e-mail and what a machine filters on. Pure: one report in,
//! one alert out.
//!
//! SNS limits we keep: subject under 100 characters, ASCII, no line breaks or control characters;
//! message at most 256 KiB in bytes (attributes included).
//! <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>

use crate::core::model::{Finding, RecordReport, Rule, Severity};
use crate::core::sanitize::{clean, MAX_TEXT};
use serde_json::{json, Value};

/// SNS `Subject`: "must be ASCII text that begins with a letter, number, or punctuation mark;
/// must not include line breaks or control characters; and must be less than 100 characters".
/// <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>
pub const MAX_SUBJECT: usize = 99;
/// SNS maximum message size, 262,144 bytes, message attributes included.
/// <https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html>
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// Custom notifications rendered by Amazon Q Developer in chat applications (formerly AWS Chatbot).
/// <https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>
pub const CHATBOT_DOC: &str =
    "https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html";

/// How the `default`/`https` message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertFormat {
    /// Plain text for people; JSON document for machine protocols.
    Standard,
    /// Amazon Q Developer in chat applications custom notification JSON.
    Chatbot,
}

impl std::str::FromStr for AlertFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "" | "standard" | "text" => Ok(AlertFormat::Standard),
            "chatbot" => Ok(AlertFormat::Chatbot),
            other => Err(format!(
                "unknown alert format {other:?}; expected standard or chatbot"
            )),
        }
    }
}

/// One alert: everything needed to publish it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub event_id: Option<String>,
    pub severity: Severity,
    pub subject: String,
    /// Plain text for `default` and `email`.
    pub text: String,
    /// JSON document for `sqs`, `lambda`, `https`: the record object plus an `alert` member.
    pub document: String,
    /// Chat notification JSON, when [`AlertFormat::Chatbot`].
    pub chat: Option<String>,
    /// SNS message attributes: (name, data type, value).
    pub attributes: Vec<(&'static str, &'static str, String)>,
}

/// Why each rule matters and what to do, in a person's words.
struct Advice {
    why: &'static str,
    next: &'static str,
}

/// Advice for every rule: a `match`, so a new rule without advice does not compile (a table
/// lookup once panicked on the two configurable rules).
fn advice(rule: Rule) -> Advice {
    let (why, next) = match rule {
        Rule::RootConsoleLogin => (
            "The root user has unrestricted access to the account and cannot be limited by IAM policies. AWS recommends using it only for the few tasks that require it.",
            "Confirm with the account owner that this sign-in was planned. If not, change the root password, check MFA, and review everything this session did.",
        ),
        Rule::RootConsoleLoginFailure => (
            "Someone knows the account's root e-mail address and is trying to sign in as root.",
            "Make sure root has MFA enabled and a strong unique password; watch for a later successful sign-in from the same address.",
        ),
        Rule::RootCredentialUse => (
            "A request was made with the root user's own credentials. Root access keys and routine root use are against AWS best practice.",
            "Find out who holds the root credentials and why they were used. Delete any root access keys; use IAM roles instead.",
        ),
        Rule::RootOnlyTask => (
            "A task that only the root user can perform changes the account at its highest level (credentials, billing access, account closure, resource policies).",
            "Verify the change was intended and approved; if not, treat the root credentials as compromised.",
        ),
        Rule::RootSession => (
            "sts:AssumeRoot gives a short privileged root session in a member account, limited by a task policy.",
            "Check that the caller is an expected administrator and that the task matches planned work.",
        ),
        Rule::WatchedRoleAssumed => (
            "A role on the watch list (such as a break-glass role) was assumed. Such roles are meant for emergencies only.",
            "Ask the person named whether there is an incident that needs this role; if not, revoke the session and review what it did.",
        ),
        Rule::UntrustedAccountAssumption => (
            "A principal from an account outside the trusted list assumed a role here. The role's trust policy lets that account in.",
            "Check the role's trust policy and whether the calling account should have access; remove it from the trust policy if not.",
        ),
        Rule::DetectorTamper => (
            "The request stops, narrows or removes the audit trail or this detector. An intruder does this first, so that what follows goes unseen.",
            "Restore the trail or the detector's resource now, then find out who made the request and review everything that principal did since.",
        ),
        Rule::RootLoginBruteForce => (
            "Someone is guessing the root password of this account: many failed root sign-ins in a few minutes.",
            "Make sure root has MFA and a strong unique password; block the addresses if you can, and watch for a successful root sign-in from them.",
        ),
        Rule::RootLoginSpray => (
            "One address is trying root sign-in across several of your accounts: a campaign against the organisation, not a mistyped password.",
            "Check that every account named has root MFA, block the address, and look for a successful root sign-in from it on any account.",
        ),
        Rule::AssumeRootNewCaller => (
            "This principal has not opened a root session on this account before (in the time remembered). A new AssumeRoot caller may be a new runbook, or stolen administrator credentials.",
            "Confirm with the person named that the privileged task was planned; if not, revoke their sessions and review what the root session did.",
        ),
        Rule::RootAccessKeyPresent => (
            "Root access keys call any API in the account, cannot be limited by IAM policies and do not expire.",
            audit_next(rule),
        ),
        Rule::RootMfaMissing => (
            "Anyone with the root password, or who can reset it through the root e-mail address, can take the whole account.",
            audit_next(rule),
        ),
        Rule::RootHardwareMfaMissing => (
            "A virtual MFA device lives on a phone or computer that can be copied or lost; AWS recommends hardware or FIDO MFA for root.",
            audit_next(rule),
        ),
        Rule::RootSigningCertificatePresent => (
            "A root signing certificate is a long-term root credential that nothing current needs.",
            audit_next(rule),
        ),
        Rule::RootPasswordPresent => (
            "A root password lets someone sign in as root; under centralized root access a member account needs none.",
            audit_next(rule),
        ),
        Rule::RootCredentialsManagementDisabled => (
            "Without centralized root credentials management, every member account keeps a root user that can sign in, each one to protect.",
            audit_next(rule),
        ),
    };
    Advice { why, next }
}

/// What to do for an audit rule: its row of the audit table.
fn audit_next(rule: Rule) -> &'static str {
    crate::core::audit::rules::audit_rule(rule).map_or("", |r| r.next)
}

/// The most severe finding (first one on ties).
fn lead<'f>(findings: &[&'f Finding]) -> Option<&'f Finding> {
    findings
        .iter()
        .copied()
        .reduce(|a, b| if b.severity > a.severity { b } else { a })
}

/// Builds the alert for a report, or `None` when it has no finding at or above `min` that no
/// suppression covers (suppressed findings are never published).
pub fn build(report: &RecordReport, min: Severity, format: AlertFormat) -> Option<Alert> {
    build_with(report, min, format, None)
}

/// What a replay's alert says of a session whose start is not in the files read: the whole input
/// has been read, so it is not "not yet" seen.
pub const NOT_IN_INPUT: &str =
    "not in the input (the call that started this session is not in what was read)";

/// [`build`] for a replay, which has read its whole input: a session whose origin is unknown is
/// one whose start is not in the input ([`NOT_IN_INPUT`]).
pub fn build_replay(report: &RecordReport, min: Severity, format: AlertFormat) -> Option<Alert> {
    let note = (report.origin.is_none() && is_session(report)).then_some(NOT_IN_INPUT);
    build_with(report, min, format, note)
}

/// [`build`], with what is known about a session's origin that the report cannot say: the
/// function uses it after waiting for an `AssumeRoot` call that did not come.
pub fn build_with(
    report: &RecordReport,
    min: Severity,
    format: AlertFormat,
    origin_note: Option<&str>,
) -> Option<Alert> {
    let findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity >= min && !f.is_suppressed())
        .collect();
    let lead = lead(&findings)?;
    let p = &report.principal;
    let account = p.account_id.as_deref().unwrap_or("unknown account");
    let subject = subject(&format!(
        "[rootwatch] {} {}: {}",
        lead.severity.as_str().to_uppercase(),
        account,
        lead.title
    ));

    let who = match (&p.arn, &p.principal_id) {
        (Some(arn), _) => format!("{} ({arn})", p.class),
        (None, Some(id)) => format!("{} ({id})", p.class),
        _ => p.class.to_string(),
    };
    let origin: Option<String> = match &report.origin {
        Some(o) => Some(o.describe()),
        None if origin_note.is_some() => origin_note.map(|n| clean(n, MAX_TEXT)),
        None if is_session(report) => {
            Some("not yet known (the call that started this session has not been seen)".into())
        }
        None => None,
    };
    let mut tasks: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.task.map(|t| t.as_str()))
        .collect();
    tasks.sort_unstable();
    tasks.dedup();
    let mut rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    let event = format!(
        "{}:{}",
        report
            .event_source
            .as_deref()
            .unwrap_or("?")
            .trim_end_matches(".amazonaws.com"),
        report.event_name.as_deref().unwrap_or("?")
    );
    let a = advice(lead.rule);
    let mut text = format!("{}\n\n", lead.title);
    let mut line = |k: &str, v: &str| text.push_str(&format!("{k:<16}{v}\n"));
    line("Severity:", &lead.severity.as_str().to_uppercase());
    line("Who:", &who);
    if let Some(origin) = &origin {
        line("Session origin:", origin);
    }
    line("Account:", account);
    line("Region:", report.aws_region.as_deref().unwrap_or("-"));
    line("Time:", report.event_time.as_deref().unwrap_or("-"));
    line("Source IP:", report.source_ip.as_deref().unwrap_or("-"));
    line("User agent:", report.user_agent.as_deref().unwrap_or("-"));
    line(
        "Event:",
        &format!(
            "{event} (event ID {})",
            report.event_id.as_deref().unwrap_or("-")
        ),
    );
    if !tasks.is_empty() {
        line("Root-only task:", &tasks.join(", "));
    }
    text.push_str("\nFindings:\n");
    for f in &findings {
        let task = f.task.map(|t| format!(" [{t}]")).unwrap_or_default();
        text.push_str(&format!(
            "  - {} {}{task}: {}\n",
            f.severity.as_str().to_uppercase(),
            f.rule,
            f.title
        ));
    }
    text.push_str(&format!(
        "\nWhy it matters: {}\nWhat to do next: {}\n",
        a.why, a.next
    ));
    if let Some(link) = console_link(report) {
        text.push_str(&format!("\nEvent in the CloudTrail console: {link}\n"));
    }
    text.push_str(&format!("About this rule: {}\n", lead.doc));
    let text = clean_text(&text);

    let mut doc = serde_json::to_value(report).expect("reports serialise");
    doc["findings"] = serde_json::to_value(&findings).expect("findings serialise");
    doc["alert"] = json!({
        "subject": subject,
        "severity": lead.severity,
        "rule": lead.rule,
        "rules": rules,
        "tasks": tasks,
        "why": a.why,
        "next": a.next,
        "console_link": console_link(report),
        "generator": concat!("rootwatch ", env!("CARGO_PKG_VERSION")),
    });
    if let Some(note) = origin_note {
        doc["alert"]["origin_note"] = json!(clean(note, MAX_TEXT));
    }
    let document = doc.to_string();

    let chat = (format == AlertFormat::Chatbot).then(|| {
        json!({
            "version": "1.0",
            "source": "custom",
            "id": report.event_id,
            "content": {
                "textType": "client-markdown",
                "title": format!(":rotating_light: {}", subject),
                "description": format!("*{}*\n*Who:* `{}`\n*Account:* {} *Region:* {}\n*Source IP:* {}\n*Time:* {}",
                    lead.title, who, account,
                    report.aws_region.as_deref().unwrap_or("-"),
                    report.source_ip.as_deref().unwrap_or("-"),
                    report.event_time.as_deref().unwrap_or("-")),
                "nextSteps": [a.next],
                "keywords": rules.iter().map(|r| r.as_str()).chain(tasks.iter().copied()).collect::<Vec<_>>(),
            },
            "metadata": {
                "summary": lead.title,
                "eventType": lead.rule,
                "relatedResources": p.arn.iter().collect::<Vec<_>>(),
                "additionalContext": { "severity": lead.severity, "account": account },
            }
        })
        .to_string()
    });

    let mut attributes = vec![
        ("severity", "String", lead.severity.as_str().to_owned()),
        (
            "severity_level",
            "Number",
            (lead.severity as u8).to_string(),
        ),
        (
            "rule",
            "String.Array",
            serde_json::to_string(&rules).expect("serialise"),
        ),
        ("principal_class", "String", p.class.as_str().to_owned()),
    ];
    if let Some(acct) = p.account_id.as_deref().filter(|s| !s.is_empty()) {
        attributes.push(("account_id", "String", acct.to_owned()));
    }
    if let Some(name) = report.event_name.as_deref().filter(|s| !s.is_empty()) {
        attributes.push(("event_name", "String", name.to_owned()));
    }
    let mut alert = Alert {
        event_id: report.event_id.as_deref().map(str::to_owned),
        severity: lead.severity,
        subject,
        text,
        document,
        chat,
        attributes,
    };
    alert.fit();
    Some(alert)
}

fn is_session(r: &RecordReport) -> bool {
    r.principal
        .access_key_id
        .as_deref()
        .is_some_and(crate::core::session::is_temporary)
}

/// `https://console.aws.amazon.com/cloudtrailv2/home?region=R#/events/ID`: the event's page in the
/// CloudTrail console (Event history).
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events-console.html>
pub fn console_link(r: &RecordReport) -> Option<String> {
    let id = r.event_id.as_deref().filter(|s| !s.is_empty())?;
    let region = r.aws_region.as_deref().filter(|s| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.is_empty()
    })?;
    let enc: String = id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Some(format!(
        "https://console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{enc}"
    ))
}

/// A subject SNS accepts: ASCII printable only, starts with a letter/number/punctuation,
/// at most [`MAX_SUBJECT`] characters.
pub fn subject(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_whitespace() {
                ' '
            } else if c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if out.len() > MAX_SUBJECT {
        out.truncate(MAX_SUBJECT - 3);
        out.push_str("...");
    }
    if out.is_empty() {
        out.push_str("rootwatch alert");
    }
    out
}

/// Text for e-mail: keeps newlines and tabs of our own layout; escapes every other control
/// character (values inside were already sanitised; this is the last line of defence).
fn clean_text(s: &str) -> String {
    s.split('\n')
        .map(|l| clean(l, usize::MAX))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Alert {
    /// The `Message` for `MessageStructure=json`: one entry per protocol.
    pub fn sns_message(&self) -> String {
        let human = Value::String(self.text.clone());
        let machine = Value::String(self.document.clone());
        let default = self
            .chat
            .clone()
            .map(Value::String)
            .unwrap_or_else(|| human.clone());
        let https = self
            .chat
            .clone()
            .map(Value::String)
            .unwrap_or_else(|| machine.clone());
        json!({
            "default": default,
            "email": human,
            "email-json": machine,
            "sqs": machine,
            "lambda": machine,
            "http": https,
            "https": https,
        })
        .to_string()
    }

    /// Bytes SNS counts: the message plus attribute names, types and values.
    pub fn size(&self) -> usize {
        self.sns_message().len()
            + self.subject.len()
            + self
                .attributes
                .iter()
                .map(|(n, t, v)| n.len() + t.len() + v.len())
                .sum::<usize>()
    }

    /// Cuts text and document until the message fits in [`MAX_MESSAGE_BYTES`]. The document is
    /// replaced by a short valid JSON object saying it was truncated; the text is cut at a
    /// character boundary with a note.
    fn fit(&mut self) {
        if self.size() <= MAX_MESSAGE_BYTES {
            return;
        }
        let doc: Value = serde_json::from_str(&self.document).unwrap_or(Value::Null);
        self.document = json!({
            "truncated": true,
            "event_id": doc["event_id"],
            "event_name": doc["event_name"],
            "principal": { "class": doc["principal"]["class"], "arn": doc["principal"]["arn"] },
            "alert": doc["alert"],
        })
        .to_string();
        self.chat = self.chat.as_ref().map(|_| json!({"version": "1.0", "source": "custom", "content": {"title": self.subject, "description": "(truncated)"}}).to_string());
        // Cut the text (repeated in `default` and `email`) until everything fits.
        let mut keep = self.text.len();
        while self.size() > MAX_MESSAGE_BYTES && keep > 0 {
            keep /= 2;
            let mut cut = keep;
            while !self.text.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.truncate(cut);
            self.text.push_str("\n[truncated]\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::InputRef;
    use crate::core::pipeline::analyze;
    use crate::core::record::Record;

    fn report(json: &str) -> RecordReport {
        analyze(
            &Record::from_json(json).unwrap(),
            InputRef {
                file: "t".into(),
                index: 0,
            },
            None,
            &crate::core::rules::RuleConfig::NONE,
        )
    }

    const LOGIN: &str = r#"{"eventID":"11111111-2222-3333-4444-555555555555","eventTime":"2026-11-23T04:12:09Z","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}}"#;

    /// Regression: the advice table had no rows for the two configurable rules, so the first
    /// watched-role alert panicked (and would have crashed the function).
    #[test]
    fn every_rule_alerts_in_both_formats() {
        for &rule in Rule::ALL {
            let mut r = report(LOGIN);
            r.findings = vec![Finding {
                rule,
                severity: Severity::High,
                title: format!("{rule} fired"),
                task: None,
                doc: "https://docs.aws.amazon.com/",
                suppressed: None,
            }];
            for format in [AlertFormat::Standard, AlertFormat::Chatbot] {
                let a = build(&r, Severity::Info, format).unwrap();
                assert!(a.subject.contains(rule.as_str()), "{}", a.subject);
                assert!(a.text.contains("Why it matters: "), "{rule}");
            }
        }
    }

    #[test]
    fn benign_record_has_no_alert() {
        let r = report(r#"{"userIdentity":{"type":"IAMUser"},"eventName":"ListUsers"}"#);
        assert_eq!(build(&r, Severity::Info, AlertFormat::Standard), None);
    }

    #[test]
    fn below_min_severity_has_no_alert() {
        let r =
            report(r#"{"userIdentity":{"type":"Root"},"eventName":"ListBuckets","readOnly":true}"#);
        assert!(build(&r, Severity::Medium, AlertFormat::Standard).is_some());
        assert_eq!(build(&r, Severity::High, AlertFormat::Standard), None);
    }

    #[test]
    fn login_alert_reads_well() {
        let a = build(&report(LOGIN), Severity::Medium, AlertFormat::Standard).unwrap();
        assert_eq!(
            a.subject,
            "[rootwatch] CRITICAL 111122223333: Root user signed in to the console without MFA"
        );
        assert!(
            a.text
                .starts_with("Root user signed in to the console without MFA\n"),
            "{}",
            a.text
        );
        for want in ["Who:            root (arn:aws:iam::111122223333:root)", "Source IP:      203.0.113.77", "Region:         us-east-1",
            "https://console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/11111111-2222-3333-4444-555555555555", "What to do next:"] {
            assert!(a.text.contains(want), "missing {want:?} in\n{}", a.text);
        }
        let doc: Value = serde_json::from_str(&a.document).unwrap();
        assert_eq!(doc["alert"]["rule"], "root-console-login");
        assert_eq!(doc["principal"]["class"], "root");
        let attrs: Vec<_> = a
            .attributes
            .iter()
            .map(|(n, _, v)| (*n, v.as_str()))
            .collect();
        assert!(attrs.contains(&("severity", "critical")));
        assert!(attrs.contains(&("rule", r#"["root-console-login"]"#)));
        assert!(attrs.contains(&("account_id", "111122223333")));
        assert!(attrs.contains(&("event_name", "ConsoleLogin")));
        let msg: Value = serde_json::from_str(&a.sns_message()).unwrap();
        assert_eq!(msg["email"], Value::String(a.text.clone()));
        assert_eq!(msg["sqs"], Value::String(a.document.clone()));
    }

    #[test]
    fn hostile_strings_cannot_forge_lines_or_break_json() {
        let hostile = "x\u{1b}[31m\nSeverity: info - all clear\r\n\u{202e}\u{0}".repeat(500);
        let rec = format!(
            r#"{{"eventID":"e\nv","awsRegion":"us-east-1\n","userAgent":{ua},"eventSource":"ec2.amazonaws.com","eventName":"Run\nInstances","userIdentity":{{"type":"Root","arn":{ua},"accountId":"1111\n22223333"}}}}"#,
            ua = serde_json::to_string(&hostile).unwrap()
        );
        for format in [AlertFormat::Standard, AlertFormat::Chatbot] {
            let a = build(&report(&rec), Severity::Info, format).unwrap();
            assert!(
                a.subject.len() < 100
                    && a.subject.chars().all(|c| c.is_ascii_graphic() || c == ' '),
                "{:?}",
                a.subject
            );
            assert!(!a.text.contains("\nSeverity: info"), "forged line");
            assert!(!a.text.chars().any(|c| c.is_control() && c != '\n'));
            serde_json::from_str::<Value>(&a.document).unwrap();
            serde_json::from_str::<Value>(&a.sns_message()).unwrap();
            assert!(a.size() <= MAX_MESSAGE_BYTES);
        }
    }

    #[test]
    fn oversized_alert_is_cut_to_fit() {
        let mut r = report(LOGIN);
        let f = r.findings[0].clone();
        r.findings = vec![f; 20_000];
        let a = build(&r, Severity::Info, AlertFormat::Chatbot).unwrap();
        assert!(a.size() <= MAX_MESSAGE_BYTES, "{}", a.size());
        let doc: Value = serde_json::from_str(&a.document).unwrap();
        assert_eq!(doc["truncated"], true);
        assert!(a.text.ends_with("[truncated]\n"));
        serde_json::from_str::<Value>(&a.sns_message()).unwrap();
    }

    #[test]
    fn subject_rules() {
        assert_eq!(subject("a\nb\u{e9}"), "a b?");
        assert_eq!(subject(&"x".repeat(300)).len(), 99);
        assert_eq!(subject("\n"), "rootwatch alert");
    }

    #[test]
    fn chatbot_shape() {
        let a = build(&report(LOGIN), Severity::Info, AlertFormat::Chatbot).unwrap();
        let chat: Value = serde_json::from_str(a.chat.as_ref().unwrap()).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        assert_eq!(chat["content"]["textType"], "client-markdown");
        let msg: Value = serde_json::from_str(&a.sns_message()).unwrap();
        assert_eq!(msg["https"], Value::String(a.chat.clone().unwrap()));
        assert_eq!(msg["email"], Value::String(a.text.clone()));
    }

    #[test]
    fn origin_named_for_sessions() {
        let a = build(&report(r#"{"userIdentity":{"type":"Root","accountId":"444455556666","accessKeyId":"ASIAX","sessionContext":{"assumedRoot":"true"}},"eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy"}"#), Severity::Info, AlertFormat::Standard).unwrap();
        assert!(
            a.text.contains("Session origin: not yet known"),
            "{}",
            a.text
        );
    }
}
