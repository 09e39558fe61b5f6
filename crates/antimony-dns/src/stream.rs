//! Binary DNS sources read as byte streams: pcap, pcapng and dnstap.
//!
//! A [`StreamDecoder`] is fed the bytes of one file or socket stream in order, in chunks of
//! any size, and appends what it decodes: a [`DnsEvent`] per DNS message, or a
//! [`StreamError`] that says where (`packet 12`, `frame 3`) and why. It buffers only the
//! part of a record that a chunk cut short, up to a cap per format; a record over the cap is
//! an error, never a reason to grow. Cutting the same bytes into different chunks gives the
//! same events and errors (the property tests check this).
//!
//! Nothing is dropped silently: every packet or frame either yields events or errors, or is
//! counted as skipped under a reason (not IP, not DNS, held for TCP or IP reassembly...) in
//! [`StreamStats`].
//!
//! ```
//! use antimony_dns::stream::BinaryFormat;
//! use antimony_dns::DecodeOptions;
//!
//! let file: &[u8] = &[]; // the bytes of a capture, read by the caller
//! let format = BinaryFormat::detect(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00").unwrap();
//! assert_eq!(format, BinaryFormat::Pcap);
//! let mut decoder = format.decoder(&DecodeOptions::default());
//! let mut out = Vec::new();
//! for chunk in file.chunks(64 * 1024) {
//!     decoder.push(chunk, &mut out);
//! }
//! decoder.finish(&mut out);
//! for item in out {
//!     match item {
//!         Ok(event) => println!("{}", event.qname),
//!         Err(e) => eprintln!("{}: {}", e.location, e.reason),
//!     }
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::wire::WireError;
use crate::{DecodeOptions, DnsEvent};

/// One decoded item: an event, or an error with its location.
pub type Item = Result<DnsEvent, StreamError>;

/// A push-based decoder of one binary stream.
pub trait StreamDecoder: Send {
    /// Feeds the next bytes of the stream, in order; appends decoded events, and errors with
    /// their location.
    fn push(&mut self, data: &[u8], out: &mut Vec<Item>);

    /// The stream ended: flushes what is pending (TCP streams, IP fragments) and reports
    /// what is incomplete. Later pushes are ignored.
    fn finish(&mut self, out: &mut Vec<Item>);

    /// Counts so far.
    fn stats(&self) -> StreamStats;

    /// Like [`push`](Self::push), with each item's packet or frame number (from 1).
    fn push_numbered(&mut self, data: &[u8], out: &mut Vec<(u64, Item)>);

    /// Like [`finish`](Self::finish), with each item's packet or frame number.
    fn finish_numbered(&mut self, out: &mut Vec<(u64, Item)>);
}

/// Where decoded items go, with the number of the packet or frame they come from.
pub(crate) trait Sink {
    fn put(&mut self, record: u64, item: Item);
}

impl Sink for Vec<Item> {
    #[inline]
    fn put(&mut self, _record: u64, item: Item) {
        self.push(item);
    }
}

impl Sink for Vec<(u64, Item)> {
    #[inline]
    fn put(&mut self, record: u64, item: Item) {
        self.push((record, item));
    }
}

/// Implements [`StreamDecoder`] for a type with generic `push_to` and `finish_to` methods.
macro_rules! impl_stream_decoder {
    ($ty:ty) => {
        impl $crate::stream::StreamDecoder for $ty {
            fn push(&mut self, data: &[u8], out: &mut Vec<$crate::stream::Item>) {
                self.push_to(data, out);
            }
            fn finish(&mut self, out: &mut Vec<$crate::stream::Item>) {
                self.finish_to(out);
            }
            fn stats(&self) -> $crate::stream::StreamStats {
                self.counters().stats()
            }
            fn push_numbered(&mut self, data: &[u8], out: &mut Vec<(u64, $crate::stream::Item)>) {
                self.push_to(data, out);
            }
            fn finish_numbered(&mut self, out: &mut Vec<(u64, $crate::stream::Item)>) {
                self.finish_to(out);
            }
        }
    };
}
pub(crate) use impl_stream_decoder;

