//! PowerDNS Authoritative Server's query log (`log-dns-queries=yes`).
//!
//! ```text
//! Nov 26 06:46:48 Remote 127.0.0.1 wants 'google.com|A', do = 0, bufsize = 1232: packetcache MISS
//! Nov 26 06:46:51 TCP Remote 127.0.0.1 wants 'www.corp.qa|A', do = 0, bufsize = 1232: packetcache MISS
//! Nov 26 06:46:48 ns1 pdns_server[812]: Remote 192.0.2.7<-198.51.100.0/24 wants 'example.com|AAAA', do = 1, bufsize = 1232 (4096): packetcache HIT
//! ```
//!
//! Each line is a **query** from the client `Remote` (over TCP when the line says `TCP
//! Remote`, else UDP) for `NAME|TYPE`. The remote may carry the EDNS client subnet after
//! `<-` (ignored) or a port. Everything after the question (DNSSEC OK, buffer size, the
//! packet cache outcome) is ignored. The timestamp is that of `log-timestamp=yes` or of the
//! syslog header (classic `Nov 26 06:46:47`, RFC 3339, BIND's `26-Nov-2026 06:46:47.907`,
//! with or without `<PRI>`); classic syslog dates need
//! [`DecodeOptions::year`].
//!
//! Lines without ` wants '` (start-up messages, backend notices) decode to `Ok(None)`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use memchr::memmem;

use super::stamp::Clock;
use super::util::{parse_ip, set_qname, trim_end, utf8};
use super::{DecodeOptions, LineDecoder, ParseError, prepare};
use crate::codes::rtype_code;
use crate::{DnsEvent, Transport};

const QUESTION: &str = "'NAME|TYPE' after wants";

/// Decoder for the PowerDNS query log; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    clock: Clock,
    sensor: Option<Arc<str>>,
    wants: memmem::Finder<'static>,
}

impl Decoder {
    /// A decoder with the given UTC offset, syslog year and sensor name.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            clock: Clock::new(options),
            sensor: options.sensor.clone(),
            wants: memmem::Finder::new(b" wants '"),
        }
    }
}

