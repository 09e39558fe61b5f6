//! The `file` spout: reads a text file (or standard input) in chunks of whole lines.
//!
//! A Tokio task reads ahead into a small bounded queue (so reading overlaps processing, and
//! stops when the dataflow falls behind); the spout hands one chunk per poll to the dataflow.
//! Chunk boundaries depend only on the file's content (the last line ending before
//! `chunk_bytes`), so a replay cuts the same epochs and gives the same results.
//!
//! Memory stays bounded on hostile input: a line longer than `max_line_bytes` is never held
//! whole; it is skipped up to its end and reported as a dead letter with its line number.

use std::marker::PhantomData;
use std::path::PathBuf;

use antimony_engine::{Context, Emitter, Record, Spout, SpoutError, SpoutStatus};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use crate::chunk::TextChunk;

/// Options of the `file` spout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The file to read; `-` reads standard input. Relative to the topology file.
    pub path: String,
    /// Target size of a chunk (one epoch of the dataflow). Default 64 KiB.
    #[serde(default = "default_chunk_bytes")]
    pub chunk_bytes: usize,
    /// Lines longer than this are set aside unread. Default 64 KiB.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
}

fn default_chunk_bytes() -> usize {
    64 * 1024
}

fn default_max_line_bytes() -> usize {
    64 * 1024
}

/// Chunks read ahead of the dataflow.
const READ_AHEAD: usize = 4;
/// How much of an over-long line the dead letter shows.
const LONG_LINE_HEAD: usize = 200;

enum Message {
    Chunk(TextChunk),
    LongLine {
        line: u64,
        bytes: u64,
        head: Vec<u8>,
    },
    Failed {
        line: u64,
        error: String,
    },
}

/// Reads a file in chunks of lines; emits `R::from(chunk)`.
pub struct FileSpout<R> {
    path: PathBuf,
    display: String,
    chunk_bytes: usize,
    max_line_bytes: usize,
    receiver: Option<mpsc::Receiver<Message>>,
    records: PhantomData<fn() -> R>,
}

impl<R> FileSpout<R> {
    /// A spout for `path` (already resolved; `-` is standard input).
    pub fn new(path: PathBuf, config: &FileConfig) -> Self {
        FileSpout {
            display: path.display().to_string(),
            path,
            chunk_bytes: config.chunk_bytes.max(1),
            max_line_bytes: config.max_line_bytes.max(1),
            receiver: None,
            records: PhantomData,
        }
    }
}

impl<R: Record + From<TextChunk>> Spout<R> for FileSpout<R> {
    fn open(&mut self, ctx: &Context) -> Result<(), SpoutError> {
        let reader_input: Box<dyn AsyncRead + Unpin + Send> = if self.path.as_os_str() == "-" {
            Box::new(tokio::io::stdin())
        } else {
            let path = self.path.clone();
            let file = ctx.tokio.block_on(async move {
                let meta = tokio::fs::metadata(&path).await?;
                if meta.is_dir() {
                    return Err(std::io::Error::other("it is a directory"));
                }
                tokio::fs::File::open(&path).await
            });
            let file =
                file.map_err(|e| SpoutError::new(format!("cannot read {}: {e}", self.display)))?;
            Box::new(file)
        };
        let (sender, receiver) = mpsc::channel(READ_AHEAD);
        let reader = ChunkReader {
            source: self.display.clone(),
            chunk_bytes: self.chunk_bytes,
            max_line_bytes: self.max_line_bytes,
        };
        ctx.tokio.spawn(reader.run(reader_input, sender));
        self.receiver = Some(receiver);
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, R>) -> SpoutStatus {
        let Some(receiver) = self.receiver.as_mut() else {
            return SpoutStatus::Finished;
        };
        match receiver.try_recv() {
            Ok(Message::Chunk(chunk)) => {
                out.emit(R::from(chunk));
                SpoutStatus::Emitted
            }
            Ok(Message::LongLine { line, bytes, head }) => {
                out.dead_letter(
                    Some(format!("{}:{line}", self.display)),
                    format!(
                        "line is {bytes} bytes long, over the {} byte limit (max_line_bytes); skipped",
                        self.max_line_bytes
                    ),
                    String::from_utf8_lossy(&head).into_owned(),
                );
                SpoutStatus::Emitted
            }
            Ok(Message::Failed { line, error }) => {
                out.dead_letter(
                    Some(format!("{}:{line}", self.display)),
                    format!("reading stopped: {error}"),
                    String::new(),
                );
                SpoutStatus::Emitted
            }
            Err(mpsc::error::TryRecvError::Empty) => SpoutStatus::Idle,
            Err(mpsc::error::TryRecvError::Disconnected) => SpoutStatus::Finished,
        }
    }
}

