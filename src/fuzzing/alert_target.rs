//! The `alert` part of the fuzz bodies (see the module above).

use super::*;

/// Realistic records that alert, whose attacker-chosen fields the `alert` target replaces.
pub(crate) const TEMPLATES: &[&str] = &[
    // root console sign-in without MFA
    r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2026-11-23T04:12:09Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No","LoginTo":"https://console.aws.amazon.com/"},"eventID":"11111111-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#,
    // root credentials used in the console
    r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"ASIAROOTCONSOLE0001","invokedBy":"signin.amazonaws.com","sessionContext":{"sessionIssuer":{},"attributes":{"creationDate":"2026-11-23T04:12:09Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-23T04:15:37Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"AWS Internal","requestParameters":{"userName":"backdoor"},"responseElements":null,"eventID":"22222222-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#,
    // root-only task, failed, with an error message
    r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"AKIAROOTKEY00000001"},"eventTime":"2026-11-23T05:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","errorCode":"LimitExceeded","errorMessage":"Cannot exceed quota for AccessKeysPerUser: 2","requestParameters":{},"responseElements":null,"eventID":"33333333-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#,
    // sts:AssumeRoot by an Identity Center session
    r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:admin","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_RootAccess_0123456789abcdef/admin","accountId":"111122223333","accessKeyId":"ASIASSOADMIN0000001","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_RootAccess_0123456789abcdef","accountId":"111122223333","userName":"AWSReservedSSO_RootAccess_0123456789abcdef"},"attributes":{"creationDate":"2026-11-21T13:55:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-21T14:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRoot","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.22.0","requestParameters":{"targetPrincipal":"222233334444","taskPolicyArn":{"arn":"arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"},"durationSeconds":900},"responseElements":{"credentials":{"accessKeyId":"ASIAROOTSESSION0001","sessionToken":"x","expiration":"Nov 21, 2026, 2:15:00 PM"}},"eventID":"44444444-2222-3333-4444-555555555555","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#,
    // AssumeRole of a watched role from an untrusted account
    r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::999988887777:user/mallory","accountId":"999988887777","accessKeyId":"AKIAMALLORY00000001","userName":"mallory"},"eventTime":"2026-11-20T09:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10","userAgent":"Boto3/1.35.0","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/BreakGlassAdmin","roleSessionName":"mallory","sourceIdentity":"mallory@example.com","durationSeconds":3600},"responseElements":{"credentials":{"accessKeyId":"ASIABREAKGLASS00001","sessionToken":"x","expiration":"Nov 20, 2026, 10:00:00 AM"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLE:mallory","arn":"arn:aws:sts::444455556666:assumed-role/BreakGlassAdmin/mallory"}},"eventID":"55555555-2222-3333-4444-555555555555","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"444455556666"}"#,
    // root console sign-in failure
    r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2026-11-23T04:11:30Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"Mozilla/5.0","errorMessage":"Failed authentication","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"eventID":"66666666-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#,
];

/// A request made with the key a template issued (`KEY` and `TIME` are replaced).
pub(crate) const FOLLOW_UP: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"222233334444","arn":"arn:aws:iam::222233334444:root","accountId":"222233334444","accessKeyId":"KEY","sessionContext":{"attributes":{"creationDate":"TIME","mfaAuthenticated":"false"},"assumedRoot":"true"}},"eventTime":"TIME","eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.22.0","requestParameters":{"bucketName":"locked"},"responseElements":null,"eventID":"77777777-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"222233334444"}"#;

/// The fields the `alert` target sets, in the order of the input's chunks.
pub(crate) const FIELDS: &[&[&str]] = &[
    &["userAgent"],
    &["requestParameters", "roleSessionName"],
    &["userIdentity", "arn"],
    &["errorMessage"],
    &["requestParameters", "roleArn"],
    &["sourceIPAddress"],
    &["eventID"],
    &["userIdentity", "accountId"],
    &["awsRegion"],
    &["requestParameters", "sourceIdentity"],
    &["requestParameters", "taskPolicyArn", "arn"],
    &["requestParameters", "targetPrincipal"],
    &["responseElements", "credentials", "accessKeyId"],
    &["responseElements", "credentials", "expiration"],
    &["userIdentity", "principalId"],
    &["userIdentity", "userName"],
    &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
    &["errorCode"],
    &["eventName"],
    &["eventSource"],
    &["eventTime"],
    &["userIdentity", "type"],
    &["userIdentity", "invokedBy"],
    &["additionalEventData", "MFAUsed"],
    &["responseElements", "ConsoleLogin"],
    &["requestParameters", "durationSeconds"],
    &["requestParameters"],
];

