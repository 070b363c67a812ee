//! The function's suppressions: the same TOML file as `replay --suppressions`, read from an S3
//! object (`SUPPRESSIONS_S3_URI`) that an operator replaces without redeploying, cached and read
//! again once `SUPPRESSIONS_TTL_SECONDS` (default 60) have passed.
//!
//! Fail open towards alerts: an object that cannot be read or parsed suppresses nothing until
//! the next read; it is logged (the object, and the parse error's line and key) and counted in
//! `SuppressionFileErrors`. A missing object (404) is "no suppressions", logged at each read.
//! The function may only `s3:GetObject` that one object, and S3 answers a missing key with 403
//! to a caller without `s3:ListBucket`: that is counted as an error (keep an empty file
//! instead of deleting it). Expired entries are logged and counted (`SuppressionsExpired`) at
//! each read; findings suppressed are counted in `FindingsSuppressed` and never published.

use super::{Counts, Handler};
use crate::aws::s3::{ObjectError, ObjectRef, ObjectSource};
use crate::aws::sns::Publisher;
use crate::aws::store::SessionStore;
use crate::core::sanitize::clean;
use crate::core::suppress::{Suppressions, MAX_BYTES};
use std::sync::{Arc, Mutex};

/// Default `SUPPRESSIONS_TTL_SECONDS`: how long a read of the file is used.
pub const SUPPRESSIONS_TTL_SECONDS: i64 = 60;

/// Where the function reads its suppressions from (`SUPPRESSIONS_S3_URI`), and for how long a
/// read is used (`SUPPRESSIONS_TTL_SECONDS`).
#[derive(Debug, Clone, PartialEq)]
pub struct SuppressionSource {
    pub object: ObjectRef,
    pub ttl: i64,
}

impl SuppressionSource {
    /// `s3://bucket/key` (a whole key, not a prefix) and a TTL of 1 to 3600 seconds.
    pub fn parse(uri: &str, ttl: Option<&str>) -> Result<SuppressionSource, String> {
        let url = crate::input::s3_keys::S3Url::parse(uri.trim())
            .filter(|u| !u.prefix.is_empty() && !u.prefix.ends_with('/'))
            .ok_or_else(|| "expected s3://BUCKET/KEY naming one object".to_owned())?;
        let ttl = match ttl.map(str::trim).filter(|t| !t.is_empty()) {
            None => SUPPRESSIONS_TTL_SECONDS,
            Some(t) => t
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=3600).contains(n))
                .ok_or_else(|| {
                    format!(
                        "SUPPRESSIONS_TTL_SECONDS={:?}: expected 1 to 3600 seconds",
                        clean(t, 40)
                    )
                })?,
        };
        Ok(SuppressionSource {
            object: ObjectRef::new(&url.bucket, &url.prefix),
            ttl,
        })
    }
}

/// The last read: when (the handler's clock, epoch seconds) and what it gave.
#[derive(Default)]
pub struct Cache(Mutex<Option<(i64, Arc<Suppressions>)>>);

impl<P: Publisher, S: SessionStore, O: ObjectSource> Handler<P, S, O> {
    /// The suppressions in force: the cached read while it is younger than the TTL, else a new
    /// read. Without `SUPPRESSIONS_S3_URI`, none.
    pub(super) async fn suppressions(&self, counts: &mut Counts) -> Arc<Suppressions> {
        let Some(source) = &self.config.suppressions else {
            return Arc::default();
        };
        let now = (self.clock)();
        {
            let cached = self
                .suppressions
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some((at, set)) = cached.as_ref() {
                if now >= *at && now - at < source.ttl {
                    return set.clone();
                }
            }
        }
        let set = Arc::new(self.read_suppressions(source, now, counts).await);
        *self
            .suppressions
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((now, set.clone()));
        set
    }

    /// One read of the object: its entries, or none (logged and counted) when it cannot be
    /// read or parsed.
    async fn read_suppressions(
        &self,
        source: &SuppressionSource,
        now: i64,
        counts: &mut Counts,
    ) -> Suppressions {
        let url = source.object.url();
        counts.suppression_reads += 1;
        let bytes = match self.objects.get(&source.object).await {
            Ok(mut body) => {
                let mut bytes = Vec::new();
                let mut failed = None;
                while let Some(chunk) = body.next_chunk().await {
                    match chunk {
                        Ok(c) => bytes.extend_from_slice(&c),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                    // Enough to know it is too large: the parser refuses it by its size.
                    if bytes.len() > MAX_BYTES {
                        break;
                    }
                }
                match failed {
                    None => bytes,
                    Some(e) => return self.unreadable(&url, &e.to_string(), counts),
                }
            }
            Err(ObjectError::NotFound(_)) => {
                tracing::info!(object = %url, "no suppression file: nothing is suppressed");
                return Suppressions::default();
            }
            Err(e) => return self.unreadable(&url, &e.to_string(), counts),
        };
        match Suppressions::parse(&bytes, &url, now) {
            Ok(set) => {
                for e in set.expired(now) {
                    counts.suppressions_expired += 1;
                    tracing::warn!(object = %url, line = e.line, expires = %e.expires, reason = %clean(&e.reason, 200), "suppression expired; ignored");
                }
                tracing::info!(object = %url, entries = set.entries.len(), "suppressions read");
                set
            }
            Err(e) => {
                counts.suppression_errors += 1;
                tracing::error!(object = %url, line = e.line, key = e.key.as_deref().unwrap_or("-"), error = %clean(&e.message, 500), "suppression file refused: nothing is suppressed until it is fixed");
                Suppressions::default()
            }
        }
    }

    fn unreadable(&self, url: &str, why: &str, counts: &mut Counts) -> Suppressions {
        counts.suppression_errors += 1;
        tracing::error!(object = %url, error = %clean(why, 500), "suppression file not read: nothing is suppressed until it is");
        Suppressions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_one_object_and_a_bounded_ttl() {
        let s = SuppressionSource::parse("s3://cfg-bucket/rootwatch/s.toml", None).unwrap();
        assert_eq!(s.object, ObjectRef::new("cfg-bucket", "rootwatch/s.toml"));
        assert_eq!(s.ttl, 60);
        assert_eq!(
            SuppressionSource::parse("s3://b/k", Some("5")).unwrap().ttl,
            5
        );
        for bad in ["s3://b", "s3://b/", "s3://b/prefix/", "https://b/k", "b/k"] {
            assert!(SuppressionSource::parse(bad, None).is_err(), "{bad}");
        }
        for bad in ["0", "3601", "-1", "soon"] {
            let e = SuppressionSource::parse("s3://b/k", Some(bad)).unwrap_err();
            assert!(e.contains("SUPPRESSIONS_TTL_SECONDS"), "{e}");
        }
    }

    #[test]
    fn config_reads_the_variables_and_names_a_bad_one() {
        use crate::aws::function::{Config, ConfigError};
        let env = |uri: &'static str| {
            move |k: &str| match k {
                "SNS_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:111122223333:t".to_owned()),
                "SUPPRESSIONS_S3_URI" => Some(uri.to_owned()),
                _ => None,
            }
        };
        let c = Config::from_env(env("s3://cfg/s.toml")).unwrap();
        assert_eq!(
            c.suppressions.map(|s| s.object),
            Some(ObjectRef::new("cfg", "s.toml"))
        );
        assert_eq!(Config::from_env(env("")).unwrap().suppressions, None);
        assert!(matches!(
            Config::from_env(env("s3://cfg/")),
            Err(ConfigError::Invalid {
                name: "SUPPRESSIONS_S3_URI",
                ..
            })
        ));
    }
}
