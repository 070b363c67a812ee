//! Reading CloudTrail wherever users have it, one record at a time.
//!
//! Accepted shapes, detected from the content: a CloudTrail log file `{"Records": [...]}` (as
//! delivered to S3, plain or gzip), one EventBridge event (`detail-type` + `detail`), one bare
//! record, a JSON array of records or events, several of these one after another, and JSON Lines.
//! `Records` arrays are streamed element by element, so memory stays flat whatever the file size:
//! only the record being analysed is held.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

/// Read buffer size; large buffers matter for gzip and for serde_json's byte-wise reader.
pub const BUF_SIZE: usize = 256 * 1024;

/// The EventBridge envelope around a record, when there was one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    pub detail_type: Option<String>,
    pub source: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub id: Option<String>,
}

/// What the decoder hands over, one at a time.
#[derive(Debug)]
pub enum Item<'a> {
    /// One record's JSON text (not yet parsed), with its envelope if it came in one.
    Record {
        index: u64,
        json: &'a str,
        envelope: Option<&'a Envelope>,
    },
    /// An EventBridge event that does not carry a CloudTrail record (counted, not an error).
    NotCloudTrail { index: u64, detail_type: String },
    /// A value that is not a record; the rest of the input is still read.
    Bad { index: u64, reason: String },
}

/// Why the consumer stopped the decoder (e.g. a closed output pipe).
#[derive(Debug)]
pub struct Stop(pub io::Error);

/// Why an input could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("record {index}: {source}")]
    Syntax {
        index: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("read error: {0}")]
    Io(#[from] io::Error),
    /// The input broke off (a truncated gzip file): the records before `index` were read.
    #[error("read error at record {index}: {source}")]
    Damaged {
        index: u64,
        #[source]
        source: io::Error,
    },
    /// Bytes that are not UTF-8 (inside strings): read as U+FFFD, every record still read.
    #[error("invalid UTF-8 at line {line} column {column}, read as U+FFFD")]
    Utf8 { line: u64, column: u64 },
    #[error("empty input: no JSON value")]
    Empty,
    #[error("consumer stopped")]
    Stopped(io::Error),
    /// One value larger than [`MAX_RECORD_BYTES`] in a streamed input: reading stops there
    /// rather than hold it whole.
    #[error("record {index} is larger than {} MiB: it and the rest of this input were not read (CloudTrail records are far smaller: is this a CloudTrail log file?)", MAX_RECORD_BYTES >> 20)]
    TooLarge { index: u64 },
}

/// The largest record read. CloudTrail records are kilobytes (EventBridge carries events of up
/// to 256 KB); a larger value is refused rather than held whole: reported as not a record in
/// an input read into memory, and as [`DecodeError::TooLarge`] (the input stops) in a streamed
/// one, which holds no more than this of it.
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html>
pub const MAX_RECORD_BYTES: usize = 8 * 1024 * 1024;

/// A streamed input's [`Capped`] state: bytes since the current value began, and whether the
/// cap was hit.
type CapState = (
    std::rc::Rc<std::cell::Cell<usize>>,
    std::rc::Rc<std::cell::Cell<bool>>,
);

/// A reader that fails once more than [`MAX_RECORD_BYTES`] were read since the decoder last
/// marked a value's start.
struct Capped<R> {
    inner: R,
    since: std::rc::Rc<std::cell::Cell<usize>>,
    tripped: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.since.get() > MAX_RECORD_BYTES {
            self.tripped.set(true);
            return Err(io::Error::other("record too large"));
        }
        let n = self.inner.read(buf)?;
        self.since.set(self.since.get() + n);
        Ok(n)
    }
}

/// What a decoder hands each item to; `Err(Stop)` ends the input.
pub type Sink<'s> = dyn FnMut(Item<'_>) -> Result<(), Stop> + 's;

struct Ctx<'s, 'f> {
    sink: &'s mut Sink<'f>,
    next: u64,
    stop: Option<Stop>,
    /// The JSON Lines line being read, named in errors.
    line: Option<u64>,
    /// Bytes read since the current value began (streamed inputs: [`Capped`]).
    since: Option<std::rc::Rc<std::cell::Cell<usize>>>,
}