/// What kind of problem a [`StreamError`] reports. Small and `Copy`, so errors can be
/// counted by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamErrorKind {
    /// The stream does not start like the format (bad magic, unknown version). The rest of
    /// the stream is ignored.
    FileHeader,
    /// A record says it is longer than the format's cap. In pcap this means the file is
    /// corrupt from there on and the rest is ignored; pcapng blocks and dnstap frames are
    /// skipped whole and decoding goes on.
    RecordTooLarge,
    /// A pcapng block or a Frame Streams control frame that cannot be read.
    Block,
    /// The stream ended inside a record.
    Truncated,
    /// The link, IP, UDP or TCP headers of a packet cannot be read.
    Packet,
    /// A packet of a link type this decoder does not know (reported once per interface;
    /// later packets are counted as skipped).
    LinkType,
    /// A DNS message that cannot be read.
    Dns(WireError),
    /// A TCP stream ended, or was evicted from the flow table, inside a DNS message.
    TcpIncomplete,
    /// TCP data was lost (a gap the out-of-order buffer could not hold): the messages
    /// around it are lost and the stream is resynchronised at the next segment.
    TcpGap,
    /// A TCP length prefix shorter than a DNS header: the stream is not DNS, or framing was
    /// lost.
    TcpFraming,
    /// IP fragments that never made a whole datagram (evicted, or pending at the end).
    FragmentIncomplete,
    /// A dnstap frame whose protobuf cannot be decoded, or that lacks the DNS message.
    Dnstap,
    /// A packet or frame time before 1970 or after the year 9999 (a corrupt record, or a
    /// pcapng interface with a wrong time resolution): no event is made with it.
    Timestamp,
}

impl StreamErrorKind {
    /// A short stable name, for counting (a bounded set, usable as a metric label).
    pub fn reason(&self) -> &'static str {
        match self {
            StreamErrorKind::FileHeader => "bad_file_header",
            StreamErrorKind::RecordTooLarge => "record_too_large",
            StreamErrorKind::Block => "bad_block",
            StreamErrorKind::Truncated => "truncated_stream",
            StreamErrorKind::Packet => "bad_packet",
            StreamErrorKind::LinkType => "unsupported_link_type",
            StreamErrorKind::Dns(e) => e.reason(),
            StreamErrorKind::TcpIncomplete => "tcp_incomplete",
            StreamErrorKind::TcpGap => "tcp_gap",
            StreamErrorKind::TcpFraming => "tcp_framing",
            StreamErrorKind::FragmentIncomplete => "fragment_incomplete",
            StreamErrorKind::Dnstap => "bad_dnstap",
            StreamErrorKind::Timestamp => "bad_timestamp",
        }
    }
}

/// A packet, frame or stream that could not be decoded, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    /// `packet 12` (pcap, pcapng, numbered from 1 like tshark's frame numbers), `frame 3`
    /// (dnstap data frames, from 1), or `byte 1234` for problems between records.
    pub location: String,
    /// A sentence saying what is wrong.
    pub reason: String,
    /// The kind of problem, for counting.
    pub kind: StreamErrorKind,
    fatal: bool,
}

impl StreamError {
    pub(crate) fn new(location: String, kind: StreamErrorKind, reason: String) -> Self {
        StreamError {
            location,
            reason,
            kind,
            fatal: false,
        }
    }

    pub(crate) fn fatal(mut self) -> Self {
        self.fatal = true;
        self
    }

