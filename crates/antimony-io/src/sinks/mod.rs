//! Sinks: bolts that write records out and emit nothing.

pub mod json_lines;
pub mod nats;
#[cfg(feature = "kafka")]
pub mod kafka;
