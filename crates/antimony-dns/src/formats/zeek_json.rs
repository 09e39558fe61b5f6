//! Zeek's `dns.log` written as JSON lines (`LogAscii::use_json=T`).
//!
//! ```text
//! {"ts":1547188415.857497,"uid":"CAcJw21BbVedgFnYH3","id.orig_h":"192.168.86.167","id.orig_p":38339,"id.resp_h":"192.168.86.1","id.resp_p":53,"proto":"udp","trans_id":15209,"query":"example.com","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"answers":["35.199.178.4"],"TTLs":[59.0]}
//! ```
//!
//! The same records as the [TSV form](super::zeek), read the same way: a response when the
//! record has a response code or answers, answers named after the question with guessed
//! types. Zeek leaves unset fields out; `uid`, which every Zeek log has, must be present
//! (it tells Zeek's lines from other JSON). `ts` is seconds since 1970, or RFC 3339 text
//! with `LogAscii::json_timestamps=JSON::TS_ISO8601`. Each line is decoded alone.

use std::sync::Arc;

use serde::Deserialize;

use super::json_lines::{Scalar, epoch_micros, not_json};
use super::util::{answer, checked_ts, rtype_of_data, set_qname, trim_start};
use super::zeek::flags;
use super::{DecodeOptions, LineDecoder, ParseError, prepare};
use crate::codes::{rcode_code, rtype_code};
use crate::time::parse_rfc3339;
use crate::{Direction, DnsEvent, Transport};

/// Decoder for Zeek's JSON `dns.log`; see the [module](self) documentation.
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

/// The fields of one record that the decoder reads.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Record<'a> {
    #[serde(borrow)]
    ts: Scalar<'a>,
    #[serde(borrow)]
    uid: Scalar<'a>,
    #[serde(borrow, rename = "id.orig_h")]
    orig_h: Scalar<'a>,
    #[serde(borrow, rename = "id.resp_h")]
    resp_h: Scalar<'a>,
    #[serde(borrow)]
    proto: Scalar<'a>,
    #[serde(borrow)]
    trans_id: Scalar<'a>,
    #[serde(borrow)]
    query: Scalar<'a>,
    #[serde(borrow)]
    qtype: Scalar<'a>,
    #[serde(borrow)]
    qtype_name: Scalar<'a>,
    #[serde(borrow)]
    rcode: Scalar<'a>,
    #[serde(borrow)]
    rcode_name: Scalar<'a>,
    #[serde(borrow, rename = "AA")]
    aa: Scalar<'a>,
    #[serde(borrow, rename = "TC")]
    tc: Scalar<'a>,
    #[serde(borrow, rename = "RD")]
    rd: Scalar<'a>,
    #[serde(borrow, rename = "RA")]
    ra: Scalar<'a>,
    #[serde(borrow)]
    answers: Option<Vec<Scalar<'a>>>,
    #[serde(borrow, rename = "TTLs")]
    ttls: Option<Vec<Scalar<'a>>>,
}

fn invalid(field: &'static str, expected: &'static str) -> ParseError {
    ParseError::invalid(field, expected)
}

/// An optional boolean field.
fn flag(value: &Scalar<'_>, field: &'static str) -> Result<bool, ParseError> {
    match value {
        Scalar::Null => Ok(false),
        other => other.as_bool().ok_or(invalid(field, "true or false")),
    }
}

