//! Windows DNS Server analytical events (ETW channel `Microsoft-Windows-DNSServer/Analytical`)
//! rendered as text: the event's time, its id and name, then its data as `KEY=value;` pairs.
//!
//! ```text
//! 8/13/2025 4:02:03 PM 256 QUERY_RECEIVED: TCP=0; InterfaceIP=192.168.51.11; Source=192.168.1.101; RD=1; QNAME=www.abayoumy.tech.; QTYPE=1; XID=30291; Port=57943; Flags=256; PacketData=0x7653010000010000000000000377777708616261796F756D7904746563680000010001
//! 8/13/2025 4:02:03 PM 257 RESPONSE_SUCCESS: TCP=0; InterfaceIP=192.168.51.11; Destination=192.168.1.101; AA=0; AD=0; QNAME=www.abayoumy.tech.; QTYPE=1; XID=30291; DNSSEC=0; RCODE=0; Port=57943; Flags=33152; ...
//! ```
//!
//! The events that record a DNS message become events:
//!
//! | id | name | event | client | server |
//! |---|---|---|---|---|
//! | 256 | `QUERY_RECEIVED` | query | `Source` | `InterfaceIP` |
//! | 257 | `RESPONSE_SUCCESS` | response | `Destination` | `InterfaceIP` |
//! | 258 | `RESPONSE_FAILURE` | response | `Destination` | `InterfaceIP` |
//! | 259 | `IGNORED_QUERY` | query (that the server dropped) | `Source` | `InterfaceIP` |
//! | 260 | `RECURSE_QUERY_OUT` | query sent upstream | | `Destination` |
//! | 261 | `RECURSE_RESPONSE_IN` | response from upstream | | `Source` |
//!
//! Other events (timeouts, dynamic updates, zone transfers, internal lookups) and other
//! lines decode to `Ok(None)`. The fields read are `TCP`, `XID`, `QNAME`, `QTYPE` (a number),
//! `Flags` (the header bits as a decimal number, wire order), `RCODE` (else the low bits of
//! `Flags`) and `PacketData`: the whole message in hex, decoded with [`crate::wire`] for its
//! answer records. Renderings often cut `PacketData` short (`0x7653...`); the answers are
//! then those decoded before the cut, possibly none, and the event still comes from the
//! `KEY=value` fields.
//!
//! The date and time are in the server's locale and read as the
//! [`windows_debug`] decoder reads them, with the same
//! [`DateOrder`](super::DateOrder) and UTC offset options. Each line is decoded alone.

use std::net::IpAddr;
use std::sync::Arc;

use super::util::{Fields, parse_ip, parse_u64, set_qname, trim_end, trim_start};
use super::{DecodeOptions, LineDecoder, ParseError, prepare, windows_debug};
use crate::wire::{self, WireMeta};
use crate::{Direction, DnsEvent, Transport};

/// Decoder for Windows DNS analytical events as text; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Reads dates in the server's locale.
    dates: windows_debug::Decoder,
    sensor: Option<Arc<str>>,
    /// Reused buffer for the decoded `PacketData`.
    packet: Vec<u8>,
}

/// What an event records, and which of its addresses is the client and which the server.
#[derive(Clone, Copy)]
pub(super) struct Kind {
    direction: Direction,
    client: Option<&'static [u8]>,
    server: &'static [u8],
}

/// The kind of the event with this id (the XML rendering has ids, not names).
pub(super) fn kind_of_id(id: u16) -> Option<Kind> {
    kind(match id {
        256 => b"QUERY_RECEIVED",
        257 => b"RESPONSE_SUCCESS",
        258 => b"RESPONSE_FAILURE",
        259 => b"IGNORED_QUERY",
        260 => b"RECURSE_QUERY_OUT",
        261 => b"RECURSE_RESPONSE_IN",
        _ => return None,
    })
}

