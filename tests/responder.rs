//! Issue 18 §1, the responder's view: each rough edge a new user met, as the binary shows it.
//! Expected texts are written here by hand from the issue, not copied from the output.

use assert_cmd::Command;

fn rootwatch() -> Command {
    let mut c = Command::cargo_bin("rootwatch").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// A command with no AWS configuration at all: no region, no profile, no metadata service.
fn no_aws(mut c: Command) -> Command {
    for v in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ] {
        c.env_remove(v);
    }
    c.env("AWS_CONFIG_FILE", "/nonexistent/rootwatch-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/rootwatch-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "test");
    c
}

fn run(c: &mut Command) -> (String, String, i32) {
    let out = c.output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap(),
    )
}

fn no_sdk_internals(stderr: &str) {
    for internal in [
        "DispatchFailure",
        "ConnectorError",
        "dispatch failure",
        "ServiceError",
        "source:",
    ] {
        assert!(!stderr.contains(internal), "SDK internals: {stderr}");
    }
}

#[test]
fn a_missing_path_is_an_error_not_a_file_read() {
    let (stdout, stderr, code) = run(rootwatch().args(["replay", "/nonexistent/path"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("rootwatch: error: /nonexistent/path:"),
        "{stderr}"
    );
    assert!(stdout.contains("  files read       0\n"), "{stdout}");
    assert!(!stdout.contains("No findings."), "{stdout}");
    assert!(stdout.contains("Nothing was read"), "{stdout}");
    // Beside a readable file, only that one counts.
    let (stdout, _, code) = run(rootwatch().args([
        "replay",
        "/nonexistent/path",
        "events/rules/root-console-login-nomfa.json",
    ]));
    assert_eq!(code, 1);
    assert!(stdout.contains("  files read       1\n"), "{stdout}");
}

#[test]
fn s3_without_a_region_says_set_aws_region() {
    for command in ["replay", "sessions"] {
        let (_, stderr, code) = run(no_aws(rootwatch()).args([command, "s3://bucket/prefix/"]));
        assert_eq!(code, 1, "{command}: {stderr}");
        assert!(stderr.contains("s3://bucket/prefix/"), "{stderr}");
        assert!(stderr.contains("set AWS_REGION"), "{command}: {stderr}");
        assert!(!stderr.contains("No such file or directory"), "{stderr}");
        no_sdk_internals(&stderr);
    }
}

#[test]
fn s3_without_credentials_says_how_to_give_them() {
    let (_, stderr, code) = run(no_aws(rootwatch())
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .args(["replay", "s3://bucket/prefix/"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no AWS credentials were found: set AWS_PROFILE"),
        "{stderr}"
    );
    no_sdk_internals(&stderr);
}

#[test]
fn an_unreachable_endpoint_says_so() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let (_, stderr, code) = run(no_aws(rootwatch())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(["replay", "s3://bucket/prefix/"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("the endpoint {endpoint} could not be reached")),
        "{stderr}"
    );
    assert!(stderr.contains("AWS_ENDPOINT_URL"), "{stderr}");
    no_sdk_internals(&stderr);
}

#[test]
fn sessions_reads_standard_input_like_replay() {
    // The first file of a chain: the user's AssumeRole, on standard input.
    let sample = std::fs::read(
        "events/sessions/user-role-chain/111122223333_CloudTrail_us-east-1_20261120T0900Z_c.json",
    )
    .unwrap();
    let (stdout, stderr, code) = run(rootwatch().args(["sessions", "-"]).write_stdin(sample));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("AssumeRole"), "{stdout}");
}

#[test]
fn help_describes_every_format() {
    let (stdout, _, code) = run(rootwatch().args(["replay", "--help"]));
    assert_eq!(code, 0);
    for value in ["table", "jsonl", "json", "alert"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("- {value}:"))),
            "no line for --format {value}: {stdout}"
        );
    }
    for value in ["input", "time"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("- {value}:"))),
            "no line for --sort {value}: {stdout}"
        );
    }
    assert!(stdout.contains("[default: input]"), "{stdout}");
    let (stdout, _, _) = run(rootwatch().args(["sessions", "--help"]));
    for value in ["tree", "dot", "json", "html"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("- {value}:"))),
            "no line for sessions --format {value}: {stdout}"
        );
    }
}

#[test]
fn json_summary_lists_severities_in_the_table_order() {
    let (stdout, _, _) = run(rootwatch().args(["replay", "--format", "json", "events/"]));
    let summary = &stdout[stdout.rfind("\"summary\":").unwrap()..];
    let sev = &summary[summary.find("\"findings_by_severity\":").unwrap()..];
    let sev = &sev[..sev.find('}').unwrap()];
    let at = |k: &str| sev.find(&format!("\"{k}\"")).unwrap();
    assert!(at("critical") < at("high"), "{sev}");
    assert!(at("high") < at("medium"), "{sev}");
    assert!(at("medium") < at("low"), "{sev}");
    // The table: critical first as well.
    let (table, _, _) = run(rootwatch().args(["replay", "events/"]));
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with("by severity"))
        .unwrap();
    assert!(line.find("critical").unwrap() < line.find("low").unwrap());
}

fn times(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event_time"].as_str().unwrap_or("~").to_owned()
        })
        .collect()
}

