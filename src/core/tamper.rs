//! `detector-tamper`: requests that blind the detector. Data, not code.
//!
//! Two kinds of rows:
//! - the trail itself, for any trail: logging stopped, the trail deleted, or narrowed so that
//!   management events (or the global-service events where root sign-ins are recorded) are no
//!   longer delivered;
//! - the detector's own resources (rules, bus, function, event source mapping, queues, topic,
//!   subscription, key, table, role), named by configuration (`DETECTOR_RESOURCES` /
//!   `--detector-resource`), which the deployment templates set to the stack's names.
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
    row!("iam.amazonaws.com", "DeleteRole", OwnResource, Blinds, "detector IAM role deleted", IAM_DOC),
    row!("iam.amazonaws.com", "DeleteRolePolicy", OwnResource, Blinds, "detector IAM role policy deleted", IAM_DOC),
    row!("iam.amazonaws.com", "DetachRolePolicy", OwnResource, Blinds, "detector IAM role policy detached", IAM_DOC),
    row!("iam.amazonaws.com", "PutRolePolicy", OwnResource, Changes, "detector IAM role policy changed", IAM_DOC),
    row!("iam.amazonaws.com", "PutRolePermissionsBoundary", OwnResource, Changes, "detector IAM role permissions boundary set", IAM_DOC),
    row!("iam.amazonaws.com", "UpdateAssumeRolePolicy", OwnResource, Changes, "detector IAM role trust policy changed", IAM_DOC),
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
];

/// Lambda's event name without its API version (`UpdateFunctionConfiguration20150331v2` →
/// `UpdateFunctionConfiguration`).
pub fn base_name(name: &str) -> &str {
    match name.find(|c: char| c.is_ascii_digit()) {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// The row a record matches, with the resource it named (for `OwnResource` rows) or the trail.
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
    let entry = TAMPER_TABLE
        .iter()
        .find(|e| e.event_source == source && e.event_name == name)?;
    let trail = || {
        record
            .request_param("name")
            .or_else(|| record.request_param("trailName"))
    };
    match entry.condition {
        Condition::AnyTrail => Some((entry, trail())),
        Condition::NarrowsTrail => narrows_trail(record).then(|| (entry, trail())),
        Condition::DropsManagementWrites => {
            drops_management_writes(record.request_parameters?).then(|| (entry, trail()))
        }
        Condition::OwnResource => {
            if own.is_empty() {
                return None;
            }
            let named = RESOURCE_FIELDS.iter().find_map(|f| {
                [record.request_parameters, record.response_elements]
                    .into_iter()
                    .flatten()
                    .filter_map(|raw| raw_field(raw, f))
                    .find(|v| is_own(v, own))
            })?;
            Some((entry, Some(named)))
        }
    }
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