    /// False when the decoder gave up on the rest of the stream after this error.
    pub fn can_continue(&self) -> bool {
        !self.fatal
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

impl std::error::Error for StreamError {}

/// Why a packet or frame was skipped without an event or an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// The link layer carries something other than IPv4 or IPv6 (ARP, LLDP...).
    NotIp,
    /// A link type the decoder does not know (see [`StreamErrorKind::LinkType`]).
    LinkType,
    /// An IP protocol other than UDP and TCP (ICMP, IGMP...).
    NotUdpTcp,
    /// UDP or TCP on a port not known for DNS, whose payload does not look like DNS.
    NotDns,
    /// A TCP segment without data (handshake, acknowledgement, close).
    TcpNoPayload,
    /// TCP data held until the DNS message it belongs to is complete.
    TcpBuffered,
    /// A TCP segment whose data was all seen before (retransmission).
    TcpDuplicate,
    /// An IP fragment held until its datagram is complete.
    FragmentHeld,
    /// A dnstap frame that is not a DNS message (dnstap type other than MESSAGE).
    DnstapNotMessage,
    /// A dnstap message that carries no DNS bytes (servers may log only some fields).
    DnstapNoDns,
}

impl SkipReason {
    const ALL: [SkipReason; 10] = [
        SkipReason::NotIp,
        SkipReason::LinkType,
        SkipReason::NotUdpTcp,
        SkipReason::NotDns,
        SkipReason::TcpNoPayload,
        SkipReason::TcpBuffered,
        SkipReason::TcpDuplicate,
        SkipReason::FragmentHeld,
        SkipReason::DnstapNotMessage,
        SkipReason::DnstapNoDns,
    ];

    /// A short stable name (a bounded set, usable as a metric label).
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::NotIp => "not_ip",
            SkipReason::LinkType => "unsupported_link_type",
            SkipReason::NotUdpTcp => "not_udp_tcp",
            SkipReason::NotDns => "not_dns",
            SkipReason::TcpNoPayload => "tcp_no_payload",
            SkipReason::TcpBuffered => "tcp_buffered",
            SkipReason::TcpDuplicate => "tcp_duplicate",
            SkipReason::FragmentHeld => "ip_fragment_held",
            SkipReason::DnstapNotMessage => "dnstap_not_message",
            SkipReason::DnstapNoDns => "dnstap_no_dns",
        }
    }
}

/// What a decoder has read so far.
///
/// Every record read is counted once in `records`, and then exactly once in either
/// `records_decoded` (it yielded at least one event or error) or `skipped` (under one
/// reason); errors about a stream rather than a record (a TCP message cut short at the end,
/// fragments never completed) add to `errors` only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamStats {
    /// Packets (pcap, pcapng) or data frames (dnstap) read.
    pub records: u64,
    /// Records that yielded at least one event or error.
    pub records_decoded: u64,
    /// Bytes pushed.
    pub bytes: u64,
    /// DNS messages decoded into events.
    pub messages: u64,
    /// Messages whose answer, authority or additional section was malformed: their event
    /// holds the records before the problem.
    pub messages_partial: u64,
    /// Errors reported.
    pub errors: u64,
    /// Errors by [`StreamErrorKind::reason`].
    pub errors_by_reason: BTreeMap<&'static str, u64>,
    /// Records skipped, by [`SkipReason::name`].
    pub skipped: BTreeMap<&'static str, u64>,
    /// IP datagrams rebuilt from fragments.
    pub fragments_reassembled: u64,
    /// IP fragments dropped because their datagram never completed.
    pub fragments_skipped: u64,
    /// TCP segments that arrived ahead of a gap (held, or lost with it).
    pub tcp_out_of_order: u64,
    /// Frame Streams control frames read (dnstap).
    pub control_frames: u64,
}

impl StreamStats {
    /// Records skipped, all reasons together.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Counters a decoder updates as it goes; [`StreamStats`] is built from them on demand.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counters {
    pub records: u64,
    pub records_decoded: u64,
    pub bytes: u64,
    pub messages: u64,
    pub messages_partial: u64,
    pub errors: u64,
    pub errors_by_reason: BTreeMap<&'static str, u64>,
    pub skipped: [u64; SkipReason::ALL.len()],
    pub fragments_reassembled: u64,
    pub fragments_skipped: u64,
    pub tcp_out_of_order: u64,
    pub control_frames: u64,
}

