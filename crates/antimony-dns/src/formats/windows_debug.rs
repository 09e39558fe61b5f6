//! Windows DNS Server debug log (`%SystemRoot%\System32\dns\dns.log`).
//!
//! A packet line, with the fields the log's own legend numbers:
//!
//! ```text
//! 8/12/2017 9:35:32 AM 0490 PACKET  000000216EFFC910 UDP Snd 212.77.192.37   80a8 R Q [1080       NOERROR] A      (3)ns1(3)ctc(3)gov(2)qa(0)
//! date      time       thread context packet-id      proto dir remote-ip    xid  R opcode [flags chars rcode] qtype qname
//! ```
//!
//! - **Date** is written in the server's locale: `M/D/YYYY` with `AM`/`PM`, `D/M/YYYY` 24-hour
//!   (`22/12/2021 21:46:04`), `YYYY/M/D` (`2019/12/5 13:03:50`); `-` and `.` separators are
//!   read too. [`DateOrder::Auto`] decides each line by this rule, first match wins:
//!   1. a 4-digit first field is a year: YMD;
//!   2. a first field above 12 can only be a day: DMY;
//!   3. a second field above 12 can only be a day: MDY;
//!   4. otherwise a 12-hour clock (`AM`/`PM`) means MDY, the United States locale that writes
//!      it, and a 24-hour clock means DMY.
//!
//!   Each line is decided alone, so the result does not depend on how a file is split among
//!   workers; set `date_order` when a log's locale is known.
//!
//!   Times carry no zone: they are local to the server, and
//!   [`DecodeOptions::utc_offset_minutes`] turns them into UTC.
//! - **Flags** are the 16 header bits printed byte-swapped (the log prints the little-endian
//!   word): `8081` is wire `0x8180`, `0001` is `0x0100` (RD).
//! - **Remote IP** is the peer: for a query received or a response sent it is the client; for
//!   a query sent or a response received it is an upstream server the DNS server asked, so
//!   the event has `server` set and no `client`.
//! - **Question name** is length-prefixed (`(3)ns1(3)ctc(0)`) or dotted
//!   (`.ns1.offeringsmislead.com.`), depending on the Windows version.
//! - **Response code** is set on responses only.
//!
//! Header lines, the field legend, blank lines, non-`PACKET` lines (`EVENT`, `Note`...) and
//! the indented continuation lines of "details" mode decode to `Ok(None)`. A line that starts
//! with a digit must start with a date and time.
//!
//! [`DateOrder::Auto`]: super::DateOrder::Auto

use std::sync::Arc;

use super::util::{Fields, checked_ts, parse_clock, parse_dec, parse_hex_u16, parse_ip, utf8};
use super::{DateOrder, DecodeOptions, LineDecoder, ParseError, prepare};
use crate::codes::{rcode_code, rtype_code};
use crate::time::CivilDateTime;
use crate::{Direction, DnsEvent, Transport};

const DATE: &str = "a date such as 8/12/2017, 22/12/2021 or 2019/12/5";
const TIME: &str = "a time such as 9:35:32 or 21:46:04";

/// Decoder for the Windows DNS Server debug log; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    date_order: DateOrder,
    offset_micros: i64,
    sensor: Option<Arc<str>>,
    /// Reused buffer for the decoded question name.
    name: Vec<u8>,
}

