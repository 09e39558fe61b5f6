//! DNS wire format: one DNS message (RFC 1035 section 4) into a [`DnsEvent`].
//!
//! [`decode_message`] reads the header and the question strictly: without them there is no
//! event. The answer, authority and additional sections are walked record by record with
//! the limits below; the answers become [`Answer`]s in presentation form, the OPT record of
//! the additional section gives the extended response code (RFC 6891). A malformed record
//! in those later sections does not lose the question, which is what detection needs (an
//! attacker appending a broken record must not hide the name it asked for):
//! [`decode_message_detailed`] returns the event together with the error that stopped the
//! walk, so the caller can count it.
//!
//! # Hostile input
//!
//! hickory-proto, which renders record data, guarantees that a compression pointer points
//! strictly before the name that uses it (so a pointer loop cannot happen) and that a name
//! stays within 255 bytes. It does not bound the number of pointers followed, nor the
//! memory reserved for a count taken from the header (`Message::read` reserves
//! `QDCOUNT` questions up front). This module therefore walks names and records itself and
//! adds:
//!
//! - messages longer than [`MAX_MESSAGE_LEN`] (65,535 bytes, the most TCP or UDP can carry)
//!   are refused;
//! - a question count that the message could not hold (each question takes 5 bytes at
//!   least) is refused before anything is reserved;
//! - at most [`MAX_POINTER_HOPS`] compression pointers are followed per name, each to an
//!   offset before the pointer itself;
//! - at most [`MAX_ANSWERS`] answers are rendered into the event (later ones are still
//!   walked and checked); hickory parses only the record data of those, from a buffer that
//!   ends where the record does, so it cannot read past it.
//!
//! Work is therefore linear in the message size, and allocation is bounded by
//! [`MAX_ANSWERS`] answers of at most a few kilobytes each.

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};

use crate::domain::NameError;
use crate::{Answer, Direction, DnsEvent, TimestampMicros, Transport};

/// The longest message accepted: the most a UDP datagram or a TCP length prefix can carry.
pub const MAX_MESSAGE_LEN: usize = 65_535;
/// Compression pointers followed at most per name. Real names use one to three; the limit
/// only bounds the work a crafted chain can cause.
pub const MAX_POINTER_HOPS: usize = 64;
/// Answers rendered into [`DnsEvent::answers`] at most; the rest are checked, not kept.
pub const MAX_ANSWERS: usize = 64;
/// The longest record data rendered as text; longer data is summarised as `\# LEN` with no
/// hex (RFC 3597 form, cut short), which keeps an event small.
pub const MAX_RDATA_TEXT: usize = 4096;

const HEADER_LEN: usize = 12;
/// Longest name on the wire, length octets and root label included (RFC 1035 2.3.4).
const MAX_WIRE_NAME: usize = 255;
/// Longest presentation form of a name: every byte escaped as `\DDD`.
const MAX_TEXT_NAME: usize = MAX_WIRE_NAME * 4;

/// What the message came with: time, addresses and ports from the packet or the dnstap
/// frame that carried it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireMeta {
    /// When the message was seen, in microseconds since the Unix epoch.
    pub ts: TimestampMicros,
    /// Address the message came from.
    pub src: Option<IpAddr>,
    /// Address the message went to.
    pub dst: Option<IpAddr>,
    /// Port the message came from (0 when unknown).
    pub src_port: u16,
    /// Port the message went to (0 when unknown).
    pub dst_port: u16,
    /// How it travelled.
    pub transport: Transport,
}

/// A section of a DNS message, to say where a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// The 12-byte header.
    Header,
    /// The question section.
    Question,
    /// The answer section.
    Answer,
    /// The authority section.
    Authority,
    /// The additional section.
    Additional,
}

