//! `evaluate(&Record, &Principal, &Context) -> Vec<Finding>`: the root rules of `design.md`, and
//! the two configurable session rules.

use crate::core::catalog::{self, PRIVILEGED_TASK_DOC, SIGNIN_EVENTS_DOC};
use crate::core::classify::arn_account;
use crate::core::model::{Finding, Origin, Principal, PrincipalClass, Rule, Severity};
use crate::core::record::{raw_field, Record};
use crate::core::sanitize::{clean, MAX_FIELD, MAX_TEXT};
use crate::core::task_policy;

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

/// Role assumption: a role's trust policy names who may call `sts:AssumeRole*` on it.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html>
pub const ROLE_ASSUME_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html";
/// Cross-account access: the caller's account is `userIdentity.accountId` of the AssumeRole
/// record; the role's account is in `requestParameters.roleArn`.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_aws-accounts.html>
pub const CROSS_ACCOUNT_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_aws-accounts.html";
/// The APIs that assume a role named by `requestParameters.roleArn`.
pub const ROLE_APIS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
];

/// Settings of the configurable rules, read once (CLI flags or the function's environment).
/// Empty lists leave the rules off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleConfig {
    /// Role ARN patterns (`*` matches any run of characters) whose assumption always alerts.
    pub watched_roles: Vec<String>,
    /// Accounts allowed to assume roles in other accounts; a role's own account always is.
    pub trusted_accounts: Vec<String>,
    /// The detector's own resources (names, ARNs, URLs; `*` globs) for `detector-tamper`.
    pub detector_resources: Vec<String>,
}

impl RuleConfig {
    pub const NONE: RuleConfig = RuleConfig {
        watched_roles: Vec::new(),
        trusted_accounts: Vec::new(),
        detector_resources: Vec::new(),
    };

    /// Parses comma- or whitespace-separated lists (`WATCHED_ROLES`, `TRUSTED_ACCOUNTS`).
    pub fn from_lists(watched: &[String], trusted: &[String]) -> Result<RuleConfig, String> {
        let watched_roles = split_list(watched);
        for p in &watched_roles {
            if !p.starts_with("arn:") && p != "*" {
                return Err(format!(
                    "role pattern {p:?} is not an ARN pattern (e.g. arn:aws:iam::*:role/BreakGlass*)"
                ));
            }
        }
        let trusted_accounts = split_list(trusted);
        for a in &trusted_accounts {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("account {a:?} is not a 12-digit AWS account id"));
            }
        }
        Ok(RuleConfig {
            watched_roles,
            trusted_accounts,
            detector_resources: Vec::new(),
        })
    }

    /// Adds the detector's own resources (`DETECTOR_RESOURCES`, `--detector-resource`): comma- or
    /// whitespace-separated names, ARNs or URLs, `*` globs. A pattern that is only `*` would
    /// call every change to any resource tampering, and is refused.
    pub fn with_detector_resources(mut self, items: &[String]) -> Result<RuleConfig, String> {
        let list = split_list(items);
        for r in &list {
            if r.bytes().all(|b| b == b'*') {
                return Err(format!(
                    "detector resource {r:?} matches everything; name the stack's resources (e.g. rootwatch-*)"
                ));
            }
            if r.chars().any(char::is_control) {
                return Err(format!(
                    "detector resource {r:?} contains control characters"
                ));
            }
        }
        self.detector_resources = list;
        Ok(self)
    }
}

fn split_list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .flat_map(|s| s.split([',', ' ', '\n', '\t']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `*`-wildcard match (no other metacharacters), linear time.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// What a rule may know beyond the record: the session origin and the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub origin: Option<&'a Origin>,
    pub config: &'a RuleConfig,
}

impl Context<'_> {
    pub const NONE: Context<'static> = Context {
        origin: None,
        config: &RuleConfig::NONE,
    };
}

