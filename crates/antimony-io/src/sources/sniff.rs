//! How a source is to be read, decided once, from its first bytes, by whoever knows the
//! formats: the file spout asks a [`Sniff`] when it opens a source and stamps the answer on
//! every chunk of it ([`TextChunk::format`](crate::TextChunk::format),
//! [`ByteChunk::format`](crate::ByteChunk::format)), so no reader downstream guesses again.
//!
//! This crate knows no format; [`ByContent`] is the default when nobody says more. For bytes
//! that no reader takes, [`describe_binary`] says what they look like (an archive, a
//! compression not read here, UTF-16 text), so a message can say what to do.

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

/// What binary bytes in no format read here look like, when they look like something known:
/// a compression or archive not read here, a Windows event log, a database, text in UTF-16.
/// A phrase for a person, naming it and what to do, such as "bzip2-compressed data
/// (decompress it first: bunzip2)", to follow words like "it looks like"; `None` when
/// nothing is recognised.
///
/// gzip and zstd are read by the file spout (see [`compressed`](super::compressed)); a
/// decompressed stream that starts with them again was compressed twice, or came from a
/// source that does not decompress.
pub fn describe_binary(head: &[u8]) -> Option<&'static str> {
    const ZIP: &str = "a zip archive (extract the log first: unzip)";
    const UTF16: &str = "UTF-16 text (convert it to UTF-8 first: iconv -f UTF-16 -t UTF-8)";
    const UTF32: &str = "UTF-32 text (convert it to UTF-8 first: iconv -f UTF-32 -t UTF-8)";
    const MAGIC: &[(&[u8], &str)] = &[
        (
            &[0x1f, 0x8b],
            "gzip-compressed data (decompress it first: gunzip)",
        ),
        (
            &[0x28, 0xb5, 0x2f, 0xfd],
            "zstd-compressed data (decompress it first: unzstd)",
        ),
        (
            &[0xfd, b'7', b'z', b'X', b'Z', 0],
            "xz-compressed data (decompress it first: unxz)",
        ),
        (
            &[0x04, 0x22, 0x4d, 0x18],
            "lz4-compressed data (decompress it first: unlz4)",
        ),
        (b"PK\x03\x04", ZIP),
        (b"PK\x05\x06", ZIP),
        (b"PK\x07\x08", ZIP),
        (
            &[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c],
            "a 7z archive (extract the log first: 7z x)",
        ),
        (
            b"Rar!\x1a\x07",
            "a rar archive (extract the log first: unrar x)",
        ),
        (
            b"ElfFile\0",
            "a Windows event log, .evtx (export it as XML first: wevtutil qe LOG /f:xml)",
        ),
        (
            b"SQLite format 3\0",
            "an SQLite database, such as Pi-hole's (export its queries as text first: sqlite3)",
        ),
        (b"\x7fELF", "an executable (ELF), not a log"),
        // UTF-32's little-endian mark starts with UTF-16's: it is looked for first.
        (&[0xff, 0xfe, 0, 0], UTF32),
        (&[0, 0, 0xfe, 0xff], UTF32),
        (&[0xff, 0xfe], UTF16),
        (&[0xfe, 0xff], UTF16),
    ];
    if let Some((_, description)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(description);
    }
    if head.starts_with(b"BZh") && matches!(head.get(3), Some(b'1'..=b'9')) {
        return Some("bzip2-compressed data (decompress it first: bunzip2)");
    }
    // A POSIX tar header names its format 257 bytes in, after the first file's name.
    if head.get(257..262) == Some(b"ustar") {
        return Some("a tar archive (extract the log first: tar -xf)");
    }
    if utf16_without_mark(head) {
        return Some(UTF16);
    }
    None
}

/// Text in UTF-16 without a byte-order mark (how Windows PowerShell 5 writes files by
/// default): in its first bytes, every other byte is 0 and the bytes between are not.
fn utf16_without_mark(head: &[u8]) -> bool {
    let pairs: Vec<&[u8]> = head[..head.len().min(512)].chunks_exact(2).collect();
    let little = |p: &&[u8]| p[0] != 0 && p[1] == 0;
    let big = |p: &&[u8]| p[0] == 0 && p[1] != 0;
    pairs.len() >= 8 && (pairs.iter().all(little) || pairs.iter().all(big))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `head` is described, and the description holds each of `words`.
    fn check(head: &[u8], words: &[&str]) {
        let description = describe_binary(head);
        let Some(description) = description else {
            panic!("{head:x?}: not recognised");
        };
        for word in words {
            assert!(description.contains(word), "{head:x?}: {description}");
        }
    }

    #[test]
    fn names_known_binary_formats_and_what_to_do() {
        check(b"BZh91AY&SY\x01\x02", &["bzip2", "bunzip2"]);
        check(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0, 4], &["xz", "unxz"]);
        check(b"PK\x03\x04\x14\x00\x00\x00", &["zip", "unzip"]);
        check(b"PK\x05\x06\0\0\0\0", &["zip"]);
        check(&[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4], &["7z"]);
        check(b"Rar!\x1a\x07\x01\x00", &["rar"]);
        check(&[0x04, 0x22, 0x4d, 0x18, 0x64, 0x40], &["lz4"]);
        check(&[0x1f, 0x8b, 0x08, 0x00], &["gzip", "gunzip"]);
        check(&[0x28, 0xb5, 0x2f, 0xfd, 0x04], &["zstd", "unzstd"]);
        check(b"ElfFile\0\0\0\0\0", &["Windows event log", "wevtutil"]);
        check(b"SQLite format 3\0\x10\0", &["SQLite"]);
        check(b"\x7fELF\x02\x01\x01", &["executable"]);
        let mut tar = vec![0u8; 512];
        tar[..8].copy_from_slice(b"dns.log\0");
        tar[257..263].copy_from_slice(b"ustar\0");
        check(&tar, &["tar"]);
    }

    #[test]
    fn names_utf16_text_with_or_without_its_mark() {
        let line = "26-Nov-2026 06:46:50.079 queries: info: client 10.0.0.1#5353\r\n";
        let le: Vec<u8> = line.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = line.encode_utf16().flat_map(u16::to_be_bytes).collect();
        check(&[&[0xff, 0xfe][..], &le].concat(), &["UTF-16", "iconv"]);
        check(&[&[0xfe, 0xff][..], &be].concat(), &["UTF-16", "iconv"]);
        check(&le, &["UTF-16", "iconv"]);
        check(&be, &["UTF-16", "iconv"]);
    }

    #[test]
    fn says_nothing_of_what_it_does_not_know() {
        for head in [
            &b""[..],
            b"BZ",
            b"BZh0",
            b"PK",
            b"\0\0\0\0\0\0\0\0",
            b"\x01\x02\x03\x04\xff\xfe\xfd",
            b"a\0",
        ] {
            assert_eq!(describe_binary(head), None, "{head:x?}");
        }
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(describe_binary(&noise), None);
    }

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
