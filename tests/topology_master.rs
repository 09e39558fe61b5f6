//! The Topology Master of a running topology: every API call on a live run, the token beyond
//! loopback, deactivate/activate losing nothing, `/metrics` read by a strict OpenMetrics
//! parser, and the lifecycle commands (`status`, `alerts --follow`, `deactivate`,
//! `activate`, `kill`) against a run fed from a pipe.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const TOPOLOGY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/dns-threats.toml");
const DEMO_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/dns-demo.log");

fn antimony() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_antimony"));
    command
        .env("ANTIMONY_API", "off")
        .env_remove("ANTIMONY_API_TOKEN");
    command
}

/// `antimony ARGS`, run to its end.
fn antimony_output(args: &[&str]) -> Output {
    antimony().args(args).output().expect("antimony runs")
}

/// A topology running with its API; killed if a test fails before it ends.
struct Live {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
    /// `http://HOST:PORT`.
    url: String,
}

impl Live {
    /// Starts `antimony run TOPOLOGY ARGS`, standard input piped, and waits for its API.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Live {
        let mut child = antimony()
            .arg("run")
            .arg(TOPOLOGY)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("antimony starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let reader = BufReader::new(child.stderr.take().expect("stderr"));
        let kept = stderr.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                let mut text = kept.lock().expect("lock");
                text.push_str(&line);
                text.push('\n');
            }
        });
        let stdin = child.stdin.take();
        let mut live = Live {
            child: Some(child),
            stdin,
            stderr,
            url: String::new(),
        };
        let started = Instant::now();
        while live.url.is_empty() {
            let text = live.stderr();
            if let Some(at) = text.split("Topology Master at ").nth(1) {
                let url = at.split_whitespace().next().expect("an address");
                live.url = url.to_owned();
                break;
            }
            if let Some(status) = live.exited() {
                panic!("antimony ended with {status} before serving: {text}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no API: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        live
    }

    /// Starts a run of `input` (`-`: the piped standard input) writing `alerts`, its API
    /// on a free loopback port.
    fn serving(input: &str, alerts: &Path, extra: &[&str]) -> Live {
        let alerts = alerts.to_str().expect("utf-8");
        let mut args = vec!["--input", input, "--alerts", alerts, "--api", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Live::start(&args, &[])
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("wait"))
    }

    /// Writes `text` to the run's standard input, which stays open.
    fn feed(&mut self, text: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(text).expect("the run reads");
        stdin.flush().expect("flush");
    }

    /// Waits for the run to end by itself (its API killed it); its exit status and stderr.
    fn wait(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                // Give the reader thread a moment to take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.stderr());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the run did not end: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// `GET url` with an optional token: status and body.
fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = agent().get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.call().expect("the API answers");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().expect("a body"),
    )
}

fn post(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = agent().post(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.send_empty().expect("the API answers");
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().expect("JSON"))
}

fn get_json(url: &str) -> Value {
    let (status, body) = get(url, None);
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// Polls `url` until it answers 200 and `done` holds of its answer.
fn wait_for(url: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = get(url, None);
        let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if status == 200 && done(&answer) {
            return answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}: {url} answers {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The alerts of a plain run over `log` (no API), as sorted lines: what a live run must
/// also write.
fn alerts_of_file_run(log: &Path, dir: &Path) -> BTreeSet<String> {
    let alerts = dir.join("expected.jsonl");
    let output = antimony_output(&[
        "run",
        TOPOLOGY,
        "--input",
        log.to_str().expect("utf-8"),
        "--alerts",
        alerts.to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(output.status.success(), "{output:?}");
    lines(&alerts)
}

fn lines(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .expect("the alerts file")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn component<'a>(stats: &'a Value, name: &str) -> &'a Value {
    stats["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name} in {stats}"))
}

#[test]
fn every_call_answers_on_a_live_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = alerts_of_file_run(Path::new(DEMO_LOG), dir.path());
    let alerts_path = dir.path().join("alerts.jsonl");
    let mut live = Live::serving("-", &alerts_path, &["--workers", "2"]);
    let url = live.url.clone();
    assert_eq!(get(&format!("{url}/healthz"), None).0, 200);
    wait_for(&format!("{url}/readyz"), "ready", |r| {
        r["status"] == "ready"
    });
    live.feed(&std::fs::read(DEMO_LOG).expect("the demo log"));

    // The plan: logical and physical.
    let topology = get_json(&format!("{url}/api/topology"));
    let names: Vec<&str> = topology["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        [
            "logs", "parse", "clients", "detect", "domains", "dedup", "alerts"
        ]
    );
    let parse = &topology["components"][1];
    assert_eq!(parse["type"], "dns_parse");
    assert_eq!(parse["inputs"][0]["from"], "logs");
    assert_eq!(parse["inputs"][0]["grouping"], "shuffle");
    assert_eq!(
        topology["components"][4]["inputs"][0]["grouping"],
        "fields(registered_domain)"
    );
    assert_eq!(topology["physical"]["workers_per_process"], 2);
    let instances = topology["physical"]["instances"]
        .as_array()
        .expect("instances");
    let of = |name: &str| instances.iter().filter(|i| i["component"] == name).count();
    assert_eq!((of("logs"), of("parse"), of("alerts")), (1, 2, 1));

    // The alerts, newest first, filtered.
    let all = wait_for(
        &format!("{url}/api/alerts?limit=1000"),
        "every alert",
        |a| a["matched"].as_u64() == Some(expected.len() as u64),
    );
    let alerts = all["alerts"].as_array().expect("alerts");
    let seqs: Vec<u64> = alerts
        .iter()
        .map(|a| a["seq"].as_u64().expect("seq"))
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a["received_at"].as_f64().is_some() && a["reason"].is_string())
    );
    let intel = get_json(&format!("{url}/api/alerts?detector=threat_intel"));
    let intel = intel["alerts"].as_array().expect("alerts");
    assert!(!intel.is_empty() && intel.iter().all(|a| a["detector"] == "threat_intel"));
    let high = get_json(&format!("{url}/api/alerts?severity=high"));
    let high = high["alerts"].as_array().expect("alerts");
    assert!(!high.is_empty());
    assert!(
        high.iter()
            .all(|a| a["severity"] == "high" || a["severity"] == "critical")
    );
    let first = &alerts[0];
    let registered = first["registered_domain"]
        .as_str()
        .expect("a registered domain");
    let by_domain = get_json(&format!("{url}/api/alerts?domain={registered}"));
    assert!(
        by_domain["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .all(|a| a["registered_domain"] == registered)
    );
    let one = get_json(&format!("{url}/api/alerts?limit=1"));
    assert_eq!(one["alerts"].as_array().map(Vec::len), Some(1));
    assert!(all["top_domains"][0]["alerts"].as_u64() >= Some(1));
    assert!(all["top_clients"][0]["name"].is_string());
    let (status, body) = get(&format!("{url}/api/alerts?severity=urgent"), None);
    assert_eq!(status, 400);
    assert!(body.contains("urgent"), "{body}");

    // Statistics: counts, rates, flow, processing times, components' own series.
    let stats = wait_for(&format!("{url}/api/stats"), "alerts written", |s| {
        component(s, "alerts")["received"].as_u64() == Some(expected.len() as u64)
    });
    assert_eq!(stats["state"], "running");
    let logs = component(&stats, "logs");
    assert_eq!(logs["role"], "spout");
    assert!(logs["emitted"].as_u64() >= Some(1));
    assert_eq!(logs["backpressured"], false);
    assert!(logs["in_flight"].is_u64());
    assert_eq!(
        logs["series"]["bytes read"].as_u64(),
        Some(std::fs::metadata(DEMO_LOG).expect("log").len())
    );
    let parse = component(&stats, "parse");
    assert_eq!(parse["instances"].as_array().map(Vec::len), Some(2));
    assert!(parse["emitted"].as_u64() > Some(100), "{parse}");
    assert!(parse["activation_p99_s"].as_f64() > Some(0.0), "{parse}");
    assert!(parse["received_per_s"].is_f64() && parse["series_per_s"]["lines"].is_f64());
    assert!(component(&stats, "domains")["series"]["keys new_domain"].is_u64());
    assert!(component(&stats, "dedup")["series"]["suppressed"].is_u64());
    assert!(stats["throughput"].is_array());

    // /metrics, read by a strict OpenMetrics parser: bounded labels only.
    let mut response = agent()
        .get(format!("{url}/metrics"))
        .call()
        .expect("metrics");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.body_mut().read_to_string().expect("text");
    let exposition = openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("not OpenMetrics ({e:?}):\n{text}"));
    let attacker_chosen: BTreeSet<String> = alerts
        .iter()
        .flat_map(|a| {
            ["domain", "registered_domain", "client"].map(|f| a[f].as_str().map(str::to_owned))
        })
        .flatten()
        .collect();
    let mut received_by_parse = 0.0;
    for (name, family) in &exposition.families {
        assert!(name.starts_with("antimony_"), "{name}");
        for sample in family.iter_samples() {
            let labels = sample.get_labelset().expect("labels");
            for (key, value) in labels.iter() {
                assert!(
                    ["component", "instance", "detector", "severity", "le"].contains(&key.as_str()),
                    "{name} has label {key}"
                );
                assert!(
                    value.parse::<std::net::IpAddr>().is_err(),
                    "{name}{{{key}={value}}}"
                );
                assert!(!attacker_chosen.contains(value), "{name}{{{key}={value}}}");
            }
            if let openmetrics_parser::OpenMetricsValue::Counter(c) = &sample.value
                && name == "antimony_records_received"
                && labels.get_label_value("component") == Some("parse")
            {
                received_by_parse += c.value.as_f64();
            }
        }
    }
    assert_eq!(
        received_by_parse,
        parse["received"].as_f64().expect("received")
    );
    assert!(
        exposition
            .families
            .contains_key("antimony_bolt_activation_seconds")
    );

    let (status, body) = get(&format!("{url}/api/nothing"), None);
    assert_eq!((status, body.contains("API.md")), (404, true));

    // The dashboard and its files, compiled in, under a policy that runs nothing else.
    for (path, kind) in [
        ("/", "text/html"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/style.css", "text/css"),
    ] {
        let response = agent().get(format!("{url}{path}")).call().expect("served");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(response.status(), 200, "{path}");
        assert!(header("content-type").starts_with(kind), "{path}");
        assert!(
            header("content-security-policy").contains("script-src 'self'"),
            "{path}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    }
    assert_eq!(get(&format!("{url}/assets/nothing.js"), None).0, 404);

    // Kill: drain, flush, exit 0, every alert written.
    let (status, answer) = post(&format!("{url}/api/kill"), None);
    assert_eq!((status, answer["state"].as_str()), (200, Some("stopping")));
    let (status, stderr) = live.wait();
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(lines(&alerts_path), expected);
}

#[test]
fn beyond_loopback_the_api_needs_its_token() {
    // No token: refused at start, saying why.
    let output = antimony_output(&["run", TOPOLOGY, "--api", "0.0.0.0:0", "-q"]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("without a token") && stderr.contains("--api-token"),
        "{stderr}"
    );

    // A port in use: a clear error, not a silent skip.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = antimony_output(&["run", TOPOLOGY, "--api", &addr, "-q"]);
    assert_eq!(output.status.code(), Some(4), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );

    // With a token (from the environment): every call but health needs it.
    let token = "correct horse battery staple";
    let mut live = Live::start(
        &["--input", "-", "--api", "0.0.0.0:0", "-q"],
        &[("ANTIMONY_API_TOKEN", token)],
    );
    let port = live.url.rsplit(':').next().expect("a port").to_owned();
    let url = format!("http://127.0.0.1:{port}");
    assert_eq!(get(&format!("{url}/healthz"), None).0, 200);
    assert_eq!(get(&format!("{url}/api/stats"), None).0, 401);
    assert_eq!(get(&format!("{url}/metrics"), Some("wrong")).0, 401);
    assert_eq!(get(&format!("{url}/api/stats"), Some(token)).0, 200);
    for call in ["deactivate", "activate", "kill"] {
        let (status, answer) = post(&format!("{url}/api/{call}"), None);
        assert_eq!(status, 401, "{call}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .is_some_and(|e| e.contains("token"))
        );
        assert_eq!(
            post(&format!("{url}/api/{call}"), Some("correct horse")).0,
            401
        );
    }
    assert!(
        live.exited().is_none(),
        "a refused kill does not stop the run"
    );
    let status = antimony_output(&["status", "--api", &url]);
    assert!(!status.status.success());
    assert!(
        String::from_utf8_lossy(&status.stderr).contains("401"),
        "{status:?}"
    );
    let status = antimony_output(&["status", "--api", &url, "--api-token", token]);
    assert!(status.status.success(), "{status:?}");
    let killed = antimony_output(&["kill", "--api", &url, "--api-token", token]);
    assert!(killed.status.success(), "{killed:?}");
    let (status, stderr) = live.wait();
    assert!(status.success(), "{status}: {stderr}");
}

/// `antimony gen` output of `records` records, in `dir`.
fn generated_log(dir: &Path, records: &str) -> PathBuf {
    let path = dir.join("gen.log");
    let output = antimony_output(&[
        "gen",
        "--format",
        "windows-dns",
        "--records",
        records,
        "--seed",
        "11",
    ]);
    assert!(output.status.success(), "{output:?}");
    std::fs::write(&path, &output.stdout).expect("write");
    path
}

/// `lines N` of the parser's line in a run summary.
fn lines_parsed(summary: &str) -> u64 {
    summary
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("parse "))
        .nth(1)
        .and_then(|l| l.trim().strip_prefix("lines "))
        .and_then(|l| l.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line count in {summary}"))
}

#[test]
fn deactivate_then_activate_processes_every_record_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = generated_log(dir.path(), "400000");
    let log_lines = std::fs::read_to_string(&log).expect("log").lines().count() as u64;
    let log_bytes = std::fs::metadata(&log).expect("log").len();
    let expected = alerts_of_file_run(&log, dir.path());
    let alerts_path = dir.path().join("alerts.jsonl");
    let log_arg = log.to_str().expect("utf-8");
    let mut live = Live::serving(log_arg, &alerts_path, &[]);
    let url = live.url.clone();
    let (status, answer) = post(&format!("{url}/api/deactivate"), None);
    assert_eq!((status, answer["state"].as_str()), (200, Some("paused")));

    // Paused: what was in flight finishes, and the spout emits nothing more (its reader
    // may fill its bounded read-ahead, no further).
    let settled = |s: &Value| {
        let read = component(s, "logs")["emitted"].as_u64();
        s["state"] == "paused"
            && read.is_some()
            && component(s, "parse")["received"].as_u64() == read
    };
    let before = wait_for(&format!("{url}/api/stats"), "paused and drained", settled);
    std::thread::sleep(Duration::from_millis(700));
    let after = get_json(&format!("{url}/api/stats"));
    let counts = |s: &Value| {
        (
            component(s, "logs")["emitted"].as_u64(),
            component(s, "parse")["received"].as_u64(),
        )
    };
    assert_eq!(
        counts(&before),
        counts(&after),
        "nothing emitted while deactivated"
    );
    let read = |s: &Value| {
        component(s, "logs")["series"]["bytes read"]
            .as_u64()
            .unwrap_or(0)
    };
    assert!(
        read(&after) < log_bytes,
        "deactivated before the end: {} of {log_bytes}",
        read(&after)
    );
    assert!(live.exited().is_none());

    let (status, answer) = post(&format!("{url}/api/activate"), None);
    assert_eq!((status, answer["state"].as_str()), (200, Some("running")));
    let (status, stderr) = live.wait();
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(
        lines_parsed(&stderr),
        log_lines,
        "every line read once: {stderr}"
    );
    assert_eq!(
        lines(&alerts_path),
        expected,
        "the same alerts as a run never paused"
    );
}

#[test]
fn lifecycle_commands_drive_a_run_fed_from_a_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = alerts_of_file_run(Path::new(DEMO_LOG), dir.path());
    let alerts_path = dir.path().join("alerts.jsonl");
    let mut live = Live::serving("-", &alerts_path, &[]);
    let url = live.url.clone();
    wait_for(&format!("{url}/readyz"), "ready", |r| {
        r["status"] == "ready"
    });

    // Followed from before the first alert: every one is printed as it arrives.
    let mut follow = antimony()
        .args(["alerts", "--follow", "--json", "--api", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("antimony alerts starts");
    let followed = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = BufReader::new(follow.stdout.take().expect("stdout"));
    let kept = followed.clone();
    let follower = std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            kept.lock().expect("lock").push(line);
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    live.feed(&std::fs::read(DEMO_LOG).expect("the demo log"));
    wait_for(&format!("{url}/api/alerts"), "every alert", |a| {
        a["matched"].as_u64() == Some(expected.len() as u64)
    });

    let status = antimony_output(&["status", "--api", &url]);
    assert!(status.status.success(), "{status:?}");
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(table.contains("dns-threats: running"), "{table}");
    for name in ["logs", "parse", "detect", "domains", "dedup", "alerts"] {
        assert!(
            table.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{table}"
        );
    }
    assert!(table.contains("in/s") && table.contains("out/s"), "{table}");
    let status = antimony_output(&["status", "--api", &url, "--json"]);
    let status: Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(status["topology"]["name"], "dns-threats");
    assert!(component(&status["stats"], "parse")["emitted_per_s"].is_f64());

    let recent = antimony_output(&["alerts", "--since", "10m", "--json", "--api", &url]);
    assert!(recent.status.success(), "{recent:?}");
    assert_eq!(
        String::from_utf8_lossy(&recent.stdout).lines().count(),
        expected.len()
    );
    let text = antimony_output(&["alerts", "--api", &url, "--detector", "threat_intel"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        !text.is_empty() && text.lines().all(|l| l.contains("threat_intel")),
        "{text}"
    );

    for (command, state) in [("deactivate", "paused"), ("activate", "running")] {
        let output = antimony_output(&[command, "--api", &url]);
        assert!(output.status.success(), "{output:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(state),
            "{output:?}"
        );
        assert_eq!(get_json(&format!("{url}/api/stats"))["state"], state);
    }

    // (What a follower has not fetched when the run ends is in the alerts file only.)
    let started = Instant::now();
    while followed.lock().expect("lock").len() < expected.len() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the follower saw {:?}",
            followed.lock()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = antimony_output(&["kill", "--api", &url]);
    assert!(killed.status.success(), "{killed:?}");
    assert!(String::from_utf8_lossy(&killed.stderr).contains("has stopped"));
    let (status, stderr) = live.wait();
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(lines(&alerts_path), expected, "a complete alerts file");

    // The follower saw each alert once, and ended with the run.
    let ended = follow.wait().expect("follow ends");
    let mut follow_stderr = String::new();
    let _ = std::io::Read::read_to_string(
        &mut follow.stderr.take().expect("stderr"),
        &mut follow_stderr,
    );
    assert!(ended.success(), "{ended}: {follow_stderr}");
    follower.join().expect("reader");
    let followed = followed.lock().expect("lock");
    let seqs: BTreeSet<u64> = followed
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON")["seq"]
                .as_u64()
                .expect("seq")
        })
        .collect();
    assert_eq!(
        (followed.len(), seqs.len()),
        (expected.len(), expected.len()),
        "{follow_stderr}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("address")
        .port()
}

#[test]
fn process_zero_serves_the_whole_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = alerts_of_file_run(Path::new(DEMO_LOG), dir.path());
    let alerts_path = dir.path().join("alerts.jsonl");
    let cluster = format!("127.0.0.1:{},127.0.0.1:{}", free_port(), free_port());
    let api = format!("127.0.0.1:{}", free_port());
    let args = |process: &'static str| {
        [
            "--input",
            "-",
            "--alerts",
            alerts_path.to_str().expect("utf-8"),
            "--workers",
            "1",
            "--cluster",
            &cluster,
            "--process",
            process,
            "--api",
            &api,
            "-q",
        ]
        .map(str::to_owned)
    };
    let one = antimony()
        .arg("run")
        .arg(TOPOLOGY)
        .args(args("1"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("process 1 starts");
    let zero_args = args("0");
    let zero_args: Vec<&str> = zero_args.iter().map(String::as_str).collect();
    let mut zero = Live::start(&zero_args, &[]);
    let url = zero.url.clone();

    // Process 1 reports; records shuffled to its worker are counted at process 0.
    wait_for(&format!("{url}/api/stats"), "process 1 reports", |s| {
        s["processes"][1]["reported_s_ago"].is_f64()
    });
    zero.feed(&std::fs::read(DEMO_LOG).expect("the demo log"));
    let stats = wait_for(&format!("{url}/api/stats"), "both workers parse", |s| {
        let parse = component(s, "parse");
        let by_one = parse["instances"]
            .as_array()
            .and_then(|i| i.iter().find(|i| i["instance"] == 1))
            .and_then(|i| i["received"].as_u64());
        by_one > Some(0)
            && component(s, "alerts")["received"].as_u64() == Some(expected.len() as u64)
    });
    let parse = component(&stats, "parse");
    let per_instance: u64 = parse["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| i["received"].as_u64().expect("received"))
        .sum();
    assert_eq!(parse["received"].as_u64(), Some(per_instance));
    let topology = get_json(&format!("{url}/api/topology"));
    assert_eq!(topology["physical"]["processes"], 2);
    assert!(
        topology["physical"]["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .any(|i| i["component"] == "parse" && i["process"] == 1)
    );
    let (_, metrics) = get(&format!("{url}/metrics"), None);
    assert!(
        metrics.contains("antimony_records_received_total{component=\"parse\",instance=\"1\"}"),
        "{metrics}"
    );

    // Kill at process 0 ends both.
    let (status, _) = post(&format!("{url}/api/kill"), None);
    assert_eq!(status, 200);
    let (status, stderr) = zero.wait();
    assert!(status.success(), "process 0: {status}: {stderr}");
    let ended = one.wait_with_output().expect("process 1 ends");
    assert!(ended.status.success(), "process 1: {ended:?}");
    assert_eq!(lines(&alerts_path), expected);
}
