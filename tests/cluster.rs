//! Clusters of processes fail loudly and keep the alerts of one process: `antimony cluster`,
//! two `antimony run --cluster` processes, a lost process, mismatched processes, and a
//! checkpoint of one process resumed on two.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TOPOLOGY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/dns-threats.toml");
/// The exit code of a run that lost a process of its cluster (README, "Exit codes").
const CLUSTER_LOST: i32 = 7;
/// The exit code of a bad topology or option.
const CONFIGURATION: i32 = 3;

fn antimony() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_antimony"));
    // Tests run side by side: none serves the API on the default port.
    command.env("ANTIMONY_API", "off");
    command
}

fn output(command: &mut Command) -> Output {
    command.output().expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A generated Windows DNS debug log of `records` lines.
fn generate(dir: &Path, records: u32, seed: u32) -> PathBuf {
    let path = dir.join(format!("gen-{records}-{seed}.log"));
    let out = output(antimony().args([
        "gen",
        "--format",
        "windows-dns",
        "--records",
        &records.to_string(),
        "--seed",
        &seed.to_string(),
        "--data",
        DATA,
        "-q",
    ]));
    assert!(out.status.success(), "gen failed: {}", stderr(&out));
    std::fs::write(&path, &out.stdout).expect("write the log");
    path
}

/// `count` loopback addresses with ports free now.
fn free_addresses(count: usize) -> Vec<String> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("address").to_string())
        .collect()
}

/// The shipped topology with absolute paths, under another name if `name` is given, with
/// `extra` appended (a `[checkpoint]` table), written into `dir`.
fn topology_copy(dir: &Path, file: &str, name: Option<&str>, extra: &str) -> PathBuf {
    let mut text = std::fs::read_to_string(TOPOLOGY)
        .expect("the shipped topology")
        .replace("\"../assets/", &format!("\"{ROOT}/assets/"));
    if let Some(name) = name {
        text = text.replace("name = \"dns-threats\"", &format!("name = \"{name}\""));
    }
    text.push_str(extra);
    let path = dir.join(file);
    std::fs::write(&path, text).expect("write the topology");
    path
}

fn run_alone(topology: &Path, input: &Path, alerts: &Path) {
    let out = output(antimony().args([
        "run",
        topology.to_str().expect("utf-8"),
        "--input",
        input.to_str().expect("utf-8"),
        "--alerts",
        alerts.to_str().expect("utf-8"),
        "-q",
    ]));
    assert!(out.status.success(), "single run failed: {}", stderr(&out));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("alerts file")
}

/// Each alert's id appears once.
fn assert_ids_once(alerts: &str) {
    let mut ids: Vec<String> = alerts
        .lines()
        .map(|l| {
            let alert: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            alert["id"].as_str().expect("an id").to_owned()
        })
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all, "an alert id appears more than once");
}

#[test]
fn a_two_process_cluster_gives_the_alerts_of_one_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = generate(dir.path(), 100_000, 11);
    let alone = dir.path().join("alone.jsonl");
    run_alone(Path::new(TOPOLOGY), &log, &alone);

    let clustered = dir.path().join("cluster.jsonl");
    let out = output(antimony().args([
        "cluster",
        "--processes",
        "2",
        TOPOLOGY,
        "--input",
        log.to_str().expect("utf-8"),
        "--alerts",
        clustered.to_str().expect("utf-8"),
    ]));
    let err = stderr(&out);
    assert!(out.status.success(), "cluster failed: {err}");
    // Both processes ran, and their messages are told apart.
    assert!(
        err.contains("[process 0]") && err.contains("[process 1]"),
        "{err}"
    );
    let (alone, clustered) = (read(&alone), read(&clustered));
    assert!(alone.lines().count() > 10, "too few alerts to compare");
    assert_eq!(alone, clustered, "a cluster changed the alerts");
}

