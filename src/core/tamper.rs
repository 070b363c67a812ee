//! `detector-tamper`: requests that blind the detector. Data, not code.
//!
//! Two kinds of rows:
//! - the trail itself, for any trail: logging stopped, the trail deleted, or narrowed so that
//!   management events (or the global-service events where root sign-ins are recorded) are no
//!   longer delivered;
//! - the detector's own resources (rules, bus, function, event source mapping, queues, topic,
//!   subscription, key, table, role), named by configuration (`DETECTOR_RESOURCES` /
//!   `--detector-resource`), which the deployment templates set to the stack's names;
//! - the account's place in the organisation trail: the account leaving its organisation, or
//!   CloudTrail's trusted access or delegated administrator removed in AWS Organizations.
//!
//! Peer: GuardDuty's `Stealth:IAMUser/CloudTrailLoggingDisabled` covers only the first kind.
//! <https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html>

use crate::core::model::Severity;
use crate::core::record::{raw_as, raw_field, Record};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// `StopLogging` suspends delivery of a trail's events.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html>
pub const STOP_LOGGING_DOC: &str =
    "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html";
/// `DeleteTrail`.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DeleteTrail.html>
pub const DELETE_TRAIL_DOC: &str =
    "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DeleteTrail.html";
/// `UpdateTrail`: `IncludeGlobalServiceEvents=false` drops IAM and sign-in events (recorded in
/// us-east-1 as global service events); `IsMultiRegionTrail=false` drops other Regions.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_UpdateTrail.html>
pub const UPDATE_TRAIL_DOC: &str =
    "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_UpdateTrail.html";
/// `PutEventSelectors`: a trail logs an event only if some selector matches it;
/// `IncludeManagementEvents` defaults to true and `ReadWriteType` to `All`.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html>
pub const EVENT_SELECTORS_DOC: &str =
    "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html";
/// EventBridge API calls recorded by CloudTrail (PutRule, DisableRule, RemoveTargets, …).
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-logging-monitoring.html>
pub const EVENTS_DOC: &str =
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-logging-monitoring.html";
/// Lambda records versioned event names (`DeleteFunction20150331`,
/// `UpdateFunctionConfiguration20150331v2`): rows match the name before the version.
/// <https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html>
pub const LAMBDA_DOC: &str =
    "https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html";
/// SQS management API calls in CloudTrail.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/logging-using-cloudtrail.html>
pub const SQS_DOC: &str = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/logging-using-cloudtrail.html";
/// SNS API calls in CloudTrail (DeleteTopic, Unsubscribe, Set*Attributes, RemovePermission).
/// <https://docs.aws.amazon.com/sns/latest/dg/sns-logging-using-cloudtrail.html>
pub const SNS_DOC: &str =
    "https://docs.aws.amazon.com/sns/latest/dg/sns-logging-using-cloudtrail.html";
/// KMS API calls in CloudTrail (DisableKey, ScheduleKeyDeletion, PutKeyPolicy).
/// <https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html>
pub const KMS_DOC: &str =
    "https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html";
/// DynamoDB control-plane calls in CloudTrail (DeleteTable).
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html>
pub const DYNAMODB_DOC: &str =
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html";
/// IAM calls in CloudTrail (recorded in us-east-1).
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html>
pub const IAM_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html";
/// `AttachRolePolicy`: attaches a managed policy to a role, such as the AWS-managed `AWSDenyAll`
/// (`arn:aws:iam::aws:policy/AWSDenyAll`, which denies every action).
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html>
pub const ATTACH_ROLE_POLICY_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html";
/// The AWS-managed policy that denies all actions.
/// <https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSDenyAll.html>
pub const DENY_ALL_POLICY: &str = "policy/AWSDenyAll";
/// `PutFunctionEventInvokeConfig`: replaces the asynchronous invocation settings (settings left
/// out are removed, the on-failure destination of direct mode included).
/// <https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html>
pub const PUT_EVENT_INVOKE_CONFIG_DOC: &str =
    "https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html";
/// `UpdateFunctionEventInvokeConfig`: changes the asynchronous invocation settings.
/// <https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionEventInvokeConfig.html>
pub const UPDATE_EVENT_INVOKE_CONFIG_DOC: &str =
    "https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionEventInvokeConfig.html";
/// `DeleteFunctionEventInvokeConfig`: removes the asynchronous invocation settings.
/// <https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunctionEventInvokeConfig.html>
pub const DELETE_EVENT_INVOKE_CONFIG_DOC: &str =
    "https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunctionEventInvokeConfig.html";
/// DynamoDB `PutResourcePolicy`: attaches a resource-based policy to a table or stream.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutResourcePolicy.html>
pub const DYNAMODB_PUT_POLICY_DOC: &str =
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutResourcePolicy.html";
/// DynamoDB `DeleteResourcePolicy`.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteResourcePolicy.html>
pub const DYNAMODB_DELETE_POLICY_DOC: &str =
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteResourcePolicy.html";
/// DynamoDB `UpdateTimeToLive`: turns TTL on or off, or changes its attribute.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html>
pub const DYNAMODB_TTL_DOC: &str =
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html";
/// `LeaveOrganization`: the account leaves its organisation, and with it the organisation trail.
/// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_LeaveOrganization.html>
pub const LEAVE_ORGANIZATION_DOC: &str =
    "https://docs.aws.amazon.com/organizations/latest/APIReference/API_LeaveOrganization.html";
/// `DisableAWSServiceAccess`: for `cloudtrail.amazonaws.com`, organisation trails stop working
/// for member accounts.
/// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_DisableAWSServiceAccess.html>
pub const DISABLE_SERVICE_ACCESS_DOC: &str =
    "https://docs.aws.amazon.com/organizations/latest/APIReference/API_DisableAWSServiceAccess.html";
