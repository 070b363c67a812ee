//! Arbitrary bytes as a Lambda payload, as SQS message bodies and as an EventBridge event's detail,
//! through `Handler::handle` with an in-memory publisher.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rootwatch::fuzzing::lambda(data));
