//! The function's configuration, read once at init from its environment variables into typed
//! values; a bad value stops the function at start with a message naming the variable.

use crate::core::alert::AlertFormat;
use crate::core::model::Severity;
use crate::core::rules::RuleConfig;

/// The function's configuration, read once at init.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub topic_arn: String,
    pub min_severity: Severity,
    pub format: AlertFormat,
    /// `SESSIONS_TABLE`: the DynamoDB table shared by every instance (sessions and alert claims).
    pub sessions_table: Option<String>,
    /// `WATCHED_ROLES`, `TRUSTED_ACCOUNTS`, `DETECTOR_RESOURCES`.
    pub rules: RuleConfig,
    /// `LOG_BUCKETS`: the only buckets whose objects are read; `None` reads any bucket.
    pub log_buckets: Option<Vec<String>>,
    /// Sessions this instance keeps in memory: `SESSION_CAPACITY`, else from the function's
    /// memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, [`capacity_for_memory`]).
    pub session_capacity: usize,
    /// `ASSUME_ROOT_WAIT_SECONDS` (default 300): how long an SQS message whose record may be an
    /// AssumeRoot session's is returned to the queue, waiting for its `AssumeRoot` call.
    pub assume_root_wait: i64,
    /// The pattern rules: `ROOT_LOGIN_FAILURES`, `ROOT_LOGIN_WINDOW_MINUTES`, `SPRAY_ACCOUNTS`,
    /// `SPRAY_WINDOW_MINUTES`, `NEW_CALLER_DAYS`.
    pub patterns: crate::core::patterns::PatternConfig,
    /// `AUDIT` (`off`, `account` or `organization`; default off) and `AUDIT_ACCOUNTS`: what the
    /// scheduled audit reads (docs/audit.md).
    pub audit: Option<crate::aws::audit::AuditOptions>,
    /// `SUPPRESSIONS_S3_URI`, `SUPPRESSIONS_TTL_SECONDS`: the suppression file.
    pub suppressions: Option<super::SuppressionSource>,
    /// `SECURITY_HUB` (`true` or `false`, default `false`): also import every alerting finding
    /// into Security Hub, as the function's account's default product.
    pub security_hub: bool,
}

/// CloudTrail delivers most events within about 5 minutes of the API call: the default wait
/// for an `AssumeRoot` call that arrives after the requests it enabled.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/how-cloudtrail-works.html>
pub const ASSUME_ROOT_WAIT_SECONDS: i64 = 300;

/// Heap one tracked session may take, with room above the 818 bytes `tests/session_memory.rs`
/// measures (index entries, allocator slack).
pub const SESSION_BYTES: usize = 1024;
/// The share of the function's memory given to tracked sessions; the rest is the runtime,
/// the SDK clients, one batch or one log file being decoded.
pub const SESSION_MEMORY_SHARE: usize = 4;

/// Sessions kept in memory by a function of `memory_mb` megabytes: a quarter of its memory at
/// [`SESSION_BYTES`] each (128 MB: 32,768; 256 MB: 65,536; 1,024 MB: 262,144).
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>
pub fn capacity_for_memory(memory_mb: usize) -> usize {
    (memory_mb.saturating_mul(1024 * 1024) / SESSION_MEMORY_SHARE / SESSION_BYTES).max(1024)
}