/// `DeregisterDelegatedAdministrator`: the account no longer administers the service's
/// organisation features (here, organisation trails).
/// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_DeregisterDelegatedAdministrator.html>
pub const DEREGISTER_DELEGATED_ADMIN_DOC: &str = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_DeregisterDelegatedAdministrator.html";
/// The service principal of CloudTrail in AWS Organizations requests.
/// <https://docs.aws.amazon.com/organizations/latest/userguide/services-that-can-integrate-cloudtrail.html>
pub const CLOUDTRAIL_PRINCIPAL: &str = "cloudtrail.amazonaws.com";

/// Calls made by CloudFormation on a user's behalf carry `invokedBy: cloudformation.amazonaws.com`.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>
pub const CLOUDFORMATION_INVOKER: &str = "cloudformation.amazonaws.com";

/// What a row's event does to the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Stops, deletes or disables: the detector goes blind or silent.
    Blinds,
    /// Changes configuration (patterns, targets, policies, code): it may or may not blind. A
    /// stack update made through CloudFormation is the normal way to change it: lower severity.
    Changes,
}

/// When a row applies, beyond event source and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Any trail.
    AnyTrail,
    /// `UpdateTrail` that turns off global service events or multi-Region logging.
    NarrowsTrail,
    /// `PutEventSelectors` after which no selector logs management write events.
    DropsManagementWrites,
    /// The request (or response) names one of the configured detector resources.
    OwnResource,
    /// `OwnResource`, and the policy attached is the AWS-managed `AWSDenyAll`.
    OwnResourceDenyAll,
    /// Every request.
    Always,
    /// The request's `servicePrincipal` is CloudTrail's.
    CloudTrailPrincipal,
}

/// One row of the tamper table.
#[derive(Debug)]
pub struct TamperEntry {
    pub event_source: &'static str,
    /// The event name; for Lambda, the name before the API version suffix.
    pub event_name: &'static str,
    pub condition: Condition,
    pub effect: Effect,
    /// What happened, in plain words.
    pub what: &'static str,
    pub doc: &'static str,
}

macro_rules! row {
    ($src:literal, $name:literal, $cond:ident, $effect:ident, $what:literal, $doc:expr) => {
        TamperEntry {
            event_source: $src,
            event_name: $name,
            condition: Condition::$cond,
            effect: Effect::$effect,
            what: $what,
            doc: $doc,
        }
    };
}

