//! `replay --security-hub` with the real `aws-sdk-securityhub` against moto's Security Hub on
//! 127.0.0.1 (BatchImportFindings, GetFindings): every finding imported once, a second import
//! updates instead of duplicating, and findings Security Hub does not take are retried, named
//! on stderr and exit 1. Run by `make test`; skipped by a plain `cargo test`.

mod support;

use serde_json::Value;
use support::fault::{Fault, FaultProxy};
use support::{sdk_config, Moto};

/// Records written for the test: more findings than one `BatchImportFindings` call takes (100).
const RECORDS: usize = 130;
/// moto's default account: what `sts:GetCallerIdentity` answers.
const MOTO_ACCOUNT: &str = "123456789012";

fn cli_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("NO_COLOR", "1".into()),
    ]
}

/// A log file of [`RECORDS`] root console sign-ins without MFA (the AWS doc sample with distinct
/// eventIDs): one critical root-console-login finding each.
fn samples() -> (tempfile::TempDir, String) {
    let one: Value = serde_json::from_str(
        &std::fs::read_to_string("events/aws-docs/root-console-login-no-mfa.json").unwrap(),
    )
    .unwrap();
    let records: Vec<Value> = (0..RECORDS)
        .map(|i| {
            let mut r = one.clone();
            r["eventID"] = Value::String(format!("sh-{i:04}"));
            r
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs.json");
    std::fs::write(&file, serde_json::json!({ "Records": records }).to_string()).unwrap();
    let path = file.display().to_string();
    (dir, path)
}

/// `rootwatch replay --format jsonl --security-hub PATH`: (stderr, exit code).
fn replay_to_hub(endpoint: &str, path: &str) -> (String, i32) {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("rootwatch"))
        .args(["replay", "--format", "jsonl", "--security-hub", path])
        .envs(cli_env(endpoint))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stderr, out.status.code().unwrap())
}

