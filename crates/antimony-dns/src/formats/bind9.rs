//! BIND 9 query log (`logging { category queries { ... }; }`).
//!
//! ```text
//! 26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 127.0.0.1#41281 (google.com): query: google.com IN A +E(0)K (127.0.0.1)
//! ```
//!
//! BIND versions and logging settings vary the line; this decoder reads:
//!
//! - a timestamp `DD-Mon-YYYY HH:MM:SS[.mmm]` (`print-time yes`), a classic syslog prefix
//!   `Nov 26 06:46:47 host named[123]:` (which has no year: see [`DecodeOptions::year`]), or
//!   an RFC 3339 syslog prefix `2026-11-26T06:46:47.907+01:00 host named[123]:`, each with an
//!   optional `<PRI>`;
//! - with or without the category and severity (`queries: info:`);
//! - with or without the client object pointer (`@0x7f1703b12098`, BIND 9.11 and later);
//! - with or without the question name in parentheses (`(google.com)`, 9.10 and later), a
//!   `view NAME:` part, a TSIG key after the port (`#41281/key name`);
//! - flags: `+` recursion desired (RD) or `-` not, `S` signed, `E(n)` EDNS version n (`E`
//!   alone before 9.11), `T` TCP, `D` DNSSEC OK, `C` checking disabled (CD), `K` a client
//!   cookie, `V` a valid server cookie; letters it does not know are ignored;
//! - the server address that received the query in trailing parentheses (9.10 and later),
//!   and anything after it (such as `[ECS 192.0.2.0/24/0]`) ignored.
//!
//! The event is a query over UDP, or TCP when the flags say `T`, with `flags` holding RD and
//! CD. Timestamps without a zone are local time, moved to UTC by
//! [`DecodeOptions::utc_offset_minutes`]. Lines without ` query: ` (other categories, `query
//! (cache) ... denied`, query errors) decode to `Ok(None)`, except lines labelled with the
//! `queries` category, which hold nothing but queries: without one, such a line was cut
//! short, and is an error.

use std::sync::Arc;

use memchr::memmem;

use super::stamp::Clock;
use super::util::{Fields, parse_ip, set_qname, utf8};
use super::{DecodeOptions, LineDecoder, ParseError, prepare};
use crate::codes::rtype_code;
use crate::{Direction, DnsEvent, Transport};

const FLAGS: &str = "query flags such as +E(0)K or -";

/// Header flag bit: recursion desired.
const RD: u16 = 0x0100;
/// Header flag bit: checking disabled.
const CD: u16 = 0x0010;

/// Decoder for the BIND 9 query log; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    clock: Clock,
    sensor: Option<Arc<str>>,
    query: memmem::Finder<'static>,
    /// Finds the `queries` category label (`print-category yes`).
    category: memmem::Finder<'static>,
}

impl Decoder {
    /// A decoder with the given UTC offset, syslog year and sensor name.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            clock: Clock::new(options),
            sensor: options.sensor.clone(),
            query: memmem::Finder::new(b" query: "),
            category: memmem::Finder::new(b" queries: "),
        }
    }

    /// Reads the client from `head` (the line before ` query: `) and the question from
    /// `tail` (after it). Shared with the Infoblox decoder, whose syslog carries these lines.
    pub(crate) fn query(&self, ts: i64, head: &[u8], tail: &[u8]) -> Result<DnsEvent, ParseError> {
        // `client [@0x...] ADDR#PORT[/key NAME] [(qname)]: [view NAME:]`
        let mut fields = Fields::new(head);
        let mut address = None;
        while let Some(field) = fields.next() {
            if field != b"client" {
                continue;
            }
            let mut next = fields.clone();
            let mut candidate = next.next();
            if candidate.is_some_and(|c| c.starts_with(b"@")) {
                candidate = next.next();
            }
            if let Some(c) = candidate
                && let Some(hash) = memchr::memchr(b'#', c)
            {
                address = Some(&c[..hash]);
                break;
            }
        }
        let address = address.ok_or(ParseError::missing("client", "client ADDRESS#PORT"))?;
        let client =
            parse_ip(address).ok_or(ParseError::invalid("client", "an IP address before #port"))?;

        // `NAME CLASS TYPE FLAGS [(SERVER)] [...]`
        let mut fields = Fields::new(tail);
        let qname = fields.require("qname", "a question name")?;
        let _class = fields.require("class", "a class such as IN")?;
        let qtype = fields.require("qtype", "a record type such as A")?;
        let qtype = rtype_code(utf8(qtype, "qtype")?).ok_or(ParseError::invalid(
            "qtype",
            "a record type such as A, AAAA or TYPE65",
        ))?;
        let flag_text = fields.require("flags", FLAGS)?;
        let (flags, transport) = parse_flags(flag_text)?;
        let server = match fields.next() {
            Some(field) => {
                let inner = field
                    .strip_prefix(b"(")
                    .and_then(|f| f.strip_suffix(b")"))
                    .ok_or(ParseError::invalid("server", "(ADDRESS) after the flags"))?;
                Some(parse_ip(inner).ok_or(ParseError::invalid("server", "an IP address"))?)
            }
            None => None,
        };

        let mut event = DnsEvent {
            ts,
            client: Some(client),
            server,
            transport,
            direction: Direction::Query,
            qtype,
            flags,
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        set_qname(&mut event, qname)?;
        Ok(event)
    }
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        let Some(at) = self.query.find(line) else {
            // The `queries` category logs nothing but queries: such a line without one was
            // cut short or mangled. Other categories are not ours to read.
            if self.category.find(line).is_some() {
                return Err(ParseError::missing(
                    "query",
                    "a queries line with ` query: NAME CLASS TYPE FLAGS`; the line is cut short",
                ));
            }
            return Ok(None);
        };
        let (head, tail) = (&line[..at], &line[at + b" query: ".len()..]);
        let (ts, _) = self.clock.leading(head)?;
        self.query(ts, head, tail).map(Some)
    }
}

