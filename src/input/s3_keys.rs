//! CloudTrail's S3 key layout, judged by name alone: which objects are log files, which day a
//! key's date path names, `s3://` locations, and the selection of a backfill. Pure: no request is
//! made here, so digest files, other files and objects outside a date range are never downloaded.
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html>

use crate::core::sanitize::{clean, MAX_FIELD};
use crate::input::walk::DIGEST_MARKER;

/// Longest key shown in logs, errors and reports (S3 keys are at most 1,024 bytes).
pub const MAX_KEY: usize = 1024;

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub bucket: String,
    /// The key as stored (already URL-decoded where the notification encodes it).
    pub key: String,
    pub version_id: Option<String>,
}

impl ObjectRef {
    pub fn new(bucket: &str, key: &str) -> ObjectRef {
        ObjectRef {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id: None,
        }
    }

    /// `s3://bucket/key`, sanitised: bucket and key come from notifications anyone who can write
    /// to the bucket (or send to the queue) chooses.
    pub fn url(&self) -> String {
        format!(
            "s3://{}/{}",
            clean(&self.bucket, MAX_FIELD),
            clean(&self.key, MAX_KEY)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// What a key is, judged by its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A CloudTrail log file (`*.json.gz`, or `*.json`).
    Log,
    /// A CloudTrail digest file: it holds hashes, no records.
    /// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html>
    Digest,
    /// Anything else (folders, manifests, other files).
    Other,
}

/// CloudTrail names log files `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html>
pub fn key_kind(key: &str) -> KeyKind {
    let name = key.rsplit('/').next().unwrap_or(key);
    if name.contains(DIGEST_MARKER) {
        KeyKind::Digest
    } else if name.ends_with(".json.gz") || name.ends_with(".json") {
        KeyKind::Log
    } else {
        KeyKind::Other
    }
}

/// A UTC calendar day, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Day> {
        let mut parts = s.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        Day::of(y, m, d)
    }

    fn of(y: &str, m: &str, d: &str) -> Option<Day> {
        let num = |s: &str| -> Option<i64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let t = crate::core::time::epoch(num(y)?, num(m)?, num(d)?, 0, 0, 0)?;
        Some(Day(t.div_euclid(86_400)))
    }
}

/// The day in a CloudTrail key's date path:
/// `[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE`. That is the day
/// (UTC) the file was delivered; a file can hold records written at any time before.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-find-log-files.html>
pub fn key_day(key: &str) -> Option<Day> {
    let parts: Vec<&str> = key.split('/').collect();
    (1..parts.len()).find_map(|i| {
        let account = parts[i - 1];
        if !parts[i].starts_with("CloudTrail")
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        // REGION, YYYY, MM, DD, and a file name after them.
        let rest = parts.get(i + 1..i + 6)?;
        if rest[0].is_empty() || rest[4].is_empty() || rest[1].len() != 4 {
            return None;
        }
        if rest[2].len() != 2 || rest[3].len() != 2 {
            return None;
        }
        Day::of(rest[1], rest[2], rest[3])
    })
}

/// Inclusive `--since` / `--until` days; `None` ends are open.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayRange {
    pub since: Option<Day>,
    pub until: Option<Day>,
}

impl DayRange {
    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    pub fn contains(&self, day: Day) -> bool {
        self.since.is_none_or(|s| day >= s) && self.until.is_none_or(|u| day <= u)
    }
}

/// What a backfill listing selected, and what it left out.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Selection {
    /// Log files to read: (key, size in bytes), in listing order.
    pub selected: Vec<(String, u64)>,
    pub digests: u64,
    /// Keys that are not log files (`*.json.gz`, `*.json`).
    pub other: u64,
    /// Keys whose date path is outside the range.
    pub outside: u64,
    /// Keys without a CloudTrail date path, when a range was given.
    pub undated: u64,
}

impl Selection {
    /// Sorts one listed key: outside the range (or undated, with a range) first, then by name.
    pub fn add(&mut self, key: &str, size: u64, range: &DayRange) {
        if !range.is_open() {
            match key_day(key) {
                None => {
                    self.undated += 1;
                    return;
                }
                Some(d) if !range.contains(d) => {
                    self.outside += 1;
                    return;
                }
                Some(_) => {}
            }
        }
        match key_kind(key) {
            KeyKind::Digest => self.digests += 1,
            KeyKind::Other => self.other += 1,
            KeyKind::Log => self.selected.push((key.to_owned(), size)),
        }
    }
}

/// `s3://bucket/prefix`: a bucket and a key prefix (possibly empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    /// `None` unless `s` starts with `s3://` and names a bucket.
    pub fn parse(s: &str) -> Option<S3Url> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "s3://{}/{}",
            clean(&self.bucket, MAX_FIELD),
            clean(&self.prefix, MAX_KEY)
        )
    }
}

/// Decodes a key as S3 event notifications encode it (`application/x-www-form-urlencoded`:
/// `+` for a space, `%XX` for a byte). A malformed escape is kept as it is.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>
pub fn decode_key(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
