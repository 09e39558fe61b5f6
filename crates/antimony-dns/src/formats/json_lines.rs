//! JSON lines with Antimony's own field names: what `antimony parse` prints, and what other
//! tools can be made to write.
//!
//! ```text
//! {"ts":"2017-08-12T09:35:32Z","client":"212.77.192.37","transport":"udp","direction":"response","id":32936,"qname":"ns1.ctc.gov.qa","qtype":"A","rcode":"NOERROR","flags":32784}
//! ```
//!
//! | field | value | aliases |
//! |---|---|---|
//! | `ts` (required) | RFC 3339 string, or seconds since the epoch as a number | `timestamp`, `time`, `@timestamp` |
//! | `qname` (required) | the question name, any case, trailing dot or not | `query`, `question`, `query_name` |
//! | `qtype` (required) | a mnemonic (`"AAAA"`, `"TYPE65"`) or a number | `query_type` |
//! | `client`, `server` | IP address strings | `src_ip`, `client_ip`; `dst_ip`, `server_ip` |
//! | `transport` | `"udp"`, `"tcp"` or `"unknown"` | `proto`, `protocol` |
//! | `direction` | `"query"` or `"response"` | |
//! | `id` | message id, 0 to 65535 | |
//! | `rcode` | a mnemonic (`"NXDOMAIN"`) or a number | `response_code` |
//! | `flags` | header flags in wire order, a number or a `"0x8180"` string | |
//! | `answers` | `[{"name", "rtype" (or `type`), "ttl", "data" (or `rdata`)}]` | |
//! | `sensor` | text; overrides the decoder's sensor option | |
//!
//! Other fields (such as the `registered_domain` that [`to_json_line`] writes) are ignored,
//! `null` is the same as absent. Without `direction`, the QR bit of `flags` decides, and
//! without `flags` an `rcode` or answers make a response. Without `flags`, they are made from
//! the direction and the response code.
//!
//! [`to_json_line`] writes an event back; decoding what it wrote gives the same event.
//!
//! JSON logs of any other shape (ECS, a SIEM export, a resolver's own JSON) are read with
//! a [`FieldMap`] that says where each field is, as dotted paths (`dns.question.name`):
//! [`Decoder::with_fields`], turned into a [`formats::Decoder`](super::Decoder) with
//! `.into()`. Format detection cannot guess a map. Reading through a map parses the whole
//! line into a tree first, so it is a few times slower than the fixed shape.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::util::{checked_ts, rtype_of_data, trim_start};
use super::{DecodeOptions, LineDecoder, ParseError, ParseErrorKind, prepare};
use crate::codes::{parse_u16, rcode_code, rcode_name, rtype_code, rtype_name};
use crate::time::{MICROS_PER_SECOND, parse_rfc3339, write_rfc3339};
use crate::{Answer, Direction, DnsEvent, Transport, domain};
use antimony_core::text::{push_int, push_ip, push_json_str};

/// Header flag bit: this message is a response.
const QR: u16 = 0x8000;

/// Decoder for JSON lines; see the [module](self) documentation.
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

