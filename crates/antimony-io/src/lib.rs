//! Antimony's I/O edges: spouts that read the outside world and sinks that write to it,
//! driven by Tokio and generic over the topology's record type.
//!
//! - [`sources::file`]: files, globs, named pipes or standard input, as chunks of whole lines
//!   or of bytes, optionally followed like `tail -F`; gzip and zstd files are read through
//!   their decoder ([`sources::compressed`]), recognised by their magic number.
//! - [`sources::syslog`]: a syslog receiver (UDP and TCP, RFC 3164 and 5424 framing).
//! - [`sources::frame_streams`]: a Frame Streams receiver (Unix and TCP sockets, with the
//!   READY/ACCEPT/START/STOP/FINISH handshake), as dnstap senders speak it.
//! - [`sinks::json_lines`]: records written as JSON lines to a file or standard output.
//! - [`sources::nats`], [`sinks::nats`]: NATS JetStream, read through a durable pull
//!   consumer acknowledged at committed checkpoints, and published to with `Nats-Msg-Id`.
//! - [`sinks::delivery`]: what every network output shares (ordered epochs, a bounded
//!   buffer, batches, retries with backoff, spill), and the outputs on it:
//!   [`sinks::syslog`] (RFC 5424/3164 over UDP, TCP, TLS), [`sinks::elasticsearch`] (the
//!   `_bulk` API), [`sinks::splunk`] (HEC), [`sinks::webhook`] and [`sinks::nats`].
//! - [`cutter`]: cutting a byte stream into chunks of whole lines with bounded memory.
//! - [`line_writer`]: lines written to a file or a standard stream through Tokio, with
//!   backpressure (sinks, and the engine's dead-letter output).
//! - [`runtime`]: the process's I/O runtime, which every spout and sink shares.
//! - [`meters`]: the series every source keeps (bytes read and expected, messages).
//! - [`multilang`]: components written for Storm in another language, run as supervised
//!   subprocesses speaking Storm's multilang protocol.
//!
//! Architecture invariant: nothing here knows DNS or the engine (it builds on
//! `antimony-core` alone). Spouts emit [`TextChunk`]s and
//! [`ByteChunk`]s, which the record type converts from; sinks write records that render
//! themselves as JSON.

pub mod chunk;
pub mod cutter;
pub mod line_writer;
pub mod meters;
pub mod multilang;
pub mod runtime;
pub mod sinks;
pub mod sources;

pub use chunk::{ByteChunk, TextChunk};
pub use line_writer::{LineTarget, LineWriter};