impl Section {
    /// Lower-case name, as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Section::Header => "header",
            Section::Question => "question",
            Section::Answer => "answer",
            Section::Authority => "authority",
            Section::Additional => "additional",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a DNS message could not be read. Small and `Copy`: errors are counted by
/// [`WireError::reason`] on hot paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer than 12 bytes: no header.
    #[error("message is {0} bytes long, shorter than the 12-byte DNS header")]
    ShortHeader(usize),
    /// Longer than [`MAX_MESSAGE_LEN`].
    #[error("message is {0} bytes long, more than DNS allows ({MAX_MESSAGE_LEN})")]
    TooLong(usize),
    /// The header counts more questions than the message could hold.
    #[error("header counts {count} questions, more than a {len}-byte message can hold")]
    ImpossibleCount {
        /// QDCOUNT from the header.
        count: u16,
        /// Message length.
        len: usize,
    },
    /// The message ends inside a section.
    #[error("{0} section: message ends inside a record")]
    Truncated(Section),
    /// A label length octet with the reserved top bits `01` or `10`.
    #[error("{section} section: unsupported label type {byte:#04x}")]
    LabelType {
        /// Where.
        section: Section,
        /// The length octet.
        byte: u8,
    },
    /// A compression pointer to itself or to a later offset.
    #[error("{0} section: compression pointer does not point backwards")]
    PointerForward(Section),
    /// More than [`MAX_POINTER_HOPS`] pointers in one name.
    #[error("{0} section: name follows more than {MAX_POINTER_HOPS} compression pointers")]
    PointerChain(Section),
    /// A name longer than 255 bytes on the wire.
    #[error("{0} section: name is longer than 255 bytes")]
    NameTooLong(Section),
    /// Record data runs past the end of the message.
    #[error("{0} section: record data runs past the end of the message")]
    RdataOverrun(Section),
    /// The question name cannot be normalised.
    #[error("question name: {0}")]
    Name(NameError),
}

impl WireError {
    /// A short stable name for counting errors (`dns_truncated`, `dns_bad_name`...): a
    /// bounded set, usable as a metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            WireError::ShortHeader(_) => "dns_short_header",
            WireError::TooLong(_) => "dns_too_long",
            WireError::ImpossibleCount { .. } => "dns_impossible_count",
            WireError::Truncated(_) => "dns_truncated",
            WireError::LabelType { .. } => "dns_label_type",
            WireError::PointerForward(_) => "dns_pointer_forward",
            WireError::PointerChain(_) => "dns_pointer_chain",
            WireError::NameTooLong(_) => "dns_name_too_long",
            WireError::RdataOverrun(_) => "dns_rdata_overrun",
            WireError::Name(_) => "dns_bad_name",
        }
    }
}

/// A decoded message with what the lenient part of the walk found.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The event.
    pub event: DnsEvent,
    /// The problem that stopped the walk of the answer, authority or additional section,
    /// if any: the event holds what came before it.
    pub section_error: Option<WireError>,
    /// Bytes left after the last record the header counts (padding or garbage).
    pub trailing_bytes: usize,
    /// Number of questions (QDCOUNT); the event holds the first.
    pub questions: u16,
    /// The class of the first question (1 = IN); 0 when there is no question.
    pub qclass: u16,
}

/// Decodes one DNS message into an event.
///
/// `Ok` when the header and the question section are sound: the event then holds what the
/// later sections yielded up to their first malformed record (see
/// [`decode_message_detailed`] to learn about it). A message without a question (QDCOUNT
/// 0) gives an event with an empty `qname` and `qtype` 0.
///
/// ```
/// use antimony_dns::wire::{decode_message, WireMeta};
/// use antimony_dns::Direction;
///
/// // A query for example.com/A, id 0x1234, RD set.
/// let msg = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
///             \x07example\x03com\x00\x00\x01\x00\x01";
/// let meta = WireMeta { src: Some("192.0.2.1".parse().unwrap()), ..WireMeta::default() };
/// let event = decode_message(msg, &meta).unwrap();
/// assert_eq!(event.qname, "example.com");
/// assert_eq!(event.qtype, 1);
/// assert_eq!(event.direction, Direction::Query);
/// assert_eq!(event.client, meta.src);
/// ```
pub fn decode_message(msg: &[u8], meta: &WireMeta) -> Result<DnsEvent, WireError> {
    decode_message_detailed(msg, meta).map(|decoded| decoded.event)
}

