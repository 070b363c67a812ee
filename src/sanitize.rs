//! Making attacker-controlled strings safe for terminals, e-mail and JSON.
//!
//! Anyone who can call an AWS API chooses the `userAgent`, session names and most request
//! parameters of the records we report. Before such a string reaches an alert or a terminal,
//! control characters (C0, DEL, C1), line and paragraph separators and bidirectional overrides are
//! shown as visible `\u{..}` escapes, and the string is cut to a bounded length.

/// Default bound for identifiers (ARNs, names, ids).
pub const MAX_FIELD: usize = 256;
/// Bound for free text such as `userAgent` and error messages.
pub const MAX_TEXT: usize = 200;

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width and LRM/RLM
            | '\u{2028}' | '\u{2029}' // line / paragraph separators
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}')
}

/// Only bytes 0x20..=0x7E. Checked 16 bytes at a time without early exit, which the compiler
/// turns into vector instructions.
fn printable_ascii(s: &str) -> bool {
    let b = s.as_bytes();
    let mut chunks = b.chunks_exact(16);
    let ok = |acc: bool, &c: &u8| acc & (c >= 0x20) & (c < 0x7f);
    for c in &mut chunks {
        if !c.iter().fold(true, ok) {
            return false;
        }
    }
    chunks.remainder().iter().fold(true, ok)
}

/// Returns `s` with unsafe characters escaped and at most `max` characters (an ellipsis marks a
/// cut). The result never contains a control character.
pub fn clean(s: &str, max: usize) -> String {
    // Fast path, the common case: printable ASCII needs no escape and one char is one byte.
    if printable_ascii(s) {
        if s.len() <= max {
            return s.to_owned();
        }
        let mut out = String::with_capacity(max + 3);
        out.push_str(&s[..max]);
        out.push('…');
        return out;
    }
    let mut out = String::with_capacity(s.len().min(max.saturating_add(8)));
    for (count, c) in s.chars().enumerate() {
        if count >= max {
            out.push('…');
            return out;
        }
        if is_unsafe(c) {
            use std::fmt::Write;
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// `true` when `clean` would return `s` unchanged (the common case: no copy is needed).
pub fn is_clean(s: &str, max: usize) -> bool {
    s.len() <= max
        && (printable_ascii(s) || !s.chars().any(is_unsafe))
}

/// [`clean`] for an optional field, with the default identifier bound.
pub fn field(s: Option<&str>) -> Option<String> {
    s.map(|s| clean(s, MAX_FIELD))
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! cleans {
        ($name:ident, $input:expr, $max:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(clean($input, $max), $want);
            }
        };
    }

    cleans!(plain_kept, "aws-cli/2.15.0", 100, "aws-cli/2.15.0");
    cleans!(
        newline_escaped,
        "a\nSeverity: info",
        100,
        "a\\u{a}Severity: info"
    );
    cleans!(ansi_escaped, "\u{1b}[31mred", 100, "\\u{1b}[31mred");
    cleans!(nul_escaped, "a\0b", 100, "a\\u{0}b");
    cleans!(bidi_escaped, "x\u{202e}y", 100, "x\\u{202e}y");
    cleans!(c1_escaped, "x\u{85}y", 100, "x\\u{85}y");
    cleans!(cut_at_bound, "abcdef", 3, "abc…");
    cleans!(multibyte_cut_safe, "ééééé", 2, "éé…");
    cleans!(exact_bound_not_cut, "abc", 3, "abc");

    #[test]
    fn is_clean_agrees_with_clean() {
        for s in ["plain", "a\nb", "\u{202e}", "x".repeat(300).as_str()] {
            assert_eq!(is_clean(s, MAX_FIELD), clean(s, MAX_FIELD) == s, "{s:?}");
        }
    }
}
