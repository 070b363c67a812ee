//! Our own lenient, borrowed CloudTrail record model.
//!
//! `aws_lambda_events`' `AWSAPICall` requires fields that real records omit (service events
//! without `userIdentity.type`, sign-in events without `requestID`, an empty `sessionIssuer`) and
//! drops `errorCode`, `errorMessage` and `accessKeyId`. This model makes every field optional,
//! borrows strings from the input where it can, and reads odd types leniently (see
//! [`crate::core::lenient`]). Request parameters and response elements stay raw JSON and are read only
//! by the rules that need them.

use crate::core::lenient;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A string borrowed from the input when it has no escapes.
pub type Text<'a> = Option<Cow<'a, str>>;

/// One CloudTrail record (an entry of a log file's `Records`, or an EventBridge event's `detail`).
///
/// Every field may be missing: the record contents page lists fields that appear only for some
/// event types (e.g. `requestID`, `readOnly`, `userIdentity` for Insights events).
/// Fields: <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "eventversion"
    )]
    pub event_version: Text<'a>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::object",
        alias = "useridentity"
    )]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "eventtime"
    )]
    pub event_time: Text<'a>,
    /// `"true"` on requests made with credentials from a console sign-in.
    /// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "sessioncredentialfromconsole"
    )]
    pub session_credential_from_console: Text<'a>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "eventsource"
    )]
    pub event_source: Text<'a>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "eventname"
    )]
    pub event_name: Text<'a>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "awsregion"
    )]
    pub aws_region: Text<'a>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        rename = "sourceIPAddress",
        alias = "sourceipaddress"
    )]
    pub source_ip_address: Text<'a>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "useragent"
    )]
    pub user_agent: Text<'a>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "errorcode"
    )]
    pub error_code: Text<'a>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "errormessage"
    )]
    pub error_message: Text<'a>,
    #[serde(default, borrow)]
    pub request_parameters: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub response_elements: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub additional_event_data: Option<&'a RawValue>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        rename = "eventID",
        alias = "eventid"
    )]
    pub event_id: Text<'a>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient::string",
        alias = "eventtype"
    )]
    pub event_type: Text<'a>,
    #[serde(default, deserialize_with = "lenient::boolean", alias = "readonly")]
    pub read_only: Option<bool>,
}

/// `userIdentity`. `type` is absent on some service events (`AwsServiceEvent` records carry
/// only `accountId` and `invokedBy`).
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::string", rename = "type")]
    pub kind: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub principal_id: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub arn: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub account_id: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub access_key_id: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub user_name: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub invoked_by: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    pub session_context: Option<SessionContext<'a>>,
}

/// `userIdentity.sessionContext`.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html#cloudtrail-event-reference-user-identity-fields>
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    pub session_issuer: Option<SessionIssuer<'a>>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub attributes: Option<SessionAttributes>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub source_identity: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub ec2_role_delivery: Text<'a>,
    /// Present (`"true"`) on requests made in an `sts:AssumeRoot` session; not always recorded.
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html>
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub assumed_root: Option<bool>,
}

/// `sessionContext.sessionIssuer`: may be `{}` (root console sessions).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::string", rename = "type")]
    pub kind: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub principal_id: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub arn: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub account_id: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient::string")]
    pub user_name: Text<'a>,
}

/// `sessionContext.attributes`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub mfa_authenticated: Option<bool>,
}

impl<'a> Record<'a> {
    /// Parses one record from its JSON text, borrowing strings from it.
    pub fn from_json(text: &'a str) -> Result<Self, serde_json::Error> {
        let mut rec = Record::default();
        let mut de = serde_json::Deserializer::from_str(text);
        Deserialize::deserialize_in_place(&mut de, &mut rec)?;
        de.end()?;
        Ok(rec)
    }

    pub fn event_name(&self) -> &str {
        self.event_name.as_deref().unwrap_or("")
    }

    pub fn event_source(&self) -> &str {
        self.event_source.as_deref().unwrap_or("")
    }

    pub fn identity_type(&self) -> Option<&str> {
        self.user_identity.as_ref()?.kind.as_deref()
    }

    pub fn invoked_by(&self) -> Option<&str> {
        self.user_identity
            .as_ref()?
            .invoked_by
            .as_deref()
            .filter(|s| !s.is_empty())
    }

    pub fn session_context(&self) -> Option<&SessionContext<'a>> {
        self.user_identity.as_ref()?.session_context.as_ref()
    }

    /// The request failed: CloudTrail records `errorCode`/`errorMessage` for failed requests.
    /// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>
    pub fn failed(&self) -> bool {
        self.error_code.as_deref().is_some_and(|s| !s.is_empty())
            || self.error_message.as_deref().is_some_and(|s| !s.is_empty())
    }

    /// `true` for `AwsServiceEvent`: an event AWS generated itself, not a request by the principal.
    /// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/non-api-aws-service-events.html>
    pub fn is_service_event(&self) -> bool {
        self.event_type.as_deref() == Some("AwsServiceEvent")
    }

    /// Reads a field of `requestParameters` as text.
    pub fn request_param(&self, key: &str) -> Option<Cow<'a, str>> {
        raw_field(self.request_parameters?, key)
    }

    /// Whether the call only reads: `readOnly` when recorded, else the API name's verb.
    pub fn is_read_only(&self) -> bool {
        if let Some(ro) = self.read_only {
            return ro;
        }
        const READ_VERBS: &[&str] = &[
            "Get", "List", "Describe", "Head", "Lookup", "Search", "Check", "BatchGet", "Select",
        ];
        let name = self.event_name();
        READ_VERBS.iter().any(|v| name.starts_with(v))
    }
}

/// Reads one top-level field of a raw JSON object as text (lenient); `None` if the raw value is
/// not an object, the key is missing, or the value is not a scalar.
pub fn raw_field<'a>(raw: &'a RawValue, key: &str) -> Option<Cow<'a, str>> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Find<'k>(&'k str);
    impl<'de> DeserializeSeed<'de> for Find<'_> {
        type Value = Option<Cow<'de, str>>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Find<'_> {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                if found.is_none() && k == self.0 {
                    found = map.next_value_seed(lenient::StringSeed)?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut s: A,
        ) -> Result<Self::Value, A::Error> {
            while s.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    Find(key).deserialize(&mut de).ok().flatten()
}

/// Parses a raw JSON value into `T`, or `None` when it does not fit.
pub fn raw_as<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Option<T> {
    serde_json::from_str(raw?.get()).ok()
}