impl Counters {
    pub fn skip(&mut self, reason: SkipReason) {
        self.skipped[reason as usize] += 1;
    }

    pub fn error(&mut self, kind: StreamErrorKind) {
        self.errors += 1;
        *self.errors_by_reason.entry(kind.reason()).or_default() += 1;
    }

    pub fn stats(&self) -> StreamStats {
        StreamStats {
            records: self.records,
            records_decoded: self.records_decoded,
            bytes: self.bytes,
            messages: self.messages,
            messages_partial: self.messages_partial,
            errors: self.errors,
            errors_by_reason: self.errors_by_reason.clone(),
            skipped: SkipReason::ALL
                .iter()
                .zip(self.skipped)
                .filter(|(_, n)| *n > 0)
                .map(|(r, n)| (r.name(), n))
                .collect(),
            fragments_reassembled: self.fragments_reassembled,
            fragments_skipped: self.fragments_skipped,
            tcp_out_of_order: self.tcp_out_of_order,
            control_frames: self.control_frames,
        }
    }
}

/// The last microsecond of the year 9999: later times (and times before 1970) are refused,
/// as no capture or server log holds them and RFC 3339 cannot write them.
pub(crate) const MAX_TIMESTAMP: i64 = 253_402_300_799_999_999;

/// Whether a record's time can be an event's.
pub(crate) fn timestamp_ok(ts: i64) -> bool {
    (0..=MAX_TIMESTAMP).contains(&ts)
}

/// Which UDP and TCP traffic is read as DNS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureOptions {
    /// Ports whose traffic is DNS: every message to or from them is decoded, and one that
    /// cannot be read is an error. Default: 53 (DNS), 5353 (mDNS), 5355 (LLMNR).
    pub dns_ports: Vec<u16>,
    /// Whether traffic on other ports is read as DNS when it looks like DNS (see
    /// [`crate::wire::looks_like_dns`]: one question, standard opcode and class, every
    /// record well formed, no byte left over); what does not look like DNS is counted as
    /// skipped, not as an error. Default: true, so DNS on odd ports (test servers,
    /// tunnels, `dnsperf` labs on 5300-5304) is seen without configuration.
    pub other_ports: bool,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            dns_ports: vec![53, 5353, 5355],
            other_ports: true,
        }
    }
}

/// The binary formats Antimony reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BinaryFormat {
    /// libpcap capture files (microsecond or nanosecond, either byte order).
    #[serde(rename = "pcap")]
    Pcap,
    /// pcapng capture files.
    #[serde(rename = "pcapng")]
    PcapNg,
    /// dnstap in Frame Streams (a file, or a stream after its handshake).
    #[serde(rename = "dnstap")]
    Dnstap,
}

