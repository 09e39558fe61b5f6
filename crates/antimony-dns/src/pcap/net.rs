//! From a captured frame to DNS messages: link, IP (with etherparse), fragments, UDP, TCP.

use std::net::IpAddr;
use std::sync::Arc;

use etherparse::{Ipv6ExtensionSlice, LaxIpSlice};

use crate::stream::{CaptureOptions, Counters, Sink, SkipReason, StreamError, StreamErrorKind};
use crate::wire::{WireMeta, decode_message_detailed, looks_like_dns};
use crate::{DecodeOptions, Transport};

use super::defrag::{Added, Defrag, Incomplete, Key};
use super::link::{self, Payload};
use super::tcp::{self, FlowKey, Quiet, Segment, Tcp};

const UDP: u8 = 17;
const TCP: u8 = 6;
/// VXLAN's and Geneve's UDP ports: their payload is another frame, read for DNS too.
const VXLAN_PORT: u16 = 4789;
const GENEVE_PORT: u16 = 6081;
/// Tunnels followed inside one another at most.
const MAX_TUNNEL_DEPTH: usize = 2;

/// The packet layers' state: reassembly tables and counters.
pub(super) struct Net {
    pub counters: Counters,
    dns_ports: Vec<u16>,
    other_ports: bool,
    sensor: Option<Arc<str>>,
    defrag: Defrag,
    evicted: Vec<Incomplete>,
    tcp: Tcp,
    tcp_out: tcp::Output,
    /// Link types already reported as unsupported.
    warned_links: Vec<u32>,
}

/// Addresses and ports of a packet, for events and error messages.
#[derive(Debug, Clone, Copy)]
struct Endpoints {
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
}

impl Net {
    pub fn new(options: &DecodeOptions, capture: &CaptureOptions) -> Self {
        Net {
            counters: Counters::default(),
            dns_ports: capture.dns_ports.clone(),
            other_ports: capture.other_ports,
            sensor: options.sensor.clone(),
            defrag: Defrag::default(),
            evicted: Vec::new(),
            tcp: Tcp::default(),
            tcp_out: tcp::Output::default(),
            warned_links: Vec::new(),
        }
    }

    /// Decodes packet number `n`: its events and errors go to `out`, or it is counted as
    /// skipped under one reason.
    pub fn packet<S: Sink>(&mut self, n: u64, ts: i64, link: u32, frame: &[u8], out: &mut S) {
        self.counters.records += 1;
        let before = self.counters.messages + self.counters.errors;
        let skip = self.frame(n, ts, link, frame, 0, out);
        if self.counters.messages + self.counters.errors > before {
            self.counters.records_decoded += 1;
        } else {
            self.counters.skip(skip.unwrap_or(SkipReason::NotDns));
        }
    }

    /// Reports what reassembly still holds.
    pub fn finish<S: Sink>(&mut self, out: &mut S) {
        self.evicted.extend(self.defrag.drain());
        self.report_evicted(out);
        self.tcp_out.clear();
        self.tcp.finish(&mut self.tcp_out);
        self.flush_tcp_errors(out);
    }

    fn frame<S: Sink>(
        &mut self,
        n: u64,
        ts: i64,
        link: u32,
        frame: &[u8],
        depth: usize,
        out: &mut S,
    ) -> Option<SkipReason> {
        match link::strip(link, frame) {
            Payload::Ip(ip) => self.ip(n, ts, ip, depth, out),
            Payload::NotIp => Some(SkipReason::NotIp),
            Payload::Unsupported => {
                if !self.warned_links.contains(&link) {
                    self.warned_links.push(link);
                    self.error(
                        n,
                        StreamErrorKind::LinkType,
                        format!(
                            "link type {link} is not supported (Ethernet, VLAN, Linux cooked, \
                             PPP, raw IP and loopback are); its packets are skipped"
                        ),
                        out,
                    );
                }
                Some(SkipReason::LinkType)
            }
            Payload::Truncated => {
                self.error(
                    n,
                    StreamErrorKind::Packet,
                    format!(
                        "frame of {} bytes is too short for its link header",
                        frame.len()
                    ),
                    out,
                );
                None
            }
        }
    }

