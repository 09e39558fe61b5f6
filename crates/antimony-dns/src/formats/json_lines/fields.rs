//! [`FieldMap`]: where a JSON log of any shape keeps each of Antimony's fields, and reading
//! a parsed line's fields through it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::decode::{Line, LineAnswer, invalid};
use super::scalar::Scalar;
use crate::formats::ParseError;
use crate::formats::util::rtype_of_data;

/// Where a JSON log keeps each of Antimony's fields, for JSON lines of any shape (ECS,
/// a SIEM export, a resolver's own JSON).
///
/// Each entry is a path: object keys joined by dots (`dns.question.name`). A key that
/// itself contains dots, as Zeek's `id.orig_h` does, is found too: at each level the
/// longest key that matches wins. A field left out is looked up under Antimony's own name
/// and its aliases (see the [module](super) table); `answers` must lead to an array of
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
    pub(super) fn read<'v>(&self, value: &'v Value) -> Result<Line<'v>, ParseError> {
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
