//! The `invariants` part of the fuzz bodies (see the module above).

use super::*;

/// Text that reaches a terminal or a log: no control character or other unsafe character.
pub(crate) fn check_printable(s: &str, what: &str) {
    assert!(is_clean(s, usize::MAX), "unsafe character in {what}: {s:?}");
}

/// Every string of a JSON value (keys included) is sanitised.
pub(crate) fn check_strings(v: &Value) {
    match v {
        Value::String(s) => check_printable(s, "report"),
        Value::Array(a) => a.iter().for_each(check_strings),
        Value::Object(o) => o.iter().for_each(|(k, v)| {
            check_printable(k, "report key");
            check_strings(v);
        }),
        _ => {}
    }
}

/// A report: its `jsonl` line is one line of valid JSON whose strings are all sanitised, and
/// its table rendering is one line per finding without control characters.
pub fn check_report(r: &RecordReport) {
    let line = crate::cli::render::jsonl_line(r);
    assert!(!line.contains('\n'), "jsonl line breaks: {line}");
    let v: Value = serde_json::from_str(&line).expect("jsonl line is JSON");
    check_strings(&v);
    let mut table = Table {
        out: Vec::new(),
        color: false,
        principal_width: None,
    };
    table.record(r).expect("write to memory");
    let text = String::from_utf8(table.out).expect("table is UTF-8");
    assert_eq!(
        text.lines().count(),
        r.findings.len(),
        "table lines:\n{text}"
    );
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control character in table: {text:?}"
    );
}

/// The SNS rules and our own: subject under 100 ASCII printable characters starting with a
/// letter, digit or punctuation; the whole message at most 256 KiB; JSON bodies valid; the e-mail
/// text free of control characters but its newlines.
pub fn check_alert(a: &Alert, format: AlertFormat) {
    let s = &a.subject;
    assert!(
        !s.is_empty() && s.len() <= MAX_SUBJECT && s.len() < 100,
        "subject length {}: {s:?}",
        s.len()
    );
    assert!(
        s.bytes().all(|b| b.is_ascii_graphic() || b == b' '),
        "subject not printable ASCII: {s:?}"
    );
    assert!(
        s.as_bytes()[0].is_ascii_graphic(),
        "subject starts with a space: {s:?}"
    );
    // What SNS counts: the message, the subject and the attributes' names, types and values.
    let message = a.sns_message();
    let size = message.len()
        + s.len()
        + a.attributes
            .iter()
            .map(|(n, t, v)| n.len() + t.len() + v.len())
            .sum::<usize>();
    assert!(size <= MAX_MESSAGE_BYTES, "message of {size} bytes");
    assert!(
        !a.text.chars().any(|c| c.is_control() && c != '\n'),
        "control character in the text: {:?}",
        a.text
    );
    for line in a.text.lines() {
        check_printable(line, "alert text");
    }
    serde_json::from_str::<Value>(&a.document).expect("document is JSON");
    let msg: Value = serde_json::from_str(&message).expect("SNS message is JSON");
    assert_eq!(msg["email"], Value::String(a.text.clone()));
    match format {
        AlertFormat::Chatbot => {
            let chat = a.chat.as_deref().expect("chatbot format has a chat body");
            let chat: Value = serde_json::from_str(chat).expect("chat body is JSON");
            assert_eq!(chat["version"], "1.0");
        }
        AlertFormat::Standard => assert_eq!(a.chat, None),
    }
}

/// Message attributes of an alert from a real report: non-empty, printable values.
pub(crate) fn check_attributes(a: &Alert) {
    for (name, kind, value) in &a.attributes {
        assert!(!value.is_empty(), "empty attribute {name}");
        assert!(
            matches!(*kind, "String" | "Number" | "String.Array"),
            "type {kind}"
        );
        check_printable(value, name);
    }
}