impl Ctx<'_, '_> {
    fn bad(&mut self, reason: String) -> Result<(), Stop> {
        let index = self.next;
        let reason = match self.line {
            Some(n) => format!("line {n}: {reason}"),
            None => reason,
        };
        self.emit(Item::Bad { index, reason })
    }

    fn emit(&mut self, item: Item<'_>) -> Result<(), Stop> {
        self.next += 1;
        if let Some(since) = &self.since {
            since.set(0);
        }
        match item {
            Item::Record { index, json, .. } if json.len() > MAX_RECORD_BYTES => {
                (self.sink)(Item::Bad {
                    index,
                    reason: format!(
                        "{} bytes, larger than the {} MiB a record may have: not read",
                        json.len(),
                        MAX_RECORD_BYTES >> 20
                    ),
                })
            }
            item => (self.sink)(item),
        }
    }

    fn fail<E: de::Error>(&mut self, stop: Stop) -> E {
        self.stop = Some(stop);
        E::custom("stopped by consumer")
    }

    /// A value from an array, a JSON Lines line or a whole document that is not a log file:
    /// an EventBridge event, a bare record, or something else.
    fn value<E: de::Error>(&mut self, json: &str) -> Result<(), E> {
        let index = self.next;
        let item_res = match serde_json::from_str::<Probe>(json) {
            Err(e) => self.bad(format!("not a CloudTrail record or event: {e}")),
            Ok(p) => match (p.detail, p.detail_type.is_some() || p.source.is_some()) {
                (Some(detail), true) => {
                    let env = Envelope {
                        detail_type: p.detail_type.map(str_of),
                        source: p.source.map(str_of),
                        account: p.account.map(str_of),
                        region: p.region.map(str_of),
                        id: p.id.map(str_of),
                    };
                    if detail.get().trim_start().starts_with('{') && looks_like_record(detail.get())
                    {
                        self.emit(Item::Record {
                            index,
                            json: detail.get(),
                            envelope: Some(&env),
                        })
                    } else {
                        let detail_type = env.detail_type.clone().unwrap_or_default();
                        self.emit(Item::NotCloudTrail { index, detail_type })
                    }
                }
                _ => self.emit(Item::Record {
                    index,
                    json,
                    envelope: None,
                }),
            },
        };
        item_res.map_err(|s| self.fail(s))
    }
}

fn str_of(v: crate::core::lenient::LenientString) -> String {
    crate::core::sanitize::clean(&v.0, crate::core::sanitize::MAX_FIELD)
}

/// Whether a JSON object has one of the keys every CloudTrail record has.
fn looks_like_record(json: &str) -> bool {
    [
        "\"eventName\"",
        "\"eventSource\"",
        "\"eventVersion\"",
        "\"eventTime\"",
        "\"userIdentity\"",
        "\"eventname\"",
    ]
    .iter()
    .any(|k| json.contains(k))
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "detail-type", default)]
    detail_type: Option<crate::core::lenient::LenientString>,
    #[serde(default, borrow)]
    detail: Option<&'a RawValue>,
    #[serde(default)]
    source: Option<crate::core::lenient::LenientString>,
    #[serde(default)]
    account: Option<crate::core::lenient::LenientString>,
    #[serde(default)]
    region: Option<crate::core::lenient::LenientString>,
    #[serde(default)]
    id: Option<crate::core::lenient::LenientString>,
}

/// One top-level JSON value.
struct Top<'c, 's, 'f>(&'c mut Ctx<'s, 'f>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail log file, record, EventBridge event, or an array of them")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
        let mut log_file = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                map.next_value_seed(RecordsSeed(self.0))?;
                log_file = true;
            } else {
                fields.push((key, map.next_value()?));
            }
        }
        if log_file {
            return Ok(());
        }
        let mut json = String::with_capacity(
            fields
                .iter()
                .map(|(k, v)| k.len() + v.get().len() + 4)
                .sum::<usize>()
                + 2,
        );
        json.push('{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&serde_json::to_string(k).map_err(de::Error::custom)?);
            json.push(':');
            json.push_str(v.get());
        }
        json.push('}');
        self.0.value(&json)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            self.0.value(raw.get())?;
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_a_record("a string")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_a_record("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_a_record("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_a_record("a number")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_a_record("a boolean")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_a_record("null")
    }
}

