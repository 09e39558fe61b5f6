//! Nothing lost, nothing twice: the shipped topology over a large generated log, killed with
//! SIGKILL at random points and restarted from its checkpoints, ends with the alerts file
//! and the stateful detectors' per-key state of a run that was never interrupted; and a
//! checkpoint taken on one worker resumes on two.
//!
//! The kill points are drawn from a seed printed by the test (`ANTIMONY_TEST_SEED` repeats
//! a run).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Records of the generated log: long enough that a debug build takes several seconds
/// over it, so kills land mid-stream.
const RECORDS: &str = "100000";

fn antimony() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_antimony"));
    // Tests run side by side: none serves the API on the default port.
    command.env("ANTIMONY_API", "off");
    command
}

/// The shipped topology with absolute paths and a checkpoint every half second.
fn topology(dir: &Path) -> PathBuf {
    let shipped = std::fs::read_to_string(format!("{ROOT}/topologies/dns-threats.toml"))
        .expect("the shipped topology");
    let text = shipped.replace("\"../assets/", &format!("\"{ROOT}/assets/"))
        + "\n[checkpoint]\ninterval_secs = 0.5\n";
    let path = dir.join("topology.toml");
    std::fs::write(&path, text).expect("written");
    path
}

fn generated_log(dir: &Path) -> PathBuf {
    let path = dir.join("dns.log");
    let file = std::fs::File::create(&path).expect("created");
    let status = antimony()
        .args(["gen", "--format", "windows-dns", "--records", RECORDS])
        .args(["--seed", "5", "-q"])
        .stdout(file)
        .status()
        .expect("gen runs");
    assert!(status.success());
    path
}

/// A directory with the topology and the generated log, for runs side by side.
struct Setup {
    dir: tempfile::TempDir,
    topology: PathBuf,
    log: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let topology = topology(dir.path());
        let log = generated_log(dir.path());
        Setup { dir, topology, log }
    }

    /// A run writing `NAME.jsonl` and checkpointing into `NAME/`.
    fn run(&self, name: &str) -> Run<'_> {
        Run {
            topology: &self.topology,
            log: &self.log,
            alerts: self.dir.path().join(format!("{name}.jsonl")),
            checkpoints: self.dir.path().join(name),
        }
    }
}

struct Run<'a> {
    topology: &'a Path,
    log: &'a Path,
    alerts: PathBuf,
    checkpoints: PathBuf,
}

