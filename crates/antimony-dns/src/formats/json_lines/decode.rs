//! The decoder of JSON lines: each line parsed into Antimony's fields (under their own names
//! and aliases, or where a [`FieldMap`] says), then checked and made into a [`DnsEvent`].

use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::FieldMap;
use super::scalar::{Scalar, epoch_micros, not_json};
use crate::codes::{rcode_code, rtype_code};
use crate::formats::util::{checked_ts, trim_start};
use crate::formats::{DecodeOptions, LineDecoder, ParseError, prepare};
use crate::time::parse_rfc3339;
use crate::{Answer, Direction, DnsEvent, Transport, domain};

/// Header flag bit: this message is a response.
const QR: u16 = 0x8000;

/// Decoder for JSON lines; see the [module](super) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    sensor: Option<Arc<str>>,
    /// Where to find each field, when the lines are not in Antimony's own shape.
    fields: Option<Arc<FieldMap>>,
}

impl Decoder {
    /// A decoder that puts the given sensor name in events whose line has none.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            sensor: options.sensor.clone(),
            fields: None,
        }
    }

    /// A decoder for JSON lines of another shape, reading each field where `fields` says
    /// (see [`FieldMap`]).
    pub fn with_fields(options: &DecodeOptions, fields: FieldMap) -> Self {
        Decoder {
            sensor: options.sensor.clone(),
            fields: Some(Arc::new(fields)),
        }
    }
}

/// The fields of one line, as parsed before checking.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Line<'a> {
    #[serde(borrow, alias = "timestamp", alias = "time", alias = "@timestamp")]
    pub(super) ts: Scalar<'a>,
    #[serde(borrow, alias = "src_ip", alias = "client_ip")]
    pub(super) client: Scalar<'a>,
    #[serde(borrow, alias = "dst_ip", alias = "server_ip")]
    pub(super) server: Scalar<'a>,
    #[serde(borrow, alias = "proto", alias = "protocol")]
    pub(super) transport: Scalar<'a>,
    #[serde(borrow)]
    pub(super) direction: Scalar<'a>,
    #[serde(borrow)]
    pub(super) id: Scalar<'a>,
    #[serde(borrow, alias = "query", alias = "question", alias = "query_name")]
    pub(super) qname: Scalar<'a>,
    #[serde(borrow, alias = "query_type")]
    pub(super) qtype: Scalar<'a>,
    #[serde(borrow, alias = "response_code")]
    pub(super) rcode: Scalar<'a>,
    #[serde(borrow)]
    pub(super) flags: Scalar<'a>,
    #[serde(borrow)]
    pub(super) answers: Option<Vec<LineAnswer<'a>>>,
    #[serde(borrow)]
    pub(super) sensor: Scalar<'a>,
}

/// One element of `answers`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct LineAnswer<'a> {
    #[serde(borrow)]
    pub(super) name: Scalar<'a>,
    #[serde(borrow, alias = "type")]
    pub(super) rtype: Scalar<'a>,
    #[serde(borrow)]
    pub(super) ttl: Scalar<'a>,
    #[serde(borrow, alias = "rdata")]
    pub(super) data: Scalar<'a>,
}

pub(super) fn invalid(field: &'static str, expected: &'static str) -> ParseError {
    ParseError::invalid(field, expected)
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = trim_start(prepare(line)?);
        if line.is_empty() {
            return Ok(None);
        }
        // serde would read a struct from an array too, by position: refuse that here.
        if line[0] != b'{' {
            return Err(not_json());
        }
        match &self.fields {
            None => {
                let fields: Line<'_> = serde_json::from_slice(line).map_err(|_| not_json())?;
                self.build(fields).map(Some)
            }
            // A map needs the whole tree: paths can go anywhere in it.
            Some(map) => {
                let value: Value = serde_json::from_slice(line).map_err(|_| not_json())?;
                let fields = map.read(&value)?;
                self.build(fields).map(Some)
            }
        }
    }
}