/// The ids of the findings the samples give (`--format asff`, read here, not imported).
fn sample_ids(path: &str) -> std::collections::BTreeSet<String> {
    support::stdout(&["replay", "--format", "asff", path])
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["Id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Every finding Security Hub holds (GetFindings, page by page).
async fn findings(
    cfg: &aws_config::SdkConfig,
) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
    let hub = aws_sdk_securityhub::Client::new(cfg);
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = hub
            .get_findings()
            .max_results(100)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        all.extend(page.findings().iter().cloned());
        token = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if token.is_none() {
            return all;
        }
    }
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn replay_imports_every_finding_once_and_a_second_import_updates() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (_dir, path) = samples();
    let ids = sample_ids(&path);
    assert_eq!(ids.len(), RECORDS);
    // Through the fault proxy, passing everything: it counts the calls.
    let proxy = FaultProxy::start(moto.port);

    let (stderr, code) = tokio::task::spawn_blocking({
        let (e, p) = (proxy.endpoint.clone(), path.clone());
        move || replay_to_hub(&e, &p)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("130 finding(s) imported into Security Hub, 0 failed"),
        "{stderr}"
    );
    let imports = proxy
        .seen()
        .iter()
        .filter(|s| s.action != "GetCallerIdentity")
        .count();
    assert_eq!(imports, 2, "130 findings: one call of 100 and one of 30");
    let got = findings(&cfg).await;
    assert_eq!(got.len(), ids.len(), "one Security Hub finding per finding");
    let got_ids: std::collections::BTreeSet<String> =
        got.iter().map(|f| f.id().unwrap().to_owned()).collect();
    assert_eq!(got_ids, ids);
    for f in &got {
        assert_eq!(f.aws_account_id(), Some(MOTO_ACCOUNT));
        assert_eq!(
            f.product_arn(),
            Some("arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default")
        );
        assert!(!f.resources().is_empty());
        assert!(f.severity().and_then(|s| s.label()).is_some());
    }
    let login = got
        .iter()
        .find(|f| f.generator_id() == Some("root-console-login"))
        .expect("a root-console-login finding");
    assert!(login.title().unwrap().contains("Root user signed in"));

    // The same replay again: the same ids, so Security Hub updates them.
    let (stderr, code) = tokio::task::spawn_blocking({
        let (e, p) = (moto.endpoint.clone(), path.clone());
        move || replay_to_hub(&e, &p)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        findings(&cfg).await.len(),
        ids.len(),
        "no duplicate on re-import"
    );
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn findings_not_imported_are_retried_named_and_exit_1_then_a_replay_imports_them() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (_dir, path) = samples();
    let proxy = FaultProxy::start(moto.port);
    // GetCallerIdentity goes through; every BatchImportFindings then fails.
    proxy.fail_after(1, Fault::Status(500));
    let (stderr, code) = tokio::task::spawn_blocking({
        let (e, p) = (proxy.endpoint.clone(), path.clone());
        move || replay_to_hub(&e, &p)
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("not imported into Security Hub after 3 attempts"),
        "{stderr}"
    );
    assert!(stderr.contains("replay again to retry"), "{stderr}");
    let named = stderr
        .lines()
        .filter(|l| l.contains("rootwatch: error: finding rootwatch/"))
        .count();
    assert_eq!(named, RECORDS, "each finding named once:\n{stderr}");
    // Our own retries: three attempts at each of the two batches (100 + 30), each with the
    // SDK's own retries.
    let imports = proxy
        .seen()
        .iter()
        .filter(|s| s.action != "GetCallerIdentity")
        .count();
    assert!(imports >= 6, "{imports}");
    assert!(findings(&cfg).await.is_empty());

    proxy.pass();
    let (stderr, code) = tokio::task::spawn_blocking({
        let (e, p) = (proxy.endpoint.clone(), path.clone());
        move || replay_to_hub(&e, &p)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(findings(&cfg).await.len(), RECORDS);
}

#[test]
fn a_replay_without_aws_says_what_to_do() {
    // Nothing listens on port 9: GetCallerIdentity fails before any input is read.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("rootwatch"))
        .args(["replay", "--security-hub", "events/rules/"])
        .envs(cli_env("http://127.0.0.1:9"))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not find the calling AWS account")
            && stderr.contains("check the AWS credentials"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// The function: SNS and Security Hub are independent sinks.

/// A function publishing to `topic` through `sns_endpoint` and importing into Security Hub
/// through `hub_endpoint` (one of them the fault proxy).
async fn function(
    sns_endpoint: &str,
    hub_endpoint: &str,
    topic: &str,
) -> rootwatch::aws::function::Handler<rootwatch::aws::sns::SnsPublisher> {
    use rootwatch::aws::function::{Config, Handler};
    let sns_cfg = sdk_config(sns_endpoint).await;
    let hub_cfg = sdk_config(hub_endpoint).await;
    let mut config = Config::for_topic(topic);
    config.security_hub = true;
    let publisher = rootwatch::aws::sns::SnsPublisher {
        client: rootwatch::aws::sns::client(&sns_cfg),
        topic_arn: topic.into(),
    };
    let target = rootwatch::aws::securityhub::target(&hub_cfg).await.unwrap();
    let hub = rootwatch::aws::securityhub::Hub {
        client: rootwatch::aws::securityhub::client(&hub_cfg),
        target,
    };
    Handler::new(config, publisher).with_security_hub(hub)
}

fn no_mfa_event() -> String {
    let rec: Value = serde_json::from_str(
        &std::fs::read_to_string("events/aws-docs/root-console-login-no-mfa.json").unwrap(),
    )
    .unwrap();
    support::eventbridge(&rec)
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn function_imports_into_security_hub_while_sns_fails_and_the_retry_publishes_once() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = support::topic_with_queue(&cfg, "alerts", true).await;
    let proxy = FaultProxy::start(moto.port);
    let h = function(&proxy.endpoint, &moto.endpoint, &topic).await;
    proxy.fail(Fault::Status(500));
    let first = h.handle(&no_mfa_event()).await;
    assert!(first.is_err(), "SNS failed: the invocation is retried");
    assert_eq!(
        findings(&cfg).await.len(),
        1,
        "Security Hub imported all the same"
    );
    assert!(support::drain(&cfg, &queue, 0, WAIT).await.is_empty());

    proxy.pass();
    h.handle(&no_mfa_event()).await.unwrap();
    assert_eq!(support::drain(&cfg, &queue, 1, WAIT).await.len(), 1);
    assert_eq!(
        findings(&cfg).await.len(),
        1,
        "re-imported: updated, not added"
    );
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn function_publishes_sns_once_while_security_hub_fails_and_retries_the_import() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = support::topic_with_queue(&cfg, "alerts", true).await;
    let proxy = FaultProxy::start(moto.port);
    // GetCallerIdentity at start goes through the proxy too.
    let h = function(&moto.endpoint, &proxy.endpoint, &topic).await;
    proxy.fail(Fault::Status(500));
    let first = h.handle(&no_mfa_event()).await;
    let err = first.expect_err("Security Hub failed: the invocation is retried");
    assert!(err.to_string().contains("Security Hub"), "{err}");
    assert_eq!(support::drain(&cfg, &queue, 1, WAIT).await.len(), 1);
    assert!(findings(&cfg).await.is_empty());

    proxy.pass();
    h.handle(&no_mfa_event()).await.unwrap();
    assert_eq!(findings(&cfg).await.len(), 1);
    assert!(
        support::drain(&cfg, &queue, 0, WAIT).await.is_empty(),
        "the retry publishes no second alert"
    );
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn queued_message_whose_import_failed_is_returned_and_its_retry_publishes_no_second_alert() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = support::topic_with_queue(&cfg, "alerts", true).await;
    let proxy = FaultProxy::start(moto.port);
    let h = function(&moto.endpoint, &proxy.endpoint, &topic).await;
    let benign = std::fs::read_to_string("events/principals/iam_user.json").unwrap();
    let batch = support::sqs_event(&[("m-root", &no_mfa_event()), ("m-benign", &benign)]);
    proxy.fail(Fault::Status(500));
    let first = h.handle(&batch).await.unwrap();
    assert_eq!(
        first["batchItemFailures"],
        serde_json::json!([{ "itemIdentifier": "m-root" }]),
        "only the message whose finding was not imported comes back"
    );
    assert_eq!(support::drain(&cfg, &queue, 1, WAIT).await.len(), 1);

    proxy.pass();
    let again = h
        .handle(&support::sqs_event(&[("m-root", &no_mfa_event())]))
        .await
        .unwrap();
    assert_eq!(again["batchItemFailures"], serde_json::json!([]));
    assert_eq!(findings(&cfg).await.len(), 1);
    assert!(
        support::drain(&cfg, &queue, 0, WAIT).await.is_empty(),
        "no second alert"
    );
}

#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn log_file_whose_import_failed_is_retried_without_a_second_alert() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = support::topic_with_queue(&cfg, "alerts", true).await;
    let s3 = support::s3_bucket(&cfg, "trail-logs").await;
    let key = support::trail_key(
        "o-abc",
        "111122223333",
        "us-east-1",
        "2026-11-24",
        "0745",
        "sh01",
    );
    let records = support::records_of("events/aws-docs/root-console-login-no-mfa.json");
    support::put_object(&s3, "trail-logs", &key, support::log_object(&records)).await;
    let proxy = FaultProxy::start(moto.port);
    let h = function(&moto.endpoint, &proxy.endpoint, &topic)
        .await
        .with_objects(rootwatch::aws::s3::S3Objects {
            client: support::s3_client(&cfg),
        });
    let notice = support::s3_notification("trail-logs", &[&key]);
    proxy.fail(Fault::Status(500));
    let err = h.handle(&notice).await.expect_err("the object is retried");
    assert!(
        err.to_string().contains("not imported into Security Hub"),
        "{err}"
    );
    assert_eq!(support::drain(&cfg, &queue, 1, WAIT).await.len(), 1);

    proxy.pass();
    h.handle(&notice).await.unwrap();
    assert_eq!(findings(&cfg).await.len(), 1);
    assert!(
        support::drain(&cfg, &queue, 0, WAIT).await.is_empty(),
        "no second alert"
    );
}

/// Issue 17: a finding a suppression covers is not imported (`--security-hub --suppressions`);
/// it stays in the command's own output, marked.
#[tokio::test]
#[ignore = "needs moto_server (make test)"]
async fn replay_does_not_import_suppressed_findings() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let (dir, path) = samples();
    let expires = rootwatch::core::time::format(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 30 * 86_400,
    )[..10]
        .to_owned();
    let file = dir.path().join("suppress.toml");
    std::fs::write(
        &file,
        format!("[[suppress]]\nrule = \"root-console-login\"\nreason = \"drill\"\nexpires = {expires}\n"),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking({
        let (e, p, f) = (moto.endpoint.clone(), path.clone(), file.clone());
        move || {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("rootwatch"))
                .args([
                    "replay",
                    "--format",
                    "jsonl",
                    "--security-hub",
                    "--suppressions",
                ])
                .arg(&f)
                .arg(&p)
                .envs(cli_env(&e))
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let marked = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"suppressed\":{\"reason\":\"drill\""))
        .count();
    assert_eq!(marked, RECORDS, "every finding stays in jsonl, marked");
    assert!(
        findings(&cfg).await.is_empty(),
        "nothing suppressed is imported"
    );
}