    fn ip<S: Sink>(
        &mut self,
        n: u64,
        ts: i64,
        packet: &[u8],
        depth: usize,
        out: &mut S,
    ) -> Option<SkipReason> {
        let (ip, ext_error) = match LaxIpSlice::from_slice(packet) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.error(
                    n,
                    StreamErrorKind::Packet,
                    format!("unreadable IP header: {e}"),
                    out,
                );
                return None;
            }
        };
        if let Some((e, _)) = ext_error {
            self.error(
                n,
                StreamErrorKind::Packet,
                format!("unreadable IPv6 extension header: {e}"),
                out,
            );
            return None;
        }
        let (src, dst) = (ip.source_addr(), ip.destination_addr());
        let payload = ip.payload();
        let protocol = payload.ip_number.0;
        if !matches!(protocol, UDP | TCP) {
            return Some(SkipReason::NotUdpTcp);
        }
        if payload.fragmented {
            let (id, offset, more) = match &ip {
                LaxIpSlice::Ipv4(v4) => {
                    let h = v4.header();
                    let offset = h.fragments_offset().byte_offset();
                    (u32::from(h.identification()), offset, h.more_fragments())
                }
                LaxIpSlice::Ipv6(v6) => {
                    let fragment = v6
                        .extensions()
                        .clone()
                        .into_iter()
                        .find_map(|ext| match ext {
                            Ipv6ExtensionSlice::Fragment(f) => Some(f),
                            _ => None,
                        });
                    match fragment {
                        Some(f) => (
                            f.identification(),
                            f.fragment_offset().byte_offset(),
                            f.more_fragments(),
                        ),
                        None => return Some(SkipReason::NotUdpTcp),
                    }
                }
            };
            let key = Key {
                src,
                dst,
                id,
                protocol,
            };
            let added = self.defrag.add(
                key,
                usize::from(offset),
                more,
                payload.payload,
                n,
                &mut self.evicted,
            );
            self.report_evicted(out);
            return match added {
                Added::Held => Some(SkipReason::FragmentHeld),
                Added::Refused(why) => {
                    self.counters.fragments_skipped += 1;
                    self.error(
                        n,
                        StreamErrorKind::Packet,
                        format!("IP fragment: {why}"),
                        out,
                    );
                    None
                }
                Added::Complete(datagram, _) => {
                    self.counters.fragments_reassembled += 1;
                    self.transport(n, ts, src, dst, protocol, &datagram, depth, out)
                }
            };
        }
        self.transport(n, ts, src, dst, protocol, payload.payload, depth, out)
    }

    #[allow(clippy::too_many_arguments)]
    fn transport<S: Sink>(
        &mut self,
        n: u64,
        ts: i64,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        data: &[u8],
        depth: usize,
        out: &mut S,
    ) -> Option<SkipReason> {
        if protocol == UDP {
            self.udp(n, ts, src, dst, data, depth, out)
        } else {
            self.tcp(n, ts, src, dst, data, out)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn udp<S: Sink>(
        &mut self,
        n: u64,
        ts: i64,
        src: IpAddr,
        dst: IpAddr,
        data: &[u8],
        depth: usize,
        out: &mut S,
    ) -> Option<SkipReason> {
        let Some(header) = data.get(..8) else {
            self.error(
                n,
                StreamErrorKind::Packet,
                "UDP header cut short".to_owned(),
                out,
            );
            return None;
        };
        let src_port = u16::from_be_bytes([header[0], header[1]]);
        let dst_port = u16::from_be_bytes([header[2], header[3]]);
        let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
        // The UDP length drops link-layer padding; a capture cut short keeps what it has.
        let payload = if length >= 8 && length <= data.len() {
            &data[8..length]
        } else {
            &data[8..]
        };
        let ends = Endpoints {
            src,
            dst,
            src_port,
            dst_port,
        };
        let known = self.is_dns_port(src_port) || self.is_dns_port(dst_port);
        if !known
            && depth < MAX_TUNNEL_DEPTH
            && let Some((inner_link, inner)) = tunnel(dst_port, payload)
        {
            return self.frame(n, ts, inner_link, inner, depth + 1, out);
        }
        if !known && !self.other_ports {
            return Some(SkipReason::NotDns);
        }
        self.message(n, ts, ends, Transport::Udp, payload, known, out)
    }

    fn tcp<S: Sink>(
        &mut self,
        n: u64,
        ts: i64,
        src: IpAddr,
        dst: IpAddr,
        data: &[u8],
        out: &mut S,
    ) -> Option<SkipReason> {
        let Some(header) = data.get(..20) else {
            self.error(
                n,
                StreamErrorKind::Packet,
                "TCP header cut short".to_owned(),
                out,
            );
            return None;
        };
        let src_port = u16::from_be_bytes([header[0], header[1]]);
        let dst_port = u16::from_be_bytes([header[2], header[3]]);
        let seq = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let offset = usize::from(header[12] >> 4) * 4;
        let flags = header[13];
        let Some(payload) = data.get(offset..).filter(|_| offset >= 20) else {
            self.error(
                n,
                StreamErrorKind::Packet,
                "TCP header length invalid".to_owned(),
                out,
            );
            return None;
        };
        let known = self.is_dns_port(src_port) || self.is_dns_port(dst_port);
        if !known && !self.other_ports {
            return Some(SkipReason::NotDns);
        }
        let key = FlowKey {
            src,
            dst,
            src_port,
            dst_port,
        };
        let segment = Segment {
            seq,
            fin: flags & 0x01 != 0,
            syn: flags & 0x02 != 0,
            rst: flags & 0x04 != 0,
            payload,
        };
        self.tcp_out.clear();
        let quiet = self.tcp.segment(key, segment, known, n, &mut self.tcp_out);
        self.counters.tcp_out_of_order += self.tcp_out.out_of_order;
        let ends = Endpoints {
            src,
            dst,
            src_port,
            dst_port,
        };
        let mut out_tcp = std::mem::take(&mut self.tcp_out);
        let mut not_dns = false;
        for range in &out_tcp.messages {
            let message = &out_tcp.data[range.clone()];
            if self
                .message(n, ts, ends, Transport::Tcp, message, known, out)
                .is_some()
            {
                not_dns = true;
                break;
            }
        }
        if not_dns {
            self.tcp.forget(&key);
        }
        std::mem::swap(&mut self.tcp_out, &mut out_tcp);
        self.flush_tcp_errors(out);
        match quiet {
            Some(Quiet::NoPayload) => Some(SkipReason::TcpNoPayload),
            Some(Quiet::Buffered) => Some(SkipReason::TcpBuffered),
            Some(Quiet::Duplicate) => Some(SkipReason::TcpDuplicate),
            Some(Quiet::NotDns) => Some(SkipReason::NotDns),
            None if not_dns => Some(SkipReason::NotDns),
            None => None,
        }
    }

    /// Decodes one DNS message; on a port not known for DNS, one that does not look like
    /// DNS is skipped rather than reported.
    #[allow(clippy::too_many_arguments)]
    fn message<S: Sink>(
        &mut self,
        n: u64,
        ts: i64,
        ends: Endpoints,
        transport: Transport,
        msg: &[u8],
        known: bool,
        out: &mut S,
    ) -> Option<SkipReason> {
        let meta = WireMeta {
            ts,
            src: Some(ends.src),
            dst: Some(ends.dst),
            src_port: ends.src_port,
            dst_port: ends.dst_port,
            transport,
        };
        match decode_message_detailed(msg, &meta) {
            Ok(decoded) if known || looks_like_dns(&decoded) => {
                let mut event = decoded.event;
                event.sensor.clone_from(&self.sensor);
                self.counters.messages += 1;
                if decoded.section_error.is_some() {
                    self.counters.messages_partial += 1;
                }
                out.put(n, Ok(event));
                None
            }
            Ok(_) => Some(SkipReason::NotDns),
            Err(e) if known => {
                let proto = if transport == Transport::Tcp {
                    "TCP"
                } else {
                    "UDP"
                };
                let reason = format!(
                    "DNS over {proto} {} > {}: {e}",
                    socket(ends.src, ends.src_port),
                    socket(ends.dst, ends.dst_port)
                );
                self.error(n, StreamErrorKind::Dns(e), reason, out);
                None
            }
            Err(_) => Some(SkipReason::NotDns),
        }
    }

    fn is_dns_port(&self, port: u16) -> bool {
        self.dns_ports.contains(&port)
    }

    fn error<S: Sink>(&mut self, n: u64, kind: StreamErrorKind, reason: String, out: &mut S) {
        self.counters.error(kind);
        out.put(
            n,
            Err(StreamError::new(format!("packet {n}"), kind, reason)),
        );
    }

    fn report_evicted<S: Sink>(&mut self, out: &mut S) {
        for d in std::mem::take(&mut self.evicted) {
            self.counters.fragments_skipped += d.fragments;
            let reason = format!(
                "{} IP fragments of datagram {} from {} to {} (packets {} to {}) never made \
                 a whole datagram",
                d.fragments, d.key.id, d.key.src, d.key.dst, d.first_packet, d.last_packet
            );
            self.error(
                d.last_packet,
                StreamErrorKind::FragmentIncomplete,
                reason,
                out,
            );
        }
    }

    fn flush_tcp_errors<S: Sink>(&mut self, out: &mut S) {
        for (packet, kind, reason) in std::mem::take(&mut self.tcp_out.errors) {
            self.error(packet, kind, reason, out);
        }
    }
}

/// `192.0.2.1:53` or `[2001:db8::1]:53`.
fn socket(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// The frame inside a VXLAN or Geneve packet, with its link type.
fn tunnel(dst_port: u16, payload: &[u8]) -> Option<(u32, &[u8])> {
    match dst_port {
        // VXLAN: flags with the I bit, reserved, VNI, reserved; then Ethernet.
        VXLAN_PORT if payload.first().is_some_and(|f| f & 0x08 != 0) => {
            Some((link::ETHERNET, payload.get(8..)?))
        }
        // Geneve: version and option length (in 4-byte words), flags, protocol type (an
        // EtherType: Ethernet bridging, IPv4 or IPv6), VNI; then options.
        GENEVE_PORT => {
            let header = payload.get(..8)?;
            if header[0] >> 6 != 0 {
                return None;
            }
            let inner = payload.get(8 + usize::from(header[0] & 0x3f) * 4..)?;
            match u16::from_be_bytes([header[2], header[3]]) {
                0x6558 => Some((link::ETHERNET, inner)),
                0x0800 | 0x86dd => Some((link::RAW, inner)),
                _ => None,
            }
        }
        _ => None,
    }
}
