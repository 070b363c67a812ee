//! `evaluate(&Record, &Principal) -> Vec<Finding>`: the root rules of `design.md`.

use crate::catalog::{self, PRIVILEGED_TASK_DOC, SIGNIN_EVENTS_DOC};
use crate::model::{Finding, Principal, PrincipalClass, Rule, Severity};
use crate::record::{raw_field, Record};
use crate::sanitize::{clean, MAX_FIELD, MAX_TEXT};

/// Console actions are recorded with `invokedBy: signin.amazonaws.com`: the human in the
/// console, not a service acting on its own.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>
pub const CONSOLE_INVOKER: &str = "signin.amazonaws.com";
/// CIS AWS Foundations 3.3 / CloudWatch metric filter for root usage (the peer we improve on).
/// <https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-1>
pub const ROOT_USE_DOC: &str =
    "https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-1";
/// `ConsoleLogin` records the result in `responseElements.ConsoleLogin` and MFA in
/// `additionalEventData.MFAUsed` ("Yes"/"No", spelling varies in case).
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html>
pub const CONSOLE_LOGIN: &str = "ConsoleLogin";
/// `sts:AssumeRoot` opens a short privileged root session in a member account.
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html>
pub const ASSUME_ROOT: &str = "AssumeRoot";

/// Evaluates every rule on one record. Pure: no I/O, no clock.
pub fn evaluate(record: &Record, principal: &Principal) -> Vec<Finding> {
    let mut out = Vec::new();
    let name = record.event_name();
    // Caller side of AssumeRoot: whoever calls it opens a root session elsewhere.
    if name == ASSUME_ROOT && matches!(record.event_source(), "sts.amazonaws.com" | "") {
        out.push(assume_root_caller(record, principal));
    }
    let own_root = principal.class == PrincipalClass::Root;
    let session_root = principal.class == PrincipalClass::RootSession;
    if record.is_service_event() {
        return out;
    }
    if !(own_root || session_root) {
        // Events only root can cause, recorded without a `type`.
        task_findings(record, false, &mut out);
        return out;
    }
    if own_root && name == CONSOLE_LOGIN {
        out.push(console_login(record));
        return out;
    }
    let action = action(record);
    let failed = failure_note(record);
    let lower_if = |sev: Severity, cond: bool| if cond { lower(sev) } else { sev };
    if own_root {
        let invoker = record.invoked_by();
        let service_made = invoker.is_some_and(|i| i != CONSOLE_INVOKER);
        if !service_made {
            let via = if invoker == Some(CONSOLE_INVOKER) {
                " in the console"
            } else {
                ""
            };
            let severity = if record.is_read_only() || record.failed() {
                Severity::Medium
            } else {
                Severity::High
            };
            out.push(Finding {
                rule: Rule::RootCredentialUse,
                severity,
                title: format!("Root user credentials used{via}: {action}{failed}"),
                task: None,
                doc: ROOT_USE_DOC,
            });
        }
    } else {
        let account = principal
            .account_id
            .as_deref()
            .unwrap_or("an unknown account");
        out.push(Finding {
            rule: Rule::RootSession,
            severity: lower_if(Severity::High, record.is_read_only() || record.failed()),
            title: format!(
                "Request in an AssumeRoot privileged session on {account}: {action}{failed}"
            ),
            task: None,
            doc: PRIVILEGED_TASK_DOC,
        });
    }
    task_findings(record, true, &mut out);
    out
}

fn task_findings(record: &Record, root: bool, out: &mut Vec<Finding>) {
    // Most records match no row: build the texts only when one does.
    let mut rows = catalog::matching(record, root).peekable();
    if rows.peek().is_none() {
        return;
    }
    let action = action(record);
    let failed = failure_note(record);
    for entry in rows {
        out.push(Finding {
            rule: Rule::RootOnlyTask,
            severity: if record.failed() {
                lower(entry.severity)
            } else {
                entry.severity
            },
            title: format!("Root-only task: {} ({action}){failed}", entry.what),
            task: Some(entry.task),
            doc: entry.doc,
        });
    }
}

