//! The `syslog` spout: a syslog receiver on UDP or TCP.
//!
//! Each message becomes one line (with its `<PRI>` header and everything the sender wrote: the
//! DNS log decoders read syslog-wrapped lines). UDP: one datagram, one message. TCP: RFC 6587
//! octet counting (`LEN SP MSG`) when a frame starts with a digit, otherwise one message per
//! line (non-transparent framing); both RFC 3164 and RFC 5424 messages. Messages over
//! `max_message_bytes` are set aside with the peer and message number; a TCP sender gets
//! backpressure, a UDP sender cannot (the kernel drops what the socket buffer cannot hold).

use std::marker::PhantomData;
use std::net::SocketAddr;

use antimony_core::{Context, Emitter, Record, Spout, SpoutError, SpoutStatus};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::chunk::TextChunk;
use crate::meters::Meters;
use crate::sources::listen::{Listen, ListenError};

/// Options of the `syslog` spout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// `udp://HOST:PORT` or `tcp://HOST:PORT`.
    pub listen: String,
    /// Longest message accepted; longer ones are set aside. Default 64 KiB.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
}

fn default_max_message() -> usize {
    antimony_core::limits::MAX_LINE_BYTES
}

/// Messages gathered into one chunk at most (one epoch).
const BATCH_BYTES: usize = 64 * 1024;

enum Message {
    Chunk(TextChunk),
    Refused {
        location: String,
        reason: String,
        head: String,
    },
}

/// Receives syslog messages; emits them as chunks of lines.
pub struct SyslogSpout<R> {
    listen: Listen,
    max_message: usize,
    receiver: Option<mpsc::Receiver<Message>>,
    /// The receiving task: it ends, and the socket closes, when the spout goes.
    task: Option<tokio::task::AbortHandle>,
    records: PhantomData<fn() -> R>,
}

impl<R> Drop for SyslogSpout<R> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl<R> SyslogSpout<R> {
    /// A receiver for the configured address (`udp://` or `tcp://`).
    pub fn new(config: &SyslogConfig) -> Result<Self, ListenError> {
        let listen = Listen::parse_for(
            &config.listen,
            &["udp", "tcp"],
            "udp://HOST:PORT or tcp://HOST:PORT",
        )?;
        Ok(Self::listening(listen, config))
    }

    /// A receiver on an address already checked.
    pub fn listening(listen: Listen, config: &SyslogConfig) -> Self {
        SyslogSpout {
            listen,
            max_message: config.max_message_bytes.max(1),
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

impl<R: Record + From<TextChunk>> Spout<R> for SyslogSpout<R> {
    fn open(&mut self, ctx: &Context) -> Result<(), SpoutError> {
        let meters = Meters::register_receiver(ctx);
        let runtime = crate::runtime::handle();
        let (sender, receiver) = mpsc::channel(16);
        let max = self.max_message;
        let listen = self.listen.clone();
        let bound = runtime.block_on(async move {
            match listen {
                Listen::Udp(addr) => UdpSocket::bind(addr).await.map(Bound::Udp),
                Listen::Tcp(addr) => TcpListener::bind(addr).await.map(Bound::Tcp),
                Listen::Unix(_) => Err(std::io::Error::other(
                    "syslog does not listen on unix sockets",
                )),
            }
        });
        let bound = bound
            .map_err(|e| SpoutError::caused_by(format!("cannot listen on {}", self.listen), e))?;
        meters.unbounded();
        match bound {
            Bound::Udp(socket) => {
                tracing::info!(address = %self.listen, "syslog receiver listening");
                self.task = Some(
                    runtime
                        .spawn(receive_udp(socket, max, sender, meters))
                        .abort_handle(),
                );
            }
            Bound::Tcp(listener) => {
                tracing::info!(address = %self.listen, "syslog receiver listening");
                self.task = Some(
                    runtime
                        .spawn(accept_tcp(listener, max, sender, meters))
                        .abort_handle(),
                );
            }
        }
        self.receiver = Some(receiver);
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, R>) -> SpoutStatus {
        let Some(receiver) = self.receiver.as_mut() else {
            return SpoutStatus::Finished;
        };
        match receiver.try_recv() {
            Ok(Message::Chunk(chunk)) => out.emit(R::from(chunk)),
            Ok(Message::Refused {
                location,
                reason,
                head,
            }) => out.dead_letter(Some(location), reason, head),
            Err(mpsc::error::TryRecvError::Empty) => return SpoutStatus::Idle,
            Err(mpsc::error::TryRecvError::Disconnected) => return SpoutStatus::Finished,
        }
        SpoutStatus::Emitted
    }
}

enum Bound {
    Udp(UdpSocket),
    Tcp(TcpListener),
}

/// Gathers messages of one source into chunks, one message a line.
struct Batch {
    source: String,
    next_line: u64,
    chunk: TextChunk,
}

impl Batch {
    fn new(source: String) -> Self {
        Batch {
            chunk: TextChunk {
                source: source.clone(),
                first_line: 1,
                ..TextChunk::default()
            },
            source,
            next_line: 1,
        }
    }

    fn add(&mut self, message: &[u8]) {
        let message = message.strip_suffix(b"\n").unwrap_or(message);
        let message = message.strip_suffix(b"\r").unwrap_or(message);
        if self.chunk.data.is_empty() {
            self.chunk.first_line = self.next_line;
        }
        // A message is one line: line breaks inside it (octet-counted frames may hold them)
        // become spaces.
        self.chunk
            .data
            .extend(message.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
        self.chunk.data.push(b'\n');
        self.next_line += 1;
    }

    fn refuse(&mut self, reason: String, message: &[u8]) -> Message {
        let location = format!("{}:{}", self.source, self.next_line);
        self.next_line += 1;
        let head = String::from_utf8_lossy(&message[..message.len().min(200)]).into_owned();
        Message::Refused {
            location,
            reason,
            head,
        }
    }

    fn take(&mut self) -> Option<Message> {
        if self.chunk.data.is_empty() {
            return None;
        }
        let first_line = self.chunk.first_line;
        let chunk = std::mem::replace(
            &mut self.chunk,
            TextChunk {
                source: self.source.clone(),
                first_line,
                ..TextChunk::default()
            },
        );
        Some(Message::Chunk(chunk))
    }
}

async fn receive_udp(socket: UdpSocket, max: usize, sender: mpsc::Sender<Message>, meters: Meters) {
    let local = socket
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let mut batch = Batch::new(format!("syslog udp://{local}"));
    // One byte more than allowed, to tell a datagram at the limit from a longer one.
    let mut buf = vec![0u8; max + 1];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                tracing::warn!(error = %e, "syslog receive failed");
                continue;
            }
        };
        meters.read(n as u64);
        meters.message();
        add_or_refuse(&mut batch, &buf[..n], max, Some(peer), &sender).await;
        // Gather what else is already waiting, then hand the batch over.
        while batch.chunk.data.len() < BATCH_BYTES {
            match socket.try_recv_from(&mut buf) {
                Ok((n, peer)) => {
                    add_or_refuse(&mut batch, &buf[..n], max, Some(peer), &sender).await
                }
                Err(_) => break,
            }
        }
        if let Some(message) = batch.take()
            && sender.send(message).await.is_err()
        {
            return;
        }
    }
}

async fn add_or_refuse(
    batch: &mut Batch,
    message: &[u8],
    max: usize,
    peer: Option<SocketAddr>,
    sender: &mpsc::Sender<Message>,
) {
    if message.len() > max {
        let from = peer.map(|p| format!(" from {p}")).unwrap_or_default();
        let refused = batch.refuse(
            format!("message{from} is over {max} bytes (max_message_bytes)"),
            message,
        );
        let _ = sender.send(refused).await;
    } else {
        batch.add(message);
    }
}

async fn accept_tcp(
    listener: TcpListener,
    max: usize,
    sender: mpsc::Sender<Message>,
    meters: Meters,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                meters.connection();
                tokio::spawn(receive_tcp(
                    stream,
                    peer,
                    max,
                    sender.clone(),
                    meters.clone(),
                ));
            }
            Err(e) => tracing::warn!(error = %e, "syslog accept failed"),
        }
        if sender.is_closed() {
            return;
        }
    }
}

