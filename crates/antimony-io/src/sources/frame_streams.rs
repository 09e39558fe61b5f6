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

use antimony_core::frame_streams::{self as control, ControlType, MAX_CONTROL_LEN};
use antimony_core::{Context, Emitter, Record, Spout, SpoutError, SpoutStatus};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;

use crate::chunk::ByteChunk;
use crate::meters::Meters;
use crate::sources::listen::{Listen, ListenError};

/// Options of the `frame_streams` spout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameStreamsConfig {
    /// `unix:///PATH` or `tcp://HOST:PORT`.
    pub listen: String,
    /// The content type accepted (`protobuf:dnstap.Dnstap` for dnstap). Unset, the first
    /// one the sender offers is taken.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Longest data frame accepted. Default 1 MiB.
    #[serde(default = "default_max_frame")]
    pub max_frame_bytes: u32,
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
    content_type: Option<String>,
    max_frame: u32,
    receiver: Option<mpsc::Receiver<Message>>,
    /// The accepting task: it ends, and the socket closes, when the spout goes.
    task: Option<tokio::task::AbortHandle>,
    records: PhantomData<fn() -> R>,
}

impl<R> Drop for FrameStreamsSpout<R> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl<R> FrameStreamsSpout<R> {
    /// A receiver for the configured address (`unix://` or `tcp://`).
    pub fn new(config: &FrameStreamsConfig) -> Result<Self, ListenError> {
        let listen = Listen::parse_for(
            &config.listen,
            &["unix", "tcp"],
            "unix:///PATH or tcp://HOST:PORT",
        )?;
        Ok(Self::listening(listen, config))
    }

    /// A receiver on an address already checked.
    pub fn listening(listen: Listen, config: &FrameStreamsConfig) -> Self {
        FrameStreamsSpout {
            listen,
            content_type: config.content_type.clone(),
            max_frame: config.max_frame_bytes.max(1),
            receiver: None,
            task: None,
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
        let meters = Meters::register_receiver(ctx);
        let runtime = crate::runtime::handle();
        let (sender, receiver) = mpsc::channel(16);
        let settings = Settings {
            content_type: self.content_type.clone(),
            max_frame: self.max_frame,
            meters: meters.clone(),
        };
        let listen = self.listen.clone();
        let failed =
            |e: std::io::Error| SpoutError::caused_by(format!("cannot listen on {listen}"), e);
        let task = match &self.listen {
            Listen::Tcp(addr) => {
                let listener = runtime.block_on(TcpListener::bind(*addr)).map_err(failed)?;
                runtime.spawn(async move {
                    let mut n = 0u64;
                    while let Ok((stream, peer)) = listener.accept().await {
                        n += 1;
                        let source = format!("frame-streams tcp://{peer} #{n}");
                        settings.meters.connection();
                        tokio::spawn(receive(stream, source, settings.clone(), sender.clone()));
                        if sender.is_closed() {
                            return;
                        }
                    }
                })
            }
            Listen::Unix(path) => {
                remove_stale_socket(path);
                let listener = {
                    let _guard = runtime.enter();
                    UnixListener::bind(path).map_err(failed)?
                };
                let path = path.clone();
                runtime.spawn(async move {
                    let mut n = 0u64;
                    while let Ok((stream, _)) = listener.accept().await {
                        n += 1;
                        let source = format!("frame-streams unix://{} #{n}", path.display());
                        settings.meters.connection();
                        tokio::spawn(receive(stream, source, settings.clone(), sender.clone()));
                        if sender.is_closed() {
                            return;
                        }
                    }
                })
            }
            Listen::Udp(_) => return Err(SpoutError::new("Frame Streams does not run over UDP")),
        };
        self.task = Some(task.abort_handle());
        tracing::info!(address = %self.listen, "Frame Streams receiver listening");
        meters.unbounded();
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
    content_type: Option<String>,
    max_frame: u32,
    meters: Meters,
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
            if !(4..=MAX_CONTROL_LEN as u32).contains(&clen) {
                return Err(Broken(format!(
                    "control frame of {clen} bytes (at most {MAX_CONTROL_LEN})"
                )));
            }
            let mut body = vec![0u8; clen as usize];
            reader.read_exact(&mut body).await.map_err(io)?;
            let frame = control::parse(&body)
                .map_err(|e| Broken(format!("malformed control frame: {e}")))?;
            match frame.kind {
                ControlType::Ready => {
                    let accepted = match &settings.content_type {
                        Some(ours) => frame
                            .content_types
                            .iter()
                            .find(|c| *c == ours.as_bytes())
                            .or(frame.content_types.is_empty().then_some(&Vec::new()))
                            .map(|_| ours.as_bytes().to_vec()),
                        None => Some(frame.content_types.first().cloned().unwrap_or_default()),
                    };
                    let Some(accepted) = accepted else {
                        return Err(Broken(format!(
                            "the sender offers {:?}, not {}",
                            frame
                                .content_types
                                .iter()
                                .map(|c| String::from_utf8_lossy(c).into_owned())
                                .collect::<Vec<_>>(),
                            settings.content_type.as_deref().unwrap_or_default()
                        )));
                    };
                    bidirectional = true;
                    write
                        .write_all(&control::encode_accept(&accepted))
                        .await
                        .map_err(io)?;
                    write.flush().await.map_err(io)?;
                }
                ControlType::Start => {
                    started = true;
                    chunk.data.extend_from_slice(&0u32.to_be_bytes());
                    chunk.data.extend_from_slice(&clen.to_be_bytes());
                    chunk.data.extend_from_slice(&body);
                }
                ControlType::Stop => {
                    chunk.data.extend_from_slice(&0u32.to_be_bytes());
                    chunk.data.extend_from_slice(&clen.to_be_bytes());
                    chunk.data.extend_from_slice(&body);
                    if bidirectional {
                        write
                            .write_all(&control::encode_finish())
                            .await
                            .map_err(io)?;
                        write.flush().await.map_err(io)?;
                    }
                    return Ok(());
                }
                other => return Err(Broken(format!("unexpected control frame {other}"))),
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
        settings.meters.read(u64::from(len) + 4);
        settings.meters.message();
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