/// Header flags (RD, CD) and transport from BIND's flag string (`+E(0)TK`).
fn parse_flags(text: &[u8]) -> Result<(u16, Transport), ParseError> {
    let (mut flags, rest) = match text {
        [b'+', rest @ ..] => (RD, rest),
        [b'-', rest @ ..] => (0, rest),
        _ => return Err(ParseError::invalid("flags", FLAGS)),
    };
    let mut transport = Transport::Udp;
    let mut i = 0;
    while let Some(&c) = rest.get(i) {
        i += 1;
        match c {
            b'T' => transport = Transport::Tcp,
            b'C' => flags |= CD,
            // `E(0)`: skip the version; a missing `)` means the field is corrupt.
            b'(' => {
                let close =
                    memchr::memchr(b')', &rest[i..]).ok_or(ParseError::invalid("flags", FLAGS))?;
                i += close + 1;
            }
            // S, E, D, K, V and letters of future versions carry nothing DnsEvent stores.
            _ => {}
        }
    }
    Ok((flags, transport))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::time::parse_rfc3339;

    /// What a line must decode to.
    struct Expected<'a> {
        ts: &'a str,
        client: &'a str,
        server: Option<&'a str>,
        qname: &'a str,
        qtype: u16,
        flags: u16,
        transport: Transport,
    }

    fn check_with(options: &DecodeOptions, line: &str, want: Expected<'_>) {
        let mut decoder = Decoder::new(options);
        let event = match decoder.decode_line(line.as_bytes()) {
            Ok(Some(event)) => event,
            other => panic!("{line:?} gave {other:?}"),
        };
        assert_eq!(Ok(event.ts), parse_rfc3339(want.ts), "ts of {line:?}");
        assert_eq!(
            event.client,
            want.client.parse::<IpAddr>().ok(),
            "client of {line:?}"
        );
        assert_eq!(
            event.server,
            want.server.and_then(|s| s.parse().ok()),
            "server of {line:?}"
        );
        assert_eq!(event.qname, want.qname, "qname of {line:?}");
        assert_eq!(event.qtype, want.qtype, "qtype of {line:?}");
        assert_eq!(event.flags, want.flags, "flags of {line:?}");
        assert_eq!(event.transport, want.transport, "transport of {line:?}");
        assert_eq!(event.direction, Direction::Query);
        assert_eq!((event.id, event.rcode), (None, None));
    }

    fn check(line: &str, want: Expected<'_>) {
        let options = DecodeOptions {
            year: Some(2026),
            ..DecodeOptions::default()
        };
        check_with(&options, line, want);
    }

    fn refused(line: &str, field: &str) {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        match decoder.decode_line(line.as_bytes()) {
            Err(e) => assert_eq!(e.field(), field, "{line:?}: {e}"),
            other => panic!("{line:?} gave {other:?}, expected an error about {field}"),
        }
    }

    fn google(ts: &'static str) -> Expected<'static> {
        Expected {
            ts,
            client: "127.0.0.1",
            server: Some("127.0.0.1"),
            qname: "google.com",
            qtype: 1,
            flags: RD,
            transport: Transport::Udp,
        }
    }

    #[test]
    fn line_forms() {
        let ts = "2026-11-26T06:46:47.907Z";
        check(
            "26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 127.0.0.1#41281 (google.com): query: google.com IN A +E(0)K (127.0.0.1)",
            google(ts),
        );
        // No pointer, no category.
        check(
            "26-Nov-2026 06:46:47.907 client 127.0.0.1#41281 (google.com): query: google.com IN A +E(0)K (127.0.0.1)",
            google(ts),
        );
        // A view.
        check(
            "26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 127.0.0.1#41281 (google.com): view internal: query: google.com IN A +E(0)K (127.0.0.1)",
            google(ts),
        );
        // BIND 9.9: no question in parentheses, `E` without a version.
        check(
            "26-Nov-2026 06:46:47.907 client 127.0.0.1#41281: query: google.com IN A +E (127.0.0.1)",
            google(ts),
        );
        // BIND 9.8 and older: no server address.
        check(
            "26-Nov-2026 06:46:47.907 client 127.0.0.1#41281: query: google.com IN A +",
            Expected {
                server: None,
                ..google(ts)
            },
        );
        // Syslog, classic and RFC 3339, with priority.
        check(
            "Nov 26 06:46:47 ns1 named[1234]: client @0x7f1703b12098 127.0.0.1#41281 (google.com): query: google.com IN A +E(0)K (127.0.0.1)",
            google("2026-11-26T06:46:47Z"),
        );
        check(
            "<30>Nov  6 06:46:47 ns1 named[1234]: client 127.0.0.1#41281 (google.com): query: google.com IN A + (127.0.0.1)",
            google("2026-11-06T06:46:47Z"),
        );
        check(
            "<30>1 2026-11-26T07:46:47.907+01:00 ns1 named 1234 - - client 127.0.0.1#41281 (google.com): query: google.com IN A + (127.0.0.1)",
            google(ts),
        );
        check(
            "2026-11-26T06:46:47.907 ns1 named[1234]: client 127.0.0.1#41281 (google.com): query: google.com IN A + (127.0.0.1)",
            google(ts),
        );
        // TSIG-signed over TCP from IPv6, with DO and CD, ECS appended.
        check(
            "26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 2001:db8::1#5353/key tsig-key (Example.COM): query: Example.COM IN AAAA -SE(0)TDCV (2001:db8::53) [ECS 192.0.2.0/24/0]",
            Expected {
                ts,
                client: "2001:db8::1",
                server: Some("2001:db8::53"),
                qname: "example.com",
                qtype: 28,
                flags: CD,
                transport: Transport::Tcp,
            },
        );
        // Root and generic types.
        check(
            "26-Nov-2026 06:46:47.907 queries: info: client @0x1 10.0.0.9#53 (.): query: . IN TYPE65534 -E(0)D (10.0.0.1)",
            Expected {
                ts,
                client: "10.0.0.9",
                server: Some("10.0.0.1"),
                qname: "",
                qtype: 65_534,
                flags: 0,
                transport: Transport::Udp,
            },
        );
        // The configured offset moves local times, not RFC 3339 times with a zone.
        let plus1 = DecodeOptions {
            utc_offset_minutes: 60,
            ..DecodeOptions::default()
        };
        check_with(
            &plus1,
            "26-Nov-2026 07:46:47.907 queries: info: client @0x7f1703b12098 127.0.0.1#41281 (google.com): query: google.com IN A +E(0)K (127.0.0.1)",
            google(ts),
        );
    }

    #[test]
    fn other_lines_are_skipped() {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        for line in [
            "",
            "26-Nov-2026 06:46:47.907 general: info: zone example.com/IN: loaded serial 1",
            "26-Nov-2026 06:46:47.907 security: info: client @0x7f1 10.0.0.1#53 (x.com): query (cache) 'x.com/A/IN' denied",
            "26-Nov-2026 06:46:47.907 query-errors: info: client @0x7f1 10.0.0.1#53 (x.com): query failed (SERVFAIL) for x.com/IN/A at query.c:7375",
        ] {
            assert_eq!(decoder.decode_line(line.as_bytes()), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn broken_lines_are_refused() {
        let good = "26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 127.0.0.1#41281 (google.com): query: google.com IN A +E(0)K (127.0.0.1)";
        refused(&good.replace("Nov", "Nox"), "timestamp");
        // A queries-category line cut short before its query (a truncated file).
        refused(&good[..good.find(" (google.com)").unwrap_or(0)], "query");
        refused(
            "26-Nov-2026 99:99:99.000 queries: info: client garbage",
            "query",
        );
        refused(&good.replace("06:46:47.907", "06:46"), "timestamp");
        refused(&good.replace("26-Nov", "32-Nov"), "timestamp");
        refused(&good.replace("127.0.0.1#", "127.0.0#"), "client");
        refused(&good.replace("127.0.0.1#41281", "127.0.0.1"), "client");
        refused(&good.replace(" A +", " BOGUS +"), "qtype");
        refused(&good.replace("+E(0)K", "E(0)K"), "flags");
        refused(&good.replace("+E(0)K", "+E(0K"), "flags");
        refused(&good.replace("(127.0.0.1)", "127.0.0.1"), "server");
        refused(&good.replace("IN A +E(0)K (127.0.0.1)", "IN"), "qtype");
        refused(
            &good.replace("query: google.com", "query: goo..gle.com"),
            "qname",
        );
        refused("client 10.0.0.1#53: query: google.com IN A +", "timestamp");
        // Syslog dates need a year.
        refused(
            "Nov 26 06:46:47 ns1 named[1234]: client 127.0.0.1#41281 (google.com): query: google.com IN A + (127.0.0.1)",
            "timestamp",
        );
    }
}