/// Decodes one DNS message, reporting what the lenient walk of the later sections found.
pub fn decode_message_detailed(msg: &[u8], meta: &WireMeta) -> Result<Decoded, WireError> {
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(WireError::TooLong(msg.len()));
    }
    let header = Header::read(msg)?;
    // Each question takes at least a root name (1 byte), a type and a class.
    if usize::from(header.qdcount) * 5 > msg.len() - HEADER_LEN {
        return Err(WireError::ImpossibleCount {
            count: header.qdcount,
            len: msg.len(),
        });
    }

    let is_response = header.flags & 0x8000 != 0;
    let mut event = DnsEvent {
        ts: meta.ts,
        transport: meta.transport,
        id: Some(header.id),
        flags: header.flags,
        rcode: Some(header.flags & 0x000f),
        ..DnsEvent::default()
    };
    if is_response {
        event.direction = Direction::Response;
        event.client = meta.dst;
        event.server = meta.src;
    } else {
        event.direction = Direction::Query;
        event.client = meta.src;
        event.server = meta.dst;
    }

    let mut pos = HEADER_LEN;
    let mut qclass = 0;
    let mut name = NameText::new();
    for i in 0..header.qdcount {
        let keep = i == 0;
        pos = read_name(msg, pos, Section::Question, keep.then_some(&mut name))?;
        let fixed = msg
            .get(pos..pos + 4)
            .ok_or(WireError::Truncated(Section::Question))?;
        if keep {
            event.qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
            event.set_qname(name.as_str()).map_err(WireError::Name)?;
        }
        pos += 4;
    }

    let mut decoded = Decoded {
        event,
        section_error: None,
        trailing_bytes: 0,
        questions: header.qdcount,
        qclass,
    };
    // The question's buffer is free again: answers' owner names reuse it.
    match walk_records(msg, pos, &header, &mut decoded.event, &mut name) {
        Ok(end) => decoded.trailing_bytes = msg.len() - end,
        Err(e) => decoded.section_error = Some(e),
    }
    Ok(decoded)
}

/// Whether `msg` looks like a DNS message, for traffic on ports not known to carry DNS.
///
/// Stricter than [`decode_message`]: exactly one question of class IN, CH, HS or ANY
/// (the mDNS unicast-response bit allowed), a standard opcode (QUERY, NOTIFY, UPDATE),
/// every record the header counts well formed, and no byte left over. Random or other
/// protocols' payloads almost never pass all of these.
pub fn looks_like_dns(decoded: &Decoded) -> bool {
    let opcode = (decoded.event.flags >> 11) & 0xf;
    decoded.questions == 1
        && matches!(opcode, 0 | 4 | 5)
        && matches!(decoded.qclass & 0x7fff, 1 | 3 | 4 | 255)
        && decoded.section_error.is_none()
        && decoded.trailing_bytes == 0
}

struct Header {
    id: u16,
    flags: u16,
    qdcount: u16,
    ancount: u16,
    nscount: u16,
    arcount: u16,
}

impl Header {
    fn read(msg: &[u8]) -> Result<Header, WireError> {
        let h: &[u8; HEADER_LEN] = msg
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(WireError::ShortHeader(msg.len()))?;
        let u = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        Ok(Header {
            id: u(0),
            flags: u(2),
            qdcount: u(4),
            ancount: u(6),
            nscount: u(8),
            arcount: u(10),
        })
    }
}

/// Walks the answer, authority and additional sections from `pos`; returns where they end.
fn walk_records(
    msg: &[u8],
    mut pos: usize,
    header: &Header,
    event: &mut DnsEvent,
    owner: &mut NameText,
) -> Result<usize, WireError> {
    let sections = [
        (Section::Answer, header.ancount),
        (Section::Authority, header.nscount),
        (Section::Additional, header.arcount),
    ];
    let mut seen_opt = false;
    for (section, count) in sections {
        for _ in 0..count {
            let render = section == Section::Answer && event.answers.len() < MAX_ANSWERS;
            let start = pos;
            pos = read_name(msg, pos, section, render.then_some(&mut *owner))?;
            let fixed = msg
                .get(pos..pos + 10)
                .ok_or(WireError::Truncated(section))?;
            let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
            let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            let rdata_start = pos + 10;
            let rdata_end = rdata_start + rdlength;
            if rdata_end > msg.len() {
                return Err(WireError::RdataOverrun(section));
            }
            pos = rdata_end;
            if section == Section::Additional && rtype == 41 && !seen_opt && msg[start] == 0 {
                // OPT: the top 8 bits of the TTL field extend the header's 4-bit rcode.
                seen_opt = true;
                let high = u16::from(fixed[4]);
                event.rcode = Some((high << 4) | (event.flags & 0x000f));
            }
            let mut name = String::new();
            // Owner names are normalised like question names. One that cannot be (its
            // escaped form is too long for a name) is walked but not kept.
            if render && crate::domain::normalise_into(owner.as_str(), &mut name).is_ok() {
                event.answers.push(Answer {
                    name,
                    rtype,
                    ttl: Some(ttl),
                    data: rdata_text(msg, rdata_start, rdata_end, rtype),
                });
            }
        }
    }
    Ok(pos)
}

