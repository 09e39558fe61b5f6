//! The file spout feeding the JSON-lines sink, each driven as the engine would drive it.

mod harness;

use std::path::Path;
use std::sync::{Arc, Mutex};

use antimony_core::{Bolt, Context, DeadLetter, Emitter, Record, SpoutError};
use antimony_io::sinks::json_lines::{JsonLine, JsonLinesSink};
use antimony_io::sources::file::{FileConfig, FileSpout};
use antimony_io::{ByteChunk, TextChunk};
use serde::{Deserialize, Serialize};

/// Chunks in, numbered lines out.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
enum Rec {
    #[default]
    Empty,
    Chunk(TextChunk),
    Bytes(ByteChunk),
    Line(String, u64, String),
}

impl From<ByteChunk> for Rec {
    fn from(chunk: ByteChunk) -> Self {
        Rec::Bytes(chunk)
    }
}

impl From<TextChunk> for Rec {
    fn from(chunk: TextChunk) -> Self {
        Rec::Chunk(chunk)
    }
}

impl Record for Rec {
    fn kind(&self) -> &'static str {
        match self {
            Rec::Chunk(_) | Rec::Bytes(_) => "chunk",
            _ => "line",
        }
    }
    fn key_hash(&self, _fields: &[usize]) -> u64 {
        0
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

impl JsonLine for Rec {
    fn write_json_line(&self, out: &mut String) -> bool {
        match self {
            Rec::Line(source, n, text) => {
                let file = Path::new(source)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned());
                serde_json::to_string(&(file, n, text))
                    .map(|json| out.push_str(&json))
                    .is_ok()
            }
            _ => false,
        }
    }
}

/// Chunks in, one record per numbered line out.
fn split(chunk: &TextChunk, out: &mut Vec<Rec>) {
    for (n, line) in chunk.lines() {
        out.push(Rec::Line(
            chunk.source.clone(),
            n,
            String::from_utf8_lossy(line).into(),
        ));
    }
}

/// The file's lines through the sink, one epoch per chunk as the engine cuts them; returns
/// the sink's file and the records set aside (by the spout and the sink).
fn read_lines(
    path: &Path,
    chunk_bytes: usize,
    max_line_bytes: usize,
) -> Result<(String, Vec<DeadLetter>), SpoutError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.jsonl");
    let config = FileConfig {
        chunk_bytes,
        max_line_bytes,
        ..FileConfig::new(path.display().to_string())
    };
    let path = path.to_path_buf();
    let mut sink = JsonLinesSink::new(out.clone());
    <JsonLinesSink<Rec> as Bolt<Rec>>::on_start(&mut sink, &Context::new("sink", 0, 1));
    let sink = Arc::new(Mutex::new((sink, Vec::new())));
    let into = Arc::clone(&sink);
    let (_stop, run) = harness::drive(
        move || FileSpout::<Rec>::new(path, &config),
        move |record: Rec| {
            let Rec::Chunk(chunk) = record else { return };
            let mut lines = Vec::new();
            split(&chunk, &mut lines);
            let (sink, dead) = &mut *into.lock().expect("lock");
            let mut emitted = Vec::new();
            let mut out = Emitter::new(&mut emitted, dead, "sink");
            for mut line in lines {
                sink.process(&mut line, &mut out);
            }
            sink.on_epoch_end(0, &mut out);
        },
    );
    let report = run.join().expect("the spout's thread")?;
    let (mut sink, mut dead) = Arc::try_unwrap(sink)
        .ok()
        .expect("the spout is done")
        .into_inner()
        .expect("lock");
    let mut emitted = Vec::new();
    <JsonLinesSink<Rec> as Bolt<Rec>>::on_close(
        &mut sink,
        &mut Emitter::new(&mut emitted, &mut dead, "sink"),
    );
    let mut set_aside = report.dead;
    set_aside.append(&mut dead);
    Ok((std::fs::read_to_string(&out).unwrap_or_default(), set_aside))
}

#[test]
fn reads_every_line_with_its_number_whatever_the_chunk_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.log");
    let text: String = (1..=1000).map(|n| format!("line number {n}\n")).collect();
    std::fs::write(&path, format!("{text}last line without newline")).expect("write");
    let mut outputs = Vec::new();
    for chunk_bytes in [16, 100, 64 * 1024] {
        let (out, dead) = read_lines(&path, chunk_bytes, 1024).expect("runs");
        assert!(dead.is_empty(), "{dead:?}");
        let lines: Vec<(String, u64, String)> = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(lines.len(), 1001);
        for (file, n, text) in &lines {
            assert_eq!(file, "in.log");
            if *n == 1001 {
                assert_eq!(text, "last line without newline");
            } else {
                assert_eq!(text, &format!("line number {n}"));
            }
        }
        outputs.push(out);
    }
    // The same lines whatever the chunk size (the sink sorts within each epoch).
    let mut sorted: Vec<Vec<&str>> = outputs
        .iter()
        .map(|o| {
            let mut v: Vec<&str> = o.lines().collect();
            v.sort();
            v
        })
        .collect();
    let first = sorted.remove(0);
    assert!(sorted.iter().all(|s| *s == first));
}

#[test]
fn an_over_long_line_is_set_aside_with_its_number_and_reading_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.log");
    let long = "x".repeat(10_000);
    std::fs::write(&path, format!("one\ntwo\n{long}\nfour\n{long}")).expect("write");
    for chunk_bytes in [64, 4096, 64 * 1024] {
        let (out, dead) = read_lines(&path, chunk_bytes, 1000).expect("runs");
        let numbers: Vec<u64> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<(String, u64, String)>(l)
                    .expect("json")
                    .1
            })
            .collect();
        assert_eq!(numbers, [1, 2, 4], "chunk_bytes {chunk_bytes}");
        assert_eq!(dead.len(), 2, "chunk_bytes {chunk_bytes}: {dead:?}");
        let location = |i: usize| dead[i].location.clone().unwrap_or_default();
        assert!(location(0).ends_with("in.log:3"), "{}", location(0));
        assert!(location(1).ends_with("in.log:5"), "{}", location(1));
        assert!(
            dead[0].reason.contains("10000 bytes long"),
            "{}",
            dead[0].reason
        );
    }
}

#[test]
fn a_missing_file_is_refused_at_open_with_its_name() {
    let error = read_lines(Path::new("/nonexistent/dns.log"), 1024, 1024).expect_err("fails");
    let message = error.to_string();
    assert!(message.contains("/nonexistent/dns.log"), "{message}");
    assert!(message.contains("no such file"), "{message}");
}

#[test]
fn a_zero_chunk_or_line_size_is_refused_naming_the_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.log");
    std::fs::write(&path, "one\n").expect("write");
    for (chunk_bytes, max_line_bytes, option) in
        [(0, 1024, "chunk_bytes"), (1024, 0, "max_line_bytes")]
    {
        let config = FileConfig {
            chunk_bytes,
            max_line_bytes,
            ..FileConfig::new("in.log")
        };
        let error = config.check().expect_err("refused");
        assert_eq!(error.option(), option);
        let message = read_lines(&path, chunk_bytes, max_line_bytes)
            .expect_err("the spout refuses to open")
            .to_string();
        assert!(message.contains(&format!("`{option}`")), "{message}");
    }
    assert!(FileConfig::new("in.log").check().is_ok());
}
