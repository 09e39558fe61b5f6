//! [`Tuple`]: what flows through Antimony's DNS topologies (Storm's word for a record).

use std::net::IpAddr;
use std::sync::Arc;

use antimony_core::{Record, StableHasher, StreamType};
use antimony_detect::{Alert, AlertFormat};
use antimony_dns::DnsEvent;
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
        }
    }

    fn key_hash(&self, fields: &[usize]) -> u64 {
        match self {
            Tuple::Dns(event) => event_key_hash(event, fields),
            Tuple::Alert(alert) => alert_key_hash(alert, fields),
            Tuple::Chunk(chunk) => chunk_key_hash(&chunk.source, fields),
            Tuple::Bytes(chunk) => chunk_key_hash(&chunk.source, fields),
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
        }
    }
}

impl JsonLine for Tuple {
    fn write_json_line(&self, out: &mut String) -> bool {
        match self {
            Tuple::Dns(event) => antimony_dns::formats::json_lines::to_json_line(event, out),
            Tuple::Alert(alert) => alert.write_json(out),
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