impl Top<'_, '_, '_> {
    fn not_a_record<E: de::Error>(self, what: &str) -> Result<(), E> {
        let reason =
            format!("expected a CloudTrail record, log file or EventBridge event, found {what}");
        self.0.bad(reason).map_err(|s| self.0.fail(s))
    }
}

/// The `Records` array of a log file, streamed.
struct RecordsSeed<'c, 's, 'f>(&'c mut Ctx<'s, 'f>);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`Records` to be an array of CloudTrail records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let index = self.0.next;
            let r = self.0.emit(Item::Record {
                index,
                json: raw.get(),
                envelope: None,
            });
            r.map_err(|s| self.0.fail(s))?;
        }
        Ok(())
    }
}

/// Opens `reader` as plain or gzip data (by its magic bytes) and buffers it.
pub fn maybe_gunzip<'r, R: Read + 'r>(reader: R) -> io::Result<Box<dyn BufRead + 'r>> {
    let mut buf = BufReader::with_capacity(BUF_SIZE, reader);
    let head = buf.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(buf);
        Ok(Box::new(BufReader::with_capacity(BUF_SIZE, gz)))
    } else {
        Ok(Box::new(buf))
    }
}

/// Decodes a stream of JSON values (one document, or several one after another).
/// A syntax error stops this input: its position is reported and the values before it were
/// already handed over.
///
/// An input of up to [`SLURP_LIMIT`] bytes is read into memory and parsed from there (several
/// times faster than serde_json's byte-wise reader); a larger one is streamed, so memory stays
/// bounded whatever the file size.
pub fn decode_stream<R: BufRead>(reader: R, sink: &mut Sink<'_>) -> Result<(), DecodeError> {
    decode_stream_within(reader, SLURP_LIMIT, sink)
}

/// [`decode_stream`] with the in-memory limit given.
pub fn decode_stream_within<R: BufRead>(
    mut reader: R,
    limit: usize,
    sink: &mut Sink<'_>,
) -> Result<(), DecodeError> {
    let mut head = Vec::new();
    let read = (&mut reader).take(limit as u64 + 1).read_to_end(&mut head);
    if let Err(source) = read {
        // Hand over the records before the damage, then say where it was.
        let mut index = 0u64;
        let text = String::from_utf8_lossy(&head);
        let mut count = |item: Item<'_>| {
            index += 1;
            sink(item)
        };
        let mut de = serde_json::Deserializer::from_str(&text);
        if let Err(DecodeError::Stopped(e)) = decode_values(&mut de, &mut count, None) {
            return Err(DecodeError::Stopped(e));
        }
        return Err(DecodeError::Damaged { index, source });
    }
    if head.len() <= limit {
        return decode_slice(&head, sink);
    }
    let since = std::rc::Rc::new(std::cell::Cell::new(0));
    let tripped = std::rc::Rc::new(std::cell::Cell::new(false));
    let capped = Capped {
        inner: io::Cursor::new(head).chain(reader),
        since: since.clone(),
        tripped: tripped.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(capped);
    decode_values(&mut de, sink, Some((since, tripped)))
}

/// Inputs up to this size (after decompression) are parsed from memory.
pub const SLURP_LIMIT: usize = 16 * 1024 * 1024;

/// Reads a whole file into memory, decompressed, when it is at most `limit` bytes: one
/// allocation of the right size (a gzip file's size comes from its trailer), no intermediate
/// buffers. `None` when it is larger, or when its gzip stream is damaged: stream it instead (the
/// streaming reader hands over the records before the damage and says where it was). CloudTrail
/// delivers log files of a few kilobytes to a few megabytes, so nearly every file takes this path.
pub fn slurp_file(path: &std::path::Path, limit: usize) -> io::Result<Option<Vec<u8>>> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > limit as u64 {
        return Ok(None);
    }
    let mut raw = Vec::with_capacity(len as usize + 1);
    file.read_to_end(&mut raw)?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(Some(raw));
    }
    // ISIZE: the last member's uncompressed size modulo 2^32 (RFC 1952), a capacity hint only.
    let hint = raw
        .len()
        .checked_sub(4)
        .and_then(|i| raw.get(i..))
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map_or(0, |t| u32::from_le_bytes(t) as usize);
    let mut out = Vec::with_capacity(hint.min(limit) + 1);
    let read = flate2::read::MultiGzDecoder::new(raw.as_slice())
        .take(limit as u64 + 1)
        .read_to_end(&mut out);
    Ok((read.is_ok() && out.len() <= limit).then_some(out))
}

