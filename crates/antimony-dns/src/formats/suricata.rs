//! Suricata's `eve.json` DNS events, format versions 2 and 3.
//!
//! ```text
//! {"timestamp":"2019-08-22T23:48:27.924120+0000","event_type":"dns","src_ip":"10.0.2.15","dest_ip":"10.0.2.3","proto":"UDP","dns":{"type":"query","id":51803,"rrname":"google.com","rrtype":"A","tx_id":0}}
//! {"timestamp":"...","event_type":"dns","src_ip":"10.0.2.3","dest_ip":"10.0.2.15","proto":"UDP","dns":{"version":2,"type":"answer","id":39523,"flags":"8180","rcode":"NOERROR","rrname":"google.com","rrtype":"AAAA","answers":[{"rrname":"google.com","rrtype":"AAAA","ttl":272,"rdata":"2a02:cf40::1"}]}}
//! {"timestamp":"...","event_type":"dns","dns":{"version":3,"type":"response","id":0,"flags":"8180","rcode":"NOERROR","queries":[{"rrname":"www.suricata.io","rrtype":"A"}],"answers":[...]}}
//! ```
//!
//! - Events of another `event_type` (flow, alert, http...) decode to `Ok(None)`.
//! - `dns.type` `query` (version 2) or `request` (version 3) is a **query**; `answer` or
//!   `response` a **response**. The question is `rrname`/`rrtype` (version 2) or the first of
//!   `queries` (version 3). For a query, the client is `src_ip` and the server `dest_ip`;
//!   for a response, the other way round (Suricata logs the packet's own addresses).
//! - Answers come from `answers` (detailed format), else `grouped` (`{"A": ["1.2.3.4"]}`,
//!   named after the question), else from the event itself: version 1 and unversioned
//!   answer events carry one record each in `rrname`, `rrtype`, `ttl` and `rdata`, and then
//!   give no question, so that record's name and type stand for it.
//! - Flags are `dns.flags` (hex text, wire order) when present, else QR with the `aa`, `tc`,
//!   `rd`, `ra` booleans and the response code.
//! - Suricata always writes `timestamp`; an event without one (as in the documentation's
//!   examples) reads as time 0 (1970-01-01) rather than being refused.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;

use super::json_lines::{Scalar, not_json};
use super::util::{AA, QR, RA, RD, TC, answer, checked_ts, parse_hex_u16, set_qname, trim_start};
use super::{DecodeOptions, LineDecoder, ParseError, prepare};
use crate::codes::{rcode_code, rtype_code};
use crate::time::parse_rfc3339;
use crate::{Direction, DnsEvent, Transport};

/// Decoder for Suricata `eve.json` DNS events; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    sensor: Option<Arc<str>>,
}

impl Decoder {
    /// A decoder that puts the given sensor name in every event.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            sensor: options.sensor.clone(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Eve<'a> {
    #[serde(borrow)]
    timestamp: Scalar<'a>,
    #[serde(borrow)]
    event_type: Scalar<'a>,
    #[serde(borrow)]
    src_ip: Scalar<'a>,
    #[serde(borrow)]
    dest_ip: Scalar<'a>,
    #[serde(borrow)]
    proto: Scalar<'a>,
    #[serde(borrow)]
    dns: Option<Dns<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Dns<'a> {
    #[serde(borrow, rename = "type")]
    kind: Scalar<'a>,
    #[serde(borrow)]
    id: Scalar<'a>,
    #[serde(borrow)]
    flags: Scalar<'a>,
    #[serde(borrow)]
    qr: Scalar<'a>,
    #[serde(borrow)]
    aa: Scalar<'a>,
    #[serde(borrow)]
    tc: Scalar<'a>,
    #[serde(borrow)]
    rd: Scalar<'a>,
    #[serde(borrow)]
    ra: Scalar<'a>,
    #[serde(borrow)]
    rcode: Scalar<'a>,
    #[serde(borrow)]
    rrname: Scalar<'a>,
    #[serde(borrow)]
    rrtype: Scalar<'a>,
    #[serde(borrow)]
    ttl: Scalar<'a>,
    #[serde(borrow)]
    rdata: Scalar<'a>,
    #[serde(borrow)]
    queries: Option<Vec<Record<'a>>>,
    #[serde(borrow)]
    answers: Option<Vec<Record<'a>>>,
    #[serde(borrow)]
    grouped: Option<BTreeMap<Cow<'a, str>, Vec<Scalar<'a>>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Record<'a> {
    #[serde(borrow)]
    rrname: Scalar<'a>,
    #[serde(borrow)]
    rrtype: Scalar<'a>,
    #[serde(borrow)]
    ttl: Scalar<'a>,
    #[serde(borrow)]
    rdata: Scalar<'a>,
}

