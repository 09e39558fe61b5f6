//! Compressed files (rotated logs are): gzip and zstd, recognised by their magic number
//! whatever their name, read as the lines (or bytes) they hold; a stream cut short keeps the
//! lines before the cut and says why reading stopped.

mod harness;

use std::path::Path;
use std::sync::{Arc, Mutex};

use antimony_core::{DeadLetter, Record};
use antimony_io::sources::file::{FileConfig, FileSpout};
use antimony_io::{ByteChunk, TextChunk};
use async_compression::tokio::bufread::{GzipEncoder, ZstdEncoder};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
enum Rec {
    #[default]
    Empty,
    Text(TextChunk),
    Bytes(ByteChunk),
}

impl From<TextChunk> for Rec {
    fn from(c: TextChunk) -> Self {
        Rec::Text(c)
    }
}

impl From<ByteChunk> for Rec {
    fn from(c: ByteChunk) -> Self {
        Rec::Bytes(c)
    }
}

impl Record for Rec {
    fn kind(&self) -> &'static str {
        "chunk"
    }
    fn key_hash(&self, _: &[usize]) -> u64 {
        0
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

/// What a file spout emitted and set aside.
#[derive(Debug, Default)]
struct Read {
    /// Lines with their numbers, in order.
    lines: Vec<(u64, Vec<u8>)>,
    /// The bytes of byte chunks, joined.
    bytes: Vec<u8>,
    dead: Vec<DeadLetter>,
}

/// Reads `path` to its end with the file spout.
fn read(path: &Path, config: FileConfig) -> Read {
    let seen = Arc::new(Mutex::new(Read::default()));
    let into = Arc::clone(&seen);
    let path = path.to_path_buf();
    let (_stop, run) = harness::drive(
        move || FileSpout::<Rec>::new(path, &config),
        move |record: Rec| {
            let mut seen = into.lock().expect("lock");
            match record {
                Rec::Text(chunk) => {
                    for (n, line) in chunk.lines() {
                        seen.lines.push((n, line.to_vec()));
                    }
                }
                Rec::Bytes(chunk) => seen.bytes.extend_from_slice(&chunk.data),
                Rec::Empty => {}
            }
        },
    );
    let report = run
        .join()
        .expect("the spout's thread")
        .expect("the spout opens");
    let mut read = std::mem::take(&mut *seen.lock().expect("lock"));
    read.dead = report.dead;
    read
}

fn read_path(path: &Path) -> Read {
    read(path, FileConfig::new(path.display().to_string()))
}

#[derive(Clone, Copy, Debug)]
enum Codec {
    Gzip,
    Zstd,
}

/// `data` compressed with the crate's own encoder.
fn compress(codec: Codec, data: &[u8]) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut out = Vec::new();
        match codec {
            Codec::Gzip => GzipEncoder::new(data).read_to_end(&mut out).await,
            Codec::Zstd => ZstdEncoder::new(data).read_to_end(&mut out).await,
        }
        .expect("compresses");
        out
    })
}

/// The numbered lines of a plain text.
fn numbered(text: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    text.split(|&b| b == b'\n')
        .zip(1..)
        .map(|(line, n)| (n, line.to_vec()))
        .collect()
}

fn shared(path: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{path}")).expect("shared data")
}

/// Regression ("Never blind without a word"): a compressed log was read as binary bytes in
/// no known format. Now its lines arrive exactly as the plain file's, whatever the file is
/// called: the magic number decides, not the name.
#[test]
fn gzip_and_zstd_logs_give_the_lines_of_the_plain_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    for log in ["logs/bind9_querylog.log", "logs/windows_dns_debug.log"] {
        let plain = shared(log);
        let expected = numbered(&plain);
        for (codec, name) in [
            (Codec::Gzip, "rotated.log.gz"),
            (Codec::Zstd, "rotated.log.zst"),
            (Codec::Gzip, "misnamed.log"),
            (Codec::Zstd, "misnamed.txt"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, compress(codec, &plain)).expect("write");
            let read = read_path(&path);
            assert!(read.dead.is_empty(), "{log} as {name}: {:?}", read.dead);
            assert!(read.bytes.is_empty(), "{log} as {name}: read as bytes");
            assert_eq!(read.lines, expected, "{log} as {name} ({codec:?})");
        }
    }
}

