//! The `frame_streams` spout: a Frame Streams receiver (the transport dnstap senders use), on a
//! Unix or TCP socket.
//!
//! Frame Streams (github.com/farsightsec/fstrm) is content-agnostic framing: a data frame is a
//! big-endian u32 length and that many bytes; a control frame is a zero length (the escape),
//! a u32 length, a u32 control type (ACCEPT 1, START 2, STOP 3, READY 4, FINISH 5) and fields
//! (type 1: content type). A bidirectional sender opens with READY, the receiver answers
//! ACCEPT, the sender sends START, data frames and STOP, and the receiver answers FINISH. A
//! unidirectional sender starts with START.
//!
//! Each connection is one source. The spout forwards the stream from START to STOP unchanged,
//! as [`ByteChunk`]s: exactly the bytes of a Frame Streams file, so the same decoder reads
//! files and sockets. Frames over `max_frame_bytes` end the connection with a dead letter.

use std::marker::PhantomData;
use std::path::PathBuf;

use antimony_engine::{Context, Emitter, Record, Spout, SpoutError, SpoutStatus};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;

use crate::chunk::ByteChunk;
use crate::progress;
use crate::sources::listen::Listen;

/// Control frame types.
pub mod control {
    /// The receiver accepts the content type (bidirectional mode).
    pub const ACCEPT: u32 = 1;
    /// The sender starts a stream.
    pub const START: u32 = 2;
    /// The sender stops.
    pub const STOP: u32 = 3;
    /// The sender offers content types (bidirectional mode).
    pub const READY: u32 = 4;
    /// The receiver has read everything (bidirectional mode).
    pub const FINISH: u32 = 5;
    /// The field type of a content type.
    pub const FIELD_CONTENT_TYPE: u32 = 1;
    /// The longest control frame fstrm allows.
    pub const MAX_LENGTH: u32 = 512;
}

/// Options of the `frame_streams` spout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameStreamsConfig {
    /// `unix:///PATH` or `tcp://HOST:PORT`.
    pub listen: String,
    /// The content type accepted. Default `protobuf:dnstap.Dnstap`.
    #[serde(default = "default_content_type")]
    pub content_type: String,
    /// Longest data frame accepted. Default 1 MiB.
    #[serde(default = "default_max_frame")]
    pub max_frame_bytes: u32,
}

fn default_content_type() -> String {
    "protobuf:dnstap.Dnstap".to_owned()
}

fn default_max_frame() -> u32 {
    1024 * 1024
}

/// Bytes gathered into one chunk at most.
const CHUNK_BYTES: usize = 64 * 1024;

enum Message {
    Bytes(ByteChunk),
    Failed { location: String, reason: String },
}

/// Receives Frame Streams connections; emits each connection's stream as byte chunks.
pub struct FrameStreamsSpout<R> {
    listen: Listen,
    content_type: String,
    max_frame: u32,
    receiver: Option<mpsc::Receiver<Message>>,
    records: PhantomData<fn() -> R>,
}

impl<R> FrameStreamsSpout<R> {
    /// A receiver for the configured address.
    pub fn new(config: &FrameStreamsConfig) -> Result<Self, String> {
        let listen = Listen::parse(&config.listen)?;
        if matches!(listen, Listen::Udp(_)) {
            return Err(format!(
                "Frame Streams runs over unix:// or tcp://, not `{}`",
                config.listen
            ));
        }
        Ok(Self::listening(listen, config))
    }

    /// A receiver on an address already checked.
    pub fn listening(listen: Listen, config: &FrameStreamsConfig) -> Self {
        FrameStreamsSpout {
            listen,
            content_type: config.content_type.clone(),
            max_frame: config.max_frame_bytes.max(1),
            receiver: None,
            records: PhantomData,
        }
    }

    /// The address it listens on.
    pub fn listen(&self) -> &Listen {
        &self.listen
    }
}

