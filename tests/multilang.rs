//! Storm multilang components under Antimony: real Python bolts (storm.py) in a topology run
//! by the binary, with the subprocess killed, hung and writing garbage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn antimony(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn lines_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The number after `name` in the run's summary of the `component_line`th multilang instance
/// (`restarts 1`).
fn summary_count(stderr: &str, component_line: usize, name: &str) -> u64 {
    stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("acks "))
        .nth(component_line)
        .and_then(|l| {
            let at = l.find(name)? + name.len();
            l[at..].trim_start().split([',', ' ']).next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no `{name}` in the summary:\n{stderr}"))
}

/// A topology reading `input` through the moody bolt into `out`.
fn moody_topology(dir: &Path, input: &str, extra: &str) -> PathBuf {
    std::fs::write(dir.join("input.txt"), input).expect("input written");
    let script = Path::new(ROOT).join("tests/multilang/moody_split.py");
    let marker = dir.join("killed");
    let topology = dir.join("topology.toml");
    std::fs::write(
        &topology,
        format!(
            r#"[topology]
name = "moody"

[spouts.lines]
type = "file"
path = "input.txt"
chunk_bytes = 4096

[bolts.split]
type = "multilang"
inputs = ["lines"]
command = "python3"
args = ["{script}"]
fields = ["word"]
conf = {{ marker = "{marker}" }}
{extra}

[bolts.out]
type = "values_file"
inputs = [{{ from = "split", grouping = "global" }}]
path = "words.jsonl"
"#,
            script = script.display(),
            marker = marker.display(),
        ),
    )
    .expect("topology written");
    topology
}

fn words(dir: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for value in lines_of(&dir.join("words.jsonl")) {
        let word = value[0].as_str().expect("a word").to_owned();
        *counts.entry(word).or_default() += 1;
    }
    counts
}

#[test]
fn the_python_word_count_example_counts_every_word() {
    let topology = format!("{ROOT}/examples/multilang/word_count.toml");
    let output = antimony(&["run", &topology]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let counts: BTreeMap<String, u64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON list"))
        .map(|v| {
            (
                v[0].as_str().unwrap_or("").to_owned(),
                v[1].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(counts.get("the"), Some(&4), "{counts:?}");
    assert_eq!(counts.get("seven"), Some(&2));
    assert_eq!(counts.values().sum::<u64>(), 32, "every word counted once");
    // 32 words acknowledged by the counter, 5 lines by the splitter.
    assert_eq!(summary_count(&stderr, 1, "acks"), 32, "{stderr}");
}

#[test]
fn a_bolt_killed_mid_stream_restarts_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut input = String::new();
    for i in 0..3000 {
        if i == 1500 {
            input.push_str("KILL\n");
        }
        input.push_str(&format!("a{i} b{i}\n"));
    }
    let topology = moody_topology(dir.path(), &input, "max_pending = 50");
    let dead = dir.path().join("dead.jsonl");
    let output = antimony(&[
        "run",
        topology.to_str().expect("a path"),
        "--dead-letter",
        dead.to_str().expect("a path"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(dir.path().join("killed").exists(), "the bolt killed itself");
    let counts = words(dir.path());
    assert_eq!(counts.len(), 6001, "{stderr}");
    assert!(counts.values().all(|n| *n == 1), "each word once");
    assert_eq!(counts.get("kill"), Some(&1));
    assert!(lines_of(&dead).is_empty(), "nothing set aside");
    assert_eq!(summary_count(&stderr, 0, "restarts"), 1, "{stderr}");
    assert!(
        summary_count(&stderr, 0, "replays") >= 1,
        "the tuples in flight were replayed: {stderr}"
    );
}

#[test]
fn a_hung_bolt_and_one_writing_garbage_are_restarted_and_their_records_set_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut input = String::new();
    for i in 0..200 {
        match i {
            50 => input.push_str("HANG\n"),
            120 => input.push_str("GARBAGE\n"),
            _ => {}
        }
        input.push_str(&format!("w{i}\n"));
    }
    let topology = moody_topology(
        dir.path(),
        &input,
        "heartbeat_timeout_secs = 1\nmax_attempts = 2",
    );
    let dead = dir.path().join("dead.jsonl");
    let output = antimony(&[
        "run",
        topology.to_str().expect("a path"),
        "--dead-letter",
        dead.to_str().expect("a path"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the topology keeps running: {stderr}"
    );
    let counts = words(dir.path());
    assert_eq!(counts.len(), 200, "every other line went through: {stderr}");
    let dead = lines_of(&dead);
    assert_eq!(dead.len(), 2, "{dead:?}");
    let reason_of = |line: &str| {
        dead.iter()
            .find(|d| d["record"] == format!("[\"{line}\"]"))
            .and_then(|d| d["reason"].as_str())
            .unwrap_or_else(|| panic!("{line} not set aside: {dead:?}"))
            .to_owned()
    };
    assert!(reason_of("HANG").contains("hung"), "{}", reason_of("HANG"));
    assert!(
        reason_of("GARBAGE").contains("not JSON"),
        "{}",
        reason_of("GARBAGE")
    );
    assert!(summary_count(&stderr, 0, "timeouts") >= 2, "{stderr}");
    assert!(summary_count(&stderr, 0, "garbage") >= 2, "{stderr}");
}
