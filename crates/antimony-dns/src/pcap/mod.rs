//! pcap and pcapng captures: a push-based decoder from capture bytes to DNS events.
//!
//! [`PcapDecoder`] reads either container, whichever the stream starts with, in chunks of
//! any size. The layers, one module each:
//!
//! - this module cuts the stream into records, keeping only the part of a record a chunk cut
//!   short, and skips or stops at records over the caps; `classic` frames and reads pcap's
//!   global header and packet records, `pcapng` pcapng's blocks (with pcap-parser);
//! - [`link`] strips the link layer (Ethernet with 802.1Q/QinQ VLAN tags and LLC/SNAP,
//!   PPPoE, Linux cooked SLL and SLL2, PPP, Cisco HDLC, FDDI, BSD loopback, raw IPv4/IPv6);
//! - `net` reads IPv4 and IPv6 (with etherparse), reassembles fragments (`defrag`), and
//!   hands UDP payloads and TCP segments (`tcp`, per-flow reassembly of length-prefixed
//!   messages) to [`crate::wire::decode_message`].
//!
//! Which UDP and TCP traffic is DNS is set by [`CaptureOptions`]: the ports in
//! `dns_ports` always are, other ports when the message looks like DNS.
//!
//! # Limits
//!
//! A pcap record longer than [`MAX_PACKET_LEN`] means the file is corrupt from there on
//! (Wireshark has the same limit and the same reading): it is reported and the rest of the
//! stream is ignored. A pcapng block longer than [`MAX_BLOCK_LEN`] is reported and skipped
//! without being buffered. IP reassembly holds at most 256 datagrams, TCP reassembly 4,096
//! flows of at most one message (65,537 bytes) plus 64 KiB of out-of-order data each; what
//! is evicted to stay within these bounds is reported as an error.

pub mod link;

mod classic;
mod defrag;
mod net;
mod pcapng;
mod tcp;

use std::fmt;

use crate::DecodeOptions;
use crate::stream::{CaptureOptions, Counters, Sink, StreamError, StreamErrorKind, timestamp_ok};

use self::classic::{PcapFile, pcap_magic};
use self::net::Net;
use self::pcapng::{PcapNgSection, SHB_TYPE};

/// The longest packet record accepted in a pcap file (Wireshark's limit for all link
/// types but USB and D-Bus).
pub const MAX_PACKET_LEN: usize = 262_144;
/// The longest pcapng block buffered; longer ones are skipped with an error.
pub const MAX_BLOCK_LEN: usize = 1024 * 1024;

/// Decodes a pcap or pcapng stream pushed in chunks; see the [module](self) documentation.
pub struct PcapDecoder {
    state: State,
    /// The start of a record a chunk cut short (never more than one record, under the cap).
    pending: Vec<u8>,
    /// Bytes still to discard from an oversized pcapng block.
    skip: u64,
    /// Stream offset of the first byte not yet consumed (pending bytes count as consumed
    /// once the record they start is complete).
    offset: u64,
    /// Number of the last packet read, from 1.
    packet: u64,
    /// Timestamp of the last packet (a pcapng simple packet block has none of its own).
    last_ts: i64,
    net: Net,
    finished: bool,
}

#[derive(Debug)]
enum State {
    /// Nothing read yet.
    Start,
    Pcap(PcapFile),
    PcapNg(PcapNgSection),
    /// A fatal error was reported; the rest of the stream is ignored.
    Stopped,
}

/// How the next record of the stream is framed.
enum Frame {
    /// More bytes are needed: this many at least, and no more than the next decision
    /// takes (the record's length, or its size cap, may be known before the whole header
    /// is). Asking for more would make a stream that ends here framed differently whole and
    /// in chunks.
    Need(usize),
    /// A whole record of this many bytes is available.
    Whole(usize),
    /// A record of this many bytes, over the cap.
    Oversize(u64),
    /// The stream cannot be framed from here.
    Bad(StreamError),
}

impl PcapDecoder {
    /// A decoder that reads the traffic `capture` selects as DNS, putting `options.sensor`
    /// in every event.
    pub fn new(options: &DecodeOptions, capture: &CaptureOptions) -> Self {
        PcapDecoder {
            state: State::Start,
            pending: Vec::new(),
            skip: 0,
            offset: 0,
            packet: 0,
            last_ts: 0,
            net: Net::new(options, capture),
            finished: false,
        }
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.net.counters
    }

