//! Golden outputs: the alerts of the bundled demo, of every real log and capture in
//! `../shared/data`, and of a 1M-record generated log, byte for byte, on 1 and 2 workers.
//!
//! Speed work and refactors must never change an alert. When a change is meant to change
//! alerts (a detector tuned, a format fixed), rewrite the golden files on purpose and review
//! the diff before committing it:
//!
//! ```text
//! ANTIMONY_BLESS=1 cargo test --test golden
//! git diff tests/golden
//! ```
//!
//! Small outputs are kept whole (`tests/golden/*.jsonl`), so a diff shows which alert moved;
//! the generated run's 1.5 MB of alerts are kept as a digest (`gen-1m.digest`: lines per
//! detector and the SHA-256 of the file), and the actual file is left in the target
//! directory when it differs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
const TOPOLOGY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/dns-threats.toml");

fn antimony(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "antimony {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn golden_dir() -> PathBuf {
    Path::new(ROOT).join("tests/golden")
}

fn blessing() -> bool {
    std::env::var_os("ANTIMONY_BLESS").is_some()
}

/// Compares `actual` with the golden file `name`, or rewrites it when blessing.
fn check_golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if blessing() {
        std::fs::create_dir_all(golden_dir()).expect("golden dir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run ANTIMONY_BLESS=1 cargo test --test golden",
            path.display()
        )
    });
    if expected != actual {
        let kept = Path::new(ROOT).join("target/golden-actual").join(name);
        std::fs::create_dir_all(kept.parent().expect("parent")).expect("dir");
        std::fs::write(&kept, actual).expect("write actual");
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its golden file from line {} ({} lines expected, {} written); the output is in {}",
            first + 1,
            expected.lines().count(),
            actual.lines().count(),
            kept.display()
        );
    }
}

/// The shipped topology's alerts for `input` on `workers` workers.
fn alerts_of(input: &Path, workers: usize) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = dir.path().join("alerts.jsonl");
    antimony(&[
        "run",
        TOPOLOGY,
        "--input",
        input.to_str().expect("utf-8 path"),
        "--alerts",
        alerts.to_str().expect("utf-8 path"),
        "--workers",
        &workers.to_string(),
        "--quiet",
    ]);
    std::fs::read_to_string(&alerts).expect("the alerts file")
}

/// Every real input in the shared data, each a golden file of its own (a glob of the pcap
/// folders counts as one input).
fn shared_inputs() -> Vec<(String, PathBuf)> {
    let mut inputs = Vec::new();
    for folder in ["logs", "dnstap"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(DATA).join(folder))
            .unwrap_or_else(|e| panic!("{DATA}/{folder}: {e}"))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|p| {
                // The text decodes beside the dnstap files are tools' output, not inputs.
                folder != "dnstap" || p.extension().is_some_and(|e| e == "dnstap")
            })
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().expect("a name").to_string_lossy();
            inputs.push((format!("{folder}-{name}"), file));
        }
    }
    inputs.push((
        "pcaps-lab_dns.pcap".to_owned(),
        Path::new(DATA).join("pcaps/lab/lab_dns.pcap"),
    ));
    for folder in ["tcpdump", "zeek"] {
        inputs.push((
            format!("pcaps-{folder}"),
            Path::new(DATA).join(format!("pcaps/{folder}/*.pcap")),
        ));
    }
    inputs
}

#[test]
fn the_demo_prints_its_golden_alerts() {
    let output = antimony(&["demo"]);
    check_golden(
        "demo.jsonl",
        &String::from_utf8(output.stdout).expect("utf-8"),
    );
}

#[test]
fn every_shared_log_and_capture_gives_its_golden_alerts_on_one_and_two_workers() {
    let inputs = shared_inputs();
    assert!(inputs.len() >= 20, "the shared data holds {}", inputs.len());
    for (name, input) in inputs {
        let one = alerts_of(&input, 1);
        let two = alerts_of(&input, 2);
        check_golden(&format!("{name}.jsonl"), &one);
        // The one documented difference between worker counts: `new_domain`'s warm-up
        // starts on each instance's own first event (ARCHITECTURE.md, invariants). Every
        // other alert must be the same, and the 2-worker file is golden too.
        let w2 = format!("{name}.w2.jsonl");
        if one != two {
            assert_eq!(
                without_new_domain(&one),
                without_new_domain(&two),
                "{name}: 1 and 2 workers disagree beyond new_domain's warm-up"
            );
            check_golden(&w2, &two);
        } else if blessing() {
            let _ = std::fs::remove_file(golden_dir().join(&w2));
        } else {
            assert!(
                !golden_dir().join(&w2).exists(),
                "{name}: 1 and 2 workers now agree; bless to remove {w2}"
            );
        }
    }
}

fn without_new_domain(alerts: &str) -> Vec<&str> {
    alerts
        .lines()
        .filter(|l| !l.contains(r#""detector":"new_domain""#))
        .collect()
}

/// Lines per detector, then the file's SHA-256.
fn digest(alerts: &str) -> String {
    let mut per_detector: BTreeMap<String, usize> = BTreeMap::new();
    for line in alerts.lines() {
        let alert: serde_json::Value = serde_json::from_str(line).expect("an alert line");
        let detector = alert["detector"].as_str().expect("a detector").to_owned();
        *per_detector.entry(detector).or_default() += 1;
    }
    let mut out = format!("lines {}\n", alerts.lines().count());
    for (detector, n) in per_detector {
        out.push_str(&format!("{detector} {n}\n"));
    }
    let hash = Sha256::digest(alerts.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    out.push_str(&format!("sha256 {hex}\n"));
    out
}

#[test]
fn a_generated_million_record_log_gives_its_golden_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("gen.log");
    let output = antimony(&[
        "gen",
        "--format",
        "windows-dns",
        "--records",
        "1000000",
        "--seed",
        "1",
        "--data",
        DATA,
    ]);
    std::fs::write(&log, &output.stdout).expect("write the log");
    let two = alerts_of(&log, 2);
    assert!(two.lines().count() > 1000, "{} alerts", two.lines().count());
    let one = alerts_of(&log, 1);
    assert!(one == two, "1 and 2 workers disagree on the generated log");
    let kept = Path::new(ROOT).join("target/golden-actual/gen-1m.jsonl");
    let result = std::panic::catch_unwind(|| check_golden("gen-1m.digest", &digest(&two)));
    if result.is_err() {
        std::fs::create_dir_all(kept.parent().expect("parent")).expect("dir");
        std::fs::write(&kept, &two).expect("keep the alerts");
        panic!(
            "the generated log's alerts changed; they are in {}",
            kept.display()
        );
    }
}
