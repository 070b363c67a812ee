//! `--suppressions FILE`: reads the suppression file once, before the replay (at most
//! [`MAX_BYTES`] + 1 bytes, so a huge file is refused without reading it whole), and warns on
//! standard error about the entries that have expired.

use crate::core::sanitize::clean;
use crate::core::suppress::{Suppressions, MAX_BYTES};
use std::io::Read;
use std::path::Path;

/// The wall clock, epoch seconds: what expiry is compared with.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The suppressions of `path` (none without one), or the usage error naming the file, the line
/// and the key. Expired entries are kept (they cover nothing) and named on stderr.
pub fn load(path: Option<&Path>, now: i64) -> Result<Suppressions, String> {
    let Some(path) = path else {
        return Ok(Suppressions::default());
    };
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("--suppressions {}: {e}", clean(&name, 300)))?;
    let set = Suppressions::parse(&bytes, &name, now).map_err(|e| e.to_string())?;
    for e in set.expired(now) {
        eprintln!(
            "rootwatch: warning: {}: line {}: suppression expired on {} (reason: {}); ignored, remove it or set a new expires",
            set.file,
            e.line,
            e.expires,
            clean(&e.reason, 200)
        );
    }
    Ok(set)
}
