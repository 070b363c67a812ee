//! The stable identity of one finding, shared by the OCSF (`finding_info.uid`) and ASFF (`Id`)
//! documents: the same finding gets the same id on every run, in replay and in the function, so
//! Security Hub updates a re-imported finding instead of duplicating it.
//!
//! `rootwatch/<account>/<eventID>/<rule>[/<task>]`. A record without `eventID` is named by a
//! deterministic 64-bit FNV-1a hash of its identifying fields (time, source, name, principal,
//! access key, address, region) instead: `rootwatch/<account>/h<16 hex digits>/<rule>`.

use crate::core::model::{Finding, RecordReport};

/// The account a finding is about: the caller's account (`userIdentity.accountId`), else the
/// account of its ARN, else `unknown`.
pub fn account(report: &RecordReport) -> &str {
    report
        .principal
        .account_id
        .as_deref()
        .filter(|a| !a.is_empty())
        .or_else(|| {
            report
                .principal
                .arn
                .as_deref()
                .and_then(crate::core::classify::arn_account)
                .filter(|a| !a.is_empty())
        })
        .unwrap_or("unknown")
}

/// FNV-1a, 64 bits: stable across runs, platforms and Rust versions (unlike `DefaultHasher`).
fn fnv1a(parts: &[Option<&str>]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        // A tag byte per field keeps `("ab", None)` and `("a", "b")` apart.
        let (tag, text) = match p {
            Some(s) => (1u8, *s),
            None => (0u8, ""),
        };
        for b in std::iter::once(tag)
            .chain(text.bytes())
            .chain(std::iter::once(0xff))
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The record's part of the id: its `eventID`, or `h` and the hash of its identifying fields.
pub fn record_key(report: &RecordReport) -> String {
    if let Some(id) = report.event_id.as_deref().filter(|s| !s.is_empty()) {
        return id.to_owned();
    }
    let p = &report.principal;
    let h = fnv1a(&[
        report.event_time.as_deref(),
        report.event_source.as_deref(),
        report.event_name.as_deref(),
        report.aws_region.as_deref(),
        report.source_ip.as_deref(),
        p.arn.as_deref(),
        p.principal_id.as_deref(),
        p.access_key_id.as_deref(),
        report.error_code.as_deref(),
    ]);
    format!("h{h:016x}")
}

/// `rootwatch/<account>/<eventID or hash>/<rule>[/<task>]`.
pub fn uid(report: &RecordReport, finding: &Finding) -> String {
    let mut id = format!(
        "rootwatch/{}/{}/{}",
        account(report),
        record_key(report),
        finding.rule
    );
    if let Some(t) = finding.task {
        id.push('/');
        id.push_str(t.as_str());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_fixed_fnv1a() {
        // FNV-1a 64 of the empty input is the offset basis; of [None] it is two bytes mixed in.
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(&[Some("ab"), None]), fnv1a(&[Some("a"), Some("b")]));
        assert_ne!(fnv1a(&[None]), fnv1a(&[Some("")]));
    }
}