/// One TCP connection: octet-counted or line-delimited frames, decided per frame by its
/// first byte (RFC 6587 section 3.4).
async fn receive_tcp(
    stream: TcpStream,
    peer: SocketAddr,
    max: usize,
    sender: mpsc::Sender<Message>,
    meters: Meters,
) {
    let mut reader = BufReader::new(stream);
    let mut batch = Batch::new(format!("syslog tcp://{peer}"));
    let mut message = Vec::with_capacity(1024);
    loop {
        message.clear();
        let first = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(buf) => buf[0],
        };
        if first.is_ascii_digit() {
            // Octet counting: `LEN SP MSG`.
            let mut len = Vec::new();
            if reader.read_until(b' ', &mut len).await.is_err() || len.last() != Some(&b' ') {
                break;
            }
            let Some(n) = std::str::from_utf8(&len[..len.len() - 1])
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
            else {
                let _ = sender
                    .send(batch.refuse("octet count is not a number".into(), &len))
                    .await;
                break; // The stream is out of step: nothing after this can be framed.
            };
            if n > max {
                let refused = batch.refuse(
                    format!("message from {peer} is {n} bytes, over {max} (max_message_bytes)"),
                    b"",
                );
                let _ = sender.send(refused).await;
                // Skip it without holding it.
                if tokio::io::copy(&mut (&mut reader).take(n as u64), &mut tokio::io::sink())
                    .await
                    .is_err()
                {
                    break;
                }
                continue;
            }
            message.resize(n, 0);
            if reader.read_exact(&mut message).await.is_err() {
                break;
            }
        } else {
            // Non-transparent framing: up to a line feed, never more than `max` bytes held.
            let mut limited = (&mut reader).take(max as u64 + 1);
            if limited.read_until(b'\n', &mut message).await.is_err() || message.is_empty() {
                break;
            }
            if message.len() > max && message.last() != Some(&b'\n') {
                let refused = batch.refuse(
                    format!("message from {peer} is over {max} bytes (max_message_bytes)"),
                    &message,
                );
                let _ = sender.send(refused).await;
                let mut rest = Vec::new();
                // Discard to the end of the line, a bounded piece at a time.
                loop {
                    rest.clear();
                    match (&mut reader)
                        .take(max as u64)
                        .read_until(b'\n', &mut rest)
                        .await
                    {
                        Ok(0) => break,
                        Ok(_) if rest.last() == Some(&b'\n') => break,
                        Ok(_) => continue,
                        Err(_) => break,
                    }
                }
                continue;
            }
        }
        meters.read(message.len() as u64);
        meters.message();
        batch.add(&message);
        let flush = batch.chunk.data.len() >= BATCH_BYTES || reader.buffer().is_empty();
        if flush
            && let Some(chunk) = batch.take()
            && sender.send(chunk).await.is_err()
        {
            return;
        }
    }
    if let Some(chunk) = batch.take() {
        let _ = sender.send(chunk).await;
    }
}
