//! [`Tuple`]: what flows through Antimony's DNS topologies (Storm's word for a record).

use std::net::IpAddr;
use std::sync::Arc;

use antimony_core::{Record, StableHasher, StreamType};
use antimony_detect::{Alert, AlertFormat};
use antimony_dns::DnsEvent;
use antimony_io::multilang::{MultilangRecord, VALUES_KIND, Values};
use antimony_io::sinks::MessageId;
use antimony_io::sinks::json_lines::{JsonLine, LineRender};
use antimony_io::{ByteChunk, TextChunk};
use serde::{Deserialize, Serialize};

/// What spouts read: chunks of whole lines, or of raw bytes (capture files, dnstap).
pub const CHUNKS: StreamType = StreamType::with_fields("chunk", &["source"]);
/// Parsed DNS events.
pub const DNS_EVENTS: StreamType =
    StreamType::with_fields("dns", &["client", "qname", "registered_domain", "sensor"]);
/// Alerts.
pub const ALERTS: StreamType = StreamType::with_fields(
    "alert",
    &["detector", "client", "domain", "registered_domain"],
);

/// One record of a DNS topology.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub enum Tuple {
    /// Nothing: what a bolt leaves behind when it takes a record.
    #[default]
    Empty,
    /// Whole lines of text with their source and first line number.
    Chunk(TextChunk),
    /// Raw bytes of a binary source, in order.
    Bytes(ByteChunk),
    /// One DNS query or response. Shared, because a parsed event usually feeds several
    /// bolts (stateless detectors, per-domain and per-client state): each gets a reference
    /// to one event instead of a copy. Serialised by value between processes.
    Dns(Arc<DnsEvent>),
    /// One alert.
    Alert(Box<Alert>),
    /// A tuple of JSON values a multilang component (a Storm bolt or spout in Python,
    /// Node.js...) emitted.
    Values(Box<Values>),
}

impl From<TextChunk> for Tuple {
    fn from(chunk: TextChunk) -> Self {
        Tuple::Chunk(chunk)
    }
}

impl From<ByteChunk> for Tuple {
    fn from(chunk: ByteChunk) -> Self {
        Tuple::Bytes(chunk)
    }
}

fn source_hash(source: &str) -> u64 {
    StableHasher::hash64(&[source.as_bytes()])
}

fn hash_ip(hasher: &mut StableHasher, ip: Option<IpAddr>) {
    match ip {
        None => hasher.field(&[]),
        Some(IpAddr::V4(a)) => hasher.field(&a.octets()),
        Some(IpAddr::V6(a)) => hasher.field(&a.octets()),
    };
}

/// What a fields grouping routes a DNS event by ([`DNS_EVENTS`] field indices): also what a
/// stateful bolt's checkpoint gives each key, so a resumed run routes it the same way.
pub fn event_key_hash(event: &DnsEvent, fields: &[usize]) -> u64 {
    let mut hasher = StableHasher::new();
    for field in fields {
        match DNS_EVENTS.fields.get(*field) {
            Some(&"client") => hash_ip(&mut hasher, event.client),
            Some(&"qname") => {
                hasher.field(event.qname.as_bytes());
            }
            Some(&"registered_domain") => {
                hasher.field(event.registered_domain().as_bytes());
            }
            Some(&"sensor") => {
                hasher.field(event.sensor.as_deref().unwrap_or("").as_bytes());
            }
            _ => {}
        }
    }
    hasher.finish64()
}

/// What a fields grouping routes an alert by ([`ALERTS`] field indices).
pub fn alert_key_hash(alert: &Alert, fields: &[usize]) -> u64 {
    let mut hasher = StableHasher::new();
    for field in fields {
        match ALERTS.fields.get(*field) {
            Some(&"detector") => {
                hasher.field(alert.detector.as_bytes());
            }
            Some(&"client") => hash_ip(&mut hasher, alert.client),
            Some(&"domain") => {
                hasher.field(alert.domain.as_bytes());
            }
            Some(&"registered_domain") => {
                hasher.field(alert.registered_domain.as_bytes());
            }
            _ => {}
        }
    }
    hasher.finish64()
}

/// What a fields grouping routes a multilang tuple by: the JSON text of the values named
/// (the same value is written the same way by every process, so it routes alike).
pub fn values_key_hash(values: &[String], fields: &[usize]) -> u64 {
    let mut hasher = StableHasher::new();
    for field in fields {
        hasher.field(values.get(*field).map_or(&b""[..], |v| v.as_bytes()));
    }
    hasher.finish64()
}

/// What a fields grouping routes a chunk by: its source, or nothing.
fn chunk_key_hash(source: &str, fields: &[usize]) -> u64 {
    let mut hasher = StableHasher::new();
    if fields.contains(&0) {
        hasher.field(source.as_bytes());
    }
    hasher.finish64()
}