impl Decoder {
    /// Checks the fields of a line and makes the event.
    fn build(&self, fields: Line<'_>) -> Result<DnsEvent, ParseError> {
        const TS: &str = "an RFC 3339 string or a number of seconds since 1970";
        let ts = match &fields.ts {
            Scalar::Null => return Err(ParseError::missing("ts", TS)),
            Scalar::Str(s) => parse_rfc3339(s).map_err(|_| invalid("ts", TS))?,
            other => epoch_micros(other).ok_or(invalid("ts", TS))?,
        };
        let ts = checked_ts(ts, "ts")?;
        let address = |value: &Scalar<'_>, field| -> Result<Option<IpAddr>, ParseError> {
            if value.is_null() {
                return Ok(None);
            }
            let text = value
                .as_str()
                .ok_or(invalid(field, "an IP address string"))?;
            text.parse()
                .map(Some)
                .map_err(|_| invalid(field, "an IP address string"))
        };
        let client = address(&fields.client, "client")?;
        let server = address(&fields.server, "server")?;
        const TRANSPORT: &str = "\"udp\", \"tcp\" or \"unknown\"";
        let transport = match &fields.transport {
            Scalar::Null => Transport::Unknown,
            value => match value.as_str() {
                Some(t) if t.eq_ignore_ascii_case("udp") => Transport::Udp,
                Some(t) if t.eq_ignore_ascii_case("tcp") => Transport::Tcp,
                Some(t) if t.eq_ignore_ascii_case("unknown") => Transport::Unknown,
                _ => return Err(invalid("transport", TRANSPORT)),
            },
        };
        const DIRECTION: &str = "\"query\" or \"response\"";
        let direction = match &fields.direction {
            Scalar::Null => None,
            value => match value.as_str() {
                Some(d) if d.eq_ignore_ascii_case("query") => Some(Direction::Query),
                Some(d) if d.eq_ignore_ascii_case("response") => Some(Direction::Response),
                _ => return Err(invalid("direction", DIRECTION)),
            },
        };
        let id = match &fields.id {
            Scalar::Null => None,
            value => Some(
                value
                    .as_u16()
                    .ok_or(invalid("id", "a number from 0 to 65535"))?,
            ),
        };
        const QTYPE: &str = "a record type such as \"AAAA\" or 28";
        let qtype = match &fields.qtype {
            Scalar::Null => return Err(ParseError::missing("qtype", QTYPE)),
            value => value.as_code(rtype_code).ok_or(invalid("qtype", QTYPE))?,
        };
        const RCODE: &str = "a response code such as \"NXDOMAIN\" or 3";
        let rcode = match &fields.rcode {
            Scalar::Null => None,
            value => Some(value.as_code(rcode_code).ok_or(invalid("rcode", RCODE))?),
        };
        const FLAGS: &str = "a number from 0 to 65535 or a hex string such as \"0x8180\"";
        let flags = match &fields.flags {
            Scalar::Null => None,
            Scalar::Str(s) if s.starts_with("0x") || s.starts_with("0X") => {
                Some(u16::from_str_radix(&s[2..], 16).map_err(|_| invalid("flags", FLAGS))?)
            }
            value => Some(value.as_u16().ok_or(invalid("flags", FLAGS))?),
        };
        let answers = match fields.answers {
            Some(list) => list.iter().map(answer).collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let sensor = match &fields.sensor {
            Scalar::Null => self.sensor.clone(),
            value => Some(Arc::from(
                value.as_str().ok_or(invalid("sensor", "a string"))?,
            )),
        };

        // The direction, from the best evidence the line gives.
        let direction = direction.unwrap_or(match flags {
            Some(f) if f & QR != 0 => Direction::Response,
            Some(_) => Direction::Query,
            None if rcode.is_some() || !answers.is_empty() => Direction::Response,
            None => Direction::Query,
        });
        let flags = flags.unwrap_or(match direction {
            Direction::Response => QR | (rcode.unwrap_or(0) & 0x000f),
            Direction::Query => 0,
        });

        let mut event = DnsEvent {
            ts,
            client,
            server,
            transport,
            direction,
            id,
            qtype,
            rcode,
            flags,
            answers,
            sensor,
            ..DnsEvent::default()
        };
        let qname = match &fields.qname {
            Scalar::Null => return Err(ParseError::missing("qname", "a question name")),
            value => value.as_str().ok_or(invalid("qname", "a string"))?,
        };
        event
            .set_qname(qname)
            .map_err(|e| ParseError::name("qname", e))?;
        Ok(event)
    }
}

/// One answer record, checked.
fn answer(a: &LineAnswer<'_>) -> Result<Answer, ParseError> {
    let name = match a.name.as_str() {
        Some(name) => domain::normalise(name).map_err(|e| ParseError::name("answers.name", e))?,
        None if a.name.is_null() => String::new(),
        None => return Err(invalid("answers.name", "a string")),
    };
    const RTYPE: &str = "a record type such as \"A\" or 1";
    let rtype = match &a.rtype {
        Scalar::Null => return Err(ParseError::missing("answers.rtype", RTYPE)),
        value => value
            .as_code(rtype_code)
            .ok_or(invalid("answers.rtype", RTYPE))?,
    };
    let ttl = match a.ttl {
        Scalar::Null => None,
        Scalar::Unsigned(t) => {
            Some(u32::try_from(t).map_err(|_| invalid("answers.ttl", "a number of seconds"))?)
        }
        _ => return Err(invalid("answers.ttl", "a number of seconds")),
    };
    let data = match &a.data {
        Scalar::Null => String::new(),
        value => value
            .as_str()
            .ok_or(invalid("answers.data", "a string"))?
            .to_owned(),
    };
    Ok(Answer {
        name,
        rtype,
        ttl,
        data,
    })
}
