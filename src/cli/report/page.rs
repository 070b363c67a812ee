//! The page: one HTML document with its style, script and data inline. The header is written
//! here (every value escaped); the timeline, the findings table and the session graph are drawn
//! by `report.js` from the data block, as text nodes only.

use super::escape::{html, script_json};
use super::Data;
use std::fmt::Write as _;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// The full report of a replay.
pub fn report(data: &Data) -> serde_json::Result<String> {
    let r = &data.read;
    let mut head = String::new();
    let span = match (&r.first, &r.last) {
        (Some(f), Some(l)) => format!("{} to {}", html(f), html(l)),
        _ => "-".into(),
    };
    let accounts: Vec<String> = r.accounts.iter().map(|a| html(a)).collect();
    let _ = write!(
        head,
        "<dl class=\"read\"><dt>files read</dt><dd id=\"files\">{}</dd><dt>records</dt><dd id=\"records\">{}</dd><dt>unreadable</dt><dd>{}</dd><dt>time span</dt><dd>{span}</dd><dt>accounts</dt><dd>{} ({})</dd></dl>",
        r.files,
        r.records,
        r.unreadable,
        accounts.len(),
        if accounts.is_empty() { "-".to_owned() } else { accounts.join(", ") },
    );
    let total: u64 = r.by_severity.iter().map(|(_, n)| n).sum();
    let _ = write!(
        head,
        "<div class=\"counts\"><p><b id=\"total\">{total}</b> findings{}</p><ul class=\"sev\">",
        match r.suppressed {
            0 => String::new(),
            n => format!(", <b id=\"suppressed\">{n}</b> suppressed (not listed)"),
        }
    );
    for (s, n) in &r.by_severity {
        let _ = write!(head, "<li class=\"s-{s}\">{s} <b>{n}</b></li>");
    }
    head.push_str("</ul><ul class=\"rules\">");
    for (rule, n) in &r.by_rule {
        let _ = write!(head, "<li>{rule} <b>{n}</b></li>");
    }
    head.push_str("</ul></div>");
    let body = format!(
        "<header><h1>rootwatch report</h1>{head}</header>\
<section><h2>Timeline</h2><p class=\"hint legend\">One lane per account; click a finding for its record.<span style=\"background:#b00020\"></span>critical<span style=\"background:#e8590c\"></span>high<span style=\"background:#e0a800\"></span>medium<span style=\"background:#1c7ed6\"></span>low<span style=\"background:#868e96\"></span>info</p><div id=\"timeline\"></div></section>\
<section id=\"detail\" hidden><h2>Finding</h2><p id=\"detail-title\"></p><pre id=\"detail-record\"></pre></section>\
<section><h2>Findings</h2><form id=\"filters\" onsubmit=\"return false\"></form><p id=\"shown\"></p><table id=\"findings\"><thead><tr><th>time</th><th>account</th><th>region</th><th>severity</th><th>rule</th><th>principal</th><th>what happened</th><th>source IP</th></tr></thead><tbody></tbody></table><nav id=\"pages\"></nav></section>\
<section><h2>Sessions</h2><p class=\"hint\">Each origin, the sessions it opened (role hops, AssumeRoot sessions) and the findings of the requests made in them.</p><div id=\"graph\"></div></section>"
    );
    document("rootwatch report", &body, data)
}

/// The session graph alone.
pub fn sessions(data: &Data) -> serde_json::Result<String> {
    let body = "<header><h1>rootwatch sessions</h1></header><section><h2>Sessions</h2><p class=\"hint\">Each origin and the sessions it opened (role hops, AssumeRoot sessions), with the requests made in each.</p><div id=\"graph\"></div></section>";
    document("rootwatch sessions", body, data)
}

fn document(title: &str, body: &str, data: &Data) -> serde_json::Result<String> {
    let json = script_json(&serde_json::to_string(data)?);
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{CSS}</style></head><body>{body}\
<script type=\"application/json\" id=\"data\">{json}</script><script>{JS}</script></body></html>\n",
        html(title)
    ))
}
