//! NATS JetStream end to end, as a user runs it: DNS log lines published to a stream are
//! read by `antimony run` through the `nats` spout with `--checkpoint-dir`; the process is
//! killed (SIGKILL) while lines are still coming, and started again. Every published line
//! is counted once (the parsed events equal those of a run over the same lines from a
//! file), and the alerts published through `alert_nats` equal the file run's, one message
//! per alert id.
//!
//! Needs `nats-server` on the PATH (`apt-get install nats-server`; `.ci/run` installs it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[path = "../crates/antimony-io/tests/nats_server/mod.rs"]
mod nats_server;

use nats_server::{NatsServer, block_on, create_stream};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

fn antimony() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_antimony"));
    // Tests run side by side: none serves the API on the default port.
    command.env("ANTIMONY_API", "off");
    command
}

fn publish(js: &async_nats::jetstream::Context, payload: String) {
    block_on(async {
        let ack = js
            .publish("dns.logs", payload.into())
            .await
            .expect("publish");
        ack.await.expect("publish ack");
    });
}

/// The shared pipeline behind `spout`: parse, every stateless detector, dedup; events and
/// alerts written as JSON lines beside the topology, and whatever `extra` adds.
fn topology(dir: &Path, spout: &str, extra: &str) -> PathBuf {
    let text = format!(
        r#"
[topology]
name = "brokers"

[spouts.logs]
{spout}

[bolts.parse]
type = "dns_parse"
inputs = [{{ from = "logs", grouping = "shuffle" }}]
format = "windows-debug"

[bolts.detect]
type = "dns_detect"
inputs = [{{ from = "parse", grouping = "local" }}]
blocklists = [{{ name = "blocklist", path = "{DATA}/threatintel/blocklist.txt" }}]

[bolts.dedup]
type = "alert_dedup"
inputs = [{{ from = "detect", grouping = "fields", fields = ["detector", "client", "domain"] }}]

[bolts.alerts]
type = "alert_file"
inputs = [{{ from = "dedup", grouping = "global" }}]
path = "alerts.jsonl"

[bolts.events]
type = "dns_file"
inputs = [{{ from = "parse", grouping = "global" }}]
path = "events.jsonl"
{extra}
"#
    );
    let path = dir.join("topology.toml");
    std::fs::write(&path, text).expect("write the topology");
    path
}

