//! The escaping of the report against hostile strings: the sample of `events/shapes/` (terminal
//! escapes, bidi overrides, NUL, line breaks) and markup an attacker could put in a userAgent.

use super::escape::{html, script_json};

/// Markup an attacker can put in a userAgent or a request parameter.
const HOSTILE: &[&str] = &[
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "'; alert(1); '",
    "<!-- <script>",
    "a\u{2028}b\u{2029}c",
    "&lt;already&gt; &amp;",
];

#[test]
fn html_escape_leaves_no_markup() {
    for s in HOSTILE {
        let e = html(s);
        for bad in ['<', '>', '"', '\''] {
            assert!(!e.contains(bad), "{s:?} -> {e:?}");
        }
        // Every & starts an entity this function wrote.
        let amps = e.matches('&').count();
        let entities = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
            .iter()
            .map(|x| e.matches(x).count())
            .sum::<usize>();
        assert_eq!(amps, entities, "{e}");
    }
    assert_eq!(html("<b a=\"1\">&'"), "&lt;b a=&quot;1&quot;&gt;&amp;&#39;");
}

#[test]
fn script_json_cannot_end_the_block_and_parses_back() {
    for s in HOSTILE {
        let json = serde_json::to_string(&serde_json::json!({ "userAgent": s })).unwrap();
        let safe = script_json(&json);
        for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            assert!(!safe.contains(bad), "{s:?} -> {safe}");
        }
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["userAgent"], *s);
    }
}

#[test]
fn the_hostile_sample_renders_as_text() {
    // The hostile sample of events/, through the pipeline, into the page.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/shapes/hostile-useragent.json"
    ))
    .unwrap();
    let mut hostile: serde_json::Value = serde_json::from_str(&text).unwrap();
    // And markup in the user agent.
    hostile["detail"]["userAgent"] = format!("{}{}", HOSTILE[0], HOSTILE[1]).into();
    let mut out = Vec::new();
    let mut collector = super::Collector::default();
    let mut stats = crate::replay::Stats::default();
    struct Sink<'a>(&'a mut super::Collector, &'a mut Vec<String>);
    impl crate::replay::Output for Sink<'_> {
        fn record(&mut self, r: &crate::core::model::RecordReport) -> std::io::Result<()> {
            self.0.add(r);
            self.1.push(r.event_id.as_deref().unwrap_or("").to_owned());
            Ok(())
        }
        fn error(&mut self, e: &crate::replay::InputError) -> std::io::Result<()> {
            panic!("{e}")
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.json");
    std::fs::write(&path, hostile.to_string()).unwrap();
    let s = crate::replay::replay(
        &[path],
        &crate::replay::Options::default(),
        &mut Sink(&mut collector, &mut out),
    )
    .unwrap();
    stats.merge(&s);
    assert_eq!(out, ["b7d2c0de-0001-4000-8000-000000000035"]);
    let page = super::page::report(&collector.data(&stats)).unwrap();
    // Exactly our two script elements, and no markup of the attacker's.
    assert_eq!(page.matches("<script").count(), 2, "{page}");
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(!page.contains("<img"));
    assert!(page.contains("\\u003cimg src=x onerror=alert(1)\\u003e"));
    // The strings are there, escaped.
    assert!(page.contains("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"));
    // The sample's control characters stay escaped (by the core) in the data.
    assert!(!page.contains('\u{1b}'));
    assert!(!page.contains('\u{202e}'));
    assert!(!page.contains('\0'));
}

#[test]
fn the_script_never_writes_markup() {
    // Strings reach the page as text only (docs/report.md#escaping).
    let js = include_str!("report.js");
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
    ] {
        assert!(!js.contains(sink), "report.js uses {sink}");
    }
}
