//! Unbound's query and reply log (`log-queries: yes`, `log-replies: yes`).
//!
//! ```text
//! Nov 26 06:46:47 unbound[27664:0] info: 127.0.0.1 google.com. A IN
//! Nov 26 06:46:47 unbound[27664:0] info: 127.0.0.1 google.com. A IN NOERROR 0.000000 1 55
//! [1764139607] unbound[27664:0] query: 127.0.0.1 google.com. A IN
//! [1764139607] unbound[27664:0] reply: 127.0.0.1 google.com. A IN NOERROR 0.000000 1 55
//! <30>Aug 15 16:19:02 unbound[26931]: [26931:0] info: 192.168.1.1 api.opensubtitles.org. A IN
//! ```
//!
//! - A **query** line is `CLIENT NAME TYPE CLASS`; a **reply** line adds the response code,
//!   the time taken, whether it came from the cache and the reply size. With
//!   `log-tag-queryreply: yes` the severity `info:` is replaced by `query:` or `reply:`.
//!   A reply to a malformed query has no question: `CLIENT - - - FORMERR - - -` decodes to a
//!   response with the empty (root) name and type 0.
//! - The **timestamp** is whatever precedes `unbound[...]`: the log file's own
//!   `[epoch seconds]` or `log-time-ascii` date, or a syslog header (pfSense writes
//!   `unbound[PID]: [PID:THREAD] info: ...`), RFC 3339 or BIND-style.
//! - The transport is not logged (unknown), nor the server address. Response flags are QR
//!   and the response code.
//!
//! Other `info:` lines (start-up, statistics, `log-local-actions`...) do not start with a
//! client address and decode to `Ok(None)`; so do `notice:`, `error:` and other severities.
//! A line tagged `query:` or `reply:` is always a record: damage to it is an error.

use std::sync::Arc;

use super::stamp::Clock;
use super::util::{Fields, parse_ip, response_flags, set_qname, utf8};
use super::{DecodeOptions, LineDecoder, ParseError, prepare};
use crate::codes::{rcode_code, rtype_code};
use crate::{Direction, DnsEvent, Transport};

/// Decoder for Unbound's query and reply log; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    clock: Clock,
    sensor: Option<Arc<str>>,
}

/// Which tag introduced the message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    Info,
    Query,
    Reply,
}

impl Decoder {
    /// A decoder with the given UTC offset, syslog year and sensor name.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            clock: Clock::new(options),
            sensor: options.sensor.clone(),
        }
    }
}

