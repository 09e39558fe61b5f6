//! Sinks: bolts that write records out and emit nothing.

pub mod json_lines;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod nats;