/// The reading task's settings.
struct ChunkReader {
    source: String,
    chunk_bytes: usize,
    max_line_bytes: usize,
}

impl ChunkReader {
    async fn run(
        self,
        mut input: Box<dyn AsyncRead + Unpin + Send>,
        sender: mpsc::Sender<Message>,
    ) {
        let mut buf: Vec<u8> = Vec::with_capacity(self.chunk_bytes * 2);
        let mut line = 1u64;
        // Inside an over-long line: where it started, its length so far, its first bytes.
        let mut skipping: Option<(u64, u64, Vec<u8>)> = None;
        let mut eof = false;
        loop {
            if !eof {
                buf.reserve(self.chunk_bytes);
                match input.read_buf(&mut buf).await {
                    Ok(0) => eof = true,
                    Ok(_) => {}
                    Err(e) => {
                        let _ = sender
                            .send(Message::Failed {
                                line,
                                error: e.to_string(),
                            })
                            .await;
                        return;
                    }
                }
            }
            if let Some((start, bytes, head)) = skipping.as_mut() {
                match memchr::memchr(b'\n', &buf) {
                    Some(pos) => {
                        *bytes += pos as u64;
                        buf.drain(..=pos);
                        let message = Message::LongLine {
                            line: *start,
                            bytes: *bytes,
                            head: std::mem::take(head),
                        };
                        skipping = None;
                        line += 1;
                        if sender.send(message).await.is_err() {
                            return;
                        }
                    }
                    None => {
                        *bytes += buf.len() as u64;
                        buf.clear();
                        if eof {
                            let message = Message::LongLine {
                                line: *start,
                                bytes: *bytes,
                                head: std::mem::take(head),
                            };
                            let _ = sender.send(message).await;
                            return;
                        }
                        continue;
                    }
                }
            }
            // Cut whole chunks while there is enough for one (or the input is over).
            while buf.len() >= self.chunk_bytes || (eof && !buf.is_empty()) {
                // A first line over the limit is set aside, never emitted or held whole.
                let first = memchr::memchr(b'\n', &buf);
                let first_len = first.unwrap_or(buf.len());
                if first_len > self.max_line_bytes {
                    let head = buf[..LONG_LINE_HEAD.min(first_len)].to_vec();
                    match first {
                        Some(pos) => {
                            buf.drain(..=pos);
                            let message = Message::LongLine {
                                line,
                                bytes: pos as u64,
                                head,
                            };
                            line += 1;
                            if sender.send(message).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        None => {
                            skipping = Some((line, buf.len() as u64, head));
                            buf.clear();
                            break;
                        }
                    }
                }
                // Cut after the last line ending within `chunk_bytes` (or the first after it,
                // for a line longer than a chunk), so boundaries depend on content only.
                let window = self.chunk_bytes.min(buf.len());
                let cut = memchr::memrchr(b'\n', &buf[..window])
                    .or_else(|| memchr::memchr(b'\n', &buf[window..]).map(|p| p + window));
                let mut end = match cut {
                    Some(pos) => pos + 1,
                    None if eof => buf.len(),
                    // A line longer than a chunk but within the limit: read more of it.
                    None => break,
                };
                // Stop before any later line over the limit: it becomes the first line of the
                // next round, and is set aside there.
                if let Some(start) = first_long_line(&buf[..end], self.max_line_bytes) {
                    end = start;
                }
                let rest = buf.split_off(end);
                let data = std::mem::replace(&mut buf, rest);
                let chunk = TextChunk {
                    source: self.source.clone(),
                    first_line: line,
                    data,
                };
                line += chunk.line_count();
                if sender.send(Message::Chunk(chunk)).await.is_err() {
                    return;
                }
            }
            if eof && buf.is_empty() && skipping.is_none() {
                return;
            }
        }
    }
}

/// The offset of the first line of `data` longer than `max` bytes, if any (the first line is
/// checked by the caller and skipped here).
fn first_long_line(data: &[u8], max: usize) -> Option<usize> {
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len())) {
        if newline.saturating_sub(start) > max && start > 0 {
            return Some(start);
        }
        start = newline + 1;
    }
    None
}
