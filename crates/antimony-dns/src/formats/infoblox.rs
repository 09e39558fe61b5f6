//! Infoblox NIOS DNS logs, as its syslog carries them.
//!
//! NIOS runs BIND, and its syslog mixes BIND's own lines with Infoblox's response log and
//! RPZ events:
//!
//! ```text
//! <30>Mar 11 23:51:31 infoblox.localdomain named[11042]: 07-Apr-2022 08:08:10.043 client 192.168.0.1#57398 UDP: query: a1.foo.com IN A response: NOERROR +ED a1.foo.com 28800 IN A 1.1.1.1;
//! <30>Apr 14 16:16:05 10.50.1.227 named[2588]: queries: client @0x7f97e40eb500 192.168.1.90#64727 (ocsp.digicert.com): query: ocsp.digicert.com IN A + (192.168.1.10)
//! <30>Apr 14 16:16:05 10.50.1.227 named[2588]: query-errors: client @0x7f97e40eb500 192.168.1.90#64727 (ocsp.digicert.com): query failed (REFUSED) for ocsp.digicert.com/IN/A at query.c:10288
//! <30>Mar 11 23:51:31 infoblox.localdomain named[28468]: CEF:0|Infoblox|NIOS|8.6.2|RPZ-QNAME|NXDOMAIN|7|app=DNS dst=192.168.0.1 src=192.168.0.1 spt=51424 view=_default qtype=A msg="rpz QNAME NXDOMAIN rewrite nxd1.com [A] via nxd1.com.rpz1.com" CAT=RPZ
//! ```
//!
//! - **Response log** (`client ADDR#PORT[:] UDP|TCP: query: NAME CLASS TYPE response: RCODE
//!   FLAGS [RECORDS]`): a response event. FLAGS are `+` (recursion desired) or `-`, then
//!   letters of which `A` (authoritative) is kept; RECORDS are the answer section as
//!   `NAME TTL CLASS TYPE DATA;` each.
//! - **Query log** (BIND's `queries` category): a query event, read as the
//!   [`bind9`] decoder reads it.
//! - **Query errors** (`query failed (RCODE) for NAME/CLASS/TYPE`): a response event with
//!   that response code, as the client received it.
//! - **RPZ events** in CEF: a response event for the rewritten question (`msg="rpz QNAME
//!   ACTION rewrite NAME [TYPE] ..."`), client `src`, server `dst`, response code NXDOMAIN
//!   for the NXDOMAIN action and NOERROR otherwise.
//!
//! The timestamp is BIND's own (`07-Apr-2022 08:08:10.043`) when the message starts with it,
//! else the syslog header's, which needs [`DecodeOptions::year`]. Other lines decode to
//! `Ok(None)`.

use std::net::IpAddr;
use std::sync::Arc;

use memchr::memmem;

use super::stamp::{Clock, starts_with_bind_date};
use super::util::{
    AA, Fields, RD, answer, parse_dec, parse_ip, response_flags, set_qname, trim_end, trim_start,
    utf8,
};
use super::{DecodeOptions, LineDecoder, ParseError, bind9, prepare};
use crate::codes::{rcode_code, rtype_code};
use crate::{Direction, DnsEvent, Transport};

const RESPONSE: &str = "query: NAME CLASS TYPE response: RCODE FLAGS";
const QTYPE: &str = "a record type such as A, AAAA or TYPE65";

/// Decoder for Infoblox NIOS syslog; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    clock: Clock,
    sensor: Option<Arc<str>>,
    bind: bind9::Decoder,
    query: memmem::Finder<'static>,
    response: memmem::Finder<'static>,
    failed: memmem::Finder<'static>,
}