impl Config {
    /// A configuration with defaults for everything but the topic.
    pub fn for_topic(topic_arn: &str) -> Config {
        Config {
            topic_arn: topic_arn.to_owned(),
            min_severity: Severity::Medium,
            format: AlertFormat::Standard,
            sessions_table: None,
            rules: RuleConfig::default(),
            log_buckets: None,
            session_capacity: crate::core::session::MEMORY_CAPACITY,
            assume_root_wait: ASSUME_ROOT_WAIT_SECONDS,
            patterns: Default::default(),
            audit: None,
            suppressions: None,
            security_hub: false,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("SNS_TOPIC_ARN is not set: the function needs the ARN of the SNS topic to publish alerts to")]
    MissingTopic,
    #[error("{name}={value:?} is not valid: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
}

impl Config {
    /// Reads `SNS_TOPIC_ARN` (required), `MIN_SEVERITY` (default `medium`), `ALERT_FORMAT`
    /// (`standard` or `chatbot`), `SECURITY_HUB`, `SESSIONS_TABLE`, `WATCHED_ROLES`, `TRUSTED_ACCOUNTS` and
    /// `DETECTOR_RESOURCES` and `LOG_BUCKETS` (comma-separated lists), `SESSION_CAPACITY` (else
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`) and `ASSUME_ROOT_WAIT_SECONDS`.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let topic_arn = get("SNS_TOPIC_ARN")
            .filter(|s| !s.trim().is_empty())
            .ok_or(ConfigError::MissingTopic)?;
        if !topic_arn.starts_with("arn:") {
            return Err(ConfigError::Invalid {
                name: "SNS_TOPIC_ARN",
                value: topic_arn,
                why: "expected an ARN (arn:aws:sns:REGION:ACCOUNT:NAME)".into(),
            });
        }
        let min_severity = match get("MIN_SEVERITY").filter(|s| !s.is_empty()) {
            None => Severity::Medium,
            Some(v) => v.parse().map_err(|why| ConfigError::Invalid {
                name: "MIN_SEVERITY",
                value: v,
                why,
            })?,
        };
        let format = match get("ALERT_FORMAT") {
            None => AlertFormat::Standard,
            Some(v) => v.parse().map_err(|why| ConfigError::Invalid {
                name: "ALERT_FORMAT",
                value: v,
                why,
            })?,
        };
        let sessions_table = get("SESSIONS_TABLE").filter(|s| !s.trim().is_empty());
        if let Some(t) = &sessions_table {
            let ok = (3..=255).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !ok {
                return Err(ConfigError::Invalid {
                    name: "SESSIONS_TABLE",
                    value: t.clone(),
                    why: "a DynamoDB table name is 3-255 characters of a-z, A-Z, 0-9, _, - and ."
                        .into(),
                });
            }
        }
        let list = |name: &str| get(name).into_iter().collect::<Vec<_>>();
        let rules = RuleConfig::from_lists(&list("WATCHED_ROLES"), &list("TRUSTED_ACCOUNTS"))
            .map_err(|why| ConfigError::Invalid {
                name: "WATCHED_ROLES / TRUSTED_ACCOUNTS",
                value: format!(
                    "{} / {}",
                    get("WATCHED_ROLES").unwrap_or_default(),
                    get("TRUSTED_ACCOUNTS").unwrap_or_default()
                ),
                why,
            })?
            .with_detector_resources(&list("DETECTOR_RESOURCES"))
            .map_err(|why| ConfigError::Invalid {
                name: "DETECTOR_RESOURCES",
                value: get("DETECTOR_RESOURCES").unwrap_or_default(),
                why,
            })?;
        let log_buckets = match get("LOG_BUCKETS") {
            None => None,
            Some(v) => {
                let names: Vec<String> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|b| !b.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = names.iter().find(|b| !is_bucket_name(b)) {
                    return Err(ConfigError::Invalid {
                        name: "LOG_BUCKETS",
                        value: v.clone(),
                        why: format!(
                            "{bad:?} is not a bucket name (3-63 characters of a-z, 0-9, . and -)"
                        ),
                    });
                }
                (!names.is_empty()).then_some(names)
            }
        };
        let number = |name: &'static str, max: i64| -> Result<Option<i64>, ConfigError> {
            match get(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<i64>() {
                    Ok(n) if (0..=max).contains(&n) => Ok(Some(n)),
                    _ => Err(ConfigError::Invalid {
                        name,
                        value: v,
                        why: format!("expected a whole number from 0 to {max}"),
                    }),
                },
            }
        };
        let session_capacity = match number("SESSION_CAPACITY", 10_000_000)? {
            Some(n) => (n as usize).max(1),
            None => match number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 10_240)? {
                Some(mb) => capacity_for_memory(mb as usize),
                None => crate::core::session::MEMORY_CAPACITY,
            },
        };
        let assume_root_wait =
            number("ASSUME_ROOT_WAIT_SECONDS", 3600)?.unwrap_or(ASSUME_ROOT_WAIT_SECONDS);
        let d = crate::core::patterns::PatternConfig::default();
        let at_least_one = |name: &'static str, v: Option<i64>| match v {
            Some(0) => Err(ConfigError::Invalid {
                name,
                value: "0".into(),
                why: "expected 1 or more".into(),
            }),
            v => Ok(v),
        };
        let patterns = crate::core::patterns::PatternConfig {
            brute_force_failures: at_least_one(
                "ROOT_LOGIN_FAILURES",
                number("ROOT_LOGIN_FAILURES", 1000)?,
            )?
            .map_or(d.brute_force_failures, |v| v as usize),
            brute_force_window: at_least_one(
                "ROOT_LOGIN_WINDOW_MINUTES",
                number("ROOT_LOGIN_WINDOW_MINUTES", 1440)?,
            )?
            .map_or(d.brute_force_window, |m| m * 60),
            spray_accounts: at_least_one("SPRAY_ACCOUNTS", number("SPRAY_ACCOUNTS", 1000)?)?
                .map_or(d.spray_accounts, |v| v as usize),
            spray_window: at_least_one(
                "SPRAY_WINDOW_MINUTES",
                number("SPRAY_WINDOW_MINUTES", 1440)?,
            )?
            .map_or(d.spray_window, |m| m * 60),
            new_caller_memory: at_least_one("NEW_CALLER_DAYS", number("NEW_CALLER_DAYS", 3650)?)?
                .map_or(d.new_caller_memory, |days| days * 86_400),
        };
        let audit = match get("AUDIT")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("off") => None,
            Some(kind @ ("account" | "organization")) => {
                let accounts: Vec<String> = get("AUDIT_ACCOUNTS")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = accounts
                    .iter()
                    .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(ConfigError::Invalid {
                        name: "AUDIT_ACCOUNTS",
                        value: bad.clone(),
                        why: "expected 12-digit AWS account ids separated by commas".into(),
                    });
                }
                Some(crate::aws::audit::AuditOptions {
                    organization: kind == "organization",
                    accounts,
                    concurrency: crate::aws::audit::CONCURRENCY,
                })
            }
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "AUDIT",
                    value: get("AUDIT").unwrap_or_default(),
                    why: "expected off, account or organization".into(),
                })
            }
        };
        let suppressions = match get("SUPPRESSIONS_S3_URI").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(uri) => Some(
                super::SuppressionSource::parse(&uri, get("SUPPRESSIONS_TTL_SECONDS").as_deref())
                    .map_err(|why| ConfigError::Invalid {
                    name: "SUPPRESSIONS_S3_URI",
                    value: uri,
                    why,
                })?,
            ),
        };
        let security_hub = match get("SECURITY_HUB").as_deref().map(str::trim) {
            None | Some("") => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    name: "SECURITY_HUB",
                    value: v.to_owned(),
                    why: "expected true or false".into(),
                })
            }
        };
        Ok(Config {
            audit,
            suppressions,
            topic_arn,
            min_severity,
            format,
            sessions_table,
            rules,
            log_buckets,
            session_capacity,
            assume_root_wait,
            patterns,
            security_hub,
        })
    }

    /// Whether objects of `bucket` may be read (`LOG_BUCKETS`).
    pub fn reads_bucket(&self, bucket: &str) -> bool {
        self.log_buckets
            .as_ref()
            .is_none_or(|l| l.iter().any(|b| b == bucket))
    }
}

/// General purpose bucket names: 3-63 characters of lower-case letters, digits, dots and hyphens.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>
fn is_bucket_name(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const TOPIC: (&str, &str) = ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:t");

    #[test]
    fn session_capacity_follows_the_functions_memory() {
        let at = |mb: &str| {
            Config::from_env(env(&[TOPIC, ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", mb)]))
                .unwrap()
                .session_capacity
        };
        assert_eq!(at("128"), 32_768);
        assert_eq!(at("256"), 65_536);
        assert_eq!(at("1024"), 262_144);
        // At most a quarter of the memory, at the measured size per session with room.
        assert!(at("128") * 818 < 128 * 1024 * 1024 / 4);
        // Outside Lambda (no variable): the replay default.
        let none = Config::from_env(env(&[TOPIC])).unwrap();
        assert_eq!(none.session_capacity, crate::core::session::MEMORY_CAPACITY);
        // SESSION_CAPACITY wins.
        let set = Config::from_env(env(&[
            TOPIC,
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("SESSION_CAPACITY", "5000"),
        ]))
        .unwrap();
        assert_eq!(set.session_capacity, 5000);
        let bad = Config::from_env(env(&[TOPIC, ("SESSION_CAPACITY", "lots")]));
        assert!(
            matches!(
                bad,
                Err(ConfigError::Invalid {
                    name: "SESSION_CAPACITY",
                    ..
                })
            ),
            "{bad:?}"
        );
    }

    #[test]
    fn the_assume_root_wait_is_configurable_and_bounded() {
        let c = Config::from_env(env(&[TOPIC])).unwrap();
        assert_eq!(c.assume_root_wait, ASSUME_ROOT_WAIT_SECONDS);
        let c = Config::from_env(env(&[TOPIC, ("ASSUME_ROOT_WAIT_SECONDS", "0")])).unwrap();
        assert_eq!(c.assume_root_wait, 0);
        let bad = Config::from_env(env(&[TOPIC, ("ASSUME_ROOT_WAIT_SECONDS", "-5")]));
        assert!(bad.is_err());
    }

    #[test]
    fn security_hub_is_opt_in_true_or_false() {
        assert!(!Config::from_env(env(&[TOPIC])).unwrap().security_hub);
        let on = Config::from_env(env(&[TOPIC, ("SECURITY_HUB", "TRUE")])).unwrap();
        assert!(on.security_hub);
        let off = Config::from_env(env(&[TOPIC, ("SECURITY_HUB", "false")])).unwrap();
        assert!(!off.security_hub);
        let bad = Config::from_env(env(&[TOPIC, ("SECURITY_HUB", "yes")]));
        assert!(
            matches!(
                bad,
                Err(ConfigError::Invalid {
                    name: "SECURITY_HUB",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
}
