//! Reading a suppression file: TOML text into checked entries, every error naming the file, the
//! line (from toml's spans) and the key.

use super::{
    Day, SuppressError, Suppression, Suppressions, MAX_BYTES, MAX_ENTRIES, MAX_PATTERN, MAX_REASON,
};
use crate::core::model::{Rule, Task};
use crate::core::sanitize::is_clean;
use ::core::net::IpAddr;
use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

/// The file as TOML: an array of `[[suppress]]` tables, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    suppress: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    rule: Option<Spanned<String>>,
    task: Option<Spanned<String>>,
    account: Option<Spanned<String>>,
    principal: Option<Spanned<String>>,
    source_ip: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    expires: Option<Spanned<toml::value::Datetime>>,
}

/// The largest char boundary of `text` at or before `i`.
fn floor(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Reads one file: what [`Suppressions::parse`] does, in the order of the text.
struct Reader<'t> {
    file: &'t str,
    text: &'t str,
}

impl Reader<'_> {
    /// 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    fn error(&self, offset: usize, key: Option<&str>, message: impl Into<String>) -> SuppressError {
        SuppressError {
            file: crate::core::sanitize::clean(self.file, 300),
            line: self.line(offset),
            key: key.map(|k| crate::core::sanitize::clean(k, 60)),
            message: message.into(),
        }
    }

    /// The key written at the start of the line holding `offset`, if that line is `key = ...`.
    fn key_at(&self, offset: usize) -> Option<String> {
        let start = self.text[..floor(self.text, offset)]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line = self.text[start..].lines().next().unwrap_or("");
        let (key, _) = line.split_once('=')?;
        let key = key.trim().trim_matches('"');
        (!key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')))
        .then(|| key.to_owned())
    }

    /// The line of an entry's `[[suppress]]` header: the last header at or before its span.
    fn header_line(&self, span_start: usize) -> usize {
        // The span may begin at the header's `[[` itself, or after it.
        let upto = &self.text[..floor(self.text, span_start + 2)];
        match upto.rfind("[[") {
            Some(i) => self.line(i),
            None => self.line(span_start),
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> SuppressError {
        let offset = e.span().map_or(0, |s| s.start);
        let message = e.message().trim().replace('\n', " ");
        // `unknown field `x`, expected one of ...`: the key is named in the message.
        let named = message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split_once('`'))
            .map(|(k, _)| k.to_owned());
        let key = named.or_else(|| self.key_at(offset));
        let hint = if message.starts_with("unknown field") && !message.contains("expected one of") {
            "; the file holds [[suppress]] tables only"
        } else if key.as_deref() == Some("expires") && message.contains("invalid type") {
            "; write a bare date without quotes, expires = 2027-01-31"
        } else {
            ""
        };
        self.error(
            offset,
            key.as_deref(),
            format!("{}{hint}", crate::core::sanitize::clean(&message, 400)),
        )
    }

    fn entry(&self, raw: &Spanned<RawEntry>, today: Day) -> Result<Suppression, SuppressError> {
        let header = self.header_line(raw.span().start);
        let e = raw.get_ref();
        let at = |s: &Spanned<String>| s.span().start;
        let missing = |key: &str, what: &str| SuppressError {
            file: crate::core::sanitize::clean(self.file, 300),
            line: header,
            key: Some(key.to_owned()),
            message: format!("missing: every [[suppress]] entry needs {what}"),
        };
        let rule = match &e.rule {
            None => None,
            Some(s) => {
                let rule: Rule = s.get_ref().parse().map_err(|_| {
                    let names: Vec<&str> = Rule::ALL
                        .iter()
                        .filter(|r| **r != Rule::DetectorTamper)
                        .map(|r| r.as_str())
                        .collect();
                    self.error(
                        at(s),
                        Some("rule"),
                        format!(
                            "unknown rule {:?}; the rules that may be suppressed are: {}",
                            crate::core::sanitize::clean(s.get_ref(), 60),
                            names.join(", ")
                        ),
                    )
                })?;
                if rule == Rule::DetectorTamper {
                    return Err(self.error(
                        at(s),
                        Some("rule"),
                        "detector-tamper is never suppressed: someone blinding the detector must always be told; remove this entry",
                    ));
                }
                Some(rule)
            }
        };
        let task = match &e.task {
            None => None,
            Some(s) => Some(s.get_ref().parse::<Task>().map_err(|_| {
                let names: Vec<&str> = Task::ALL.iter().map(|t| t.as_str()).collect();
                self.error(
                    at(s),
                    Some("task"),
                    format!(
                        "unknown root-only task {:?}; the tasks are: {}",
                        crate::core::sanitize::clean(s.get_ref(), 60),
                        names.join(", ")
                    ),
                )
            })?),
        };
        let account = match &e.account {
            None => None,
            Some(s) => Some(self.account(s)?),
        };
        let principal = match &e.principal {
            None => None,
            Some(s) => Some(self.principal(s)?),
        };
        let source_ip = match &e.source_ip {
            None => None,
            Some(s) => Some(self.cidr(s)?),
        };
        let reason = match &e.reason {
            None => return Err(missing("reason", "a reason (why, and a ticket)")),
            Some(s) => {
                let r = s.get_ref().trim();
                if r.is_empty() {
                    return Err(self.error(
                        at(s),
                        Some("reason"),
                        "is empty: say why, and name a ticket",
                    ));
                }
                if !is_clean(r, usize::MAX) || r.chars().any(char::is_control) {
                    return Err(self.error(
                        at(s),
                        Some("reason"),
                        "contains control characters (an escape sequence, a line break, a bidi override): write plain text",
                    ));
                }
                if r.chars().count() > MAX_REASON {
                    return Err(self.error(
                        at(s),
                        Some("reason"),
                        format!("is longer than {MAX_REASON} characters"),
                    ));
                }
                r.to_owned()
            }
        };
        let expires = match &e.expires {
            None => return Err(missing("expires", "an expiry date (expires = 2027-01-31)")),
            Some(s) => {
                let start = s.span().start;
                let dt = s.get_ref();
                let day = match (dt.date, dt.time, dt.offset) {
                    (Some(d), None, None) => {
                        Day::from_ymd(i64::from(d.year), i64::from(d.month), i64::from(d.day))
                    }
                    _ => None,
                };
                let Some(day) = day else {
                    return Err(self.error(
                        start,
                        Some("expires"),
                        format!("{dt} is not a date: write a bare date, expires = 2027-01-31"),
                    ));
                };
                let limit = today.one_year_later();
                if day > limit {
                    return Err(self.error(
                        start,
                        Some("expires"),
                        format!(
                            "{day} is more than one year ahead (today is {today}; the latest allowed is {limit}): review suppressions at least yearly"
                        ),
                    ));
                }
                day
            }
        };
        if rule.is_none()
            && task.is_none()
            && account.is_none()
            && principal.is_none()
            && source_ip.is_none()
        {
            return Err(SuppressError {
                file: crate::core::sanitize::clean(self.file, 300),
                line: header,
                key: None,
                message: "the entry has no rule, task, account, principal or source_ip: it would suppress every finding; name what it covers".into(),
            });
        }
        Ok(Suppression {
            rule,
            task,
            account,
            principal,
            source_ip,
            reason,
            expires,
            line: header,
        })
    }

    fn account(&self, s: &Spanned<String>) -> Result<String, SuppressError> {
        let v = s.get_ref().trim();
        let digits = v.bytes().filter(u8::is_ascii_digit).count();
        let ok = !v.is_empty()
            && v.bytes().all(|b| b.is_ascii_digit() || b == b'*')
            && digits <= 12
            && (v.contains('*') || digits == 12);
        if !ok {
            return Err(self.error(
                s.span().start,
                Some("account"),
                format!(
                    "{:?} is not a 12-digit account id (or a pattern of digits and `*`)",
                    crate::core::sanitize::clean(v, 60)
                ),
            ));
        }
        if digits == 0 {
            return Err(self.error(
                s.span().start,
                Some("account"),
                "matches every account: leave the key out instead",
            ));
        }
        Ok(v.to_owned())
    }

    fn principal(&self, s: &Spanned<String>) -> Result<String, SuppressError> {
        let v = s.get_ref().trim();
        let at = s.span().start;
        if !is_clean(v, MAX_PATTERN) || v.chars().any(char::is_control) {
            return Err(self.error(
                at,
                Some("principal"),
                format!("contains control characters or is longer than {MAX_PATTERN} characters"),
            ));
        }
        let Some(rest) = v.strip_prefix("arn:") else {
            return Err(self.error(
                at,
                Some("principal"),
                format!(
                    "{:?} is not an ARN pattern (e.g. arn:aws:sts::111122223333:assumed-role/RootAccessAdmin/*)",
                    crate::core::sanitize::clean(v, 100)
                ),
            ));
        };
        if rest.bytes().all(|b| matches!(b, b'*' | b':' | b'/')) {
            return Err(self.error(
                at,
                Some("principal"),
                "matches every principal: leave the key out instead",
            ));
        }
        Ok(v.to_owned())
    }

    fn cidr(&self, s: &Spanned<String>) -> Result<IpNet, SuppressError> {
        let v = s.get_ref().trim();
        let at = s.span().start;
        let net = v
            .parse::<IpNet>()
            .ok()
            .or_else(|| v.parse::<IpAddr>().ok().map(IpNet::from))
            .ok_or_else(|| {
                self.error(
                    at,
                    Some("source_ip"),
                    format!(
                        "{:?} is not a CIDR block or an address (e.g. 198.51.100.0/24, 2001:db8::/32)",
                        crate::core::sanitize::clean(v, 60)
                    ),
                )
            })?;
        if net.prefix_len() == 0 {
            return Err(self.error(
                at,
                Some("source_ip"),
                "matches every address: leave the key out instead",
            ));
        }
        Ok(net.trunc())
    }
}

impl Suppressions {
    /// Reads a suppression file. `now` (epoch seconds) is the wall clock: `expires` may be at
    /// most one year after its day. Entries already expired are kept (see
    /// [`Suppressions::expired`]); they cover nothing.
    pub fn parse(bytes: &[u8], file: &str, now: i64) -> Result<Suppressions, SuppressError> {
        let today = Day::of(now);
        if bytes.len() > MAX_BYTES {
            return Err(SuppressError {
                file: crate::core::sanitize::clean(file, 300),
                line: 1 + bytes[..MAX_BYTES].iter().filter(|&&b| b == b'\n').count(),
                key: None,
                message: format!(
                    "the file is larger than {} KiB (this line reaches the limit): a suppression file lists a few entries",
                    MAX_BYTES / 1024
                ),
            });
        }
        let lossy;
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                lossy = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
                let r = Reader { file, text: &lossy };
                return Err(r.error(
                    e.valid_up_to(),
                    None,
                    "not UTF-8 text (a binary file?): a suppression file is TOML",
                ));
            }
        };
        let r = Reader { file, text };
        if let Some(nul) = text.find('\0') {
            return Err(r.error(nul, None, "contains a NUL byte (a binary file?)"));
        }
        let raw: RawFile = toml::from_str(text).map_err(|e| r.toml_error(&e))?;
        if raw.suppress.len() > MAX_ENTRIES {
            let at = raw.suppress[MAX_ENTRIES].span().start;
            return Err(SuppressError {
                line: r.header_line(at),
                ..r.error(
                    at,
                    None,
                    format!("more than {MAX_ENTRIES} entries: merge them with `*` patterns"),
                )
            });
        }
        let entries = raw
            .suppress
            .iter()
            .map(|e| r.entry(e, today))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Suppressions {
            file: crate::core::sanitize::clean(file, 300),
            entries,
        })
    }
}
