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
fn the_same_bolt_in_node_js_gives_the_same_counts() {
    let run = |name: &str| {
        let output = antimony(&["run", &format!("{ROOT}/examples/multilang/{name}")]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let python = run("word_count.toml");
    assert_eq!(run("word_count_node.toml"), python);
    assert_eq!(python.lines().count(), 27);
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
fn a_hung_bolt_and_one_writing_garbage_or_a_huge_line_are_restarted_and_failed_records_set_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut input = String::new();
    for i in 0..200 {
        match i {
            50 => input.push_str("HANG\n"),
            120 => input.push_str("GARBAGE\n"),
            160 => input.push_str("HUGE\n"),
            180 => input.push_str("FAIL\n"),
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
    assert_eq!(dead.len(), 4, "{dead:?}");
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
    assert!(summary_count(&stderr, 0, "garbage") >= 4, "{stderr}");
    assert_eq!(summary_count(&stderr, 0, "fails"), 1, "{stderr}");
    assert_eq!(summary_count(&stderr, 0, "errors"), 1, "{stderr}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("directory made");
    for entry in std::fs::read_dir(from).expect("fixture readable") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("file copied");
        }
    }
}

#[test]
fn a_pyleus_topology_with_every_grouping_imports_validates_and_runs_with_its_python_components() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&Path::new(ROOT).join("tests/multilang/pyleus"), dir.path());
    // The modules import storm.py, as a pyleus user's virtualenv would provide its library.
    std::fs::copy(
        Path::new(ROOT).join("examples/multilang/storm.py"),
        dir.path().join("storm.py"),
    )
    .expect("storm.py copied");
    let yaml = dir.path().join("pyleus_topology.yaml");
    let toml = dir.path().join("topology.toml");
    let output = antimony(&[
        "import",
        yaml.to_str().expect("a path"),
        "-o",
        toml.to_str().expect("a path"),
    ]);
    let notes = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{notes}");
    for option in [
        "ackers",
        "message_timeout_secs",
        "parallelism_hint 3",
        "tasks 2",
        "workers",
    ] {
        assert!(notes.contains(option), "a note on {option}: {notes}");
    }
    let text = std::fs::read_to_string(&toml).expect("TOML written");
    for expected in [
        "grouping = \"shuffle\"",
        "grouping = \"local\"",
        "grouping = \"fields\", fields = [\"word\"]",
        "grouping = \"global\"",
        "grouping = \"all\"",
        "tick_freq_secs = 1",
        "max_pending = 20",
        "workers = 2",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    // none_grouping became a shuffle: upper-words -> sample-words.
    assert!(text.contains("inputs = [{ from = \"upper-words\", grouping = \"shuffle\" }]"));

    let validated = antimony(&["validate", toml.to_str().expect("a path")]);
    let plan = String::from_utf8_lossy(&validated.stdout);
    assert!(
        validated.status.success(),
        "{plan}{}",
        String::from_utf8_lossy(&validated.stderr)
    );
    assert!(
        plan.contains("count-words (multilang) <- split-words [fields(word)]"),
        "{plan}"
    );

    let run = antimony(&["run", toml.to_str().expect("a path")]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // Each count reaches log-results twice (all grouping, 2 workers); the last is whole.
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for value in lines_of(&dir.path().join("results.jsonl")) {
        let word = value[0].as_str().expect("a word").to_owned();
        let count = value[1].as_u64().expect("a count");
        let best = counts.entry(word).or_default();
        *best = (*best).max(count);
    }
    assert_eq!(counts.get("the"), Some(&20), "{counts:?}\n{stderr}");
    assert_eq!(counts.get("seven"), Some(&10));
    assert_eq!(counts.get("moon"), Some(&5));
    assert_eq!(
        counts.values().sum::<u64>(),
        130,
        "every word of 20 lines counted"
    );
}

#[test]
fn validate_names_every_error_with_its_place_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topology = dir.path().join("bad.toml");
    std::fs::write(
        &topology,
        r#"[topology]
name = "bad"

[spouts.lines]
type = "file"
path = "input.txt"

[bolts.split]
type = "multilang"
inputs = ["lines"]
command = "python3"
args = ["missing_bolt.py"]

[bolts.count]
type = "multilang"
inputs = ["split"]
command = "no-such-program-anywhere"
max_pending = 0
"#,
    )
    .expect("written");
    let output = antimony(&["validate", topology.to_str().expect("a path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("bad.toml:12:"),
        "the script's line: {stderr}"
    );
    assert!(
        stderr.contains("missing_bolt.py does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.toml:18:"),
        "max_pending's line: {stderr}"
    );
    assert!(stderr.contains("max_pending"), "{stderr}");

    let listing = String::from_utf8_lossy(&antimony(&["components"]).stdout).into_owned();
    assert_eq!(
        listing.matches("\n  multilang ").count(),
        2,
        "a spout and a bolt: {listing}"
    );
    assert!(listing.contains("tick_freq_secs") && listing.contains("heartbeat_timeout_secs"));

    // Every topology shipped is valid.
    for good in [
        "topologies/dns-threats.toml",
        "topologies/dns-live.toml",
        "topologies/dns-kafka.toml",
        "topologies/dns-outputs.toml",
        "bench/multilang-python.toml",
        "examples/multilang/word_count_node.toml",
    ] {
        let output = antimony(&["validate", &format!("{ROOT}/{good}")]);
        assert!(
            output.status.success(),
            "{good}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("is valid"));
    }
}

#[test]
fn a_python_bolt_reads_dns_events_as_their_json() {
    let log = format!("{ROOT}/assets/demo/dns-demo.log");
    let topology = format!("{ROOT}/bench/multilang-python.toml");
    let output = antimony(&["run", &topology, "--input", &log]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON list"))
        .collect();
    assert!(!events.is_empty(), "{stderr}");
    // One value per event: its JSON object, as dns_file writes it.
    for event in &events {
        assert!(event[0]["qname"].is_string(), "{event}");
        assert!(event[0]["registered_domain"].is_string(), "{event}");
    }
    assert_eq!(
        summary_count(&stderr, 0, "acks"),
        events.len() as u64,
        "{stderr}"
    );
}

#[test]
fn a_spout_writing_garbage_is_restarted_and_its_exit_ends_the_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = Path::new(ROOT).join("tests/multilang/flaky_spout.py");
    let topology = dir.path().join("spout.toml");
    std::fs::write(
        &topology,
        format!(
            r#"[topology]
name = "flaky"

[spouts.lines]
type = "multilang"
command = "python3"
args = ["{script}"]
fields = ["line"]
conf = {{ marker = "{marker}" }}

[bolts.out]
type = "values_file"
inputs = [{{ from = "lines", grouping = "global" }}]
path = "lines.jsonl"
"#,
            script = script.display(),
            marker = dir.path().join("garbled").display(),
        ),
    )
    .expect("topology written");
    let output = antimony(&["run", topology.to_str().expect("a path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<String> = lines_of(&dir.path().join("lines.jsonl"))
        .iter()
        .map(|v| v[0].as_str().unwrap_or("").to_owned())
        .collect();
    // The restarted spout starts over, as a Storm spout restarted from its source would.
    for i in 0..10 {
        assert!(lines.contains(&format!("line {i}")), "{lines:?}");
    }
    assert_eq!(
        lines.len(),
        15,
        "five before the garbage, ten after: {lines:?}"
    );
    assert_eq!(summary_count(&stderr, 0, "restarts"), 1, "{stderr}");
    assert_eq!(summary_count(&stderr, 0, "garbage"), 1, "{stderr}");
}
