//! pcap and pcapng captures: a push-based decoder from capture bytes to DNS events.
//!
//! [`PcapDecoder`] reads either container, whichever the stream starts with, in chunks of
//! any size. The layers, one module each:
//!
//! - this module cuts the stream into records (the pcap global header and packet records,
//!   or pcapng blocks with pcap-parser), keeping only the part of a record a chunk cut short;
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

mod defrag;
mod net;
mod tcp;

use std::fmt;

use pcap_parser::pcapng::{
    Block, parse_block_be, parse_block_le, parse_sectionheaderblock_be, parse_sectionheaderblock_le,
};
use pcap_parser::traits::PcapNGPacketBlock;

use crate::DecodeOptions;
use crate::stream::{CaptureOptions, Counters, Sink, StreamError, StreamErrorKind, timestamp_ok};

use self::net::Net;

/// The longest packet record accepted in a pcap file (Wireshark's limit for all link
/// types but USB and D-Bus).
pub const MAX_PACKET_LEN: usize = 262_144;
/// The longest pcapng block buffered; longer ones are skipped with an error.
pub const MAX_BLOCK_LEN: usize = 1024 * 1024;
/// Interfaces remembered per pcapng section; packets on later ones are errors.
const MAX_INTERFACES: usize = 4096;

const SHB_TYPE: u32 = 0x0a0d_0d0a;
const BOM: u32 = 0x1a2b_3c4d;

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

#[derive(Debug, Clone, Copy)]
struct PcapFile {
    big_endian: bool,
    nanos: bool,
    /// Kuznetzov's "modified" format: 8 more bytes per record header.
    modified: bool,
    link: u32,
}

