//! Caps on what one input record may cost, decided once for every reader.

/// The longest text line a source hands on (a log line, a syslog message): longer lines are
/// set aside unread by the reader that cuts the input into lines, with their location, and
/// never held whole. Real DNS log lines are a few hundred bytes; a JSON line with many
/// answers a few kilobytes. A source may set its own cap (`max_line_bytes`).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
