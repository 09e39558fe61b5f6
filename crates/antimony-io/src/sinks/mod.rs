//! Sinks: bolts that write records out and emit nothing.

pub mod clock;
pub mod delivery;
pub mod elasticsearch;
pub mod http;
pub mod json_lines;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod nats;
pub mod rotation;
pub mod splunk;
pub mod syslog;
pub mod webhook;

/// A record with a stable id (an alert's), which the broker sinks send with it so that a
/// replay's repeats can be told: JetStream drops them by `Nats-Msg-Id`, Kafka consumers by
/// the message key.
pub trait MessageId {
    /// Appends the id to `out` (the same record, replayed, has the same one); false: the
    /// record has none.
    fn write_message_id(&self, out: &mut String) -> bool;
}
