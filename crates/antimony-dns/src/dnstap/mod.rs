//! dnstap: DNS messages logged by servers (BIND, Unbound, Knot, PowerDNS...) in Frame
//! Streams.
//!
//! [`DnstapDecoder`] reads a Frame Streams stream pushed in chunks of any size: a file
//! (`dnstap-output` in BIND, `fstrm_capture`), or the bytes of a socket connection from its
//! START frame on, once the handshake is done (the Frame Streams control frames are
//! [`antimony_core::frame_streams`], shared with the socket receiver). It also accepts a stream
//! that opens with READY or ACCEPT frames before START, so the raw bytes a sender wrote
//! can be replayed.
//!
//! Each data frame is one `dnstap.Dnstap` protobuf (the schema in `proto/dnstap.proto`,
//! compiled at build time by prost-build); a MESSAGE becomes one [`DnsEvent`](crate::DnsEvent) through
//! [`crate::wire::decode_message`]: the query bytes for a query type, the response bytes
//! for a response type, with the addresses, ports and time of that side. The initiator
//! (`query_address`) is the event's client and the responder its server, whatever the
//! type (for a resolver's query to an authoritative server, the resolver is the client).
//!
//! A START frame with a content type other than `protobuf:dnstap.Dnstap`, or a stream that
//! does not start with a control frame, is refused whole. A data frame longer than
//! [`MAX_FRAME_LEN`] is reported and skipped without being buffered.

/// The dnstap protobuf types, generated from `proto/dnstap.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod schema {
    include!(concat!(env!("OUT_DIR"), "/dnstap.rs"));
}

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use prost::Message as _;

use crate::stream::{Counters, Sink, SkipReason, StreamError, StreamErrorKind, timestamp_ok};
use crate::wire::{WireMeta, decode_message_detailed};
use crate::{DecodeOptions, Transport};

use antimony_core::frame_streams::{self as control, ControlType, MAX_CONTROL_LEN};

/// The Frame Streams content type of dnstap.
pub const CONTENT_TYPE: &str = "protobuf:dnstap.Dnstap";

/// The longest data frame buffered. A dnstap frame holds at most two DNS messages of
/// 64 KiB and some metadata; longer frames are skipped with an error.
pub const MAX_FRAME_LEN: usize = 256 * 1024;

/// Decodes a dnstap Frame Streams stream pushed in chunks; see the [module](self)
/// documentation.
pub struct DnstapDecoder {
    state: State,
    pending: Vec<u8>,
    /// Bytes still to discard from an oversized data frame.
    skip: u64,
    /// Stream offset of the first byte not yet consumed.
    offset: u64,
    /// Number of the last data frame, from 1.
    frame: u64,
    sensor: Option<Arc<str>>,
    counters: Counters,
    finished: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first frame.
    Start,
    /// After READY or ACCEPT, before START.
    Handshake,
    /// Between START and STOP.
    Data,
    /// After STOP: a new START may follow.
    Stopped,
    /// A fatal error was reported; the rest is ignored.
    Failed,
}

enum Frame {
    Need(usize),
    Whole(usize),
    Oversize(u64),
    Bad(StreamError),
}

impl DnstapDecoder {
    /// A decoder that puts `options.sensor` in every event.
    pub fn new(options: &DecodeOptions) -> Self {
        DnstapDecoder {
            state: State::Start,
            pending: Vec::new(),
            skip: 0,
            offset: 0,
            frame: 0,
            sensor: options.sensor.clone(),
            counters: Counters::default(),
            finished: false,
        }
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(crate) fn push_to<S: Sink>(&mut self, mut data: &[u8], out: &mut S) {
        self.counters.bytes += data.len() as u64;
        if self.finished || self.state == State::Failed {
            return;
        }
        data = self.skip_bytes(data);
        if !self.pending.is_empty() {
            let mut pending = std::mem::take(&mut self.pending);
            let done = loop {
                match self.frame_at(&pending) {
                    Frame::Need(total) => {
                        let take = (total - pending.len()).min(data.len());
                        pending.extend_from_slice(&data[..take]);
                        data = &data[take..];
                        if pending.len() < total {
                            break false;
                        }
                    }
                    Frame::Whole(len) => {
                        self.record(&pending[..len], out);
                        break true;
                    }
                    Frame::Oversize(total) => {
                        self.oversize(total, out);
                        self.skip = total - pending.len() as u64;
                        self.offset += pending.len() as u64;
                        break true;
                    }
                    Frame::Bad(error) => {
                        self.fail(error, out);
                        break true;
                    }
                }
            };
            if !done {
                self.pending = pending;
                return;
            }
            pending.clear();
            self.pending = pending;
            data = self.skip_bytes(data);
        }
        while !data.is_empty() && self.state != State::Failed {
            match self.frame_at(data) {
                Frame::Need(_) => {
                    self.pending.extend_from_slice(data);
                    return;
                }
                Frame::Whole(len) => {
                    self.record(&data[..len], out);
                    data = &data[len..];
                }
                Frame::Oversize(total) => {
                    self.oversize(total, out);
                    self.skip = total;
                    data = self.skip_bytes(data);
                }
                Frame::Bad(error) => {
                    self.fail(error, out);
                    return;
                }
            }
        }
    }

    pub(crate) fn finish_to<S: Sink>(&mut self, out: &mut S) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.state == State::Failed {
            return;
        }
        if !self.pending.is_empty() || self.skip > 0 {
            let error = StreamError::new(
                format!("byte {}", self.offset),
                StreamErrorKind::Truncated,
                format!(
                    "the stream ends inside a frame ({} bytes of it read); was the file cut \
                     short?",
                    self.pending.len()
                ),
            );
            self.counters.error(error.kind);
            out.put(self.frame + 1, Err(error));
        }
        self.pending = Vec::new();
    }

