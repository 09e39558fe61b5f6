//! The Antimony engine: topologies of spouts and bolts (Storm and Heron's vocabulary) run on
//! timely-dataflow workers.
//!
//! - [`Record`] is what flows; [`StreamType`] names a stream's kind and groupable fields.
//! - [`Spout`] and [`Bolt`] are the component traits; [`Emitter`] is where they write.
//! - [`TopologyBuilder`] builds a validated [`Topology`] in Rust; [`declare`] reads one from
//!   TOML through a [`Registry`] of component types.
//! - [`run`] executes it on `workers` threads (or several processes) with bounded memory,
//!   contained panics and a dead-letter output.
//!
//! Architecture invariant: the engine knows nothing of DNS. It moves opaque records, asks
//! them for a key hash when grouping by fields, and for a description when setting them aside.

pub mod component;
pub mod declare;
pub mod error;
pub mod line_writer;
pub mod record;
pub mod registry;
pub mod runtime;
#[doc(hidden)]
pub mod testing;
pub mod topology;

pub use component::{Bolt, Context, DeadLetter, Emitter, Spout, SpoutError, SpoutStatus};
pub use declare::TopologyDecl;
pub use error::{RunError, TopologyError};
pub use line_writer::{LineTarget, LineWriter};
pub use record::{Record, StableHasher, StreamType};
pub use registry::{Options, Registry};
pub use runtime::{
    ClusterConfig, ComponentStats, Monitor, RunConfig, RunReport, StopHandle, run, run_monitored,
    run_with_stop,
};
pub use topology::{BoltSpec, Grouping, Input, Parallelism, SpoutSpec, Topology, TopologyBuilder};
