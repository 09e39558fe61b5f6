//! The pcapng format: a stream of blocks, each with its type and length, read with
//! pcap-parser. A section header block sets the byte order; interface description blocks
//! give each interface's link type and timestamp resolution; enhanced, simple and obsolete
//! packet blocks carry the packets. Other blocks are skipped.

use pcap_parser::pcapng::{
    Block, parse_block_be, parse_block_le, parse_sectionheaderblock_be, parse_sectionheaderblock_le,
};
use pcap_parser::traits::PcapNGPacketBlock;

use super::{Frame, MAX_BLOCK_LEN, PcapDecoder, State, read_u16, read_u32};
use crate::stream::{Sink, StreamError, StreamErrorKind};

/// Interfaces remembered per pcapng section; packets on later ones are errors.
const MAX_INTERFACES: usize = 4096;

/// Block type of a section header block (a palindrome: the same in either byte order).
pub(super) const SHB_TYPE: u32 = 0x0a0d_0d0a;
/// Byte-order magic of a section header block.
const BOM: u32 = 0x1a2b_3c4d;

/// The section being read: its byte order and the interfaces described so far.
#[derive(Debug)]
pub(super) struct PcapNgSection {
    pub(super) big_endian: bool,
    interfaces: Vec<Interface>,
}

/// One interface of a section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: u32,
    /// Timestamp units per second (`if_tsresol`).
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

impl PcapDecoder {
    /// Frames a pcapng block; `big_endian` is the section's byte order (`None` before the
    /// first section header).
    pub(super) fn frame_block(&self, buf: &[u8], big_endian: Option<bool>) -> Frame {
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

    /// Reads one block: a section header, an interface description or a packet.
    pub(super) fn block<S: Sink>(&mut self, rec: &[u8], start: u64, out: &mut S) {
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
}

/// Microseconds since the epoch of a pcapng timestamp.
fn ng_micros(high: u32, low: u32, interface: &Interface) -> i64 {
    let units = (u128::from(high) << 32) | u128::from(low);
    let micros = units * 1_000_000 / u128::from(interface.units_per_sec.max(1));
    i64::try_from(micros)
        .unwrap_or(i64::MAX)
        .saturating_add(interface.offset_secs.saturating_mul(1_000_000))
}
