//! Notifications, Batch Operations, object sources and streaming.

use super::*;
use crate::aws::testing::FakeObjects;
use crate::input::s3_keys::*;
use serde_json::json;

mod t {
    use super::*;

    fn objects(n: Notice) -> Vec<String> {
        match n {
            Notice::Objects { objects, .. } => objects
                .iter()
                .map(|o| format!("{}/{}", o.bucket, o.key))
                .collect(),
            other => vec![format!("{other:?}")],
        }
    }

    macro_rules! notices {
        ($name:ident, $body:expr, $want:expr) => {
            #[test]
            fn $name() {
                let want: Vec<&str> = $want;
                assert_eq!(objects(notice($body)), want);
            }
        };
    }

    notices!(
        s3_notification,
        r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/x.json.gz"}}}]}"#,
        vec!["b/AWSLogs/x.json.gz"]
    );
    notices!(
        s3_key_decoded,
        r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"my+logs/a%2Bb%3D.json"}}}]}"#,
        vec!["b/my logs/a+b=.json"]
    );
    notices!(
        s3_removed_ignored,
        r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#,
        vec![]
    );
    notices!(
        s3_test_event,
        r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2025-01-01T00:00:00.000Z","Bucket":"b"}"#,
        vec![r#"Ignored("s3:TestEvent")"#]
    );
    notices!(
        eventbridge_object_created,
        r#"{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"my+key.json","size":5}}}"#,
        vec!["b/my+key.json"]
    );
    notices!(
        eventbridge_object_deleted_ignored,
        r#"{"detail-type":"Object Deleted","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}"#,
        vec![]
    );
    notices!(
        eventbridge_cloudtrail_s3_call_is_not_s3,
        r#"{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"eventName":"PutObject","eventSource":"s3.amazonaws.com"}}"#,
        vec!["NotS3"]
    );
    notices!(
        cloudtrail_raw,
        r#"{"s3Bucket":"b","s3ObjectKey":["AWSLogs/1.json.gz","AWSLogs/2.json.gz"]}"#,
        vec!["b/AWSLogs/1.json.gz", "b/AWSLogs/2.json.gz"]
    );
    notices!(
        sns_cloudtrail,
        r#"{"Type" : "Notification","MessageId":"m","Message" : "{\"s3Bucket\":\"b\",\"s3ObjectKey\":[\"AWSLogs/k+1.json.gz\"]}"}"#,
        vec!["b/AWSLogs/k+1.json.gz"]
    );
    notices!(
        sns_s3_notification,
        r#"{"Type":"Notification","Message":"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"a+b\"}}}]}"}"#,
        vec!["b/a b"]
    );
    notices!(
        sns_test_event,
        r#"{"Type":"Notification","Message":"{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\"}"}"#,
        vec![r#"Ignored("s3:TestEvent")"#]
    );
    notices!(
        sns_other_message_is_read_inside,
        r#"{"Type":"Notification","Message":"{\"eventName\":\"ConsoleLogin\"}"}"#,
        vec![r#"Inner("{\"eventName\":\"ConsoleLogin\"}")"#]
    );
    notices!(
        sns_confirmation,
        r#"{"Type":"SubscriptionConfirmation","SubscribeURL":"https://x"}"#,
        vec![r#"Ignored("SNS SubscriptionConfirmation")"#]
    );
    notices!(
        eventbridge_cloudtrail_event,
        r#"{"detail-type":"AWS API Call via CloudTrail","source":"aws.signin","detail":{"eventName":"ConsoleLogin"}}"#,
        vec!["NotS3"]
    );
    notices!(
        cloudtrail_log_file,
        r#"{"Records":[{"eventSource":"iam.amazonaws.com","eventName":"CreateUser"}]}"#,
        vec!["NotS3"]
    );
    notices!(not_json, "{not json \"aws:s3\"", vec!["NotS3"]);
    notices!(array, r#"[{"eventSource":"aws:s3"}]"#, vec!["NotS3"]);
    notices!(
        s3_entry_without_key_is_bad,
        r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]}"#,
        vec![]
    );

    #[test]
    fn counts_of_ignored_and_bad_entries() {
        let n = notice(
            r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete"},{"eventSource":"aws:s3","eventName":"ObjectCreated:Copy","s3":{"bucket":{"name":7}}}]}"#,
        );
        assert_eq!(
            n,
            Notice::Objects {
                via: "s3",
                objects: vec![],
                ignored: 1,
                bad: 1
            }
        );
        let n = notice(r#"{"s3Bucket":"b","s3ObjectKey":["k",5,""]}"#);
        assert!(matches!(n, Notice::Objects { bad: 2, .. }), "{n:?}");
    }

    macro_rules! decodes {
        ($name:ident, $input:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(decode_key($input), $want);
            }
        };
    }

    decodes!(plus_is_space, "a+b", "a b");
    decodes!(percent_escapes, "a%2Bb%20c%3D%2F", "a+b c=/");
    decodes!(utf8_escapes, "caf%C3%A9", "café");
    decodes!(bad_escape_kept, "100%zz%4", "100%zz%4");
    decodes!(
        plain_kept,
        "AWSLogs/o-a1b2/1.json.gz",
        "AWSLogs/o-a1b2/1.json.gz"
    );
    decodes!(invalid_utf8_replaced, "%FF", "\u{fffd}");

    macro_rules! kinds {
        ($name:ident, $key:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(key_kind($key), $want);
            }
        };
    }

    kinds!(log_gz, "AWSLogs/111122223333/CloudTrail/us-east-1/2025/03/14/111122223333_CloudTrail_us-east-1_20250314T0000Z_abc.json.gz", KeyKind::Log);
    kinds!(log_plain, "x/y.json", KeyKind::Log);
    kinds!(digest, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/03/14/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20250314T000000Z.json.gz", KeyKind::Digest);
    kinds!(
        folder_marker,
        "AWSLogs/111122223333/CloudTrail/",
        KeyKind::Other
    );
    kinds!(
        other_file,
        "AWSLogs/111122223333/CloudTrail/us-east-1/2025/03/14/notes.txt",
        KeyKind::Other
    );
    kinds!(jsonl_not_a_log, "a/b.jsonl.gz", KeyKind::Other);
    kinds!(name_only_counts, "x.json.gz/readme", KeyKind::Other);

    fn day(s: &str) -> Option<Day> {
        Day::parse(s)
    }

    macro_rules! days {
        ($name:ident, $key:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(key_day($key), $want.and_then(day));
            }
        };
    }

    days!(
        org_trail,
        "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/2025/03/14/f.json.gz",
        Some("2025-03-14")
    );
    days!(
        account_trail_with_prefix,
        "my/prefix/AWSLogs/111122223333/CloudTrail/us-east-1/2024/02/29/f.json.gz",
        Some("2024-02-29")
    );
    days!(
        digest_path_dated_too,
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/02/f.json.gz",
        Some("2025-01-02")
    );
    days!(
        invalid_date,
        "AWSLogs/111122223333/CloudTrail/us-east-1/2025/02/30/f.json.gz",
        None::<&str>
    );
    days!(
        no_file_after_date,
        "AWSLogs/111122223333/CloudTrail/us-east-1/2025/02/03/",
        None::<&str>
    );
    days!(
        short_account,
        "AWSLogs/11112222333/CloudTrail/us-east-1/2025/02/03/f.json.gz",
        None::<&str>
    );
    days!(no_date_path, "logs/f.json.gz", None::<&str>);
    days!(
        one_digit_month,
        "AWSLogs/111122223333/CloudTrail/us-east-1/2025/2/03/f.json.gz",
        None::<&str>
    );

    #[test]
    fn day_parse_is_strict() {
        assert_eq!(Day::parse("1970-01-02"), Some(Day(1)));
        for bad in [
            "2025-1-01",
            "2025-13-01",
            "25-01-01",
            "2025-01-01x",
            "2025/01/01",
            "",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn selection_filters_by_date_then_name() {
        let range = DayRange {
            since: day("2025-03-12"),
            until: day("2025-03-13"),
        };
        let mut s = Selection::default();
        let base = "AWSLogs/o-x/111122223333";
        for (key, size) in [
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/11/a.json.gz"),
                1,
            ),
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/12/b.json.gz"),
                2,
            ),
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/13/c.json.gz"),
                3,
            ),
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/14/d.json.gz"),
                4,
            ),
            (
                format!(
                    "{base}/CloudTrail-Digest/us-east-1/2025/03/12/x_CloudTrail-Digest_y.json.gz"
                ),
                5,
            ),
            (
                format!("{base}/CloudTrail/us-east-1/2025/03/12/notes.txt"),
                6,
            ),
            ("elsewhere/e.json.gz".to_owned(), 7),
        ] {
            s.add(&key, size, &range);
        }
        assert_eq!(
            s.selected,
            vec![
                (
                    format!("{base}/CloudTrail/us-east-1/2025/03/12/b.json.gz"),
                    2
                ),
                (
                    format!("{base}/CloudTrail/us-east-1/2025/03/13/c.json.gz"),
                    3
                )
            ]
        );
        assert_eq!((s.digests, s.other, s.outside, s.undated), (1, 1, 2, 1));
        // Without a range nothing is dated out.
        let mut open = Selection::default();
        open.add("elsewhere/e.json.gz", 7, &DayRange::default());
        assert_eq!(open.selected.len(), 1);
    }

    #[test]
    fn s3_urls() {
        let u = S3Url::parse("s3://bucket/AWSLogs/o-1/").unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.prefix.as_str()),
            ("bucket", "AWSLogs/o-1/")
        );
        assert_eq!(S3Url::parse("s3://bucket").unwrap().prefix, "");
        assert_eq!(S3Url::parse("s3:///x"), None);
        assert_eq!(S3Url::parse("logs/x"), None);
        assert_eq!(
            ObjectRef::new("b", "k\u{1b}[31m").url(),
            "s3://b/k\\u{1b}[31m",
            "keys are sanitised"
        );
    }

    #[test]
    fn batch_jobs_of_both_schemas() {
        let v1 = r#"{"invocationSchemaVersion":"1.0","invocationId":"inv","job":{"id":"j"},"tasks":[{"taskId":"t1","s3Key":"a+b%2Fc.json.gz","s3VersionId":null,"s3BucketArn":"arn:aws:s3:::logs"}]}"#;
        let job = batch_job(v1).unwrap();
        assert_eq!(job.schema, "1.0");
        assert_eq!(
            job.tasks[0].object,
            Ok(ObjectRef::new("logs", "a b/c.json.gz"))
        );
        let v2 = r#"{"invocationSchemaVersion":"2.0","invocationId":"inv","job":{"id":"j","userArguments":{}},"tasks":[{"taskId":"t1","s3Key":"k.json","s3VersionId":"v1","s3Bucket":"logs2"},{"taskId":"t2","s3Bucket":"logs2"}]}"#;
        let job = batch_job(v2).unwrap();
        let mut want = ObjectRef::new("logs2", "k.json");
        want.version_id = Some("v1".into());
        assert_eq!(job.tasks[0].object, Ok(want));
        assert!(job.tasks[1].object.is_err());
        let resp = job.response(&[
            (ResultCode::Succeeded, "ok".into()),
            (ResultCode::PermanentFailure, "line\nbreak".into()),
        ]);
        assert_eq!(
            resp,
            json!({"invocationSchemaVersion": "2.0", "treatMissingKeysAs": "PermanentFailure", "invocationId": "inv",
                "results": [{"taskId": "t1", "resultCode": "Succeeded", "resultString": "ok"},
                            {"taskId": "t2", "resultCode": "PermanentFailure", "resultString": "line\\u{a}break"}]})
        );
        assert_eq!(batch_job(r#"{"Records":[]}"#), None);
        assert_eq!(batch_job(r#"{"invocationSchemaVersion":"1.0"}"#), None);
    }

    fn gz(text: &str) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    async fn decode_all(body: Body) -> (Vec<Decoded>, Fed, Result<(), String>) {
        let mut d = decoder();
        let consume = async {
            let mut all = Vec::new();
            while let Some(batch) = d.output.recv().await {
                all.extend(batch);
            }
            all
        };
        let (fed, all) = tokio::join!(feed(body, d.input), consume);
        let done = d.done.await.unwrap().map_err(|e| e.to_string());
        (all, fed, done)
    }

    #[tokio::test]
    async fn streams_a_gzip_object_in_order() {
        let records: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"eventName":"E{i}","eventID":"{i}"}}"#))
            .collect();
        let bytes = gz(&format!(r#"{{"Records":[{}]}}"#, records.join(",")));
        let n = bytes.len() as u64;
        let body = Body::from_chunks(bytes.chunks(100).map(|c| Ok(c.to_vec())));
        let (all, fed, done) = decode_all(body).await;
        assert_eq!(done, Ok(()));
        assert_eq!(
            fed,
            Fed {
                bytes: n,
                error: None
            }
        );
        assert_eq!(all.len(), 1000);
        assert_eq!(
            all[999],
            Decoded::Record {
                index: 999,
                json: records[999].clone(),
                enveloped: false
            }
        );
    }

    #[tokio::test]
    async fn a_failing_body_is_reported_as_the_source_error() {
        let bytes = gz(r#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#);
        let body = Body::from_chunks([
            Ok(bytes[..10].to_vec()),
            Err(ObjectError::Retryable("connection reset".into())),
        ]);
        let (_, fed, done) = decode_all(body).await;
        assert_eq!(
            fed.error,
            Some(ObjectError::Retryable("connection reset".into()))
        );
        assert!(done.is_err());
    }

    #[tokio::test]
    async fn a_corrupt_object_hands_over_what_came_before() {
        let body = Body::from_chunks([Ok(br#"{"Records":[{"eventName":"A"},{oops"#.to_vec())]);
        let (all, fed, done) = decode_all(body).await;
        assert_eq!(fed.error, None);
        assert_eq!(all.len(), 1);
        assert!(done.unwrap_err().contains("record 1"));
        // Truncated gzip.
        let bytes = gz(r#"{"Records":[{"eventName":"A"}]}"#);
        let body = Body::from_chunks([Ok(bytes[..bytes.len() - 12].to_vec())]);
        let (_, _, done) = decode_all(body).await;
        assert!(done.is_err());
    }

    #[tokio::test]
    async fn learn_finds_the_sessions_an_object_issues() {
        let text = std::fs::read_to_string(
            "events/sessions/user-role-chain/111122223333_CloudTrail_us-east-1_20261120T0900Z_c.json",
        )
        .unwrap();
        let (t, fed) = learn(Body::from_chunks([Ok(gz(&text))]), "x".into()).await;
        assert_eq!(fed.error, None);
        assert!(!t.unwrap().is_empty());
        let (t, _) = learn(Body::from_chunks([Ok(gz(r#"{"Records":[]}"#))]), "x".into()).await;
        assert!(t.unwrap().is_empty());
    }

    #[tokio::test]
    async fn fake_serves_chunks_and_fails_on_demand() {
        let f = FakeObjects::default();
        f.put("b", "k", vec![7; 2500]);
        f.break_after("b", "k", 1500, ObjectError::Retryable("reset".into()));
        let mut body = f.get(&ObjectRef::new("b", "k")).await.unwrap();
        let mut got = Vec::new();
        while let Some(c) = body.next_chunk().await {
            got.push(c.map(|c| c.len()));
        }
        assert_eq!(
            got,
            vec![
                Ok(1000),
                Ok(500),
                Err(ObjectError::Retryable("reset".into()))
            ]
        );
        f.fail("b", "x", ObjectError::Denied("no".into()));
        assert!(matches!(
            f.get(&ObjectRef::new("b", "x")).await,
            Err(ObjectError::Denied(_))
        ));
        assert!(matches!(
            f.get(&ObjectRef::new("b", "y")).await,
            Err(ObjectError::NotFound(_))
        ));
        assert_eq!(f.gets(), vec!["b/k", "b/x", "b/y"]);
    }

    #[tokio::test]
    async fn download_writes_the_object_as_stored() {
        let f = FakeObjects::default();
        f.put("b", "k", vec![1; 2100]);
        let dir = std::env::temp_dir().join(format!("rootwatch-s3-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        assert_eq!(
            download(&f, &ObjectRef::new("b", "k"), &path).await,
            Ok(2100)
        );
        assert_eq!(std::fs::read(&path).unwrap(), vec![1; 2100]);
        assert!(download(&f, &ObjectRef::new("b", "missing"), &path)
            .await
            .is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