impl Record for Tuple {
    fn kind(&self) -> &'static str {
        match self {
            Tuple::Empty => "empty",
            Tuple::Chunk(_) | Tuple::Bytes(_) => CHUNKS.kind,
            Tuple::Dns(_) => DNS_EVENTS.kind,
            Tuple::Alert(_) => ALERTS.kind,
            Tuple::Values(_) => VALUES_KIND,
        }
    }

    fn key_hash(&self, fields: &[usize]) -> u64 {
        match self {
            Tuple::Dns(event) => event_key_hash(event, fields),
            Tuple::Alert(alert) => alert_key_hash(alert, fields),
            Tuple::Chunk(chunk) => chunk_key_hash(&chunk.source, fields),
            Tuple::Bytes(chunk) => chunk_key_hash(&chunk.source, fields),
            Tuple::Values(values) => values_key_hash(&values.values, fields),
            Tuple::Empty => StableHasher::new().finish64(),
        }
    }

    /// Binary sources and text sources with headers are decoded by one stateful decoder:
    /// their chunks stay together, in order.
    fn affinity(&self) -> Option<u64> {
        match self {
            Tuple::Bytes(chunk) => Some(source_hash(&chunk.source)),
            Tuple::Chunk(chunk) if chunk.ordered => Some(source_hash(&chunk.source)),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Tuple::Empty => "(empty)".to_owned(),
            Tuple::Chunk(chunk) => format!(
                "{} lines of {} from line {}",
                chunk.line_count(),
                chunk.source,
                chunk.first_line
            ),
            Tuple::Bytes(chunk) => format!(
                "{} bytes of {} from byte {}",
                chunk.data.len(),
                chunk.source,
                chunk.offset
            ),
            Tuple::Dns(event) => {
                let mut line = String::new();
                antimony_dns::formats::json_lines::to_json_line(event, &mut line);
                line
            }
            Tuple::Alert(alert) => alert.to_json(),
            Tuple::Values(values) => format!("[{}]", values.values.join(",")),
        }
    }
}

impl JsonLine for Tuple {
    fn write_json_line(&self, out: &mut String) -> bool {
        match self {
            Tuple::Dns(event) => antimony_dns::formats::json_lines::to_json_line(event, out),
            Tuple::Alert(alert) => alert.write_json(out),
            Tuple::Values(values) => {
                out.push('[');
                out.push_str(&values.values.join(","));
                out.push(']');
            }
            Tuple::Empty | Tuple::Chunk(_) | Tuple::Bytes(_) => return false,
        }
        true
    }
}

/// How a JSON-lines sink writes tuples when its alerts are in `format`: alerts in that
/// format, anything else in its JSON form. `None` for the JSON form itself (the sink then
/// writes [`JsonLine`] and feeds the API).
pub fn alert_line_render(format: AlertFormat) -> Option<LineRender<Tuple>> {
    if format == AlertFormat::Json {
        return None;
    }
    Some(Arc::new(
        move |tuple: &Tuple, out: &mut String| match tuple {
            Tuple::Alert(alert) => {
                alert.write_as(format, out);
                true
            }
            other => other.write_json_line(out),
        },
    ))
}

/// An alert's stable id: JetStream drops a re-publish by it, Kafka consumers a replay's
/// repeats by the key it becomes.
impl MessageId for Tuple {
    fn write_message_id(&self, out: &mut String) -> bool {
        use std::fmt::Write;
        match self {
            Tuple::Alert(alert) => alert.id.is_some_and(|id| write!(out, "{id}").is_ok()),
            _ => false,
        }
    }
}

/// What a multilang component is given: a tuple's values as they are; a text chunk, one
/// tuple per line with the line as its one value (so a Storm word count reads a `file`
/// spout's lines); a DNS event or an alert, one tuple with one value, its JSON object (the
/// form `dns_file` and `alert_file` write, so a script reads what an analyst reads).
/// Binary chunks have no such form.
impl MultilangRecord for Tuple {
    fn to_tuples(&self, out: &mut Vec<Values>) -> Result<(), String> {
        let one = |component: &str, value: String| Values {
            component: component.to_owned(),
            stream: "default".to_owned(),
            values: vec![value],
        };
        match self {
            Tuple::Values(values) => out.push((**values).clone()),
            Tuple::Chunk(chunk) => {
                for (_, line) in chunk.lines() {
                    let text = String::from_utf8_lossy(line);
                    let json = serde_json::Value::String(text.into_owned()).to_string();
                    out.push(one(&chunk.source, json));
                }
            }
            Tuple::Dns(event) => {
                let mut line = String::new();
                antimony_dns::formats::json_lines::to_json_line(event, &mut line);
                out.push(one(DNS_EVENTS.kind, line));
            }
            Tuple::Alert(alert) => out.push(one(ALERTS.kind, alert.to_json())),
            Tuple::Bytes(chunk) => {
                return Err(format!(
                    "binary input ({}) has no form a multilang component reads; put dns_parse before it",
                    chunk.source
                ));
            }
            Tuple::Empty => return Err("an empty record".to_owned()),
        }
        Ok(())
    }

    fn from_values(values: Values) -> Self {
        Tuple::Values(Box::new(values))
    }
}
