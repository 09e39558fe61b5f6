//! dnsmasq's query log (`log-queries`), which Pi-hole writes too (`pihole.log`).
//!
//! ```text
//! Nov 26 06:46:21 dnsmasq[27537]: query[A] google.com from 127.0.0.1
//! Nov 26 06:46:21 dnsmasq[27537]: forwarded google.com to 127.0.0.1#5302
//! Nov 26 06:46:21 dnsmasq[27537]: reply google.com is 93.184.0.2
//! Nov 26 06:46:47 dnsmasq[27665]: 1 127.0.0.1/42705 config google.com is 93.184.0.2
//! Jan 20 00:00:01 pi dnsmasq[1]: gravity blocked x.example is 0.0.0.0
//! ```
//!
//! dnsmasq logs a query and its outcome on separate lines, and each answer record of a reply
//! on a line of its own. This decoder reads each line alone and does not join them:
//!
//! - `query[TYPE] NAME from CLIENT` is a **query** event (`query[type=65]` for types dnsmasq
//!   has no name for);
//! - `SOURCE NAME is RESULT` is a **response** event, where SOURCE is `reply` (from
//!   upstream), `cached`, `cached-stale`, `config` (`address=`), `DHCP`, `auth`, a hosts file
//!   path (`/etc/hosts`), or a Pi-hole verdict (`gravity blocked`, `regex blacklisted`,
//!   `exactly denied`, `special domain`...). RESULT is:
//!   - an address: one answer record (A or AAAA), response code NOERROR;
//!   - `NXDOMAIN`, `NODATA`, `NODATA-IPv4`, `NODATA-IPv6`: no answer, NXDOMAIN or NOERROR;
//!   - `SERVFAIL`, `REFUSED`, `FORMERR`, `not implemented` or a number: that response code;
//!   - `<CNAME>`, `<MX>`, `<type=65>`...: the name has records of that type, whose data
//!     dnsmasq does not log (no answer record);
//!   - for reverse lookups dnsmasq writes the address and the host name
//!     (`reply 10.0.0.5 is host.lan`): the question becomes `5.0.0.10.in-addr.arpa` PTR with
//!     the host name as answer.
//!
//!   The question type of a response is the one the result shows (A or AAAA for an address,
//!   PTR for a reverse lookup, the type in `<...>`), and 0 when the line does not say (an
//!   NXDOMAIN, a bare NODATA, an error). The flags are QR and the response code.
//! - `forwarded NAME to SERVER`, `dnssec-query[DS] NAME to SERVER`, `validation NAME is
//!   SECURE`, `ipset add` and `non-query opcode` lines decode to `Ok(None)`: they are the
//!   server's own work (a forwarded query repeats the client's query line just before it,
//!   without its type) rather than an exchange with a client. So do start-up and other
//!   messages.
//!
//! With `log-queries=extra` every line starts with a serial number and the client's
//! `ADDRESS/PORT`, which fills the client of response events too; with `log-queries=proto`
//! (dnsmasq 2.91) a `UDP` or `TCP` before the serial sets the transport. The timestamp is the
//! syslog header (classic `Nov 26 06:46:47`, RFC 3339, BIND's `26-Nov-2026 06:46:47.907`,
//! with or without `<PRI>`); classic syslog dates need
//! [`DecodeOptions::year`].

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use memchr::memmem;

use super::stamp::Clock;
use super::util::{Fields, parse_dec, parse_ip, response_flags, rtype_of_data, set_qname, utf8};
use super::{DecodeOptions, LineDecoder, ParseError, prepare};
use crate::codes::rtype_code;
use crate::{Answer, Direction, DnsEvent, Transport, domain};

const QUERY: &str = "query[TYPE] NAME from ADDRESS";

/// Decoder for dnsmasq and Pi-hole query logs; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    clock: Clock,
    sensor: Option<Arc<str>>,
    is: memmem::Finder<'static>,
    tag_end: memmem::Finder<'static>,
    /// Reused buffer for reverse-lookup names.
    reverse: String,
}

