//! The delivery constants of the code and the values of the templates (SAM and CDK) that they
//! depend on: a claim's lease outlasts a live holder and ends before the first retry of a
//! delivery whose holder died; a message waiting for its AssumeRoot call leaves the queue
//! before its dead-letter queue takes it. A template value that drifts from the code fails here.

use rootwatch::aws::function::{MAX_WAIT_RECEIVES, PUBLISH_BUDGET};
use rootwatch::aws::store::{
    ASYNC_RETRY_DELAY_SECONDS, CLAIM_LEASE_SECONDS, EVENT_FUNCTION_TIMEOUT_SECONDS,
    EVENT_QUEUE_VISIBILITY_SECONDS, LOG_ARCHIVE_TIMEOUT_SECONDS, LOG_ARCHIVE_VISIBILITY_SECONDS,
    MAX_RECEIVE_COUNT,
};

/// `prop` of the top-level resource `name` of a SAM template (two-space indented YAML), as
/// written; nested lines (`    Prop:`) are searched at any depth below the resource.
fn property(template: &str, name: &str, prop: &str) -> Vec<String> {
    let head = format!("  {name}:");
    let mut inside = false;
    let mut found = Vec::new();
    for line in template.lines() {
        if line == head {
            inside = true;
            continue;
        }
        if inside && line.starts_with("  ") && !line.starts_with("   ") && !line.trim().is_empty() {
            break;
        }
        if inside {
            if let Some(v) = line.trim().strip_prefix(&format!("{prop}:")) {
                found.push(v.split('#').next().unwrap().trim().to_owned());
            }
        }
    }
    found
}

fn number(template: &str, name: &str, prop: &str) -> i64 {
    let v = property(template, name, prop);
    assert_eq!(v.len(), 1, "{name}.{prop}: {v:?}");
    v[0].parse()
        .unwrap_or_else(|_| panic!("{name}.{prop} = {:?}", v[0]))
}

fn sam() -> String {
    std::fs::read_to_string("infra/template.yaml").unwrap()
}

fn cdk() -> String {
    std::fs::read_to_string("infra/cdk/lib/root-activity-detector.ts").unwrap()
}

#[test]
fn the_lease_outlasts_a_live_holder_and_ends_before_a_retry() {
    // Checked when this test is compiled: a drift breaks the build of the tests.
    const {
        // A live holder: the event function is killed at its timeout; a log-archive instance
        // holds one claim for one publish and its settle.
        assert!(CLAIM_LEASE_SECONDS > EVENT_FUNCTION_TIMEOUT_SECONDS);
        assert!(CLAIM_LEASE_SECONDS > PUBLISH_BUDGET.as_secs() as i64);
        // The first retry: Lambda's asynchronous retry, the queues' visibility timeouts.
        assert!(CLAIM_LEASE_SECONDS < ASYNC_RETRY_DELAY_SECONDS);
        assert!(CLAIM_LEASE_SECONDS < EVENT_QUEUE_VISIBILITY_SECONDS);
        assert!(CLAIM_LEASE_SECONDS < LOG_ARCHIVE_VISIBILITY_SECONDS);
        // A message waiting for its AssumeRoot call is alerted before the dead-letter queue.
        assert!(MAX_WAIT_RECEIVES < MAX_RECEIVE_COUNT);
    }
}

#[test]
fn the_sam_template_uses_the_codes_values() {
    let t = sam();
    assert_eq!(
        number(&t, "Function", "Timeout"),
        EVENT_FUNCTION_TIMEOUT_SECONDS
    );
    assert_eq!(
        number(&t, "BufferQueue", "VisibilityTimeout"),
        EVENT_QUEUE_VISIBILITY_SECONDS
    );
    assert_eq!(
        number(&t, "LogArchiveFunction", "Timeout"),
        LOG_ARCHIVE_TIMEOUT_SECONDS
    );
    assert_eq!(
        number(&t, "LogArchiveQueue", "VisibilityTimeout"),
        LOG_ARCHIVE_VISIBILITY_SECONDS
    );
    for q in ["BufferQueue", "LogArchiveQueue"] {
        assert_eq!(
            number(&t, q, "maxReceiveCount"),
            MAX_RECEIVE_COUNT as i64,
            "{q}"
        );
    }
}

#[test]
fn the_cdk_app_uses_the_codes_values() {
    let c = cdk();
    for (line, want) in [
        (
            format!(
                "export const FUNCTION_TIMEOUT = Duration.seconds({EVENT_FUNCTION_TIMEOUT_SECONDS});"
            ),
            true,
        ),
        (
            format!(
                "export const LOG_ARCHIVE_TIMEOUT = Duration.seconds({LOG_ARCHIVE_TIMEOUT_SECONDS});"
            ),
            true,
        ),
        (
            "export const QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(6 * FUNCTION_TIMEOUT.toSeconds());".to_owned(),
            true,
        ),
        (
            "export const LOG_ARCHIVE_VISIBILITY_TIMEOUT = Duration.seconds(6 * LOG_ARCHIVE_TIMEOUT.toSeconds());".to_owned(),
            true,
        ),
    ] {
        assert_eq!(c.contains(&line), want, "{line}");
    }
    assert_eq!(
        EVENT_QUEUE_VISIBILITY_SECONDS,
        6 * EVENT_FUNCTION_TIMEOUT_SECONDS
    );
    assert_eq!(
        LOG_ARCHIVE_VISIBILITY_SECONDS,
        6 * LOG_ARCHIVE_TIMEOUT_SECONDS
    );
    assert_eq!(
        c.matches(&format!("maxReceiveCount: {MAX_RECEIVE_COUNT}"))
            .count(),
        2,
        "both queues' redrive"
    );
}

/// The reader above finds what it is asked for, and only there.
#[test]
fn the_template_reader_can_fail() {
    let t = "Resources:\n  A:\n    Properties:\n      Timeout: 30\n  B:\n    Properties:\n      VisibilityTimeout: 180\n";
    assert_eq!(property(t, "A", "Timeout"), ["30"]);
    assert!(property(t, "B", "Timeout").is_empty());
    assert!(property(t, "C", "Timeout").is_empty());
    let drifted = sam().replace("      Timeout: 30\n", "      Timeout: 60\n");
    assert_ne!(
        number(&drifted, "Function", "Timeout"),
        EVENT_FUNCTION_TIMEOUT_SECONDS
    );
}
