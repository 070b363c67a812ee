//! Attacker-chosen fields in alerting records, and arbitrary reports, through `alert::build` in
//! both formats (SNS subject and size rules, valid JSON, no control characters).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rootwatch::fuzzing::alert(data));