/// Every request that can blind the detector, and when.
#[rustfmt::skip]
pub const TAMPER_TABLE: &[TamperEntry] = &[
    row!("cloudtrail.amazonaws.com", "StopLogging", AnyTrail, Blinds, "CloudTrail logging stopped", STOP_LOGGING_DOC),
    row!("cloudtrail.amazonaws.com", "DeleteTrail", AnyTrail, Blinds, "CloudTrail trail deleted", DELETE_TRAIL_DOC),
    row!("cloudtrail.amazonaws.com", "UpdateTrail", NarrowsTrail, Blinds, "CloudTrail trail narrowed: global service events or other Regions no longer logged", UPDATE_TRAIL_DOC),
    row!("cloudtrail.amazonaws.com", "PutEventSelectors", DropsManagementWrites, Blinds, "CloudTrail event selectors no longer log management write events", EVENT_SELECTORS_DOC),
    row!("events.amazonaws.com", "DisableRule", OwnResource, Blinds, "detector EventBridge rule disabled", EVENTS_DOC),
    row!("events.amazonaws.com", "DeleteRule", OwnResource, Blinds, "detector EventBridge rule deleted", EVENTS_DOC),
    row!("events.amazonaws.com", "RemoveTargets", OwnResource, Blinds, "targets removed from a detector EventBridge rule", EVENTS_DOC),
    row!("events.amazonaws.com", "DeleteEventBus", OwnResource, Blinds, "detector event bus deleted", EVENTS_DOC),
    row!("events.amazonaws.com", "PutRule", OwnResource, Changes, "detector EventBridge rule changed", EVENTS_DOC),
    row!("events.amazonaws.com", "PutTargets", OwnResource, Changes, "detector EventBridge rule targets changed", EVENTS_DOC),
    row!("events.amazonaws.com", "RemovePermission", OwnResource, Changes, "detector event bus permission removed", EVENTS_DOC),
    row!("lambda.amazonaws.com", "DeleteFunction", OwnResource, Blinds, "detector function deleted", LAMBDA_DOC),
    row!("lambda.amazonaws.com", "DeleteEventSourceMapping", OwnResource, Blinds, "detector function cut from its queue", LAMBDA_DOC),
    row!("lambda.amazonaws.com", "PutFunctionConcurrency", OwnResource, Blinds, "detector function concurrency limited (0 stops it)", LAMBDA_DOC),
    row!("lambda.amazonaws.com", "UpdateFunctionConfiguration", OwnResource, Changes, "detector function configuration changed", LAMBDA_DOC),
    row!("lambda.amazonaws.com", "UpdateFunctionCode", OwnResource, Changes, "detector function code replaced", LAMBDA_DOC),
    row!("lambda.amazonaws.com", "UpdateEventSourceMapping", OwnResource, Changes, "detector function queue mapping changed", LAMBDA_DOC),
    row!("lambda.amazonaws.com", "RemovePermission", OwnResource, Changes, "detector function invoke permission removed", LAMBDA_DOC),
    row!("lambda.amazonaws.com", "PutFunctionEventInvokeConfig", OwnResource, Changes, "detector function asynchronous invocation settings replaced (failure destination)", PUT_EVENT_INVOKE_CONFIG_DOC),
    row!("lambda.amazonaws.com", "UpdateFunctionEventInvokeConfig", OwnResource, Changes, "detector function asynchronous invocation settings changed (failure destination)", UPDATE_EVENT_INVOKE_CONFIG_DOC),
    row!("lambda.amazonaws.com", "DeleteFunctionEventInvokeConfig", OwnResource, Changes, "detector function asynchronous invocation settings deleted (failure destination)", DELETE_EVENT_INVOKE_CONFIG_DOC),
    row!("sqs.amazonaws.com", "DeleteQueue", OwnResource, Blinds, "detector queue deleted", SQS_DOC),
    row!("sqs.amazonaws.com", "PurgeQueue", OwnResource, Blinds, "detector queue purged", SQS_DOC),
    row!("sqs.amazonaws.com", "SetQueueAttributes", OwnResource, Changes, "detector queue attributes changed", SQS_DOC),
    row!("sqs.amazonaws.com", "RemovePermission", OwnResource, Changes, "detector queue permission removed", SQS_DOC),
    row!("sns.amazonaws.com", "DeleteTopic", OwnResource, Blinds, "alert topic deleted", SNS_DOC),
    row!("sns.amazonaws.com", "Unsubscribe", OwnResource, Blinds, "alert subscription removed", SNS_DOC),
    row!("sns.amazonaws.com", "SetTopicAttributes", OwnResource, Changes, "alert topic attributes changed", SNS_DOC),
    row!("sns.amazonaws.com", "SetSubscriptionAttributes", OwnResource, Changes, "alert subscription attributes changed", SNS_DOC),
    row!("sns.amazonaws.com", "RemovePermission", OwnResource, Changes, "alert topic permission removed", SNS_DOC),
    row!("kms.amazonaws.com", "DisableKey", OwnResource, Blinds, "detector KMS key disabled", KMS_DOC),
    row!("kms.amazonaws.com", "ScheduleKeyDeletion", OwnResource, Blinds, "detector KMS key scheduled for deletion", KMS_DOC),
    row!("kms.amazonaws.com", "PutKeyPolicy", OwnResource, Changes, "detector KMS key policy changed", KMS_DOC),
    row!("dynamodb.amazonaws.com", "DeleteTable", OwnResource, Blinds, "detector sessions table deleted", DYNAMODB_DOC),
    row!("dynamodb.amazonaws.com", "PutResourcePolicy", OwnResource, Changes, "detector sessions table resource policy set", DYNAMODB_PUT_POLICY_DOC),
    row!("dynamodb.amazonaws.com", "DeleteResourcePolicy", OwnResource, Changes, "detector sessions table resource policy deleted", DYNAMODB_DELETE_POLICY_DOC),
    row!("dynamodb.amazonaws.com", "UpdateTimeToLive", OwnResource, Changes, "detector sessions table time to live changed", DYNAMODB_TTL_DOC),
    row!("iam.amazonaws.com", "AttachRolePolicy", OwnResourceDenyAll, Blinds, "AWSDenyAll attached to a detector IAM role (every action denied)", ATTACH_ROLE_POLICY_DOC),
    row!("iam.amazonaws.com", "AttachRolePolicy", OwnResource, Changes, "managed policy attached to a detector IAM role", ATTACH_ROLE_POLICY_DOC),
    row!("iam.amazonaws.com", "DeleteRole", OwnResource, Blinds, "detector IAM role deleted", IAM_DOC),
    row!("iam.amazonaws.com", "DeleteRolePolicy", OwnResource, Blinds, "detector IAM role policy deleted", IAM_DOC),
    row!("iam.amazonaws.com", "DetachRolePolicy", OwnResource, Blinds, "detector IAM role policy detached", IAM_DOC),
    row!("iam.amazonaws.com", "PutRolePolicy", OwnResource, Changes, "detector IAM role policy changed", IAM_DOC),
    row!("iam.amazonaws.com", "PutRolePermissionsBoundary", OwnResource, Changes, "detector IAM role permissions boundary set", IAM_DOC),
    row!("iam.amazonaws.com", "UpdateAssumeRolePolicy", OwnResource, Changes, "detector IAM role trust policy changed", IAM_DOC),
    row!("organizations.amazonaws.com", "LeaveOrganization", Always, Blinds, "account left its AWS organization (and the organization trail)", LEAVE_ORGANIZATION_DOC),
    row!("organizations.amazonaws.com", "DisableAWSServiceAccess", CloudTrailPrincipal, Blinds, "CloudTrail trusted access in AWS Organizations disabled (organization trails stop for member accounts)", DISABLE_SERVICE_ACCESS_DOC),
    row!("organizations.amazonaws.com", "DeregisterDelegatedAdministrator", CloudTrailPrincipal, Changes, "CloudTrail delegated administrator deregistered", DEREGISTER_DELEGATED_ADMIN_DOC),
];

impl Condition {
    /// The condition in the words of docs/rules.md.
    pub fn describe(self) -> &'static str {
        match self {
            Condition::AnyTrail => "any trail",
            Condition::NarrowsTrail => {
                "`includeGlobalServiceEvents` or `isMultiRegionTrail` set to false"
            }
            Condition::DropsManagementWrites => {
                "no selector left that logs management write events"
            }
            Condition::OwnResource => "own",
            Condition::OwnResourceDenyAll => "own, `policyArn` the AWS-managed `AWSDenyAll`",
            Condition::Always => "always",
            Condition::CloudTrailPrincipal => "`servicePrincipal` is `cloudtrail.amazonaws.com`",
        }
    }
}