fn console_login(record: &Record) -> Finding {
    let result = record
        .response_elements
        .and_then(|r| raw_field(r, CONSOLE_LOGIN));
    let failed = record.failed()
        || result
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("Failure"));
    if failed {
        let why = record
            .error_message
            .as_deref()
            .map(|m| format!(": {}", clean(m, MAX_TEXT)))
            .unwrap_or_default();
        return Finding {
            rule: Rule::RootConsoleLoginFailure,
            severity: Severity::Medium,
            title: format!("Root user console sign-in failed{why}"),
            task: None,
            doc: SIGNIN_EVENTS_DOC,
        };
    }
    let mfa = record
        .additional_event_data
        .and_then(|d| raw_field(d, "MFAUsed"))
        .and_then(|m| crate::lenient::parse_bool(&m));
    let (severity, how) = match mfa {
        Some(true) => (Severity::High, "with MFA"),
        Some(false) => (Severity::Critical, "without MFA"),
        None => (Severity::Critical, "(MFA use not recorded)"),
    };
    Finding {
        rule: Rule::RootConsoleLogin,
        severity,
        title: format!("Root user signed in to the console {how}"),
        task: None,
        doc: SIGNIN_EVENTS_DOC,
    }
}

fn assume_root_caller(record: &Record, principal: &Principal) -> Finding {
    let target = record
        .request_param("targetPrincipal")
        .map(|t| clean(&t, MAX_FIELD))
        .unwrap_or_else(|| "an unknown account".into());
    let task = record
        .request_parameters
        .and_then(crate::assume::task_policy)
        .map(|arn| {
            format!(
                " (task {})",
                clean(arn.rsplit('/').next().unwrap_or(&arn), MAX_FIELD)
            )
        })
        .unwrap_or_default();
    let who = principal
        .arn
        .as_deref()
        .or(principal.principal_id.as_deref())
        .unwrap_or("an unknown principal");
    let failed = failure_note(record);
    Finding {
        rule: Rule::RootSession,
        severity: if record.failed() {
            Severity::Medium
        } else {
            Severity::High
        },
        title: format!(
            "AssumeRoot: privileged root session on {target} requested by {who}{task}{failed}"
        ),
        task: None,
        doc: PRIVILEGED_TASK_DOC,
    }
}

/// `service:EventName`, sanitised.
pub fn action(record: &Record) -> String {
    let service = record.event_source().trim_end_matches(".amazonaws.com");
    clean(&format!("{service}:{}", record.event_name()), MAX_FIELD)
}

fn failure_note(record: &Record) -> String {
    if !record.failed() {
        return String::new();
    }
    let code = record
        .error_code
        .as_deref()
        .or(record.error_message.as_deref())
        .unwrap_or("error");
    format!(" — failed: {}", clean(code, 80))
}

fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        _ => Severity::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classify;
    use crate::model::Task;

    fn fired(json: &str) -> Vec<(Rule, Severity, Option<Task>)> {
        let r = Record::from_json(json).unwrap();
        evaluate(&r, &classify(&r))
            .into_iter()
            .map(|f| (f.rule, f.severity, f.task))
            .collect()
    }

    macro_rules! yields {
        ($name:ident, $json:expr, [$(($rule:ident, $sev:ident $(, $task:ident)?)),*]) => {
            #[test]
            fn $name() {
                let want: Vec<(Rule, Severity, Option<Task>)> =
                    vec![$((Rule::$rule, Severity::$sev, None $(.or(Some(Task::$task)))?)),*];
                assert_eq!(fired($json), want, "{}", $json);
            }
        };
    }

    const ROOT: &str = r#""userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}"#;

    yields!(
        login_no_mfa,
        &format!(
            r#"{{{ROOT},"eventName":"ConsoleLogin","responseElements":{{"ConsoleLogin":"Success"}},"additionalEventData":{{"MFAUsed":"No"}}}}"#
        ),
        [(RootConsoleLogin, Critical)]
    );
    yields!(
        login_mfa_upper,
        &format!(
            r#"{{{ROOT},"eventName":"ConsoleLogin","responseElements":{{"ConsoleLogin":"Success"}},"additionalEventData":{{"MFAUsed":"YES"}}}}"#
        ),
        [(RootConsoleLogin, High)]
    );
    yields!(
        login_failure,
        &format!(
            r#"{{{ROOT},"eventName":"ConsoleLogin","errorMessage":"Failed authentication","responseElements":{{"ConsoleLogin":"Failure"}}}}"#
        ),
        [(RootConsoleLoginFailure, Medium)]
    );
    yields!(
        iam_user_login_silent,
        r#"{"userIdentity":{"type":"IAMUser"},"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"}}"#,
        []
    );
    yields!(
        root_write,
        &format!(
            r#"{{{ROOT},"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","readOnly":false}}"#
        ),
        [(RootCredentialUse, High)]
    );
    yields!(
        root_read,
        &format!(
            r#"{{{ROOT},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","readOnly":"true"}}"#
        ),
        [(RootCredentialUse, Medium)]
    );
    yields!(
        root_read_by_verb,
        &format!(r#"{{{ROOT},"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances"}}"#),
        [(RootCredentialUse, Medium)]
    );
    yields!(
        root_console_key,
        r#"{"userIdentity":{"type":"Root","invokedBy":"signin.amazonaws.com"},"eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","readOnly":false}"#,
        [
            (RootCredentialUse, High),
            (RootOnlyTask, Critical, RootAccessKey)
        ]
    );
    yields!(
        root_service_invoked_not_use,
        r#"{"userIdentity":{"type":"Root","invokedBy":"cloudformation.amazonaws.com"},"eventSource":"ec2.amazonaws.com","eventName":"RunInstances"}"#,
        []
    );
    yields!(
        root_service_event_not_use,
        &format!(
            r#"{{{ROOT},"eventType":"AwsServiceEvent","eventSource":"ec2.amazonaws.com","eventName":"X"}}"#
        ),
        []
    );
    yields!(
        root_failed_is_medium,
        &format!(
            r#"{{{ROOT},"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","errorCode":"AccessDenied"}}"#
        ),
        [(RootCredentialUse, Medium)]
    );
    yields!(
        session_not_credential_use,
        r#"{"userIdentity":{"type":"Root","accountId":"444455556666","sessionContext":{"assumedRoot":"true"}},"eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy","readOnly":false}"#,
        [
            (RootSession, High),
            (RootOnlyTask, High, S3BucketPolicyUnlock)
        ]
    );
    yields!(
        assume_root_caller,
        r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/bob"},"eventSource":"sts.amazonaws.com","eventName":"AssumeRoot","requestParameters":{"targetPrincipal":"444455556666","taskPolicyArn":{"arn":"arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"}}}"#,
        [(RootSession, High)]
    );
    yields!(
        assume_root_denied,
        r#"{"userIdentity":{"type":"IAMUser"},"eventSource":"sts.amazonaws.com","eventName":"AssumeRoot","errorCode":"AccessDenied"}"#,
        [(RootSession, Medium)]
    );
    yields!(
        role_session_silent,
        r#"{"userIdentity":{"type":"AssumedRole"},"eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey"}"#,
        []
    );

    #[test]
    fn assume_root_title_names_admin_and_task() {
        let r = Record::from_json(r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/bob"},"eventSource":"sts.amazonaws.com","eventName":"AssumeRoot","requestParameters":{"targetPrincipal":"444455556666","taskPolicyArn":{"arn":"arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"}}}"#).unwrap();
        let f = evaluate(&r, &classify(&r));
        assert_eq!(f[0].title, "AssumeRoot: privileged root session on 444455556666 requested by arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/bob (task S3UnlockBucketPolicy)");
    }
}
