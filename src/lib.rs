//! rootwatch: detect AWS root-user activity in CloudTrail and tell who is behind each session.
//!
//! The layout is the architecture:
//! - [`core`]: pure analysis of one record at a time (record model, classification, rules, the
//!   task and tamper catalogs, session tracking, alerts, and the one per-record
//!   [`core::pipeline::Pipeline`]). No I/O, no clock, no tokio, AWS SDK or Lambda runtime: the
//!   test `tests/architecture.rs` fails the build of the test suite when one creeps in.
//! - [`input`]: reading CloudTrail wherever it is (decoding every accepted shape, walking
//!   folders, S3 key layout and listings).
//! - [`replay`]: the local engine (two passes over files, on every core).
//! - [`aws`]: everything that talks to AWS: the Lambda function, SNS, DynamoDB, S3 objects,
//!   notifications and Batch Operations.
//! - [`cli`]: the `rootwatch` command: arguments, output formats, session trees.

// The function's future (runtime loop, handler, SDK clients) is deeper than the default 128.
#![recursion_limit = "256"]

pub mod aws;
pub mod cli;
pub mod core;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod replay;