/// Starts process `process` of the cluster at `addresses`, with `args` after the topology.
fn start(topology: &Path, addresses: &[String], process: usize, args: &[&str]) -> Command {
    let mut command = antimony();
    command
        .arg("run")
        .arg(topology)
        .args(args)
        .args([
            "--cluster",
            &addresses.join(","),
            "--process",
            &process.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` at most `limit`; returns its status and standard error.
fn wait_for(child: &mut Child, limit: Duration) -> Option<(ExitStatus, String)> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut err);
            }
            return Some((status, err));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_killed_process_is_noticed_by_the_other_within_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addresses = free_addresses(2);
    let alerts = dir.path().join("alerts.jsonl");
    let alerts = alerts.to_str().expect("utf-8");
    // A live input that lasts far longer than the test: records at a slow rate on a pipe.
    let mut feed = antimony()
        .args([
            "gen",
            "--format",
            "windows-dns",
            "--records",
            "10M",
            "--rate",
            "2000",
        ])
        .args(["--data", DATA, "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gen starts");
    let input = feed.stdout.take().expect("gen's output");
    let topology = Path::new(TOPOLOGY);
    let mut first = start(
        topology,
        &addresses,
        0,
        &["--input", "-", "--alerts", alerts, "-q"],
    )
    .stdin(input)
    .spawn()
    .expect("process 0 starts");
    let mut second = start(
        topology,
        &addresses,
        1,
        &["--input", "-", "--alerts", alerts, "-q"],
    )
    .stdin(Stdio::null())
    .spawn()
    .expect("process 1 starts");
    // Connected and running (process 0's sink opens its file once the dataflow starts,
    // after every connection) before one is killed.
    let started = Instant::now();
    while !Path::new(alerts).exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        matches!(first.try_wait(), Ok(None)),
        "process 0 ended early"
    );
    second.kill().expect("SIGKILL process 1");
    let killed = Instant::now();
    let ended = wait_for(&mut first, Duration::from_secs(20));
    let elapsed = killed.elapsed();
    let _ = feed.kill();
    let _ = feed.wait();
    let _ = second.wait();
    let Some((status, err)) = ended else {
        let _ = first.kill();
        panic!("process 0 still runs 20 s after process 1 was killed");
    };
    assert_eq!(status.code(), Some(CLUSTER_LOST), "{err}");
    let named = format!("lost process 1 ({})", addresses[1]);
    assert!(err.contains(&named), "stderr does not say `{named}`: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        elapsed < Duration::from_secs(10),
        "noticed after {elapsed:?}"
    );
}

#[test]
fn processes_that_do_not_match_refuse_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = generate(dir.path(), 1_000, 3);
    let log = log.to_str().expect("utf-8");
    let other = topology_copy(dir.path(), "other.toml", Some("dns-other"), "");
    let alerts = dir.path().join("alerts.jsonl");
    let args = [
        "--input",
        log,
        "--alerts",
        alerts.to_str().expect("utf-8"),
        "-q",
    ];
    let cases: [(&Path, usize, &str); 2] = [
        // Another topology.
        (&other, 2, "another topology"),
        // Another cluster size: process 1 thinks there are three.
        (Path::new(TOPOLOGY), 3, "--cluster"),
    ];
    for (topology, size, says) in cases {
        let addresses = free_addresses(3);
        let started = Instant::now();
        let mut first = start(Path::new(TOPOLOGY), &addresses[..2], 0, &args)
            .spawn()
            .expect("process 0 starts");
        let mut second = start(topology, &addresses[..size], 1, &args)
            .spawn()
            .expect("process 1 starts");
        for (process, child) in [(0, &mut first), (1, &mut second)] {
            let Some((status, err)) = wait_for(child, Duration::from_secs(20)) else {
                let _ = child.kill();
                panic!("process {process} still runs with a mismatched peer ({says})");
            };
            assert_eq!(
                status.code(),
                Some(CONFIGURATION),
                "process {process}: {err}"
            );
            assert!(
                err.contains("does not match") && err.contains(says),
                "process {process} does not say why ({says}): {err}"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(15));
    }
}

#[test]
fn a_checkpoint_of_one_process_resumes_on_a_two_process_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = generate(dir.path(), 120_000, 21);
    // A checkpoint every 60 epochs (chunks of 64 KiB), so that the first comes early.
    let topology = topology_copy(
        dir.path(),
        "checkpointed.toml",
        None,
        "\n[checkpoint]\ninterval_epochs = 60\n",
    );
    let full = dir.path().join("full.jsonl");
    run_alone(Path::new(TOPOLOGY), &log, &full);

    let checkpoints = dir.path().join("checkpoints");
    let alerts = dir.path().join("alerts.jsonl");
    let run_args = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            topology.to_str().expect("utf-8"),
            "--input",
            log.to_str().expect("utf-8"),
            "--alerts",
            alerts.to_str().expect("utf-8"),
            "--checkpoint-dir",
            checkpoints.to_str().expect("utf-8"),
            "-q",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    // One process, killed once its first checkpoint is complete.
    let mut alone = antimony()
        .arg("run")
        .args(run_args(&[]))
        .stderr(Stdio::null())
        .spawn()
        .expect("the run starts");
    let started = Instant::now();
    let complete = loop {
        let found = std::fs::read_dir(&checkpoints)
            .into_iter()
            .flatten()
            .flatten()
            .any(|boundary| boundary.path().join("COMPLETE").exists());
        if found || started.elapsed() > Duration::from_secs(60) {
            break found;
        }
        if let Ok(Some(status)) = alone.try_wait() {
            panic!("the run ended ({status}) before its first checkpoint: give it more records");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    alone.kill().expect("SIGKILL the run");
    let _ = alone.wait();
    assert!(complete, "no checkpoint completed within 60 s");

    // Resumed on two processes sharing the checkpoint directory.
    let mut cluster = antimony();
    cluster
        .args(["cluster", "--processes", "2"])
        .args(run_args(&[]));
    let out = output(&mut cluster);
    assert!(
        out.status.success(),
        "the resumed cluster failed: {}",
        stderr(&out)
    );

    let (full, resumed) = (read(&full), read(&alerts));
    assert_ids_once(&resumed);
    let sorted = |text: &str| {
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        lines.join("\n")
    };
    assert!(full.lines().count() > 10, "too few alerts to compare");
    assert_eq!(
        sorted(&full),
        sorted(&resumed),
        "the resumed cluster's alerts differ from an uninterrupted run's"
    );
}

/// The pid of the child of `parent` whose command line holds `needle` (from /proc).
fn child_with(parent: u32, needle: &str) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid ...`: the command name may hold spaces, the rest does not.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if ppid == Some(parent) && cmdline.contains(needle) {
            return Some(pid);
        }
    }
    None
}

#[test]
fn the_cluster_command_names_a_killed_process_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = dir.path().join("alerts.jsonl");
    let mut feed = antimony()
        .args([
            "gen",
            "--format",
            "windows-dns",
            "--records",
            "10M",
            "--rate",
            "2000",
        ])
        .args(["--data", DATA, "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gen starts");
    let input = feed.stdout.take().expect("gen's output");
    let mut launcher = antimony()
        .args([
            "cluster",
            "--processes",
            "2",
            TOPOLOGY,
            "--input",
            "-",
            "-q",
        ])
        .arg("--alerts")
        .arg(&alerts)
        .stdin(input)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cluster starts");
    let started = Instant::now();
    while !alerts.exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let second = child_with(launcher.id(), "--process 1").expect("process 1 runs");
    let killed = Command::new("kill")
        .args(["-KILL", &second.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let ended = wait_for(&mut launcher, Duration::from_secs(30));
    let _ = feed.kill();
    let _ = feed.wait();
    let Some((status, err)) = ended else {
        let _ = launcher.kill();
        panic!("the cluster still runs 30 s after process 1 was killed");
    };
    assert_eq!(status.code(), Some(CLUSTER_LOST), "{err}");
    assert!(
        err.contains("cluster: process 1 (127.0.0.1:") && err.contains("was killed"),
        "the launcher does not name the killed process: {err}"
    );
    // Process 0 noticed it on its own.
    assert!(
        err.contains("[process 0] ") && err.contains("lost process 1"),
        "{err}"
    );
}