/// Like `zcat`: gzip members (and zstd frames) one after the other are one stream.
#[test]
fn concatenated_members_are_read_one_after_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    for codec in [Codec::Gzip, Codec::Zstd] {
        let mut data = compress(codec, b"one\ntwo\n");
        data.extend(compress(codec, b"three\n"));
        let path = dir.path().join("joined");
        std::fs::write(&path, data).expect("write");
        let read = read_path(&path);
        assert!(read.dead.is_empty(), "{codec:?}: {:?}", read.dead);
        assert_eq!(read.lines, numbered(b"one\ntwo\nthree\n"), "{codec:?}");
    }
}

/// A compressed capture is read as the bytes it holds (the sniffer saw them decompressed).
#[test]
fn a_compressed_capture_is_read_as_its_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = shared("pcaps/lab/lab_dns.pcap");
    for codec in [Codec::Gzip, Codec::Zstd] {
        let path = dir.path().join("capture.pcap.z");
        std::fs::write(&path, compress(codec, &pcap)).expect("write");
        let read = read_path(&path);
        assert!(read.dead.is_empty(), "{codec:?}: {:?}", read.dead);
        assert!(read.lines.is_empty(), "{codec:?}: read as lines");
        assert!(read.bytes == pcap, "{codec:?}: not the capture's bytes");
    }
}

/// A stream cut short (a log copied while it was being compressed): the lines decoded
/// before the cut arrive, then a dead letter names the file and says why reading stopped.
#[test]
fn a_truncated_compressed_log_keeps_its_first_lines_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Several zstd blocks (of up to 128 KiB each, the least a decoder can hand on), so that
    // half the compressed file holds whole blocks.
    let plain = [
        "logs/bind9_querylog.log",
        "logs/dnsmasq_log_queries_extra.log",
        "logs/unbound_log_queries_replies.log",
        "logs/powerdns_auth_log_dns_queries.log",
    ]
    .map(shared)
    .concat();
    let expected = numbered(&plain);
    for (codec, name) in [(Codec::Gzip, "gzip"), (Codec::Zstd, "zstd")] {
        let compressed = compress(codec, &plain);
        let path = dir.path().join(format!("cut.log.{name}"));
        std::fs::write(&path, &compressed[..compressed.len() / 2]).expect("write");
        let read = read_path(&path);
        assert!(
            read.lines.len() > 10 && read.lines.len() < expected.len(),
            "{name}: {} lines, {:?}",
            read.lines.len(),
            read.dead
        );
        // Every line but the last, which the cut may have cut, as in the plain file.
        let (last, whole) = read.lines.split_last().expect("lines");
        assert_eq!(whole, &expected[..whole.len()], "{name}");
        let (n, text) = last;
        assert_eq!(*n, whole.len() as u64 + 1);
        assert!(expected[whole.len()].1.starts_with(text), "{name}");
        assert_eq!(read.dead.len(), 1, "{name}: {:?}", read.dead);
        let dead = &read.dead[0];
        assert_eq!(
            dead.location.as_deref(),
            Some(path.display().to_string().as_str())
        );
        assert!(dead.reason.contains(name), "{name}: {}", dead.reason);
    }
}

/// A decompression bomb is only a long stream: an over-long line in it is skipped up to its
/// end without being held (the cutter's cap), and reading goes on.
#[test]
fn a_long_line_in_a_compressed_stream_is_set_aside_without_being_held() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut plain = b"first\n".to_vec();
    plain.resize(plain.len() + 8 * 1024 * 1024, b'x');
    plain.extend_from_slice(b"\nlast\n");
    let compressed = compress(Codec::Gzip, &plain);
    assert!(compressed.len() < 64 * 1024, "{} bytes", compressed.len());
    let path = dir.path().join("bomb.gz");
    std::fs::write(&path, compressed).expect("write");
    let config = FileConfig {
        max_line_bytes: 1024,
        ..FileConfig::new(path.display().to_string())
    };
    let read = read(&path, config);
    assert_eq!(
        read.lines,
        [(1, b"first".to_vec()), (3, b"last".to_vec())],
        "{:?}",
        read.dead
    );
    assert_eq!(read.dead.len(), 1, "{:?}", read.dead);
    assert!(
        read.dead[0].reason.contains("8388608 bytes long"),
        "{}",
        read.dead[0].reason
    );
}
