//! What spouts emit: chunks of whole text lines, or chunks of raw bytes, with where they came
//! from.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Whole lines read from one source, in order. Reading and moving text in chunks of tens of
/// kilobytes, rather than a record per line, keeps allocation and exchange costs per chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextChunk {
    /// The source (a file path, `-` for standard input, `syslog udp://...`), for locating errors.
    pub source: String,
    /// The line number (from 1) of the first line.
    pub first_line: u64,
    /// The bytes: complete lines, each ending with `\n` except possibly the last line of the
    /// source.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// The source's lines must be read in order by one reader (later lines depend on earlier
    /// ones, as in a log whose header names its columns).
    pub ordered: bool,
    /// The format the source was recognised as when it was opened, if it was (see
    /// [`sniff`](crate::sources::sniff)): readers downstream take it rather than guess again.
    pub format: Option<Arc<str>>,
    /// This is the source's last chunk (possibly empty): a reader holding a record across
    /// lines should let it go.
    pub last: bool,
}

impl TextChunk {
    /// The lines with their numbers, without line endings (`\n` or `\r\n`).
    pub fn lines(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let data = self.data.strip_suffix(b"\n").unwrap_or(&self.data);
        // An empty chunk has no lines; "\n" has one, empty.
        let mut rest = (!self.data.is_empty()).then_some(data);
        let mut number = self.first_line;
        // memchr finds each newline many bytes at a time; a byte-by-byte split was a tenth of
        // the parse bolt's time on long JSON lines.
        std::iter::from_fn(move || {
            let text = rest?;
            let line = match memchr::memchr(b'\n', text) {
                Some(end) => {
                    rest = Some(&text[end + 1..]);
                    &text[..end]
                }
                None => {
                    rest = None;
                    text
                }
            };
            let n = number;
            number += 1;
            Some((n, line.strip_suffix(b"\r").unwrap_or(line)))
        })
    }

    /// How many lines the chunk holds.
    pub fn line_count(&self) -> u64 {
        let newlines = memchr::memchr_iter(b'\n', &self.data).count() as u64;
        match self.data.last() {
            None => 0,
            Some(b'\n') => newlines,
            Some(_) => newlines + 1,
        }
    }
}

/// Raw bytes of one source (a capture file, a Frame Streams socket), in order. Binary formats
/// are decoded by one stateful decoder per source, so these always travel in order to one
/// worker.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteChunk {
    /// The source, for locating errors and keeping one decoder per source.
    pub source: String,
    /// Offset of the first byte in the source.
    pub offset: u64,
    /// The format the source was recognised as when it was opened, if it was.
    pub format: Option<Arc<str>>,
    /// The bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// This is the source's last chunk: the decoder should flush what it holds.
    pub last: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(data: &[u8]) -> TextChunk {
        TextChunk {
            source: "f".into(),
            first_line: 10,
            data: data.to_vec(),
            ordered: false,
            format: None,
            last: false,
        }
    }

    #[test]
    fn numbers_lines_and_strips_endings() {
        let c = chunk(b"a\r\nb\n\nc");
        let lines: Vec<(u64, &[u8])> = c.lines().collect();
        assert_eq!(
            lines,
            vec![(10, &b"a"[..]), (11, b"b"), (12, b""), (13, b"c")]
        );
        assert_eq!(c.line_count(), 4);
        assert_eq!(chunk(b"a\nb\n").line_count(), 2);
        for data in [&b"a\nb\n"[..], b"a", b"\n\n", b"\r\n", b"a\n\nb\n\n"] {
            let c = chunk(data);
            assert_eq!(c.lines().count() as u64, c.line_count(), "{data:?}");
        }
        assert_eq!(chunk(b"").lines().count(), 0);
        assert_eq!(
            chunk(b"\n").lines().collect::<Vec<_>>(),
            vec![(10, &b""[..])]
        );
    }
}
