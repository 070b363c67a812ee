//! The `seeds` part of the fuzz bodies (see the module above).

use super::*;

/// Every sample input under `events/` (not the `.expected`/`.sessions` golden outputs), in
/// path order.
pub(crate) fn sample_files(events: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(events).sort_by_file_name() {
        let entry = entry.map_err(io::Error::other)?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && crate::input::walk::is_readable_name(&name) {
            out.push(entry.into_path());
        }
    }
    Ok(out)
}

pub(crate) fn read_plain(path: &Path) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    input::maybe_gunzip(std::fs::File::open(path)?)?.read_to_end(&mut out)?;
    Ok(out)
}

/// The records of one input, as JSON text.
pub(crate) fn records_of(bytes: &[u8], lines: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut sink = |item: Item<'_>| {
        if let Item::Record { json, .. } = item {
            out.push(json.to_owned());
        }
        Ok(())
    };
    let _ = if lines {
        input::decode_lines(bytes, &mut sink)
    } else {
        input::decode_stream(bytes, &mut sink)
    };
    out
}

/// Hand-written edge cases: empty inputs, wrong types, an event without a record.
pub(crate) const EDGE_SEEDS: &[(&str, &str)] = &[
    ("edge-empty", ""),
    ("edge-blank", " \n\t\n"),
    ("edge-empty-array", "[]"),
    ("edge-empty-object", "{}"),
    ("edge-records-not-array", r#"{"Records": 5}"#),
    (
        "edge-records-null",
        r#"{"Records": [null, 1, "x", [], {}]}"#,
    ),
    (
        "edge-not-cloudtrail",
        r#"{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}"#,
    ),
    (
        "edge-detail-not-object",
        r#"{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":[1,2]}"#,
    ),
    ("edge-sqs-empty", r#"{"Records":[]}"#),
    (
        "edge-sqs-odd-body",
        r#"{"Records":[{"messageId":"1","eventSource":"aws:sqs","body":"{\"Records\":[{\"eventName\":\"ConsoleLogin\"}]}"},{"messageId":"2","eventSource":"aws:sqs","body":"not json"}]}"#,
    ),
    (
        "edge-sqs-mixed",
        r#"{"Records":[{"eventSource":"aws:sqs","body":"{}"},{"eventSource":"aws:s3"}]}"#,
    ),
    (
        "edge-lines-bad",
        "{\"eventName\":\"A\"}\nnot json\n\n5\n{\"eventName\":\"B\"}",
    ),
    (
        "edge-several-values",
        "{\"eventName\":\"A\"} [{\"eventName\":\"B\"}] {\"Records\":[]}",
    ),
    (
        "edge-truncated",
        r#"{"Records":[{"eventName":"ConsoleLogin","userIdentity":{"type":"Root""#,
    ),
    ("edge-gzip-magic-only", "\u{1f}\u{8b}"),
];

/// A target's seed corpus, built from the samples in `events/`: (name, input). For `decode`
/// and `lambda`: every sample file as it is, gzip and plain, as JSON Lines, as an array, as a
/// log file, each record in an EventBridge envelope, and the envelopes as an SQS batch. For
/// `record`: each record alone. For `alert`: each record's attacker-chosen fields in each
/// template and format, and raw reports.
pub fn seeds(target: &str, events: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut all_records: Vec<String> = Vec::new();
    for path in sample_files(events)? {
        let rel = path.strip_prefix(events).unwrap_or(&path);
        let name = rel.to_string_lossy().replace(['/', '\\'], "_");
        let raw = std::fs::read(&path)?;
        let plain = read_plain(&path)?;
        let base = name.strip_suffix(".gz").unwrap_or(&name);
        let lines = base.ends_with(".jsonl") || base.ends_with(".ndjson");
        let records = records_of(&plain, lines);
        let values: Vec<Value> = records
            .iter()
            .filter_map(|r| serde_json::from_str(r).ok())
            .collect();
        if matches!(target, "decode" | "lambda") {
            out.push((name.clone(), raw.clone()));
            if raw != plain {
                out.push((format!("{name}.plain"), plain.clone()));
            } else if target == "decode" {
                out.push((format!("{name}.gz"), gzip(&plain)));
            }
            let jsonl: String = values.iter().map(|v| format!("{v}\n")).collect();
            out.push((format!("{name}.as.jsonl"), jsonl.into_bytes()));
            out.push((
                format!("{name}.as.array"),
                Value::from(values.clone()).to_string().into_bytes(),
            ));
            out.push((
                format!("{name}.as.logfile"),
                json!({ "Records": values }).to_string().into_bytes(),
            ));
            let envelopes: Vec<String> = values
                .iter()
                .map(|v| eventbridge(v.clone()).to_string())
                .collect();
            for (i, e) in envelopes.iter().enumerate() {
                out.push((format!("{name}.{i}.eventbridge"), e.clone().into_bytes()));
            }
            let batch: Vec<Value> = envelopes
                .iter()
                .enumerate()
                .map(|(i, e)| sqs_message(&format!("{name}-{i}"), e))
                .collect();
            out.push((
                format!("{name}.as.sqs"),
                json!({ "Records": batch }).to_string().into_bytes(),
            ));
        }
        all_records.extend(records);
    }
    all_records.sort();
    all_records.dedup();
    match target {
        "decode" | "lambda" => {
            for (name, text) in EDGE_SEEDS {
                out.push(((*name).to_owned(), text.as_bytes().to_vec()));
            }
        }
        "record" => {
            for (i, r) in all_records.iter().enumerate() {
                out.push((format!("record-{i:03}"), r.clone().into_bytes()));
            }
        }
        "alert" => alert_seeds(&all_records, &mut out),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown fuzz target {other:?}"),
            ))
        }
    }
    Ok(out)
}

