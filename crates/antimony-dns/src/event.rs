//! The one normalised DNS event every parser produces.

use std::net::IpAddr;
use std::sync::Arc;

use antimony_core::StableHasher;
use serde::{Deserialize, Serialize};

use crate::domain;

/// Microseconds since the Unix epoch, UTC (log formats that write local time without a zone,
/// Windows debug log and BIND, are read as UTC unless the parser is given an offset).
pub use antimony_core::time::TimestampMicros;

/// How the message travelled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transport {
    /// Not stated by the source.
    #[default]
    Unknown,
    /// UDP.
    Udp,
    /// TCP (including DNS over TLS when the source does not say more).
    Tcp,
}

/// Whether the event records a query or a response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// A question (QR bit clear).
    #[default]
    Query,
    /// An answer (QR bit set).
    Response,
}

/// One resource record of the answer section, as text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Owner name, normalised like [`DnsEvent::qname`].
    pub name: String,
    /// Record type code (1 = A, 28 = AAAA, ...).
    pub rtype: u16,
    /// Time to live in seconds, when known.
    pub ttl: Option<u32>,
    /// Record data in presentation format (an address, a name, quoted text...).
    pub data: String,
}

/// A DNS query or response, whatever format it was read from.
///
/// Names are normalised once, at parse time: lower case, no trailing dot, internationalised
/// names in their ASCII (punycode) form. The registered domain is stored as an offset into
/// `qname` (it is always a suffix of it), so enrichment costs no allocation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DnsEvent {
    /// When the message was seen.
    pub ts: TimestampMicros,
    /// The host that asked, when the source says.
    pub client: Option<IpAddr>,
    /// The server that answered (or was asked), when the source says.
    pub server: Option<IpAddr>,
    /// UDP, TCP or unknown.
    pub transport: Transport,
    /// Query or response.
    pub direction: Direction,
    /// DNS message id, when known.
    pub id: Option<u16>,
    /// The question name, normalised (see the type's documentation).
    pub qname: String,
    /// Question type code (1 = A, 28 = AAAA, 16 = TXT...).
    pub qtype: u16,
    /// Response code (0 = NOERROR, 3 = NXDOMAIN...), when known.
    pub rcode: Option<u16>,
    /// The 16 header flag bits (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE) in wire order.
    pub flags: u16,
    /// Answer records, when the source carries them.
    pub answers: Vec<Answer>,
    /// Byte offset of the registered domain (eTLD+1) in `qname`; `qname.len()` when there is none.
    pub registered_domain_start: u16,
    /// Which sensor, server or log this came from, as configured by the user.
    ///
    /// Shared, because every event of a source carries the same name: cloning it into each
    /// event is a reference-count increment, not an allocation.
    pub sensor: Option<Arc<str>>,
}

impl DnsEvent {
    /// The registered domain (eTLD+1) of the question name, or `""` when it has none
    /// (a bare public suffix, a single-label name).
    pub fn registered_domain(&self) -> &str {
        self.qname
            .get(usize::from(self.registered_domain_start)..)
            .unwrap_or("")
    }

    /// Sets `qname` from raw text: normalises it and computes its registered domain.
    pub fn set_qname(&mut self, raw: &str) -> Result<(), domain::NameError> {
        self.qname.clear();
        domain::normalise_into(raw, &mut self.qname)?;
        self.registered_domain_start = domain::registered_domain_start(&self.qname)
            .and_then(|start| u16::try_from(start).ok())
            .unwrap_or(self.qname.len() as u16);
        Ok(())
    }

    /// True for a response.
    pub fn is_response(&self) -> bool {
        self.direction == Direction::Response
    }

    /// The registered domain, or the whole name when it has none (a bare public suffix, a
    /// single label): what domain-keyed state is kept under.
    pub fn domain_key(&self) -> &str {
        let rd = self.registered_domain();
        if rd.is_empty() { &self.qname } else { rd }
    }

    /// A stable hash of `fields` of this event: the key of state kept per key, and of the
    /// fields grouping that brings a key's events to one worker. The same in every process
    /// and run.
    pub fn key_hash(&self, fields: &[KeyField]) -> u64 {
        let mut hasher = StableHasher::new();
        for field in fields {
            match field {
                KeyField::Client => match self.client {
                    None => hasher.field(&[]),
                    Some(IpAddr::V4(a)) => hasher.field(&a.octets()),
                    Some(IpAddr::V6(a)) => hasher.field(&a.octets()),
                },
                KeyField::Qname => hasher.field(self.qname.as_bytes()),
                KeyField::RegisteredDomain => hasher.field(self.domain_key().as_bytes()),
                KeyField::Sensor => hasher.field(self.sensor.as_deref().unwrap_or("").as_bytes()),
            };
        }
        hasher.finish64()
    }
}

/// A field of a [`DnsEvent`] that state can be kept per, and events grouped by: described
/// here once, for the stateful detectors' keys and the topology's groupings alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyField {
    /// The address that asked (none: one key for every event without one).
    Client,
    /// The question name.
    Qname,
    /// The registered domain ([`DnsEvent::domain_key`]: the whole name when it has none).
    RegisteredDomain,
    /// The sensor that saw the event.
    Sensor,
}

impl KeyField {
    /// Every key field, in the order a stream of events names them.
    pub const ALL: [KeyField; 4] = [
        KeyField::Client,
        KeyField::Qname,
        KeyField::RegisteredDomain,
        KeyField::Sensor,
    ];

    /// The field's name in topologies (`client`, `qname`, `registered_domain`, `sensor`).
    pub const fn name(self) -> &'static str {
        match self {
            KeyField::Client => "client",
            KeyField::Qname => "qname",
            KeyField::RegisteredDomain => "registered_domain",
            KeyField::Sensor => "sensor",
        }
    }
}
