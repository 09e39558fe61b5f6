//! DNS over TCP: per-flow reassembly of length-prefixed messages (RFC 1035 4.2.2).
//!
//! A flow is one direction of a connection. Its data is appended in sequence order; a
//! segment ahead of a gap waits in a small out-of-order list until the gap fills, and a
//! retransmission is trimmed to its new bytes. Complete messages are copied out as they
//! appear, so a flow's buffer holds at most one partial message plus the last segment.
//!
//! Bounds: at most [`MAX_FLOWS`] flows (the least recently used is evicted), at most
//! [`MAX_OUT_OF_ORDER`] segments and [`MAX_OUT_OF_ORDER_BYTES`] bytes waiting per flow,
//! and [`MAX_BUFFERED`] bytes over all flows. What a bound forces out is reported as an
//! error: a gap (the bytes around it are lost, the stream restarts at the next segment), or
//! a message cut short.
//!
//! A capture that starts in the middle of a connection is read from its first segment on,
//! as if a message started there (tshark does the same).

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Range;

use crate::stream::StreamErrorKind;

/// Flows followed at once.
pub(super) const MAX_FLOWS: usize = 1024;
/// Segments waiting for a gap to fill, per flow.
pub(super) const MAX_OUT_OF_ORDER: usize = 32;
/// Bytes waiting for a gap to fill, per flow.
pub(super) const MAX_OUT_OF_ORDER_BYTES: usize = 64 * 1024;
/// Bytes buffered over all flows.
pub(super) const MAX_BUFFERED: usize = 16 * 1024 * 1024;
/// Smallest DNS message: the header.
const MIN_MESSAGE: usize = 12;

/// One direction of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct FlowKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
}

/// The parts of a segment reassembly needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Segment<'a> {
    pub seq: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: &'a [u8],
}

/// What a segment did, when it yielded no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quiet {
    /// No data (handshake, acknowledgement, close).
    NoPayload,
    /// Data held for a message not yet complete, or ahead of a gap.
    Buffered,
    /// Data all seen before.
    Duplicate,
    /// The first data of a flow on a port not known for DNS does not start like DNS.
    NotDns,
}

/// Messages and errors a segment produced, in order, reusing its buffers across calls.
#[derive(Debug, Default)]
pub(super) struct Output {
    /// The bytes of the messages, one after another.
    pub data: Vec<u8>,
    /// Each message's range in `data`.
    pub messages: Vec<Range<usize>>,
    /// Errors: the packet they belong to, their kind and a sentence.
    pub errors: Vec<(u64, StreamErrorKind, String)>,
    /// Segments that arrived ahead of a gap.
    pub out_of_order: u64,
}

impl Output {
    pub fn clear(&mut self) {
        self.data.clear();
        self.messages.clear();
        self.errors.clear();
        self.out_of_order = 0;
    }
}

#[derive(Debug)]
struct Flow {
    /// Sequence number of the next byte expected.
    next_seq: u32,
    /// In-order bytes not yet cut into messages.
    buf: Vec<u8>,
    /// Segments ahead of a gap: sequence number and data.
    waiting: Vec<(u32, Vec<u8>)>,
    waiting_bytes: usize,
    last_packet: u64,
    last_used: u64,
}

impl Flow {
    fn buffered(&self) -> usize {
        self.buf.len() + self.waiting_bytes
    }
}

#[derive(Debug, Default)]
pub(super) struct Tcp {
    flows: HashMap<FlowKey, Flow>,
    clock: u64,
    buffered: usize,
}

