//! `classify(&Record) -> Principal`: who made a request.

use crate::core::model::{Principal, PrincipalClass};
use crate::core::record::Record;
use crate::core::sanitize::text;

/// `userIdentity.type` values CloudTrail records (Root, IAMUser, AssumedRole, ...).
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>
pub const IDENTITY_TYPES_DOC: &str = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html";
/// Requests in an AssumeRoot session may carry `sessionContext.assumedRoot: "true"`, but not always.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html>
pub const ASSUMED_ROOT_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html";
/// `AwsServiceEvent` records can omit `userIdentity.type` and carry only `invokedBy`.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/non-api-aws-service-events.html>
pub const SERVICE_EVENT_DOC: &str =
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/non-api-aws-service-events.html";
/// Unauthenticated S3 requests are recorded as type AWSAccount with account `ANONYMOUS_PRINCIPAL`.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html>
pub const ANONYMOUS_PRINCIPAL: &str = "ANONYMOUS_PRINCIPAL";
/// Identity Center provisions permission sets as roles under `/aws-reserved/sso.amazonaws.com/`.
/// <https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html>
pub const SSO_ROLE_PATH: &str = "/aws-reserved/sso.amazonaws.com/";
/// ... named `AWSReservedSSO_<permission set>_<suffix>`.
/// <https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html>
pub const SSO_ROLE_PREFIX: &str = "AWSReservedSSO_";
/// Service-linked roles live under the path `/aws-service-role/`.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html>
pub const SLR_PATH: &str = ":role/aws-service-role/";
/// ... and are named `AWSServiceRoleFor<Service>`.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html>
pub const SLR_PREFIX: &str = "AWSServiceRoleFor";
/// Instance-profile sessions are named after the instance id, and credentials delivered by IMDS
/// carry `sessionContext.ec2RoleDelivery`.
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html>
pub const EC2_ROLE_DOC: &str =
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html";

/// Classifies the principal of one record. Pure: looks only at the record.
pub fn classify(record: &Record) -> Principal {
    let ui = record.user_identity.as_ref();
    let kind = ui.and_then(|u| u.kind.as_deref());
    let ctx = record.session_context();
    let issuer = ctx.and_then(|c| c.session_issuer.as_ref());
    let issuer_arn = issuer
        .and_then(|i| i.arn.as_deref())
        .filter(|s| !s.is_empty());
    let arn = ui.and_then(|u| u.arn.as_deref()).filter(|s| !s.is_empty());
    let session_name = session_name(kind, arn, ui.and_then(|u| u.principal_id.as_deref()));
    let class = class_of(record, kind, arn, issuer_arn, session_name.as_deref());
    Principal {
        kind: text(kind),
        class,
        arn: text(arn),
        account_id: text(ui.and_then(|u| u.account_id.as_deref())),
        access_key_id: text(
            ui.and_then(|u| u.access_key_id.as_deref())
                .filter(|s| !s.is_empty()),
        ),
        principal_id: text(ui.and_then(|u| u.principal_id.as_deref())),
        user_name: text(ui.and_then(|u| u.user_name.as_deref())),
        mfa_authenticated: ctx.and_then(|c| c.attributes.as_ref()?.mfa_authenticated),
        invoked_by: text(record.invoked_by()),
        session_issuer: text(issuer_arn),
        session_name: text(session_name.as_deref()),
        source_identity: text(ctx.and_then(|c| c.source_identity.as_deref())),
    }
}

