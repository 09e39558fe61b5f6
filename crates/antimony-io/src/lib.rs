//! Antimony's I/O edges: spouts that read the outside world and sinks that write to it,
//! driven by Tokio and generic over the topology's record type.
//!
//! - [`sources::file`]: text files (or standard input) read in chunks of whole lines.
//! - [`sinks::json_lines`]: records written as JSON lines to a file or standard output.
//!
//! Architecture invariant: nothing here knows DNS. A spout emits [`TextChunk`]s, which the
//! record type converts from; a sink writes records that can render themselves as JSON.

pub mod chunk;
pub mod sinks;
pub mod sources;

pub use chunk::TextChunk;
