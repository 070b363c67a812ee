//! Unit tests of suppression files: parsing, validation (file, line, key), matching, expiry.
//! Every expectation is written by hand from the format the docs give.

use super::*;
use crate::core::model::{InputRef, Origin, PrincipalClass, Severity};
use crate::core::pipeline::{NoOrigins, Pipeline};

/// 2026-12-06T12:00:00Z.
const NOW: i64 = 1_796_558_400;

fn parse(text: &str) -> Result<Suppressions, SuppressError> {
    Suppressions::parse(text.as_bytes(), "s.toml", NOW)
}

fn err(text: &str) -> SuppressError {
    parse(text).expect_err("must be refused")
}

/// A root console sign-in without MFA on 111122223333 from 203.0.113.77.
const LOGIN: &str = r#"{"eventVersion":"1.09","eventTime":"2026-11-23T04:12:09Z",
  "eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1",
  "sourceIPAddress":"203.0.113.77","eventID":"e1",
  "userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},
  "responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}}"#;

/// Root closes the account (root-only task `close-account`) from 2001:db8::7.
const CLOSE: &str = r#"{"eventVersion":"1.09","eventTime":"2026-11-23T05:00:00Z",
  "eventSource":"billingconsole.amazonaws.com","eventName":"CloseAccount","awsRegion":"us-east-1",
  "sourceIPAddress":"2001:db8::7","eventID":"e2",
  "userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}}"#;

/// CloudTrail is stopped by a role session (detector-tamper) from 203.0.113.66.
const STOP: &str = r#"{"eventVersion":"1.09","eventTime":"2026-11-23T10:01:00Z",
  "eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1",
  "sourceIPAddress":"203.0.113.66","eventID":"e3",
  "requestParameters":{"name":"arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"},
  "userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}}"#;

fn report(json: &str) -> RecordReport {
    let input = InputRef {
        file: "t".into(),
        index: 0,
    };
    Pipeline::default()
        .run(json, false, input, &NoOrigins)
        .unwrap()
}

fn rules(r: &RecordReport) -> Vec<Rule> {
    r.findings.iter().map(|f| f.rule).collect()
}

/// The rules of the findings left unsuppressed after applying `file` at `NOW`.
fn left(file: &str, json: &str) -> Vec<Rule> {
    let mut r = report(json);
    parse(file).unwrap().apply(&mut r, NOW);
    r.findings
        .iter()
        .filter(|f| !f.is_suppressed())
        .map(|f| f.rule)
        .collect()
}

const ENDS: &str = "reason = \"drill SEC-1\"\nexpires = 2027-01-31\n";

fn entry(keys: &str) -> String {
    format!("[[suppress]]\n{keys}\n{ENDS}")
}

#[test]
fn the_samples_fire_what_the_tests_assume() {
    assert_eq!(rules(&report(LOGIN)), [Rule::RootConsoleLogin]);
    assert!(rules(&report(CLOSE)).contains(&Rule::RootOnlyTask));
    assert!(rules(&report(STOP)).contains(&Rule::DetectorTamper));
}

#[test]
fn the_issue_example_parses_into_typed_values() {
    let s = parse(
        r#"
# break-glass drill
[[suppress]]
rule = "root-session"
task = "s3-bucket-policy-unlock"
account = "444455556666"
principal = "arn:aws:sts::111122223333:assumed-role/RootAccessAdmin/*"
source_ip = "198.51.100.0/24"
reason = "quarterly break-glass drill, SEC-1234"
expires = 2027-01-31
"#,
    )
    .unwrap();
    assert_eq!(s.entries.len(), 1);
    let e = &s.entries[0];
    assert_eq!(e.rule, Some(Rule::RootSession));
    assert_eq!(e.task, Some(Task::S3BucketPolicyUnlock));
    assert_eq!(e.account.as_deref(), Some("444455556666"));
    assert_eq!(e.source_ip, Some("198.51.100.0/24".parse().unwrap()));
    assert_eq!(e.expires.to_string(), "2027-01-31");
    assert_eq!(e.line, 3, "the line of its [[suppress]] header");
    assert!(
        parse("").unwrap().is_empty(),
        "an empty file suppresses nothing"
    );
}