/// Separates the chunks of an `alert` input (never part of UTF-8 text).
pub const ALERT_SEPARATOR: u8 = 0xff;
/// A chunk that starts with this byte is JSON to put in the field as is (when it parses).
pub const ALERT_RAW_JSON: u8 = 0xfe;

pub(crate) fn set_path(v: &mut Value, path: &[&str], new: Value) {
    let mut cur = v;
    for (i, key) in path.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let obj = cur.as_object_mut().expect("just made an object");
        if i + 1 == path.len() {
            obj.insert((*key).to_owned(), new);
            return;
        }
        cur = obj.entry(*key).or_insert_with(|| json!({}));
    }
}

pub(crate) fn chunk_value(chunk: &[u8]) -> Value {
    if let Some(raw) = chunk.strip_prefix(&[ALERT_RAW_JSON]) {
        if let Ok(v) = serde_json::from_slice::<Value>(raw) {
            return v;
        }
    }
    Value::String(String::from_utf8_lossy(chunk).into_owned())
}

/// Encodes an `alert` input: the control byte, then one chunk per field of [`FIELDS`] (in
/// realistic mode) or of the raw report (otherwise). Used to build seeds.
pub fn alert_input(control: u8, chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![control];
    for c in chunks {
        out.push(ALERT_SEPARATOR);
        out.extend_from_slice(c);
    }
    out
}

/// Control byte of an `alert` input: bit 0 the format (chatbot when set), bits 1-3 the minimum
/// severity, bit 4 raw mode (an arbitrary report instead of a record), bits 5-7 the template.
pub fn alert(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let format = if control & 1 == 1 {
        AlertFormat::Chatbot
    } else {
        AlertFormat::Standard
    };
    let min = Severity::ALL[usize::from(control >> 1 & 7) % Severity::ALL.len()];
    let chunks: Vec<&[u8]> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.strip_prefix(&[ALERT_SEPARATOR])
            .unwrap_or(rest)
            .split(|b| *b == ALERT_SEPARATOR)
            .collect()
    };
    if control & 0x10 != 0 {
        let report = raw_report(&chunks);
        alert_checked(&report, min, format);
        return;
    }
    let template = usize::from(control >> 5) % TEMPLATES.len();
    let mut rec: Value = serde_json::from_str(TEMPLATES[template]).expect("template parses");
    for (path, chunk) in FIELDS.iter().zip(&chunks) {
        set_path(&mut rec, path, chunk_value(chunk));
    }
    let text = rec.to_string();
    let rec = Record::from_json(&text).expect("a JSON object is a record");
    let config = rule_config();
    let mut tracker = sample_tracker();
    let report = report_with(&rec, &tracker, &config);
    check_report(&report);
    if let Some(a) = alert_checked(&report, min, format) {
        check_attributes(&a);
    }
    // A request made with the key the record issued: its alert names the session's origin.
    let (_, issued) = tracker.observe(&report);
    let (Some(_), Some(key), Some(time)) = (
        issued,
        report
            .assumption
            .as_ref()
            .and_then(|a| a.access_key_id.clone()),
        rec.event_time.as_deref(),
    ) else {
        return;
    };
    let follow = FOLLOW_UP
        .replace("\"KEY\"", &Value::String(key).to_string())
        .replace("\"TIME\"", &Value::String(time.to_owned()).to_string());
    let rec = Record::from_json(&follow).expect("follow-up parses");
    let report = report_with(&rec, &tracker, &config);
    check_report(&report);
    if let Some(a) = alert_checked(&report, min, format) {
        check_attributes(&a);
    }
}