    pub(crate) fn push_to<S: Sink>(&mut self, mut data: &[u8], out: &mut S) {
        self.net.counters.bytes += data.len() as u64;
        if self.finished || matches!(self.state, State::Stopped) {
            return;
        }
        if self.skip > 0 {
            let n = data
                .len()
                .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
            self.skip -= n as u64;
            self.offset += n as u64;
            data = &data[n..];
        }
        if !self.pending.is_empty() {
            let mut pending = std::mem::take(&mut self.pending);
            let done = loop {
                match self.frame(&pending) {
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
                        // The pending bytes are the start of the skipped block.
                        if !matches!(self.state, State::Stopped) {
                            self.skip = total.saturating_sub(pending.len() as u64);
                        }
                        self.offset += pending.len() as u64;
                        break true;
                    }
                    Frame::Bad(error) => {
                        self.stop(error, out);
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
            if self.skip > 0 {
                let n = data
                    .len()
                    .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
                self.skip -= n as u64;
                self.offset += n as u64;
                data = &data[n..];
            }
        }
        while !data.is_empty() && !matches!(self.state, State::Stopped) {
            match self.frame(data) {
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
                    if matches!(self.state, State::Stopped) {
                        return;
                    }
                    let n = data.len().min(usize::try_from(total).unwrap_or(usize::MAX));
                    self.skip = total - n as u64;
                    self.offset += n as u64;
                    data = &data[n..];
                }
                Frame::Bad(error) => {
                    self.stop(error, out);
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
        if !self.pending.is_empty() && !matches!(self.state, State::Stopped) {
            let what = match self.state {
                State::Start => "the file header",
                State::Pcap(_) => "a packet record",
                State::PcapNg(_) | State::Stopped => "a block",
            };
            let error = StreamError::new(
                format!("byte {}", self.offset),
                StreamErrorKind::Truncated,
                format!(
                    "the capture ends {} bytes into {what}; was the file cut short?",
                    self.pending.len()
                ),
            );
            self.net.counters.error(error.kind);
            out.put(self.packet + 1, Err(error));
        } else if self.skip > 0 {
            let error = StreamError::new(
                format!("byte {}", self.offset),
                StreamErrorKind::Truncated,
                format!(
                    "the capture ends {} bytes before the end of a block",
                    self.skip
                ),
            );
            self.net.counters.error(error.kind);
            out.put(self.packet, Err(error));
        }
        self.pending = Vec::new();
        self.net.finish(out);
    }

    /// How the record at the start of `buf` is framed.
    fn frame(&self, buf: &[u8]) -> Frame {
        match &self.state {
            State::Start => {
                let Some(magic) = buf.get(..4) else {
                    return Frame::Need(4);
                };
                if magic == SHB_TYPE.to_le_bytes() {
                    self.frame_block(buf, None)
                } else if pcap_magic(magic).is_some() {
                    if buf.len() < 24 {
                        Frame::Need(24)
                    } else {
                        Frame::Whole(24)
                    }
                } else {
                    Frame::Bad(self.error_at_byte(
                        StreamErrorKind::FileHeader,
                        format!(
                            "not a pcap or pcapng capture (starts with {magic:02x?}); is this \
                             the right format?"
                        ),
                    ))
                }
            }
            State::Pcap(file) => file.frame_record(buf),
            State::PcapNg(section) => self.frame_block(buf, Some(section.big_endian)),
            State::Stopped => Frame::Need(usize::MAX),
        }
    }

    fn error_at_byte(&self, kind: StreamErrorKind, reason: String) -> StreamError {
        StreamError::new(format!("byte {}", self.offset), kind, reason)
    }

    fn stop<S: Sink>(&mut self, error: StreamError, out: &mut S) {
        let error = error.fatal();
        self.net.counters.error(error.kind);
        out.put(self.packet, Err(error));
        self.state = State::Stopped;
    }

    /// Reports a record over the cap: fatal in pcap (no way to find the next record),
    /// a skipped block in pcapng.
    fn oversize<S: Sink>(&mut self, total: u64, out: &mut S) {
        match self.state {
            State::Pcap(_) => {
                self.packet += 1;
                self.net.counters.records += 1;
                self.net.counters.records_decoded += 1;
                let error = StreamError::new(
                    format!("packet {}", self.packet),
                    StreamErrorKind::RecordTooLarge,
                    format!(
                        "record of {total} bytes at byte {}, more than the {MAX_PACKET_LEN} a \
                         capture holds; the file is corrupt from here and the rest is ignored",
                        self.offset
                    ),
                )
                .fatal();
                self.net.counters.error(error.kind);
                out.put(self.packet, Err(error));
                self.state = State::Stopped;
            }
            _ => {
                let error = self.error_at_byte(
                    StreamErrorKind::RecordTooLarge,
                    format!("pcapng block of {total} bytes, more than {MAX_BLOCK_LEN}; skipped"),
                );
                self.net.counters.error(error.kind);
                out.put(self.packet, Err(error));
            }
        }
    }

    /// Handles one whole record.
    fn record<S: Sink>(&mut self, rec: &[u8], out: &mut S) {
        let start = self.offset;
        self.offset += rec.len() as u64;
        match &self.state {
            State::Start => {
                if rec.len() == 24 {
                    self.pcap_header(rec, out);
                } else {
                    self.block(rec, start, out);
                }
            }
            State::Pcap(file) => {
                let file = *file;
                self.pcap_record(file, rec, out);
            }
            State::PcapNg(_) => self.block(rec, start, out),
            State::Stopped => {}
        }
    }

    fn packet<S: Sink>(&mut self, link: u32, ts: i64, data: &[u8], out: &mut S) {
        self.packet += 1;
        if !timestamp_ok(ts) {
            self.net.counters.records += 1;
            self.net.counters.records_decoded += 1;
            let error = StreamError::new(
                format!("packet {}", self.packet),
                StreamErrorKind::Timestamp,
                format!("packet time {ts} µs since 1970 is outside 1970 to 9999"),
            );
            self.net.counters.error(error.kind);
            out.put(self.packet, Err(error));
            return;
        }
        self.last_ts = ts;
        self.net.packet(self.packet, ts, link, data, out);
    }
}

impl fmt::Debug for PcapDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcapDecoder")
            .field("state", &self.state)
            .field("packet", &self.packet)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

crate::stream::impl_stream_decoder!(PcapDecoder);

fn read_u32(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let mut bytes = [0u8; 4];
    if let Some(src) = b.get(at..at + 4) {
        bytes.copy_from_slice(src);
    }
    if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    }
}

fn read_u16(b: &[u8], at: usize, big_endian: bool) -> u16 {
    let mut bytes = [0u8; 2];
    if let Some(src) = b.get(at..at + 2) {
        bytes.copy_from_slice(src);
    }
    if big_endian {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    }
}
