//! The `rootwatch` command line: output formats ([`render`]) and session trees ([`tree`]).

pub mod render;
pub mod tree;
