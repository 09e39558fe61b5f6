//! The file spout and the JSON-lines sink in running topologies.

use std::path::Path;

use antimony_engine::{
    Bolt, BoltSpec, Emitter, LineTarget, Record, RunConfig, RunError, SpoutSpec, StreamType,
    TopologyBuilder, run,
};
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

struct Split;

impl Bolt<Rec> for Split {
    fn process(&mut self, record: &mut Rec, out: &mut Emitter<'_, Rec>) {
        if let Rec::Chunk(chunk) = record {
            for (n, line) in chunk.lines() {
                out.emit(Rec::Line(
                    chunk.source.clone(),
                    n,
                    String::from_utf8_lossy(line).into(),
                ));
            }
        }
    }
}

const CHUNKS: StreamType = StreamType::new("chunk");
const LINES: StreamType = StreamType::new("line");

fn read_lines(
    path: &Path,
    chunk_bytes: usize,
    max_line_bytes: usize,
    workers: usize,
) -> Result<(String, String, antimony_engine::RunReport), RunError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.jsonl");
    let dead = dir.path().join("dead.jsonl");
    let config = FileConfig {
        chunk_bytes,
        max_line_bytes,
        ..FileConfig::new(path.display().to_string())
    };
    let path = path.to_path_buf();
    let mut builder = TopologyBuilder::new("lines");
    builder.set_spout(
        "file",
        SpoutSpec::new(CHUNKS, move |_| {
            FileSpout::<Rec>::new(path.clone(), &config)
        }),
    );
    builder
        .set_bolt("split", BoltSpec::new(&["chunk"], Some(LINES), |_| Split))
        .shuffle_grouping("file");
    let out_path = out.clone();
    builder
        .set_bolt(
            "sink",
            BoltSpec::new(&["line"], None, move |_| {
                JsonLinesSink::new(out_path.clone())
            })
            .global_only(),
        )
        .global_grouping("split");
    let report = run(
        builder.build().expect("valid"),
        RunConfig {
            workers,
            dead_letter: Some(LineTarget::File(dead.clone())),
            ..RunConfig::default()
        },
    )?;
    let out = std::fs::read_to_string(&out).unwrap_or_default();
    let dead = std::fs::read_to_string(&dead).unwrap_or_default();
    Ok((out, dead, report))
}

#[test]
fn reads_every_line_with_its_number_whatever_the_chunk_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.log");
    let text: String = (1..=1000).map(|n| format!("line number {n}\n")).collect();
    std::fs::write(&path, format!("{text}last line without newline")).expect("write");
    let mut outputs = Vec::new();
    for (chunk_bytes, workers) in [(16, 1), (100, 2), (64 * 1024, 2)] {
        let (out, dead, _) = read_lines(&path, chunk_bytes, 1024, workers).expect("runs");
        assert_eq!(dead, "");
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
    // The same lines in the same order: epochs are cut by content, the sink sorts each epoch.
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
        let (out, dead, report) = read_lines(&path, chunk_bytes, 1000, 1).expect("runs");
        let numbers: Vec<u64> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<(String, u64, String)>(l)
                    .expect("json")
                    .1
            })
            .collect();
        assert_eq!(numbers, [1, 2, 4], "chunk_bytes {chunk_bytes}");
        let dead: Vec<serde_json::Value> = dead
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(dead.len(), 2, "chunk_bytes {chunk_bytes}: {dead:?}");
        assert!(
            dead[0]["location"]
                .as_str()
                .expect("location")
                .ends_with("in.log:3")
        );
        assert!(
            dead[1]["location"]
                .as_str()
                .expect("location")
                .ends_with("in.log:5")
        );
        assert!(
            dead[0]["reason"]
                .as_str()
                .expect("reason")
                .contains("10000 bytes long")
        );
        assert_eq!(report.dead_letters(), 2);
    }
}

#[test]
fn a_missing_file_stops_the_run_with_its_name() {
    let error = read_lines(Path::new("/nonexistent/dns.log"), 1024, 1024, 1).expect_err("fails");
    let message = error.to_string();
    assert!(message.contains("/nonexistent/dns.log"), "{message}");
    assert!(message.contains("no such file"), "{message}");
}