fn class_of(
    record: &Record,
    kind: Option<&str>,
    arn: Option<&str>,
    issuer_arn: Option<&str>,
    session_name: Option<&str>,
) -> PrincipalClass {
    use PrincipalClass::*;
    match kind {
        // `userIdentity.type` values: see [`IDENTITY_TYPES_DOC`].
        Some("Root") => {
            // AssumeRoot sessions: `sessionContext.assumedRoot` when recorded (see
            // [`ASSUMED_ROOT_DOC`]); the key link to the caller-side AssumeRoot event is made by
            // session tracking.
            if record.session_context().and_then(|c| c.assumed_root) == Some(true) {
                RootSession
            } else {
                Root
            }
        }
        Some("IAMUser") => IamUser,
        Some("AssumedRole") => role_session_class(record, arn, issuer_arn, session_name),
        Some("FederatedUser") => FederatedUser,
        Some("SAMLUser") => SamlUser,
        Some("WebIdentityUser") => WebIdentityUser,
        Some("IdentityCenterUser") => IdentityCenterUser,
        Some("AWSService") => AwsService,
        Some("AWSAccount") => {
            let ui = record.user_identity.as_ref();
            let anon = |s: Option<&str>| s == Some(ANONYMOUS_PRINCIPAL);
            if anon(ui.and_then(|u| u.account_id.as_deref()))
                || anon(ui.and_then(|u| u.principal_id.as_deref()))
            {
                Anonymous
            } else {
                AwsAccount
            }
        }
        Some("Directory") => Directory,
        Some("Unknown") => Unknown,
        Some(_) => Other,
        // Service events can omit `type` and carry only `invokedBy` ([`SERVICE_EVENT_DOC`]).
        None if record.is_service_event() || record.invoked_by().is_some() => AwsService,
        None => Unknown,
    }
}

fn role_session_class(
    record: &Record,
    arn: Option<&str>,
    issuer_arn: Option<&str>,
    session_name: Option<&str>,
) -> PrincipalClass {
    use PrincipalClass::*;
    let role_name = arn.and_then(assumed_role_name);
    if issuer_arn.is_some_and(|a| a.contains(SSO_ROLE_PATH))
        || role_name.is_some_and(|r| r.starts_with(SSO_ROLE_PREFIX))
    {
        return SsoSession;
    }
    if issuer_arn.is_some_and(|a| a.contains(SLR_PATH))
        || role_name.is_some_and(|r| r.starts_with(SLR_PREFIX))
    {
        return ServiceLinkedRole;
    }
    // Instance-profile credentials ([`EC2_ROLE_DOC`]).
    let ec2_delivery = record
        .session_context()
        .is_some_and(|c| c.ec2_role_delivery.is_some());
    if ec2_delivery || session_name.is_some_and(is_instance_id) {
        return Ec2Instance;
    }
    RoleSession
}

/// The role name of `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
pub fn assumed_role_name(arn: &str) -> Option<&str> {
    let rest = arn_resource(arn)?.strip_prefix("assumed-role/")?;
    rest.split('/').next()
}

/// The resource part of an ARN (after the fifth `:`).
pub fn arn_resource(arn: &str) -> Option<&str> {
    arn.splitn(6, ':').nth(5)
}

/// The account of an ARN (fifth field), if it is non-empty.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|s| !s.is_empty())
}

fn session_name<'a>(
    kind: Option<&str>,
    arn: Option<&'a str>,
    principal_id: Option<&'a str>,
) -> Option<std::borrow::Cow<'a, str>> {
    let from_arn = arn.and_then(arn_resource).and_then(|res| {
        let rest = res
            .strip_prefix("assumed-role/")
            .and_then(|r| r.split_once('/').map(|(_, s)| s))
            .or_else(|| res.strip_prefix("federated-user/"))?;
        Some(rest)
    });
    if let Some(s) = from_arn.filter(|s| !s.is_empty()) {
        return Some(s.into());
    }
    if kind == Some("AssumedRole") {
        if let Some((_, s)) = principal_id?.split_once(':') {
            return Some(s.into());
        }
    }
    None
}

