//! `rootwatch audit` with the real AWS SDK against moto for IAM, Organizations, STS and SNS.
//!
//! moto implements `GetAccountSummary`, credential reports, Organizations and STS, but not
//! `sts:AssumeRoot` nor `iam:ListOrganizationsFeatures`, nor the root-session reads that follow
//! an AssumeRoot, and its credential report has no `<root_account>` row. A small loopback stub
//! (`tests/support/audit_stub.rs`) answers those from the hand-written facts below and forwards
//! everything else to moto. Expected rows and findings are written by hand from the rules of
//! docs/audit.md.

mod support;

use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use support::audit_stub::{AuditStub, Facts, MemberRoot};
use support::{sdk_config, topic_with_queue, Moto};

const OWN: &str = "123456789012";
const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// The caller's report: root signed in on 2026-11-30, has one active access key, no MFA.
fn own_report() -> String {
    format!("{HEADER}\n<root_account>,arn:aws:iam::{OWN}:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-30T09:00:00+00:00,not_supported,not_supported,false,true,2021-01-01T00:00:00+00:00,2026-12-01T10:00:00+00:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n")
}

fn audit(endpoint: &str, args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = assert_cmd::Command::cargo_bin("rootwatch")
        .unwrap()
        .arg("audit")
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let rows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        rows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn findings(row: &Value) -> Vec<(String, String)> {
    row["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto_server; run make test"]
async fn the_callers_account_is_audited_and_its_alert_reaches_sns() {
    let moto = Moto::start();
    let stub = AuditStub::start(
        moto.port,
        Facts {
            credential_report: own_report(),
            ..Facts::default()
        },
    );
    let cfg = sdk_config(&moto.endpoint).await;
    let (topic, queue) = topic_with_queue(&cfg, "audit", true).await;
    let (code, rows, err) = audit(
        &stub.endpoint,
        &[
            "--format",
            "jsonl",
            "--sns-topic-arn",
            &topic,
            "--alert-min-severity",
            "high",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["account_id"], OWN);
    assert_eq!(r["kind"], "standalone");
    assert_eq!(r["root"]["password"], "present");
    assert_eq!(r["root"]["password_last_used"], "2026-11-30T09:00:00+00:00");
    assert_eq!(r["root"]["mfa"], serde_json::json!([]));
    assert_eq!(
        r["root"]["access_keys"],
        serde_json::json!([{"active": true, "last_used": "2026-12-01T10:00:00+00:00"}])
    );
    assert_eq!(
        findings(r),
        pairs(&[
            ("root-access-key-present", "critical"),
            ("root-mfa-missing", "high"),
            ("root-password-present", "info"),
        ])
    );
    // One alert for the account, led by its most severe finding.
    let msgs = support::drain(&cfg, &queue, 1, Duration::from_secs(10)).await;
    assert_eq!(msgs.len(), 1);
    let doc: Value = serde_json::from_str(msgs[0].body().unwrap()).unwrap();
    assert_eq!(
        doc["alert"]["subject"],
        format!("[rootwatch] CRITICAL {OWN}: Account {OWN} has 1 root access key active")
    );
    assert_eq!(
        doc["alert"]["rules"],
        serde_json::json!(["root-access-key-present", "root-mfa-missing"])
    );
    assert!(
        err.contains("1 alert(s) published to SNS, 0 failed"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto_server; run make test"]
async fn an_organisation_of_50_accounts_is_audited_8_at_a_time_and_denied_accounts_say_why() {
    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    let orgs = aws_sdk_organizations::Client::new(&cfg);
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create_organization");
    for i in 0..49 {
        orgs.create_account()
            .email(format!("member{i}@example.com"))
            .account_name(format!("member-{i}"))
            .send()
            .await
            .expect("create_account");
    }
    let mut members = Vec::new();
    let mut token = None;
    loop {
        let page = orgs
            .list_accounts()
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        members.extend(
            page.accounts()
                .iter()
                .filter_map(|a| a.id().map(str::to_owned)),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    members.retain(|a| a != OWN);
    members.sort();
    assert_eq!(members.len(), 49);
    let (keyed, denied, keys_denied, certified) =
        (&members[0], &members[1], &members[2], &members[3]);
    let mut roots = HashMap::new();
    roots.insert(
        keyed.clone(),
        MemberRoot {
            password: true,
            keys: vec![("AKIAKEYED".into(), true)],
            mfa: vec![format!("arn:aws:iam::{keyed}:mfa/root-account-mfa-device")],
            certs: vec![],
        },
    );
    roots.insert(
        certified.clone(),
        MemberRoot {
            password: false,
            keys: vec![],
            mfa: vec!["GAHT12345678".into()],
            certs: vec![("CERT1".into(), false)],
        },
    );
    let stub = AuditStub::start(
        moto.port,
        Facts {
            features: vec!["RootSessions".into()],
            members: roots,
            deny_assume_root: [denied.clone()].into(),
            deny_list_keys: [keys_denied.clone()].into(),
            credential_report: own_report(),
        },
    );
    let (code, rows, err) = audit(&stub.endpoint, &["--organization", "--format", "jsonl"]);
    assert_eq!(code, 1, "two accounts could not be read: {err}");
    assert!(err.contains("2 account(s) could not be read"), "{err}");
    assert_eq!(rows.len(), 50);
    let by: HashMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["account_id"].as_str().unwrap(), r))
        .collect();
    // Every member account was asked for exactly once, never more than 8 at a time, and the
    // reads did overlap.
    let mut calls = stub.assume_root_calls();
    calls.sort();
    assert_eq!(calls, members);
    let max = stub.max_in_flight();
    eprintln!("AssumeRoot calls in flight at once, at most: {max}");
    assert!(
        (2..=8).contains(&max),
        "{max} AssumeRoot calls in flight at once"
    );

    let own = by[OWN];
    assert_eq!(own["kind"], "management");
    assert_eq!(
        findings(own),
        pairs(&[
            ("root-access-key-present", "critical"),
            ("root-mfa-missing", "high"),
            ("root-password-present", "info"),
            ("root-credentials-management-disabled", "medium"),
        ])
    );
    let k = by[keyed.as_str()];
    assert_eq!(k["kind"], "member");
    assert!(k["account_name"].as_str().unwrap().starts_with("member-"));
    assert_eq!(
        findings(k),
        pairs(&[
            ("root-access-key-present", "critical"),
            ("root-hardware-mfa-missing", "low"),
            ("root-password-present", "info"),
        ])
    );
    assert_eq!(
        findings(by[certified.as_str()]),
        pairs(&[("root-signing-certificate-present", "medium")])
    );
    let d = by[denied.as_str()];
    assert_eq!(d["root"], Value::Null);
    assert_eq!(
        d["error"],
        format!("sts:AssumeRoot in {denied}: access denied: the credentials in use lack the permission for this call; grant it to that principal or use another profile (AccessDenied: not authorized to perform sts:AssumeRoot on {denied}); docs/audit.md lists the audit's permissions")
    );
    let kd = by[keys_denied.as_str()]["error"].as_str().unwrap();
    assert!(
        kd.starts_with(&format!(
            "iam:ListAccessKeys in {keys_denied}: access denied: "
        )),
        "{kd}"
    );
    // The other 45 members have no root credentials: no finding.
    let clean = rows
        .iter()
        .filter(|r| {
            r["kind"] == "member" && r["error"].is_null() && r["findings"] == serde_json::json!([])
        })
        .count();
    assert_eq!(clean, 45);
    assert_eq!(by[members[10].as_str()]["root"]["password"], "absent");
}

/// The function's scheduled audit, in process: the real SDK reads the organisation through the
/// stub and moto, snapshots go to a DynamoDB table on moto, alerts to a hand-written fake
/// publisher. A first run alerts on what it finds; then no change, no alert; a new root access
/// key in a member account, one alert.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto_server; run make test"]
async fn the_scheduled_audit_alerts_once_on_a_change_and_never_without_one() {
    use rootwatch::aws::audit::AuditOptions;
    use rootwatch::aws::dynamo::DynamoStore;
    use rootwatch::aws::function::{Auditor, Config, Handler};
    use rootwatch::aws::testing::FakePublisher;

    let moto = Moto::start();
    let cfg = sdk_config(&moto.endpoint).await;
    support::sessions_table(&cfg, "sessions").await;
    let orgs = aws_sdk_organizations::Client::new(&cfg);
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    for i in 0..2 {
        orgs.create_account()
            .email(format!("m{i}@example.com"))
            .account_name(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    let page = orgs.list_accounts().send().await.unwrap();
    let mut members: Vec<String> = page
        .accounts()
        .iter()
        .filter_map(|a| a.id().map(str::to_owned))
        .filter(|a| a != OWN)
        .collect();
    members.sort();
    let (quiet, guarded) = (members[0].clone(), members[1].clone());
    // The management account: root has hardware MFA and a password (info only).
    let report = format!("{HEADER}\n<root_account>,arn:aws:iam::{OWN}:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-30T09:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n");
    let guarded_root = MemberRoot {
        password: true,
        keys: vec![],
        mfa: vec!["GAHT00000001".into()],
        certs: vec![],
    };
    let facts = Facts {
        features: vec!["RootCredentialsManagement".into(), "RootSessions".into()],
        members: [(guarded.clone(), guarded_root.clone())].into(),
        credential_report: report,
        ..Facts::default()
    };
    let stub = AuditStub::start(moto.port, facts.clone());
    let mut config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
    config.sessions_table = Some("sessions".into());
    let store = DynamoStore {
        client: aws_sdk_dynamodb::Client::new(&cfg),
        table: "sessions".into(),
    };
    let mut handler = Handler::with_store(config, FakePublisher::default(), Some(store));
    handler.auditor = Some(Box::new(Auditor {
        sdk: sdk_config(&stub.endpoint).await,
        opts: AuditOptions {
            organization: true,
            accounts: vec![],
            concurrency: 8,
        },
    }));
    let event = r#"{"rootwatch":"audit"}"#;
    let subjects = |h: &Handler<FakePublisher, DynamoStore>| -> Vec<String> {
        h.publisher
            .published()
            .iter()
            .map(|a| a.subject.clone())
            .collect()
    };

    // First run: the guarded member's root password under central management (medium) is the
    // only finding at or above the default MIN_SEVERITY (medium).
    handler.handle(event).await.unwrap();
    assert_eq!(
        subjects(&handler),
        [format!(
            "[rootwatch] MEDIUM {guarded}: Root user of {guarded} has a password"
        )]
    );
    // Second run, nothing changed: no alert.
    handler.handle(event).await.unwrap();
    assert_eq!(subjects(&handler).len(), 1);
    // A new active root access key in the quiet member: one alert.
    let mut changed = facts.clone();
    changed.members.insert(
        quiet.clone(),
        MemberRoot {
            keys: vec![("AKIANEWROOTKEY".into(), true)],
            ..MemberRoot::default()
        },
    );
    stub.set(changed);
    handler.handle(event).await.unwrap();
    let all = subjects(&handler);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        all[1],
        format!(
            "[rootwatch] CRITICAL {quiet}: New since the last audit: a root access key in {quiet}"
        )
    );
    // And again no change: no alert.
    handler.handle(event).await.unwrap();
    assert_eq!(subjects(&handler).len(), 2);
}

/// The audit's findings through the sinks that replay's go through: `--format ocsf` (OCSF
/// Detection Findings), `--suppressions` (a covered finding stays in jsonl marked and is neither
/// published nor imported) and `--security-hub` (moto's Security Hub holds the rest).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto_server; run make test"]
async fn audit_findings_go_to_ocsf_security_hub_and_respect_suppressions() {
    let moto = Moto::start();
    let stub = AuditStub::start(
        moto.port,
        Facts {
            credential_report: own_report(),
            ..Facts::default()
        },
    );
    // OCSF: one Detection Finding (class 2004) per finding, naming the account's root user.
    let out = assert_cmd::Command::cargo_bin("rootwatch")
        .unwrap()
        .args(["audit", "--format", "ocsf"])
        .env("AWS_ENDPOINT_URL", &stub.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 3);
    for d in &docs {
        assert_eq!(d["class_uid"], 2004, "{d}");
    }
    let text = serde_json::to_string(&docs).unwrap();
    for rule in [
        "root-access-key-present",
        "root-mfa-missing",
        "root-password-present",
    ] {
        assert!(text.contains(rule), "{rule} in {text}");
    }
    assert!(text.contains(&format!("arn:aws:iam::{OWN}:root")));

    // Suppress root-mfa-missing for this account, then import the rest into Security Hub.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("suppress.toml");
    let entry = |expires: &str| {
        format!("[[suppress]]\nrule = \"root-mfa-missing\"\naccount = \"{OWN}\"\nreason = \"MFA device on order, SEC-77\"\nexpires = {expires}\n")
    };
    // An expiry more than a year ahead is refused (exit 2, the key named).
    std::fs::write(&file, entry("2099-01-01")).unwrap();
    let (code, _, err) = audit(&stub.endpoint, &["--suppressions", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expires"), "{err}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let soon = rootwatch::core::time::format(now + 200 * 86_400)[..10].to_owned();
    std::fs::write(&file, entry(&soon)).unwrap();
    let (code, rows, err) = audit(
        &stub.endpoint,
        &[
            "--format",
            "jsonl",
            "--suppressions",
            file.to_str().unwrap(),
            "--security-hub",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let marked: Vec<(&str, bool)> = rows[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f.get("suppressed").is_some()))
        .collect();
    assert_eq!(
        marked,
        [
            ("root-access-key-present", false),
            ("root-mfa-missing", true),
            ("root-password-present", false)
        ]
    );
    assert!(
        err.contains("2 finding(s) imported into Security Hub, 0 failed"),
        "{err}"
    );
    let cfg = sdk_config(&moto.endpoint).await;
    let hub = aws_sdk_securityhub::Client::new(&cfg);
    let held = hub.get_findings().max_results(100).send().await.unwrap();
    let mut titles: Vec<String> = held
        .findings()
        .iter()
        .map(|f| f.title().unwrap_or_default().to_owned())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            format!("Account {OWN} has 1 root access key active"),
            format!("Root user of {OWN} has a password"),
        ]
    );
}