/// Evaluates every rule on one record. Pure: no I/O, no clock.
pub fn evaluate(record: &Record, principal: &Principal, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    let name = record.event_name();
    if ROLE_APIS.contains(&name) {
        role_findings(record, principal, ctx, &mut out);
    }
    // Caller side of AssumeRoot: whoever calls it opens a root session elsewhere.
    if name == ASSUME_ROOT && matches!(record.event_source(), "sts.amazonaws.com" | "") {
        out.push(assume_root_caller(record, principal));
    }
    if !record.is_service_event() {
        tamper_finding(record, principal, ctx, &mut out);
    }
    let own_root = principal.class == PrincipalClass::Root;
    let session_root = principal.class == PrincipalClass::RootSession;
    if record.is_service_event() {
        // No one's credentials made it; an event only root can cause still names its task.
        task_findings(record, false, &mut out);
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
        if !service_made && !is_recovery(record) {
            let via = if invoker == Some(CONSOLE_INVOKER) {
                " in the console"
            } else {
                ""
            };
            // CloudTrail marks STS token calls read-only, but one made with root credentials
            // returns credentials with root permissions: not a read.
            let issues = issues_credentials(record);
            let severity = if record.failed() || (record.is_read_only() && !issues) {
                Severity::Medium
            } else {
                Severity::High
            };
            let minted = if issues && !record.failed() {
                " (temporary credentials with root permissions)"
            } else {
                ""
            };
            out.push(Finding {
                rule: Rule::RootCredentialUse,
                severity,
                title: format!("Root user credentials used{via}: {action}{minted}{failed}"),
                task: None,
                doc: ROOT_USE_DOC,
                suppressed: None,
            });
        }
    } else {
        let account = principal
            .account_id
            .as_deref()
            .unwrap_or("an unknown account");
        let title = match ctx.origin {
            Some(o) => {
                let policy = o.last().and_then(|h| h.task_policy.as_deref());
                let task = policy
                    .map(|t| format!(" (task {})", t.rsplit('/').next().unwrap_or(t)))
                    .unwrap_or_default();
                // The task policy table says what the session may do; a request outside it is
                // named (AWS denies it, so it failed, or the key is not this session's).
                let outside = policy
                    .and_then(task_policy::by_arn)
                    .filter(|p| !p.permits(record))
                    .map(|p| format!(", outside task policy {}", p.name))
                    .unwrap_or_default();
                format!(
                    "Root session in {account} opened by {} via AssumeRoot{task}: {action}{outside}{failed}",
                    o.who()
                )
            }
            None => {
                format!(
                    "Request in an AssumeRoot privileged session on {account}: {action}{failed}"
                )
            }
        };
        out.push(Finding {
            rule: Rule::RootSession,
            severity: lower_if(Severity::High, record.is_read_only() || record.failed()),
            title,
            task: None,
            doc: PRIVILEGED_TASK_DOC,
            suppressed: None,
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
            suppressed: None,
        });
    }
}

/// `watched-role-assumed` and `untrusted-account-assumption` on an AssumeRole* record.
fn role_findings(record: &Record, principal: &Principal, ctx: &Context, out: &mut Vec<Finding>) {
    let cfg = ctx.config;
    if cfg.watched_roles.is_empty() && cfg.trusted_accounts.is_empty() {
        return;
    }
    let Some(role) = record.request_param("roleArn") else {
        return;
    };
    let who = principal.who();
    let started = started_by(ctx, who);
    let failed = failure_note(record);
    let shown = clean(&role, MAX_FIELD);
    if let Some(p) = cfg.watched_roles.iter().find(|p| glob(p, &role)) {
        out.push(Finding {
            rule: Rule::WatchedRoleAssumed,
            severity: if record.failed() {
                Severity::Medium
            } else {
                Severity::High
            },
            title: format!(
                "Watched role {shown} assumed by {who}{started} via {} (pattern {}){failed}",
                clean(record.event_name(), 40),
                clean(p, MAX_FIELD)
            ),
            task: None,
            doc: ROLE_ASSUME_DOC,
            suppressed: None,
        });
    }
    if cfg.trusted_accounts.is_empty() || record.event_name() != "AssumeRole" {
        return;
    }
    let (Some(caller), Some(owner)) = (principal.account_id.as_deref(), arn_account(&role)) else {
        return;
    };
    if principal.class == PrincipalClass::AwsService
        || caller == owner
        || cfg.trusted_accounts.iter().any(|a| a == caller)
    {
        return;
    }
    out.push(Finding {
        rule: Rule::UntrustedAccountAssumption,
        severity: if record.failed() {
            Severity::Medium
        } else {
            Severity::High
        },
        title: format!(
            "Role {shown} in {} assumed from untrusted account {caller} by {who}{started}{failed}",
            clean(owner, 20)
        ),
        task: None,
        doc: CROSS_ACCOUNT_DOC,
        suppressed: None,
    });
}

