//! The bodies of the fuzz targets, and their seed corpora built from `events/`.
//!
//! `fuzz/fuzz_targets/<target>.rs` (cargo fuzz, libFuzzer; `make fuzz`) and `tests/fuzz_seeds.rs`
//! (plain `cargo test`, every seed and every committed reproducer once) call the same functions
//! here. Each takes arbitrary bytes and panics when an invariant does not hold:
//!
//! - [`decode`]: every input shape (plain and gzip, one JSON document, `{"Records":[…]}`,
//!   EventBridge envelopes, arrays, JSON Lines) through the decoder and the core; the in-memory
//!   and streamed readers and the gzip reader agree; error texts are safe to print.
//! - [`lambda`]: the function's payload dispatch (SQS batch, EventBridge event, anything else)
//!   through [`Handler::handle`] with an in-memory publisher; every alert published is valid.
//! - [`record`]: one record through classify, the rules (both configurable rules on), analysis
//!   with a session tracker that attributes and learns, and the `jsonl` and table renderings.
//! - [`alert`]: attacker-chosen strings in realistic records, and arbitrary reports, through
//!   [`alert::build`] in both formats; SNS's subject and size rules hold.

mod alert_target;
mod decode_target;
mod invariants;
mod lambda_target;
mod record_target;
mod seeds;

pub use alert_target::*;
pub use decode_target::*;
pub use invariants::*;
pub use lambda_target::*;
pub use record_target::*;
pub use seeds::*;

use crate::aws::function::{Config, Handler};
use crate::aws::testing::FakePublisher;
use crate::cli::render::Table;
use crate::core::alert::{self, Alert, AlertFormat, MAX_MESSAGE_BYTES, MAX_SUBJECT};
use crate::core::classify::classify;
use crate::core::model::{
    Finding, Hop, InputRef, Origin, Principal, PrincipalClass, RecordReport, Rule, Severity, Task,
};
use crate::core::pipeline::{NoOrigins, Pipeline};
use crate::core::record::Record;
use crate::core::rules::{evaluate, Context, RuleConfig};
use crate::core::sanitize::is_clean;
use crate::core::session::{Session, SessionTracker};
use crate::input::{self, DecodeError, Item, SLURP_LIMIT};
use crate::replay::Output;
use serde_json::{json, Value};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The fuzz targets, by name (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &["decode", "lambda", "record", "alert"];

/// Runs one target's body on `data`.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "decode" => decode(data),
        "lambda" => lambda(data),
        "record" => record(data),
        "alert" => alert(data),
        other => panic!("unknown fuzz target {other:?}"),
    }
}

pub(crate) const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:rootwatch";

/// Both configurable rules on, as a deployment would have them.
pub(crate) fn rule_config() -> RuleConfig {
    RuleConfig::from_lists(
        &["arn:aws:iam::*:role/BreakGlass*, arn:aws:iam::444455556666:role/*Admin*".into()],
        &["111122223333 222233334444".into()],
    )
    .expect("valid rule config")
}

pub(crate) fn input_ref() -> InputRef {
    InputRef {
        file: "fuzz".into(),
        index: 0,
    }
}