impl<R: Record + From<ByteChunk>> Spout<R> for FrameStreamsSpout<R> {
    fn open(&mut self, ctx: &Context) -> Result<(), SpoutError> {
        let (sender, receiver) = mpsc::channel(16);
        let settings = Settings {
            content_type: self.content_type.clone(),
            max_frame: self.max_frame,
        };
        let listen = self.listen.clone();
        let failed = |e: std::io::Error| SpoutError::new(format!("cannot listen on {listen}: {e}"));
        match &self.listen {
            Listen::Tcp(addr) => {
                let listener = ctx
                    .tokio
                    .block_on(TcpListener::bind(*addr))
                    .map_err(failed)?;
                ctx.tokio.spawn(async move {
                    let mut n = 0u64;
                    while let Ok((stream, peer)) = listener.accept().await {
                        n += 1;
                        let source = format!("frame-streams tcp://{peer} #{n}");
                        tokio::spawn(receive(stream, source, settings.clone(), sender.clone()));
                        if sender.is_closed() {
                            return;
                        }
                    }
                });
            }
            Listen::Unix(path) => {
                remove_stale_socket(path);
                let listener = {
                    let _guard = ctx.tokio.enter();
                    UnixListener::bind(path).map_err(failed)?
                };
                let path = path.clone();
                ctx.tokio.spawn(async move {
                    let mut n = 0u64;
                    while let Ok((stream, _)) = listener.accept().await {
                        n += 1;
                        let source = format!("frame-streams unix://{} #{n}", path.display());
                        tokio::spawn(receive(stream, source, settings.clone(), sender.clone()));
                        if sender.is_closed() {
                            return;
                        }
                    }
                });
            }
            Listen::Udp(_) => return Err(SpoutError::new("Frame Streams does not run over UDP")),
        }
        tracing::info!(address = %self.listen, "Frame Streams receiver listening");
        progress::add_unbounded();
        self.receiver = Some(receiver);
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, R>) -> SpoutStatus {
        let Some(receiver) = self.receiver.as_mut() else {
            return SpoutStatus::Finished;
        };
        match receiver.try_recv() {
            Ok(Message::Bytes(chunk)) => out.emit(R::from(chunk)),
            Ok(Message::Failed { location, reason }) => {
                out.dead_letter(Some(location), reason, String::new())
            }
            Err(mpsc::error::TryRecvError::Empty) => return SpoutStatus::Idle,
            Err(mpsc::error::TryRecvError::Disconnected) => return SpoutStatus::Finished,
        }
        SpoutStatus::Emitted
    }
}

/// A socket file left by an earlier run is removed; any other file is left alone (bind then
/// fails with a clear error).
fn remove_stale_socket(path: &PathBuf) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

#[derive(Clone)]
struct Settings {
    content_type: String,
    max_frame: u32,
}

/// A control frame: its type and content types.
#[derive(Debug, PartialEq, Eq)]
struct Control {
    kind: u32,
    content_types: Vec<Vec<u8>>,
}

fn parse_control(body: &[u8]) -> Option<Control> {
    let kind = u32::from_be_bytes(body.get(..4)?.try_into().ok()?);
    let mut rest = &body[4..];
    let mut content_types = Vec::new();
    while !rest.is_empty() {
        let field = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
        let len = u32::from_be_bytes(rest.get(4..8)?.try_into().ok()?) as usize;
        let value = rest.get(8..8 + len)?;
        if field == control::FIELD_CONTENT_TYPE {
            content_types.push(value.to_vec());
        }
        rest = &rest[8 + len..];
    }
    Some(Control {
        kind,
        content_types,
    })
}

