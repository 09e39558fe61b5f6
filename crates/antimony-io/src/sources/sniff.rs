//! How a source is to be read, decided once, from its first bytes, by whoever knows the
//! formats: the file spout asks a [`Sniff`] when it opens a source and stamps the answer on
//! every chunk of it ([`TextChunk::format`](crate::TextChunk::format),
//! [`ByteChunk::format`](crate::ByteChunk::format)), so no reader downstream guesses again.
//!
//! This crate knows no format; [`ByContent`] is the default when nobody says more.

use std::sync::Arc;

/// What a source's first bytes say about how to read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceKind {
    /// Read it as raw bytes (a capture, a Frame Streams file), not as lines.
    pub binary: bool,
    /// Its lines must reach one reader, in order (later lines depend on earlier ones).
    pub ordered: bool,
    /// The format it was recognised as, when it was: stamped on every chunk.
    pub format: Option<Arc<str>>,
}

/// Decides how to read a source from its first bytes (up to [`SNIFF_BYTES`], or fewer when
/// the source is shorter or a live source paused).
pub trait Sniff: Send + Sync {
    /// How to read `source` (a path, `-`), which starts with `head`.
    fn sniff(&self, source: &str, head: &[u8]) -> SourceKind;
}

/// The most bytes a source's head holds when it is sniffed: enough for dozens of lines of
/// any log format.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The default sniffer: binary when the first 4 KiB hold a NUL byte or are not UTF-8, text
/// in no particular order otherwise, no format named.
#[derive(Clone, Copy, Debug, Default)]
pub struct ByContent;

impl Sniff for ByContent {
    fn sniff(&self, _source: &str, head: &[u8]) -> SourceKind {
        SourceKind {
            binary: looks_binary(head),
            ..SourceKind::default()
        }
    }
}

/// Binary if the first 4 KiB hold a NUL byte or are not UTF-8 (a character cut at the end
/// of the sample does not count).
pub fn looks_binary(head: &[u8]) -> bool {
    let head = &head[..head.len().min(4096)];
    head.contains(&0) || std::str::from_utf8(head).is_err_and(|e| e.error_len().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_by_nul_or_invalid_utf8_in_the_first_4_kib() {
        assert!(!looks_binary(b"plain text\n"));
        assert!(looks_binary(b"a\0b"));
        assert!(looks_binary(b"\xff\xfe"));
        assert!(!looks_binary("caf\u{e9}".as_bytes()));
        // A character cut at the end of the sample is not a fault.
        let mut cut = vec![b'a'; 4095];
        cut.extend_from_slice("\u{e9}".as_bytes());
        assert!(!looks_binary(&cut));
        let mut late = vec![b'a'; 5000];
        late.push(0);
        assert!(!looks_binary(&late), "only the first 4 KiB count");
    }
}
