//! Components written for Storm in another language (Python through storm.py or pyleus,
//! Node.js through storm.js...), run as subprocesses speaking Storm's multilang protocol:
//! JSON messages over standard input and output, each followed by a line `end`.
//!
//! - [`protocol`]: the messages, read with bounds (hostile output is garbage, never a panic).
//! - [`process`]: one subprocess, its pipes on threads, its standard error in our logs.
//! - [`bolt`]: the `multilang` bolt: supervision (restart with backoff, replay of what was
//!   not acknowledged, dead letters for a tuple that keeps killing it), heartbeats, ticks.
//! - [`spout`]: the `multilang` spout: `next` turns ended by `sync`.
//! - [`config`]: their options.
//!
//! Generic over the record type through [`MultilangRecord`]: what a record gives a
//! subprocess as values, and the record an emit becomes.

pub mod bolt;
pub mod config;
pub mod meters;
pub mod process;
pub mod protocol;
pub mod spout;

use antimony_core::Record;
use serde::{Deserialize, Serialize};

pub use bolt::MultilangBolt;
pub use config::MultilangConfig;
pub use protocol::JsonValues;
pub use spout::MultilangSpout;

/// The record kind of tuples emitted by multilang components.
pub const VALUES_KIND: &str = "values";

/// A tuple a multilang component emitted: its values as JSON texts, with the component and
/// stream it came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Values {
    /// The component that emitted it.
    pub component: String,
    /// The stream it named (`default` when none): kept for the next multilang component,
    /// which sees it as the tuple's stream; every stream of a component goes to the same
    /// readers (an Antimony component has one output).
    pub stream: String,
    /// The values, each as JSON text.
    pub values: JsonValues,
}

/// A record a multilang component can read and emit.
pub trait MultilangRecord: Record {
    /// Appends the tuples a subprocess is given for this record (a chunk of lines gives one
    /// per line); `Err` with the reason when it has no such form (it is set aside).
    fn to_tuples(&self, out: &mut Vec<Values>) -> Result<(), String>;

    /// The record an emit becomes.
    fn from_values(values: Values) -> Self;
}