/// `detector-tamper`: the trail stopped, deleted or narrowed, or the detector's own resources
/// removed or changed (table in `src/tamper.rs`).
fn tamper_finding(record: &Record, principal: &Principal, ctx: &Context, out: &mut Vec<Finding>) {
    let Some((entry, named)) =
        crate::core::tamper::matching(record, &ctx.config.detector_resources)
    else {
        return;
    };
    let who = principal.who();
    let started = started_by(ctx, who);
    let on = named
        .map(|n| format!(" on {}", clean(&n, MAX_FIELD)))
        .unwrap_or_default();
    let via = if record.invoked_by() == Some(crate::core::tamper::CLOUDFORMATION_INVOKER) {
        " through CloudFormation"
    } else {
        ""
    };
    out.push(Finding {
        rule: Rule::DetectorTamper,
        severity: crate::core::tamper::severity(entry, record),
        title: format!(
            "Detector tampering: {}{on} by {}{started}{via} ({}){}",
            entry.what,
            clean(who, MAX_FIELD),
            action(record),
            failure_note(record)
        ),
        task: None,
        doc: entry.doc,
        suppressed: None,
    });
}

/// The principal named in titles.
/// " (session started by …)" when the session's origin is someone else.
fn started_by(ctx: &Context, who: &str) -> String {
    match ctx.origin {
        Some(o) if o.arn.as_deref() != Some(who) => format!(" (session started by {})", o.who()),
        _ => String::new(),
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
            suppressed: None,
        };
    }
    let mfa = record
        .additional_event_data
        .and_then(|d| raw_field(d, "MFAUsed"))
        .and_then(|m| crate::core::lenient::parse_bool(&m));
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
        suppressed: None,
    }
}

fn assume_root_caller(record: &Record, principal: &Principal) -> Finding {
    let target = record
        .request_param("targetPrincipal")
        .map(|t| clean(&t, MAX_FIELD))
        .unwrap_or_else(|| "an unknown account".into());
    let task = record
        .request_parameters
        .and_then(crate::core::assume::task_policy)
        .map(|arn| {
            format!(
                " (task {})",
                clean(arn.rsplit('/').next().unwrap_or(&arn), MAX_FIELD)
            )
        })
        .unwrap_or_default();
    let who = principal.who();
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
        suppressed: None,
    }
}

/// The root password recovery ("Forgot password?"): whoever controls the root e-mail address
/// asks for and completes it before any credential is checked, so it is no use of root
/// credentials; the root-only task catalog reports it.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reset-root-password.html>
const RECOVERY_EVENTS: &[&str] = &["PasswordRecoveryRequested", "PasswordRecoveryCompleted"];

fn is_recovery(record: &Record) -> bool {
    record.event_source() == CONSOLE_INVOKER && RECOVERY_EVENTS.contains(&record.event_name())
}

