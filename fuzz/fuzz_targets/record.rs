//! Arbitrary bytes as one record: classify, rules (configured), analysis with session tracking,
//! renderings and alerts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rootwatch::fuzzing::record(data));
