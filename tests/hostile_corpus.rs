//! Every real log of `../shared/data`, with random bytes that are not text (NULs, control
//! characters, bytes of no UTF-8 character) injected into random lines (seeded): the untouched
//! lines give exactly the events and alerts they gave before, nothing but touched lines is set
//! aside, each with its line number, and a touched line whose event is lost is set aside.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
const TOPOLOGY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/dns-threats.toml");

/// xorshift64*: a fixed stream for a seed, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The file with bytes injected into about one line in twenty (at least one), never into a
/// header or comment line (`#`), which names what the lines after it mean; returns the
/// corrupted text and the touched line numbers (from 1).
fn corrupt(text: &[u8], seed: u64) -> (Vec<u8>, BTreeSet<usize>) {
    let mut rng = Rng(seed | 1);
    let mut lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let candidates: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].len() > 4 && !lines[i].starts_with(b"#"))
        .collect();
    let mut touched = BTreeSet::new();
    let wanted = (candidates.len() / 20).clamp(1, 25);
    while touched.len() < wanted.min(candidates.len()) {
        let i = candidates[rng.below(candidates.len())];
        if !touched.insert(i + 1) {
            continue;
        }
        for _ in 0..1 + rng.below(3) {
            // A byte that is not text: a NUL or another control character (not a line
            // ending, not a tab), DEL, or a byte of no UTF-8 character on its own.
            let byte = loop {
                let b = (rng.next() >> 56) as u8;
                if (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')) || b >= 0x7f {
                    break b;
                }
            };
            let at = rng.below(lines[i].len());
            lines[i].insert(at, byte);
        }
    }
    (lines.join(&b'\n'), touched)
}

fn antimony(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args(args)
        .output()
        .expect("antimony runs")
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The events of a file (in file order) and its dead letters' line numbers.
fn parse(path: &Path, dir: &Path) -> (Vec<String>, Vec<usize>) {
    let dead = dir.join("dead.jsonl");
    let _ = std::fs::remove_file(&dead);
    let output = antimony(&[
        "parse",
        path.to_str().expect("utf-8"),
        "--dead-letter",
        dead.to_str().expect("utf-8"),
    ]);
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let lines = json_lines(&std::fs::read_to_string(&dead).unwrap_or_default())
        .iter()
        .map(|d| {
            let location = d["location"].as_str().expect("a location");
            location
                .rsplit(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no line number in {location}"))
        })
        .collect();
    (events, lines)
}

/// The alerts of the stateless detectors, by (detector, client, domain): a stateful
/// detector's alerts depend on how many events it saw, which corruption changes.
fn stateless_alerts(path: &Path, dir: &Path) -> BTreeSet<(String, String, String)> {
    let alerts = dir.join("alerts.jsonl");
    let output = antimony(&[
        "run",
        TOPOLOGY,
        "--input",
        path.to_str().expect("utf-8"),
        "--alerts",
        alerts.to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(
        matches!(output.status.code(), Some(0) | Some(6)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    json_lines(&std::fs::read_to_string(&alerts).unwrap_or_default())
        .iter()
        .filter(|a| {
            !matches!(
                a["detector"].as_str(),
                Some("tunnel" | "beacon" | "nxdomain_burst" | "new_domain")
            )
        })
        .map(|a| {
            (
                a["detector"].to_string(),
                a["client"].to_string(),
                a["domain"].to_string(),
            )
        })
        .collect()
}

/// Lines of a multi-line record are decided together: a touched line may have the record's
/// other lines set aside too.
fn record_spans_lines(name: &str) -> bool {
    name.contains("details") || name.ends_with(".xml")
}

#[test]
fn injected_bytes_cost_only_the_lines_they_touch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files: Vec<_> = std::fs::read_dir(Path::new(DATA).join("logs"))
        .expect("shared logs")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 15, "{} logs", files.len());
    for (seed, clean_path) in files.iter().enumerate() {
        let name = clean_path.file_name().expect("name").to_string_lossy();
        let text = std::fs::read(clean_path).expect("read");
        let (corrupted, touched) = corrupt(&text, 0x5eed + seed as u64);
        let bad_path = dir.path().join(format!("bad-{name}"));
        std::fs::write(&bad_path, &corrupted).expect("write");

        let (clean_events, clean_dead) = parse(clean_path, dir.path());
        let (events, dead) = parse(&bad_path, dir.path());
        // A file whose every record may have been touched leaves nothing to recognise its
        // format by: its lines are set aside as unreadable, headers too.
        let recognisable = clean_events.len() > touched.len();
        // Set aside: only touched lines. A record spanning lines is decided whole, so a
        // touched line may cost the other lines of its record (not checked line by line).
        let allowed = |line: usize| {
            touched.contains(&line)
                || clean_dead.contains(&line)
                || record_spans_lines(&name)
                || !recognisable
        };
        for line in &dead {
            assert!(
                allowed(*line),
                "{name}: untouched line {line} set aside (touched {touched:?})"
            );
        }
        // Every untouched line's event is still there: what is missing, and what is new,
        // comes from touched lines, at most one event each.
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        for e in &clean_events {
            *counts.entry(e).or_default() += 1;
        }
        for e in &events {
            *counts.entry(e).or_default() -= 1;
        }
        let missing: i64 = counts.values().filter(|&&n| n > 0).sum();
        let new: i64 = -counts.values().filter(|&&n| n < 0).sum::<i64>();
        let spans = if record_spans_lines(&name) { 2 } else { 1 };
        let budget = (touched.len() * spans) as i64;
        assert!(
            missing <= budget,
            "{name}: {missing} events lost for {} touched lines",
            touched.len()
        );
        assert!(
            new <= budget,
            "{name}: {new} new events for {} touched lines",
            touched.len()
        );
        // Touched lines are accounted for: set aside, or read (as a changed event, counted
        // among the new ones), or skipped as before.
        let set_aside = dead.len() - clean_dead.len().min(dead.len());
        assert!(
            set_aside as i64 + new >= missing,
            "{name}: {missing} events lost, but only {set_aside} lines set aside and {new} read otherwise"
        );

        // The stateless alerts of untouched names are all still raised.
        let clean_alerts = stateless_alerts(clean_path, dir.path());
        let alerts = stateless_alerts(&bad_path, dir.path());
        let lost: Vec<_> = clean_alerts.difference(&alerts).collect();
        assert!(
            lost.len() as i64 <= missing,
            "{name}: {} alerts lost for {missing} events lost: {lost:?}",
            lost.len()
        );
    }
}