/// Finds `] info: `, `] query: ` or `] reply: ` (the `]` closes `unbound[PID:THREAD]` or
/// `[PID:THREAD]`); returns the tag, where the `]` is and where the message starts.
fn find_tag(line: &[u8]) -> Option<(Tag, usize, usize)> {
    for at in memchr::memchr_iter(b']', line) {
        let after = &line[at + 1..];
        let (tag, len) = if after.starts_with(b" info: ") {
            (Tag::Info, 7)
        } else if after.starts_with(b" query: ") {
            (Tag::Query, 8)
        } else if after.starts_with(b" reply: ") {
            (Tag::Reply, 8)
        } else {
            continue;
        };
        return Some((tag, at, at + 1 + len));
    }
    None
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        let Some((tag, bracket, start)) = find_tag(line) else {
            return Ok(None);
        };
        let mut fields = Fields::new(&line[start..]);
        let client = match fields.next().map(parse_ip) {
            Some(Some(ip)) => ip,
            // An `info:` message that is not about a query.
            _ if tag == Tag::Info => return Ok(None),
            Some(None) => return Err(ParseError::invalid("client", "an IP address")),
            None => return Err(ParseError::missing("client", "an IP address")),
        };
        let (ts, _) = self.clock.leading(&line[..bracket])?;

        let qname = fields.require("qname", "a question name")?;
        let qtype = fields.require("qtype", "a record type such as A")?;
        let _class = fields.require("class", "a class such as IN")?;
        let rcode = match fields.next() {
            None if tag == Tag::Reply => {
                return Err(ParseError::missing("rcode", "a response code"));
            }
            None => None,
            Some(_) if tag == Tag::Query => {
                return Err(ParseError::invalid(
                    "class",
                    "nothing after the class on a query line",
                ));
            }
            Some(text) => Some(rcode_code(utf8(text, "rcode")?).ok_or(ParseError::invalid(
                "rcode",
                "a response code such as NXDOMAIN",
            ))?),
        };

        let mut event = DnsEvent {
            ts,
            client: Some(client),
            direction: if rcode.is_some() {
                Direction::Response
            } else {
                Direction::Query
            },
            rcode,
            flags: rcode.map_or(0, response_flags),
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        if let Some(rcode) = rcode {
            // Time taken, cached or not, size; later versions may add more (a transport).
            for field in fields {
                match field {
                    b"udp" | b"UDP" => event.transport = Transport::Udp,
                    b"tcp" | b"TCP" => event.transport = Transport::Tcp,
                    _ => {}
                }
            }
            // A FORMERR reply has no question to log.
            if qname == b"-" && qtype == b"-" && rcode == 1 {
                return Ok(Some(event));
            }
        }
        event.qtype = rtype_code(utf8(qtype, "qtype")?).ok_or(ParseError::invalid(
            "qtype",
            "a record type such as A, AAAA or TYPE65",
        ))?;
        set_qname(&mut event, qname)?;
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::time::parse_rfc3339;

    fn decode(line: &str) -> Result<Option<DnsEvent>, ParseError> {
        let options = DecodeOptions {
            year: Some(2026),
            ..DecodeOptions::default()
        };
        Decoder::new(&options).decode_line(line.as_bytes())
    }

    /// Decodes `line` and checks (ts, client, qname, qtype, rcode, header flags).
    ///
    /// The flags are worked out by hand from RFC 1035 section 4.1.1: the header's 16 bits
    /// are QR (0x8000), opcode, AA, TC, RD, RA, Z, AD, CD, then RCODE in the low four bits.
    /// A query line gives none of them (0); a reply line gives QR and its response code, so
    /// NOERROR is 0x8000, FORMERR 0x8001, SERVFAIL 0x8002 and NXDOMAIN 0x8003.
    fn check(
        line: &str,
        ts: &str,
        client: &str,
        qname: &str,
        qtype: u16,
        rcode: Option<u16>,
        flags: u16,
    ) {
        let event = match decode(line) {
            Ok(Some(event)) => event,
            other => panic!("{line:?} gave {other:?}"),
        };
        assert_eq!(Ok(event.ts), parse_rfc3339(ts), "ts of {line:?}");
        assert_eq!(event.client, client.parse::<IpAddr>().ok(), "{line:?}");
        assert_eq!(event.qname, qname, "{line:?}");
        assert_eq!(event.qtype, qtype, "{line:?}");
        assert_eq!(event.rcode, rcode, "{line:?}");
        assert_eq!(event.is_response(), rcode.is_some(), "{line:?}");
        assert_eq!(event.flags, flags, "flags of {line:?}");
    }

    fn refused(line: &str, field: &str) {
        match decode(line) {
            Err(e) => assert_eq!(e.field(), field, "{line:?}: {e}"),
            other => panic!("{line:?} gave {other:?}, expected an error about {field}"),
        }
    }

    #[test]
    fn queries_and_replies() {
        let ts = "2026-11-26T06:46:47Z";
        check(
            "Nov 26 06:46:47 unbound[27664:0] info: 127.0.0.1 google.com. A IN",
            ts,
            "127.0.0.1",
            "google.com",
            1,
            None,
            0,
        );
        check(
            "Nov 26 06:46:47 unbound[27664:0] info: 127.0.0.1 afadsfasdfsafwerwqerqqiye.cn. A IN NXDOMAIN 0.000000 1 57",
            ts,
            "127.0.0.1",
            "afadsfasdfsafwerwqerqqiye.cn",
            1,
            Some(3),
            0x8003,
        );
        // log-tag-queryreply, epoch timestamps, IPv6, generic types.
        check(
            "[1764139607] unbound[27664:0] query: ::1 Example.ORG. TYPE65534 CH",
            "2025-11-26T06:46:47Z",
            "::1",
            "example.org",
            65_534,
            None,
            0,
        );
        check(
            "[1764139607] unbound[27664:0] reply: ::1 example.org. AAAA IN SERVFAIL 0.120000 0 42",
            "2025-11-26T06:46:47Z",
            "::1",
            "example.org",
            28,
            Some(2),
            0x8002,
        );
        // pfSense through syslog, with and without a host name.
        check(
            "<30>Aug 15 16:19:02 unbound[26931]: [26931:0] info: 192.168.1.1 api.opensubtitles.org. A IN",
            "2026-08-15T16:19:02Z",
            "192.168.1.1",
            "api.opensubtitles.org",
            1,
            None,
            0,
        );
        check(
            "<30>Aug 15 16:19:02 fw unbound[26931]: [26931:2] reply: 172.16.33.2 . NS IN NOERROR 0.000000 1 228",
            "2026-08-15T16:19:02Z",
            "172.16.33.2",
            "",
            2,
            Some(0),
            0x8000,
        );
        // A reply to a malformed query has no question.
        check(
            "Nov 26 06:46:47 unbound[1:0] reply: 10.0.0.1 - - - FORMERR - - - ",
            ts,
            "10.0.0.1",
            "",
            0,
            Some(1),
            0x8001,
        );
    }

    #[test]
    fn other_lines_are_skipped() {
        for line in [
            "",
            "Nov 26 06:46:44 unbound[27664:0] notice: init module 0: subnetcache",
            "Nov 26 06:46:44 unbound[27664:0] info: start of service (unbound 1.17.1).",
            "Nov 26 06:46:54 unbound[27664:0] info: server stats for thread 0: 821 queries, 821 answers from cache, 0 recursions, 0 prefetch, 0 rejected by ip ratelimiting",
            "Nov 26 06:46:54 unbound[27664:0] info: example.com. always_nxdomain 127.0.0.1@5353 example.com. A IN",
            "Nov 26 06:46:54 unbound[27664:0] error: SERVFAIL <example.com. A IN>: all servers failed",
        ] {
            assert_eq!(decode(line), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn broken_lines_are_refused() {
        let good = "Nov 26 06:46:47 unbound[27664:0] reply: 127.0.0.1 google.com. A IN NOERROR 0.000000 1 55";
        assert!(decode(good).is_ok_and(|e| e.is_some()));
        refused(&good.replace("127.0.0.1", "127.0.0"), "client");
        refused(&good.replace("Nov 26", "Nox 26"), "timestamp");
        refused(&good.replace(" A IN", " BOGUS IN"), "qtype");
        refused(&good.replace("NOERROR", "NOPE"), "rcode");
        refused(&good.replace("google.com.", "goo..gle.com."), "qname");
        refused(&good[..good.find(" NOERROR").unwrap_or(0)], "rcode");
        refused(&good[..good.find(" A IN").unwrap_or(0)], "qtype");
        refused(
            "Nov 26 06:46:47 unbound[1:0] query: 127.0.0.1 a.com. A IN NOERROR",
            "class",
        );
        refused("Nov 26 06:46:47 unbound[1:0] query: me", "client");
        // An info line with a client address is a query: its damage is an error too.
        refused(
            "Nov 26 06:46:47 unbound[1:0] info: 127.0.0.1 a.com. A",
            "class",
        );
        // Syslog dates need a year.
        let mut decoder = Decoder::new(&DecodeOptions::default());
        assert!(decoder.decode_line(good.as_bytes()).is_err());
    }
}
