//! The `decode` part of the fuzz bodies (see the module above).

use super::*;

/// What one decoder run handed over, as text, and how it ended.
#[derive(Debug, PartialEq)]
pub(crate) struct Decoded {
    items: Vec<String>,
    end: String,
}

pub(crate) fn decode_with(
    data: &[u8],
    lines: bool,
    limit: usize,
    analyse: bool,
    config: &RuleConfig,
) -> Decoded {
    let mut items = Vec::new();
    let mut sink = |item: Item<'_>| -> Result<(), input::Stop> {
        let (index, text) = match item {
            Item::Record {
                index,
                json,
                envelope,
            } => {
                if analyse {
                    if let Ok(rec) = Record::from_json(json) {
                        let pipeline = Pipeline::new(config.clone(), Severity::Info);
                        check_report(&pipeline.report(&rec, input_ref(), &NoOrigins));
                    }
                }
                (index, format!("record {envelope:?} {json}"))
            }
            Item::NotCloudTrail { index, detail_type } => {
                check_printable(&detail_type, "detail-type");
                (index, format!("other {detail_type}"))
            }
            Item::Bad { index, reason } => {
                check_printable(&reason, "error reason");
                (index, format!("bad {reason}"))
            }
        };
        // Indexes count every value handed over, from 0.
        assert_eq!(index, items.len() as u64, "index of {text}");
        items.push(text);
        Ok(())
    };
    let res = input::maybe_gunzip(data)
        .map_err(DecodeError::Io)
        .and_then(|r| {
            if lines {
                input::decode_lines(r, &mut sink)
            } else {
                input::decode_stream_within(r, limit, &mut sink)
            }
        });
    let end = match res {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            assert!(
                !matches!(e, DecodeError::Stopped(_)),
                "the sink never stops"
            );
            let text = e.to_string();
            check_printable(&text, "decode error");
            // serde_json's reader may place an error one column further than its slice parser
            // (see input.rs's own test), or one line further after a raw newline inside a
            // string: compare without the position.
            text.split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned()
        }
    };
    Decoded { items, end }
}

/// Arbitrary bytes through every input shape the decoder accepts, then the Lambda dispatch.
pub fn decode(data: &[u8]) {
    let config = rule_config();
    // A file as replay reads it (plain or gzip, one or several JSON values), each record analysed.
    let memory = decode_with(data, false, SLURP_LIMIT, true, &config);
    // An input above the in-memory limit is streamed: the same values and end.
    let streamed = decode_with(data, false, 0, false, &config);
    if memory.end.starts_with("read error") {
        // A corrupt gzip stream: read whole, it fails before parsing; streamed, the values
        // before the damage are handed over first. Either way the input ends in an error.
        assert_ne!(streamed.end, "ok", "a read error is lost when streaming");
    } else {
        assert_eq!(memory, streamed, "in-memory and streamed decoding differ");
    }
    // Gzip is detected by content: the compressed input decodes as the input.
    if !data.starts_with(&[0x1f, 0x8b]) {
        let gz = decode_with(&gzip(data), false, SLURP_LIMIT, false, &config);
        assert_eq!(memory, gz, "gzip and plain decoding differ");
    }
    // The same bytes as JSON Lines (`*.jsonl`, `*.ndjson`).
    decode_with(data, true, SLURP_LIMIT, true, &config);
    lambda(data);
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("gzip to memory");
    gz.finish().expect("gzip to memory")
}