impl Decoder {
    /// A decoder with the given UTC offset, syslog year and sensor name.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            clock: Clock::new(options),
            sensor: options.sensor.clone(),
            is: memmem::Finder::new(b" is "),
            tag_end: memmem::Finder::new(b"]: "),
            reverse: String::with_capacity(80),
        }
    }

    fn query(
        &self,
        ts: i64,
        source: &[u8],
        fields: &mut Fields<'_>,
        transport: Transport,
    ) -> Result<DnsEvent, ParseError> {
        let inner = &source[b"query[".len()..source.len() - 1];
        let qtype = match inner.strip_prefix(b"type=") {
            Some(number) => parse_dec(number, 5).and_then(|n| u16::try_from(n).ok()),
            None => rtype_code(utf8(inner, "qtype")?),
        }
        .ok_or(ParseError::invalid(
            "qtype",
            "query[A], query[AAAA], query[type=65]...",
        ))?;
        let qname = fields.require("qname", QUERY)?;
        if fields.next() != Some(b"from".as_slice()) {
            return Err(ParseError::missing("client", QUERY));
        }
        let client = fields.require("client", QUERY)?;
        let client = parse_ip(client).ok_or(ParseError::invalid("client", "an IP address"))?;
        let mut event = DnsEvent {
            ts,
            client: Some(client),
            transport,
            qtype,
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        set_qname(&mut event, qname)?;
        Ok(event)
    }

    /// `NAME is RESULT [(EDE: ...)]`, the source already checked.
    fn response(
        &mut self,
        ts: i64,
        name: &[u8],
        result: &[u8],
        client: Option<IpAddr>,
        transport: Transport,
    ) -> Result<DnsEvent, ParseError> {
        const RESULT: &str = "an address, NXDOMAIN, NODATA, a response code or <TYPE>";
        let mut words = Fields::new(result);
        let first = words.require("result", RESULT)?;
        let mut event = DnsEvent {
            ts,
            client,
            transport,
            direction: Direction::Response,
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        let mut data = None;
        let rcode = match first {
            b"NXDOMAIN" => 3,
            b"NODATA" => 0,
            b"NODATA-IPv4" => {
                event.qtype = 1;
                0
            }
            b"NODATA-IPv6" => {
                event.qtype = 28;
                0
            }
            b"SERVFAIL" => 2,
            b"REFUSED" => 5,
            b"FORMERR" => 1,
            b"not" if words.next() == Some(b"implemented".as_slice()) => 4,
            [b'<', inner @ .., b'>'] => {
                let qtype = match inner.strip_prefix(b"type=") {
                    Some(number) => parse_dec(number, 5).and_then(|n| u16::try_from(n).ok()),
                    None => rtype_code(utf8(inner, "result")?),
                };
                event.qtype = qtype.ok_or(ParseError::invalid("result", "<TYPE> such as <MX>"))?;
                0
            }
            _ => match parse_dec(first, 4) {
                Some(code) => u16::try_from(code)
                    .ok()
                    .filter(|&c| c < 4096)
                    .ok_or(ParseError::invalid("result", RESULT))?,
                None => {
                    data = Some(first);
                    0
                }
            },
        };
        event.rcode = Some(rcode);
        event.flags = response_flags(rcode);

        // A reverse lookup logs the address where the name would be.
        if let Some(address) = parse_ip(name) {
            self.reverse.clear();
            reverse_name(address, &mut self.reverse);
            event.qtype = 12;
            event
                .set_qname(&self.reverse)
                .map_err(|e| ParseError::name("qname", e))?;
            if let Some(host) = data {
                let host = domain::normalise(utf8(host, "result")?)
                    .map_err(|e| ParseError::name("result", e))?;
                event.answers.push(Answer {
                    name: event.qname.clone(),
                    rtype: 12,
                    ttl: None,
                    data: host,
                });
            }
            return Ok(event);
        }
        set_qname(&mut event, name)?;
        if let Some(data) = data {
            let rtype = rtype_of_data(data, 0);
            if event.qtype == 0 {
                event.qtype = rtype;
            }
            event.answers.push(Answer {
                name: event.qname.clone(),
                rtype,
                ttl: None,
                data: utf8(data, "result")?.to_owned(),
            });
        }
        Ok(event)
    }
}

/// Where `inner`, a slice taken from `outer`, starts in it.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize)
        .saturating_sub(outer.as_ptr() as usize)
        .min(outer.len())
}