#[derive(Debug)]
struct PcapNgSection {
    big_endian: bool,
    interfaces: Vec<Interface>,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: u32,
    /// Timestamp units per second (`if_tsresol`).
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
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
            State::Pcap(file) => {
                let header_len = if file.modified { 24 } else { 16 };
                // The length is in the first 16 bytes, even in the longer modified header.
                let Some(header) = buf.get(..16) else {
                    return Frame::Need(16);
                };
                let caplen = read_u32(header, 8, file.big_endian) as usize;
                if caplen > MAX_PACKET_LEN {
                    return Frame::Oversize(caplen as u64);
                }
                let total = header_len + caplen;
                if buf.len() < total {
                    Frame::Need(total)
                } else {
                    Frame::Whole(total)
                }
            }
            State::PcapNg(section) => self.frame_block(buf, Some(section.big_endian)),
            State::Stopped => Frame::Need(usize::MAX),
        }
    }

    /// Frames a pcapng block; `big_endian` is the section's byte order (`None` before the
    /// first section header).
    fn frame_block(&self, buf: &[u8], big_endian: Option<bool>) -> Frame {
        let Some(head) = buf.get(..8) else {
            return Frame::Need(8);
        };
        let is_shb = head[..4] == SHB_TYPE.to_le_bytes();
        let big_endian = if is_shb {
            // A section header carries its own byte order.
            let Some(bom) = buf.get(8..12) else {
                return Frame::Need(12);
            };
            match u32::from_le_bytes([bom[0], bom[1], bom[2], bom[3]]) {
                BOM => false,
                b if b == BOM.swap_bytes() => true,
                _ => {
                    return Frame::Bad(self.error_at_byte(
                        StreamErrorKind::FileHeader,
                        "pcapng section header with an unknown byte-order magic".to_owned(),
                    ));
                }
            }
        } else {
            match big_endian {
                Some(be) => be,
                None => {
                    return Frame::Bad(self.error_at_byte(
                        StreamErrorKind::FileHeader,
                        "pcapng stream does not start with a section header".to_owned(),
                    ));
                }
            }
        };
        let len = read_u32(head, 4, big_endian) as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return Frame::Bad(self.error_at_byte(
                StreamErrorKind::Block,
                format!(
                    "pcapng block length {len} is not a multiple of 4 of at least 12; the \
                     capture is corrupt from here"
                ),
            ));
        }
        if len > MAX_BLOCK_LEN {
            return Frame::Oversize(len as u64);
        }
        if buf.len() < len {
            Frame::Need(len)
        } else {
            Frame::Whole(len)
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
                let be = file.big_endian;
                let secs = i64::from(read_u32(rec, 0, be));
                let frac = i64::from(read_u32(rec, 4, be));
                let ts = secs * 1_000_000 + if file.nanos { frac / 1000 } else { frac };
                let data = &rec[if file.modified { 24 } else { 16 }..];
                self.packet(file.link, ts, data, out);
            }
            State::PcapNg(_) => self.block(rec, start, out),
            State::Stopped => {}
        }
    }

    fn pcap_header<S: Sink>(&mut self, h: &[u8], out: &mut S) {
        let Some((big_endian, nanos, modified)) = pcap_magic(&h[..4]) else {
            return;
        };
        let major = read_u16(h, 4, big_endian);
        if major != 2 {
            let error = self.error_at_byte(
                StreamErrorKind::FileHeader,
                format!("pcap version {major}, expected 2"),
            );
            self.stop(error, out);
            return;
        }
        // The top bits of the link type field may hold FCS information (pcap-linktype(7)).
        let link = read_u32(h, 20, big_endian) & 0x03ff_ffff;
        self.state = State::Pcap(PcapFile {
            big_endian,
            nanos,
            modified,
            link,
        });
    }

    fn block<S: Sink>(&mut self, rec: &[u8], start: u64, out: &mut S) {
        let is_shb = rec[..4] == SHB_TYPE.to_le_bytes();
        if is_shb {
            let big_endian = rec[8..12] != BOM.to_le_bytes();
            let parsed = if big_endian {
                parse_sectionheaderblock_be(rec)
            } else {
                parse_sectionheaderblock_le(rec)
            };
            match parsed {
                Ok((_, shb)) if shb.major_version == 1 => {
                    self.state = State::PcapNg(PcapNgSection {
                        big_endian,
                        interfaces: Vec::new(),
                    });
                }
                Ok((_, shb)) => {
                    let error = StreamError::new(
                        format!("byte {start}"),
                        StreamErrorKind::FileHeader,
                        format!("pcapng version {}, expected 1", shb.major_version),
                    );
                    self.stop(error, out);
                }
                Err(_) => {
                    let error = StreamError::new(
                        format!("byte {start}"),
                        StreamErrorKind::FileHeader,
                        "unreadable pcapng section header".to_owned(),
                    );
                    self.stop(error, out);
                }
            }
            return;
        }
        let State::PcapNg(section) = &mut self.state else {
            return;
        };
        let big_endian = section.big_endian;
        let block_type = read_u32(rec, 0, big_endian);
        // Obsolete Packet Block (type 2), which pcap-parser does not read.
        if block_type == 2 {
            self.obsolete_packet_block(rec, out);
            return;
        }
        let is_packet = matches!(block_type, 3 | 6);
        let parsed = if big_endian {
            parse_block_be(rec)
        } else {
            parse_block_le(rec)
        };
        let block = match parsed {
            Ok((_, block)) => block,
            Err(_) => {
                if is_packet {
                    self.packet += 1;
                    self.net.counters.records += 1;
                    self.net.counters.records_decoded += 1;
                }
                let error = StreamError::new(
                    if is_packet {
                        format!("packet {}", self.packet)
                    } else {
                        format!("byte {start}")
                    },
                    StreamErrorKind::Block,
                    format!("unreadable pcapng block of type {block_type:#x}"),
                );
                self.net.counters.error(error.kind);
                out.put(self.packet, Err(error));
                return;
            }
        };
        match block {
            Block::InterfaceDescription(idb) => {
                if section.interfaces.len() >= MAX_INTERFACES {
                    let error = StreamError::new(
                        format!("byte {start}"),
                        StreamErrorKind::Block,
                        format!("more than {MAX_INTERFACES} interfaces in one pcapng section"),
                    );
                    self.net.counters.error(error.kind);
                    out.put(self.packet, Err(error));
                    return;
                }
                section.interfaces.push(Interface {
                    link: (idb.linktype.0 as u32) & 0x03ff_ffff,
                    units_per_sec: idb.ts_resolution().unwrap_or(1_000_000),
                    offset_secs: idb.ts_offset(),
                });
            }
            Block::EnhancedPacket(epb) => {
                let interface = section.interfaces.get(epb.if_id as usize).copied();
                let ts = interface.map_or(0, |i| ng_micros(epb.ts_high, epb.ts_low, &i));
                self.ng_packet(interface, epb.if_id, ts, epb.packet_data(), out);
            }
            Block::SimplePacket(spb) => {
                let interface = section.interfaces.first().copied();
                let ts = self.last_ts;
                self.ng_packet(interface, 0, ts, spb.packet_data(), out);
            }
            _ => {}
        }
    }

    fn obsolete_packet_block<S: Sink>(&mut self, rec: &[u8], out: &mut S) {
        let State::PcapNg(section) = &self.state else {
            return;
        };
        let be = section.big_endian;
        let if_id = u32::from(read_u16(rec, 8, be));
        let interface = section.interfaces.get(if_id as usize).copied();
        let caplen = read_u32(rec, 20, be) as usize;
        let data = rec.get(28..).unwrap_or(&[]);
        let data = &data[..caplen.min(data.len())];
        let ts = interface.map_or(0, |i| {
            ng_micros(read_u32(rec, 12, be), read_u32(rec, 16, be), &i)
        });
        self.ng_packet(interface, if_id, ts, data, out);
    }

    fn ng_packet<S: Sink>(
        &mut self,
        interface: Option<Interface>,
        if_id: u32,
        ts: i64,
        data: &[u8],
        out: &mut S,
    ) {
        match interface {
            Some(interface) => self.packet(interface.link, ts, data, out),
            None => {
                self.packet += 1;
                self.net.counters.records += 1;
                self.net.counters.records_decoded += 1;
                let error = StreamError::new(
                    format!("packet {}", self.packet),
                    StreamErrorKind::Block,
                    format!("packet on interface {if_id}, which no interface block describes"),
                );
                self.net.counters.error(error.kind);
                out.put(self.packet, Err(error));
            }
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

/// Byte order, nanosecond resolution and "modified" format of a pcap magic number.
fn pcap_magic(magic: &[u8]) -> Option<(bool, bool, bool)> {
    match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => Some((false, false, false)),
        [0xa1, 0xb2, 0xc3, 0xd4] => Some((true, false, false)),
        [0x4d, 0x3c, 0xb2, 0xa1] => Some((false, true, false)),
        [0xa1, 0xb2, 0x3c, 0x4d] => Some((true, true, false)),
        [0x34, 0xcd, 0xb2, 0xa1] => Some((false, false, true)),
        [0xa1, 0xb2, 0xcd, 0x34] => Some((true, false, true)),
        _ => None,
    }
}

/// Microseconds since the epoch of a pcapng timestamp.
fn ng_micros(high: u32, low: u32, interface: &Interface) -> i64 {
    let units = (u128::from(high) << 32) | u128::from(low);
    let micros = units * 1_000_000 / u128::from(interface.units_per_sec.max(1));
    i64::try_from(micros)
        .unwrap_or(i64::MAX)
        .saturating_add(interface.offset_secs.saturating_mul(1_000_000))
}

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