impl Decoder {
    /// A decoder with the given date order, UTC offset and sensor name.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            date_order: options.date_order,
            offset_micros: options.offset_micros(),
            sensor: options.sensor.clone(),
            name: Vec::with_capacity(256),
        }
    }

    /// Reads the date, time and optional AM/PM fields into UTC microseconds. Shared with
    /// the [`windows_etw`](super::windows_etw) decoder: both are written in the server's
    /// locale.
    pub(crate) fn timestamp(
        &self,
        date: &[u8],
        time: &[u8],
        meridiem: Option<bool>,
    ) -> Result<i64, ParseError> {
        let invalid_date = || ParseError::invalid("date", DATE);
        let mut parts = date.split(|&c| matches!(c, b'/' | b'-' | b'.'));
        let (Some(p1), Some(p2), Some(p3), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid_date());
        };
        let a = parse_dec(p1, 4).ok_or_else(invalid_date)?;
        let b = parse_dec(p2, 2).ok_or_else(invalid_date)?;
        let c = parse_dec(p3, 4).ok_or_else(invalid_date)?;
        let order = self.order(p1.len() == 4, a, b, meridiem.is_some());
        let (year, month, day) = match order {
            DateOrder::Ymd => (a, b, c),
            DateOrder::Mdy | DateOrder::Auto => (c, a, b),
            DateOrder::Dmy => (c, b, a),
        };
        // Two-digit years (short date formats) are this century.
        let year = if year < 100 { year + 2000 } else { year };

        let (mut hour, minute, second, micros) =
            parse_clock(time).ok_or(ParseError::invalid("time", TIME))?;
        if let Some(pm) = meridiem {
            if !(1..=12).contains(&hour) {
                return Err(ParseError::invalid(
                    "time",
                    "an hour from 1 to 12 before AM or PM",
                ));
            }
            hour = hour % 12 + if pm { 12 } else { 0 };
        }
        let civil = CivilDateTime {
            year: year as i32,
            month,
            day,
            hour,
            minute,
            second,
            micros,
        };
        let local = civil.to_micros().map_err(|_| match order {
            DateOrder::Auto => invalid_date(),
            _ => ParseError::invalid("date", "a date in the configured date_order"),
        })?;
        checked_ts(local - self.offset_micros, "date")
    }

    /// The date order for one line (see the module documentation for the auto rule).
    ///
    /// The rule looks at the line alone, never at earlier lines: with several workers each
    /// decoder sees a different share of a file, and a remembered order would make the
    /// result depend on which worker read what.
    fn order(&self, four_digit_first: bool, a: u32, b: u32, twelve_hour: bool) -> DateOrder {
        if self.date_order != DateOrder::Auto {
            return self.date_order;
        }
        if four_digit_first {
            DateOrder::Ymd
        } else if a > 12 {
            DateOrder::Dmy
        } else if b > 12 || twelve_hour {
            // A second field above 12 can only be a day; an ambiguous 12-hour date is the
            // United States locale.
            DateOrder::Mdy
        } else {
            DateOrder::Dmy
        }
    }

    /// Decodes a length-prefixed name (`(3)ns1(3)ctc(0)`) as dotted text, for the details
    /// lines of [`windows_debug_details`](super::windows_debug_details).
    pub(crate) fn dotted(&mut self, name: &[u8]) -> Result<&str, ParseError> {
        self.length_prefixed(name)?;
        utf8(&self.name, "qname")
    }

    /// Decodes a length-prefixed name (`(3)ns1(3)ctc(0)`) into `self.name` as dotted text.
    fn length_prefixed(&mut self, mut b: &[u8]) -> Result<(), ParseError> {
        const EXPECTED: &str = "a name such as (3)www(7)example(3)com(0)";
        self.name.clear();
        // Every name ends with the root label `(0)`: a line cut short loses it.
        while let [b'(', tail @ ..] = b {
            let close = memchr::memchr(b')', tail).ok_or(ParseError::invalid("qname", EXPECTED))?;
            let len = parse_dec(&tail[..close], 3).ok_or(ParseError::invalid("qname", EXPECTED))?;
            let len = len as usize;
            let after = &tail[close + 1..];
            if len == 0 {
                return if after.is_empty() {
                    Ok(())
                } else {
                    Err(ParseError::invalid("qname", EXPECTED))
                };
            }
            let label = after
                .get(..len)
                .ok_or(ParseError::missing("qname", EXPECTED))?;
            if !self.name.is_empty() {
                self.name.push(b'.');
            }
            self.name.extend_from_slice(label);
            b = &after[len..];
        }
        Err(ParseError::missing("qname", EXPECTED))
    }
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        // Headers and legend are text or indented; every log event starts with its date.
        if !line.first().is_some_and(u8::is_ascii_digit) {
            return Ok(None);
        }
        let mut fields = Fields::new(line);
        let date = fields.require("date", DATE)?;
        let time = fields.require("time", TIME)?;
        let mut thread = fields.require("thread id", "a hexadecimal thread id")?;
        let meridiem = if thread.eq_ignore_ascii_case(b"AM") {
            Some(false)
        } else if thread.eq_ignore_ascii_case(b"PM") {
            Some(true)
        } else {
            None
        };
        if meridiem.is_some() {
            thread = fields.require("thread id", "a hexadecimal thread id")?;
        }
        let _ = thread;
        let ts = self.timestamp(date, time, meridiem)?;
        if fields.next() != Some(b"PACKET".as_slice()) {
            return Ok(None);
        }

        let _packet_id = fields.require("packet id", "a hexadecimal packet identifier")?;
        let transport = match fields.require("protocol", "UDP or TCP")? {
            b"UDP" => Transport::Udp,
            b"TCP" => Transport::Tcp,
            _ => return Err(ParseError::invalid("protocol", "UDP or TCP")),
        };
        let sent = match fields.require("send/receive", "Snd or Rcv")? {
            b"Snd" => true,
            b"Rcv" => false,
            _ => return Err(ParseError::invalid("send/receive", "Snd or Rcv")),
        };
        let remote = fields.require("remote IP", "an IPv4 or IPv6 address")?;
        let remote = parse_ip(remote).ok_or(ParseError::invalid("remote IP", "an IP address"))?;
        let xid = fields.require("xid", "4 hex digits")?;
        let id = parse_hex_u16(xid).ok_or(ParseError::invalid("xid", "4 hex digits"))?;
        let mut opcode = fields.require("opcode", "Q, N, U or ?")?;
        let direction = if opcode == b"R" {
            opcode = fields.require("opcode", "Q, N, U or ?")?;
            Direction::Response
        } else {
            Direction::Query
        };
        if !matches!(opcode, b"Q" | b"N" | b"U" | b"?") {
            return Err(ParseError::invalid("opcode", "Q, N, U or ?"));
        }

        // `[8081   DR  NOERROR]`: hex flags, flag letters (ignored: the hex says it all), rcode.
        const BRACKET: &str = "[flags letters rcode], such as [8081   DR  NOERROR]";
        let rest = fields.rest();
        let inner = rest
            .strip_prefix(b"[")
            .ok_or(ParseError::invalid("flags", BRACKET))?;
        let close = memchr::memchr(b']', inner).ok_or(ParseError::missing("flags", BRACKET))?;
        let mut bracket = Fields::new(&inner[..close]);
        let hex = bracket
            .next()
            .ok_or(ParseError::missing("flags", BRACKET))?;
        let flags = parse_hex_u16(hex)
            .ok_or(ParseError::invalid("flags", "4 hex digits"))?
            .swap_bytes();
        let rcode_name = bracket.last().unwrap_or(hex);

        let mut fields = Fields::new(&inner[close + 1..]);
        let qtype = fields.require("qtype", "a record type such as A or AAAA")?;
        let qtype = utf8(qtype, "qtype")?;
        let qtype = rtype_code(qtype)
            .or_else(|| qtype.parse().ok())
            .ok_or(ParseError::invalid(
                "qtype",
                "a record type such as A, AAAA or TYPE65",
            ))?;
        let qname = fields.rest();
        if qname.is_empty() {
            return Err(ParseError::missing("qname", "a question name"));
        }

        let mut event = DnsEvent {
            ts,
            transport,
            direction,
            id: Some(id),
            qtype,
            flags,
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        // Received queries and sent responses are exchanges with a client; sent queries and
        // received responses are the server's own recursion to an upstream server.
        if sent == (direction == Direction::Response) {
            event.client = Some(remote);
        } else {
            event.server = Some(remote);
        }
        if direction == Direction::Response {
            let named = utf8(rcode_name, "rcode").ok().and_then(rcode_code);
            event.rcode = Some(named.unwrap_or(flags & 0x000f));
        }

        let name = if qname[0] == b'(' {
            self.length_prefixed(qname)?;
            utf8(&self.name, "qname")?
        } else {
            let dotted = qname.strip_prefix(b".").unwrap_or(qname);
            // A lone "." is the root; keep it so that normalisation turns it into "".
            let dotted = if dotted.is_empty() { qname } else { dotted };
            utf8(dotted, "qname")?
        };
        event
            .set_qname(name)
            .map_err(|e| ParseError::name("qname", e))?;
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::time::parse_rfc3339;

    /// What a line must decode to; fields left `None` are not checked.
    #[derive(Default)]
    struct Expected<'a> {
        ts: Option<&'a str>,
        client: Option<&'a str>,
        server: Option<&'a str>,
        direction: Option<Direction>,
        id: Option<u16>,
        qname: Option<&'a str>,
        qtype: Option<u16>,
        rcode: Option<Option<u16>>,
        flags: Option<u16>,
        transport: Option<Transport>,
    }

    fn ip(text: Option<&str>) -> Option<IpAddr> {
        text.and_then(|t| t.parse().ok())
    }

    fn check_with(options: &DecodeOptions, line: &str, want: Expected<'_>) {
        let mut decoder = Decoder::new(options);
        let event = match decoder.decode_line(line.as_bytes()) {
            Ok(Some(event)) => event,
            other => panic!("{line:?} gave {other:?}"),
        };
        if let Some(ts) = want.ts {
            assert_eq!(Ok(event.ts), parse_rfc3339(ts), "ts of {line:?}");
        }
        if want.client.is_some() || want.server.is_some() {
            assert_eq!(event.client, ip(want.client), "client of {line:?}");
            assert_eq!(event.server, ip(want.server), "server of {line:?}");
        }
        if let Some(direction) = want.direction {
            assert_eq!(event.direction, direction, "direction of {line:?}");
        }
        if let Some(id) = want.id {
            assert_eq!(event.id, Some(id), "id of {line:?}");
        }
        if let Some(qname) = want.qname {
            assert_eq!(event.qname, qname, "qname of {line:?}");
        }
        if let Some(qtype) = want.qtype {
            assert_eq!(event.qtype, qtype, "qtype of {line:?}");
        }
        if let Some(rcode) = want.rcode {
            assert_eq!(event.rcode, rcode, "rcode of {line:?}");
        }
        if let Some(flags) = want.flags {
            assert_eq!(
                event.flags, flags,
                "flags of {line:?}: {:#06x}",
                event.flags
            );
        }
        if let Some(transport) = want.transport {
            assert_eq!(event.transport, transport, "transport of {line:?}");
        }
    }

    fn check(line: &str, want: Expected<'_>) {
        check_with(&DecodeOptions::default(), line, want);
    }

    fn skipped(line: &str) {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        assert_eq!(decoder.decode_line(line.as_bytes()), Ok(None), "{line:?}");
    }

    fn refused(line: &str, field: &str) {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        match decoder.decode_line(line.as_bytes()) {
            Err(e) => assert_eq!(e.field(), field, "{line:?}: {e}"),
            other => panic!("{line:?} gave {other:?}, expected an error about {field}"),
        }
    }

    #[test]
    fn the_talks_line() {
        check(
            "8/12/2017 9:35:32 AM 0490 PACKET  000000216EFFC910 UDP Snd 212.77.192.37   80a8 R Q [1080       NOERROR] A      (3)ns1(3)ctc(3)gov(2)qa(0)",
            Expected {
                ts: Some("2017-08-12T09:35:32Z"),
                client: Some("212.77.192.37"),
                direction: Some(Direction::Response),
                id: Some(0x80a8),
                qname: Some("ns1.ctc.gov.qa"),
                qtype: Some(1),
                rcode: Some(Some(0)),
                flags: Some(0x8010),
                transport: Some(Transport::Udp),
                ..Expected::default()
            },
        );
    }

    #[test]
    fn directions_and_peers() {
        // Query received from a client.
        check(
            "6/5/2013 10:00:32 AM 0E70 PACKET  00000000033397A0 UDP Rcv 10.161.60.71    5b47   Q [0001   D   NOERROR] A      (12)somecomputer(6)domain(3)com(0)",
            Expected {
                client: Some("10.161.60.71"),
                direction: Some(Direction::Query),
                rcode: Some(None),
                flags: Some(0x0100),
                qname: Some("somecomputer.domain.com"),
                ..Expected::default()
            },
        );
        // Query sent upstream: the remote is a server.
        check(
            "22/12/2021 21:46:04 0E1C PACKET  0000017DEDE1F920 UDP Snd 8.8.4.4         624d   Q [0001   D   NOERROR] A      (5)login(4)live(3)com(0)",
            Expected {
                ts: Some("2021-12-22T21:46:04Z"),
                server: Some("8.8.4.4"),
                direction: Some(Direction::Query),
                ..Expected::default()
            },
        );
        // Response received from upstream.
        check(
            "22/12/2021 21:46:04 0E1C PACKET  0000017DECC585B0 UDP Rcv 8.8.4.4         624d R Q [8081   DR  NOERROR] A      (5)login(4)live(3)com(0)",
            Expected {
                server: Some("8.8.4.4"),
                direction: Some(Direction::Response),
                flags: Some(0x8180),
                rcode: Some(Some(0)),
                ..Expected::default()
            },
        );
        // NXDOMAIN over TCP, IPv6 peer, authoritative.
        check(
            "3/1/2020 1:02:03 PM 0B2C PACKET  0000020F2D2A8D30 TCP Snd 2001:db8::7      1a2b R Q [8385 A DR NXDOMAIN] AAAA   (4)nope(7)example(3)com(0)",
            Expected {
                ts: Some("2020-03-01T13:02:03Z"),
                client: Some("2001:db8::7"),
                transport: Some(Transport::Tcp),
                rcode: Some(Some(3)),
                flags: Some(0x8583),
                qtype: Some(28),
                ..Expected::default()
            },
        );
    }

    #[test]
    fn name_forms() {
        check(
            "4/15/2014 3:16:00 PM 0710 PACKET  0000000028FB94C0 UDP  Rcv 69.160.33.71    8857 R Q [0080       NOERROR] A      .ns1.offeringsmislead.com.",
            Expected {
                ts: Some("2014-04-15T15:16:00Z"),
                qname: Some("ns1.offeringsmislead.com"),
                server: Some("69.160.33.71"),
                ..Expected::default()
            },
        );
        check(
            "4/15/2014 3:16:00 PM 0710 PACKET  0000000028FB94C0 UDP Rcv 10.0.0.1 8857   Q [0001   D   NOERROR] NS     (0)",
            Expected {
                qname: Some(""),
                qtype: Some(2),
                ..Expected::default()
            },
        );
        check(
            "4/15/2014 3:16:00 PM 0710 PACKET  0000000028FB94C0 UDP Rcv 10.0.0.1 8857   Q [0001   D   NOERROR] 65     (3)WWW(7)Example(3)COM(0)\r",
            Expected {
                qname: Some("www.example.com"),
                qtype: Some(65),
                ..Expected::default()
            },
        );
        refused(
            "4/15/2014 3:16:00 PM 0710 PACKET  0000000028FB94C0 UDP Rcv 10.0.0.1 8857   Q [0001   D   NOERROR] A      (9)short(0)",
            "qname",
        );
        refused(
            "4/15/2014 3:16:00 PM 0710 PACKET  0000000028FB94C0 UDP Rcv 10.0.0.1 8857   Q [0001   D   NOERROR] A      (3)www(3)exa",
            "qname",
        );
        refused(
            "4/15/2014 3:16:00 PM 0710 PACKET  0000000028FB94C0 UDP Rcv 10.0.0.1 8857   Q [0001   D   NOERROR] A",
            "qname",
        );
    }

    /// The timestamp bound the fuzzers found missing in the Zeek and JSON decoders: with
    /// an offset west of UTC, 31 December 9999 moves into year 10000.
    #[test]
    fn regression_timestamp_after_year_9999() {
        let west = DecodeOptions {
            utc_offset_minutes: -300,
            ..DecodeOptions::default()
        };
        let line = "12/31/9999 11:00:00 PM 0490 PACKET  000000216EFFC910 UDP Snd 212.77.192.37   80a8 R Q [1080       NOERROR] A      (3)ns1(3)ctc(3)gov(2)qa(0)";
        let mut decoder = Decoder::new(&west);
        let error = decoder.decode_line(line.as_bytes()).err();
        assert_eq!(error.map(|e| e.field()), Some("date"));
    }

    #[test]
    fn date_orders() {
        let at = |line_date: &str, clock: &str| {
            format!(
                "{line_date} {clock} 0E1C PACKET  0000017DEDFE28D0 UDP Rcv 10.20.0.6       966f   Q [0001   D   NOERROR] A      (5)login(4)live(3)com(0)"
            )
        };
        let ts = |line: &str, expected: &str| {
            check(
                line,
                Expected {
                    ts: Some(expected),
                    ..Expected::default()
                },
            );
        };
        ts(&at("2019/12/5", "13:03:50"), "2019-12-05T13:03:50Z");
        ts(&at("2019-12-05", "13:03:50"), "2019-12-05T13:03:50Z");
        ts(&at("22/12/2021", "21:46:04"), "2021-12-22T21:46:04Z");
        ts(&at("22.12.2021", "21:46:04"), "2021-12-22T21:46:04Z");
        ts(&at("12/22/2021", "21:46:04"), "2021-12-22T21:46:04Z");
        ts(&at("5/6/2021", "21:46:04"), "2021-06-05T21:46:04Z");
        ts(&at("5/6/2021", "9:46:04 PM"), "2021-05-06T21:46:04Z");
        ts(&at("5/6/2021", "12:00:01 AM"), "2021-05-06T00:00:01Z");
        ts(&at("5/6/2021", "12:00:01 PM"), "2021-05-06T12:00:01Z");
        ts(&at("5/6/21", "12:00:01 PM"), "2021-05-06T12:00:01Z");

        // Configured orders win over the heuristics.
        let mdy = DecodeOptions {
            date_order: DateOrder::Mdy,
            ..DecodeOptions::default()
        };
        let line = at("5/6/2021", "21:46:04");
        check_with(
            &mdy,
            &line,
            Expected {
                ts: Some("2021-05-06T21:46:04Z"),
                ..Expected::default()
            },
        );
        let dmy = DecodeOptions {
            date_order: DateOrder::Dmy,
            ..DecodeOptions::default()
        };
        let line = at("5/6/2021", "9:46:04 PM");
        check_with(
            &dmy,
            &line,
            Expected {
                ts: Some("2021-06-05T21:46:04Z"),
                ..Expected::default()
            },
        );

        // Auto mode decides each line alone: an earlier unambiguous date proves nothing about
        // the next line, which is read by its clock (24-hour: DMY).
        let mut decoder = Decoder::new(&DecodeOptions::default());
        let first = at("12/22/2021", "21:46:04");
        let second = at("12/5/2021", "21:46:04");
        assert!(
            decoder
                .decode_line(first.as_bytes())
                .is_ok_and(|e| e.is_some())
        );
        let event = decoder.decode_line(second.as_bytes());
        assert_eq!(
            event.map(|e| e.map(|e| e.ts)),
            Ok(parse_rfc3339("2021-05-12T21:46:04Z").ok())
        );

        // UTC offset: the log is written at UTC+2.
        let plus2 = DecodeOptions {
            utc_offset_minutes: 120,
            ..DecodeOptions::default()
        };
        let line = at("2019/12/5", "13:03:50");
        check_with(
            &plus2,
            &line,
            Expected {
                ts: Some("2019-12-05T11:03:50Z"),
                ..Expected::default()
            },
        );

        refused(&at("13/13/2021", "21:46:04"), "date");
        refused(&at("2/30/2021", "1:46:04 PM"), "date");
        refused(&at("2/3/2021", "13:46:04 PM"), "time");
        refused(&at("2/3/2021", "1:46"), "time");
        refused(&at("2/3", "1:46:04"), "date");
    }

    #[test]
    fn headers_and_other_lines_are_skipped() {
        skipped("");
        skipped("   ");
        skipped("DNS Server log file creation at 8/12/2017 9:35:31 AM");
        skipped("Log file wrap at 8/12/2017 9:35:31 AM");
        skipped("Message logging key (for packets - other items use a subset of these fields):");
        skipped("\tField #  Information         Values");
        skipped("\t   1     Date");
        skipped("UDP response info at 0000000003AF57F0");
        skipped("  Socket = 336");
        skipped("    Name      \"(3)140(1)2(2)28(2)10(7)in-addr(4)arpa(0)\"");
        skipped("8/12/2017 9:35:31 AM 0490 EVENT   The DNS server has started.");
        skipped("8/12/2017 9:35:31 AM 0490 Note: got GQCS failure on a dead socket context");
    }

    #[test]
    fn broken_packet_lines_are_refused() {
        let good = "8/12/2017 9:35:32 AM 0490 PACKET  000000216EFFC910 UDP Snd 212.77.192.37   80a8 R Q [1080       NOERROR] A      (3)ns1(3)ctc(3)gov(2)qa(0)";
        refused(&good.replace("UDP", "SCTP"), "protocol");
        refused(&good.replace("Snd", "Xmt"), "send/receive");
        refused(&good.replace("212.77.192.37", "212.77.192"), "remote IP");
        refused(&good.replace("80a8", "80a8z"), "xid");
        refused(&good.replace("R Q", "R X"), "opcode");
        refused(&good.replace("[1080", "[10g0"), "flags");
        refused(&good.replace("NOERROR]", "NOERROR"), "flags");
        refused(&good.replace("] A ", "] BOGUS "), "qtype");
        refused(
            "8/12/2017 9:35:32 AM 0490 PACKET  000000216EFFC910 UDP Snd 212.77.192.37",
            "xid",
        );
        refused("8/12/2017", "time");
        refused("26-Nov-2026 06:46:47.907 queries: info: client", "date");
        // Unknown rcode names fall back to the low bits of the flags.
        check(
            &good.replace("[1080       NOERROR]", "[8381   DR  WEIRD]"),
            Expected {
                rcode: Some(Some(3)),
                ..Expected::default()
            },
        );
    }
}