impl Run<'_> {
    fn command(&self, workers: &str) -> Command {
        let mut command = antimony();
        command
            .arg("run")
            .arg(self.topology)
            .arg("--input")
            .arg(self.log)
            .arg("--alerts")
            .arg(&self.alerts)
            .arg("--checkpoint-dir")
            .arg(&self.checkpoints)
            .args(["--workers", workers, "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    }

    fn to_the_end(&self, workers: &str) {
        let output = self.command(workers).output().expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start(&self, workers: &str) -> Child {
        self.command(workers).spawn().expect("starts")
    }

    /// The checkpoint boundaries marked complete.
    fn complete(&self) -> BTreeSet<String> {
        std::fs::read_dir(&self.checkpoints)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.path().join("COMPLETE").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Waits up to 60 s for a checkpoint newer than those in `seen`; false if the run ended
    /// first.
    fn wait_for_new_checkpoint(&self, child: &mut Child, seen: &BTreeSet<String>) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.complete().difference(seen).next().is_some() {
                return true;
            }
            if child.try_wait().expect("waits").is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no checkpoint completed within 60 s");
    }

    /// Each alert line by id, asserting no id is there twice.
    fn alerts(&self) -> BTreeMap<String, Value> {
        let text = std::fs::read_to_string(&self.alerts).expect("alerts");
        let mut by_id = BTreeMap::new();
        for line in text.lines() {
            let alert: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a torn or bad alert line {line:?}: {e}"));
            let id = alert["id"].as_str().expect("an id").to_owned();
            assert!(
                by_id.insert(id.clone(), alert).is_none(),
                "alert {id} written twice"
            );
        }
        by_id
    }

    /// What `antimony checkpoint --json` says of the newest checkpoint: per bolt, its keyed
    /// entries and their digest.
    fn keyed_state(&self) -> BTreeMap<String, (u64, String)> {
        self.summary()["components"]
            .as_object()
            .expect("components")
            .iter()
            .filter(|(_, c)| c["keyed_digest"] != "")
            .map(|(name, c)| {
                let entries = c["keyed_entries"].as_u64().expect("a count");
                (name.clone(), (entries, c["keyed_digest"].to_string()))
            })
            .collect()
    }

    fn summary(&self) -> Value {
        let output = antimony()
            .arg("checkpoint")
            .arg(&self.checkpoints)
            .arg("--json")
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("json")
    }
}

/// A small xorshift generator: the kill points, from a seed the test prints.
struct Points(u64);

impl Points {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn seed() -> u64 {
    std::env::var("ANTIMONY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        })
}

fn kill(mut child: Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

#[test]
fn sigkilled_at_random_points_the_resumed_run_ends_as_an_uninterrupted_one() {
    let setup = Setup::new();
    let run = |name: &str| setup.run(name);

    let reference = run("reference");
    let started = Instant::now();
    reference.to_the_end("1");
    let length = started.elapsed();
    let expected = reference.alerts();
    assert!(expected.len() > 100, "{} alerts", expected.len());
    let expected_state = reference.keyed_state();
    for detectors in ["domains", "clients", "dedup"] {
        assert!(
            expected_state.get(detectors).is_some_and(|(n, _)| *n > 0),
            "{detectors} keeps keyed state: {expected_state:?}"
        );
    }

    let seed = seed();
    eprintln!("kill points from ANTIMONY_TEST_SEED={seed}; an uninterrupted run takes {length:?}");
    let mut points = Points(seed);
    let interrupted = run("interrupted");
    let mut kills = 0;
    for round in 0..5 {
        let mut child = interrupted.start("1");
        // Every other kill waits for a new checkpoint first, so that each restart has
        // progress to resume from; the others land anywhere, during a checkpoint's
        // writing included.
        if round % 2 == 0 {
            let seen = interrupted.complete();
            if !interrupted.wait_for_new_checkpoint(&mut child, &seen) {
                break;
            }
        }
        let millis = length.as_millis() as u64 / 4;
        std::thread::sleep(Duration::from_millis(points.below(millis.max(1))));
        if child.try_wait().expect("waits").is_some() {
            break;
        }
        kill(child);
        kills += 1;
    }
    assert!(kills >= 3, "only {kills} kills landed mid-stream");
    interrupted.to_the_end("1");

    let got = interrupted.alerts();
    let missing: Vec<&String> = expected
        .keys()
        .filter(|id| !got.contains_key(*id))
        .collect();
    let extra: Vec<&String> = got
        .keys()
        .filter(|id| !expected.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "after {kills} kills: {} alerts missing ({:?}...), {} extra ({:?}...)",
        missing.len(),
        missing.first(),
        extra.len(),
        extra.first()
    );
    assert_eq!(got, expected, "the same alerts, field for field");
    assert_eq!(interrupted.keyed_state(), expected_state);
}

#[test]
fn a_checkpoint_taken_on_one_worker_resumes_on_two() {
    let setup = Setup::new();
    let run = |name: &str| setup.run(name);
    let reference = run("reference");
    reference.to_the_end("1");

    let rescaled = run("rescaled");
    let mut child = rescaled.start("1");
    assert!(
        rescaled.wait_for_new_checkpoint(&mut child, &BTreeSet::new()),
        "the run ended before its first checkpoint"
    );
    kill(child);
    assert_eq!(rescaled.summary()["workers"], 1);
    rescaled.to_the_end("2");
    assert_eq!(
        rescaled.summary()["workers"],
        2,
        "the newest checkpoint is the two-worker run's"
    );
    assert_eq!(rescaled.alerts(), reference.alerts());
    assert_eq!(rescaled.keyed_state(), reference.keyed_state());
}