pub(crate) fn alert_seeds(records: &[String], out: &mut Vec<(String, Vec<u8>)>) {
    // Each template as it is, in both formats.
    for t in 0..TEMPLATES.len() as u8 {
        for format in 0..2 {
            out.push((
                format!("alert-template-{t}-{format}"),
                vec![t << 5 | format],
            ));
        }
    }
    // The samples' own attacker-chosen fields in the templates.
    for (i, r) in records.iter().enumerate() {
        let Ok(v) = serde_json::from_str::<Value>(r) else {
            continue;
        };
        let chunks: Vec<Vec<u8>> = FIELDS
            .iter()
            .map(|path| {
                let mut cur = &v;
                for key in *path {
                    cur = cur.get(key).unwrap_or(&Value::Null);
                }
                match cur {
                    Value::String(s) => s.clone().into_bytes(),
                    Value::Null => Vec::new(),
                    other => [&[ALERT_RAW_JSON][..], other.to_string().as_bytes()].concat(),
                }
            })
            .collect();
        // Keep the template's value where the sample has none: cut after the last field set.
        let used = chunks
            .iter()
            .rposition(|c| !c.is_empty())
            .map_or(0, |n| n + 1);
        let chunks: Vec<&[u8]> = chunks[..used].iter().map(Vec::as_slice).collect();
        let control = ((i % TEMPLATES.len()) as u8) << 5 | (i % 2) as u8;
        out.push((
            format!("alert-record-{i:03}"),
            alert_input(control, &chunks),
        ));
    }
    // Raw reports: hostile strings, many findings, an origin with hops.
    let hostile = "x\u{1b}[31m\nSeverity: info\r\n\u{202e}\u{0}\u{85}\u{2028}é";
    let fields: Vec<&[u8]> = vec![hostile.as_bytes(); 19];
    let mut raw = fields.clone();
    raw.push(&[0, 4, 3, 0xfe, 2, 3, 0, 1, 4, 4, 5, 0]);
    raw.push(hostile.as_bytes());
    raw.extend([hostile.as_bytes(); 4]);
    raw.extend([b"AssumeRole".as_slice(); 1]);
    raw.extend([hostile.as_bytes(); 9]);
    out.push(("alert-raw-hostile".into(), alert_input(0x10, &raw)));
    out.push(("alert-raw-hostile-chat".into(), alert_input(0x11, &raw)));
    let big = "Root ".repeat(800);
    let mut many = fields;
    many.push(&[0xfe; 128]);
    many.push(big.as_bytes());
    out.push(("alert-raw-oversized".into(), alert_input(0x11, &many)));
}

/// Writes every target's seeds under `dir/<target>/` (replacing what was there).
pub fn write_seeds(events: &Path, dir: &Path) -> io::Result<usize> {
    let mut n = 0;
    for target in TARGETS {
        let d = dir.join(target);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
        std::fs::create_dir_all(&d)?;
        for (name, bytes) in seeds(target, events)? {
            std::fs::write(d.join(name), bytes)?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert_for(json: &str) -> Alert {
        let rec = Record::from_json(json).unwrap();
        let report = crate::core::pipeline::analyze(&rec, input_ref(), None, &RuleConfig::NONE);
        alert::build(&report, Severity::Info, AlertFormat::Standard).unwrap()
    }

    const ROOT: &str = r#"{"userIdentity":{"type":"Root","accountId":"111122223333"},"eventName":"CreateUser","eventID":"e1"}"#;

    #[test]
    fn check_alert_accepts_a_real_alert() {
        check_alert(&alert_for(ROOT), AlertFormat::Standard);
    }

    #[test]
    #[should_panic(expected = "control character in the text")]
    fn check_alert_rejects_control_characters() {
        let mut a = alert_for(ROOT);
        a.text.push('\u{1b}');
        check_alert(&a, AlertFormat::Standard);
    }

    #[test]
    #[should_panic(expected = "subject not printable ASCII")]
    fn check_alert_rejects_non_ascii_subjects() {
        let mut a = alert_for(ROOT);
        a.subject.push('é');
        check_alert(&a, AlertFormat::Standard);
    }

    #[test]
    #[should_panic(expected = "message of")]
    fn check_alert_rejects_oversized_messages() {
        let mut a = alert_for(ROOT);
        a.text = "x".repeat(MAX_MESSAGE_BYTES);
        check_alert(&a, AlertFormat::Standard);
    }

    #[test]
    #[should_panic(expected = "chat body is JSON")]
    fn check_alert_rejects_invalid_chat_json() {
        let mut a = alert_for(ROOT);
        a.chat = Some("{".into());
        check_alert(&a, AlertFormat::Chatbot);
    }

    #[test]
    #[should_panic(expected = "unsafe character in report")]
    fn check_report_rejects_raw_strings() {
        let rec = Record::from_json(ROOT).unwrap();
        let mut report = crate::core::pipeline::analyze(&rec, input_ref(), None, &RuleConfig::NONE);
        report.user_agent = Some("a\u{202e}b".into());
        check_report(&report);
    }

    #[test]
    fn sample_sessions_are_learned() {
        assert!(sample_sessions().len() >= 6, "{}", sample_sessions().len());
    }
}