/// [`decode_stream`] over bytes already in memory.
pub fn decode_slice(head: &[u8], sink: &mut Sink<'_>) -> Result<(), DecodeError> {
    match std::str::from_utf8(head) {
        Ok(text) => decode_values(&mut serde_json::Deserializer::from_str(text), sink, None),
        // JSON's structure is ASCII: bytes that are not UTF-8 are damage inside strings (or
        // a syntax error, reported as such). Read them as U+FFFD, then say where they were.
        Err(bad) => {
            let text = String::from_utf8_lossy(head);
            decode_values(&mut serde_json::Deserializer::from_str(&text), sink, None)?;
            let before = &head[..bad.valid_up_to()];
            let line = 1 + before.iter().filter(|b| **b == b'\n').count() as u64;
            let column = 1 + before.iter().rev().take_while(|b| **b != b'\n').count() as u64;
            Err(DecodeError::Utf8 { line, column })
        }
    }
}

fn decode_values<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    sink: &mut Sink<'_>,
    cap: Option<CapState>,
) -> Result<(), DecodeError> {
    let (since, tripped) = cap.unzip();
    let mut ctx = Ctx {
        sink,
        next: 0,
        stop: None,
        line: None,
        since,
    };
    let mut first = true;
    loop {
        if let Err(source) = Top(&mut ctx).deserialize(&mut *de) {
            if let Some(Stop(e)) = ctx.stop.take() {
                return Err(DecodeError::Stopped(e));
            }
            if first && source.is_eof() && source.line() == 1 && source.column() == 0 {
                return Err(DecodeError::Empty);
            }
            if tripped.as_ref().is_some_and(|t| t.get()) {
                return Err(DecodeError::TooLarge { index: ctx.next });
            }
            if source.is_io() {
                return Err(DecodeError::Damaged {
                    index: ctx.next,
                    source: source.into(),
                });
            }
            return Err(DecodeError::Syntax {
                index: ctx.next,
                source,
            });
        }
        first = false;
        if de.end().is_ok() {
            return Ok(());
        }
    }
}