/// Encodes a control frame (with its escape) of `kind` with an optional content type.
pub fn encode_control(kind: u32, content_type: Option<&[u8]>) -> Vec<u8> {
    let mut body = kind.to_be_bytes().to_vec();
    if let Some(ct) = content_type {
        body.extend_from_slice(&control::FIELD_CONTENT_TYPE.to_be_bytes());
        body.extend_from_slice(&(ct.len() as u32).to_be_bytes());
        body.extend_from_slice(ct);
    }
    let mut frame = 0u32.to_be_bytes().to_vec();
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

/// Why a connection was ended.
#[derive(Debug)]
struct Broken(String);

/// One connection: handshake, then forward frames from START to STOP.
async fn receive<S>(stream: S, source: String, settings: Settings, sender: mpsc::Sender<Message>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    let mut chunk = ByteChunk {
        source: source.clone(),
        ..ByteChunk::default()
    };
    let result = forward(&mut reader, &mut write, &settings, &mut chunk, &sender).await;
    if let Err(Broken(reason)) = result {
        let location = format!("{source}, byte {}", chunk.offset + chunk.data.len() as u64);
        let _ = sender.send(Message::Failed { location, reason }).await;
    }
    chunk.last = true;
    let _ = sender.send(Message::Bytes(chunk)).await;
}

async fn forward<R, W>(
    reader: &mut BufReader<R>,
    write: &mut W,
    settings: &Settings,
    chunk: &mut ByteChunk,
    sender: &mpsc::Sender<Message>,
) -> Result<(), Broken>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let io = |e: std::io::Error| Broken(format!("connection failed: {e}"));
    let mut bidirectional = false;
    let mut started = false;
    loop {
        let len = match reader.read_u32().await {
            Ok(len) => len,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return match started {
                    true => Err(Broken(
                        "the sender closed the connection without STOP".into(),
                    )),
                    false => Ok(()),
                };
            }
            Err(e) => return Err(io(e)),
        };
        if len == 0 {
            let clen = reader.read_u32().await.map_err(io)?;
            if !(4..=control::MAX_LENGTH).contains(&clen) {
                return Err(Broken(format!(
                    "control frame of {clen} bytes (at most {})",
                    control::MAX_LENGTH
                )));
            }
            let mut body = vec![0u8; clen as usize];
            reader.read_exact(&mut body).await.map_err(io)?;
            let Some(frame) = parse_control(&body) else {
                return Err(Broken("malformed control frame".into()));
            };
            match frame.kind {
                control::READY => {
                    let ours = settings.content_type.as_bytes();
                    if !frame.content_types.is_empty()
                        && !frame.content_types.iter().any(|c| c == ours)
                    {
                        return Err(Broken(format!(
                            "the sender offers {:?}, not {}",
                            frame
                                .content_types
                                .iter()
                                .map(|c| String::from_utf8_lossy(c).into_owned())
                                .collect::<Vec<_>>(),
                            settings.content_type
                        )));
                    }
                    bidirectional = true;
                    write
                        .write_all(&encode_control(control::ACCEPT, Some(ours)))
                        .await
                        .map_err(io)?;
                    write.flush().await.map_err(io)?;
                }
                control::START => {
                    started = true;
                    chunk.data.extend_from_slice(&0u32.to_be_bytes());
                    chunk.data.extend_from_slice(&clen.to_be_bytes());
                    chunk.data.extend_from_slice(&body);
                }
                control::STOP => {
                    chunk.data.extend_from_slice(&0u32.to_be_bytes());
                    chunk.data.extend_from_slice(&clen.to_be_bytes());
                    chunk.data.extend_from_slice(&body);
                    if bidirectional {
                        write
                            .write_all(&encode_control(control::FINISH, None))
                            .await
                            .map_err(io)?;
                        write.flush().await.map_err(io)?;
                    }
                    return Ok(());
                }
                other => return Err(Broken(format!("unexpected control frame type {other}"))),
            }
            continue;
        }
        if !started {
            return Err(Broken("data frame before START".into()));
        }
        if len > settings.max_frame {
            return Err(Broken(format!(
                "data frame of {len} bytes, over {} (max_frame_bytes)",
                settings.max_frame
            )));
        }
        chunk.data.extend_from_slice(&len.to_be_bytes());
        let at = chunk.data.len();
        chunk.data.resize(at + len as usize, 0);
        reader.read_exact(&mut chunk.data[at..]).await.map_err(io)?;
        progress::add_read(u64::from(len) + 4);
        if chunk.data.len() >= CHUNK_BYTES || reader.buffer().is_empty() {
            let offset = chunk.offset + chunk.data.len() as u64;
            let full = std::mem::replace(
                chunk,
                ByteChunk {
                    source: chunk.source.clone(),
                    offset,
                    ..ByteChunk::default()
                },
            );
            if sender.send(Message::Bytes(full)).await.is_err() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_frames_round_trip() {
        let frame = encode_control(control::READY, Some(b"protobuf:dnstap.Dnstap"));
        assert_eq!(&frame[..4], &[0, 0, 0, 0]);
        let len = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]) as usize;
        assert_eq!(len, frame.len() - 8);
        assert_eq!(
            parse_control(&frame[8..]),
            Some(Control {
                kind: control::READY,
                content_types: vec![b"protobuf:dnstap.Dnstap".to_vec()]
            })
        );
        assert_eq!(
            parse_control(&encode_control(control::FINISH, None)[8..]).map(|c| c.kind),
            Some(control::FINISH)
        );
        assert_eq!(
            parse_control(&[0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 99]),
            None,
            "a field longer than the frame"
        );
    }
}
