//! The `alert_file` sink's body formats and rotation through the binary, on the demo input:
//! ECS and eve runs carry the JSON run's alerts (the same ids), and a rotated, compressed
//! run's files put together are the JSON run's file.

use std::path::Path;
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
