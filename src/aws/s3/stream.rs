//! Streaming an object: its body goes chunk by chunk to a blocking thread that gunzips it into
//! [`input::decode_stream`], and the records come back in small batches through a bounded
//! channel. Memory does not grow with the object: a few chunks and a batch are in flight, plus
//! what `decode_stream` keeps (at most [`input::SLURP_LIMIT`]).

use super::{Body, ObjectError, ObjectRef, ObjectSource};
use crate::core::pipeline::Pipeline;
use crate::core::session::Session;
use crate::input::{self, DecodeError, Item, Stop};
use std::io::{self, Read};
use tokio::sync::mpsc;

/// Chunks in flight between the body and the decoder thread.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Batches of records in flight between the decoder thread and the caller.
const BATCHES_IN_FLIGHT: usize = 2;
/// Records per batch, and bytes of JSON per batch, at most (roughly).
const BATCH_RECORDS: usize = 256;
const BATCH_BYTES: usize = 1 << 20;

/// How feeding a body ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fed {
    /// Bytes received (compressed, as stored).
    pub bytes: u64,
    /// The body failed part way (the decoder saw an I/O error then).
    pub error: Option<ObjectError>,
}

/// What the decoder hands over, owned (it crosses threads).
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Record {
        index: u64,
        json: String,
        /// It came as the `detail` of an EventBridge event.
        enveloped: bool,
    },
    NotCloudTrail {
        index: u64,
        detail_type: String,
    },
    Bad {
        index: u64,
        reason: String,
    },
}

/// A `Read` over the chunks sent by [`feed`]; used on a blocking thread only.
pub struct ChunkReader {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(Ok(c)) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The sending half of a decoder's input.
pub type ChunkSender = mpsc::Sender<io::Result<Vec<u8>>>;

fn chunk_channel() -> (ChunkSender, ChunkReader) {
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    (
        tx,
        ChunkReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        },
    )
}

/// Sends `body` to a decoder chunk by chunk, waiting while the decoder is behind. Stops early
/// when the decoder is gone. A failing body is passed on as an I/O error and reported.
pub async fn feed(mut body: Body, tx: ChunkSender) -> Fed {
    let mut fed = Fed::default();
    while let Some(chunk) = body.next_chunk().await {
        match chunk {
            Ok(c) => {
                fed.bytes += c.len() as u64;
                if tx.send(Ok(c)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
                fed.error = Some(e);
                break;
            }
        }
    }
    fed
}

/// A decoder thread and its ends: send chunks to `input`, receive batches from `output`, and
/// await `done` for how decoding ended (`Err` for a corrupt object).
pub struct Decoder {
    pub input: ChunkSender,
    pub output: mpsc::Receiver<Vec<Decoded>>,
    pub done: tokio::task::JoinHandle<Result<(), DecodeError>>,
}

/// Starts decoding on a blocking thread: gunzip (by magic bytes) → [`input::decode_stream`].
/// The records read before an error are all handed over before `done` reports it.
pub fn decoder() -> Decoder {
    let (input, reader) = chunk_channel();
    let (tx, output) = mpsc::channel::<Vec<Decoded>>(BATCHES_IN_FLIGHT);
    let done = tokio::task::spawn_blocking(move || {
        let mut batch: Vec<Decoded> = Vec::with_capacity(BATCH_RECORDS);
        let mut size = 0;
        let result = {
            let mut sink = |item: Item<'_>| -> Result<(), Stop> {
                let d = match item {
                    Item::Record {
                        index,
                        json,
                        envelope,
                    } => {
                        size += json.len();
                        Decoded::Record {
                            index,
                            json: json.to_owned(),
                            enveloped: envelope.is_some(),
                        }
                    }
                    Item::NotCloudTrail { index, detail_type } => {
                        Decoded::NotCloudTrail { index, detail_type }
                    }
                    Item::Bad { index, reason } => Decoded::Bad { index, reason },
                };
                batch.push(d);
                if batch.len() >= BATCH_RECORDS || size >= BATCH_BYTES {
                    size = 0;
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_RECORDS));
                    tx.blocking_send(full)
                        .map_err(|_| Stop(io::Error::other("the reader of the records is gone")))?;
                }
                Ok(())
            };
            input::maybe_gunzip(reader)
                .map_err(DecodeError::Io)
                .and_then(|r| input::decode_stream(r, &mut sink))
        };
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        result
    });
    Decoder {
        input,
        output,
        done,
    }
}

/// Pass 1 over an object: the sessions its records issue ([`Pipeline::session_issued`] on
/// each record, on a blocking thread), in record order; the caller learns them into the one
/// tracker of its instance. Decoding errors are left to pass 2. `None` if the decoder thread
/// died.
pub async fn learn(body: Body, name: String) -> (Option<Vec<Session>>, Fed) {
    let (tx, reader) = chunk_channel();
    let thread = tokio::task::spawn_blocking(move || {
        let mut sessions = Vec::new();
        let mut sink = |item: Item<'_>| -> Result<(), Stop> {
            if let Item::Record { index, json, .. } = item {
                if let Some(s) = Pipeline::session_issued(json, &name, index) {
                    sessions.push(s);
                }
            }
            Ok(())
        };
        let _ = input::maybe_gunzip(reader)
            .map_err(DecodeError::Io)
            .and_then(|r| input::decode_stream(r, &mut sink));
        sessions
    });
    let fed = feed(body, tx).await;
    (thread.await.ok(), fed)
}

/// Downloads an object to `path` as stored (compressed), chunk by chunk. Returns its size.
pub async fn download(
    source: &impl ObjectSource,
    obj: &ObjectRef,
    path: &std::path::Path,
) -> Result<u64, ObjectError> {
    use std::io::Write;
    let mut body = source.get(obj).await?;
    let local = |e: io::Error| ObjectError::Permanent(format!("{}: {e}", path.display()));
    let mut file = io::BufWriter::new(std::fs::File::create(path).map_err(local)?);
    let mut size = 0;
    while let Some(chunk) = body.next_chunk().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        file.write_all(&chunk).map_err(local)?;
    }
    file.flush().map_err(local)?;
    Ok(size)
}