    fn skip_bytes<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        if self.skip == 0 {
            return data;
        }
        let n = data
            .len()
            .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
        self.skip -= n as u64;
        self.offset += n as u64;
        &data[n..]
    }

    fn frame_at(&self, buf: &[u8]) -> Frame {
        let Some(len) = buf.get(..4) else {
            return Frame::Need(4);
        };
        let len = be32(len) as usize;
        if len != 0 {
            if self.state == State::Start {
                return Frame::Bad(StreamError::new(
                    format!("byte {}", self.offset),
                    StreamErrorKind::FileHeader,
                    "not a Frame Streams stream: dnstap files start with a START control frame"
                        .to_owned(),
                ));
            }
            if len > MAX_FRAME_LEN {
                return Frame::Oversize(4 + len as u64);
            }
            return if buf.len() < 4 + len {
                Frame::Need(4 + len)
            } else {
                Frame::Whole(4 + len)
            };
        }
        let Some(clen) = buf.get(4..8) else {
            return Frame::Need(8);
        };
        let clen = be32(clen) as usize;
        if !(4..=MAX_CONTROL_LEN).contains(&clen) {
            return Frame::Bad(StreamError::new(
                format!("byte {}", self.offset),
                StreamErrorKind::Block,
                format!(
                    "control frame length {clen} is outside 4..={MAX_CONTROL_LEN}; the stream \
                     is corrupt from here"
                ),
            ));
        }
        if buf.len() < 8 + clen {
            Frame::Need(8 + clen)
        } else {
            Frame::Whole(8 + clen)
        }
    }

    fn fail<S: Sink>(&mut self, error: StreamError, out: &mut S) {
        let error = error.fatal();
        self.counters.error(error.kind);
        out.put(self.frame, Err(error));
        self.state = State::Failed;
    }

    fn oversize<S: Sink>(&mut self, total: u64, out: &mut S) {
        self.frame += 1;
        self.counters.records += 1;
        self.counters.records_decoded += 1;
        let error = StreamError::new(
            format!("frame {}", self.frame),
            StreamErrorKind::RecordTooLarge,
            format!(
                "data frame of {} bytes at byte {}, more than {MAX_FRAME_LEN}; skipped",
                total - 4,
                self.offset
            ),
        );
        self.counters.error(error.kind);
        out.put(self.frame, Err(error));
    }

    fn record<S: Sink>(&mut self, rec: &[u8], out: &mut S) {
        let start = self.offset;
        self.offset += rec.len() as u64;
        if be32(&rec[..4]) != 0 {
            self.data_frame(&rec[4..], out);
            return;
        }
        self.counters.control_frames += 1;
        let frame = match control::parse(&rec[8..]) {
            Ok(frame) => frame,
            Err(e) => {
                let error = StreamError::new(
                    format!("byte {start}"),
                    StreamErrorKind::Block,
                    format!("control frame: {e}"),
                );
                self.fail(error, out);
                return;
            }
        };
        match frame.kind {
            ControlType::Start => {
                if let Some(other) = frame
                    .content_types
                    .iter()
                    .find(|t| *t != CONTENT_TYPE.as_bytes())
                {
                    let error = StreamError::new(
                        format!("byte {start}"),
                        StreamErrorKind::FileHeader,
                        format!(
                            "START names content type {:?}, not {CONTENT_TYPE:?}: not dnstap",
                            String::from_utf8_lossy(other)
                        ),
                    );
                    self.fail(error, out);
                    return;
                }
                self.state = State::Data;
            }
            ControlType::Stop => self.state = State::Stopped,
            ControlType::Ready | ControlType::Accept | ControlType::Finish => {
                if self.state == State::Start {
                    self.state = State::Handshake;
                }
            }
        }
    }

    fn data_frame<S: Sink>(&mut self, payload: &[u8], out: &mut S) {
        self.frame += 1;
        self.counters.records += 1;
        let n = self.frame;
        let before = self.counters.messages + self.counters.errors;
        let skip = self.decode_frame(n, payload, out);
        if self.counters.messages + self.counters.errors > before {
            self.counters.records_decoded += 1;
        } else {
            self.counters.skip(skip.unwrap_or(SkipReason::DnstapNoDns));
        }
    }

    fn decode_frame<S: Sink>(&mut self, n: u64, payload: &[u8], out: &mut S) -> Option<SkipReason> {
        if self.state != State::Data {
            let what = match self.state {
                State::Stopped => "after STOP",
                _ => "before START",
            };
            self.error(
                n,
                StreamErrorKind::Block,
                format!("data frame {what}; decoded anyway"),
                out,
            );
        }
        let dnstap = match schema::Dnstap::decode(payload) {
            Ok(d) => d,
            Err(e) => {
                self.error(
                    n,
                    StreamErrorKind::Dnstap,
                    format!("unreadable dnstap protobuf: {e}"),
                    out,
                );
                return None;
            }
        };
        if dnstap.r#type != schema::dnstap::Type::Message as i32 {
            return Some(SkipReason::DnstapNotMessage);
        }
        let Some(message) = dnstap.message else {
            self.error(
                n,
                StreamErrorKind::Dnstap,
                "MESSAGE frame without a message".to_owned(),
                out,
            );
            return None;
        };
        let is_query = message.r#type % 2 == 1;
        let (bytes, secs, nanos) = if is_query {
            (
                message
                    .query_message
                    .as_deref()
                    .or(message.response_message.as_deref()),
                message.query_time_sec,
                message.query_time_nsec,
            )
        } else {
            (
                message
                    .response_message
                    .as_deref()
                    .or(message.query_message.as_deref()),
                message.response_time_sec.or(message.query_time_sec),
                message.response_time_nsec.or(message.query_time_nsec),
            )
        };
        let Some(bytes) = bytes else {
            return Some(SkipReason::DnstapNoDns);
        };
        let initiator = address(message.query_address.as_deref());
        let responder = address(message.response_address.as_deref());
        let initiator_port = message
            .query_port
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0);
        let responder_port = message
            .response_port
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0);
        let ts = i64::try_from(secs.unwrap_or(0))
            .unwrap_or(i64::MAX / 1_000_000)
            .min(i64::MAX / 1_000_000)
            * 1_000_000
            + i64::from(nanos.unwrap_or(0).min(999_999_999) / 1000);
        if !timestamp_ok(ts) {
            self.error(
                n,
                StreamErrorKind::Timestamp,
                format!("message time {ts} µs since 1970 is outside 1970 to 9999"),
                out,
            );
            return None;
        }
        let transport = match (message.socket_protocol, message.http_protocol) {
            (Some(4), Some(3)) => Transport::Udp,
            (Some(1 | 5 | 7), _) => Transport::Udp,
            (Some(2 | 3 | 4 | 6), _) => Transport::Tcp,
            _ => Transport::Unknown,
        };
        let meta = if is_query {
            WireMeta {
                ts,
                src: initiator,
                dst: responder,
                src_port: initiator_port,
                dst_port: responder_port,
                transport,
            }
        } else {
            WireMeta {
                ts,
                src: responder,
                dst: initiator,
                src_port: responder_port,
                dst_port: initiator_port,
                transport,
            }
        };
        match decode_message_detailed(bytes, &meta) {
            Ok(decoded) => {
                let mut event = decoded.event;
                // The dnstap type, not the QR bit, says who initiated the exchange.
                event.client = initiator;
                event.server = responder;
                event.sensor.clone_from(&self.sensor);
                self.counters.messages += 1;
                if decoded.section_error.is_some() {
                    self.counters.messages_partial += 1;
                }
                out.put(n, Ok(event));
            }
            Err(e) => self.error(n, StreamErrorKind::Dns(e), format!("DNS message: {e}"), out),
        }
        None
    }

    fn error<S: Sink>(&mut self, n: u64, kind: StreamErrorKind, reason: String, out: &mut S) {
        self.counters.error(kind);
        out.put(n, Err(StreamError::new(format!("frame {n}"), kind, reason)));
    }
}

impl fmt::Debug for DnstapDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnstapDecoder")
            .field("state", &self.state)
            .field("frame", &self.frame)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

crate::stream::impl_stream_decoder!(DnstapDecoder);

/// An address field: 4 bytes for IPv4, 16 for IPv6.
fn address(bytes: Option<&[u8]>) -> Option<IpAddr> {
    match bytes? {
        [a, b, c, d] => Some(IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d))),
        b if b.len() == 16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(b);
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
