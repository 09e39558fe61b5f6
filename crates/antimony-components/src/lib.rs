//! Antimony's built-in components for DNS topologies, usable from a topology file or from a
//! user's own Rust topology.
//!
//! - [`Tuple`] is the record DNS topologies move: chunks of input, DNS events,
//!   alerts; [`record`] also names their stream types and the fields a grouping may use.
//! - [`registry()`] maps every `type = "..."` a topology file may name to its code, in one
//!   place: the I/O crate's spouts and sinks, and the DNS bolts of this crate.
//! - The DNS bolts: [`parse`] (`dns_parse`: logs, captures and dnstap into events, one
//!   decoder per source, the format recognised once per source by [`parse::sniff`]),
//!   [`detect`] (`dns_detect`: every stateless detector, with list reload and a cache of
//!   quiet names), [`stateful`] (`dns_stateful`: evidence over time, per key, and the
//!   newly-observed-domain memory on disk), [`dedup`] (`alert_dedup`), [`store_sink`]
//!   (`alert_store`: alerts into SQLite or PostgreSQL, through antimony-store).
//! - [`outputs`]: the network alert outputs (syslog, Elasticsearch bulk, Splunk HEC,
//!   webhooks): how an alert becomes what they send.
//! - [`builtin`]: data compiled in (the bundled threat-intel list).
//! - [`multilang`]: the `multilang` spout and bolt (Storm components in Python, Node.js...)
//!   and the `values_file` sink for what they emit; [`validate`]: a topology file checked
//!   without running, and its plan; [`import`]: pyleus and Flux topologies into TOML.
//! - [`catalogue`]: what `antimony components` prints, component types and alert body
//!   formats.
//!
//! Architecture invariant: this is the one library crate that knows both DNS and the engine;
//! the binary above it parses arguments and wires, nothing more.

pub mod builtin;
pub mod catalogue;
pub mod dedup;
pub mod detect;
pub mod import;
pub mod multilang;
pub mod outputs;
pub mod parse;
pub mod record;
pub mod registry;
pub mod stateful;
pub mod store_sink;
pub mod validate;

pub use record::Tuple;
pub use registry::registry;