impl Tcp {
    /// Handles one segment of the flow `key`. `known` says the flow is on a DNS port;
    /// otherwise a flow is followed only if its first data looks like a DNS message.
    pub fn segment(
        &mut self,
        key: FlowKey,
        seg: Segment<'_>,
        known: bool,
        packet: u64,
        out: &mut Output,
    ) -> Option<Quiet> {
        self.clock += 1;
        if seg.rst {
            if let Some(flow) = self.flows.remove(&key) {
                self.buffered -= flow.buffered();
                report_cut(&flow, packet, "the connection was reset", out);
            }
            return Some(Quiet::NoPayload);
        }
        if !self.flows.contains_key(&key) {
            if seg.payload.is_empty() && !(seg.syn && known) {
                return Some(Quiet::NoPayload);
            }
            if !known && !plausible_start(seg.payload) {
                return Some(Quiet::NotDns);
            }
            if self.flows.len() >= MAX_FLOWS {
                self.evict_oldest(out);
            }
            self.flows.insert(
                key,
                Flow {
                    next_seq: seg.seq,
                    buf: Vec::new(),
                    waiting: Vec::new(),
                    waiting_bytes: 0,
                    last_packet: packet,
                    last_used: self.clock,
                },
            );
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return Some(Quiet::NoPayload);
        };
        let before = flow.buffered();
        let quiet = flow_segment(flow, seg, packet, self.clock, out);
        let after = flow.buffered();
        self.buffered = self.buffered + after - before;
        if seg.fin
            && let Some(flow) = self.flows.remove(&key)
        {
            self.buffered -= flow.buffered();
            let why = if flow.waiting.is_empty() {
                "the connection was closed"
            } else {
                "the connection was closed with data missing"
            };
            report_cut(&flow, packet, why, out);
        }
        while self.buffered > MAX_BUFFERED {
            if !self.evict_oldest(out) {
                break;
            }
        }
        quiet
    }

    /// Forgets a flow (its messages turned out not to be DNS).
    pub fn forget(&mut self, key: &FlowKey) {
        if let Some(flow) = self.flows.remove(key) {
            self.buffered -= flow.buffered();
        }
    }

    /// Reports every flow that ends inside a message, in packet order, and forgets all.
    pub fn finish(&mut self, out: &mut Output) {
        let mut flows: Vec<Flow> = self.flows.drain().map(|(_, f)| f).collect();
        flows.sort_by_key(|f| f.last_packet);
        for flow in &flows {
            report_cut(flow, flow.last_packet, "the capture ended", out);
        }
        self.buffered = 0;
    }

    fn evict_oldest(&mut self, out: &mut Output) -> bool {
        let Some(key) = self
            .flows
            .iter()
            .min_by_key(|(_, f)| f.last_used)
            .map(|(k, _)| *k)
        else {
            return false;
        };
        if let Some(flow) = self.flows.remove(&key) {
            self.buffered -= flow.buffered();
            report_cut(
                &flow,
                flow.last_packet,
                "the flow was evicted to make room for newer ones",
                out,
            );
        }
        true
    }
}

/// Reports a flow that ends with part of a message buffered or data missing.
fn report_cut(flow: &Flow, packet: u64, why: &str, out: &mut Output) {
    if flow.buf.is_empty() && flow.waiting.is_empty() {
        return;
    }
    let expected = match flow.buf.get(..2) {
        Some(len) => format!("{} bytes", u16::from_be_bytes([len[0], len[1]])),
        None => "a length prefix".to_owned(),
    };
    out.errors.push((
        packet,
        StreamErrorKind::TcpIncomplete,
        format!(
            "{why} inside a DNS message over TCP ({} bytes of {expected} received, {} bytes \
             waiting after a gap)",
            flow.buf.len().saturating_sub(2),
            flow.waiting_bytes
        ),
    ));
}

/// Whether data starting a flow on a port not known for DNS starts like a DNS message:
/// a length prefix of at least a header, then one question and a standard opcode.
fn plausible_start(payload: &[u8]) -> bool {
    let Some(prefix) = payload.get(..2) else {
        return false;
    };
    if usize::from(u16::from_be_bytes([prefix[0], prefix[1]])) < MIN_MESSAGE {
        return false;
    }
    match payload.get(2..14) {
        Some(h) => {
            let opcode = (h[2] >> 3) & 0xf;
            h[4] == 0 && h[5] == 1 && matches!(opcode, 0 | 4 | 5)
        }
        None => true,
    }
}

