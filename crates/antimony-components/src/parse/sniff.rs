//! Recognising a source's format: the one place it is decided.
//!
//! A file spout asks [`DnsSniffer`] once per file, from its first bytes, and stamps the
//! answer on every chunk; `dns_parse` takes it from there. Sources no spout sniffed (a
//! syslog connection, a Frame Streams socket) are recognised by `dns_parse` from their first
//! chunk, with the same functions: [`text_format`] and [`binary_format`].

use std::sync::Arc;

use antimony_dns::Format;
use antimony_dns::formats::detect_format;
use antimony_dns::stream::BinaryFormat;
use antimony_io::sources::sniff::{Sniff, SourceKind};

/// Lines looked at to recognise a log's format.
pub const SAMPLE_LINES: usize = 64;

/// Recognises DNS logs, captures and dnstap from a source's first bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct DnsSniffer;

impl Sniff for DnsSniffer {
    /// A capture or dnstap file by its magic number; else a log whose first lines a text
    /// format reads (a stray byte, a NUL or a line in another encoding among them does not
    /// condemn the file: such lines are set aside one by one); else, when the first bytes are
    /// not text, bytes in no known format (which the parser refuses, saying so once); else
    /// text not recognised yet, recognised by the parser line by line.
    fn sniff(&self, _source: &str, head: &[u8]) -> SourceKind {
        if let Some(format) = binary_format(head) {
            return SourceKind {
                binary: true,
                ordered: true,
                format: Some(Arc::from(format.name())),
            };
        }
        let lines: Vec<&[u8]> = sample_lines(head).collect();
        match text_format(&lines) {
            Some(format) => SourceKind {
                binary: false,
                ordered: format.is_stateful(),
                format: Some(Arc::from(format.name())),
            },
            None if mostly_binary(head) => SourceKind {
                binary: true,
                ..SourceKind::default()
            },
            None => SourceKind::default(),
        }
    }
}

/// Whether a head no text format reads is bytes rather than damaged text: more than one
/// byte in ten is a control character (not a tab or line ending) or no part of a UTF-8
/// character. A log with a few bad bytes stays text, read line by line; a compressed or
/// binary file does not.
pub fn mostly_binary(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(4096)];
    if sample.is_empty() {
        return false;
    }
    let mut bad = sample
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
        .count();
    let mut rest = sample;
    while let Err(e) = std::str::from_utf8(rest) {
        let skip = e.error_len().unwrap_or(rest.len() - e.valid_up_to());
        bad += skip;
        rest = &rest[(e.valid_up_to() + skip).min(rest.len())..];
        if e.error_len().is_none() {
            // A character cut at the end of the sample: not a fault.
            bad -= skip;
            break;
        }
    }
    bad * 10 > sample.len()
}

/// The first [`SAMPLE_LINES`] whole lines of `text` (a last line without its newline, which a
/// sample may have cut, is left out unless it is the only one).
pub fn sample_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let whole = match text.iter().rposition(|&b| b == b'\n') {
        Some(end) => &text[..end],
        None => text,
    };
    whole
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take(SAMPLE_LINES)
}

/// The text format of a log whose first lines are `lines`, if one reads them.
pub fn text_format(lines: &[&[u8]]) -> Option<Format> {
    detect_format(lines)
}

/// The binary format a source's first bytes are in, by its magic number.
pub fn binary_format(head: &[u8]) -> Option<BinaryFormat> {
    BinaryFormat::detect(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    use antimony_io::sources::sniff::SNIFF_BYTES;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

    fn sniff(path: &str) -> SourceKind {
        let bytes = std::fs::read(format!("{DATA}/{path}")).expect("shared data");
        let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
        DnsSniffer.sniff(path, head)
    }

    #[test]
    fn real_files_are_recognised_once_with_their_order() {
        for (path, format, binary, ordered) in [
            ("logs/bind9_querylog.log", "bind9", false, false),
            ("logs/zeek_dns_tsv_txt.log", "zeek", false, true),
            (
                "logs/windows_dns_debug_details.log",
                "windows-debug-details",
                false,
                true,
            ),
            ("logs/suricata_eve_dns_v2.json", "suricata", false, false),
            ("pcaps/lab/lab_dns.pcap", "pcap", true, true),
            ("dnstap/bind.dnstap", "dnstap", true, true),
        ] {
            let kind = sniff(path);
            assert_eq!(kind.format.as_deref(), Some(format), "{path}");
            assert_eq!((kind.binary, kind.ordered), (binary, ordered), "{path}");
        }
    }

    /// One Latin-1 byte on line 4, or a NUL among the first lines, made the whole file
    /// "binary input in no known format": 0 events instead of 821.
    #[test]
    fn a_bad_byte_near_the_top_does_not_make_a_log_binary() {
        let bytes = std::fs::read(format!("{DATA}/logs/bind9_querylog.log")).expect("shared data");
        for bad in [&b"\xe9t\xe9"[..], b"\0"] {
            let mut lines: Vec<Vec<u8>> =
                bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            lines[3].splice(10..10, bad.iter().copied());
            let head = lines.join(&b'\n');
            let kind = DnsSniffer.sniff("bind.log", &head[..head.len().min(SNIFF_BYTES)]);
            assert_eq!(kind.format.as_deref(), Some("bind9"), "{bad:?}");
            assert!(!kind.binary);
        }
    }

    #[test]
    fn damaged_text_is_text_and_bytes_are_bytes() {
        assert!(!mostly_binary(
            b"a line with one \xff byte\nand another line\n"
        ));
        assert!(!mostly_binary("caf\u{e9} cr\u{e8}me\n".as_bytes()));
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        assert!(mostly_binary(&bytes));
        assert!(mostly_binary(
            b"\x1f\x8b\x08\0\0\0\0\0\0\x03\xcb\x48\xcd\xc9"
        ));
    }

    #[test]
    fn unknown_text_and_bytes_name_no_format() {
        assert_eq!(
            DnsSniffer.sniff("t", b"hello\nworld\n"),
            SourceKind::default()
        );
        let kind = DnsSniffer.sniff("b", b"\0\x01\x02 not a capture");
        assert!(kind.binary && kind.format.is_none());
    }
}