/// `i-` followed by 8 or 17 lower-case hex digits.
fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17)
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(json: &str) -> PrincipalClass {
        classify(&Record::from_json(json).unwrap()).class
    }

    macro_rules! yields {
        ($name:ident, $json:expr, $class:ident) => {
            #[test]
            fn $name() {
                assert_eq!(class($json), PrincipalClass::$class, "{}", $json);
            }
        };
    }

    yields!(
        root,
        r#"{"userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"}}"#,
        Root
    );
    yields!(
        root_session_flag,
        r#"{"userIdentity":{"type":"Root","sessionContext":{"assumedRoot":"true"}}}"#,
        RootSession
    );
    yields!(
        root_session_flag_false,
        r#"{"userIdentity":{"type":"Root","sessionContext":{"assumedRoot":"false"}}}"#,
        Root
    );
    yields!(iam_user, r#"{"userIdentity":{"type":"IAMUser"}}"#, IamUser);
    yields!(
        sso_by_path,
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1"}}}}"#,
        SsoSession
    );
    yields!(
        sso_by_name,
        r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_12/bob"}}"#,
        SsoSession
    );
    yields!(
        slr,
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"}}}}"#,
        ServiceLinkedRole
    );
    yields!(
        ec2_by_name,
        r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/web/i-0123456789abcdef0"}}"#,
        Ec2Instance
    );
    yields!(
        ec2_by_delivery,
        r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/web/x","sessionContext":{"ec2RoleDelivery":"2.0"}}}"#,
        Ec2Instance
    );
    yields!(
        not_ec2_bad_id,
        r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/web/i-xyz"}}"#,
        RoleSession
    );
    yields!(
        role_session,
        r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/Deploy/ci"}}"#,
        RoleSession
    );
    yields!(
        federated,
        r#"{"userIdentity":{"type":"FederatedUser"}}"#,
        FederatedUser
    );
    yields!(saml, r#"{"userIdentity":{"type":"SAMLUser"}}"#, SamlUser);
    yields!(
        web,
        r#"{"userIdentity":{"type":"WebIdentityUser"}}"#,
        WebIdentityUser
    );
    yields!(
        idc,
        r#"{"userIdentity":{"type":"IdentityCenterUser"}}"#,
        IdentityCenterUser
    );
    yields!(
        service,
        r#"{"userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}}"#,
        AwsService
    );
    yields!(
        account,
        r#"{"userIdentity":{"type":"AWSAccount","accountId":"777788889999"}}"#,
        AwsAccount
    );
    yields!(
        anonymous,
        r#"{"userIdentity":{"type":"AWSAccount","principalId":"","accountId":"ANONYMOUS_PRINCIPAL"}}"#,
        Anonymous
    );
    yields!(
        directory,
        r#"{"userIdentity":{"type":"Directory"}}"#,
        Directory
    );
    yields!(unknown, r#"{"userIdentity":{"type":"Unknown"}}"#, Unknown);
    yields!(other, r#"{"userIdentity":{"type":"User"}}"#, Other);
    yields!(
        no_type_service_event,
        r#"{"userIdentity":{"accountId":"1","invokedBy":"kms.amazonaws.com"},"eventType":"AwsServiceEvent"}"#,
        AwsService
    );
    yields!(no_identity, r#"{"eventName":"x"}"#, Unknown);
    yields!(identity_null, r#"{"userIdentity":null}"#, Unknown);
    yields!(identity_wrong_type, r#"{"userIdentity":[1,2]}"#, Unknown);
    yields!(type_is_number, r#"{"userIdentity":{"type":7}}"#, Other);

    #[test]
    fn fields_kept() {
        let r = Record::from_json(r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Deploy/ci","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sourceIdentity":"alice","attributes":{"mfaAuthenticated":"TRUE"},"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/Deploy"}}}}"#).unwrap();
        let p = classify(&r);
        assert_eq!(p.kind.as_deref(), Some("AssumedRole"));
        assert_eq!(p.session_name.as_deref(), Some("ci"));
        assert_eq!(p.source_identity.as_deref(), Some("alice"));
        assert_eq!(p.mfa_authenticated, Some(true));
        assert_eq!(
            p.session_issuer.as_deref(),
            Some("arn:aws:iam::111122223333:role/Deploy")
        );
        assert_eq!(p.access_key_id.as_deref(), Some("ASIAEXAMPLE"));
    }

    #[test]
    fn hostile_session_name_escaped() {
        let r = Record::from_json(r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/x\u001b[2Jy"}}"#).unwrap();
        let p = classify(&r);
        assert_eq!(p.session_name.as_deref(), Some("x\\u{1b}[2Jy"));
    }
}
