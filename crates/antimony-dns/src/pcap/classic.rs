//! The pcap format (libpcap's, "classic" pcap): a 24-byte file header (magic number, version,
//! link type; microsecond or nanosecond timestamps, either byte order, and Kuznetzov's
//! "modified" variant), then packet records of a 16-byte header (24 in the modified format)
//! and the captured bytes.

use super::{Frame, MAX_PACKET_LEN, PcapDecoder, State, read_u16, read_u32};
use crate::stream::{Sink, StreamErrorKind};

/// What a pcap file's header says about its records.
#[derive(Debug, Clone, Copy)]
pub(super) struct PcapFile {
    big_endian: bool,
    nanos: bool,
    /// Kuznetzov's "modified" format: 8 more bytes per record header.
    modified: bool,
    link: u32,
}

impl PcapFile {
    /// Frames the packet record at the start of `buf`.
    pub(super) fn frame_record(&self, buf: &[u8]) -> Frame {
        let header_len = if self.modified { 24 } else { 16 };
        // The length is in the first 16 bytes, even in the longer modified header.
        let Some(header) = buf.get(..16) else {
            return Frame::Need(16);
        };
        let caplen = read_u32(header, 8, self.big_endian) as usize;
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
}

impl PcapDecoder {
    /// Reads the file header: byte order, resolution, version and link type.
    pub(super) fn pcap_header<S: Sink>(&mut self, h: &[u8], out: &mut S) {
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

    /// Reads one packet record of `file`.
    pub(super) fn pcap_record<S: Sink>(&mut self, file: PcapFile, rec: &[u8], out: &mut S) {
        let be = file.big_endian;
        let secs = i64::from(read_u32(rec, 0, be));
        let frac = i64::from(read_u32(rec, 4, be));
        let ts = secs * 1_000_000 + if file.nanos { frac / 1000 } else { frac };
        let data = &rec[if file.modified { 24 } else { 16 }..];
        self.packet(file.link, ts, data, out);
    }
}

/// Byte order, nanosecond resolution and "modified" format of a pcap magic number.
pub(super) fn pcap_magic(magic: &[u8]) -> Option<(bool, bool, bool)> {
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