/// The table as Markdown (the "Detector tampering table" of docs/rules.md), one line per event source
/// and condition.
pub fn markdown() -> String {
    let mut out = String::from("| event source | event names | condition |\n|---|---|---|\n");
    let mut rows: Vec<(&str, Condition, Vec<&str>)> = Vec::new();
    for e in TAMPER_TABLE {
        match rows.last_mut() {
            Some((src, cond, names)) if *src == e.event_source && *cond == e.condition => {
                names.push(e.event_name)
            }
            _ => rows.push((e.event_source, e.condition, vec![e.event_name])),
        }
    }
    for (src, cond, names) in rows {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        out.push_str(&format!(
            "| `{src}` | {} | {} |\n",
            names.join(", "),
            cond.describe()
        ));
    }
    out
}

/// Request and response fields that name the resource acted on.
pub const RESOURCE_FIELDS: &[&str] = &[
    "name",
    "rule",
    "eventBusName",
    "functionName",
    "functionArn",
    "eventSourceArn",
    "queueUrl",
    "topicArn",
    "subscriptionArn",
    "keyId",
    "tableName",
    "roleName",
    "trailName",
    "resourceArn",
];

/// Lambda's event name without its API version (`UpdateFunctionConfiguration20150331v2` →
/// `UpdateFunctionConfiguration`).
pub fn base_name(name: &str) -> &str {
    match name.find(|c: char| c.is_ascii_digit()) {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// The row a record matches, with the resource it named (for `OwnResource` rows), the trail, or
/// the account (organisation rows). Rows with the same event are tried in table order.
pub fn matching<'r>(
    record: &'r Record<'_>,
    own: &[String],
) -> Option<(&'static TamperEntry, Option<Cow<'r, str>>)> {
    let source = record.event_source();
    if !TAMPER_TABLE.iter().any(|e| e.event_source == source) {
        return None;
    }
    let name = if source == "lambda.amazonaws.com" {
        base_name(record.event_name())
    } else {
        record.event_name()
    };
    TAMPER_TABLE
        .iter()
        .filter(|e| e.event_source == source && e.event_name == name)
        .find_map(|entry| applies(entry, record, own).map(|named| (entry, named)))
}

/// Whether `entry`'s condition holds for `record`, and what it names.
fn applies<'r>(
    entry: &TamperEntry,
    record: &'r Record<'_>,
    own: &[String],
) -> Option<Option<Cow<'r, str>>> {
    let trail = || {
        record
            .request_param("name")
            .or_else(|| record.request_param("trailName"))
    };
    match entry.condition {
        Condition::AnyTrail => Some(trail()),
        Condition::NarrowsTrail => narrows_trail(record).then(trail),
        Condition::DropsManagementWrites => {
            drops_management_writes(record.request_parameters?).then(trail)
        }
        Condition::OwnResource => own_named(record, own).map(Some),
        Condition::OwnResourceDenyAll => {
            let policy = record.request_param("policyArn")?;
            if !is_deny_all(&policy) {
                return None;
            }
            own_named(record, own).map(Some)
        }
        Condition::Always => Some(None),
        Condition::CloudTrailPrincipal => record
            .request_param("servicePrincipal")
            .is_some_and(|p| p.trim().eq_ignore_ascii_case(CLOUDTRAIL_PRINCIPAL))
            .then(|| record.request_param("accountId")),
    }
}

/// The first value of [`RESOURCE_FIELDS`], in the request or the response, that names a
/// configured detector resource. None when no resource is configured.
fn own_named<'r>(record: &'r Record<'_>, own: &[String]) -> Option<Cow<'r, str>> {
    if own.is_empty() {
        return None;
    }
    RESOURCE_FIELDS.iter().find_map(|f| {
        [record.request_parameters, record.response_elements]
            .into_iter()
            .flatten()
            .filter_map(|raw| raw_field(raw, f))
            .find(|v| is_own(v, own))
    })
}

/// `arn:PARTITION:iam::aws:policy/AWSDenyAll`, the AWS-managed deny-all policy in any partition.
fn is_deny_all(arn: &str) -> bool {
    let mut parts = arn.trim().splitn(6, ':');
    parts.next() == Some("arn")
        && parts.next().is_some_and(|p| p.starts_with("aws"))
        && parts.next() == Some("iam")
        && parts.next() == Some("")
        && parts.next() == Some("aws")
        && parts.next() == Some(DENY_ALL_POLICY)
}

/// `value` names a detector resource: a configured entry (`*` globs) matches the whole value or
/// one of its segments between `/`, `:` and `|` (ARNs, queue URLs, `bus|rule` references); an
/// entry given as an ARN or URL also matches by its last segment (a key ARN matches the key id).
pub fn is_own(value: &str, own: &[String]) -> bool {
    const SEP: [char; 3] = ['/', ':', '|'];
    own.iter().any(|p| {
        let last = p
            .rsplit(SEP)
            .next()
            .filter(|l| !l.is_empty() && l.len() < p.len());
        crate::core::rules::glob(p, value)
            || value.split(SEP).any(|seg| {
                !seg.is_empty()
                    && (crate::core::rules::glob(p, seg)
                        || last.is_some_and(|l| crate::core::rules::glob(l, seg)))
            })
    })
}

fn narrows_trail(record: &Record) -> bool {
    let off = |k: &str| {
        record
            .request_param(k)
            .and_then(|v| crate::core::lenient::parse_bool(&v))
            == Some(false)
    };
    off("includeGlobalServiceEvents") || off("isMultiRegionTrail")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selectors<'a> {
    #[serde(default, borrow)]
    event_selectors: Option<&'a RawValue>,
    #[serde(default, borrow)]
    advanced_event_selectors: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Basic<'a> {
    #[serde(default, borrow, deserialize_with = "crate::core::lenient::string")]
    read_write_type: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "crate::core::lenient::boolean")]
    include_management_events: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Advanced<'a> {
    #[serde(default, borrow)]
    field_selectors: Vec<FieldSelector<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldSelector<'a> {
    #[serde(default, borrow, deserialize_with = "crate::core::lenient::string")]
    field: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    equals: Vec<Cow<'a, str>>,
}