fn kind(name: &[u8]) -> Option<Kind> {
    let (direction, client, server): (_, Option<&'static [u8]>, &'static [u8]) = match name {
        b"QUERY_RECEIVED" | b"IGNORED_QUERY" => (Direction::Query, Some(b"Source"), b"InterfaceIP"),
        b"RESPONSE_SUCCESS" | b"RESPONSE_FAILURE" => {
            (Direction::Response, Some(b"Destination"), b"InterfaceIP")
        }
        b"RECURSE_QUERY_OUT" => (Direction::Query, None, b"Destination"),
        b"RECURSE_RESPONSE_IN" => (Direction::Response, None, b"Source"),
        _ => return None,
    };
    Some(Kind {
        direction,
        client,
        server,
    })
}

impl Decoder {
    /// A decoder with the given date order, UTC offset and sensor name.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            dates: windows_debug::Decoder::new(options),
            sensor: options.sensor.clone(),
            packet: Vec::new(),
        }
    }

    /// Decodes `PacketData=0x...` into `self.packet`, as far as it goes.
    fn packet_data(&mut self, hex: &[u8]) {
        self.packet.clear();
        let hex = hex
            .strip_prefix(b"0x")
            .or_else(|| hex.strip_prefix(b"0X"))
            .unwrap_or(hex);
        for pair in hex.chunks_exact(2) {
            match (hex_digit(pair[0]), hex_digit(pair[1])) {
                (Some(hi), Some(lo)) => self.packet.push(hi << 4 | lo),
                // The rendering cut it short (`...`).
                _ => break,
            }
        }
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The `KEY=value` pairs after the event name, separated by `;`.
fn pairs(data: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    data.split(|&b| b == b';').filter_map(|pair| {
        let eq = memchr::memchr(b'=', pair)?;
        Some((
            trim_end(trim_start(&pair[..eq])),
            trim_end(trim_start(&pair[eq + 1..])),
        ))
    })
}

fn number(value: &[u8], field: &'static str, max: u64) -> Result<u64, ParseError> {
    parse_u64(value, 20)
        .filter(|&n| n <= max)
        .ok_or(ParseError::invalid(field, "a decimal number"))
}

fn address(value: &[u8], field: &'static str) -> Result<IpAddr, ParseError> {
    parse_ip(value).ok_or(ParseError::invalid(field, "an IP address"))
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        if !line.first().is_some_and(u8::is_ascii_digit) {
            return Ok(None);
        }
        // `DATE TIME [AM|PM] ID NAME: KEY=value; ...`
        let mut fields = Fields::new(line);
        let (Some(date), Some(time), Some(mut id)) = (fields.next(), fields.next(), fields.next())
        else {
            return Ok(None);
        };
        let meridiem = match id {
            b"AM" | b"am" => Some(false),
            b"PM" | b"pm" => Some(true),
            _ => None,
        };
        if meridiem.is_some() {
            let Some(next) = fields.next() else {
                return Ok(None);
            };
            id = next;
        }
        let Some(name) = fields.next().and_then(|n| n.strip_suffix(b":")) else {
            return Ok(None);
        };
        if !id.iter().all(u8::is_ascii_digit) {
            return Ok(None);
        }
        let Some(kind) = kind(name) else {
            return Ok(None);
        };
        let ts = self.dates.timestamp(date, time, meridiem)?;
        self.event(kind, ts, pairs(fields.rest())).map(Some)
    }
}

