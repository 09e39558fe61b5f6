//! Spouts.

pub mod compressed;
pub mod file;
pub mod frame_streams;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod listen;
pub mod nats;
pub mod position;
pub mod sniff;
pub mod syslog;