/// Record data in presentation form: hickory's rendering where it reads the data, our own
/// for TXT (quoted strings, so tunnels stay readable), RFC 3597 `\# LEN HEX` otherwise.
fn rdata_text(msg: &[u8], start: usize, end: usize, rtype: u16) -> String {
    let rdata = &msg[start..end];
    if rdata.len() > MAX_RDATA_TEXT {
        return format!("\\# {}", rdata.len());
    }
    if rtype == 16
        && let Some(text) = txt_text(rdata)
    {
        return text;
    }
    // Most answers are addresses: written directly, without hickory's parse and `Display`.
    if rtype == 1
        && let Ok(octets) = <[u8; 4]>::try_from(rdata)
    {
        let mut text = String::with_capacity(15);
        antimony_core::text::push_ipv4(&mut text, octets.into());
        return text;
    }
    let record_type = RecordType::from(rtype);
    let known = !matches!(record_type, RecordType::Unknown(_) | RecordType::OPT)
        && !record_type.is_dnssec();
    if known && !rdata.is_empty() {
        // The decoder's buffer ends with this record, so hickory cannot read past it; names
        // in the data may still point back into the rest of the message.
        if let Ok(index) = u16::try_from(start) {
            let mut decoder = BinDecoder::new(&msg[..end]).clone(index);
            let length = Restrict::new(rdata.len() as u16);
            if let Ok(data) = RData::read(&mut decoder, record_type, length) {
                let mut text = String::new();
                if write!(text, "{data}").is_ok() {
                    if matches!(rtype, 2 | 5 | 12 | 39) {
                        // A single name (NS, CNAME, PTR, DNAME): no trailing dot, like qname.
                        if text.len() > 1 && text.ends_with('.') {
                            text.pop();
                        }
                        text.make_ascii_lowercase();
                    }
                    return text;
                }
            }
        }
    }
    generic_rdata(rdata)
}

/// TXT data as quoted character-strings with `\"`, `\\` and `\DDD` escapes (RFC 1035 5.1).
fn txt_text(rdata: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(rdata.len() + 8);
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let chunk = tail.get(..usize::from(len))?;
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('"');
        for &b in chunk {
            match b {
                b'"' | b'\\' => {
                    out.push('\\');
                    out.push(char::from(b));
                }
                0x20..=0x7e => out.push(char::from(b)),
                _ => push_decimal_escape(&mut out, b),
            }
        }
        out.push('"');
        rest = &tail[usize::from(len)..];
    }
    Some(out)
}

/// RFC 3597 generic form: `\# 4 0a000001`.
fn generic_rdata(rdata: &[u8]) -> String {
    let mut out = String::with_capacity(6 + rdata.len() * 2);
    let _ = write!(out, "\\# {}", rdata.len());
    if !rdata.is_empty() {
        out.push(' ');
        for b in rdata {
            let _ = write!(out, "{b:02x}");
        }
    }
    out
}

fn push_decimal_escape(out: &mut String, b: u8) {
    out.push('\\');
    out.push(char::from(b'0' + b / 100));
    out.push(char::from(b'0' + (b / 10) % 10));
    out.push(char::from(b'0' + b % 10));
}

/// A name in presentation form, in a fixed buffer (no allocation per name).
struct NameText {
    buf: [u8; MAX_TEXT_NAME],
    len: usize,
}