/// The remote's address, without an ECS suffix (`<-198.51.100.0/24`) or a port.
fn remote_address(text: &[u8]) -> Option<IpAddr> {
    let text = match memchr::memchr(b'<', text) {
        Some(i) => &text[..i],
        None => text,
    };
    parse_ip(text).or_else(|| {
        std::str::from_utf8(text)
            .ok()?
            .parse::<SocketAddr>()
            .ok()
            .map(|s| s.ip())
    })
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        let Some(at) = self.wants.find(line) else {
            return Ok(None);
        };
        let (head, tail) = (trim_end(&line[..at]), &line[at + b" wants '".len()..]);

        // `... [TCP ]Remote ADDRESS`
        let space = memchr::memrchr(b' ', head)
            .ok_or(ParseError::missing("client", "Remote ADDRESS before wants"))?;
        let (before, remote) = (&head[..space], &head[space + 1..]);
        let before = before
            .strip_suffix(b" Remote")
            .or_else(|| (before == b"Remote").then_some(&b""[..]))
            .ok_or(ParseError::missing("client", "Remote ADDRESS before wants"))?;
        let client =
            remote_address(remote).ok_or(ParseError::invalid("client", "an IP address"))?;
        let (before, transport) = match before.strip_suffix(b" TCP") {
            Some(rest) => (rest, Transport::Tcp),
            None if before == b"TCP" => (&b""[..], Transport::Tcp),
            None => (before, Transport::Udp),
        };
        let (ts, _) = self.clock.leading(before)?;

        // `NAME|TYPE'`: the type has no `|`, the name might.
        let close = memchr::memchr(b'\'', tail).ok_or(ParseError::missing("qname", QUESTION))?;
        let question = &tail[..close];
        let bar = memchr::memrchr(b'|', question).ok_or(ParseError::invalid("qtype", QUESTION))?;
        let qtype = rtype_code(utf8(&question[bar + 1..], "qtype")?).ok_or(ParseError::invalid(
            "qtype",
            "a record type such as A, AAAA or TYPE65",
        ))?;
        let mut event = DnsEvent {
            ts,
            client: Some(client),
            transport,
            qtype,
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        set_qname(&mut event, &question[..bar])?;
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Direction;
    use crate::time::parse_rfc3339;

    fn decode(line: &str) -> Result<Option<DnsEvent>, ParseError> {
        let options = DecodeOptions {
            year: Some(2026),
            ..DecodeOptions::default()
        };
        Decoder::new(&options).decode_line(line.as_bytes())
    }

    fn check(line: &str, ts: &str, client: &str, qname: &str, qtype: u16, transport: Transport) {
        let event = match decode(line) {
            Ok(Some(event)) => event,
            other => panic!("{line:?} gave {other:?}"),
        };
        assert_eq!(Ok(event.ts), parse_rfc3339(ts), "{line:?}");
        assert_eq!(event.client, client.parse().ok(), "{line:?}");
        assert_eq!(event.qname, qname, "{line:?}");
        assert_eq!(event.qtype, qtype, "{line:?}");
        assert_eq!(event.transport, transport, "{line:?}");
        assert_eq!(event.direction, Direction::Query);
        assert_eq!((event.rcode, event.flags, event.server), (None, 0, None));
    }

    fn refused(line: &str, field: &str) {
        match decode(line) {
            Err(e) => assert_eq!(e.field(), field, "{line:?}: {e}"),
            other => panic!("{line:?} gave {other:?}, expected an error about {field}"),
        }
    }

    #[test]
    fn line_forms() {
        let ts = "2026-11-26T06:46:48Z";
        check(
            "Nov 26 06:46:48 Remote 127.0.0.1 wants 'google.com|A', do = 0, bufsize = 1232: packetcache MISS",
            ts,
            "127.0.0.1",
            "google.com",
            1,
            Transport::Udp,
        );
        check(
            "Nov 26 06:46:48 TCP Remote 127.0.0.1 wants 'www.corp.qa|A', do = 0, bufsize = 1232: packetcache MISS",
            ts,
            "127.0.0.1",
            "www.corp.qa",
            1,
            Transport::Tcp,
        );
        check(
            "<30>Nov 26 06:46:48 ns1 pdns_server[812]: Remote 192.0.2.7<-198.51.100.0/24 wants 'Example.com.|AAAA', do = 1, bufsize = 1232 (4096): packetcache HIT",
            ts,
            "192.0.2.7",
            "example.com",
            28,
            Transport::Udp,
        );
        check(
            "2026-11-26T06:46:48Z Remote [2001:db8::1]:5353 wants 'a|b.example|TYPE65', do = 0, bufsize = 512",
            ts,
            "2001:db8::1",
            "a|b.example",
            65,
            Transport::Udp,
        );
    }

    #[test]
    fn other_lines_are_skipped() {
        for line in [
            "",
            "Nov 26 06:46:44 This is a standalone pdns",
            "Nov 26 06:46:44 [bindbackend] parsing '.' from file '/tmp/lab2/root.zone'",
            "Nov 26 06:46:45 Done launching threads, ready to distribute questions",
        ] {
            assert_eq!(decode(line), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn broken_lines_are_refused() {
        let good = "Nov 26 06:46:48 Remote 127.0.0.1 wants 'google.com|A', do = 0, bufsize = 1232: packetcache MISS";
        refused(&good.replace("127.0.0.1", "nowhere"), "client");
        refused(&good.replace("Remote ", "Someone "), "client");
        refused(&good.replace("Nov 26", "Nov 99"), "timestamp");
        refused(&good.replace("|A'", "|QQ'"), "qtype");
        refused(&good.replace("|A'", "'"), "qtype");
        refused(&good.replace("|A',", "|A,"), "qname");
        refused(&good.replace("google.com", "google..com"), "qname");
        refused("Remote 127.0.0.1 wants 'google.com|A'", "timestamp");
    }
}
