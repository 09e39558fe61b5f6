//! The `alert_file` sink's body formats and rotation through the binary, on the demo input:
//! ECS and eve runs carry the JSON run's alerts (the same ids), and a rotated, compressed
//! run's files put together are the JSON run's file, also when the run is SIGKILLed and
//! resumed from its checkpoints between rotations.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// The shipped topology, with absolute paths, the file read in small chunks (so the run
/// has many epochs), and `options` added to its `alert_file`.
fn topology(dir: &Path, options: &str) -> String {
    let shipped =
        std::fs::read_to_string(format!("{ROOT}/topologies/dns-threats.toml")).expect("shipped");
    let text = shipped
        .replace("\"../assets/", &format!("\"{ROOT}/assets/"))
        .replace("type = \"file\"\n", "type = \"file\"\nchunk_bytes = 4096\n");
    assert!(text.contains("chunk_bytes = 4096"));
    let path = dir.join("topology.toml");
    std::fs::write(&path, format!("{text}{options}\n")).expect("write topology");
    path.display().to_string()
}

/// Runs a topology whose alerts go to `dir/alerts.jsonl`; returns the run's output.
fn run(dir: &Path, options: &str) -> Output {
    let topology = topology(dir, options);
    let alerts = dir.join("alerts.jsonl");
    antimony(&[
        "run",
        &topology,
        "--alerts",
        alerts.to_str().expect("utf-8"),
    ])
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn run_ok(options: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), options);
    assert!(
        output.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let alerts = std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("alerts");
    (dir, alerts)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[test]
fn ecs_and_eve_files_hold_the_json_runs_alerts() {
    let (_d, json) = run_ok("");
    let json = lines(&json);
    assert!(json.len() >= 5, "the demo raises alerts");
    let json_ids: Vec<String> = json
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();

    let (_d, ecs) = run_ok("format = \"ecs\"");
    let ecs = lines(&ecs);
    for doc in &ecs {
        assert_eq!(doc["event"]["kind"], "alert");
        assert!(doc["@timestamp"].is_string());
        let id = doc["event"]["id"].as_str().expect("event.id");
        let same = json.iter().find(|a| a["id"] == id).expect("the same alert");
        assert_eq!(doc["dns"]["question"]["name"], same["domain"]);
        assert_eq!(doc["rule"]["name"], same["detector"]);
        assert_eq!(doc["source"]["ip"], same["client"]);
        assert_eq!(doc["antimony"]["evidence"], same["evidence"]);
    }
    let ecs_ids = ecs
        .iter()
        .map(|d| d["event"]["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(sorted(ecs_ids), sorted(json_ids.clone()));

    let (_d, eve) = run_ok("format = \"eve\"");
    let eve = lines(&eve);
    assert!(eve.iter().all(|e| e["event_type"] == "alert"));
    let eve_ids = eve
        .iter()
        .map(|e| {
            e["alert"]["metadata"]["alert_id"][0]
                .as_str()
                .expect("alert id")
                .to_owned()
        })
        .collect();
    assert_eq!(sorted(eve_ids), sorted(json_ids));
}

fn gunzip(path: &Path) -> String {
    use tokio::io::AsyncReadExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let file = tokio::fs::File::open(path).await.expect("open");
        let mut decoder =
            async_compression::tokio::bufread::GzipDecoder::new(tokio::io::BufReader::new(file));
        let mut text = String::new();
        decoder.read_to_string(&mut text).await.expect("gunzip");
        text
    })
}

#[test]
fn a_rotated_compressed_file_puts_together_to_the_unrotated_one() {
    let (_d, expected) = run_ok("");
    let (dir, _) = run_ok("rotate_bytes = \"1KB\"\ncompress = \"gzip\"");
    let mut rotated: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "gz"))
        .collect();
    // Names sort by age.
    rotated.sort();
    assert!(rotated.len() >= 2, "{rotated:?}");
    let mut together: String = rotated.iter().map(|p| gunzip(p)).collect();
    together.push_str(&std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("live"));
    assert_eq!(together, expected);
}

#[test]
fn options_that_cannot_work_are_refused_by_name() {
    for (options, said) in [
        ("format = \"cef\"", "format"),
        // serde names the variants, and the error its place in the file.
        ("format = \"xml\"", "expected one of `json`, `ecs`, `eve`"),
        ("keep = 3", "keep"),
        ("compress = \"gzip\"", "compress"),
        (
            "rotate_bytes = \"12 parsecs\"",
            "`12 parsecs` is not a size",
        ),
        ("rotate_secs = 0", "rotate_secs"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let output = run(dir.path(), options);
        assert!(!output.status.success(), "{options} was taken");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(said), "{options}: {stderr}");
    }
}