impl NameText {
    fn new() -> Self {
        NameText {
            buf: [0; MAX_TEXT_NAME],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        // The wire limit of 255 bytes keeps the text within the buffer; the check keeps a
        // bug from becoming a panic.
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// Appends a label, after a dot unless it is the first: printable ASCII as it is, other
    /// bytes, the dot and the backslash as `\DDD`.
    fn push_label(&mut self, label: &[u8]) {
        if self.len > 0 {
            self.push(b'.');
        }
        let plain = |b: &u8| b.is_ascii_graphic() && *b != b'.' && *b != b'\\';
        // Most labels need no escape: copy them whole.
        if label.iter().all(plain)
            && let Some(dst) = self.buf.get_mut(self.len..self.len + label.len())
        {
            dst.copy_from_slice(label);
            self.len += label.len();
            return;
        }
        for &b in label {
            if plain(&b) {
                self.push(b);
            } else {
                self.push(b'\\');
                self.push(b'0' + b / 100);
                self.push(b'0' + (b / 10) % 10);
                self.push(b'0' + b % 10);
            }
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII is ever pushed.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// Reads the name at `pos`, following compression pointers; returns the offset just after
/// the name where it starts (after its first pointer, if any). With `out`, writes the name
/// in presentation form without the trailing dot: printable ASCII kept, other bytes and
/// the dot escaped as `\DDD` (so a label holding a dot or a space cannot pass for two
/// labels or a blank).
fn read_name(
    msg: &[u8],
    mut pos: usize,
    section: Section,
    mut out: Option<&mut NameText>,
) -> Result<usize, WireError> {
    if let Some(out) = out.as_deref_mut() {
        out.len = 0;
    }
    let mut end = None;
    let mut hops = 0;
    let mut wire_len = 0usize;
    loop {
        let &len = msg.get(pos).ok_or(WireError::Truncated(section))?;
        match len & 0xc0 {
            0x00 => {
                wire_len += usize::from(len) + 1;
                if wire_len > MAX_WIRE_NAME {
                    return Err(WireError::NameTooLong(section));
                }
                if len == 0 {
                    return Ok(end.unwrap_or(pos + 1));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(WireError::Truncated(section))?;
                if let Some(out) = out.as_deref_mut() {
                    out.push_label(label);
                }
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let &low = msg.get(pos + 1).ok_or(WireError::Truncated(section))?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                if target >= pos {
                    return Err(WireError::PointerForward(section));
                }
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return Err(WireError::PointerChain(section));
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(WireError::LabelType { section, byte: len }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16) -> Vec<u8> {
        let mut m = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(name);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m
    }

    fn check(msg: &[u8], expected: Result<(&str, u16), WireError>) {
        let got = decode_message(msg, &WireMeta::default()).map(|e| (e.qname.clone(), e.qtype));
        let expected = expected.map(|(n, t)| (n.to_owned(), t));
        assert_eq!(got, expected, "message {msg:02x?}");
    }

    #[test]
    fn questions() {
        check(&query(b"\x07Example\x03COM\x00", 1), Ok(("example.com", 1)));
        check(&query(b"\x00", 2), Ok(("", 2)));
        check(&query(b"\x03a b\x03com\x00", 16), Ok(("a\\032b.com", 16)));
        check(&query(b"\x03a.b\x03com\x00", 16), Ok(("a\\046b.com", 16)));
        check(&query(b"\x02\xc3\xa9\x00", 1), Ok(("\\195\\169", 1)));
        check(
            &query(b"\x07example\x03com", 1),
            Err(WireError::Truncated(Section::Question)),
        );
        check(
            &query(b"\x41x\x00", 1),
            Err(WireError::LabelType {
                section: Section::Question,
                byte: 0x41,
            }),
        );
        check(
            &query(b"\xc0\x0c", 1),
            Err(WireError::PointerForward(Section::Question)),
        );
        check(
            &query(b"\xc0\x20", 1),
            Err(WireError::PointerForward(Section::Question)),
        );
        check(b"\x00\x01", Err(WireError::ShortHeader(2)));
        let mut huge = query(b"\x00", 1);
        huge[4] = 0xff;
        check(
            &huge,
            Err(WireError::ImpossibleCount {
                count: 0xff01,
                len: 17,
            }),
        );
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        check(
            &query(&long, 1),
            Err(WireError::NameTooLong(Section::Question)),
        );
    }

    #[test]
    fn pointer_chain_is_bounded() {
        // A root name at 12, then pointers each to the one before: a chain of n hops.
        let chain = |n: usize| {
            let mut m = vec![0u8; 12];
            m.push(0);
            m.extend_from_slice(&[0xc0, 12]);
            for i in 1..n {
                let prev = 13 + 2 * (i - 1);
                m.extend_from_slice(&[0xc0 | (prev >> 8) as u8, prev as u8]);
            }
            m
        };
        let m = chain(MAX_POINTER_HOPS);
        assert_eq!(
            read_name(&m, m.len() - 2, Section::Answer, None),
            Ok(m.len())
        );
        let m = chain(MAX_POINTER_HOPS + 1);
        assert_eq!(
            read_name(&m, m.len() - 2, Section::Answer, None),
            Err(WireError::PointerChain(Section::Answer))
        );
    }

    fn response() -> Vec<u8> {
        // www.example.com A? -> CNAME example.com, A 93.184.216.34, TXT, OPT with ext rcode.
        let mut m = vec![0x12, 0x34, 0x81, 0x83, 0, 1, 0, 3, 0, 0, 0, 1];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        m.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x02\xc0\x10");
        m.extend_from_slice(b"\xc0\x10\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x5d\xb8\xd8\x22");
        m.extend_from_slice(b"\xc0\x10\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x08\x03a\"b\x03\x01yz");
        m.extend_from_slice(b"\x00\x00\x29\x10\x00\x01\x00\x00\x00\x00\x00");
        m
    }

    #[test]
    fn response_sections() {
        let meta = WireMeta {
            src: Some("192.0.2.53".parse().expect("valid test input")),
            dst: Some("198.51.100.7".parse().expect("valid test input")),
            ..WireMeta::default()
        };
        let decoded = decode_message_detailed(&response(), &meta).expect("valid test input");
        let e = &decoded.event;
        assert_eq!(decoded.section_error, None);
        assert_eq!(decoded.trailing_bytes, 0);
        assert!(looks_like_dns(&decoded));
        assert_eq!(e.direction, Direction::Response);
        assert_eq!(e.client, meta.dst);
        assert_eq!(e.server, meta.src);
        assert_eq!(e.id, Some(0x1234));
        assert_eq!(e.qname, "www.example.com");
        assert_eq!(e.registered_domain(), "example.com");
        // NXDOMAIN (3) with extended rcode 1 in the OPT record: 1 << 4 | 3 = 19.
        assert_eq!(e.rcode, Some(19));
        let answers: Vec<_> = e
            .answers
            .iter()
            .map(|a| (a.name.as_str(), a.rtype, a.ttl, a.data.as_str()))
            .collect();
        assert_eq!(
            answers,
            [
                ("www.example.com", 5, Some(3600), "example.com"),
                ("example.com", 1, Some(3600), "93.184.216.34"),
                ("example.com", 16, Some(60), "\"a\\\"b\" \"\\001yz\""),
            ]
        );
    }

    #[test]
    fn broken_later_sections_keep_the_question() {
        let mut m = response();
        m.truncate(m.len() - 5);
        let decoded = decode_message_detailed(&m, &WireMeta::default()).expect("valid test input");
        assert_eq!(decoded.event.qname, "www.example.com");
        assert_eq!(decoded.event.answers.len(), 3);
        assert_eq!(
            decoded.section_error,
            Some(WireError::Truncated(Section::Additional))
        );
        assert!(!looks_like_dns(&decoded));
    }

    #[test]
    fn unreadable_rdata_is_generic() {
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        // An A record with 3 bytes of data, and a type-65280 record.
        m.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x01\x00\x03\x01\x02\x03");
        let e = decode_message(&m, &WireMeta::default()).expect("valid test input");
        assert_eq!(e.answers[0].data, "\\# 3 010203");
    }

    /// Found by fuzzing: an owner name whose escaped form is too long was kept as it was.
    #[test]
    fn answer_owner_too_long_when_escaped_is_not_kept() {
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        // 40 bytes of \x01: 160 characters once escaped, too long for a label.
        m.push(40);
        m.extend_from_slice(&[1; 40]);
        m.extend_from_slice(b"\x00\x00\x01\x00\x01\x00\x00\x00\x01\x00\x04\x01\x02\x03\x04");
        m.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x01\x00\x04\x05\x06\x07\x08");
        let decoded = decode_message_detailed(&m, &WireMeta::default()).expect("decodes");
        assert_eq!(decoded.section_error, None);
        let data: Vec<&str> = decoded
            .event
            .answers
            .iter()
            .map(|a| a.data.as_str())
            .collect();
        assert_eq!(data, ["5.6.7.8"]);
    }

    #[test]
    fn too_long() {
        let m = vec![0u8; MAX_MESSAGE_LEN + 1];
        check(&m, Err(WireError::TooLong(MAX_MESSAGE_LEN + 1)));
    }
}