fn flow_segment(
    flow: &mut Flow,
    seg: Segment<'_>,
    packet: u64,
    clock: u64,
    out: &mut Output,
) -> Option<Quiet> {
    flow.last_packet = packet;
    flow.last_used = clock;
    let mut seq = seg.seq;
    if seg.syn {
        if !flow.buf.is_empty() || !flow.waiting.is_empty() {
            report_cut(flow, packet, "a new connection started", out);
        }
        flow.buf.clear();
        flow.waiting.clear();
        flow.waiting_bytes = 0;
        seq = seq.wrapping_add(1);
        flow.next_seq = seq;
    }
    let mut payload = seg.payload;
    if payload.is_empty() {
        return Some(Quiet::NoPayload);
    }
    let ahead = seq.wrapping_sub(flow.next_seq) as i32;
    if ahead > 0 {
        out.out_of_order += 1;
        let fits = flow.waiting.len() < MAX_OUT_OF_ORDER
            && flow.waiting_bytes + payload.len() <= MAX_OUT_OF_ORDER_BYTES;
        if fits {
            flow.waiting.push((seq, payload.to_vec()));
            flow.waiting_bytes += payload.len();
            return Some(Quiet::Buffered);
        }
        out.errors.push((
            packet,
            StreamErrorKind::TcpGap,
            format!(
                "{ahead} bytes of a DNS-over-TCP stream are missing; {} bytes around the gap \
                 are dropped and the stream restarts here",
                flow.buffered()
            ),
        ));
        flow.buf.clear();
        flow.waiting.clear();
        flow.waiting_bytes = 0;
        flow.next_seq = seq;
    } else if ahead < 0 {
        let seen = ahead.unsigned_abs() as usize;
        if seen >= payload.len() {
            return Some(Quiet::Duplicate);
        }
        payload = &payload[seen..];
    }
    flow.buf.extend_from_slice(payload);
    flow.next_seq = flow.next_seq.wrapping_add(payload.len() as u32);
    // Segments that waited for this one.
    while let Some(i) = flow
        .waiting
        .iter()
        .position(|(s, _)| s.wrapping_sub(flow.next_seq) as i32 <= 0)
    {
        let (s, data) = flow.waiting.swap_remove(i);
        flow.waiting_bytes -= data.len();
        let seen = flow.next_seq.wrapping_sub(s) as usize;
        if let Some(new) = data.get(seen..) {
            flow.buf.extend_from_slice(new);
            flow.next_seq = flow.next_seq.wrapping_add(new.len() as u32);
        }
    }
    let produced = cut_messages(flow, packet, out);
    if flow.buf.capacity() > 256 * 1024 && flow.buf.len() < 64 * 1024 {
        flow.buf.shrink_to(64 * 1024);
    }
    if produced {
        None
    } else {
        Some(Quiet::Buffered)
    }
}