impl Decoder {
    /// A decoder with the given UTC offset, syslog year and sensor name.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            clock: Clock::new(options),
            sensor: options.sensor.clone(),
            bind: bind9::Decoder::new(options),
            query: memmem::Finder::new(b" query: "),
            response: memmem::Finder::new(b" response: "),
            failed: memmem::Finder::new(b" query failed ("),
        }
    }

    /// The message's own BIND timestamp, or the syslog header's, and the message after it.
    fn timestamp<'a>(&self, line: &'a [u8]) -> Result<(i64, &'a [u8]), ParseError> {
        // The message follows `named[PID]: `; without a program tag, the header's time.
        // A category (`infoblox-responses:`, `queries:`) may come before BIND's date.
        let message = memmem::find(line, b"]: ").map(|i| {
            let mut message = trim_start(&line[i + 3..]);
            for _ in 0..2 {
                let mut words = Fields::new(message);
                match words.next() {
                    Some(word) if word.ends_with(b":") && word != b"client" => {
                        message = words.rest();
                    }
                    _ => break,
                }
            }
            message
        });
        match message {
            Some(message) if starts_with_bind_date(message) => self.clock.leading(message),
            _ => {
                let (ts, _) = self.clock.leading(line)?;
                Ok((ts, message.unwrap_or(line)))
            }
        }
    }

    fn event(&self, ts: i64, client: Option<IpAddr>) -> DnsEvent {
        DnsEvent {
            ts,
            client,
            direction: Direction::Response,
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        }
    }

    /// `client ADDR#PORT[:] PROTO: query: NAME CLASS TYPE response: RCODE FLAGS RECORDS`.
    fn response_line(
        &self,
        ts: i64,
        head: &[u8],
        question: &[u8],
        rest: &[u8],
    ) -> Result<DnsEvent, ParseError> {
        let mut fields = Fields::new(head);
        let mut client = None;
        let mut transport = Transport::Unknown;
        while let Some(field) = fields.next() {
            match field {
                b"client" => {
                    let address = fields
                        .next()
                        .and_then(|f| memchr::memchr(b'#', f).map(|hash| &f[..hash]))
                        .ok_or(ParseError::missing("client", "client ADDRESS#PORT"))?;
                    client = Some(
                        parse_ip(address)
                            .ok_or(ParseError::invalid("client", "an IP address before #port"))?,
                    );
                }
                b"UDP:" => transport = Transport::Udp,
                b"TCP:" => transport = Transport::Tcp,
                _ => {}
            }
        }
        let client = client.ok_or(ParseError::missing("client", "client ADDRESS#PORT"))?;

        let mut fields = Fields::new(question);
        let qname = fields.require("qname", RESPONSE)?;
        let _class = fields.require("class", RESPONSE)?;
        let qtype = fields.require("qtype", RESPONSE)?;
        let mut fields = Fields::new(rest);
        let rcode = fields.require("rcode", RESPONSE)?;
        let rcode = rcode_code(utf8(rcode, "rcode")?).ok_or(ParseError::invalid(
            "rcode",
            "a response code such as NXDOMAIN",
        ))?;
        let flags = fields.require("flags", "response flags such as +AED or -")?;
        let mut header = response_flags(rcode);
        match flags.first() {
            Some(b'+') => header |= RD,
            Some(b'-') => {}
            _ => {
                return Err(ParseError::invalid(
                    "flags",
                    "response flags such as +AED or -",
                ));
            }
        }
        if flags.contains(&b'A') {
            header |= AA;
        }

        let mut event = self.event(ts, Some(client));
        event.transport = transport;
        event.rcode = Some(rcode);
        event.flags = header;
        event.qtype =
            rtype_code(utf8(qtype, "qtype")?).ok_or(ParseError::invalid("qtype", QTYPE))?;
        set_qname(&mut event, qname)?;
        let mut records = fields.rest();
        while !records.is_empty() {
            let end = record_end(records);
            read_record(trim_end(&records[..end]), &mut event)?;
            records = trim_start(records.get(end + 1..).unwrap_or_default());
        }
        Ok(event)
    }

    /// `... (NAME): query failed (RCODE) for NAME/CLASS/TYPE at query.c:N`.
    fn failure_line(&self, ts: i64, head: &[u8], tail: &[u8]) -> Result<DnsEvent, ParseError> {
        const FAILED: &str = "query failed (RCODE) for NAME/CLASS/TYPE";
        let close = memchr::memchr(b')', tail).ok_or(ParseError::missing("rcode", FAILED))?;
        let rcode = rcode_code(utf8(&tail[..close], "rcode")?).ok_or(ParseError::invalid(
            "rcode",
            "a response code such as SERVFAIL",
        ))?;
        let mut fields = Fields::new(&tail[close + 1..]);
        if fields.next() != Some(b"for".as_slice()) {
            return Err(ParseError::missing("qname", FAILED));
        }
        let question = fields.require("qname", FAILED)?;
        let mut parts = question.rsplitn(3, |&b| b == b'/');
        let (Some(qtype), Some(_class), Some(qname)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseError::invalid("qname", FAILED));
        };
        let client = client_address(head)?;
        let mut event = self.event(ts, Some(client));
        event.rcode = Some(rcode);
        event.flags = response_flags(rcode);
        event.qtype =
            rtype_code(utf8(qtype, "qtype")?).ok_or(ParseError::invalid("qtype", QTYPE))?;
        set_qname(&mut event, qname)?;
        Ok(event)
    }

    /// An RPZ hit in CEF: `CEF:0|Infoblox|NIOS|VERSION|RPZ-...|ACTION|SEVERITY|EXTENSIONS`.
    fn cef_line(&self, ts: i64, cef: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        const CEF: &str = "CEF:0|Infoblox|NIOS|version|name|action|severity|extensions";
        let mut parts = cef.splitn(8, |&b| b == b'|');
        let (Some(_), Some(_), Some(_), Some(_), Some(name), Some(action), Some(_), Some(ext)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(ParseError::missing("CEF", CEF));
        };
        if !name.starts_with(b"RPZ") {
            return Ok(None);
        }
        let (mut src, mut dst, mut msg) = (None, None, None);
        let mut rest = ext;
        while let Some(eq) = memchr::memchr(b'=', rest) {
            let key = trim_start(&rest[..eq]);
            let key = key.rsplit(|&b| b == b' ').next().unwrap_or(key);
            let value_start = &rest[eq + 1..];
            let (value, next) = match value_start {
                [b'"', quoted @ ..] => {
                    let close = memchr::memchr(b'"', quoted).unwrap_or(quoted.len());
                    (
                        &quoted[..close],
                        quoted.get(close + 1..).unwrap_or_default(),
                    )
                }
                _ => {
                    let end = memchr::memchr(b' ', value_start).unwrap_or(value_start.len());
                    (&value_start[..end], &value_start[end..])
                }
            };
            match key {
                b"src" => src = Some(value),
                b"dst" => dst = Some(value),
                b"msg" => msg = Some(value),
                _ => {}
            }
            rest = next;
        }
        let address = |value: Option<&[u8]>, field| -> Result<Option<IpAddr>, ParseError> {
            value
                .map(|v| parse_ip(v).ok_or(ParseError::invalid(field, "an IP address")))
                .transpose()
        };
        let mut event = self.event(ts, address(src, "src")?);
        event.server = address(dst, "dst")?;
        const MSG: &str = "msg=\"rpz QNAME ACTION rewrite NAME [TYPE] via ...\"";
        let msg = msg.ok_or(ParseError::missing("msg", MSG))?;
        let mut words = Fields::new(msg);
        let _ = words.by_ref().take_while(|&w| w != b"rewrite").count();
        let qname = words.require("msg", MSG)?;
        let qtype = words
            .next()
            .and_then(|t| t.strip_prefix(b"[")?.strip_suffix(b"]"))
            .ok_or(ParseError::invalid("msg", MSG))?;
        event.qtype =
            rtype_code(utf8(qtype, "qtype")?).ok_or(ParseError::invalid("qtype", QTYPE))?;
        let rcode = if action == b"NXDOMAIN" { 3 } else { 0 };
        event.rcode = Some(rcode);
        event.flags = response_flags(rcode);
        set_qname(&mut event, qname)?;
        Ok(Some(event))
    }
}

