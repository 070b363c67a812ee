//! The function on S3 input, with the fake source and the fake publisher: dispatch, failure
//! policy, counts.

use crate::aws::s3::*;
use crate::aws::testing::FakeObjects;
use serde_json::{json, Value};

mod t {
    use super::*;
    use crate::aws::function::{Config, Counts, Handler};
    use crate::aws::store::MemoryStore;
    use crate::aws::testing::FakePublisher;

    const LOGIN: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2026-11-23T04:12:09Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"ID","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#;
    const KEY: &str = "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/11/23/111122223333_CloudTrail_us-east-1_20261123T0415Z_a.json.gz";

    fn login(id: &str) -> String {
        LOGIN.replace("\"ID\"", &format!("{id:?}"))
    }

    fn log(records: &[String]) -> Vec<u8> {
        let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn function(objects: FakeObjects) -> Handler<FakePublisher, MemoryStore, FakeObjects> {
        let config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
        Handler::new(config, FakePublisher::default()).with_objects(objects)
    }

    fn sqs(bodies: &[(&str, &str)]) -> String {
        let records: Vec<Value> = bodies
            .iter()
            .map(|(id, body)| json!({"messageId": id, "body": body, "eventSource": "aws:sqs"}))
            .collect();
        json!({ "Records": records }).to_string()
    }

    fn notification(key: &str) -> String {
        json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "trail"}, "object": {"key": key}}}]})
        .to_string()
    }

    async fn run(
        h: &Handler<FakePublisher, MemoryStore, FakeObjects>,
        payload: &str,
    ) -> (Value, Counts) {
        let (r, c) = h.handle_counted(payload).await;
        (r.expect("not retried"), c)
    }

    #[tokio::test]
    async fn every_envelope_reads_its_object() {
        for (name, body) in [
            ("s3 notification", notification(KEY)),
            ("eventbridge", json!({"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {"name": "trail"}, "object": {"key": KEY}}}).to_string()),
            ("cloudtrail raw", json!({"s3Bucket": "trail", "s3ObjectKey": [KEY]}).to_string()),
            ("sns cloudtrail", json!({"Type": "Notification", "Message": json!({"s3Bucket": "trail", "s3ObjectKey": [KEY]}).to_string()}).to_string()),
        ] {
            let f = FakeObjects::default();
            f.put("trail", KEY, log(&[login("e1")]));
            let h = function(f);
            let (out, c) = run(&h, &sqs(&[("m", &body)])).await;
            assert_eq!(out, json!({"batchItemFailures": []}), "{name}");
            assert_eq!((c.objects_read, c.records, c.alerts_published), (1, 1, 1), "{name}");
            assert_eq!(h.objects.gets().len(), 2, "{name}: two passes, two GETs");
        }
    }

    #[tokio::test]
    async fn direct_notification_and_the_test_event() {
        let f = FakeObjects::default();
        f.put("trail", "a b/x.json", log(&[login("e1")]));
        let h = function(f);
        let (out, c) = run(&h, &notification("a+b/x.json")).await;
        assert_eq!((out, c.objects_read), (json!({}), 1));
        assert_eq!(h.objects.gets(), vec!["trail/a b/x.json"; 2]);
        let (out, c) = run(
            &h,
            r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"trail"}"#,
        )
        .await;
        assert_eq!((out, c.notifications_ignored, c.records), (json!({}), 1, 0));
    }

    #[tokio::test]
    async fn names_decide_what_is_downloaded() {
        let h = function(FakeObjects::default());
        let digest = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/23/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261123T041500Z.json.gz";
        let body = json!({"s3Bucket": "trail", "s3ObjectKey": [digest, "AWSLogs/manifest.csv"]})
            .to_string();
        let (out, c) = run(&h, &sqs(&[("m", &body)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.objects_skipped, c.object_errors), (2, 0));
        assert!(h.objects.gets().is_empty());
    }

    #[tokio::test]
    async fn confirmations_and_other_s3_events_are_acknowledged_and_counted() {
        let h = function(FakeObjects::default());
        let removed = notification(KEY).replace("ObjectCreated:Put", "ObjectRemoved:Delete");
        let confirmation = json!({"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"}).to_string();
        let (out, c) = run(&h, &sqs(&[("a", &removed), ("b", &confirmation)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.notifications_ignored, c.records), (2, 0));
        assert!(h.objects.gets().is_empty());
    }

    #[tokio::test]
    async fn log_buckets_refuses_other_buckets_without_a_get() {
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&[login("e1")]));
        let mut h = function(f);
        h.config.log_buckets = Some(vec!["org-trail".into()]);
        let (out, c) = run(&h, &sqs(&[("m", &notification(KEY))])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.objects_refused, c.records), (1, 0));
        assert!(h.objects.gets().is_empty());
        assert_eq!(h.publisher.calls(), 0);
        let job = json!({"invocationSchemaVersion": "2.0", "invocationId": "i", "job": {"id": "j"},
            "tasks": [{"taskId": "1", "s3Key": KEY, "s3Bucket": "trail"}]});
        let (out, _) = run(&h, &job.to_string()).await;
        assert_eq!(out["results"][0]["resultCode"], "PermanentFailure");
        assert_eq!(
            out["results"][0]["resultString"],
            "the bucket is not in LOG_BUCKETS"
        );
    }

    #[tokio::test]
    async fn failure_policy() {
        let retry = ObjectError::Retryable("SlowDown".into());
        for (name, setup, failed, errors, retries) in [
            ("throttled", (Some(retry.clone()), None), true, 0, 1),
            (
                "denied",
                (Some(ObjectError::Denied("no".into())), None),
                false,
                1,
                0,
            ),
            (
                "missing",
                (Some(ObjectError::NotFound("k".into())), None),
                false,
                1,
                0,
            ),
            ("reset mid-body", (None, Some(retry.clone())), true, 0, 1),
        ] {
            let f = FakeObjects::default();
            f.put("trail", KEY, log(&[login("e1"), login("e2"), login("e3")]));
            let (fail, broken) = setup;
            if let Some(e) = fail {
                f.fail("trail", KEY, e);
            }
            if let Some(e) = broken {
                f.break_after("trail", KEY, 40, e);
            }
            let h = function(f);
            let (out, c) = run(&h, &sqs(&[("m", &notification(KEY)), ("ok", r#"{"x":1}"#)])).await;
            let want = if failed {
                json!({"batchItemFailures": [{"itemIdentifier": "m"}]})
            } else {
                json!({"batchItemFailures": []})
            };
            assert_eq!(out, want, "{name}");
            assert_eq!(
                (c.object_errors, c.object_retries),
                (errors, retries),
                "{name}"
            );
            // Direct invocation: retried by failing; acknowledged otherwise.
            let (r, _) = h.handle_counted(&notification(KEY)).await;
            assert_eq!(r.is_err(), failed, "{name}");
        }
    }

    #[tokio::test]
    async fn corrupt_objects_are_acknowledged_and_the_next_read() {
        let f = FakeObjects::default();
        let whole = log(&[login("e1"), login("e2")]);
        f.put("trail", KEY, whole[..whole.len() - 10].to_vec());
        let other = KEY.replace("_a.json.gz", "_b.json.gz");
        f.put("trail", &other, log(&[login("e3")]));
        let h = function(f);
        let body = json!({"s3Bucket": "trail", "s3ObjectKey": [KEY, other]}).to_string();
        let (out, c) = run(&h, &sqs(&[("m", &body)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.object_errors, c.objects_read), (1, 1));
        assert!(h
            .publisher
            .published()
            .iter()
            .any(|a| a.event_id.as_deref() == Some("e3")));
    }

    #[tokio::test]
    async fn a_failed_publish_returns_the_message_and_a_retry_alerts_once() {
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&[login("e1"), login("e2")]));
        let h = function(f);
        h.publisher.fail_with(Some("throttled"));
        let payload = sqs(&[("m", &notification(KEY))]);
        let (out, c) = run(&h, &payload).await;
        assert_eq!(out, json!({"batchItemFailures": [{"itemIdentifier": "m"}]}));
        assert_eq!((c.publish_failures, c.object_retries), (2, 1));
        h.publisher.fail_with(None);
        let (out, c) = run(&h, &payload).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!(c.alerts_published, 2);
        let (_, c) = run(&h, &payload).await;
        assert_eq!((c.alerts_published, c.duplicates_skipped), (0, 2));
    }

    #[tokio::test]
    async fn one_object_named_twice_in_a_batch_is_read_once() {
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&[login("e1")]));
        let h = function(f);
        let (_, c) = run(
            &h,
            &sqs(&[("a", &notification(KEY)), ("b", &notification(KEY))]),
        )
        .await;
        assert_eq!((c.objects_read, c.objects_skipped), (1, 1));
        assert_eq!(h.objects.gets().len(), 2);
    }

    #[tokio::test]
    async fn sessions_in_an_object_attribute_its_records_whatever_the_order() {
        // A use of the key comes before the AssumeRole that issued it.
        let dir = "events/sessions/user-role-chain";
        let mut recs: Vec<Value> = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            recs.extend(v["Records"].as_array().unwrap().iter().cloned());
        }
        recs.reverse();
        let texts: Vec<String> = recs.iter().map(Value::to_string).collect();
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&texts));
        let config = Config::for_topic("arn:aws:sns:us-east-1:123456789012:rootwatch");
        let shared = MemoryStore::default();
        let h = Handler::with_store(config, FakePublisher::default(), Some(shared)).with_objects(f);
        let (r, c) = h.handle_counted(&notification(KEY)).await;
        r.unwrap();
        assert!(c.sessions_learned >= 2, "{c:?}");
        assert!(c.records_with_origin >= 2, "{c:?}");
        // Learned into the shared store too, for the other instances.
        let shared = h.shared.as_ref().unwrap();
        let t = shared.tracker.lock().unwrap();
        assert_eq!(t.len() as u64, c.sessions_learned);
    }

    #[tokio::test]
    async fn batch_operations_answer_per_task() {
        let f = FakeObjects::default();
        f.put("trail", KEY, log(&[login("e1")]));
        f.fail(
            "trail",
            "AWSLogs/slow.json.gz",
            ObjectError::Retryable("503".into()),
        );
        let h = function(f);
        let job = json!({"invocationSchemaVersion": "1.0", "invocationId": "i", "job": {"id": "j"}, "tasks": [
            {"taskId": "1", "s3Key": KEY, "s3BucketArn": "arn:aws:s3:::trail"},
            {"taskId": "2", "s3Key": "AWSLogs/slow.json.gz", "s3BucketArn": "arn:aws:s3:::trail"},
            {"taskId": "3", "s3Key": "AWSLogs/x.json.gz", "s3BucketArn": "arn:aws:s3:::trail"},
            {"taskId": "4", "s3Key": "AWSLogs/readme.txt", "s3BucketArn": "arn:aws:s3:::trail"},
            {"taskId": "5", "s3BucketArn": "arn:aws:s3:::trail"}]});
        let (out, _) = run(&h, &job.to_string()).await;
        let codes: Vec<&str> = out["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resultCode"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "Succeeded",
                "TemporaryFailure",
                "PermanentFailure",
                "Succeeded",
                "PermanentFailure"
            ]
        );
        assert_eq!(
            out["results"][3]["resultString"],
            "skipped: not a log file (*.json.gz, *.json)"
        );
    }

    #[tokio::test]
    async fn eventbridge_bodies_keep_their_path() {
        let h = function(FakeObjects::default());
        let event = json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.signin",
            "detail": serde_json::from_str::<Value>(&login("e1")).unwrap()})
        .to_string();
        let (out, c) = run(&h, &sqs(&[("m", &event)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.records, c.alerts_published), (1, 1));
        assert!(h.objects.gets().is_empty());
        let line = crate::aws::function::emf(&c, 0);
        assert!(
            !line.contains("ObjectsRead"),
            "no S3 metrics without S3: {line}"
        );
    }

    #[tokio::test]
    async fn an_sns_envelope_around_an_eventbridge_event_is_read_inside() {
        let h = function(FakeObjects::default());
        let event = json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.signin",
            "detail": serde_json::from_str::<Value>(&login("e1")).unwrap()})
        .to_string();
        let envelope = json!({"Type": "Notification", "Message": event}).to_string();
        let (out, c) = run(&h, &sqs(&[("m", &envelope)])).await;
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!((c.records, c.alerts_published), (1, 1));
        let (out, c) = run(&h, &envelope).await;
        assert_eq!((out, c.records, c.duplicates_skipped), (json!({}), 1, 1));
    }

    #[test]
    fn emf_has_object_metrics_when_objects_were_touched() {
        let c = Counts {
            objects_read: 2,
            object_bytes: 2048,
            ..Counts::default()
        };
        let v: Value = serde_json::from_str(&crate::aws::function::emf(&c, 0)).unwrap();
        assert_eq!(v["ObjectsRead"], 2);
        assert_eq!(v["ObjectBytes"], 2048);
        let defs = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert!(defs.contains(&json!({"Name": "ObjectBytes", "Unit": "Bytes"})));
    }

    #[test]
    fn emf_has_security_hub_metrics_only_when_an_import_was_tried() {
        let v: Value =
            serde_json::from_str(&crate::aws::function::emf(&Counts::default(), 0)).unwrap();
        assert!(v.get("SecurityHubImported").is_none() && v.get("SecurityHubFailed").is_none());
        let c = Counts {
            security_hub_imported: 3,
            security_hub_failed: 1,
            ..Counts::default()
        };
        let v: Value = serde_json::from_str(&crate::aws::function::emf(&c, 0)).unwrap();
        assert_eq!(
            (
                v["SecurityHubImported"].as_u64(),
                v["SecurityHubFailed"].as_u64()
            ),
            (Some(3), Some(1))
        );
    }

    #[test]
    fn log_buckets_config() {
        let get = |v: &'static str| {
            move |k: &str| match k {
                "SNS_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".to_owned()),
                "LOG_BUCKETS" => Some(v.to_owned()),
                _ => None,
            }
        };
        let c = Config::from_env(get(" org-trail , logs.example-2 ")).unwrap();
        assert_eq!(
            c.log_buckets,
            Some(vec!["org-trail".to_owned(), "logs.example-2".to_owned()])
        );
        assert!(c.reads_bucket("org-trail") && !c.reads_bucket("other"));
        assert_eq!(Config::from_env(get(" ")).unwrap().log_buckets, None);
        assert!(Config::from_env(get("Org_Trail")).is_err());
        assert!(Config::from_env(get("ab")).is_err());
    }
}
