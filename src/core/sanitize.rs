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

/// Only bytes 0x20..=0x7E. Checked 8 bytes at a time (SWAR): a byte below 0x20 borrows in
/// `w - 0x20…`, a byte of 0x7F or more has its top bit set in `w | (w + 0x01…)`. A carry or
/// borrow out of one byte only happens when that byte already fails, so neither test can hide a
/// failing byte or invent one in a string of printable bytes.
fn printable_ascii(s: &str) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let fails = |w: u64| ((w.wrapping_sub(0x20 * LO) & !w) | w | w.wrapping_add(LO)) & HI != 0;
    let b = s.as_bytes();
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        if fails(w) {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&c| (0x20..0x7f).contains(&c))
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

/// [`clean`] into a [`crate::core::model::Str`]: no heap allocation for a clean string of up to 24 bytes.
pub fn clean_str(s: &str, max: usize) -> crate::core::model::Str {
    if s.len() <= max && printable_ascii(s) {
        return crate::core::model::Str::new(s);
    }
    crate::core::model::Str::from(clean(s, max))
}

/// [`clean_str`] for an optional field, with the default identifier bound.
pub fn text(s: Option<&str>) -> Option<crate::core::model::Str> {
    s.map(|s| clean_str(s, MAX_FIELD))
}

/// `true` when `clean` would return `s` unchanged (the common case: no copy is needed).
pub fn is_clean(s: &str, max: usize) -> bool {
    s.len() <= max && (printable_ascii(s) || !s.chars().any(is_unsafe))
}

/// [`clean`] for an optional field, with the default identifier bound.
pub fn field(s: Option<&str>) -> Option<String> {
    s.map(|s| clean(s, MAX_FIELD))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_agrees_with_a_byte_loop() {
        let slow = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
        // Every byte value at every position of a 17-byte string, around printable neighbours.
        for pos in 0..17 {
            for v in 0u8..=0x7f {
                let mut bytes = vec![b'a'; 17];
                bytes[pos] = v;
                let s = std::str::from_utf8(&bytes).unwrap();
                assert_eq!(printable_ascii(s), slow(s), "{v:#x} at {pos}");
            }
            for c in ['é', '\u{202e}', '\u{7f}', '\u{80}', '\u{ff}'] {
                let s: String = (0..17).map(|i| if i == pos { c } else { '~' }).collect();
                assert_eq!(printable_ascii(&s), slow(&s), "{c:?} at {pos}");
            }
        }
        for s in [" ", "~", "", " ~ ~ ~ ~ ~ ~ ~ ~", "\x1f~~~~~~~"] {
            assert_eq!(printable_ascii(s), slow(s), "{s:?}");
        }
    }

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
