//! rootwatch: detect AWS root-user activity in CloudTrail and tell who is behind each session.
//!
//! The core (`record`, `classify`, `rules`, `catalog`, `assume`, `analyze`) is pure: plain
//! functions over one record, no I/O and no clock. Adapters (`input`, `replay`, `render`) do
//! the reading and writing.

pub mod alert;
pub mod analyze;
pub mod assume;
pub mod catalog;
pub mod classify;
pub mod dynamo;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod lambda;
pub mod lenient;
pub mod model;
pub mod record;
pub mod render;
pub mod replay;
pub mod rules;
pub mod s3;
pub mod sanitize;
pub mod session;
pub mod sns;
pub mod store;
pub mod tamper;
pub mod time;
pub mod tree;