/// Where a JSON log keeps each of Antimony's fields, for JSON lines of any shape (ECS,
/// a SIEM export, a resolver's own JSON).
///
/// Each entry is a path: object keys joined by dots (`dns.question.name`). A key that
/// itself contains dots, as Zeek's `id.orig_h` does, is found too: at each level the
/// longest key that matches wins. A field left out is looked up under Antimony's own name
/// and its aliases (see the [module](self) table); `answers` must lead to an array of
/// objects of that table's shape or of strings (record data, whose type is guessed: an IPv4
/// address is A, an IPv6 address AAAA, a name CNAME).
///
/// ```
/// use antimony_dns::formats::json_lines::{Decoder, FieldMap};
/// use antimony_dns::formats::{DecodeOptions, LineDecoder};
///
/// let fields: FieldMap = serde_json::from_str(
///     r#"{"ts": "@timestamp", "qname": "dns.question.name", "qtype": "dns.question.type",
///         "client": "source.ip"}"#,
/// ).unwrap_or_default();
/// let mut decoder = Decoder::with_fields(&DecodeOptions::default(), fields);
/// let line = br#"{"@timestamp":"2026-11-26T06:46:47Z","source":{"ip":"10.0.0.7"},
///     "dns":{"question":{"name":"example.com","type":"AAAA"}}}"#;
/// let event = decoder.decode_line(line).ok().flatten();
/// assert_eq!(event.map(|e| (e.qname, e.qtype)), Some(("example.com".to_owned(), 28)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldMap {
    /// Path of the timestamp (RFC 3339 text or seconds since 1970).
    pub ts: Option<String>,
    /// Path of the client address.
    pub client: Option<String>,
    /// Path of the server address.
    pub server: Option<String>,
    /// Path of the transport (`udp`, `tcp`).
    pub transport: Option<String>,
    /// Path of the direction (`query`, `response`).
    pub direction: Option<String>,
    /// Path of the message id.
    pub id: Option<String>,
    /// Path of the question name.
    pub qname: Option<String>,
    /// Path of the question type (mnemonic or number).
    pub qtype: Option<String>,
    /// Path of the response code (mnemonic or number).
    pub rcode: Option<String>,
    /// Path of the header flags (number or `"0x8180"`).
    pub flags: Option<String>,
    /// Path of the answers (an array).
    pub answers: Option<String>,
    /// Path of the sensor name.
    pub sensor: Option<String>,
}

/// A JSON value of any type, borrowed from the line where it can be. Parsing every field
/// into this lets the decoder say which field has a wrong type, instead of serde's message
/// without a field name; objects and arrays are skipped without being stored.
#[derive(Debug, Default)]
pub(crate) enum Scalar<'a> {
    #[default]
    Null,
    Str(Cow<'a, str>),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
    /// An object or array: present, but never a valid value for our fields.
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor(PhantomData))
    }
}

struct ScalarVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Unsigned(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Signed(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

impl<'a> Scalar<'a> {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }

    /// The value of a JSON boolean; `None` for anything else.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A value borrowed from a parsed [`Value`].
    fn from_value(value: &'a Value) -> Self {
        match value {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::String(s) => Scalar::Str(Cow::Borrowed(s)),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Scalar::Unsigned(u),
                (_, Some(i), _) => Scalar::Signed(i),
                (_, _, Some(f)) => Scalar::Float(f),
                _ => Scalar::Other,
            },
            Value::Array(_) | Value::Object(_) => Scalar::Other,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A `u16` from a number, or from a decimal string.
    pub(crate) fn as_u16(&self) -> Option<u16> {
        match self {
            Scalar::Unsigned(n) => u16::try_from(*n).ok(),
            Scalar::Str(s) => parse_u16(s),
            _ => None,
        }
    }

    /// Some(code) for a mnemonic, a number or a decimal string, using `by_name` for names.
    pub(crate) fn as_code(&self, by_name: fn(&str) -> Option<u16>) -> Option<u16> {
        match self {
            Scalar::Str(s) => by_name(s).or_else(|| parse_u16(s)),
            _ => self.as_u16(),
        }
    }
}

/// The fields of one line, as parsed before checking.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Line<'a> {
    #[serde(borrow, alias = "timestamp", alias = "time", alias = "@timestamp")]
    ts: Scalar<'a>,
    #[serde(borrow, alias = "src_ip", alias = "client_ip")]
    client: Scalar<'a>,
    #[serde(borrow, alias = "dst_ip", alias = "server_ip")]
    server: Scalar<'a>,
    #[serde(borrow, alias = "proto", alias = "protocol")]
    transport: Scalar<'a>,
    #[serde(borrow)]
    direction: Scalar<'a>,
    #[serde(borrow)]
    id: Scalar<'a>,
    #[serde(borrow, alias = "query", alias = "question", alias = "query_name")]
    qname: Scalar<'a>,
    #[serde(borrow, alias = "query_type")]
    qtype: Scalar<'a>,
    #[serde(borrow, alias = "response_code")]
    rcode: Scalar<'a>,
    #[serde(borrow)]
    flags: Scalar<'a>,
    #[serde(borrow)]
    answers: Option<Vec<LineAnswer<'a>>>,
    #[serde(borrow)]
    sensor: Scalar<'a>,
}

/// One element of `answers`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct LineAnswer<'a> {
    #[serde(borrow)]
    name: Scalar<'a>,
    #[serde(borrow, alias = "type")]
    rtype: Scalar<'a>,
    #[serde(borrow)]
    ttl: Scalar<'a>,
    #[serde(borrow, alias = "rdata")]
    data: Scalar<'a>,
}