/// Copies the complete messages at the start of the flow's buffer to `out`; returns
/// whether any was found or an error reported.
fn cut_messages(flow: &mut Flow, packet: u64, out: &mut Output) -> bool {
    let mut pos = 0;
    let mut produced = false;
    while let Some(prefix) = flow.buf.get(pos..pos + 2) {
        let len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
        if len < MIN_MESSAGE {
            out.errors.push((
                packet,
                StreamErrorKind::TcpFraming,
                format!(
                    "TCP length prefix {len} is shorter than a DNS header; {} buffered bytes \
                     are dropped",
                    flow.buf.len() - pos
                ),
            ));
            pos = flow.buf.len();
            produced = true;
            break;
        }
        let Some(message) = flow.buf.get(pos + 2..pos + 2 + len) else {
            break;
        };
        let start = out.data.len();
        out.data.extend_from_slice(message);
        out.messages.push(start..out.data.len());
        pos += 2 + len;
        produced = true;
    }
    flow.buf.drain(..pos);
    produced
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FlowKey {
        FlowKey {
            src: "192.0.2.1".parse().expect("valid test input"),
            dst: "192.0.2.2".parse().expect("valid test input"),
            src_port: 40000,
            dst_port: 53,
        }
    }

    fn seg(seq: u32, payload: &[u8]) -> Segment<'_> {
        Segment {
            seq,
            syn: false,
            fin: false,
            rst: false,
            payload,
        }
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = (body.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    fn messages(out: &Output) -> Vec<&[u8]> {
        out.messages.iter().map(|r| &out.data[r.clone()]).collect()
    }

    #[test]
    fn split_and_joined_messages() {
        let a = framed(b"message-one-12");
        let b = framed(b"message-two-1234");
        let stream = [a.clone(), b.clone()].concat();
        let mut tcp = Tcp::default();
        let mut out = Output::default();
        let syn = Segment {
            syn: true,
            ..seg(999, b"")
        };
        assert_eq!(
            tcp.segment(key(), syn, true, 1, &mut out),
            Some(Quiet::NoPayload)
        );
        assert_eq!(
            tcp.segment(key(), seg(1000, &stream[..5]), true, 2, &mut out),
            Some(Quiet::Buffered)
        );
        assert_eq!(
            tcp.segment(key(), seg(1005, &stream[5..20]), true, 3, &mut out),
            None
        );
        assert_eq!(messages(&out), [&b"message-one-12"[..]]);
        out.clear();
        // A retransmission of old bytes with some new ones, then the rest out of order.
        let end = stream.len() as u32;
        assert_eq!(
            tcp.segment(
                key(),
                seg(1000 + end - 3, &stream[end as usize - 3..]),
                true,
                4,
                &mut out
            ),
            Some(Quiet::Buffered)
        );
        assert_eq!(out.out_of_order, 1);
        assert_eq!(
            tcp.segment(key(), seg(1003, &stream[3..31]), true, 5, &mut out),
            None
        );
        assert_eq!(messages(&out), [&b"message-two-1234"[..]]);
        assert_eq!(
            tcp.segment(key(), seg(1003, &stream[3..25]), true, 6, &mut out),
            Some(Quiet::Duplicate)
        );
        out.clear();
        tcp.finish(&mut out);
        assert!(out.errors.is_empty());
    }

    #[test]
    fn cut_short_and_framing() {
        let mut tcp = Tcp::default();
        let mut out = Output::default();
        tcp.segment(key(), seg(1, b"\x00\x20abc"), true, 7, &mut out);
        tcp.finish(&mut out);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].0, 7);
        assert_eq!(out.errors[0].1, StreamErrorKind::TcpIncomplete);
        out.clear();
        assert_eq!(
            tcp.segment(key(), seg(1, b"\x00\x02ab"), true, 8, &mut out),
            None
        );
        assert_eq!(out.errors[0].1, StreamErrorKind::TcpFraming);
    }

    #[test]
    fn other_ports_need_a_dns_start() {
        let mut tcp = Tcp::default();
        let mut out = Output::default();
        assert_eq!(
            tcp.segment(key(), seg(1, b"GET / HTTP/1.1\r\n"), false, 1, &mut out),
            Some(Quiet::NotDns)
        );
        let query =
            framed(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01");
        assert_eq!(tcp.segment(key(), seg(1, &query), false, 2, &mut out), None);
    }

    #[test]
    fn bounded() {
        let mut tcp = Tcp::default();
        let mut out = Output::default();
        for i in 0..(MAX_FLOWS as u16 + 5) {
            let k = FlowKey {
                src_port: i,
                ..key()
            };
            tcp.segment(k, seg(1, b"\x00\x20abc"), true, u64::from(i), &mut out);
        }
        assert_eq!(tcp.flows.len(), MAX_FLOWS);
        assert_eq!(out.errors.len(), 5);
        out.clear();
        // Too much out-of-order data: a gap is reported and the stream restarts.
        let k = FlowKey {
            src_port: 1,
            ..key()
        };
        for i in 0..=MAX_OUT_OF_ORDER as u32 + 1 {
            tcp.segment(k, seg(1000 + 100 * i, &[0; 10]), true, 9, &mut out);
        }
        assert!(out.errors.iter().any(|e| e.1 == StreamErrorKind::TcpGap));
    }
}
