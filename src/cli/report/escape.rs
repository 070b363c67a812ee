//! Escaping for the HTML report: text placed in markup ([`html`]) and JSON placed in a
//! `<script type="application/json">` block ([`script_json`]). The page's script only ever puts
//! record strings into the page as text (`textContent`, SVG `<title>` text), never as markup.

/// Escapes text for an HTML element or a quoted attribute value: `&`, `<`, `>`, `"`, `'`.
/// <https://html.spec.whatwg.org/multipage/parsing.html#escapingString>
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes a JSON text safe inside `<script type="application/json">`: `<`, `>` and `&` become
/// `\u003c`, `\u003e`, `\u0026` (so neither `</script>` nor `<!--` can end or change the block),
/// and U+2028 / U+2029 become `\u2028` / `\u2029`. Those characters only occur inside JSON
/// strings, where the escapes mean the same characters, so `JSON.parse` reads the same value.
/// <https://html.spec.whatwg.org/multipage/scripting.html#restrictions-for-contents-of-script-elements>
pub fn script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}