fn invalid(field: &'static str, expected: &'static str) -> ParseError {
    ParseError::invalid(field, expected)
}

/// Seconds since the epoch (a JSON number) as microseconds, if in range.
pub(crate) fn epoch_micros(ts: &Scalar<'_>) -> Option<i64> {
    match *ts {
        Scalar::Unsigned(s) => i64::try_from(s).ok()?.checked_mul(MICROS_PER_SECOND),
        Scalar::Signed(s) => s.checked_mul(MICROS_PER_SECOND),
        // 9.2e12 seconds is the i64 microsecond limit; NaN fails the comparison.
        Scalar::Float(s) if s.abs() < 9.2e12 => Some((s * 1e6).round() as i64),
        _ => None,
    }
}

/// The error for a line that is not one JSON object.
pub(crate) fn not_json() -> ParseError {
    ParseError::new(ParseErrorKind::Json, "line", "one JSON object per line")
}

/// The value at a dotted `path` (see [`FieldMap`]): at each level the longest key that
/// matches a prefix of the path wins.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let Value::Object(object) = value else {
        return None;
    };
    if let Some(found) = object.get(path) {
        return Some(found);
    }
    // Dots from the right: the longest key first.
    let mut end = path.len();
    while let Some(dot) = path[..end].rfind('.') {
        if let Some(inner) = object.get(&path[..dot])
            && let Some(found) = lookup(inner, &path[dot + 1..])
        {
            return Some(found);
        }
        end = dot;
    }
    None
}

/// The first of `names` present at the top of the object.
fn first_of<'v>(value: &'v Value, names: &[&str]) -> Option<&'v Value> {
    names.iter().find_map(|name| value.get(name))
}

