//! Reading CloudTrail wherever users have it: the decoder of every accepted shape
//! ([`decode`]).

pub mod decode;

pub use decode::*;