#[test]
fn sort_time_orders_by_event_time() {
    let (input, _, _) = run(rootwatch().args(["replay", "--format", "jsonl", "events/"]));
    let t = times(&input);
    assert!(
        t.windows(2).any(|w| w[0] > w[1]),
        "the samples are not in time order, so the test means something"
    );
    let (sorted, _, code) =
        run(rootwatch().args(["replay", "--sort", "time", "--format", "jsonl", "events/"]));
    assert_eq!(code, 0);
    let s = times(&sorted);
    assert_eq!(s.len(), t.len());
    assert!(s.windows(2).all(|w| w[0] <= w[1]), "{s:?}");
    // The table too: its first column is the time.
    let (table, _, _) = run(rootwatch().args(["replay", "--sort", "time", "events/"]));
    let cols: Vec<&str> = table
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(cols.len() > 50);
    assert!(cols.windows(2).all(|w| w[0] <= w[1]), "{cols:?}");
}

#[test]
fn offline_alerts_say_the_session_start_is_not_in_the_input() {
    // A request made with a temporary key whose issuing call is not in the file.
    let (stdout, _, code) = run(rootwatch().args([
        "replay",
        "--format",
        "alert",
        "--alert-min-severity",
        "info",
        "events/detector-tamper/stop-logging.json",
    ]));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Session origin: not in the input"),
        "{stdout}"
    );
    assert!(!stdout.contains("not yet known"), "{stdout}");
}

#[test]
fn sessions_tell_apart_two_principals_with_one_arn() {
    let (stdout, _, code) = run(rootwatch().args(["sessions", "events/"]));
    assert_eq!(code, 0);
    let arn = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane.doe@example.com";
    let heads: Vec<&str> = stdout.lines().filter(|l| l.starts_with(arn)).collect();
    // Two SSO sessions of jane.doe: principal ids from the samples (userIdentity.principalId).
    assert_eq!(heads.len(), 2, "{stdout}");
    assert!(heads[0] != heads[1], "indistinguishable: {heads:?}");
    assert!(heads
        .iter()
        .any(|h| h.contains("principal id AROAAWSRESERVEDSEXAMPLE:jane.doe@example.com")));
    assert!(heads
        .iter()
        .any(|h| h.contains("principal id AROASSOADMINRLEXAMPLE:jane.doe@example.com")));
}

#[test]
fn progress_counts_each_file_once_per_pass() {
    use rootwatch::core::model::RecordReport;
    use rootwatch::replay::{InputError, Output};
    #[derive(Default)]
    struct Seen {
        passes: Vec<u8>,
        totals: Vec<(usize, usize)>,
    }
    impl Output for Seen {
        fn record(&mut self, _: &RecordReport) -> std::io::Result<()> {
            Ok(())
        }
        fn error(&mut self, _: &InputError) -> std::io::Result<()> {
            Ok(())
        }
        fn pass_started(&mut self, pass: u8) {
            self.passes.push(pass);
        }
        fn input_started(&mut self, _: &str, n: usize, total: usize) {
            self.totals.push((n, total));
        }
    }
    let dir = std::path::PathBuf::from("events/sessions/user-role-chain");
    for threads in [1, 2] {
        let mut seen = Seen::default();
        let opts = rootwatch::replay::Options {
            threads,
            ..Default::default()
        };
        rootwatch::replay::replay(std::slice::from_ref(&dir), &opts, &mut seen).unwrap();
        // Three files: each pass counts 0..3 of 3, never 6.
        assert_eq!(seen.passes, [1, 2]);
        assert!(
            seen.totals.iter().all(|&(n, total)| total == 3 && n < 3),
            "{:?}",
            seen.totals
        );
        assert!(seen.totals.iter().filter(|t| t.0 == 2).count() >= 1);
    }
}

#[test]
fn long_principals_are_cut_on_a_terminal_and_whole_elsewhere() {
    use rootwatch::replay::Output;
    let long = format!(
        "arn:aws:sts::111122223333:assumed-role/{}/session",
        "R".repeat(150)
    );
    let rec = format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","arn":"{long}","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEEXAMPLE00"}},"eventTime":"2026-11-23T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","eventID":"e-long","readOnly":false,"eventType":"AwsApiCall","requestParameters":{{"name":"arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}}}}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.json");
    std::fs::write(&file, rec).unwrap();
    // Not a terminal: the whole text.
    let (stdout, _, _) = run(rootwatch().arg("replay").arg(&file));
    let line = stdout.lines().next().unwrap();
    assert!(line.contains(&"R".repeat(150)), "{line}");
    // On a terminal (the width the CLI sets there, 60 as README says): cut, marked with `…`.
    assert_eq!(rootwatch::cli::render::TERMINAL_PRINCIPAL_WIDTH, 60);
    for width in [rootwatch::cli::render::TERMINAL_PRINCIPAL_WIDTH, 30] {
        let mut table = rootwatch::cli::render::Table {
            out: Vec::new(),
            color: false,
            principal_width: Some(width),
        };
        let mut collect = Vec::new();
        struct Keep<'a>(&'a mut Vec<rootwatch::core::model::RecordReport>);
        impl Output for Keep<'_> {
            fn record(&mut self, r: &rootwatch::core::model::RecordReport) -> std::io::Result<()> {
                self.0.push(r.clone());
                Ok(())
            }
            fn error(&mut self, e: &rootwatch::replay::InputError) -> std::io::Result<()> {
                panic!("{e}")
            }
        }
        rootwatch::replay::replay(
            std::slice::from_ref(&file),
            &Default::default(),
            &mut Keep(&mut collect),
        )
        .unwrap();
        table.record(&collect[0]).unwrap();
        let text = String::from_utf8(table.out).unwrap();
        assert!(
            !text.contains(&"R".repeat(150)) || text.matches(&"R".repeat(150)).count() == 1,
            "{text}"
        );
        let who = text
            .split("  ")
            .find(|c| c.starts_with("R") || c.contains("RRR"))
            .unwrap();
        assert_eq!(who.trim().chars().count(), width, "{who}");
        assert!(who.trim().ends_with('…'), "{who}");
    }
}
