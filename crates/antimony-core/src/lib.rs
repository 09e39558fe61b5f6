//! The ground floor of Antimony: what every other crate shares, and nothing that runs.
//!
//! - [`Record`] is what flows between components, and [`StreamType`] names a stream's kind
//!   and groupable fields; [`StableHasher`] is the one hash that must never change (alert
//!   ids, keys, routing).
//! - [`Spout`] and [`Bolt`] are the component traits, [`Emitter`] where they write and
//!   [`Context`] what they know of where they run (runtime-neutral: no executor in it).
//! - [`ConfigError`] is a component option that cannot be used, located in its file.
//! - [`metrics`] is the one registry every component, detector and sink updates.
//! - [`LineOutput`] is where whole lines go (dead letters, sinks), provided by the I/O edges.
//! - [`text`] holds the cheap writers of the output paths (numbers, addresses, JSON strings),
//!   [`frame_streams`] the Frame Streams control frames, [`limits`] the caps on input,
//!   [`time`] civil dates and RFC 3339 timestamps (DNS events, alerts and outputs share them).
//!
//! Architecture invariant: this crate depends on no other Antimony crate, and on nothing that
//! runs (no timely, no Tokio); it does no I/O.

pub mod component;
pub mod error;
pub mod feed;
pub mod frame_streams;
pub mod hash;
pub mod limits;
pub mod metrics;
pub mod output;
pub mod record;
pub mod text;
pub mod time;

pub use component::{
    Bolt, Context, DeadLetter, Emitter, Restored, Spout, SpoutError, SpoutStatus, State,
};
pub use error::ConfigError;
pub use feed::Feed;
pub use hash::StableHasher;
pub use metrics::Metrics;
pub use output::LineOutput;
pub use record::{Record, StreamType};