#[test]
fn each_key_must_match() {
    // rule
    assert_eq!(left(&entry("rule = \"root-console-login\""), LOGIN), []);
    assert_eq!(
        left(&entry("rule = \"root-credential-use\""), LOGIN),
        [Rule::RootConsoleLogin]
    );
    // task: only findings with that task
    assert!(!left(&entry("task = \"close-account\""), CLOSE).contains(&Rule::RootOnlyTask));
    assert!(left(&entry("task = \"root-access-key\""), CLOSE).contains(&Rule::RootOnlyTask));
    assert_eq!(
        left(&entry("task = \"close-account\""), LOGIN),
        [Rule::RootConsoleLogin],
        "a finding without a task does not match an entry with one"
    );
    // account, exact and glob
    assert_eq!(left(&entry("account = \"111122223333\""), LOGIN), []);
    assert_eq!(left(&entry("account = \"1111*\""), LOGIN), []);
    assert_eq!(
        left(&entry("account = \"444455556666\""), LOGIN),
        [Rule::RootConsoleLogin]
    );
    // principal, exact and glob
    assert_eq!(
        left(
            &entry("principal = \"arn:aws:iam::111122223333:root\""),
            LOGIN
        ),
        []
    );
    assert_eq!(
        left(&entry("principal = \"arn:aws:iam::*:root\""), LOGIN),
        []
    );
    assert_eq!(
        left(&entry("principal = \"arn:aws:iam::444455556666:*\""), LOGIN),
        [Rule::RootConsoleLogin]
    );
    // every key present must match: one mismatch keeps the finding
    assert_eq!(
        left(
            &entry("rule = \"root-console-login\"\naccount = \"444455556666\""),
            LOGIN
        ),
        [Rule::RootConsoleLogin]
    );
}

#[test]
fn source_ip_is_a_cidr_block_v4_or_v6_or_one_address() {
    assert_eq!(left(&entry("source_ip = \"203.0.113.0/24\""), LOGIN), []);
    assert_eq!(left(&entry("source_ip = \"203.0.113.77\""), LOGIN), []);
    assert_eq!(
        left(&entry("source_ip = \"203.0.114.0/24\""), LOGIN),
        [Rule::RootConsoleLogin]
    );
    assert_eq!(
        left(&entry("source_ip = \"2001:db8::/32\""), LOGIN),
        [Rule::RootConsoleLogin],
        "a v6 block does not hold a v4 address"
    );
    assert!(!left(&entry("source_ip = \"2001:db8::/32\""), CLOSE).contains(&Rule::RootOnlyTask));
    assert!(left(&entry("source_ip = \"2001:db9::/32\""), CLOSE).contains(&Rule::RootOnlyTask));
    // A record whose source is a service name, not an address, never matches.
    let svc = LOGIN.replace("203.0.113.77", "signin.amazonaws.com");
    assert_eq!(
        left(&entry("source_ip = \"203.0.113.0/24\""), &svc),
        [Rule::RootConsoleLogin]
    );
}

#[test]
fn principal_matches_the_origin_arn_too() {
    let mut r = report(LOGIN);
    r.origin = Some(Origin {
        arn: Some("arn:aws:sts::111122223333:assumed-role/RootAccessAdmin/alice".into()),
        name: None,
        kind: Some("AssumedRole".into()),
        class: PrincipalClass::RoleSession,
        account_id: Some("111122223333".into()),
        chain: Vec::new(),
    });
    let s = parse(&entry(
        "principal = \"arn:aws:sts::111122223333:assumed-role/RootAccessAdmin/*\"",
    ))
    .unwrap();
    assert_eq!(s.apply(&mut r, NOW), 1);
    let mark = r.findings[0].suppressed.as_ref().unwrap();
    assert_eq!(mark.reason, "drill SEC-1");
    assert_eq!(mark.expires, "2027-01-31");
    // Without the origin, the same entry does not match the root ARN.
    let mut plain = report(LOGIN);
    assert_eq!(s.apply(&mut plain, NOW), 0);
}

#[test]
fn account_matches_the_target_of_an_assumeroot_call() {
    let mut r = report(LOGIN);
    r.assumption = Some(crate::core::model::Assumption {
        api: "AssumeRoot".into(),
        target_account: Some("444455556666".into()),
        ..Default::default()
    });
    let s = parse(&entry("account = \"444455556666\"")).unwrap();
    assert_eq!(s.apply(&mut r, NOW), 1);
}

#[test]
fn expiry_holds_through_the_last_day_and_no_further() {
    let s = parse(&entry("rule = \"root-console-login\"")).unwrap();
    let last = crate::core::time::epoch(2027, 1, 31, 23, 59, 59).unwrap();
    let after = last + 1;
    let mut r = report(LOGIN);
    assert_eq!(s.apply(&mut r, last), 1);
    assert_eq!(s.expired(last).count(), 0);
    let mut r = report(LOGIN);
    assert_eq!(s.apply(&mut r, after), 0, "expired on 2027-02-01T00:00:00Z");
    assert_eq!(s.expired(after).count(), 1);
    // An entry already expired when read is accepted (and reported by `expired`).
    let old = parse(
        "[[suppress]]\nrule = \"root-console-login\"\nreason = \"old\"\nexpires = 2026-12-05\n",
    )
    .unwrap();
    assert_eq!(old.expired(NOW).count(), 1);
    let mut r = report(LOGIN);
    assert_eq!(old.apply(&mut r, NOW), 0);
}

