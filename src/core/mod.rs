//! The pure core: plain functions over one CloudTrail record, time passed as a parameter.
//!
//! Nothing here reads files, calls AWS, spawns tasks or reads the clock; `tests/architecture.rs`
//! fails when a file under `src/core/` names tokio, the AWS SDK, the Lambda runtime, `std::fs`,
//! `std::net`, the system clock or another part of this crate.

pub mod alert;
pub mod asff;
pub mod assume;
pub mod audit;
pub mod catalog;
pub mod classify;
pub mod finding_uid;
pub mod lenient;
pub mod model;
pub mod ocsf;
pub mod patterns;
pub mod pipeline;
pub mod record;
pub mod rules;
pub mod sanitize;
pub mod session;
pub mod suppress;
pub mod tamper;
pub mod task_policy;
pub mod time;