impl FieldMap {
    /// The fields of a parsed line, found where the map says or under the default names.
    fn read<'v>(&self, value: &'v Value) -> Result<Line<'v>, ParseError> {
        let get = |path: &Option<String>, defaults: &[&str]| -> Scalar<'v> {
            let found = match path {
                Some(path) => lookup(value, path),
                None => first_of(value, defaults),
            };
            found.map_or(Scalar::Null, Scalar::from_value)
        };
        let answers = match &self.answers {
            Some(path) => lookup(value, path),
            None => value.get("answers"),
        };
        let answers = match answers {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|item| match item {
                        Value::Object(_) => {
                            let field = |names: &[&str]| {
                                first_of(item, names).map_or(Scalar::Null, Scalar::from_value)
                            };
                            Ok(LineAnswer {
                                name: field(&["name"]),
                                rtype: field(&["rtype", "type"]),
                                ttl: field(&["ttl"]),
                                data: field(&["data", "rdata"]),
                            })
                        }
                        Value::String(data) => Ok(LineAnswer {
                            rtype: Scalar::Unsigned(u64::from(rtype_of_data(data.as_bytes(), 0))),
                            data: Scalar::Str(Cow::Borrowed(data)),
                            ..LineAnswer::default()
                        }),
                        _ => Err(invalid("answers", "an array of objects or strings")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => return Err(invalid("answers", "an array of objects or strings")),
        };
        Ok(Line {
            ts: get(&self.ts, &["ts", "timestamp", "time", "@timestamp"]),
            client: get(&self.client, &["client", "src_ip", "client_ip"]),
            server: get(&self.server, &["server", "dst_ip", "server_ip"]),
            transport: get(&self.transport, &["transport", "proto", "protocol"]),
            direction: get(&self.direction, &["direction"]),
            id: get(&self.id, &["id"]),
            qname: get(&self.qname, &["qname", "query", "question", "query_name"]),
            qtype: get(&self.qtype, &["qtype", "query_type"]),
            rcode: get(&self.rcode, &["rcode", "response_code"]),
            flags: get(&self.flags, &["flags"]),
            answers,
            sensor: get(&self.sensor, &["sensor"]),
        })
    }
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

/// Appends `event` to `out` as one JSON object, without a line terminator.
///
/// Fields come in a fixed order; absent values (`client`, `server`, `id`, `rcode`,
/// `sensor`) and an empty `answers` are left out. Types and response codes are written as
/// mnemonics, timestamps as RFC 3339 (see [`write_rfc3339`]), and `registered_domain` is
/// added for people and tools that read the output (the decoder ignores it).
pub fn to_json_line(event: &DnsEvent, out: &mut String) {
    out.push_str("{\"ts\":\"");
    write_rfc3339(event.ts, out);
    out.push('"');
    if let Some(sensor) = &event.sensor {
        out.push_str(",\"sensor\":");
        push_json_str(out, sensor);
    }
    if let Some(client) = event.client {
        out.push_str(",\"client\":\"");
        push_ip(out, client);
        out.push('"');
    }
    if let Some(server) = event.server {
        out.push_str(",\"server\":\"");
        push_ip(out, server);
        out.push('"');
    }
    out.push_str(match event.transport {
        Transport::Udp => ",\"transport\":\"udp\"",
        Transport::Tcp => ",\"transport\":\"tcp\"",
        Transport::Unknown => ",\"transport\":\"unknown\"",
    });
    out.push_str(match event.direction {
        Direction::Query => ",\"direction\":\"query\"",
        Direction::Response => ",\"direction\":\"response\"",
    });
    if let Some(id) = event.id {
        out.push_str(",\"id\":");
        push_int(out, id);
    }
    out.push_str(",\"qname\":");
    push_json_str(out, &event.qname);
    out.push_str(",\"registered_domain\":");
    push_json_str(out, event.registered_domain());
    out.push_str(",\"qtype\":\"");
    push_mnemonic(out, rtype_name(event.qtype), "TYPE", event.qtype);
    out.push('"');
    if let Some(rcode) = event.rcode {
        out.push_str(",\"rcode\":\"");
        push_mnemonic(out, rcode_name(rcode), "RCODE", rcode);
        out.push('"');
    }
    out.push_str(",\"flags\":");
    push_int(out, event.flags);
    if !event.answers.is_empty() {
        out.push_str(",\"answers\":[");
        for (i, a) in event.answers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"name\":");
            push_json_str(out, &a.name);
            out.push_str(",\"rtype\":\"");
            push_mnemonic(out, rtype_name(a.rtype), "TYPE", a.rtype);
            out.push('"');
            if let Some(ttl) = a.ttl {
                out.push_str(",\"ttl\":");
                push_int(out, ttl);
            }
            out.push_str(",\"data\":");
            push_json_str(out, &a.data);
            out.push('}');
        }
        out.push(']');
    }
    out.push('}');
}