/// The README's example of `alert_file` (ECS, rotated, compressed), in place of the
/// shipped topology's, is a valid topology.
#[test]
fn the_readmes_alert_file_example_is_a_valid_topology() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README");
    let section = &readme[readme.find("## Alerts").expect("an Alerts section")..];
    let start = section.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").expect("its end")];
    let shipped =
        std::fs::read_to_string(format!("{ROOT}/topologies/dns-threats.toml")).expect("shipped");
    let sink = "[bolts.alerts]\ntype = \"alert_file\"\ninputs = [{ from = \"dedup\", grouping = \"global\" }]\npath = \"-\"\n";
    assert!(
        shipped.contains(sink),
        "the shipped topology's sink changed"
    );
    let text = shipped
        .replace(sink, example)
        .replace("\"../assets/", &format!("\"{ROOT}/assets/"));
    let decl = antimony_engine::TopologyDecl::parse(&text, None).expect("parses");
    let topology = decl.resolve(&antimony_components::registry());
    assert!(topology.is_ok(), "{:?}", topology.err());
}

/// The rotated files of `dir/alerts.jsonl` in generation order (decompressed), then the
/// live file.
fn put_together(dir: &Path) -> String {
    let mut rotated: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let rest = name.strip_prefix("alerts.jsonl.")?;
            if rest.ends_with(".tmp") {
                return None;
            }
            let generation = rest.split('.').nth(1)?.parse().ok()?;
            Some((generation, p))
        })
        .collect();
    rotated.sort();
    // A generation found plain and compressed (a kill between the two): the plain one.
    rotated.dedup_by_key(|(g, _)| *g);
    let mut text = String::new();
    for (_, path) in &rotated {
        if path.extension().is_some_and(|e| e == "gz") {
            text.push_str(&gunzip(path));
        } else {
            text.push_str(&std::fs::read_to_string(path).expect("rotated"));
        }
    }
    text.push_str(&std::fs::read_to_string(dir.join("alerts.jsonl")).expect("live"));
    text
}

/// A run of a generated log with checkpoints every half second, its alerts rotated every
/// few kilobytes and compressed, killed at random points and resumed: its files put
/// together are the file of a run that was neither rotated nor stopped.
#[test]
fn sigkilled_between_rotations_the_resumed_files_are_the_uninterrupted_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("dns.log");
    let status = Command::new(env!("CARGO_BIN_EXE_antimony"))
        .args([
            "gen",
            "--format",
            "windows-dns",
            "--records",
            "100000",
            "--seed",
            "7",
            "-q",
        ])
        .stdout(std::fs::File::create(&log).expect("log"))
        .status()
        .expect("gen runs");
    assert!(status.success());
    let shipped =
        std::fs::read_to_string(format!("{ROOT}/topologies/dns-threats.toml")).expect("shipped");
    let shipped = shipped.replace("\"../assets/", &format!("\"{ROOT}/assets/"));
    let write_topology = |name: &str, options: &str| {
        let path = dir.path().join(name);
        let text = format!("{shipped}{options}\n[checkpoint]\ninterval_secs = 0.5\n");
        std::fs::write(&path, text).expect("topology");
        path
    };
    let command = |topology: &Path, out: &Path| {
        std::fs::create_dir_all(out).expect("dir");
        let mut command = Command::new(env!("CARGO_BIN_EXE_antimony"));
        command
            .env("ANTIMONY_API", "off")
            .arg("run")
            .arg(topology)
            .arg("--input")
            .arg(&log)
            .arg("--alerts")
            .arg(out.join("alerts.jsonl"))
            .arg("--checkpoint-dir")
            .arg(out.join("checkpoints"))
            .args(["--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    let succeeds = |mut command: Command| {
        let output = command.output().expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };

    let plain = write_topology("plain.toml", "");
    let reference = dir.path().join("reference");
    let started = Instant::now();
    succeeds(command(&plain, &reference));
    let length = started.elapsed();
    let expected = std::fs::read_to_string(reference.join("alerts.jsonl")).expect("alerts");
    assert!(
        expected.len() > 20_000,
        "{} bytes of alerts",
        expected.len()
    );

    let rotated = write_topology(
        "rotated.toml",
        "rotate_bytes = \"4KB\"\ncompress = \"gzip\"",
    );
    let out = dir.path().join("interrupted");
    let complete = || -> BTreeSet<String> {
        std::fs::read_dir(out.join("checkpoints"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.path().join("COMPLETE").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    // Kill points spread over the run, from the clock (any point must do).
    let mut state = Instant::now().elapsed().as_nanos() as u64 | 1;
    let mut kills = 0;
    for round in 0..4 {
        let mut child: Child = command(&rotated, &out).spawn().expect("starts");
        if round % 2 == 0 {
            // Wait for a new checkpoint first, so that each restart has progress to keep.
            let seen = complete();
            let deadline = Instant::now() + Duration::from_secs(60);
            while complete().difference(&seen).next().is_none()
                && child.try_wait().expect("waits").is_none()
            {
                assert!(Instant::now() < deadline, "no checkpoint within 60 s");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let millis = (length.as_millis() as u64 / 4).max(1);
        std::thread::sleep(Duration::from_millis(state % millis));
        if child.try_wait().expect("waits").is_some() {
            break;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        kills += 1;
    }
    succeeds(command(&rotated, &out));
    assert!(kills >= 2, "only {kills} kills landed mid-stream");
    let generations = std::fs::read_dir(&out)
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".gz"))
        })
        .count();
    assert!(generations >= 3, "{generations} rotated files");
    assert!(
        put_together(&out) == expected,
        "after {kills} kills the rotated files are not the uninterrupted file"
    );
}