/// After this `PutEventSelectors`, does any selector still log management write events?
/// Basic selectors: `IncludeManagementEvents` (default true) and `ReadWriteType` other than
/// `ReadOnly`. Advanced selectors: `eventCategory` equals `Management` without `readOnly` = true.
/// Selectors we cannot read count as keeping the events (no alert on what we cannot parse).
fn drops_management_writes(params: &RawValue) -> bool {
    let Some(s) = raw_as::<Selectors>(Some(params)) else {
        return false;
    };
    if let Some(raw) = s.advanced_event_selectors {
        let Some(all) = raw_as::<Vec<Advanced>>(Some(raw)) else {
            return false;
        };
        let keeps = all.iter().any(|a| {
            let has = |field: &str, value: &str| {
                a.field_selectors.iter().any(|f| {
                    f.field.as_deref() == Some(field)
                        && f.equals.iter().any(|v| v.eq_ignore_ascii_case(value))
                })
            };
            has("eventCategory", "Management") && !has("readOnly", "true")
        });
        return !keeps;
    }
    let Some(raw) = s.event_selectors else {
        return false;
    };
    let Some(all) = raw_as::<Vec<Basic>>(Some(raw)) else {
        return false;
    };
    !all.iter().any(|b| {
        b.include_management_events != Some(false)
            && !b
                .read_write_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("ReadOnly"))
    })
}

