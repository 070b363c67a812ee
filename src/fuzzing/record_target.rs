//! The `record` part of the fuzz bodies (see the module above).

use super::*;

/// The sessions the samples in `events/sessions/` issue, learned once.
pub(crate) fn sample_sessions() -> &'static [Session] {
    static SESSIONS: OnceLock<Vec<Session>> = OnceLock::new();
    SESSIONS.get_or_init(|| {
        const FILES: &[&str] = &[
            include_str!("../../events/sessions/user-role-chain/111122223333_CloudTrail_us-east-1_20261120T0900Z_c.json"),
            include_str!("../../events/sessions/user-role-chain/444455556666_CloudTrail_us-east-1_20261120T0905Z_b.json"),
            include_str!("../../events/sessions/user-role-chain/555566667777_CloudTrail_us-east-1_20261120T0910Z_a.json"),
            include_str!("../../events/sessions/sso-assumeroot/111122223333_CloudTrail_us-east-1_20261121T1400Z_b.json"),
            include_str!("../../events/sessions/federation-token/111122223333_CloudTrail_us-east-1_20261122T0800Z_a.json"),
            include_str!("../../events/sessions/expired-key-reused/111122223333_CloudTrail_us-east-1_20261122T1200Z_a.json"),
        ];
        let mut tracker = SessionTracker::default();
        for file in FILES {
            let _ = input::decode_stream(file.as_bytes(), &mut |item: Item<'_>| {
                if let Item::Record { index, json, .. } = item {
                    crate::replay::learn_record(json, "sample", index, &mut tracker);
                }
                Ok(())
            });
        }
        let mut all: Vec<Session> = tracker.into_sessions().collect();
        all.sort_by(|a, b| (&a.key, a.issued_at).cmp(&(&b.key, b.issued_at)));
        all
    })
}

/// A tracker that knows the sample sessions, so that fuzzed records using their keys are
/// attributed.
pub(crate) fn sample_tracker() -> SessionTracker {
    let mut t = SessionTracker::default();
    for s in sample_sessions() {
        t.learn(s.clone());
    }
    t
}

/// The report of one record, attributed from `tracker` as replay does.
pub(crate) fn report_with(
    rec: &Record,
    tracker: &SessionTracker,
    config: &RuleConfig,
) -> RecordReport {
    Pipeline::new(config.clone(), Severity::Info).report(rec, input_ref(), tracker)
}

/// Arbitrary bytes as one record: classify, rules, analysis with session tracking, renderings,
/// alerts.
pub fn record(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rec) = Record::from_json(text) else {
        return;
    };
    let config = rule_config();
    let principal = classify(&rec);
    check_strings(&serde_json::to_value(&principal).expect("principal serialises"));
    let ctx = Context {
        origin: None,
        config: &config,
    };
    let findings = evaluate(&rec, &principal, &ctx);
    assert_eq!(findings, evaluate(&rec, &principal, &ctx), "rules are pure");

    let mut tracker = sample_tracker();
    let report = report_with(&rec, &tracker, &config);
    check_report(&report);
    if report.origin.is_none() && report.principal.class == principal.class {
        // Analysis is classification and the rules, nothing more.
        assert_eq!(report.findings, findings, "analysis and the rules disagree");
    }
    // The tracker learns what the record issued; a use of the issued key is attributed to it.
    let (_, issued) = tracker.observe(&report);
    if let Some(s) = issued {
        assert!(
            s.expires_at > s.issued_at,
            "session ends before it starts: {s:?}"
        );
        let origin = tracker
            .origin(&s.key, s.issued_at + 1, None)
            .unwrap_or_else(|| panic!("a use of the key just issued has no origin: {s:?}"));
        let last = origin.last().expect("an origin has a chain");
        assert_eq!(last.access_key_id, s.key);
        check_strings(&serde_json::to_value(&origin).expect("origin serialises"));
    }
    for format in [AlertFormat::Standard, AlertFormat::Chatbot] {
        if let Some(a) = alert::build(&report, Severity::Info, format) {
            check_alert(&a, format);
        }
    }
}