/// Decodes JSON Lines: each non-blank line is one value of any accepted shape. A bad line is
/// reported (with its line number) and the following lines are still read.
pub fn decode_lines<R: BufRead>(mut reader: R, sink: &mut Sink<'_>) -> Result<(), DecodeError> {
    let mut ctx = Ctx {
        sink,
        next: 0,
        stop: None,
        line: None,
        since: None,
    };
    let mut line = Vec::with_capacity(64 * 1024);
    let mut line_no = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        line_no += 1;
        ctx.line = Some(line_no);
        let text = match std::str::from_utf8(&line) {
            Ok(t) => t,
            Err(e) => {
                ctx.bad(format!("not UTF-8: {e}"))
                    .map_err(|Stop(e)| DecodeError::Stopped(e))?;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        // Without its line break, so that an error at the end of the line has its column.
        let text = text.trim_end_matches(['\n', '\r']);
        let mut de = serde_json::Deserializer::from_str(text);
        let res = Top(&mut ctx).deserialize(&mut de).and_then(|()| de.end());
        if let Err(e) = res {
            if let Some(Stop(e)) = ctx.stop.take() {
                return Err(DecodeError::Stopped(e));
            }
            // serde_json counts lines within this one line: report the column only.
            let msg = e.to_string();
            let msg = msg
                .rsplit_once(" at line ")
                .map_or(msg.as_str(), |(m, _)| m);
            let reason = format!("column {}: {msg}", e.column());
            ctx.bad(reason).map_err(|Stop(e)| DecodeError::Stopped(e))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log file whose second record is larger than a record may be.
    fn with_huge_record() -> String {
        let huge = format!(
            r#"{{"eventName":"x","requestParameters":{{"blob":"{}"}}}}"#,
            "a".repeat(MAX_RECORD_BYTES + 1024)
        );
        format!(r#"{{"Records":[{{"eventName":"first"}},{huge},{{"eventName":"third"}}]}}"#)
    }

    fn items(text: &str, limit: usize) -> (Vec<String>, Result<(), DecodeError>) {
        let mut seen = Vec::new();
        let r = decode_stream_within(text.as_bytes(), limit, &mut |item| {
            seen.push(match item {
                Item::Record { index, json, .. } => format!("record {index}: {} bytes", json.len()),
                Item::Bad { index, reason } => format!("bad {index}: {reason}"),
                Item::NotCloudTrail { index, .. } => format!("other {index}"),
            });
            Ok(())
        });
        (seen, r)
    }

    #[test]
    fn an_oversized_record_in_a_streamed_input_stops_it_with_its_index() {
        let (seen, r) = items(&with_huge_record(), 1024);
        assert_eq!(seen, ["record 0: 21 bytes"]);
        let e = r.unwrap_err();
        assert!(matches!(e, DecodeError::TooLarge { index: 1 }), "{e:?}");
        assert!(
            e.to_string().starts_with("record 1 is larger than 8 MiB"),
            "{e}"
        );
    }

    #[test]
    fn an_oversized_record_in_memory_is_reported_and_the_rest_read() {
        let (seen, r) = items(&with_huge_record(), usize::MAX / 2);
        r.unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[0], "record 0: 21 bytes");
        assert!(
            seen[1].starts_with("bad 1: ") && seen[1].contains("larger than the 8 MiB"),
            "{}",
            seen[1]
        );
        assert_eq!(seen[2], "record 2: 21 bytes");
    }

    /// What the decoder hands over, as text, and how it ends.
    fn run(input: &str, limit: usize) -> (Vec<String>, String) {
        let mut got = Vec::new();
        let end = decode_stream_within(input.as_bytes(), limit, &mut |item: Item<'_>| {
            got.push(match item {
                Item::Record { index, json, .. } => format!("{index} record {json}"),
                Item::NotCloudTrail { index, detail_type } => {
                    format!("{index} other {detail_type}")
                }
                Item::Bad { index, reason } => format!("{index} bad {reason}"),
            });
            Ok(())
        });
        // serde_json's reader may place a type error one column further: compare up to it.
        let end = format!("{end:?}");
        let end = end.split(", column").next().unwrap_or_default().to_owned();
        (got, end)
    }

    #[test]
    fn slurped_files_are_the_decompressed_bytes_or_none_above_the_limit() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let text = br#"{"Records":[{"eventName":"A"}]}"#;
        let plain = dir.path().join("a.json");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("a.json.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text).unwrap();
        let mut two = enc.finish().unwrap();
        std::fs::write(&gz, &two).unwrap();
        two.extend_from_slice(&two.clone()); // two members: both are read
        let multi = dir.path().join("m.json.gz");
        std::fs::write(&multi, &two).unwrap();
        assert_eq!(slurp_file(&plain, 100).unwrap().unwrap(), text);
        assert_eq!(slurp_file(&gz, 100).unwrap().unwrap(), text);
        assert_eq!(
            slurp_file(&multi, 1000).unwrap().unwrap().len(),
            2 * text.len()
        );
        assert_eq!(slurp_file(&plain, 10).unwrap(), None);
        assert_eq!(slurp_file(&gz, text.len() - 1).unwrap(), None);
        let cut = dir.path().join("cut.json.gz");
        std::fs::write(&cut, &std::fs::read(&gz).unwrap()[..20]).unwrap();
        assert_eq!(slurp_file(&cut, 100).unwrap(), None);
        assert!(slurp_file(&dir.path().join("missing"), 100).is_err());
    }

    #[test]
    fn in_memory_and_streamed_inputs_decode_the_same() {
        for input in [
            r#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#,
            r#"{"Records":[{"eventName":"A"},{oops}]}"#,
            r#"[{"eventName":"A"}, 5, {"detail-type":"X","detail":{"state":1}}]"#,
            "{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n",
            r#"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"A"}}"#,
            "",
            "   ",
            r#"{"Records": 5}"#,
        ] {
            let memory = run(input, SLURP_LIMIT);
            assert_eq!(run(input, 0), memory, "{input}");
            assert_eq!(run(input, 10), memory, "{input}");
        }
    }
}