impl BinaryFormat {
    /// Every binary format.
    pub fn all() -> &'static [BinaryFormat] {
        &[
            BinaryFormat::Pcap,
            BinaryFormat::PcapNg,
            BinaryFormat::Dnstap,
        ]
    }

    /// The name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BinaryFormat::Pcap => "pcap",
            BinaryFormat::PcapNg => "pcapng",
            BinaryFormat::Dnstap => "dnstap",
        }
    }

    /// The format with this name, in any case (`fstrm` and `frame-streams` also name dnstap).
    pub fn from_name(name: &str) -> Option<BinaryFormat> {
        let aliases: [(&str, BinaryFormat); 5] = [
            ("pcap", BinaryFormat::Pcap),
            ("pcapng", BinaryFormat::PcapNg),
            ("dnstap", BinaryFormat::Dnstap),
            ("fstrm", BinaryFormat::Dnstap),
            ("frame-streams", BinaryFormat::Dnstap),
        ];
        aliases
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
            .map(|&(_, format)| format)
    }

    /// One sentence saying what the format is.
    pub fn description(self) -> &'static str {
        match self {
            BinaryFormat::Pcap => {
                "libpcap capture (tcpdump -w): DNS over UDP and TCP, IPv4 and IPv6, on \
                 Ethernet, VLAN, Linux cooked, PPP, raw IP or loopback links"
            }
            BinaryFormat::PcapNg => {
                "pcapng capture (Wireshark, dumpcap): as pcap, several interfaces allowed"
            }
            BinaryFormat::Dnstap => {
                "dnstap in Frame Streams (BIND dnstap-output, Unbound, fstrm_capture): one \
                 event per logged query or response"
            }
        }
    }

    /// The format whose magic number starts `first_bytes`, if any. Needs 4 bytes for pcap
    /// and pcapng, 12 for dnstap (the START control frame and its content type).
    pub fn detect(first_bytes: &[u8]) -> Option<BinaryFormat> {
        let magic = first_bytes.get(..4)?;
        match magic {
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x34, 0xcd, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xcd, 0x34] => Some(BinaryFormat::Pcap),
            [0x0a, 0x0d, 0x0d, 0x0a] => Some(BinaryFormat::PcapNg),
            [0, 0, 0, 0] if first_bytes.get(8..12) == Some(&[0, 0, 0, 2]) => {
                Some(BinaryFormat::Dnstap)
            }
            _ => None,
        }
    }

    /// A decoder for this format with the default [`CaptureOptions`].
    pub fn decoder(self, options: &DecodeOptions) -> Box<dyn StreamDecoder> {
        self.decoder_with(options, &CaptureOptions::default())
    }

    /// A decoder for this format. The pcap and pcapng decoders are the same: either reads
    /// both containers, whichever the stream starts with.
    pub fn decoder_with(
        self,
        options: &DecodeOptions,
        capture: &CaptureOptions,
    ) -> Box<dyn StreamDecoder> {
        match self {
            BinaryFormat::Pcap | BinaryFormat::PcapNg => {
                Box::new(crate::pcap::PcapDecoder::new(options, capture))
            }
            BinaryFormat::Dnstap => Box::new(crate::dnstap::DnstapDecoder::new(options)),
        }
    }
}

impl fmt::Display for BinaryFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A binary format name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown binary format {0:?}; known formats: pcap, pcapng, dnstap")]
pub struct UnknownBinaryFormat(pub String);

impl FromStr for BinaryFormat {
    type Err = UnknownBinaryFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BinaryFormat::from_name(s).ok_or_else(|| UnknownBinaryFormat(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &format in BinaryFormat::all() {
            assert_eq!(BinaryFormat::from_name(format.name()), Some(format));
            assert_eq!(format.to_string().parse::<BinaryFormat>(), Ok(format));
            assert!(!format.description().is_empty());
        }
        assert_eq!(BinaryFormat::from_name("FSTRM"), Some(BinaryFormat::Dnstap));
        assert!("pcap2".parse::<BinaryFormat>().is_err());
    }

    #[test]
    fn detect_by_magic() {
        let cases: [(&[u8], Option<BinaryFormat>); 6] = [
            (b"\xd4\xc3\xb2\xa1", Some(BinaryFormat::Pcap)),
            (b"\xa1\xb2\x3c\x4d", Some(BinaryFormat::Pcap)),
            (b"\x0a\x0d\x0d\x0a\x1c\x00", Some(BinaryFormat::PcapNg)),
            (b"\0\0\0\0\0\0\0\x22\0\0\0\x02", Some(BinaryFormat::Dnstap)),
            (b"\0\0\0\0", None),
            (b"26-Nov", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(BinaryFormat::detect(bytes), expected, "{bytes:02x?}");
        }
    }
}