/// An optional IP address field.
fn address(
    value: &Scalar<'_>,
    field: &'static str,
) -> Result<Option<std::net::IpAddr>, ParseError> {
    match value {
        Scalar::Null => Ok(None),
        other => other
            .as_str()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or(invalid(field, "an IP address string")),
    }
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
        let r: Record<'_> = serde_json::from_slice(line).map_err(|_| not_json())?;
        if r.uid.is_null() {
            return Err(ParseError::missing("uid", "a Zeek connection uid"));
        }
        const TS: &str = "seconds since 1970 or an RFC 3339 string";
        let ts = match &r.ts {
            Scalar::Null => return Err(ParseError::missing("ts", TS)),
            Scalar::Str(s) => parse_rfc3339(s).map_err(|_| invalid("ts", TS))?,
            other => epoch_micros(other).ok_or(invalid("ts", TS))?,
        };
        let ts = checked_ts(ts, "ts")?;
        let transport = match r.proto.as_str() {
            Some("udp") => Transport::Udp,
            Some("tcp") => Transport::Tcp,
            _ => Transport::Unknown,
        };
        let id = match &r.trans_id {
            Scalar::Null => None,
            other => Some(
                other
                    .as_u16()
                    .ok_or(invalid("trans_id", "a number from 0 to 65535"))?,
            ),
        };
        let rcode = match (&r.rcode, &r.rcode_name) {
            (Scalar::Null, Scalar::Null) => None,
            (Scalar::Null, name) => Some(
                name.as_code(rcode_code)
                    .ok_or(invalid("rcode_name", "a response code name"))?,
            ),
            (code, _) => Some(
                code.as_u16()
                    .ok_or(invalid("rcode", "a response code number"))?,
            ),
        };
        let qtype = match (&r.qtype, &r.qtype_name) {
            (Scalar::Null, Scalar::Null) => 0,
            (Scalar::Null, name) => name
                .as_code(rtype_code)
                .ok_or(invalid("qtype_name", "a record type name"))?,
            (code, _) => code
                .as_u16()
                .ok_or(invalid("qtype", "a record type number"))?,
        };
        let bits = [
            flag(&r.aa, "AA")?,
            flag(&r.tc, "TC")?,
            flag(&r.rd, "RD")?,
            flag(&r.ra, "RA")?,
        ];
        let answers = r.answers.unwrap_or_default();
        let response = rcode.is_some() || !answers.is_empty();
        let mut event = DnsEvent {
            ts,
            client: address(&r.orig_h, "id.orig_h")?,
            server: address(&r.resp_h, "id.resp_h")?,
            transport,
            direction: if response {
                Direction::Response
            } else {
                Direction::Query
            },
            id,
            qtype,
            rcode,
            flags: flags(response, rcode, bits),
            sensor: self.sensor.clone(),
            ..DnsEvent::default()
        };
        let query = match &r.query {
            Scalar::Null => "",
            other => other.as_str().ok_or(invalid("query", "a string"))?,
        };
        set_qname(&mut event, query.as_bytes())?;
        let ttls = r.ttls.unwrap_or_default();
        for (i, data) in answers.iter().enumerate() {
            let data = data
                .as_str()
                .ok_or(invalid("answers", "an array of strings"))?;
            // Intervals are seconds as floating point; a TTL is whole seconds.
            let ttl = match ttls.get(i) {
                Some(Scalar::Float(f)) if (0.0..4.3e9).contains(f) => Some(*f as u32),
                Some(other) => other.as_u16().map(u32::from),
                None => None,
            };
            let rtype = rtype_of_data(data.as_bytes(), qtype);
            let mut record = answer(b"", rtype, ttl, data.as_bytes())?;
            record.name.clone_from(&event.qname);
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
    fn records() {
        check(
            r#"{"ts":1547188415.857497,"uid":"CAcJw21BbVedgFnYH3","id.orig_h":"192.168.86.167","id.orig_p":38339,"id.resp_h":"192.168.86.1","id.resp_p":53,"proto":"udp","trans_id":15209,"rtt":0.076967,"query":"dd625ffb4fc54735b281862aa1cd6cd4.us-west1.gcp.cloud.es.io","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["proxy-production-us-west1.gcp.cloud.es.io","35.199.178.4"],"TTLs":[119.0,59.0],"rejected":false}"#,
            r#"{"ts":"2019-01-11T06:33:35.857497Z","client":"192.168.86.167","server":"192.168.86.1","transport":"udp","direction":"response","id":15209,"qname":"dd625ffb4fc54735b281862aa1cd6cd4.us-west1.gcp.cloud.es.io","registered_domain":"es.io","qtype":"A","rcode":"NOERROR","flags":33152,"answers":[{"name":"dd625ffb4fc54735b281862aa1cd6cd4.us-west1.gcp.cloud.es.io","rtype":"CNAME","ttl":119,"data":"proxy-production-us-west1.gcp.cloud.es.io"},{"name":"dd625ffb4fc54735b281862aa1cd6cd4.us-west1.gcp.cloud.es.io","rtype":"A","ttl":59,"data":"35.199.178.4"}]}"#,
        );
        // A query with no response, ISO timestamps, names for the codes.
        check(
            r#"{"ts":"2019-08-29T16:23:50.680046Z","uid":"C1","id.orig_h":"fe80::4ef:15cf:769f:ff21","id.resp_h":"ff02::fb","proto":"udp","trans_id":0,"query":"_googlecast._tcp.local","qtype_name":"PTR","AA":false,"TC":false,"RD":false,"RA":false}"#,
            r#"{"ts":"2019-08-29T16:23:50.680046Z","client":"fe80::4ef:15cf:769f:ff21","server":"ff02::fb","transport":"udp","direction":"query","id":0,"qname":"_googlecast._tcp.local","registered_domain":"_tcp.local","qtype":"PTR","flags":0}"#,
        );
    }

    /// Found by fuzzing (`zeek_json` target): `514718841845.7497` seconds (year 18280) was
    /// accepted, and its JSON line could not be read back.
    #[test]
    fn regression_fuzz_timestamp_after_year_9999() {
        refused(
            r#"{"ts":514718841845.7497,"uid":"C","query":"a.com"}"#,
            "ts",
        );
    }

    #[test]
    fn bad_lines_name_the_field() {
        refused("not json", "line");
        refused(r#"{"ts":1,"query":"a.com"}"#, "uid");
        refused(r#"{"uid":"C","query":"a.com"}"#, "ts");
        refused(r#"{"uid":"C","ts":"soon"}"#, "ts");
        refused(r#"{"uid":"C","ts":1,"id.orig_h":"x"}"#, "id.orig_h");
        refused(r#"{"uid":"C","ts":1,"trans_id":-1}"#, "trans_id");
        refused(r#"{"uid":"C","ts":1,"rcode":"zero"}"#, "rcode");
        refused(r#"{"uid":"C","ts":1,"qtype":1.5}"#, "qtype");
        refused(r#"{"uid":"C","ts":1,"AA":"yes"}"#, "AA");
        refused(r#"{"uid":"C","ts":1,"query":7}"#, "query");
        refused(r#"{"uid":"C","ts":1,"query":"a..b"}"#, "qname");
        refused(r#"{"uid":"C","ts":1,"answers":[1]}"#, "answers");
        refused(r#"{"uid":"C","ts":1,"answers":"1.2.3.4"}"#, "line");
    }
}
