//! The Antimony engine: topologies of spouts and bolts (Storm and Heron's vocabulary) run on
//! timely-dataflow workers.
//!
//! - Components implement [`antimony_core::Spout`] and [`antimony_core::Bolt`] and move
//!   [`antimony_core::Record`]s.
//! - [`TopologyBuilder`] builds a validated [`Topology`] in Rust; [`declare`] reads one from
//!   TOML through a [`Registry`] of component types, with errors at the file, line and
//!   column.
//! - [`run`] executes it on `workers` threads (or several processes) with bounded memory,
//!   contained panics, a dead-letter output and its counts in the run's metrics registry.
//!
//! Architecture invariant: the engine knows nothing of DNS, and nothing of Tokio or any I/O
//! but its checkpoints and its cluster's connections (plain blocking sockets): it moves
//! opaque records, asks them for a key hash when grouping by fields and for a description
//! when setting them aside, and writes dead letters to the output it is given. Every use of
//! timely is in `runtime/dataflow.rs`.

pub mod declare;
pub mod error;
pub mod registry;
pub mod runtime;
#[doc(hidden)]
pub mod testing;
pub mod topology;

pub use declare::TopologyDecl;
pub use error::{RunError, TopologyError};
pub use registry::{Options, Registry};
pub use runtime::{
    ClusterConfig, ClusterError, ComponentFailure, ComponentStats, DeadLetterOutput, RunConfig,
    RunReport, StopHandle, run, run_with_stop,
};
pub use topology::{
    BoltSpec, Grouping, Input, Parallelism, Plan, PlannedComponent, PlannedInput, SpoutSpec,
    Topology, TopologyBuilder,
};