/// True for the sources of response lines (see the module documentation).
fn is_response_source(source: &[u8]) -> bool {
    match source {
        b"reply" | b"cached" | b"cached-stale" | b"config" | b"DHCP" | b"auth" => true,
        [b'/', ..] => true,
        // Pi-hole's verdicts: `gravity blocked`, `regex blacklisted`, `exactly denied`,
        // `special domain`...
        _ => {
            let last = source.rsplit(|&b| b == b' ').next().unwrap_or(source);
            matches!(last, b"blocked" | b"blacklisted" | b"denied") || source == b"special domain"
        }
    }
}

/// Appends the reverse-lookup name of an address (`4.3.2.1.in-addr.arpa`, nibbles for IPv6).
fn reverse_name(address: IpAddr, out: &mut String) {
    // Writing to a String cannot fail.
    match address {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            let _ = write!(out, "{d}.{c}.{b}.{a}.in-addr.arpa");
        }
        IpAddr::V6(v6) => {
            for byte in v6.octets().iter().rev() {
                let _ = write!(out, "{:x}.{:x}.", byte & 0x0f, byte >> 4);
            }
            out.push_str("ip6.arpa");
        }
    }
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        // The message follows `dnsmasq[PID]: `.
        let Some(colon) = self.tag_end.find(line) else {
            return Ok(None);
        };
        let (head, message) = (&line[..colon], &line[colon + 3..]);
        let mut fields = Fields::new(message);
        let Some(mut first) = fields.next() else {
            return Ok(None);
        };
        let mut transport = Transport::Unknown;
        if let proto @ (b"UDP" | b"TCP") = first {
            transport = if proto == b"UDP" {
                Transport::Udp
            } else {
                Transport::Tcp
            };
            first = fields.require("serial", "a query serial number after UDP or TCP")?;
        }
        // log-queries=extra: `SERIAL [ADDRESS/PORT] `.
        let mut client = None;
        if first.iter().all(u8::is_ascii_digit) {
            let mut rest = fields.clone();
            let Some(mut next) = rest.next() else {
                return Ok(None);
            };
            if let Some(slash) = memchr::memrchr(b'/', next)
                && let Some(address) = parse_ip(&next[..slash])
            {
                client = Some(address);
                next = rest.next().unwrap_or_default();
            }
            first = next;
            fields = rest;
        }

        if first.starts_with(b"query[") && first.ends_with(b"]") {
            let (ts, _) = self.clock.leading(head)?;
            return self.query(ts, first, &mut fields, transport).map(Some);
        }
        // `SOURCE... NAME is RESULT`, from the first word of the source on.
        let from_source = &message[offset_in(message, first)..];
        // A line cut short after `is` still names its source: an error, not another line.
        let is = self
            .is
            .find(from_source)
            .or_else(|| from_source.ends_with(b" is").then(|| from_source.len() - 3));
        let Some(is) = is else {
            return Ok(None);
        };
        let before = &from_source[..is];
        let Some(space) = memchr::memrchr(b' ', before) else {
            return Ok(None);
        };
        let (source, name) = (&before[..space], &before[space + 1..]);
        if !is_response_source(source) {
            return Ok(None);
        }
        let (ts, _) = self.clock.leading(head)?;
        let result = from_source.get(is + 4..).unwrap_or_default();
        self.response(ts, name, result, client, transport).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json_lines::to_json_line;

    fn decode(line: &str) -> Result<Option<DnsEvent>, ParseError> {
        let options = DecodeOptions {
            year: Some(2026),
            ..DecodeOptions::default()
        };
        Decoder::new(&options).decode_line(line.as_bytes())
    }

    /// Decodes `line` and compares the event, written as a JSON line, with `expected`.
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
    fn queries() {
        check(
            "Nov 26 06:46:21 dnsmasq[27537]: query[A] google.com from 127.0.0.1",
            r#"{"ts":"2026-11-26T06:46:21Z","client":"127.0.0.1","transport":"unknown","direction":"query","qname":"google.com","registered_domain":"google.com","qtype":"A","flags":0}"#,
        );
        check(
            "Nov 26 06:46:47 dnsmasq[27665]: 19 127.0.0.1/53052 query[TXT] S4L.t.Tunnel.corp.qa from 127.0.0.1",
            r#"{"ts":"2026-11-26T06:46:47Z","client":"127.0.0.1","transport":"unknown","direction":"query","qname":"s4l.t.tunnel.corp.qa","registered_domain":"corp.qa","qtype":"TXT","flags":0}"#,
        );
        check(
            "Jan 20 00:00:00 pi dnsmasq[1]: TCP 7 ::1/5353 query[type=65] . from ::1",
            r#"{"ts":"2026-01-20T00:00:00Z","client":"::1","transport":"tcp","direction":"query","qname":"","registered_domain":"","qtype":"HTTPS","flags":0}"#,
        );
    }

    #[test]
    fn responses() {
        check(
            "Nov 26 06:46:21 dnsmasq[27537]: reply google.com is 93.184.0.2",
            r#"{"ts":"2026-11-26T06:46:21Z","transport":"unknown","direction":"response","qname":"google.com","registered_domain":"google.com","qtype":"A","rcode":"NOERROR","flags":32768,"answers":[{"name":"google.com","rtype":"A","data":"93.184.0.2"}]}"#,
        );
        check(
            "Nov 26 06:46:48 dnsmasq[27665]: 2 127.0.0.1/60976 config afadsfasdfsafwerwqerqqiye.cn is NXDOMAIN",
            r#"{"ts":"2026-11-26T06:46:48Z","client":"127.0.0.1","transport":"unknown","direction":"response","qname":"afadsfasdfsafwerwqerqqiye.cn","registered_domain":"afadsfasdfsafwerwqerqqiye.cn","qtype":"TYPE0","rcode":"NXDOMAIN","flags":32771}"#,
        );
        check(
            "Nov 26 06:46:21 dnsmasq[27537]: cached google.com is 2001:db8::2",
            r#"{"ts":"2026-11-26T06:46:21Z","transport":"unknown","direction":"response","qname":"google.com","registered_domain":"google.com","qtype":"AAAA","rcode":"NOERROR","flags":32768,"answers":[{"name":"google.com","rtype":"AAAA","data":"2001:db8::2"}]}"#,
        );
        check(
            "Nov 26 06:46:51 dnsmasq[27665]: 920 127.0.0.1/56701 config corp.qa is <MX>",
            r#"{"ts":"2026-11-26T06:46:51Z","client":"127.0.0.1","transport":"unknown","direction":"response","qname":"corp.qa","registered_domain":"corp.qa","qtype":"MX","rcode":"NOERROR","flags":32768}"#,
        );
        check(
            "Nov 26 06:46:51 dnsmasq[1]: reply www.example.com is <CNAME>",
            r#"{"ts":"2026-11-26T06:46:51Z","transport":"unknown","direction":"response","qname":"www.example.com","registered_domain":"example.com","qtype":"CNAME","rcode":"NOERROR","flags":32768}"#,
        );
        check(
            "Nov 26 06:46:51 dnsmasq[1]: reply example.com is NODATA-IPv6",
            r#"{"ts":"2026-11-26T06:46:51Z","transport":"unknown","direction":"response","qname":"example.com","registered_domain":"example.com","qtype":"AAAA","rcode":"NOERROR","flags":32768}"#,
        );
        check(
            "Nov 26 06:46:51 dnsmasq[1]: reply example.com is SERVFAIL (EDE: network error)",
            r#"{"ts":"2026-11-26T06:46:51Z","transport":"unknown","direction":"response","qname":"example.com","registered_domain":"example.com","qtype":"TYPE0","rcode":"SERVFAIL","flags":32770}"#,
        );
        check(
            "Nov 26 06:46:51 dnsmasq[1]: reply example.com is not implemented",
            r#"{"ts":"2026-11-26T06:46:51Z","transport":"unknown","direction":"response","qname":"example.com","registered_domain":"example.com","qtype":"TYPE0","rcode":"NOTIMP","flags":32772}"#,
        );
        check(
            "Nov 26 06:46:51 dnsmasq[1]: /etc/hosts 10.0.0.5 is Host.LAN",
            r#"{"ts":"2026-11-26T06:46:51Z","transport":"unknown","direction":"response","qname":"5.0.0.10.in-addr.arpa","registered_domain":"10.in-addr.arpa","qtype":"PTR","rcode":"NOERROR","flags":32768,"answers":[{"name":"5.0.0.10.in-addr.arpa","rtype":"PTR","data":"host.lan"}]}"#,
        );
        check(
            "Jan 20 00:00:01 resolver.example.test dnsmasq[1]: gravity blocked x.example is 0.0.0.0",
            r#"{"ts":"2026-01-20T00:00:01Z","transport":"unknown","direction":"response","qname":"x.example","registered_domain":"x.example","qtype":"A","rcode":"NOERROR","flags":32768,"answers":[{"name":"x.example","rtype":"A","data":"0.0.0.0"}]}"#,
        );
        let mut name = String::new();
        reverse_name(
            "2001:db8::1".parse().unwrap_or(IpAddr::from([0; 4])),
            &mut name,
        );
        assert_eq!(
            name,
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }

    #[test]
    fn other_lines_are_skipped() {
        for line in [
            "",
            "Nov 26 06:46:44 dnsmasq[27665]: started, version 2.90 cachesize 150",
            "Nov 26 06:46:44 dnsmasq[27665]: warning: no upstream servers configured",
            "Nov 26 06:46:21 dnsmasq[27537]: forwarded google.com to 127.0.0.1#5302",
            "Nov 26 06:46:21 dnsmasq[27537]: 3 127.0.0.1/5 forwarded google.com to 127.0.0.1",
            "Nov 26 06:46:21 dnsmasq[1]: dnssec-query[DS] com to 1.1.1.1",
            "Nov 26 06:46:21 dnsmasq[1]: validation example.com is SECURE",
            "Nov 26 06:46:21 dnsmasq[1]: 12",
            "Nov 26 06:46:22 dnsmasq[27537]: exiting on receipt of SIGTERM",
            "no syslog header at all",
        ] {
            assert_eq!(decode(line), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn broken_lines_are_refused() {
        let query = "Nov 26 06:46:21 dnsmasq[27537]: query[A] google.com from 127.0.0.1";
        refused(&query.replace("[A]", "[BOGUS]"), "qtype");
        refused(&query.replace("[A]", "[type=99999]"), "qtype");
        refused(&query.replace(" from 127.0.0.1", ""), "client");
        refused(&query.replace("127.0.0.1", "localhost"), "client");
        refused(&query.replace("google.com", "goo..gle"), "qname");
        refused(&query.replace("Nov 26", "Nov 32"), "timestamp");
        let reply = "Nov 26 06:46:21 dnsmasq[27537]: reply google.com is 93.184.0.2";
        refused(&reply.replace("93.184.0.2", "<BOGUS>"), "result");
        refused(&reply.replace("93.184.0.2", "9999"), "result");
        refused(&reply.replace("google.com", "b..c"), "qname");
        refused(&reply.replace(" 93.184.0.2", ""), "result");
    }
}