#[test]
fn expires_at_most_one_year_ahead() {
    let at = |date: &str| {
        parse(&format!(
            "[[suppress]]\nrule = \"root-session\"\nreason = \"r\"\nexpires = {date}\n"
        ))
    };
    assert!(
        at("2027-12-06").is_ok(),
        "exactly one year after 2026-12-06"
    );
    let e = at("2027-12-07").unwrap_err();
    assert_eq!((e.line, e.key.as_deref()), (4, Some("expires")));
    assert!(e.message.contains("more than one year"), "{e}");
    // 29 February: one year later is the 28th.
    let leap = crate::core::time::epoch(2028, 2, 29, 8, 0, 0).unwrap();
    let f = |date: &str| {
        Suppressions::parse(
            format!("[[suppress]]\nrule = \"root-session\"\nreason = \"r\"\nexpires = {date}\n")
                .as_bytes(),
            "s.toml",
            leap,
        )
    };
    assert!(f("2029-02-28").is_ok());
    assert!(f("2029-03-01").is_err());
}

#[test]
fn detector_tamper_is_never_hidden() {
    // Not by an entry naming it...
    let e = err(&entry("rule = \"detector-tamper\""));
    assert_eq!((e.line, e.key.as_deref()), (2, Some("rule")));
    assert!(e.message.contains("never suppressed"), "{e}");
    // ... nor by an entry whose every key matches the record.
    let s = parse(&entry(
        "account = \"111122223333\"\nprincipal = \"arn:aws:iam::111122223333:root\"\nsource_ip = \"203.0.113.66\"",
    ))
    .unwrap();
    let mut r = report(STOP);
    s.apply(&mut r, NOW);
    for f in &r.findings {
        assert_eq!(
            f.is_suppressed(),
            f.rule != Rule::DetectorTamper,
            "{:?}",
            f.rule
        );
    }
    assert!(r.findings.iter().any(|f| f.rule == Rule::DetectorTamper));
}

#[test]
fn errors_name_the_file_the_line_and_the_key() {
    let cases: &[(&str, usize, Option<&str>, &str)] = &[
        // unknown key
        (
            "[[suppress]]\nrule = \"root-session\"\nacount = \"111122223333\"\nreason = \"r\"\nexpires = 2027-01-01\n",
            3,
            Some("acount"),
            "unknown field",
        ),
        // unknown top-level table
        (
            "[[supress]]\nrule = \"root-session\"\n",
            1,
            Some("supress"),
            "unknown field",
        ),
        // missing reason: the entry's header
        (
            "\n[[suppress]]\nrule = \"root-session\"\nexpires = 2027-01-01\n",
            2,
            Some("reason"),
            "missing",
        ),
        // missing expires
        (
            "[[suppress]]\nrule = \"root-session\"\nreason = \"r\"\n",
            1,
            Some("expires"),
            "missing",
        ),
        // unknown rule: the valid ones are listed
        (
            "[[suppress]]\nrule = \"root-login\"\nreason = \"r\"\nexpires = 2027-01-01\n",
            2,
            Some("rule"),
            "root-console-login",
        ),
        // unknown task
        (
            "[[suppress]]\ntask = \"close\"\nreason = \"r\"\nexpires = 2027-01-01\n",
            2,
            Some("task"),
            "close-account",
        ),
        // bad CIDR
        (
            "[[suppress]]\nsource_ip = \"198.51.100.0/33\"\nreason = \"r\"\nexpires = 2027-01-01\n",
            2,
            Some("source_ip"),
            "not a CIDR",
        ),
        // a block matching everything
        (
            "[[suppress]]\nsource_ip = \"0.0.0.0/0\"\nreason = \"r\"\nexpires = 2027-01-01\n",
            2,
            Some("source_ip"),
            "every address",
        ),
        // bad account
        (
            "[[suppress]]\naccount = \"12345\"\nreason = \"r\"\nexpires = 2027-01-01\n",
            2,
            Some("account"),
            "12-digit",
        ),
        (
            "[[suppress]]\naccount = \"*\"\nreason = \"r\"\nexpires = 2027-01-01\n",
            2,
            Some("account"),
            "every account",
        ),
        // principal not an ARN, or matching every ARN
        (
            "[[suppress]]\nprincipal = \"RootAccessAdmin\"\nreason = \"r\"\nexpires = 2027-01-01\n",
            2,
            Some("principal"),
            "not an ARN",
        ),
        (
            "[[suppress]]\nprincipal = \"arn:*\"\nreason = \"r\"\nexpires = 2027-01-01\n",
            2,
            Some("principal"),
            "every principal",
        ),
        // expires not a date
        (
            "[[suppress]]\nrule = \"root-session\"\nreason = \"r\"\nexpires = \"2027-01-01\"\n",
            4,
            Some("expires"),
            "",
        ),
        (
            "[[suppress]]\nrule = \"root-session\"\nreason = \"r\"\nexpires = 2027-01-01T00:00:00Z\n",
            4,
            Some("expires"),
            "not a date",
        ),
        // a reason with an ANSI escape or a line break
        (
            "[[suppress]]\nrule = \"root-session\"\nreason = \"drill \\u001b[31mRED\"\nexpires = 2027-01-01\n",
            3,
            Some("reason"),
            "control characters",
        ),
        (
            "[[suppress]]\nrule = \"root-session\"\nreason = \"\"\"a\nb\"\"\"\nexpires = 2027-01-01\n",
            3,
            Some("reason"),
            "control characters",
        ),
        (
            "[[suppress]]\nrule = \"root-session\"\nreason = \"  \"\nexpires = 2027-01-01\n",
            3,
            Some("reason"),
            "empty",
        ),
        // TOML syntax error
        (
            "[[suppress]]\nrule = \"root-session\nreason = \"r\"\n",
            2,
            Some("rule"),
            "",
        ),
        // duplicate key
        (
            "[[suppress]]\nrule = \"root-session\"\nrule = \"root-only-task\"\n",
            3,
            Some("rule"),
            "",
        ),
    ];
    for (text, line, key, needle) in cases {
        let e = err(text);
        assert_eq!(e.file, "s.toml");
        assert_eq!((e.line, e.key.as_deref()), (*line, *key), "{text:?}: {e}");
        assert!(e.message.contains(needle), "{text:?}: {e}");
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("s.toml: line {line}")),
            "{shown}"
        );
        assert!(
            !shown.chars().any(char::is_control),
            "the message is safe to print: {shown:?}"
        );
    }
}