/// An STS call that issues temporary credentials. With root credentials, `GetSessionToken`'s
/// "temporary security credentials have root user permissions".
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getsessiontoken.html>
fn issues_credentials(record: &Record) -> bool {
    record.event_source() == "sts.amazonaws.com"
        && crate::core::assume::SESSION_APIS.contains(&record.event_name())
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
    use crate::core::classify::classify;
    use crate::core::model::Task;

    fn fired(json: &str) -> Vec<(Rule, Severity, Option<Task>)> {
        let r = Record::from_json(json).unwrap();
        evaluate(&r, &classify(&r), &Context::NONE)
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
        root_session_token_is_not_a_read,
        &format!(
            r#"{{{ROOT},"eventSource":"sts.amazonaws.com","eventName":"GetSessionToken","readOnly":true}}"#
        ),
        [(RootCredentialUse, High)]
    );
    yields!(
        root_session_token_denied_is_medium,
        &format!(
            r#"{{{ROOT},"eventSource":"sts.amazonaws.com","eventName":"GetSessionToken","readOnly":true,"errorCode":"AccessDenied"}}"#
        ),
        [(RootCredentialUse, Medium)]
    );
    yields!(
        recovery_is_a_task_not_credential_use,
        &format!(
            r#"{{{ROOT},"eventSource":"signin.amazonaws.com","eventName":"PasswordRecoveryRequested","eventType":"AwsConsoleSignIn"}}"#
        ),
        [(RootOnlyTask, High, RootPasswordRecovery)]
    );
    yields!(
        recovery_as_service_event_is_still_a_task,
        &format!(
            r#"{{{ROOT},"eventSource":"signin.amazonaws.com","eventName":"PasswordRecoveryRequested","eventType":"AwsServiceEvent"}}"#
        ),
        [(RootOnlyTask, High, RootPasswordRecovery)]
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
        let f = evaluate(&r, &classify(&r), &Context::NONE);
        assert_eq!(f[0].title, "AssumeRoot: privileged root session on 444455556666 requested by arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/bob (task S3UnlockBucketPolicy)");
    }

    fn fired_with(json: &str, watched: &str, trusted: &str) -> Vec<(Rule, Severity)> {
        let cfg = RuleConfig::from_lists(&[watched.to_owned()], &[trusted.to_owned()]).unwrap();
        let r = Record::from_json(json).unwrap();
        let ctx = Context {
            origin: None,
            config: &cfg,
        };
        evaluate(&r, &classify(&r), &ctx)
            .into_iter()
            .map(|f| (f.rule, f.severity))
            .collect()
    }

    macro_rules! configured {
        ($($name:ident: $json:expr, watch $w:expr, trust $t:expr => [$(($rule:ident, $sev:ident)),*];)*) => {$(
            #[test]
            fn $name() {
                let want: Vec<(Rule, Severity)> = vec![$((Rule::$rule, Severity::$sev)),*];
                assert_eq!(fired_with($json, $w, $t), want, "{}", $json);
            }
        )*};
    }

    const ALICE_TO_PROD: &str = r#"{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"},"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/BreakGlassAdmin","roleSessionName":"alice"}}"#;
    const ALICE_DENIED: &str = r#"{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"},"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","errorCode":"AccessDenied","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/BreakGlassAdmin"}}"#;
    const SAME_ACCOUNT: &str = r#"{"userIdentity":{"type":"IAMUser","accountId":"444455556666"},"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/Deploy"}}"#;
    const SERVICE: &str = r#"{"userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/Web"}}"#;
    const SAML: &str = r#"{"userIdentity":{"type":"SAMLUser","userName":"carol"},"eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithSAML","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/BreakGlassAdmin"}}"#;

    configured! {
        unconfigured_rules_stay_off: ALICE_TO_PROD, watch "", trust "" => [];
        watched_role_matches: ALICE_TO_PROD, watch "arn:aws:iam::*:role/BreakGlass*", trust "" => [(WatchedRoleAssumed, High)];
        watched_role_denied_is_medium: ALICE_DENIED, watch "arn:aws:iam::*:role/BreakGlass*", trust "" => [(WatchedRoleAssumed, Medium)];
        watched_role_other_name: ALICE_TO_PROD, watch "arn:aws:iam::*:role/Admin", trust "" => [];
        watched_role_by_saml: SAML, watch "arn:aws:iam::444455556666:role/*", trust "" => [(WatchedRoleAssumed, High)];
        untrusted_caller_account: ALICE_TO_PROD, watch "", trust "999988887777" => [(UntrustedAccountAssumption, High)];
        trusted_caller_account: ALICE_TO_PROD, watch "", trust "999988887777,111122223333" => [];
        same_account_is_trusted: SAME_ACCOUNT, watch "", trust "999988887777" => [];
        service_caller_is_not_an_account: SERVICE, watch "", trust "999988887777" => [];
        saml_is_not_cross_account: SAML, watch "", trust "999988887777" => [];
        both_rules: ALICE_TO_PROD, watch "arn:*BreakGlass*", trust "999988887777" => [(WatchedRoleAssumed, High), (UntrustedAccountAssumption, High)];
    }

    #[test]
    fn glob_cases() {
        for (p, t, want) in [
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            (
                "arn:aws:iam::*:role/BreakGlass*",
                "arn:aws:iam::1:role/BreakGlassX",
                true,
            ),
            ("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(glob(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(RuleConfig::from_lists(&["BreakGlass".into()], &[]).is_err());
        assert!(RuleConfig::from_lists(&[], &["1234".into()]).is_err());
        let ok = RuleConfig::from_lists(
            &["arn:a, arn:b".into()],
            &["111122223333 444455556666".into()],
        )
        .unwrap();
        assert_eq!(ok.watched_roles, ["arn:a", "arn:b"]);
        assert_eq!(ok.trusted_accounts.len(), 2);
        assert!(ok.clone().with_detector_resources(&["*".into()]).is_err());
        assert!(ok
            .clone()
            .with_detector_resources(&["a\u{1b}b".into()])
            .is_err());
        let own = ok
            .with_detector_resources(&["rootwatch-*, arn:aws:kms:us-east-1:1:key/k".into()])
            .unwrap();
        assert_eq!(
            own.detector_resources,
            ["rootwatch-*", "arn:aws:kms:us-east-1:1:key/k"]
        );
    }

    #[test]
    fn tamper_fires_for_any_principal_but_not_service_events() {
        let own = RuleConfig::default()
            .with_detector_resources(&["rootwatch-*".into()])
            .unwrap();
        let ctx = Context {
            origin: None,
            config: &own,
        };
        let rules = |json: &str| {
            let r = Record::from_json(json).unwrap();
            evaluate(&r, &classify(&r), &ctx)
                .into_iter()
                .map(|f| (f.rule, f.severity))
                .collect::<Vec<_>>()
        };
        let stop = r#""eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","requestParameters":{"name":"t"}"#;
        assert_eq!(
            rules(&format!(
                r#"{{"userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}},{stop}}}"#
            )),
            [(Rule::DetectorTamper, Severity::Critical)]
        );
        assert_eq!(
            rules(&format!(r#"{{{ROOT},{stop}}}"#)),
            [
                (Rule::DetectorTamper, Severity::Critical),
                (Rule::RootCredentialUse, Severity::High)
            ]
        );
        assert_eq!(
            rules(&format!(r#"{{"eventType":"AwsServiceEvent",{stop}}}"#)),
            []
        );
        let off = Context::NONE;
        let r = Record::from_json(r#"{"eventSource":"sqs.amazonaws.com","eventName":"DeleteQueue","requestParameters":{"queueUrl":"https://q/1/rootwatch-Q"}}"#).unwrap();
        assert!(evaluate(&r, &classify(&r), &off).is_empty());
        assert_eq!(
            rules(
                r#"{"eventSource":"sqs.amazonaws.com","eventName":"DeleteQueue","requestParameters":{"queueUrl":"https://q/1/rootwatch-Q"}}"#
            ),
            [(Rule::DetectorTamper, Severity::Critical)]
        );
    }

    /// The root-only task rule follows the task policy table: in an AssumeRoot session, every
    /// change a task policy permits is a root-only task, and none of the reads is.
    #[test]
    fn every_task_policy_change_is_a_root_only_task_in_a_session() {
        for p in task_policy::TASK_POLICIES {
            let params = |name: &str| match name {
                "SetQueueAttributes" => r#"{"attributes":{"Policy":""}}"#,
                _ => "{}",
            };
            let event = |name: &str| {
                format!(
                    r#"{{"userIdentity":{{"type":"Root","accountId":"444455556666","sessionContext":{{"assumedRoot":"true"}}}},"eventSource":"{}","eventName":"{name}","requestParameters":{}}}"#,
                    p.event_source,
                    params(name)
                )
            };
            for name in p.changes.iter().flat_map(|g| g.iter()) {
                let tasks: Vec<_> = fired(&event(name))
                    .into_iter()
                    .filter(|f| f.0 == Rule::RootOnlyTask)
                    .collect();
                assert_eq!(tasks.len(), 1, "{} {name}: {tasks:?}", p.name);
            }
            for name in p.reads {
                let name = if *name == "ListAllMyBuckets" {
                    "ListBuckets"
                } else {
                    name
                };
                assert!(
                    !fired(&event(name))
                        .iter()
                        .any(|f| f.0 == Rule::RootOnlyTask),
                    "{} {name}",
                    p.name
                );
            }
        }
    }

    #[test]
    fn a_session_request_outside_its_task_policy_is_named() {
        let origin = |policy: &str| Origin {
            arn: Some("arn:aws:sts::111122223333:assumed-role/Admin/bob".into()),
            name: None,
            kind: Some("AssumedRole".into()),
            class: PrincipalClass::RoleSession,
            account_id: Some("111122223333".into()),
            chain: vec![crate::core::model::Hop {
                api: "AssumeRoot".into(),
                role_arn: None,
                session_name: None,
                account: Some("222233334444".into()),
                source_identity: None,
                task_policy: Some(format!("arn:aws:iam::aws:policy/root-task/{policy}")),
                access_key_id: "ASIAK".into(),
                issued: "2026-11-21T14:00:00Z".into(),
                expires: "2026-11-21T14:15:00Z".into(),
                event_id: None,
            }],
        };
        let title = |policy: &str, name: &str| {
            let json = format!(
                r#"{{"userIdentity":{{"type":"Root","accountId":"222233334444","sessionContext":{{"assumedRoot":"true"}}}},"eventSource":"s3.amazonaws.com","eventName":"{name}"}}"#
            );
            let r = Record::from_json(&json).unwrap();
            let o = origin(policy);
            let ctx = Context {
                origin: Some(&o),
                config: &RuleConfig::NONE,
            };
            evaluate(&r, &classify(&r), &ctx).remove(0).title
        };
        assert!(!title("S3UnlockBucketPolicy", "PutBucketPolicy").contains("outside"));
        assert!(!title("S3UnlockBucketPolicy", "ListBuckets").contains("outside"));
        assert!(title("S3UnlockBucketPolicy", "PutBucketAcl")
            .ends_with("s3:PutBucketAcl, outside task policy S3UnlockBucketPolicy"));
        assert!(title("IAMAuditRootUserCredentials", "PutBucketPolicy")
            .contains("outside task policy IAMAuditRootUserCredentials"));
    }

    #[test]
    fn root_session_title_names_the_origin_and_task() {
        let r = Record::from_json(r#"{"userIdentity":{"type":"Root","accountId":"222233334444","accessKeyId":"ASIAK"},"eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy"}"#).unwrap();
        let mut p = classify(&r);
        p.class = PrincipalClass::RootSession;
        let origin = Origin {
            arn: Some("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/bob".into()),
            name: None,
            kind: Some("AssumedRole".into()),
            class: PrincipalClass::SsoSession,
            account_id: Some("111122223333".into()),
            chain: vec![crate::core::model::Hop {
                api: "AssumeRoot".into(),
                role_arn: None,
                session_name: None,
                account: Some("222233334444".into()),
                source_identity: None,
                task_policy: Some("arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy".into()),
                access_key_id: "ASIAK".into(),
                issued: "2026-11-21T14:00:00Z".into(),
                expires: "2026-11-21T14:15:00Z".into(),
                event_id: None,
            }],
        };
        let ctx = Context {
            origin: Some(&origin),
            config: &RuleConfig::NONE,
        };
        let f = evaluate(&r, &p, &ctx);
        assert_eq!(f[0].rule, Rule::RootSession);
        assert_eq!(f[0].title, "Root session in 222233334444 opened by arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/bob via AssumeRoot (task S3UnlockBucketPolicy): s3:DeleteBucketPolicy");
    }
}