/// A code's mnemonic, or the generic form (`TYPE65534`, `RCODE23`).
fn push_mnemonic(out: &mut String, name: Option<&str>, generic: &str, code: u16) {
    match name {
        Some(name) => out.push_str(name),
        None => {
            out.push_str(generic);
            push_int(out, code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(line: &str) -> Result<Option<DnsEvent>, ParseError> {
        Decoder::new(&DecodeOptions::default()).decode_line(line.as_bytes())
    }

    /// Decodes `line` and compares the event with `expected` after writing both as JSON.
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
    fn canonical_and_aliased_fields() {
        check(
            r#"{"ts":"2017-08-12T09:35:32Z","client":"212.77.192.37","transport":"udp","direction":"response","id":32936,"qname":"ns1.ctc.gov.qa","qtype":"A","rcode":"NOERROR","flags":32784}"#,
            r#"{"ts":"2017-08-12T09:35:32Z","client":"212.77.192.37","transport":"udp","direction":"response","id":32936,"qname":"ns1.ctc.gov.qa","registered_domain":"ctc.gov.qa","qtype":"A","rcode":"NOERROR","flags":32784}"#,
        );
        // Aliases, epoch seconds, numbers for codes, no direction or flags.
        check(
            r#"{"timestamp":1502530532.25,"src_ip":"10.0.0.1","dst_ip":"::1","proto":"TCP","query":"WWW.Example.com.","qtype":28,"rcode":3,"extra":{"ignored":[1,2]}}"#,
            r#"{"ts":"2017-08-12T09:35:32.250000Z","client":"10.0.0.1","server":"::1","transport":"tcp","direction":"response","qname":"www.example.com","registered_domain":"example.com","qtype":"AAAA","rcode":"NXDOMAIN","flags":32771}"#,
        );
        // Answers, a hex flags string, a sensor with characters to escape.
        check(
            r#"{"ts":0,"qname":"example.com","qtype":"TYPE65","flags":"0x8180","sensor":"dc\"1\\","answers":[{"name":"Example.com.","type":"A","ttl":60,"rdata":"93.184.216.34"},{"name":"example.com","rtype":16,"data":"\"v=spf1\tx\u0001\""}]}"#,
            r#"{"ts":"1970-01-01T00:00:00Z","sensor":"dc\"1\\","transport":"unknown","direction":"response","qname":"example.com","registered_domain":"example.com","qtype":"HTTPS","flags":33152,"answers":[{"name":"example.com","rtype":"A","ttl":60,"data":"93.184.216.34"},{"name":"example.com","rtype":"TXT","data":"\"v=spf1\tx\u0001\""}]}"#
                .replace("\tx", "\\tx")
                .as_str(),
        );
    }

    #[test]
    fn blank_lines_are_skipped() {
        assert_eq!(decode(""), Ok(None));
        assert_eq!(decode("  \r\n"), Ok(None));
    }

    #[test]
    fn bad_lines_name_the_field() {
        let ok = r#"{"ts":"2017-08-12T09:35:32Z","qname":"a.com","qtype":"A"}"#;
        assert!(decode(ok).is_ok_and(|e| e.is_some()));
        refused(r#"{"ts":"2017-08-12T09:35:32Z","qname":"a.com""#, "line");
        refused(r#"["not","an","object"]"#, "line");
        refused(
            r#"{"ts":"2017-08-12T09:35:32Z","qname":"a.com","qname":"b.com","qtype":1}"#,
            "line",
        );
        refused(r#"{"qname":"a.com","qtype":"A"}"#, "ts");
        refused(r#"{"ts":"yesterday","qname":"a.com","qtype":"A"}"#, "ts");
        refused(r#"{"ts":1e300,"qname":"a.com","qtype":"A"}"#, "ts");
        refused(
            r#"{"ts":18446744073709551615,"qname":"a.com","qtype":"A"}"#,
            "ts",
        );
        refused(r#"{"ts":0,"qtype":"A"}"#, "qname");
        refused(r#"{"ts":0,"qname":"a..com","qtype":"A"}"#, "qname");
        refused(r#"{"ts":0,"qname":7,"qtype":"A"}"#, "qname");
        refused(r#"{"ts":0,"qname":"a.com"}"#, "qtype");
        refused(r#"{"ts":0,"qname":"a.com","qtype":"BOGUS"}"#, "qtype");
        refused(r#"{"ts":0,"qname":"a.com","qtype":70000}"#, "qtype");
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"client":"1.2.3"}"#,
            "client",
        );
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"server":[]}"#,
            "server",
        );
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"transport":"sctp"}"#,
            "transport",
        );
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"direction":"sideways"}"#,
            "direction",
        );
        refused(r#"{"ts":0,"qname":"a.com","qtype":1,"id":-1}"#, "id");
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"rcode":true}"#,
            "rcode",
        );
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"flags":"0xfffff"}"#,
            "flags",
        );
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"answers":[{"name":"a.com"}]}"#,
            "answers.rtype",
        );
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"answers":[{"rtype":1,"ttl":-5}]}"#,
            "answers.ttl",
        );
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"answers":[{"rtype":1,"data":1}]}"#,
            "answers.data",
        );
        refused(
            r#"{"ts":0,"qname":"a.com","qtype":1,"answers":"none"}"#,
            "line",
        );
    }

    /// Found by fuzzing (`json` target): a timestamp past year 9999, or before year 0000
    /// once the zone was applied, was accepted, and its JSON line could not be read back.
    #[test]
    fn regression_fuzz_timestamp_outside_years_0000_to_9999() {
        for ts in [
            "1567095388061.004544",
            "999999999999",
            "-62167219201",
            r#""0000-01-01T00:00:00+01:00""#,
        ] {
            refused(&format!(r#"{{"ts":{ts},"qname":"a.com","qtype":1}}"#), "ts");
        }
        for ts in [
            "253402300799",
            "-62167219200",
            r#""9999-12-31T23:59:59.999999Z""#,
        ] {
            let line = format!(r#"{{"ts":{ts},"qname":"a.com","qtype":1}}"#);
            assert!(decode(&line).is_ok_and(|e| e.is_some()), "{line}");
        }
    }

    #[test]
    fn field_maps() {
        let map = |json: &str| -> Decoder {
            let fields: FieldMap = serde_json::from_str(json).unwrap_or_default();
            Decoder::with_fields(&DecodeOptions::default(), fields)
        };
        let write = |event: DnsEvent| {
            let mut out = String::new();
            to_json_line(&event, &mut out);
            out
        };
        // Nested paths (ECS), answers as strings, unmapped fields under their own names.
        let mut ecs = map(
            r#"{"ts":"@timestamp","client":"source.ip","qname":"dns.question.name",
                "qtype":"dns.question.type","rcode":"dns.response_code","answers":"dns.answers"}"#,
        );
        let line = r#"{"@timestamp":"2026-11-26T06:46:47Z","source":{"ip":"10.0.0.7"},"id":7,"dns":{"question":{"name":"Example.com","type":"AAAA"},"response_code":"NXDOMAIN","answers":["2001:db8::1","alias.example"]}}"#;
        let event = ecs.decode_line(line.as_bytes()).ok().flatten();
        assert_eq!(
            event.map(write).as_deref(),
            Some(
                r#"{"ts":"2026-11-26T06:46:47Z","client":"10.0.0.7","transport":"unknown","direction":"response","id":7,"qname":"example.com","registered_domain":"example.com","qtype":"AAAA","rcode":"NXDOMAIN","flags":32771,"answers":[{"name":"","rtype":"AAAA","data":"2001:db8::1"},{"name":"","rtype":"CNAME","data":"alias.example"}]}"#
            )
        );
        // Keys with dots (Zeek), the longest key first.
        let mut zeek = map(r#"{"client":"id.orig_h","qname":"a.b.c"}"#);
        let line = r#"{"ts":1,"id.orig_h":"::1","a":{"b.c":"short.example"},"a.b":{"c":"long.example"},"qtype":1}"#;
        let event = zeek.decode_line(line.as_bytes()).ok().flatten();
        assert_eq!(
            event.map(|e| (e.client, e.qname)),
            Some(("::1".parse().ok(), "long.example".to_owned()))
        );
        // Errors name our field, whatever the path.
        let mut bad = map(r#"{"qname":"q.name"}"#);
        for (line, field) in [
            (r#"{"ts":1,"qtype":1}"#, "qname"),
            (r#"{"ts":1,"qtype":1,"q":{"name":5}}"#, "qname"),
            (
                r#"{"ts":1,"qtype":1,"q":{"name":"a.b"},"answers":[7]}"#,
                "answers",
            ),
            (
                r#"{"ts":1,"qtype":1,"q":{"name":"a.b"},"answers":{}}"#,
                "answers",
            ),
            (r#"{"ts":1,"q":{"name":"a.b"}}"#, "qtype"),
            ("[1]", "line"),
            ("{", "line"),
        ] {
            match bad.decode_line(line.as_bytes()) {
                Err(e) => assert_eq!(e.field(), field, "{line}: {e}"),
                other => panic!("{line} gave {other:?}"),
            }
        }
        assert!(serde_json::from_str::<FieldMap>(r#"{"query":"x"}"#).is_err());
    }

    #[test]
    fn written_lines_read_back_equal() {
        let mut event = DnsEvent {
            ts: 1_502_530_532_907_001,
            client: "2001:db8::1".parse().ok(),
            server: "10.1.2.3".parse().ok(),
            transport: Transport::Tcp,
            direction: Direction::Response,
            id: Some(65_535),
            qtype: 65_280,
            rcode: Some(23),
            flags: 0x8580,
            answers: vec![Answer {
                name: "xn--mnchen-3ya.de".into(),
                rtype: 5,
                ttl: Some(u32::MAX),
                data: "ünïcode \"quoted\" \\ \u{7f}".into(),
            }],
            sensor: Some(Arc::from("dc-1")),
            ..DnsEvent::default()
        };
        assert!(event.set_qname("München.de").is_ok());
        let mut line = String::new();
        to_json_line(&event, &mut line);
        assert_eq!(decode(&line), Ok(Some(event)), "{line}");
    }
}