/// Severity of a matched row: critical; a change made by a CloudFormation stack update is low
/// (that is how the detector is deployed and updated: below the default alert threshold, still
/// in the replay output); a failed attempt one step lower.
pub fn severity(entry: &TamperEntry, record: &Record) -> Severity {
    let by_stack = record.invoked_by() == Some(CLOUDFORMATION_INVOKER);
    let base = match entry.effect {
        Effect::Changes if by_stack => Severity::Low,
        _ => Severity::Critical,
    };
    if record.failed() {
        match base {
            Severity::Critical => Severity::High,
            _ => Severity::Info,
        }
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(json: &str, own: &[&str]) -> Option<(String, Option<String>)> {
        let own: Vec<String> = own.iter().map(|s| s.to_string()).collect();
        let r = Record::from_json(json).unwrap();
        matching(&r, &own).map(|(e, n)| (e.event_name.to_owned(), n.map(Cow::into_owned)))
    }

    macro_rules! tamper {
        ($name:ident, $json:expr, $own:expr, $want:expr) => {
            #[test]
            fn $name() {
                let want: Option<(&str, Option<&str>)> = $want;
                let want = want.map(|(e, n)| (e.to_owned(), n.map(str::to_owned)));
                assert_eq!(hit($json, $own), want, "{}", $json);
            }
        };
    }

    const CT: &str = r#""eventSource":"cloudtrail.amazonaws.com""#;

    tamper!(
        stop_logging_any_trail,
        &format!(
            r#"{{{CT},"eventName":"StopLogging","requestParameters":{{"name":"org-trail"}}}}"#
        ),
        &[],
        Some(("StopLogging", Some("org-trail")))
    );
    tamper!(
        delete_trail_arn,
        &format!(
            r#"{{{CT},"eventName":"DeleteTrail","requestParameters":{{"name":"arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}}}}"#
        ),
        &[],
        Some((
            "DeleteTrail",
            Some("arn:aws:cloudtrail:us-east-1:111122223333:trail/t")
        ))
    );
    tamper!(
        start_logging_is_fine,
        &format!(r#"{{{CT},"eventName":"StartLogging","requestParameters":{{"name":"t"}}}}"#),
        &[],
        None
    );
    tamper!(
        update_trail_drops_global,
        &format!(
            r#"{{{CT},"eventName":"UpdateTrail","requestParameters":{{"name":"t","includeGlobalServiceEvents":false}}}}"#
        ),
        &[],
        Some(("UpdateTrail", Some("t")))
    );
    tamper!(
        update_trail_single_region_as_text,
        &format!(
            r#"{{{CT},"eventName":"UpdateTrail","requestParameters":{{"name":"t","isMultiRegionTrail":"false"}}}}"#
        ),
        &[],
        Some(("UpdateTrail", Some("t")))
    );
    tamper!(
        update_trail_bucket_only,
        &format!(
            r#"{{{CT},"eventName":"UpdateTrail","requestParameters":{{"name":"t","s3BucketName":"b","isMultiRegionTrail":true}}}}"#
        ),
        &[],
        None
    );
    tamper!(
        selectors_exclude_management,
        &format!(
            r#"{{{CT},"eventName":"PutEventSelectors","requestParameters":{{"trailName":"t","eventSelectors":[{{"readWriteType":"All","includeManagementEvents":false}}]}}}}"#
        ),
        &[],
        Some(("PutEventSelectors", Some("t")))
    );
    tamper!(
        selectors_read_only,
        &format!(
            r#"{{{CT},"eventName":"PutEventSelectors","requestParameters":{{"trailName":"t","eventSelectors":[{{"readWriteType":"ReadOnly","includeManagementEvents":true}}]}}}}"#
        ),
        &[],
        Some(("PutEventSelectors", Some("t")))
    );
    tamper!(
        selectors_defaults_keep,
        &format!(
            r#"{{{CT},"eventName":"PutEventSelectors","requestParameters":{{"trailName":"t","eventSelectors":[{{"dataResources":[]}}]}}}}"#
        ),
        &[],
        None
    );
    tamper!(
        selectors_one_of_two_keeps,
        &format!(
            r#"{{{CT},"eventName":"PutEventSelectors","requestParameters":{{"trailName":"t","eventSelectors":[{{"includeManagementEvents":false}},{{"readWriteType":"WriteOnly"}}]}}}}"#
        ),
        &[],
        None
    );
    tamper!(
        advanced_data_only,
        &format!(
            r#"{{{CT},"eventName":"PutEventSelectors","requestParameters":{{"trailName":"t","advancedEventSelectors":[{{"fieldSelectors":[{{"field":"eventCategory","equals":["Data"]}}]}}]}}}}"#
        ),
        &[],
        Some(("PutEventSelectors", Some("t")))
    );
    tamper!(
        advanced_management_read_only,
        &format!(
            r#"{{{CT},"eventName":"PutEventSelectors","requestParameters":{{"trailName":"t","advancedEventSelectors":[{{"fieldSelectors":[{{"field":"eventCategory","equals":["Management"]}},{{"field":"readOnly","equals":["true"]}}]}}]}}}}"#
        ),
        &[],
        Some(("PutEventSelectors", Some("t")))
    );
    tamper!(
        advanced_management_kept,
        &format!(
            r#"{{{CT},"eventName":"PutEventSelectors","requestParameters":{{"trailName":"t","advancedEventSelectors":[{{"fieldSelectors":[{{"field":"eventCategory","equals":["Management"]}}]}}]}}}}"#
        ),
        &[],
        None
    );
    tamper!(
        selectors_unreadable_no_alert,
        &format!(
            r#"{{{CT},"eventName":"PutEventSelectors","requestParameters":{{"trailName":"t","eventSelectors":"x"}}}}"#
        ),
        &[],
        None
    );
    tamper!(
        own_rule_disabled,
        r#"{"eventSource":"events.amazonaws.com","eventName":"DisableRule","requestParameters":{"name":"rootwatch-LocalRootActivityRule-AB12"}}"#,
        &["rootwatch-*"],
        Some(("DisableRule", Some("rootwatch-LocalRootActivityRule-AB12")))
    );
    tamper!(
        other_rule_disabled,
        r#"{"eventSource":"events.amazonaws.com","eventName":"DisableRule","requestParameters":{"name":"billing-rule"}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        no_config_no_own_alert,
        r#"{"eventSource":"events.amazonaws.com","eventName":"DeleteRule","requestParameters":{"name":"rootwatch-X"}}"#,
        &[],
        None
    );
    tamper!(
        own_targets_removed,
        r#"{"eventSource":"events.amazonaws.com","eventName":"RemoveTargets","requestParameters":{"rule":"rootwatch-R","ids":["1"]}}"#,
        &["rootwatch-*"],
        Some(("RemoveTargets", Some("rootwatch-R")))
    );
    tamper!(
        lambda_versioned_delete,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"DeleteFunction20150331","requestParameters":{"functionName":"arn:aws:lambda:us-east-1:111122223333:function:rootwatch-Function-X"}}"#,
        &["rootwatch-*"],
        Some((
            "DeleteFunction",
            Some("arn:aws:lambda:us-east-1:111122223333:function:rootwatch-Function-X")
        ))
    );
    tamper!(
        lambda_mapping_by_response,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"DeleteEventSourceMapping20150331","requestParameters":{"uUID":"u-1"},"responseElements":{"functionArn":"arn:aws:lambda:us-east-1:1:function:rootwatch-F"}}"#,
        &["rootwatch-*"],
        Some((
            "DeleteEventSourceMapping",
            Some("arn:aws:lambda:us-east-1:1:function:rootwatch-F")
        ))
    );
    tamper!(
        lambda_config_change,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionConfiguration20150331v2","requestParameters":{"functionName":"rootwatch-F"}}"#,
        &["rootwatch-*"],
        Some(("UpdateFunctionConfiguration", Some("rootwatch-F")))
    );
    tamper!(
        lambda_other_function,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"DeleteFunction20150331","requestParameters":{"functionName":"payments"}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        queue_url_segment,
        r#"{"eventSource":"sqs.amazonaws.com","eventName":"PurgeQueue","requestParameters":{"queueUrl":"https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-BufferQueue-Q"}}"#,
        &["rootwatch-*"],
        Some((
            "PurgeQueue",
            Some("https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-BufferQueue-Q")
        ))
    );
    tamper!(
        unsubscribe_topic_segment,
        r#"{"eventSource":"sns.amazonaws.com","eventName":"Unsubscribe","requestParameters":{"subscriptionArn":"arn:aws:sns:us-east-1:111122223333:rootwatch-alerts:7f1c"}}"#,
        &["rootwatch-alerts"],
        Some((
            "Unsubscribe",
            Some("arn:aws:sns:us-east-1:111122223333:rootwatch-alerts:7f1c")
        ))
    );
    tamper!(
        key_by_id,
        r#"{"eventSource":"kms.amazonaws.com","eventName":"ScheduleKeyDeletion","requestParameters":{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab","pendingWindowInDays":7}}"#,
        &["arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
        Some((
            "ScheduleKeyDeletion",
            Some("1234abcd-12ab-34cd-56ef-1234567890ab")
        ))
    );
    tamper!(
        key_id_listed,
        r#"{"eventSource":"kms.amazonaws.com","eventName":"ScheduleKeyDeletion","requestParameters":{"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd"}}"#,
        &["1234abcd"],
        Some((
            "ScheduleKeyDeletion",
            Some("arn:aws:kms:us-east-1:111122223333:key/1234abcd")
        ))
    );
    tamper!(
        table_deleted,
        r#"{"eventSource":"dynamodb.amazonaws.com","eventName":"DeleteTable","requestParameters":{"tableName":"rootwatch-sessions"}}"#,
        &["rootwatch-*"],
        Some(("DeleteTable", Some("rootwatch-sessions")))
    );
    tamper!(
        role_policy_detached,
        r#"{"eventSource":"iam.amazonaws.com","eventName":"DetachRolePolicy","requestParameters":{"roleName":"rootwatch-FunctionRole-Z","policyArn":"arn:aws:iam::aws:policy/x"}}"#,
        &["rootwatch-*"],
        Some(("DetachRolePolicy", Some("rootwatch-FunctionRole-Z")))
    );

    const ROLE: &str = "rootwatch-FunctionRole-Z";
    const DENY_ALL: &str = "arn:aws:iam::aws:policy/AWSDenyAll";

    tamper!(
        deny_all_attached_to_own_role,
        &format!(
            r#"{{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy","requestParameters":{{"roleName":"{ROLE}","policyArn":"{DENY_ALL}"}}}}"#
        ),
        &["rootwatch-*"],
        Some(("AttachRolePolicy", Some(ROLE)))
    );
    tamper!(
        deny_all_attached_to_other_role,
        &format!(
            r#"{{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy","requestParameters":{{"roleName":"payments-role","policyArn":"{DENY_ALL}"}}}}"#
        ),
        &["rootwatch-*"],
        None
    );
    tamper!(
        managed_policy_attached_to_own_role,
        &format!(
            r#"{{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy","requestParameters":{{"roleName":"{ROLE}","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}}}}"#
        ),
        &["rootwatch-*"],
        Some(("AttachRolePolicy", Some(ROLE)))
    );
    tamper!(
        managed_policy_attached_to_other_role,
        r#"{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy","requestParameters":{"roleName":"payments-role","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        invoke_config_put_own,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"PutFunctionEventInvokeConfig","requestParameters":{"functionName":"rootwatch-Function-X","maximumRetryAttempts":0}}"#,
        &["rootwatch-*"],
        Some(("PutFunctionEventInvokeConfig", Some("rootwatch-Function-X")))
    );
    tamper!(
        invoke_config_put_versioned_own,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"PutFunctionEventInvokeConfig20190925","requestParameters":{"functionName":"arn:aws:lambda:us-east-1:111122223333:function:rootwatch-Function-X"}}"#,
        &["rootwatch-*"],
        Some((
            "PutFunctionEventInvokeConfig",
            Some("arn:aws:lambda:us-east-1:111122223333:function:rootwatch-Function-X")
        ))
    );
    tamper!(
        invoke_config_put_other,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"PutFunctionEventInvokeConfig","requestParameters":{"functionName":"payments"}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        invoke_config_update_own,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionEventInvokeConfig","requestParameters":{"functionName":"rootwatch-Function-X","destinationConfig":{"onFailure":{}}}}"#,
        &["rootwatch-*"],
        Some((
            "UpdateFunctionEventInvokeConfig",
            Some("rootwatch-Function-X")
        ))
    );
    tamper!(
        invoke_config_update_other,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionEventInvokeConfig","requestParameters":{"functionName":"payments"}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        invoke_config_delete_own,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"DeleteFunctionEventInvokeConfig","requestParameters":{"functionName":"rootwatch-Function-X"}}"#,
        &["rootwatch-*"],
        Some((
            "DeleteFunctionEventInvokeConfig",
            Some("rootwatch-Function-X")
        ))
    );
    tamper!(
        invoke_config_delete_other,
        r#"{"eventSource":"lambda.amazonaws.com","eventName":"DeleteFunctionEventInvokeConfig","requestParameters":{"functionName":"payments"}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        table_policy_put_own,
        r#"{"eventSource":"dynamodb.amazonaws.com","eventName":"PutResourcePolicy","requestParameters":{"resourceArn":"arn:aws:dynamodb:us-east-1:111122223333:table/rootwatch-SessionsTable-Q","policy":"{}"}}"#,
        &["rootwatch-*"],
        Some((
            "PutResourcePolicy",
            Some("arn:aws:dynamodb:us-east-1:111122223333:table/rootwatch-SessionsTable-Q")
        ))
    );
    tamper!(
        table_policy_put_other,
        r#"{"eventSource":"dynamodb.amazonaws.com","eventName":"PutResourcePolicy","requestParameters":{"resourceArn":"arn:aws:dynamodb:us-east-1:111122223333:table/orders","policy":"{}"}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        table_policy_delete_own,
        r#"{"eventSource":"dynamodb.amazonaws.com","eventName":"DeleteResourcePolicy","requestParameters":{"resourceArn":"arn:aws:dynamodb:us-east-1:111122223333:table/rootwatch-SessionsTable-Q"}}"#,
        &["rootwatch-SessionsTable-Q"],
        Some((
            "DeleteResourcePolicy",
            Some("arn:aws:dynamodb:us-east-1:111122223333:table/rootwatch-SessionsTable-Q")
        ))
    );
    tamper!(
        table_policy_delete_other,
        r#"{"eventSource":"dynamodb.amazonaws.com","eventName":"DeleteResourcePolicy","requestParameters":{"resourceArn":"arn:aws:dynamodb:us-east-1:111122223333:table/orders"}}"#,
        &["rootwatch-SessionsTable-Q"],
        None
    );
    tamper!(
        table_ttl_own,
        r#"{"eventSource":"dynamodb.amazonaws.com","eventName":"UpdateTimeToLive","requestParameters":{"tableName":"rootwatch-SessionsTable-Q","timeToLiveSpecification":{"enabled":true,"attributeName":"created_at"}}}"#,
        &["rootwatch-*"],
        Some(("UpdateTimeToLive", Some("rootwatch-SessionsTable-Q")))
    );
    tamper!(
        table_ttl_other,
        r#"{"eventSource":"dynamodb.amazonaws.com","eventName":"UpdateTimeToLive","requestParameters":{"tableName":"orders","timeToLiveSpecification":{"enabled":false,"attributeName":"ttl"}}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        leave_organization_always,
        r#"{"eventSource":"organizations.amazonaws.com","eventName":"LeaveOrganization","requestParameters":null}"#,
        &[],
        Some(("LeaveOrganization", None))
    );
    tamper!(
        cloudtrail_trusted_access_disabled,
        r#"{"eventSource":"organizations.amazonaws.com","eventName":"DisableAWSServiceAccess","requestParameters":{"servicePrincipal":"cloudtrail.amazonaws.com"}}"#,
        &[],
        Some(("DisableAWSServiceAccess", None))
    );
    tamper!(
        other_trusted_access_disabled,
        r#"{"eventSource":"organizations.amazonaws.com","eventName":"DisableAWSServiceAccess","requestParameters":{"servicePrincipal":"config.amazonaws.com"}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        cloudtrail_delegated_admin_deregistered,
        r#"{"eventSource":"organizations.amazonaws.com","eventName":"DeregisterDelegatedAdministrator","requestParameters":{"accountId":"444455556666","servicePrincipal":"cloudtrail.amazonaws.com"}}"#,
        &[],
        Some(("DeregisterDelegatedAdministrator", Some("444455556666")))
    );
    tamper!(
        other_delegated_admin_deregistered,
        r#"{"eventSource":"organizations.amazonaws.com","eventName":"DeregisterDelegatedAdministrator","requestParameters":{"accountId":"444455556666","servicePrincipal":"guardduty.amazonaws.com"}}"#,
        &["rootwatch-*"],
        None
    );
    tamper!(
        organizations_other_call,
        r#"{"eventSource":"organizations.amazonaws.com","eventName":"EnableAWSServiceAccess","requestParameters":{"servicePrincipal":"cloudtrail.amazonaws.com"}}"#,
        &["rootwatch-*"],
        None
    );

    #[test]
    fn deny_all_in_every_partition_only() {
        assert!(is_deny_all(DENY_ALL));
        assert!(is_deny_all("arn:aws-us-gov:iam::aws:policy/AWSDenyAll"));
        assert!(!is_deny_all("arn:aws:iam::111122223333:policy/AWSDenyAll"));
        assert!(!is_deny_all("arn:aws:iam::aws:policy/AWSDenyAllX"));
        assert!(!is_deny_all(
            "arn:aws:iam::aws:policy/job-function/AWSDenyAll"
        ));
        assert!(!is_deny_all("AWSDenyAll"));
    }

    #[test]
    fn attach_severity_deny_all_is_at_least_delete_role_policy() {
        let own = vec!["rootwatch-*".to_owned()];
        let stack =
            r#","userIdentity":{"type":"AssumedRole","invokedBy":"cloudformation.amazonaws.com"}"#;
        let sev = |name: &str, policy: &str, extra: &str| {
            let json = format!(
                r#"{{"eventSource":"iam.amazonaws.com","eventName":"{name}","requestParameters":{{"roleName":"{ROLE}","policyArn":"{policy}","policyName":"p"}}{extra}}}"#
            );
            let r = Record::from_json(&json).unwrap();
            let (e, _) = matching(&r, &own).unwrap();
            severity(e, &r)
        };
        for extra in ["", stack, r#","errorCode":"AccessDenied""#] {
            assert!(
                sev("AttachRolePolicy", DENY_ALL, extra)
                    >= sev("DeleteRolePolicy", DENY_ALL, extra),
                "{extra}"
            );
        }
        assert_eq!(sev("AttachRolePolicy", DENY_ALL, stack), Severity::Critical);
        assert_eq!(sev("AttachRolePolicy", DENY_ALL, ""), Severity::Critical);
        let other = "arn:aws:iam::aws:policy/ReadOnlyAccess";
        assert_eq!(sev("AttachRolePolicy", other, ""), Severity::Critical);
        assert_eq!(sev("AttachRolePolicy", other, stack), Severity::Low);
    }

    #[test]
    fn every_row_cites_an_aws_doc_and_rows_of_one_event_are_adjacent() {
        for (i, e) in TAMPER_TABLE.iter().enumerate() {
            assert!(
                e.doc.starts_with("https://docs.aws.amazon.com/"),
                "{}",
                e.event_name
            );
            let later = TAMPER_TABLE[i + 1..]
                .iter()
                .position(|o| o.event_source == e.event_source && o.event_name == e.event_name);
            assert!(later.is_none_or(|j| j == 0), "{} rows apart", e.event_name);
        }
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name("DeleteFunction20150331"), "DeleteFunction");
        assert_eq!(
            base_name("UpdateFunctionConfiguration20150331v2"),
            "UpdateFunctionConfiguration"
        );
        assert_eq!(base_name("DeleteQueue"), "DeleteQueue");
        assert_eq!(base_name("2015"), "2015");
    }

    #[test]
    fn severities() {
        let rec = |extra: &str| {
            format!(
                r#"{{"eventSource":"events.amazonaws.com","eventName":"PutRule","requestParameters":{{"name":"rootwatch-R"}}{extra}}}"#
            )
        };
        let own = vec!["rootwatch-*".to_owned()];
        let sev = |json: &str| {
            let r = Record::from_json(json).unwrap();
            let (e, _) = matching(&r, &own).unwrap();
            severity(e, &r)
        };
        assert_eq!(sev(&rec("")), Severity::Critical);
        assert_eq!(
            sev(&rec(
                r#","userIdentity":{"type":"AssumedRole","invokedBy":"cloudformation.amazonaws.com"}"#
            )),
            Severity::Low
        );
        assert_eq!(sev(&rec(r#","errorCode":"AccessDenied""#)), Severity::High);
    }
}
