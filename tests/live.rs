//! Live sources in a running topology: a real syslog sender (`logger`, util-linux) on UDP
//! loopback and a real dnstap sender (`fstrm_replay`, Debian's fstrm-bin) on a Unix socket,
//! each received and parsed; then Ctrl-C stops the run cleanly.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// Kills the child process if the test fails before stopping it.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Running {
    /// Starts `antimony run TOPOLOGY ARGS...`, its standard error captured.
    fn start(topology: &Path, args: &[&str]) -> Self {
        Running(Some(
            Command::new(env!("CARGO_BIN_EXE_antimony"))
                // Tests run side by side: none serves the API on the default port.
                .env("ANTIMONY_API", "off")
                .arg("run")
                .arg(topology)
                .args(args)
                .stderr(Stdio::piped())
                .spawn()
                .expect("antimony starts"),
        ))
    }
}

/// Waits until `path` holds at least `lines` lines; returns them.
fn wait_for_lines(path: &Path, lines: usize, child: &mut Child) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines {
            return text
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("antimony exited early with {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {} of {lines} lines in {}",
            text.lines().count(),
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn syslog_and_dnstap_senders_reach_a_running_topology() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_udp_port();
    let socket = dir.path().join("dnstap.sock");
    let topology = dir.path().join("live.toml");
    std::fs::write(
        &topology,
        format!(
            r#"[topology]
name = "live"

[spouts.syslog]
type = "syslog"
listen = "udp://127.0.0.1:{port}"

[spouts.dnstap]
type = "frame_streams"
listen = "unix://{socket}"

[bolts.parse]
type = "dns_parse"
inputs = ["syslog", "dnstap"]

[bolts.events]
type = "dns_file"
inputs = [{{ from = "parse", grouping = "global" }}]
path = "events.jsonl"
sort = false
"#,
            socket = socket.display()
        ),
    )
    .expect("topology");
    let mut running = Running::start(&topology, &["--workers", "2"]);
    let antimony = running.0.as_mut().expect("running");
    let start = Instant::now();
    while !socket.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the dnstap socket never appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let events = dir.path().join("events.jsonl");

    // A BIND query-log line, sent the way named's syslog channel would.
    let sent = Command::new("logger")
        .args(["--udp", "--server", "127.0.0.1", "--port", &port.to_string(), "--rfc3164", "--tag", "named"])
        .arg("client @0x7f1703b12098 10.1.2.3#41281 (update-java.net): query: update-java.net IN A +E(0)K (10.0.0.53)")
        .status()
        .expect("logger runs (util-linux)");
    assert!(sent.success());
    let seen = wait_for_lines(&events, 1, antimony);
    assert_eq!(seen[0]["qname"], "update-java.net");
    assert_eq!(seen[0]["client"], "10.1.2.3");

    // BIND's dnstap file, replayed by fstrm's own sender over the Unix socket.
    let frames = std::fs::read_to_string(format!("{DATA}/dnstap/bind.dnstap.quiet.txt"))
        .expect("text decode")
        .lines()
        .count();
    let replayed = Command::new("fstrm_replay")
        .args([
            "-t",
            "protobuf:dnstap.Dnstap",
            "-r",
            &format!("{DATA}/dnstap/bind.dnstap"),
            "-u",
        ])
        .arg(&socket)
        .status()
        .expect("fstrm_replay runs (Debian fstrm-bin)");
    assert!(replayed.success());
    let seen = wait_for_lines(&events, 1 + frames, antimony);
    assert_eq!(seen.len(), 1 + frames);

    // Ctrl-C: the run drains and ends cleanly, with its summary.
    let interrupted = Command::new("kill")
        .args(["-INT", &antimony.id().to_string()])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let output = running
        .0
        .take()
        .expect("running")
        .wait_with_output()
        .expect("antimony ends");
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{summary}");
    assert!(summary.contains("stopping"), "{summary}");
    assert!(summary.contains("parse"), "{summary}");
}

/// A threat-intel list edited while the topology runs is picked up without a restart, even
/// for a name the detectors already saw and found quiet.
#[test]
fn a_list_edited_during_a_run_is_reloaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_udp_port();
    let list = dir.path().join("feed.txt");
    std::fs::write(&list, "known-bad.example\n").expect("list");
    let topology = dir.path().join("reload.toml");
    std::fs::write(
        &topology,
        format!(
            r#"[topology]
name = "reload"

[spouts.syslog]
type = "syslog"
listen = "udp://127.0.0.1:{port}"

[bolts.parse]
type = "dns_parse"
inputs = ["syslog"]

[bolts.detect]
type = "dns_detect"
inputs = ["parse"]
reload_secs = 1
blocklists = [{{ name = "feed", path = "feed.txt" }}]

[bolts.alerts]
type = "alert_file"
inputs = [{{ from = "detect", grouping = "global" }}]
path = "alerts.jsonl"
sort = false
"#
        ),
    )
    .expect("topology");
    let mut running = Running::start(&topology, &["-q"]);
    let antimony = running.0.as_mut().expect("running");
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let query = |name: &str| {
        let line = format!(
            "<30>Nov 26 10:00:00 ns1 named[1]: client @0x7f1703b12098 10.1.2.3#41281 ({name}): query: {name} IN A +E(0)K (10.0.0.53)"
        );
        sender
            .send_to(line.as_bytes(), ("127.0.0.1", port))
            .expect("send");
    };
    let alerts = dir.path().join("alerts.jsonl");

    // The fresh name first, then a listed one: once the listed name's alert is out, the
    // fresh name has been checked (and cached as quiet) without one.
    let start = Instant::now();
    let seen = loop {
        query("fresh-threat.example");
        query("known-bad.example");
        if std::fs::read_to_string(&alerts).is_ok_and(|t| !t.is_empty()) {
            break wait_for_lines(&alerts, 1, antimony);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no alert for the listed name"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        seen.iter().all(|a| a["domain"] == "known-bad.example"),
        "{seen:?}"
    );

    // The feed gains the fresh name; the run picks it up within a few reload periods.
    std::fs::write(&list, "known-bad.example\nfresh-threat.example\n").expect("list");
    let start = Instant::now();
    loop {
        query("fresh-threat.example");
        let text = std::fs::read_to_string(&alerts).unwrap_or_default();
        if text.contains("\"domain\":\"fresh-threat.example\"") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the edited list was not reloaded: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A live socket took the format of its first lines for the whole run: three stray
/// datagrams (`logger -d hello`) made every BIND line after them "not recognised", 0 alerts
/// for as long as it ran. Now a stray line is set aside on its own and the BIND lines after it
/// are read.
#[test]
fn stray_datagrams_do_not_blind_a_live_topology() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_udp_port();
    let topology = dir.path().join("stray.toml");
    std::fs::write(
        &topology,
        format!(
            r#"[topology]
name = "stray"

[spouts.syslog]
type = "syslog"
listen = "udp://127.0.0.1:{port}"

[bolts.parse]
type = "dns_parse"
inputs = ["syslog"]
format = "auto"

[bolts.events]
type = "dns_file"
inputs = [{{ from = "parse", grouping = "global" }}]
path = "events.jsonl"
sort = false
"#
        ),
    )
    .expect("topology");
    let dead = dir.path().join("dead.jsonl");
    let mut running = Running::start(
        &topology,
        &["-q", "--dead-letter", dead.to_str().expect("utf-8")],
    );
    let antimony = running.0.as_mut().expect("running");
    let logger = |message: &str| {
        let sent = Command::new("logger")
            .args([
                "-d",
                "--server",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--rfc3164",
            ])
            .args(["--tag", "named", message])
            .status()
            .expect("logger runs (util-linux)");
        assert!(sent.success());
    };
    // Wait for the receiver: the first stray datagram is sent again until it is set aside.
    let start = Instant::now();
    while std::fs::read_to_string(&dead)
        .unwrap_or_default()
        .is_empty()
    {
        logger("hello");
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing received"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    logger("hello");
    logger("hello");
    logger(
        "client @0x7f1703b12098 10.1.2.3#41281 (update-java.net): query: update-java.net IN A +E(0)K (10.0.0.53)",
    );
    let events = wait_for_lines(&dir.path().join("events.jsonl"), 1, antimony);
    assert_eq!(events[0]["qname"], "update-java.net");
    let dead = std::fs::read_to_string(&dead).expect("dead letters");
    assert!(dead.contains("hello"), "{dead}");
}

/// SIGTERM, what systemd, Docker and Kubernetes send, killed the run at once: exit 143, no
/// drain, no summary, and the new-domain state not saved. Now it drains like Ctrl-C: the
/// alerts are complete, the state file is written, the summary printed, and it exits 0.
#[test]
fn sigterm_drains_saves_state_and_exits_0() {
    use std::io::Write;

    let dir = tempfile::tempdir().expect("tempdir");
    let topology = dir.path().join("term.toml");
    std::fs::write(
        &topology,
        r#"[topology]
name = "term"

[spouts.logs]
type = "file"
path = "-"

[bolts.parse]
type = "dns_parse"
inputs = ["logs"]

[bolts.detect]
type = "dns_detect"
inputs = [{ from = "parse", grouping = "local" }]

[bolts.domains]
type = "dns_stateful"
inputs = [{ from = "parse", grouping = "fields", fields = ["registered_domain"] }]
detectors = ["new_domain"]
state_path = "nod.state"

[bolts.dedup]
type = "alert_dedup"
inputs = [
  { from = "detect", grouping = "fields", fields = ["detector", "client", "domain"] },
  { from = "domains", grouping = "fields", fields = ["detector", "client", "domain"] },
]

[bolts.alerts]
type = "alert_file"
inputs = [{ from = "dedup", grouping = "global" }]
path = "alerts.jsonl"
"#,
    )
    .expect("topology");
    let mut child = Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .arg("run")
        .arg(&topology)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("antimony starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let alerts = dir.path().join("alerts.jsonl");
    let start = Instant::now();
    // The pipe stays open: the run lasts until it is stopped.
    while !std::fs::read_to_string(&alerts).is_ok_and(|t| t.contains("update-java.net")) {
        stdin
            .write_all(b"26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 10.1.2.3#41281 (update-java.net): query: update-java.net IN A +E(0)K (10.0.0.53)\n")
            .expect("write");
        stdin.flush().expect("flush");
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no alert while running"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(terminated.success());
    let output = child.wait_with_output().expect("antimony ends");
    let summary = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{summary}");
    assert!(summary.contains("SIGTERM"), "{summary}");
    assert!(summary.contains("alert_file"), "the summary: {summary}");
    let state = dir.path().join("nod.state.w0");
    assert!(state.exists(), "the new-domain state was saved: {summary}");
    drop(stdin);
}

/// Regression ("Never blind without a word"): a list truncated to empty during a run (a
/// failed download, a non-atomic rewrite) was swapped in without a word, and every hit on it
/// stopped. Now the lists in force stay, a warning names the list, and the refusal is counted;
/// a list that then grows is taken, and the log says how many entries it added.
#[test]
fn a_list_truncated_during_a_run_is_refused_and_a_grown_one_taken() {
    use std::io::BufRead as _;

    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_udp_port();
    let list = dir.path().join("feed.txt");
    std::fs::write(&list, "known-bad.example\nsecond-bad.example\n").expect("list");
    let topology = dir.path().join("guard.toml");
    std::fs::write(
        &topology,
        format!(
            r#"[topology]
name = "guard"

[spouts.syslog]
type = "syslog"
listen = "udp://127.0.0.1:{port}"

[bolts.parse]
type = "dns_parse"
inputs = ["syslog"]

[bolts.detect]
type = "dns_detect"
inputs = ["parse"]
reload_secs = 1
blocklists = [{{ name = "feed", path = "feed.txt" }}]

[bolts.alerts]
type = "alert_file"
inputs = [{{ from = "detect", grouping = "global" }}]
path = "alerts.jsonl"
sort = false
"#
        ),
    )
    .expect("topology");
    let mut running = Running(Some(
        Command::new(env!("CARGO_BIN_EXE_antimony"))
            // Tests run side by side: none serves the API on the default port.
            .env("ANTIMONY_API", "off")
            .arg("run")
            .arg(&topology)
            .env("ANTIMONY_LOG", "antimony_components=info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("antimony starts"),
    ));
    let antimony = running.0.as_mut().expect("running");
    // Standard error read as it comes, to see the reload warnings while the run goes on.
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let log = std::sync::Arc::clone(&log);
        let stderr = antimony.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.expect("a log line");
                let mut log = log.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    let logged = |what: &str| log.lock().expect("log").contains(what);
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let query = |name: &str| {
        let line = format!(
            "<30>Nov 26 10:00:00 ns1 named[1]: client @0x7f1703b12098 10.1.2.3#41281 ({name}): query: {name} IN A +E(0)K (10.0.0.53)"
        );
        sender
            .send_to(line.as_bytes(), ("127.0.0.1", port))
            .expect("send");
    };
    let alerts = dir.path().join("alerts.jsonl");
    let alerted = |name: &str| {
        std::fs::read_to_string(&alerts)
            .unwrap_or_default()
            .contains(&format!("\"domain\":\"{name}\""))
    };
    // Sends `name` until it raises an alert (UDP may drop; the run may still be starting).
    let alert_on = |name: &str, why: &str| {
        let start = Instant::now();
        while !alerted(name) {
            query(name);
            assert!(start.elapsed() < Duration::from_secs(30), "{why}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let wait_for_log = |what: &str| {
        let start = Instant::now();
        while !logged(what) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "never logged `{what}`: {}",
                log.lock().expect("log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    alert_on("known-bad.example", "no alert for the listed name");

    // The feed is truncated: refused with a warning, and its names still alert (one never
    // checked before, so no cache of this run can answer for the list).
    std::fs::write(&list, "").expect("truncate");
    wait_for_log("threat-intel list `feed` not reloaded: it went from 2 to 0 entries");
    assert!(logged("reload_min_ratio"), "the warning names the option");
    alert_on(
        "second-bad.example",
        "the emptied list was swapped in: no alert for a listed name",
    );

    // The feed grows: taken, the log says what it added, and the new name alerts.
    std::fs::write(
        &list,
        "known-bad.example\nsecond-bad.example\nfresh-threat.example\n",
    )
    .expect("grow");
    wait_for_log("threat-intel list `feed` reloaded: 3 entries, 1 added, 0 removed");
    alert_on("fresh-threat.example", "the grown list was not taken");

    // The summary counts the refusal and the reload.
    let interrupted = Command::new("kill")
        .args(["-INT", &antimony.id().to_string()])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let status = running
        .0
        .take()
        .expect("running")
        .wait()
        .expect("antimony ends");
    reader.join().expect("the log reader");
    let log = log.lock().expect("log");
    assert!(status.success(), "{log}");
    // The count right after `what` in the summary (`list reloads 1, list reloads refused 0`).
    let counted = |what: &str| -> u64 {
        log.match_indices(what)
            .find_map(|(at, _)| {
                let rest = &log[at + what.len()..];
                let end = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                rest[..end].parse().ok()
            })
            .unwrap_or_else(|| panic!("no count after `{what}` in {log}"))
    };
    // A tick may catch the growing file mid-write, empty: one more refusal, no more reloads.
    assert!(counted("list reloads refused ") >= 1, "{log}");
    assert_eq!(counted("list reloads "), 1, "{log}");
    assert_eq!(counted("list entries added "), 1, "{log}");
    assert_eq!(counted("list entries removed "), 0, "{log}");
}

/// SIGHUP reloads the threat-intel lists at once, even with no polling (`reload_secs = 0`).
#[test]
fn sighup_reloads_the_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_udp_port();
    let list = dir.path().join("feed.txt");
    std::fs::write(&list, "known-bad.example\n").expect("list");
    let topology = dir.path().join("hup.toml");
    std::fs::write(
        &topology,
        format!(
            r#"[topology]
name = "hup"

[spouts.syslog]
type = "syslog"
listen = "udp://127.0.0.1:{port}"

[bolts.parse]
type = "dns_parse"
inputs = ["syslog"]

[bolts.detect]
type = "dns_detect"
inputs = ["parse"]
reload_secs = 0
blocklists = [{{ name = "feed", path = "feed.txt" }}]

[bolts.alerts]
type = "alert_file"
inputs = [{{ from = "detect", grouping = "global" }}]
path = "alerts.jsonl"
sort = false
"#
        ),
    )
    .expect("topology");
    let mut running = Running::start(&topology, &["-q"]);
    let antimony = running.0.as_mut().expect("running");
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let query = |name: &str| {
        let line = format!(
            "<30>Nov 26 10:00:00 ns1 named[1]: client @0x7f1703b12098 10.1.2.3#41281 ({name}): query: {name} IN A +E(0)K (10.0.0.53)"
        );
        sender
            .send_to(line.as_bytes(), ("127.0.0.1", port))
            .expect("send");
    };
    let alerts = dir.path().join("alerts.jsonl");
    let alerted = |name: &str| {
        std::fs::read_to_string(&alerts)
            .unwrap_or_default()
            .contains(&format!("\"domain\":\"{name}\""))
    };
    // Running, with the lists as they were at start.
    let start = Instant::now();
    while !alerted("known-bad.example") {
        query("fresh-threat.example");
        query("known-bad.example");
        assert!(start.elapsed() < Duration::from_secs(30), "no alert at all");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alerted("fresh-threat.example"));
    std::fs::write(&list, "known-bad.example\nfresh-threat.example\n").expect("list");
    let hup = Command::new("kill")
        .args(["-HUP", &antimony.id().to_string()])
        .status()
        .expect("kill");
    assert!(hup.success());
    let start = Instant::now();
    while !alerted("fresh-threat.example") {
        query("fresh-threat.example");
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "SIGHUP did not reload the list"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
