//! Reading CloudTrail wherever users have it: the decoder of every accepted shape ([`decode`]),
//! the files of a folder ([`walk`]) and CloudTrail's S3 key layout ([`s3_keys`]).

pub mod decode;
pub mod s3_keys;
pub mod walk;

pub use decode::*;