/// The client address in BIND's `client [@0x...] ADDR#PORT`.
fn client_address(head: &[u8]) -> Result<IpAddr, ParseError> {
    let mut fields = Fields::new(head);
    while let Some(field) = fields.next() {
        if field == b"client" {
            let mut candidate = fields.next();
            if candidate.is_some_and(|c| c.starts_with(b"@")) {
                candidate = fields.next();
            }
            let address = candidate
                .and_then(|c| memchr::memchr(b'#', c).map(|hash| &c[..hash]))
                .ok_or(ParseError::missing("client", "client ADDRESS#PORT"))?;
            return parse_ip(address)
                .ok_or(ParseError::invalid("client", "an IP address before #port"));
        }
    }
    Err(ParseError::missing("client", "client ADDRESS#PORT"))
}

/// Where the record starting `records` ends: its `;`, outside double quotes.
fn record_end(records: &[u8]) -> usize {
    let mut quoted = false;
    let mut escaped = false;
    for (i, &b) in records.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => quoted = !quoted,
            b';' if !quoted => return i,
            _ => {}
        }
    }
    records.len()
}

/// `NAME TTL CLASS TYPE DATA` into the event's answers.
fn read_record(record: &[u8], event: &mut DnsEvent) -> Result<(), ParseError> {
    const RECORD: &str = "an answer record NAME TTL CLASS TYPE DATA;";
    let mut fields = Fields::new(record);
    let name = fields.require("answers", RECORD)?;
    let ttl = fields.require("answers", RECORD)?;
    let ttl = parse_dec(ttl, 9).ok_or(ParseError::invalid("answers.ttl", "a number of seconds"))?;
    let _class = fields.require("answers", RECORD)?;
    let rtype = fields.require("answers", RECORD)?;
    let rtype = rtype_code(utf8(rtype, "answers.rtype")?)
        .ok_or(ParseError::invalid("answers.rtype", QTYPE))?;
    let data = fields.rest();
    event.answers.push(answer(name, rtype, Some(ttl), data)?);
    Ok(())
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        if let Some(at) = self.query.find(line) {
            let (head, tail) = (&line[..at], &line[at + b" query: ".len()..]);
            let (ts, head) = self.timestamp(head)?;
            if let Some(r) = self.response.find(tail) {
                let rest = &tail[r + b" response: ".len()..];
                return self.response_line(ts, head, &tail[..r], rest).map(Some);
            }
            return self.bind.query(ts, head, tail).map(Some);
        }
        if let Some(at) = self.failed.find(line) {
            let (head, tail) = (&line[..at], &line[at + b" query failed (".len()..]);
            let (ts, head) = self.timestamp(head)?;
            return self.failure_line(ts, head, tail).map(Some);
        }
        if let Some(at) = memmem::find(line, b"CEF:0|Infoblox|") {
            let (ts, _) = self.timestamp(&line[..at])?;
            return self.cef_line(ts, &line[at..]);
        }
        Ok(None)
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
    fn responses() {
        check(
            "<30>Mar 11 23:51:31 infoblox.localdomain named[11042]: 07-Apr-2022 08:08:10.043 client 192.168.0.1#57398 UDP: query: a1.foo.com IN A response: NOERROR +ED a1.foo.com 28800 IN A foo.com; a1.foo.com 28800 IN A 0.0.0.0;",
            r#"{"ts":"2022-04-07T08:08:10.043000Z","client":"192.168.0.1","transport":"udp","direction":"response","qname":"a1.foo.com","registered_domain":"foo.com","qtype":"A","rcode":"NOERROR","flags":33024,"answers":[{"name":"a1.foo.com","rtype":"A","ttl":28800,"data":"foo.com"},{"name":"a1.foo.com","rtype":"A","ttl":28800,"data":"0.0.0.0"}]}"#,
        );
        check(
            "<30>Apr 14 16:17:20 10.50.1.227 named[2588]: infoblox-responses: 14-Apr-2022 16:17:20.046 client 192.168.1.90#57738: TCP: query: settings-win.data.microsoft.com IN A response: REFUSED -",
            r#"{"ts":"2022-04-14T16:17:20.046000Z","client":"192.168.1.90","transport":"tcp","direction":"response","qname":"settings-win.data.microsoft.com","registered_domain":"microsoft.com","qtype":"A","rcode":"REFUSED","flags":32773}"#,
        );
        check(
            r#"07-Apr-2013 20:16:49.083 client 2001::2#57398 UDP: query: t.foo.com IN TXT response: NOERROR +AED t.foo.com. 60 IN TXT "a;b" "c";"#,
            r#"{"ts":"2013-04-07T20:16:49.083000Z","client":"2001::2","transport":"udp","direction":"response","qname":"t.foo.com","registered_domain":"foo.com","qtype":"TXT","rcode":"NOERROR","flags":34048,"answers":[{"name":"t.foo.com","rtype":"TXT","ttl":60,"data":"\"a;b\" \"c\""}]}"#,
        );
    }

    #[test]
    fn bind_lines() {
        check(
            "<30>Apr 14 16:16:05 10.50.1.227 named[2588]: queries: client @0x7f97e40eb500 192.168.1.90#64727 (ocsp.digicert.com): query: ocsp.digicert.com IN A + (192.168.1.10)",
            r#"{"ts":"2026-04-14T16:16:05Z","client":"192.168.1.90","server":"192.168.1.10","transport":"udp","direction":"query","qname":"ocsp.digicert.com","registered_domain":"digicert.com","qtype":"A","flags":256}"#,
        );
        check(
            "<30>Apr 14 16:16:05 10.50.1.227 named[2588]: query-errors: client @0x7f97e40eb500 192.168.1.90#64727 (ocsp.digicert.com): query failed (REFUSED) for ocsp.digicert.com/IN/A at query.c:10288",
            r#"{"ts":"2026-04-14T16:16:05Z","client":"192.168.1.90","transport":"unknown","direction":"response","qname":"ocsp.digicert.com","registered_domain":"digicert.com","qtype":"A","rcode":"REFUSED","flags":32773}"#,
        );
    }

    #[test]
    fn rpz_events() {
        check(
            r#"<30>Mar 11 23:51:31 infoblox.localdomain named[28468]: CEF:0|Infoblox|NIOS|8.6.2-49634-e88e9df276a8|RPZ-QNAME|NXDOMAIN|7|app=DNS dst=192.168.0.1 src=192.168.0.2 spt=51424 view=_default qtype=A msg="rpz QNAME NXDOMAIN rewrite nxd1.com [A] via nxd1.com.rpz1.com" CAT=RPZ"#,
            r#"{"ts":"2026-03-11T23:51:31Z","client":"192.168.0.2","server":"192.168.0.1","transport":"unknown","direction":"response","qname":"nxd1.com","registered_domain":"nxd1.com","qtype":"A","rcode":"NXDOMAIN","flags":32771}"#,
        );
        assert_eq!(
            decode("<30>Mar 11 23:51:31 h named[1]: CEF:0|Infoblox|NIOS|8|Other|x|1|a=b"),
            Ok(None)
        );
    }

    #[test]
    fn other_lines_are_skipped() {
        for line in [
            "",
            "<30>Mar 11 23:51:31 infoblox.localdomain named[1]: zone foo.com/IN: loaded serial 5",
            "<30>Mar 11 23:51:31 infoblox.localdomain httpd[1]: login from 10.0.0.1",
        ] {
            assert_eq!(decode(line), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn broken_lines_are_refused() {
        let good = "<30>Mar 11 23:51:31 h named[1]: 07-Apr-2022 08:08:10.043 client 192.168.0.1#57398 UDP: query: a1.foo.com IN A response: NOERROR +ED a1.foo.com 28800 IN A 1.1.1.1;";
        assert!(decode(good).is_ok_and(|e| e.is_some()));
        refused(&good.replace("NOERROR", "NOPE"), "rcode");
        refused(&good.replace("+ED", "ED"), "flags");
        refused(&good.replace("28800", "soon"), "answers.ttl");
        refused(&good.replace("28800 IN A", "28800 IN"), "answers.rtype");
        refused(&good.replace("#57398", ""), "client");
        refused(&good.replace("07-Apr", "47-Apr"), "timestamp");
        refused(&good.replace("IN A response", "IN QQ response"), "qtype");
        let failed = "<30>Apr 14 16:16:05 h named[2588]: query-errors: client @0x7f97 192.168.1.90#64727 (x.com): query failed (REFUSED) for x.com/IN/A at query.c:10288";
        assert!(decode(failed).is_ok_and(|e| e.is_some()));
        refused(&failed.replace("(REFUSED)", "(SOMETHING)"), "rcode");
        refused(&failed.replace("x.com/IN/A", "x.com"), "qname");
        refused(&failed.replace("Apr 14", "Apr 44"), "timestamp");
        let cef = r#"Mar 11 23:51:31 h named[1]: CEF:0|Infoblox|NIOS|8|RPZ-QNAME|NXDOMAIN|7|dst=192.168.0.1 src=192.168.0.2 msg="rpz QNAME NXDOMAIN rewrite nxd1.com [A] via x""#;
        assert!(decode(cef).is_ok_and(|e| e.is_some()));
        refused(&cef.replace("src=192.168.0.2", "src=me"), "src");
        refused(&cef.replace("[A]", "A"), "msg");
        refused("Mar 11 23:51:31 h named[1]: CEF:0|Infoblox|NIOS", "CEF");
    }
}
