//! [`LineOutput`]: somewhere whole lines go, written in order by one writer. The engine
//! writes its dead letters through one; the I/O edges provide them (files, standard
//! streams), so the engine itself does no I/O of its own choosing.

use std::io;

/// A line-oriented output: lines in, in order, each one whole.
///
/// `write_line` may buffer; `flush` hands what is buffered on (it may still be in flight);
/// `close` writes everything and waits until it is written. A failed write is reported,
/// never ignored: a caller that cannot write says so and stops.
pub trait LineOutput: Send {
    /// Appends one line (the newline is added).
    fn write_line(&mut self, line: &[u8]) -> io::Result<()>;
    /// Hands what is buffered on.
    fn flush(&mut self) -> io::Result<()>;
    /// Writes everything and waits until it is written.
    fn close(&mut self) -> io::Result<()>;
}