#[test]
fn an_entry_without_any_matching_key_is_refused() {
    let e = err("[[suppress]]\nreason = \"everything\"\nexpires = 2027-01-01\n");
    assert_eq!(e.line, 1);
    assert!(e.message.contains("every finding"), "{e}");
}

#[test]
fn hostile_files_are_refused_with_a_line() {
    // Binary: not UTF-8 at line 2.
    let mut bin = b"[[suppress]]\n".to_vec();
    bin.extend_from_slice(&[0xff, 0xfe, 0x00, 0x01]);
    let e = Suppressions::parse(&bin, "b.toml", NOW).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("UTF-8"), "{e}");
    // A NUL byte in valid UTF-8.
    let e = err("[[suppress]]\nrule = \"root-session\"\u{0}\n");
    assert_eq!(e.line, 2);
    // Too large.
    let big = format!("# {}\n", "x".repeat(MAX_BYTES));
    let e = err(&big);
    assert!(e.message.contains("larger than 1024 KiB"), "{e}");
    // Too many entries: the first one over names its line.
    let many = entry("rule = \"root-session\"").repeat(MAX_ENTRIES + 1);
    let e = err(&many);
    assert_eq!(e.line, 4 * MAX_ENTRIES + 1);
    assert!(e.message.contains("more than 1000 entries"), "{e}");
    // A control character in a file name does not reach the message raw.
    let e = Suppressions::parse(b"x = 1", "evil\x1b[2J.toml", NOW).unwrap_err();
    assert!(!e.to_string().contains('\x1b'));
}

#[test]
fn the_first_covering_entry_is_named_and_severity_is_untouched() {
    let s = parse(&format!(
        "{}{}",
        entry("rule = \"root-console-login\"").replace("drill SEC-1", "first"),
        entry("account = \"111122223333\"").replace("drill SEC-1", "second"),
    ))
    .unwrap();
    let mut r = report(LOGIN);
    s.apply(&mut r, NOW);
    let f = &r.findings[0];
    assert_eq!(f.suppressed.as_ref().unwrap().reason, "first");
    assert_eq!(f.severity, Severity::Critical);
    // The jsonl form carries the object; an unsuppressed finding has no key at all.
    let line = serde_json::to_value(&r).unwrap();
    assert_eq!(
        line["findings"][0]["suppressed"],
        serde_json::json!({"reason": "first", "expires": "2027-01-31"})
    );
    let plain = serde_json::to_value(report(LOGIN)).unwrap();
    assert!(plain["findings"][0].get("suppressed").is_none());
}

#[test]
fn a_suppressed_finding_is_not_published() {
    let s = parse(&entry("rule = \"root-console-login\"")).unwrap();
    let mut r = report(LOGIN);
    assert!(
        crate::core::alert::build(
            &r,
            Severity::Info,
            crate::core::alert::AlertFormat::Standard
        )
        .is_some(),
        "alerts before"
    );
    s.apply(&mut r, NOW);
    assert!(crate::core::alert::build(
        &r,
        Severity::Info,
        crate::core::alert::AlertFormat::Standard
    )
    .is_none());
}