fn sorted_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Waits for `child` to exit, killing it after `limit`.
fn wait(mut child: Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the run did not finish in {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn has_complete_checkpoint(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .any(|entry| entry.path().join("COMPLETE").exists())
}

#[test]
fn a_killed_run_resumes_and_counts_every_published_line_once() {
    // The workload: a Windows DNS debug log, cut into messages of one to three lines.
    let generated = antimony()
        .args([
            "gen",
            "--format",
            "windows-dns",
            "--records",
            "10000",
            "--seed",
            "13",
        ])
        .args(["-q", "--data", DATA])
        .output()
        .expect("gen runs");
    assert!(generated.status.success(), "{}", stderr(&generated));
    let log = String::from_utf8(generated.stdout).expect("text");
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() > 10_000, "{} lines", lines.len());
    let mut messages = Vec::new();
    let mut rest = &lines[..];
    while !rest.is_empty() {
        let take = (messages.len() % 3 + 1).min(rest.len());
        messages.push(rest[..take].join("\n") + "\n");
        rest = &rest[take..];
    }

    // The reference: the same lines from a file.
    let reference = tempfile::tempdir().expect("tempdir");
    std::fs::write(reference.path().join("dns.log"), lines.join("\n") + "\n").expect("write");
    let file_topology = topology(
        reference.path(),
        r#"type = "file"
path = "dns.log""#,
        "",
    );
    let output = antimony()
        .args(["run"])
        .arg(&file_topology)
        .args(["--workers", "2"])
        .output()
        .expect("the file run");
    assert!(output.status.success(), "{}", stderr(&output));
    let expected_events = sorted_lines(&reference.path().join("events.jsonl"));
    let expected_alerts = sorted_lines(&reference.path().join("alerts.jsonl"));
    assert!(
        expected_events.len() >= 10_000,
        "{} events",
        expected_events.len()
    );
    assert!(expected_alerts.len() > 100, "the workload raises alerts");

    // The same lines through NATS.
    let server = NatsServer::start();
    let js = server.jetstream();
    create_stream(&js, "DNS", &["dns.>"]);
    create_stream(&js, "ALERTS", &["alerts.>"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let checkpoints = dir.path().join("checkpoints");
    let nats_topology = topology(
        dir.path(),
        &format!(
            r#"type = "nats"
url = "{}"
stream = "DNS"
durable = "antimony"
batch = 32
finish_idle_ms = 3000"#,
            server.url
        ),
        &format!(
            r#"
[bolts.alerts_nats]
type = "alert_nats"
inputs = [{{ from = "dedup", grouping = "global" }}]
url = "{}"
subject = "alerts.dns"

[checkpoint]
interval_secs = 0.3
"#,
            server.url
        ),
    );
    // Its log goes to a file: a pipe nobody reads while the test waits could fill up.
    let run = |log: &Path| {
        antimony()
            .args(["run"])
            .arg(&nats_topology)
            .args(["--workers", "2", "--checkpoint-dir"])
            .arg(&checkpoints)
            .env("ANTIMONY_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("a log file"))
            .spawn()
            .expect("antimony runs")
    };

    // Two thirds of the messages are there at start; the rest come slowly until the first
    // run is killed, then at once.
    let first_part = messages.len() * 2 / 3;
    for message in &messages[..first_part] {
        publish(&js, message.clone());
    }
    let killed = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(first_part));
    let publisher = {
        let js = js.clone();
        let later = messages[first_part..].to_vec();
        let killed = Arc::clone(&killed);
        let sent = Arc::clone(&sent);
        std::thread::spawn(move || {
            for message in later {
                if !killed.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(4));
                }
                publish(&js, message);
                sent.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let mut first = run(&dir.path().join("first.log"));
    let events = dir.path().join("events.jsonl");
    let started = Instant::now();
    while !(has_complete_checkpoint(&checkpoints)
        && sorted_lines(&events).len() > expected_events.len() / 2)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first run took no checkpoint"
        );
        assert!(
            first.try_wait().expect("wait").is_none(),
            "the first run ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(400));
    let sent_at_kill = sent.load(Ordering::SeqCst);
    first.kill().expect("SIGKILL the first run");
    let _ = first.wait();
    killed.store(true, Ordering::SeqCst);
    let written_before = sorted_lines(&events).len();
    assert!(
        written_before < expected_events.len(),
        "killed mid-stream: {written_before} of {} events written",
        expected_events.len()
    );
    publisher.join().expect("the publisher");

    let second_log = dir.path().join("second.log");
    let status = wait(run(&second_log), Duration::from_secs(120));
    let log = std::fs::read_to_string(&second_log).unwrap_or_default();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("resuming from the last complete checkpoint"),
        "the second run resumed: {log}"
    );
    // Shown when the test fails: how far the first run got, and the second run's log
    // (where it resumed, how many publishes the stream dropped as duplicates).
    eprintln!("killed after {sent_at_kill} messages sent, {written_before} events written\n{log}");

    // Every published line counted once: the same events as the file run.
    let events = sorted_lines(&events);
    assert_eq!(events.len(), expected_events.len(), "events counted once");
    assert!(events == expected_events, "the same events as the file run");
    let alerts = sorted_lines(&dir.path().join("alerts.jsonl"));
    assert!(alerts == expected_alerts, "the same alerts as the file run");

    // Published alerts: one message per id, the same lines as the file run's.
    let mut stream = block_on(js.get_stream("ALERTS")).expect("stream");
    let count = block_on(stream.info()).expect("info").state.messages;
    let mut published = BTreeMap::new();
    for sequence in 1..=count {
        let message = block_on(stream.get_raw_message(sequence)).expect("message");
        let id = message
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|v| v.as_str().to_owned())
            .expect("a Nats-Msg-Id");
        let line = String::from_utf8(message.payload.to_vec()).expect("text");
        assert!(
            published.insert(id.clone(), line).is_none(),
            "id {id} published twice"
        );
    }
    let published: BTreeSet<&String> = published.values().collect();
    let expected: BTreeSet<&String> = expected_alerts.iter().collect();
    assert_eq!(
        published.len(),
        expected_alerts.len(),
        "one message per alert"
    );
    assert!(
        published == expected,
        "the published alerts are the file run's"
    );
}

/// The README's Brokers example, put in place of the shipped topology's file spout and
/// beside its alerts sink, is a valid topology (nothing connects until it runs).
#[test]
fn the_readmes_broker_example_is_a_valid_topology() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README");
    let section = &readme[readme.find("## Brokers").expect("a Brokers section")..];
    let start = section.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").expect("its end")];
    let shipped = std::fs::read_to_string(format!("{root}/topologies/dns-threats.toml"))
        .expect("the shipped topology");
    let spout = "[spouts.logs]\ntype = \"file\"\npath = \"../assets/demo/dns-demo.log\"\n";
    assert!(
        shipped.contains(spout),
        "the shipped topology's spout changed"
    );
    let text = shipped
        .replace(spout, "")
        .replace("\"../assets/", &format!("\"{root}/assets/"))
        + example;
    let decl = antimony_engine::TopologyDecl::parse(&text, None).expect("parses");
    let topology = decl.resolve(&antimony_components::registry());
    assert!(topology.is_ok(), "{:?}", topology.err());
}