fn invalid(field: &'static str, expected: &'static str) -> ParseError {
    ParseError::invalid(field, expected)
}

const RRTYPE: &str = "a record type such as \"A\"";

fn address(value: &Scalar<'_>, field: &'static str) -> Result<Option<IpAddr>, ParseError> {
    match value {
        Scalar::Null => Ok(None),
        other => other
            .as_str()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or(invalid(field, "an IP address string")),
    }
}

fn rrtype(value: &Scalar<'_>, field: &'static str) -> Result<u16, ParseError> {
    value.as_code(rtype_code).ok_or(invalid(field, RRTYPE))
}

/// A TTL: a whole number of seconds, or absent.
fn ttl(value: &Scalar<'_>) -> Result<Option<u32>, ParseError> {
    match value {
        Scalar::Null => Ok(None),
        Scalar::Unsigned(t) => u32::try_from(*t)
            .map(Some)
            .map_err(|_| invalid("dns.answers.ttl", "a number of seconds")),
        _ => Err(invalid("dns.answers.ttl", "a number of seconds")),
    }
}

/// Record data as text (Suricata writes strings; SSHFP and some others as objects, which
/// are kept out).
fn rdata<'v>(value: &'v Scalar<'_>) -> &'v [u8] {
    value.as_str().unwrap_or_default().as_bytes()
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = trim_start(prepare(line)?);
        if line.is_empty() {
            return Ok(None);
        }
        if line[0] != b'{' {
            return Err(not_json());
        }
        let eve: Eve<'_> = serde_json::from_slice(line).map_err(|_| not_json())?;
        match eve.event_type.as_str() {
            Some("dns") => {}
            Some(_) => return Ok(None),
            None => return Err(ParseError::missing("event_type", "an eve.json event_type")),
        }
        let dns = eve
            .dns
            .ok_or(ParseError::missing("dns", "the dns object of a dns event"))?;
        const TYPE: &str = "\"query\", \"answer\", \"request\" or \"response\"";
        let response = match dns.kind.as_str() {
            Some("query" | "request") => false,
            Some("answer" | "response") => true,
            Some(_) => return Err(invalid("dns.type", TYPE)),
            None => return Err(ParseError::missing("dns.type", TYPE)),
        };
        const TS: &str = "an RFC 3339 timestamp";
        let ts = match &eve.timestamp {
            Scalar::Null => 0,
            other => other
                .as_str()
                .and_then(|s| parse_rfc3339(s).ok())
                .ok_or(invalid("timestamp", TS))?,
        };
        let ts = checked_ts(ts, "timestamp")?;
        let (src, dst) = (
            address(&eve.src_ip, "src_ip")?,
            address(&eve.dest_ip, "dest_ip")?,
        );
        let (client, server) = if response { (dst, src) } else { (src, dst) };
        let transport = match eve.proto.as_str() {
            Some(p) if p.eq_ignore_ascii_case("udp") => Transport::Udp,
            Some(p) if p.eq_ignore_ascii_case("tcp") => Transport::Tcp,
            _ => Transport::Unknown,
        };
        let id = match &dns.id {
            Scalar::Null => None,
            other => Some(
                other
                    .as_u16()
                    .ok_or(invalid("dns.id", "a number from 0 to 65535"))?,
            ),
        };
        let rcode = match &dns.rcode {
            Scalar::Null => None,
            other => Some(
                other
                    .as_code(rcode_code)
                    .ok_or(invalid("dns.rcode", "a response code such as \"NXDOMAIN\""))?,
            ),
        };
        // Version 3 queries sets rcode NOERROR; only a response has one.
        let rcode = if response { rcode.or(Some(0)) } else { None };
        let flags = match &dns.flags {
            Scalar::Null => {
                let bit = |value: &Scalar<'_>, flag: u16| {
                    if value.as_bool() == Some(true) {
                        flag
                    } else {
                        0
                    }
                };
                let qr = if response { QR } else { 0 };
                qr | bit(&dns.aa, AA)
                    | bit(&dns.tc, TC)
                    | bit(&dns.rd, RD)
                    | bit(&dns.ra, RA)
                    | (rcode.unwrap_or(0) & 0x000f)
            }
            other => other
                .as_str()
                .and_then(|s| parse_hex_u16(s.as_bytes()))
                .ok_or(invalid("dns.flags", "hex digits such as \"8180\""))?,
        };

        // The question: the first of `queries` (v3), else rrname and rrtype.
        let question = dns.queries.as_ref().and_then(|q| q.first());
        let (qname, qtype) = match question {
            Some(q) => (&q.rrname, &q.rrtype),
            None => (&dns.rrname, &dns.rrtype),
        };
        let mut event = DnsEvent {
            ts,
            client,
            server,
            transport,
            direction: if response {
                Direction::Response
            } else {
                Direction::Query
            },
            id,
            rcode,
            flags,
            qtype: match qtype {
                Scalar::Null => 0,
                other => rrtype(other, "dns.rrtype")?,
            },
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        let qname = match qname {
            Scalar::Null => "",
            other => other.as_str().ok_or(invalid("dns.rrname", "a string"))?,
        };
        set_qname(&mut event, qname.as_bytes())?;

        if !response {
            return Ok(Some(event));
        }
        if let Some(answers) = &dns.answers {
            for a in answers {
                let name = a.rrname.as_str().unwrap_or_default();
                let rtype = rrtype(&a.rrtype, "dns.answers.rrtype")?;
                let record = answer(name.as_bytes(), rtype, ttl(&a.ttl)?, rdata(&a.rdata))?;
                event.answers.push(record);
            }
        } else if let Some(grouped) = &dns.grouped {
            for (kind, values) in grouped {
                let rtype = rtype_code(kind).ok_or(invalid("dns.grouped", RRTYPE))?;
                for value in values {
                    let mut record = answer(b"", rtype, None, rdata(value))?;
                    record.name.clone_from(&event.qname);
                    event.answers.push(record);
                }
            }
        } else if !dns.rdata.is_null() {
            // Version 1: one record per event, which is also all there is of the question.
            let record = answer(
                qname.as_bytes(),
                event.qtype,
                ttl(&dns.ttl)?,
                rdata(&dns.rdata),
            )?;
            event.answers.push(record);
        }
        Ok(Some(event))
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
    fn version_2() {
        check(
            r#"{"timestamp":"2019-08-22T23:48:27.924120+0000","flow_id":885455453886936,"in_iface":"enp0s3","event_type":"dns","src_ip":"10.0.2.15","src_port":46686,"dest_ip":"10.0.2.3","dest_port":53,"proto":"UDP","dns":{"type":"query","id":51803,"rrname":"google.com","rrtype":"A","tx_id":0}}"#,
            r#"{"ts":"2019-08-22T23:48:27.924120Z","client":"10.0.2.15","server":"10.0.2.3","transport":"udp","direction":"query","id":51803,"qname":"google.com","registered_domain":"google.com","qtype":"A","flags":0}"#,
        );
        check(
            r#"{"timestamp":"2019-08-22T23:48:27.950946+0000","event_type":"dns","src_ip":"10.0.2.3","dest_ip":"10.0.2.15","proto":"UDP","dns":{"version":2,"type":"answer","id":39523,"flags":"8180","qr":true,"rd":true,"ra":true,"rcode":"NOERROR","rrname":"google.com","rrtype":"AAAA","answers":[{"rrname":"google.com","rrtype":"AAAA","ttl":272,"rdata":"2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6"}],"grouped":{"AAAA":["2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6"]}}}"#,
            r#"{"ts":"2019-08-22T23:48:27.950946Z","client":"10.0.2.15","server":"10.0.2.3","transport":"udp","direction":"response","id":39523,"qname":"google.com","registered_domain":"google.com","qtype":"AAAA","rcode":"NOERROR","flags":33152,"answers":[{"name":"google.com","rtype":"AAAA","ttl":272,"data":"2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6"}]}"#,
        );
        // Grouped answers only, flags from the booleans.
        check(
            r#"{"timestamp":"2019-08-22T23:48:27Z","event_type":"dns","dns":{"type":"answer","aa":true,"rd":true,"rcode":"NXDOMAIN","rrname":"x.com","rrtype":"A","grouped":{"A":["1.2.3.4"],"CNAME":["y.com"]}}}"#,
            r#"{"ts":"2019-08-22T23:48:27Z","transport":"unknown","direction":"response","qname":"x.com","registered_domain":"x.com","qtype":"A","rcode":"NXDOMAIN","flags":34051,"answers":[{"name":"x.com","rtype":"A","data":"1.2.3.4"},{"name":"x.com","rtype":"CNAME","data":"y.com"}]}"#,
        );
        // One record per event.
        check(
            r#"{"timestamp":"2019-08-23T01:22:31.846575+0000","event_type":"dns","src_ip":"10.0.2.3","dest_ip":"10.0.2.15","proto":"UDP","dns":{"type":"answer","id":28329,"flags":"8180","qr":true,"rd":true,"ra":true,"rcode":"NOERROR","rrname":"www.yahoo.com","rrtype":"CNAME","ttl":1315,"rdata":"atsv2-fp-shed.wg1.b.yahoo.com"}}"#,
            r#"{"ts":"2019-08-23T01:22:31.846575Z","client":"10.0.2.15","server":"10.0.2.3","transport":"udp","direction":"response","id":28329,"qname":"www.yahoo.com","registered_domain":"yahoo.com","qtype":"CNAME","rcode":"NOERROR","flags":33152,"answers":[{"name":"www.yahoo.com","rtype":"CNAME","ttl":1315,"data":"atsv2-fp-shed.wg1.b.yahoo.com"}]}"#,
        );
    }

    #[test]
    fn version_3() {
        check(
            r#"{"event_type":"dns","dns":{"version":3,"type":"request","tx_id":0,"id":0,"flags":"100","rd":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"www.suricata.io","rrtype":"A"}]}}"#,
            r#"{"ts":"1970-01-01T00:00:00Z","transport":"unknown","direction":"query","id":0,"qname":"www.suricata.io","registered_domain":"suricata.io","qtype":"A","flags":256}"#,
        );
        check(
            r#"{"event_type":"dns","dns":{"version":3,"type":"response","tx_id":1,"id":0,"flags":"8180","qr":true,"rd":true,"ra":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"www.suricata.io","rrtype":"A"}],"answers":[{"rrname":"www.suricata.io","rrtype":"CNAME","ttl":3597,"rdata":"suricata.io"},{"rrname":"suricata.io","rrtype":"A","ttl":597,"rdata":"35.212.0.44"}]}}"#,
            r#"{"ts":"1970-01-01T00:00:00Z","transport":"unknown","direction":"response","id":0,"qname":"www.suricata.io","registered_domain":"suricata.io","qtype":"A","rcode":"NOERROR","flags":33152,"answers":[{"name":"www.suricata.io","rtype":"CNAME","ttl":3597,"data":"suricata.io"},{"name":"suricata.io","rtype":"A","ttl":597,"data":"35.212.0.44"}]}"#,
        );
    }

    /// The timestamp bound the fuzzers found missing in the Zeek and JSON decoders: a zone
    /// can move year 0000 to year -1, which RFC 3339 cannot write.
    #[test]
    fn regression_timestamp_before_year_0000() {
        refused(
            r#"{"timestamp":"0000-01-01T00:00:00+0100","event_type":"dns","dns":{"type":"query","rrname":"a.com","rrtype":"A"}}"#,
            "timestamp",
        );
    }

    #[test]
    fn other_events_and_bad_lines() {
        assert_eq!(decode(""), Ok(None));
        assert_eq!(
            decode(
                r#"{"timestamp":"2019-08-22T23:48:27Z","event_type":"flow","flow":{"pkts_toserver":1}}"#
            ),
            Ok(None)
        );
        refused("[1]", "line");
        refused(r#"{"dns":{}}"#, "event_type");
        refused(r#"{"event_type":"dns"}"#, "dns");
        refused(
            r#"{"event_type":"dns","dns":{"rrname":"a.com"}}"#,
            "dns.type",
        );
        refused(r#"{"event_type":"dns","dns":{"type":"x"}}"#, "dns.type");
        let q = r#"{"timestamp":"2019-08-22T23:48:27Z","event_type":"dns","src_ip":"10.0.0.1","dns":{"type":"query","rrname":"a.com","rrtype":"A"}}"#;
        assert!(decode(q).is_ok_and(|e| e.is_some()));
        refused(&q.replace("2019-08-22T23:48:27Z", "noon"), "timestamp");
        refused(&q.replace("10.0.0.1", "ten"), "src_ip");
        refused(&q.replace(r#""A""#, r#""QQ""#), "dns.rrtype");
        refused(&q.replace("a.com", "a..com"), "qname");
        refused(
            &q.replace(r#""type":"query""#, r#""type":"query","id":-2"#),
            "dns.id",
        );
        refused(
            &q.replace(r#""type":"query""#, r#""type":"query","flags":"zz""#),
            "dns.flags",
        );
        let a = r#"{"event_type":"dns","dns":{"type":"answer","rcode":"NOERROR","rrname":"a.com","rrtype":"A","answers":[{"rrname":"a.com","rrtype":"A","ttl":5,"rdata":"1.2.3.4"}]}}"#;
        assert!(decode(a).is_ok_and(|e| e.is_some()));
        refused(&a.replace("NOERROR", "FINE"), "dns.rcode");
        refused(&a.replace(r#""ttl":5"#, r#""ttl":-5"#), "dns.answers.ttl");
        refused(
            &a.replace(r#""rrtype":"A","ttl""#, r#""rrtype":"Q","ttl""#),
            "dns.answers.rrtype",
        );
    }
}
