//! The file spout resumed from a position, as a checkpoint gives it back: every line is
//! read exactly once across the two spouts, with its own line number, from a plain file, a
//! gzip file, a glob of files and a followed file rotated meanwhile; a replaced file is
//! refused.

use std::path::Path;
use std::time::{Duration, Instant};

use antimony_core::{Context, DeadLetter, Emitter, Record, Spout, SpoutStatus};
use antimony_io::sources::file::{FileConfig, FileSpout};
use antimony_io::{ByteChunk, TextChunk};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
enum Rec {
    #[default]
    Empty,
    Chunk(TextChunk),
    Bytes(ByteChunk),
}

impl From<TextChunk> for Rec {
    fn from(chunk: TextChunk) -> Self {
        Rec::Chunk(chunk)
    }
}

impl From<ByteChunk> for Rec {
    fn from(chunk: ByteChunk) -> Self {
        Rec::Bytes(chunk)
    }
}

impl Record for Rec {
    fn kind(&self) -> &'static str {
        "chunk"
    }
    fn key_hash(&self, _fields: &[usize]) -> u64 {
        0
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

/// Polls `spout` until it has emitted `chunks` chunks (all, when `None`); returns its
/// (file, line number, line) triples.
fn poll(spout: &mut FileSpout<Rec>, chunks: Option<usize>) -> Vec<(String, u64, String)> {
    let mut lines = Vec::new();
    let mut seen = 0;
    let started = Instant::now();
    while chunks.is_none_or(|n| seen < n) {
        let mut records = Vec::new();
        let mut dead: Vec<DeadLetter> = Vec::new();
        let status = spout.poll(&mut Emitter::new(&mut records, &mut dead, "logs"));
        for record in records {
            if let Rec::Chunk(chunk) = record {
                seen += 1;
                let file = Path::new(&chunk.source)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                for (n, line) in chunk.lines() {
                    lines.push((file.clone(), n, String::from_utf8_lossy(line).into_owned()));
                }
            }
        }
        match status {
            SpoutStatus::Finished => break,
            SpoutStatus::Idle => std::thread::sleep(Duration::from_millis(1)),
            SpoutStatus::Emitted => {}
        }
        assert!(started.elapsed() < Duration::from_secs(30), "stuck");
    }
    lines
}

fn config(path: &str) -> FileConfig {
    FileConfig {
        chunk_bytes: 256,
        ..FileConfig::new(path)
    }
}

/// Reads `path` in two spouts, the second resumed from the first's position after
/// `chunks` chunks.
fn read_in_two(path: &str, chunks: usize) -> Vec<(String, u64, String)> {
    let ctx = Context::new("logs", 0, 1);
    let mut first = FileSpout::<Rec>::new(path.into(), &config(path));
    first.open(&ctx).expect("opens");
    let mut lines = poll(&mut first, Some(chunks));
    let position = first.position().expect("a text file has a position");
    drop(first);
    let mut second = FileSpout::<Rec>::new(path.into(), &config(path));
    second.seek(&position).expect("its own position");
    second.open(&ctx).expect("opens");
    lines.extend(poll(&mut second, None));
    lines
}

fn numbered(file: &str, count: u64) -> Vec<(String, u64, String)> {
    (1..=count)
        .map(|n| (file.to_owned(), n, format!("line {n} of {file}")))
        .collect()
}

fn write_lines(path: &Path, count: u64) {
    let name = path.file_name().expect("a name").to_string_lossy();
    let text: String = (1..=count)
        .map(|n| format!("line {n} of {name}\n"))
        .collect();
    std::fs::write(path, text).expect("write");
}

#[test]
fn a_resumed_file_is_read_on_from_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.log");
    write_lines(&path, 1000);
    let path = path.to_str().expect("utf-8");
    assert_eq!(read_in_two(path, 7), numbered("a.log", 1000));
}

#[test]
fn a_resumed_gzip_file_is_decoded_on_from_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("b.log");
    write_lines(&plain, 1000);
    let path = dir.path().join("b.log.gz");
    std::fs::write(&path, gzip(&std::fs::read(&plain).expect("read"))).expect("write");
    let lines = read_in_two(path.to_str().expect("utf-8"), 9);
    let expected: Vec<_> = numbered("b.log", 1000)
        .into_iter()
        .map(|(_, n, text)| ("b.log.gz".to_owned(), n, text))
        .collect();
    assert_eq!(lines, expected);
}

#[test]
fn a_glob_resumes_in_the_file_it_was_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["1.log", "2.log", "3.log"] {
        write_lines(&dir.path().join(name), 300);
    }
    let glob = format!("{}/*.log", dir.path().display());
    let mut expected = numbered("1.log", 300);
    expected.extend(numbered("2.log", 300));
    expected.extend(numbered("3.log", 300));
    assert_eq!(read_in_two(&glob, 50), expected);
}

#[test]
fn a_replaced_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.log");
    write_lines(&path, 100);
    let text = path.to_str().expect("utf-8");
    let ctx = Context::new("logs", 0, 1);
    let mut first = FileSpout::<Rec>::new(text.into(), &config(text));
    first.open(&ctx).expect("opens");
    poll(&mut first, Some(2));
    let position = first.position().expect("a position");
    std::fs::remove_file(&path).expect("remove");
    write_lines(&path, 100);
    let mut second = FileSpout::<Rec>::new(text.into(), &config(text));
    second.seek(&position).expect("a position");
    let error = second.open(&ctx).expect_err("another file");
    assert!(error.to_string().contains("replaced"), "{error}");
}

/// `tail -F` across a stop: a followed file grew after the checkpoint, then was rotated
/// (renamed, a new one written in its place) while the topology was down. The resumed spout
/// reads the old file's rest under its new name, then the new file, each line once.
#[test]
fn a_followed_file_rotated_while_stopped_is_read_on_in_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dns.log");
    write_lines(&path, 400);
    let text = path.to_str().expect("utf-8");
    let follow = FileConfig {
        follow: true,
        ..config(text)
    };
    let ctx = Context::new("logs", 0, 1);
    let mut first = FileSpout::<Rec>::new(text.into(), &follow);
    first.open(&ctx).expect("opens");
    let mut lines = poll(&mut first, Some(1));
    let position = first.position().expect("a followed file has a position");
    drop(first);

    // After the checkpoint: 100 more lines, then the rotation and a new file.
    let rest: String = (401..=500)
        .map(|n| format!("line {n} of dns.log\n"))
        .collect();
    let mut old = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    std::io::Write::write_all(&mut old, rest.as_bytes()).expect("append");
    std::fs::rename(&path, dir.path().join("dns.log.1")).expect("rotated");
    write_lines(&path, 50);

    let mut second = FileSpout::<Rec>::new(text.into(), &follow);
    second.seek(&position).expect("its own position");
    second.open(&ctx).expect("opens");
    let started = Instant::now();
    while lines.len() < 550 && started.elapsed() < Duration::from_secs(20) {
        lines.extend(poll(&mut second, Some(1)));
    }
    let texts: Vec<String> = lines.into_iter().map(|(_, _, text)| text).collect();
    let mut expected: Vec<String> = (1..=500).map(|n| format!("line {n} of dns.log")).collect();
    expected.extend((1..=50).map(|n| format!("line {n} of dns.log")));
    assert_eq!(texts, expected);
}

/// `data`, gzip-compressed by a real encoder.
fn gzip(data: &[u8]) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut out = Vec::new();
        async_compression::tokio::bufread::GzipEncoder::new(data)
            .read_to_end(&mut out)
            .await
            .expect("compresses");
        out
    })
}