impl Decoder {
    /// The event an analytical event of `kind` at `ts` records, from its data fields (the
    /// `KEY=value` pairs of the text rendering, the `<Data Name="KEY">` elements of the XML).
    pub(super) fn event<'a>(
        &mut self,
        kind: Kind,
        ts: crate::TimestampMicros,
        fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<DnsEvent, ParseError> {
        let mut event = DnsEvent {
            ts,
            direction: kind.direction,
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        // A line that failed after its PacketData must not lend it to the next line.
        self.packet.clear();
        let (mut qname, mut qtype, mut flags, mut rcode) = (None, None, None, None);
        for (key, value) in fields {
            match key {
                b"TCP" => {
                    event.transport = match value {
                        b"1" => Transport::Tcp,
                        b"0" => Transport::Udp,
                        _ => return Err(ParseError::invalid("TCP", "0 or 1")),
                    }
                }
                b"XID" => event.id = Some(number(value, "XID", u64::from(u16::MAX))? as u16),
                b"QNAME" => qname = Some(value),
                b"QTYPE" => qtype = Some(number(value, "QTYPE", u64::from(u16::MAX))? as u16),
                b"Flags" => flags = Some(number(value, "Flags", u64::from(u16::MAX))? as u16),
                b"RCODE" => rcode = Some(number(value, "RCODE", 4095)? as u16),
                b"PacketData" => self.packet_data(value),
                _ if Some(key) == kind.client => event.client = Some(address(value, "Source")?),
                _ if key == kind.server => event.server = Some(address(value, "InterfaceIP")?),
                _ => {}
            }
        }
        event.qtype = qtype.ok_or(ParseError::missing("QTYPE", "QTYPE=NUMBER"))?;
        let flags = flags.unwrap_or(match kind.direction {
            Direction::Response => 0x8000,
            Direction::Query => 0,
        });
        event.flags = flags;
        if kind.direction == Direction::Response {
            event.rcode = Some(rcode.unwrap_or(flags & 0x000f));
        }
        let qname = qname.ok_or(ParseError::missing("QNAME", "QNAME=NAME"))?;
        set_qname(&mut event, qname)?;

        // Only a packet with answers (ANCOUNT, bytes 6 and 7) is worth decoding.
        if let [_, _, _, _, _, _, hi, lo, ..] = self.packet[..]
            && (hi, lo) != (0, 0)
            && let Ok(decoded) = wire::decode_message_detailed(&self.packet, &WireMeta::default())
        {
            event.answers = decoded.event.answers;
        }
        self.packet.clear();
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json_lines::to_json_line;

    fn decode(line: &str) -> Result<Option<DnsEvent>, ParseError> {
        Decoder::new(&DecodeOptions::default()).decode_line(line.as_bytes())
    }

    fn check(line: &str, expected: &str) {
        let event = match decode(line) {
            Ok(Some(event)) => event,
            other => panic!("{line:?} gave {other:?}"),
        };
        let mut out = String::new();
        to_json_line(&event, &mut out);
        assert_eq!(out, expected, "{line:?}");
    }

    fn refused(line: &str, field: &str) {
        match decode(line) {
            Err(e) => assert_eq!(e.field(), field, "{line:?}: {e}"),
            other => panic!("{line:?} gave {other:?}, expected an error about {field}"),
        }
    }

    #[test]
    fn events() {
        check(
            "8/13/2025 4:02:03 PM 256 QUERY_RECEIVED: TCP=0; InterfaceIP=192.168.51.11; Source=192.168.1.101; RD=1; QNAME=www.abayoumy.tech.; QTYPE=1; XID=30291; Port=57943; Flags=256; PacketData=0x7653010000010000000000000377777708616261796F756D7904746563680000010001; AdditionalInfo = VirtualizationInstanceOptionValue: .; G...",
            r#"{"ts":"2025-08-13T16:02:03Z","client":"192.168.1.101","server":"192.168.51.11","transport":"udp","direction":"query","id":30291,"qname":"www.abayoumy.tech","registered_domain":"abayoumy.tech","qtype":"A","flags":256}"#,
        );
        // The answers come from the packet.
        check(
            "8/13/2025 4:02:03 PM 257 RESPONSE_SUCCESS: TCP=1; InterfaceIP=10.0.0.1; Destination=10.0.0.2; QNAME=a.example.; QTYPE=1; XID=1; RCODE=0; Flags=33152; PacketData=0x0001818000010001000000000161076578616D706C650000010001C00C000100010000012C00045DB8D822",
            r#"{"ts":"2025-08-13T16:02:03Z","client":"10.0.0.2","server":"10.0.0.1","transport":"tcp","direction":"response","id":1,"qname":"a.example","registered_domain":"a.example","qtype":"A","rcode":"NOERROR","flags":33152,"answers":[{"name":"a.example","rtype":"A","ttl":300,"data":"93.184.216.34"}]}"#,
        );
        // Recursion: the remote is the server; a packet cut short adds nothing.
        check(
            "8/13/2025 4:02:03 PM 261 RECURSE_RESPONSE_IN: TCP=0; Source=8.8.8.8; InterfaceIP=0.0.0.0; AA=0; AD=0; QNAME=www.abayoumy.tech.; QTYPE=1; XID=45350; RemoteQueriesSent=1; Port=0; Flags=33155; RecursionScope=.; CacheScope=Default; PacketData=0xB126818000010005000000010377777708616261796F756D7904746563680000010001C0...",
            r#"{"ts":"2025-08-13T16:02:03Z","server":"8.8.8.8","transport":"udp","direction":"response","id":45350,"qname":"www.abayoumy.tech","registered_domain":"abayoumy.tech","qtype":"A","rcode":"NXDOMAIN","flags":33155}"#,
        );
        check(
            "13/08/2025 16:04:51 259 IGNORED_QUERY: TCP=0; InterfaceIP=192.168.51.11; Source=192.168.1.101; Reason=Policy; QNAME=www.abayoumy.tech.; QTYPE=28; XID=57657; Zone=NULL; PolicyName=BlackholePolicy",
            r#"{"ts":"2025-08-13T16:04:51Z","client":"192.168.1.101","server":"192.168.51.11","transport":"udp","direction":"query","id":57657,"qname":"www.abayoumy.tech","registered_domain":"abayoumy.tech","qtype":"AAAA","flags":0}"#,
        );
    }

    /// Found by review: a line refused after its `PacketData` was read left the packet in
    /// the decoder, and the next line without one took its answers.
    #[test]
    fn regression_packet_data_of_a_refused_line_is_not_reused() {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        let with_packet = "8/13/2025 4:02:03 PM 257 RESPONSE_SUCCESS: Destination=10.0.0.2; QNAME=a.example.; PacketData=0x0001818000010001000000000161076578616D706C650000010001C00C000100010000012C00045DB8D822; XID=oops";
        assert!(decoder.decode_line(with_packet.as_bytes()).is_err());
        let without = "8/13/2025 4:02:03 PM 257 RESPONSE_SUCCESS: Destination=10.0.0.2; QNAME=b.example.; QTYPE=1";
        let event = decoder.decode_line(without.as_bytes()).ok().flatten();
        assert_eq!(event.map(|e| e.answers.len()), Some(0));
    }

    #[test]
    fn other_lines_are_skipped() {
        for line in [
            "",
            "Header text",
            "8/13/2025 4:02:03 PM 262 RECURSE_QUERY_TIMEOUT: TCP=0; Destination=8.8.8.8; QNAME=x.; QTYPE=1",
            "8/13/2025 4:02:03 PM 0490 PACKET  000000216EFFC910 UDP Snd 212.77.192.37   80a8 R Q [1080       NOERROR] A      (3)ns1(3)ctc(3)gov(2)qa(0)",
            "8/13/2025 4:02:03 PM",
        ] {
            assert_eq!(decode(line), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn broken_lines_are_refused() {
        let good = "8/13/2025 4:02:03 PM 256 QUERY_RECEIVED: TCP=0; InterfaceIP=192.168.51.11; Source=192.168.1.101; QNAME=www.abayoumy.tech.; QTYPE=1; XID=30291; Flags=256";
        assert!(decode(good).is_ok_and(|e| e.is_some()));
        refused(&good.replace("8/13/2025", "8/33/2025"), "date");
        refused(&good.replace("TCP=0", "TCP=maybe"), "TCP");
        refused(&good.replace("XID=30291", "XID=99999"), "XID");
        refused(&good.replace("QTYPE=1", "QTYPE=A"), "QTYPE");
        refused(&good.replace("QTYPE=1;", ""), "QTYPE");
        refused(&good.replace("QNAME=www.abayoumy.tech.;", ""), "QNAME");
        refused(&good.replace("abayoumy", "a..b"), "qname");
        refused(&good.replace("Source=192.168.1.101", "Source=me"), "Source");
        refused(&good.replace("Flags=256", "Flags=-1"), "Flags");
    }
}