/// Builds the alert and checks it, and that it is there exactly when a finding is at or above
/// `min`, led by the most severe one.
pub(crate) fn alert_checked(
    report: &RecordReport,
    min: Severity,
    format: AlertFormat,
) -> Option<Alert> {
    let top = report
        .findings
        .iter()
        .map(|f| f.severity)
        .filter(|s| *s >= min)
        .max();
    let a = alert::build(report, min, format);
    assert_eq!(a.as_ref().map(|a| a.severity), top, "alert severity");
    if let Some(a) = &a {
        check_alert(a, format);
    }
    a
}

/// An arbitrary report, its strings raw (not sanitised as analysis does), for the alert's own
/// last line of defence.
pub(crate) fn raw_report(chunks: &[&[u8]]) -> RecordReport {
    let mut it = chunks.iter().copied();
    let it = &mut it;
    fn next<'c, T: From<String>>(it: &mut impl Iterator<Item = &'c [u8]>) -> Option<T> {
        it.next()
            .map(|c| T::from(String::from_utf8_lossy(c).into_owned()))
    }
    let pick = |s: &Option<crate::core::model::Str>, n: usize| {
        s.as_deref()
            .and_then(|s| s.bytes().next())
            .map_or(0, |b| usize::from(b) % n)
    };
    let mut r = RecordReport {
        event_id: next(it),
        event_name: next(it),
        event_source: next(it),
        event_time: next(it),
        aws_region: next(it),
        source_ip: next(it),
        user_agent: next(it),
        error_code: next(it),
        read_only: false,
        principal: Principal {
            kind: next(it),
            class: PrincipalClass::Root,
            arn: next(it),
            account_id: next(it),
            access_key_id: next(it),
            principal_id: next(it),
            user_name: next(it),
            mfa_authenticated: None,
            invoked_by: next(it),
            session_issuer: next(it),
            session_name: next(it),
            source_identity: next(it),
        },
        findings: Vec::new(),
        assumption: None,
        origin: None,
        input: input_ref(),
    };
    r.principal.class = PrincipalClass::ALL[pick(&r.principal.kind, PrincipalClass::ALL.len())];
    // Findings: a shape chunk (rule, severity, task, repeat per finding) and a title chunk.
    let shape = it.next().unwrap_or_default();
    let title: String = next(it).unwrap_or_default();
    // Enough text to need cutting to SNS's size (the message repeats the findings about seven
    // times: text twice, document five times), not so much that executions crawl.
    let mut budget = MAX_MESSAGE_BYTES / 4;
    for f in shape.chunks(4).take(32) {
        let at = |i: usize| f.get(i).copied().map_or(0, usize::from);
        // Most findings have one title; a fourth byte from 0xc0 up repeats it up to 63 times.
        let times = (1 + at(3).saturating_sub(0xc0))
            .min(budget / title.len().max(1))
            .max(1);
        budget = budget.saturating_sub(title.len() * times);
        r.findings.push(Finding {
            rule: Rule::ALL[at(0) % Rule::ALL.len()],
            severity: Severity::ALL[at(1) % Severity::ALL.len()],
            title: title.repeat(times),
            task: (at(2) % 2 == 1).then(|| Task::ALL[at(2) / 2 % Task::ALL.len()]),
            doc: "https://docs.aws.amazon.com/",
            suppressed: None,
        });
    }
    // An origin with hops, when there is anything left.
    if let Some(arn) = next(it) {
        let mut origin = Origin {
            arn: Some(arn),
            name: next(it),
            kind: next(it),
            class: PrincipalClass::IamUser,
            account_id: next(it),
            chain: Vec::new(),
        };
        while let Some(api) = next(it) {
            origin.chain.push(Hop {
                api,
                role_arn: next(it),
                session_name: next(it),
                account: next(it),
                source_identity: next(it),
                task_policy: next(it),
                access_key_id: next(it).unwrap_or_default(),
                issued: next(it).unwrap_or_default(),
                expires: next(it).unwrap_or_default(),
                event_id: next(it),
            });
        }
        r.origin = Some(origin);
    }
    r
}
