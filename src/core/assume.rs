//! The `assumption` object: what a session-issuing STS call asked for and got.

use crate::core::classify::arn_account;
use crate::core::lenient;
use crate::core::model::{Assumption, Principal};
use crate::core::record::{raw_as, Record, Text};
use crate::core::sanitize::field;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// STS APIs that issue temporary credentials; their responses carry
/// `credentials.accessKeyId` and `credentials.expiration`.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html>
pub const SESSION_APIS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "AssumeRoot",
    "GetFederationToken",
    "GetSessionToken",
];

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    role_arn: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    role_session_name: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    source_identity: Text<'a>,
    /// GetFederationToken's federated user name.
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    name: Text<'a>,
    /// AssumeRoot's member account.
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    target_principal: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    task_policy_arn: Option<ArnHolder<'a>>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    duration_seconds: Text<'a>,
}

#[derive(Deserialize, Default)]
struct ArnHolder<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    arn: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    credentials: Option<Credentials<'a>>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    source_identity: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    assumed_role_user: Option<ArnHolder<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Credentials<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    access_key_id: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    expiration: Text<'a>,
}

/// The `assumption` of a record, or `None` when it is not a session-issuing call.
pub fn extract(record: &Record, principal: &Principal) -> Option<Assumption> {
    let api = record.event_name();
    if !SESSION_APIS.contains(&api) {
        return None;
    }
    let req: Request = raw_as(record.request_parameters).unwrap_or_default();
    let resp: Response = raw_as(record.response_elements).unwrap_or_default();
    let creds = resp.credentials.unwrap_or_default();
    let role_arn = req.role_arn.as_deref().filter(|s| !s.is_empty());
    let target_account: Option<Cow<str>> = match api {
        "AssumeRoot" => req
            .target_principal
            .as_deref()
            .map(|t| arn_account(t).unwrap_or(t).to_owned().into()),
        "GetFederationToken" | "GetSessionToken" => principal.account_id.clone().map(Into::into),
        _ => role_arn
            .and_then(arn_account)
            .or_else(|| {
                resp.assumed_role_user
                    .as_ref()
                    .and_then(|u| u.arn.as_deref())
                    .and_then(arn_account)
            })
            .map(|a| a.to_owned().into()),
    };
    Some(Assumption {
        api: api.to_owned(),
        succeeded: !record.failed(),
        role_arn: field(role_arn),
        session_name: field(req.role_session_name.as_deref().or(req.name.as_deref())),
        source_identity: field(
            req.source_identity
                .as_deref()
                .or(resp.source_identity.as_deref()),
        ),
        access_key_id: field(creds.access_key_id.as_deref()),
        expires: field(creds.expiration.as_deref()),
        target_account: field(target_account.as_deref()),
        task_policy: field(req.task_policy_arn.and_then(|t| t.arn).as_deref()),
        duration_seconds: req
            .duration_seconds
            .and_then(|d| d.trim().parse::<i64>().ok())
            .filter(|d| *d > 0),
    })
}

/// `taskPolicyArn.arn` of an AssumeRoot request.
pub fn task_policy(params: &RawValue) -> Option<String> {
    let req: Request = serde_json::from_str(params.get()).ok()?;
    req.task_policy_arn?.arn.map(Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::classify::classify;

    fn assumption(json: &str) -> Option<Assumption> {
        let r = Record::from_json(json).unwrap();
        extract(&r, &classify(&r))
    }

    #[test]
    fn assume_role_fields() {
        let a = assumption(r#"{"eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/Admin","roleSessionName":"alice","sourceIdentity":"alice@example.com"},"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE1","expiration":"Nov 23, 2026, 6:00:00 PM"}}}"#).unwrap();
        assert_eq!(
            a,
            Assumption {
                api: "AssumeRole".into(),
                succeeded: true,
                role_arn: Some("arn:aws:iam::444455556666:role/Admin".into()),
                session_name: Some("alice".into()),
                source_identity: Some("alice@example.com".into()),
                access_key_id: Some("ASIAEXAMPLE1".into()),
                expires: Some("Nov 23, 2026, 6:00:00 PM".into()),
                target_account: Some("444455556666".into()),
                task_policy: None,
                duration_seconds: None,
            }
        );
    }

    #[test]
    fn assume_root_fields() {
        let a = assumption(r#"{"eventName":"AssumeRoot","requestParameters":{"targetPrincipal":"444455556666","taskPolicyArn":{"arn":"arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"}},"responseElements":{"credentials":{"accessKeyId":"ASIAROOT"}}}"#).unwrap();
        assert_eq!(a.target_account.as_deref(), Some("444455556666"));
        assert_eq!(
            a.task_policy.as_deref(),
            Some("arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy")
        );
        assert_eq!(a.access_key_id.as_deref(), Some("ASIAROOT"));
    }

    #[test]
    fn failed_call_not_succeeded() {
        let a = assumption(
            r#"{"eventName":"AssumeRole","errorCode":"AccessDenied","responseElements":null}"#,
        )
        .unwrap();
        assert!(!a.succeeded);
        assert_eq!(a.access_key_id, None);
    }

    #[test]
    fn federation_token_uses_caller_account() {
        let a = assumption(r#"{"eventName":"GetFederationToken","userIdentity":{"type":"IAMUser","accountId":"111122223333"},"requestParameters":{"name":"bob"}}"#).unwrap();
        assert_eq!(a.target_account.as_deref(), Some("111122223333"));
        assert_eq!(a.session_name.as_deref(), Some("bob"));
    }

    #[test]
    fn other_events_have_none() {
        assert_eq!(assumption(r#"{"eventName":"ConsoleLogin"}"#), None);
    }
}
