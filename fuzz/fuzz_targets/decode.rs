//! Arbitrary bytes through every input shape (plain and gzip, documents, log files, EventBridge
//! envelopes, arrays, JSON Lines), the core, and the Lambda payload dispatch.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rootwatch::fuzzing::decode(data));
