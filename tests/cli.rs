//! The `antimony` binary as a user runs it: demo, run, check, and its errors.

use std::process::{Command, Output};

use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
const TOPOLOGY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/dns-threats.toml");

fn antimony(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn data(path: &str) -> String {
    format!("{DATA}/{path}")
}

/// Runs the shipped topology on `input`; returns (alerts, dead letters, stderr).
fn run_topology(input: &str, workers: usize, extra: &[&str]) -> (String, String, Output) {
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = dir.path().join("alerts.jsonl");
    let dead = dir.path().join("dead.jsonl");
    let workers = workers.to_string();
    let mut args = vec![
        "run",
        TOPOLOGY,
        "--input",
        input,
        "--workers",
        &workers,
        "--alerts",
        alerts.to_str().expect("utf-8"),
        "--dead-letter",
        dead.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let output = antimony(&args);
    assert!(output.status.success(), "run failed: {}", stderr(&output));
    let alerts = std::fs::read_to_string(&alerts).expect("alerts file");
    let dead = std::fs::read_to_string(&dead).expect("dead-letter file");
    (alerts, dead, output)
}

fn alerts_for<'a>(alerts: &'a [Value], domain: &str) -> Vec<&'a Value> {
    alerts.iter().filter(|a| a["domain"] == domain).collect()
}

#[test]
fn demo_prints_the_talks_alerts_and_none_for_google() {
    let output = antimony(&["demo"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let alerts = json_lines(&stdout(&output));
    let detectors = |domain: &str| -> Vec<String> {
        alerts_for(&alerts, domain)
            .iter()
            .map(|a| a["detector"].as_str().expect("detector").to_owned())
            .collect()
    };
    for domain in ["update-java.net", "systemsvc.net", "adobe-update.net"] {
        assert!(
            detectors(domain).contains(&"keyword".to_owned()),
            "{domain}: {:?}",
            detectors(domain)
        );
    }
    for domain in [
        "afadsfasdfsafwerwqerqqiye.cn",
        "jlaooireqieoruqoireqpwoiue.to",
    ] {
        assert!(detectors(domain).contains(&"dga".to_owned()), "{domain}");
    }
    assert!(detectors("acnanz.net").contains(&"threat_intel".to_owned()));
    assert!(detectors("cdn.viva2299.com").contains(&"threat_intel".to_owned()));
    for benign in [
        "google.com",
        "www.google.com",
        "facebook.com",
        "microsoft.com",
        "java.com",
        "ns1.ctc.gov.qa",
    ] {
        assert!(
            detectors(benign).is_empty(),
            "{benign} raised {:?}",
            detectors(benign)
        );
    }
    // Every field the brief lists, on every alert; one alert per detector, client and domain.
    let mut keys = std::collections::BTreeSet::new();
    for alert in &alerts {
        for field in [
            "id",
            "ts",
            "detector",
            "severity",
            "score",
            "domain",
            "registered_domain",
            "client",
            "reason",
            "evidence",
        ] {
            assert!(alert.get(field).is_some(), "{field} missing in {alert}");
        }
        assert!(keys.insert((
            alert["detector"].to_string(),
            alert["client"].to_string(),
            alert["domain"].to_string()
        )));
    }
    let summary = stderr(&output);
    assert!(summary.contains("alerts"), "{summary}");
}

#[test]
fn windows_and_bind_logs_parse_completely() {
    for (log, records) in [
        ("logs/windows_dns_debug.log", 12),
        ("logs/bind9_querylog.log", 821),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let events = dir.path().join("events.jsonl");
        let topology = dir.path().join("parse.toml");
        std::fs::write(
            &topology,
            format!(
                "[topology]\nname = \"parse\"\n[spouts.logs]\ntype = \"file\"\npath = \"{}\"\n\
                 [bolts.parse]\ntype = \"dns_parse\"\ninputs = [\"logs\"]\n\
                 [bolts.events]\ntype = \"dns_file\"\ninputs = [{{ from = \"parse\", grouping = \"global\" }}]\npath = \"events.jsonl\"\n",
                data(log)
            ),
        )
        .expect("write topology");
        let dead = dir.path().join("dead.jsonl");
        let output = antimony(&[
            "run",
            topology.to_str().expect("utf-8"),
            "--dead-letter",
            dead.to_str().expect("utf-8"),
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(
            std::fs::read_to_string(&dead).expect("dead letters"),
            "",
            "{log}"
        );
        let events = json_lines(&std::fs::read_to_string(&events).expect("events"));
        assert_eq!(events.len(), records, "{log}");
        if log.contains("windows") {
            let talk: Vec<&Value> = events
                .iter()
                .filter(|e| e["client"] == "212.77.192.37")
                .collect();
            assert_eq!(talk.len(), 1);
            assert_eq!(talk[0]["qname"], "ns1.ctc.gov.qa");
            assert_eq!(talk[0]["direction"], "response");
            assert_eq!(talk[0]["qtype"], "A");
            assert_eq!(talk[0]["rcode"], "NOERROR");
        }
    }
    // And through the shipped topology, with its detectors: nothing set aside.
    for log in ["logs/windows_dns_debug.log", "logs/bind9_querylog.log"] {
        let (_, dead, _) = run_topology(&data(log), 1, &[]);
        assert_eq!(dead, "", "{log}");
    }
}

/// The same alerts, byte for byte, on one and two workers. The generated log spans many
/// epochs with stateful detectors deciding at each epoch end: it is run twice on two
/// workers too, since epochs overlap differently from run to run.
#[test]
fn one_and_two_workers_give_the_same_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let generated = dir.path().join("gen.log");
    let gen_output = antimony(&[
        "gen",
        "--format",
        "windows-dns",
        "--records",
        "60000",
        "--data",
        DATA,
    ]);
    assert!(gen_output.status.success(), "{}", stderr(&gen_output));
    std::fs::write(&generated, &gen_output.stdout).expect("write");
    let generated = generated.to_str().expect("utf-8").to_owned();
    for log in [
        data("logs/bind9_querylog.log"),
        format!("{}/assets/demo/dns-demo.log", env!("CARGO_MANIFEST_DIR")),
        generated.clone(),
    ] {
        let (one, _, _) = run_topology(&log, 1, &[]);
        let (two, _, _) = run_topology(&log, 2, &[]);
        assert!(!one.is_empty());
        assert_eq!(one, two, "{log}");
        if log == generated {
            let (again, _, _) = run_topology(&log, 2, &[]);
            assert_eq!(one, again, "{log}, second run");
        }
    }
}

#[test]
fn bad_lines_are_set_aside_with_their_place_and_the_run_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("mixed.log");
    let good = std::fs::read_to_string(data("logs/bind9_querylog.log")).expect("sample");
    let mut lines: Vec<&str> = good.lines().take(20).collect();
    lines.insert(5, "26-Nov-2026 06:46:50.079 queries: info: client @0x7f170841dc98 127.0.0.1#39478 (x): query: bad..name IN A + (127.0.0.1)");
    lines.insert(10, "26-Nov-2026 99:99:99.000 queries: info: client garbage");
    // A truncated file: the last line is cut in the middle.
    let mut text = lines.join("\n");
    text.push_str("\n26-Nov-2026 06:46:50.091 queries: info: client @0x7f170841dc98 127.0.0.1#39");
    std::fs::write(&log, text).expect("write");
    let (alerts, dead, output) = run_topology(log.to_str().expect("utf-8"), 1, &[]);
    let dead = json_lines(&dead);
    let places: Vec<&str> = dead
        .iter()
        .map(|d| d["location"].as_str().expect("location"))
        .collect();
    let name = log.display().to_string();
    assert_eq!(
        places,
        [
            format!("{name}:6"),
            format!("{name}:11"),
            format!("{name}:23")
        ]
    );
    for d in &dead {
        assert_eq!(d["component"], "parse");
        assert!(!d["reason"].as_str().expect("reason").is_empty());
    }
    assert!(
        stderr(&output).contains("3 records set aside"),
        "{}",
        stderr(&output)
    );
    // The 20 good lines went through: their DGA and listed names still raise alerts.
    assert!(!alerts.is_empty());
}

#[test]
fn a_missing_input_or_a_bad_topology_fails_with_a_clear_message() {
    let output = antimony(&["run", TOPOLOGY, "--input", "/nonexistent/dns.log"]);
    assert_eq!(
        output.status.code(),
        Some(4),
        "an input that cannot be read"
    );
    assert!(
        stderr(&output).contains("/nonexistent/dns.log"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("logs"), "{}", stderr(&output));

    let output = antimony(&["run", "/nonexistent/topology.toml"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "a topology that cannot be read"
    );
    assert!(
        stderr(&output).contains("/nonexistent/topology.toml"),
        "{}",
        stderr(&output)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    // The shipped topology, its relative paths made absolute so it runs from elsewhere.
    let shipped = std::fs::read_to_string(TOPOLOGY)
        .expect("topology")
        .replace(
            "\"../assets/",
            &format!("\"{}/assets/", env!("CARGO_MANIFEST_DIR")),
        );
    std::fs::write(
        &bad,
        shipped.replace("type = \"alert_dedup\"", "type = \"alert_dedupe\""),
    )
    .expect("write");
    let output = antimony(&[
        "run",
        bad.to_str().expect("utf-8"),
        "--input",
        &data("logs/bind9_querylog.log"),
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("bad.toml:"), "{message}");
    assert!(
        message.contains("component `dedup` has unknown bolt type `alert_dedupe`"),
        "{message}"
    );

    std::fs::write(
        &bad,
        shipped.replace(
            "\nformat = \"auto\"\n",
            "\nformat = \"auto\"\nformt = \"bind9\"\n",
        ),
    )
    .expect("write");
    let output = antimony(&[
        "run",
        bad.to_str().expect("utf-8"),
        "--input",
        &data("logs/bind9_querylog.log"),
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("component `parse` (dns_parse): unknown field `formt`"),
        "{}",
        stderr(&output)
    );

    let output = antimony(&["run", TOPOLOGY, "--workers", "0"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
}

/// Regression ("Never blind without a word"): a directory or a missing file given as input
/// was named twice on one line ("`/tmp` is a directory: `/tmp` is a directory"), the spout's
/// reason being both in the run error's message and in its chain of causes.
#[test]
fn a_directory_or_missing_input_is_said_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().to_str().expect("utf-8").to_owned();
    let missing = dir.path().join("missing.log");
    let missing = missing.to_str().expect("utf-8").to_owned();
    for (input, reason) in [(&folder, "is a directory"), (&missing, "no such file")] {
        let commands: [&[&str]; 2] = [&["run", TOPOLOGY, "--input", input], &["parse", input]];
        for args in commands {
            let output = antimony(args);
            assert!(!output.status.success(), "{args:?}");
            let message = stderr(&output);
            assert_eq!(message.matches(reason).count(), 1, "{args:?}: {message}");
            assert_eq!(
                message.matches(&format!("`{input}`")).count(),
                1,
                "{args:?}: {message}"
            );
            assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        }
    }
}

/// Regression ("Never blind without a word"): `chunk_bytes = 0` or `max_line_bytes = 0` was
/// accepted, then every line was set aside. Both are refused when the topology is read, at
/// the option's place in the file.
#[test]
fn a_zero_chunk_or_line_size_is_refused_at_its_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    for option in ["chunk_bytes", "max_line_bytes"] {
        let topology = dir.path().join("zero.toml");
        std::fs::write(
            &topology,
            format!(
                "[topology]\nname = \"zero\"\n[spouts.logs]\ntype = \"file\"\npath = \"{}\"\n{option} = 0\n\
                 [bolts.parse]\ntype = \"dns_parse\"\ninputs = [\"logs\"]\n\
                 [bolts.events]\ntype = \"dns_file\"\ninputs = [{{ from = \"parse\", grouping = \"global\" }}]\npath = \"events.jsonl\"\n",
                data("logs/bind9_querylog.log")
            ),
        )
        .expect("write topology");
        let output = antimony(&["run", topology.to_str().expect("utf-8")]);
        assert!(!output.status.success(), "{option} = 0 was accepted");
        assert_ne!(output.status.code(), Some(0));
        let message = stderr(&output);
        let place = format!("{}:6:{}: ", topology.display(), option.len() + 4);
        assert!(message.contains(&place), "{option}: {message}");
        assert!(
            message.contains(&format!("option `{option}`")),
            "{option}: {message}"
        );
        assert!(
            !dir.path().join("events.jsonl").exists(),
            "{option}: the run started"
        );
    }
}

/// Regression ("Never blind without a word"): process substitution (`--input <(...)`, a
/// `/dev/fd/N` path) and named pipes were refused with a false "no such file". They are read
/// like standard input and give the alerts the file gives (which detector, client and
/// domain: a pipe is cut into chunks by timing, so epochs, and the alerts' order and
/// evidence, may differ).
#[test]
fn process_substitution_and_a_fifo_are_read_as_input() {
    let log = data("logs/bind9_querylog.log");
    let (expected, _, _) = run_topology(&log, 1, &[]);
    let expected = alert_keys(&expected);
    assert!(!expected.is_empty());
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = dir.path().join("alerts.jsonl");
    let alerts = alerts.to_str().expect("utf-8");

    // Through bash, which names the pipe `/dev/fd/63` or so.
    let output = Command::new("bash")
        .env("ANTIMONY_API", "off")
        .arg("-c")
        .arg("exec \"$0\" run \"$1\" --input <(cat \"$2\") --alerts \"$3\"")
        .args([env!("CARGO_BIN_EXE_antimony"), TOPOLOGY, &log, alerts])
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        alert_keys(&std::fs::read_to_string(alerts).expect("alerts")),
        expected,
        "<(cat log)"
    );

    // A named pipe, written from a thread (opening it waits for the reader).
    let fifo = dir.path().join("dns.pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let pipe = fifo.clone();
    let text = std::fs::read(&log).expect("log");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(&pipe)
            .expect("open the FIFO");
        out.write_all(&text).expect("write");
    });
    let output = antimony(&[
        "run",
        TOPOLOGY,
        "--input",
        fifo.to_str().expect("utf-8"),
        "--alerts",
        alerts,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    writer.join().expect("the writer");
    assert_eq!(
        alert_keys(&std::fs::read_to_string(alerts).expect("alerts")),
        expected,
        "a FIFO"
    );
}

/// Each alert's detector, client and domain.
fn alert_keys(alerts: &str) -> std::collections::BTreeSet<(String, String, String)> {
    json_lines(alerts)
        .iter()
        .map(|a| {
            (
                a["detector"].to_string(),
                a["client"].to_string(),
                a["domain"].to_string(),
            )
        })
        .collect()
}

/// `data` gzip-compressed, as logrotate leaves a rotated log.
fn gzip(data: &[u8]) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut out = Vec::new();
        async_compression::tokio::bufread::GzipEncoder::new(data)
            .read_to_end(&mut out)
            .await
            .expect("compresses");
        out
    })
}

/// Regression ("Never blind without a word"): a rotated, gzip-compressed log was taken for
/// binary input in no known format and gave no alert. It gives the plain log's alerts, byte
/// for byte (a file is cut by its content, compressed or not), and nothing is set aside.
#[test]
fn a_gzip_log_gives_the_alerts_of_the_plain_log() {
    let log = data("logs/bind9_querylog.log");
    let (expected, dead, _) = run_topology(&log, 1, &[]);
    assert!(!expected.is_empty());
    assert_eq!(dead, "");
    let dir = tempfile::tempdir().expect("tempdir");
    let compressed = dir.path().join("bind9_querylog.log.gz");
    std::fs::write(&compressed, gzip(&std::fs::read(&log).expect("log"))).expect("write");
    let (alerts, dead, _) = run_topology(compressed.to_str().expect("utf-8"), 1, &[]);
    assert_eq!(dead, "");
    assert_eq!(alerts, expected);
}

#[test]
fn check_explains_each_name() {
    let output = antimony(&[
        "check",
        "update-java.net",
        "google.com",
        "afadsfasdfsafwerwqerqqiye.cn",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("update-java.net: ALERT"), "{text}");
    assert!(text.contains("google.com: ok"), "{text}");
    assert!(
        text.contains("afadsfasdfsafwerwqerqqiye.cn: ALERT"),
        "{text}"
    );

    let output = antimony(&[
        "check",
        "--json",
        "--no-builtin-lists",
        "adobe-update.net",
        "wikipedia.org",
    ]);
    let verdicts = json_lines(&stdout(&output));
    assert_eq!(verdicts[0]["verdict"], "alert");
    let fired: Vec<&str> = verdicts[0]["detectors"]
        .as_array()
        .expect("detectors")
        .iter()
        .filter(|d| d["fired"] == true)
        .map(|d| d["detector"].as_str().expect("name"))
        .collect();
    assert_eq!(fired, ["keyword"]);
    assert_eq!(verdicts[1]["verdict"], "ok");

    let output = antimony(&["check", "bad name.com"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("not a domain name"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_explains_each_command_with_an_example() {
    for command in ["demo", "run", "check", "components"] {
        let output = antimony(&[command, "--help"]);
        assert!(output.status.success());
        assert!(
            stdout(&output).contains("Example"),
            "{command} --help has no example"
        );
    }
}

#[test]
fn two_processes_give_the_same_alerts_as_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = data("logs/bind9_querylog.log");
    let (single, _, _) = run_topology(&log, 1, &[]);
    // Two free ports: bind to port 0, note the port, release it.
    let ports: Vec<u16> = (0..2)
        .map(|_| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().expect("address").port()
        })
        .collect();
    let cluster = format!("127.0.0.1:{},127.0.0.1:{}", ports[0], ports[1]);
    let alerts = dir.path().join("alerts.jsonl");
    let spawn = |process: &str| {
        Command::new(env!("CARGO_BIN_EXE_antimony"))
            // Tests run side by side: none serves the API on the default port.
            .env("ANTIMONY_API", "off")
            .args([
                "run",
                TOPOLOGY,
                "--input",
                &log,
                "--alerts",
                alerts.to_str().expect("utf-8"),
            ])
            .args([
                "--workers",
                "1",
                "--cluster",
                &cluster,
                "--process",
                process,
            ])
            .output()
    };
    let (zero, one) = std::thread::scope(|s| {
        let zero = s.spawn(|| spawn("0"));
        let one = s.spawn(|| spawn("1"));
        (zero.join().expect("thread"), one.join().expect("thread"))
    });
    let (zero, one) = (zero.expect("process 0 runs"), one.expect("process 1 runs"));
    assert!(zero.status.success(), "process 0: {}", stderr(&zero));
    assert!(one.status.success(), "process 1: {}", stderr(&one));
    assert!(
        stderr(&zero).contains("process 0 (of 2"),
        "{}",
        stderr(&zero)
    );
    // Process 1 parsed part of the log: chunks crossed from process 0 to process 1.
    let parsed_by_one: u64 = stderr(&one)
        .lines()
        .find(|l| l.trim_start().starts_with("parse "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .expect("a parse line in process 1's summary");
    assert!(parsed_by_one > 0, "{}", stderr(&one));
    assert_eq!(std::fs::read_to_string(&alerts).expect("alerts"), single);
}

#[test]
fn every_shipped_topology_is_valid() {
    let dir = format!("{}/topologies", env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("topologies") {
        let path = entry.expect("entry").path();
        let decl = antimony_engine::TopologyDecl::from_path(&path).expect("parses");
        if let Err(e) = decl.resolve(&antimony_components::registry()) {
            panic!("{}: {e}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 2);
}

/// A Windows "details" log spans records over lines: cut into many small chunks and read by
/// two workers, its chunks still reach one decoder in order, and every record keeps its
/// answers (the last one too, held until the file ends).
#[test]
fn a_multi_line_format_is_decoded_in_order_on_two_workers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = data("logs/windows_dns_debug_details.log");
    let expected = Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args(["parse", &log])
        .output()
        .expect("parse runs");
    let expected = json_lines(&stdout(&expected));
    assert!(expected.iter().any(|e| e.get("answers").is_some()));
    let topology = dir.path().join("details.toml");
    std::fs::write(
        &topology,
        format!(
            "[topology]\nname = \"details\"\n[spouts.logs]\ntype = \"file\"\npath = \"{log}\"\nchunk_bytes = 200\n\
             [bolts.parse]\ntype = \"dns_parse\"\ninputs = [\"logs\"]\n\
             [bolts.events]\ntype = \"dns_file\"\ninputs = [{{ from = \"parse\", grouping = \"global\" }}]\npath = \"events.jsonl\"\n"
        ),
    )
    .expect("topology");
    let output = antimony(&["run", topology.to_str().expect("utf-8"), "--workers", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("records set aside"),
        "{}",
        stderr(&output)
    );
    let mut events =
        json_lines(&std::fs::read_to_string(dir.path().join("events.jsonl")).expect("events"));
    let mut expected = expected;
    let key = |e: &Value| e.to_string();
    events.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(events, expected);
}

/// Protected brands set in the topology: a lookalike alerts, the brand's own name does not.
#[test]
fn brands_in_the_topology_catch_lookalikes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topology = dir.path().join("brands.toml");
    std::fs::write(
        &topology,
        r#"[topology]
name = "brands"

[spouts.logs]
type = "file"
path = "in.jsonl"

[bolts.parse]
type = "dns_parse"
inputs = ["logs"]

[bolts.detect]
type = "dns_detect"
inputs = ["parse"]
lookalike = { brands = ["paypal.com paypal.me"] }

[bolts.alerts]
type = "alert_file"
inputs = [{ from = "detect", grouping = "global" }]
path = "alerts.jsonl"
"#,
    )
    .expect("topology");
    std::fs::write(
        dir.path().join("in.jsonl"),
        concat!(
            r#"{"ts":"2026-11-26T10:00:00Z","client":"10.0.0.9","qname":"paypa1.com","qtype":"A","flags":0}"#,
            "\n",
            r#"{"ts":"2026-11-26T10:00:01Z","client":"10.0.0.9","qname":"www.paypal.com","qtype":"A","flags":0}"#,
            "\n",
        ),
    )
    .expect("input");
    let output = antimony(&["run", topology.to_str().expect("utf-8"), "-q"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let alerts =
        json_lines(&std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("alerts"));
    let lookalikes: Vec<_> = alerts
        .iter()
        .filter(|a| a["detector"] == "lookalike")
        .map(|a| a["domain"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(lookalikes, ["paypa1.com"], "{alerts:?}");
}

/// One Latin-1 byte on line 4 of a BIND log, or a NUL on line 21, made the whole file
/// "binary input in no known format": 0 events and 0 alerts instead of 821 and (then) 355.
/// Now only the touched line is set aside, with its number, and the alerts are nearly those
/// of the whole file (320 in `tests/golden` today: the bound follows it).
#[test]
fn one_bad_byte_near_the_top_sets_aside_one_line_not_the_file() {
    let log = std::fs::read(data("logs/bind9_querylog.log")).expect("shared data");
    for (line, bad) in [(4usize, &b"\xe9t\xe9"[..]), (21, b"\0")] {
        let mut lines: Vec<Vec<u8>> = log.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        lines[line - 1].splice(10..10, bad.iter().copied());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("query.log");
        std::fs::write(&path, lines.join(&b'\n')).expect("write");
        let (alerts, dead, _) = run_topology(path.to_str().expect("utf-8"), 1, &[]);
        let dead = json_lines(&dead);
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert!(
            dead[0]["location"]
                .as_str()
                .is_some_and(|l| l.ends_with(&format!("query.log:{line}"))),
            "{dead:?}"
        );
        assert!(
            alerts.lines().count() >= 310,
            "{} alerts",
            alerts.lines().count()
        );
    }
}

/// `--alerts /dev/full` set 1,749 of 1,752 alerts aside, lost 3 without a word and exited
/// 0. Now the failing output stops the run with exit code 5 and a message, and every alert
/// is accounted for: written, set aside, or counted as lost with the writer.
#[test]
fn a_full_disk_stops_the_run_with_exit_code_5_and_loses_nothing_silently() {
    let output = antimony(&[
        "run",
        TOPOLOGY,
        "--input",
        &data("logs/bind9_querylog.log"),
        "--alerts",
        "/dev/full",
    ]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(5), "{err}");
    assert!(err.contains("could not go on"), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    // The sink's line of the summary: in = written + failed.
    let sink = err
        .lines()
        .skip_while(|l| !l.contains("alert_file"))
        .nth(1)
        .expect("the sink's counters");
    let received: u64 = err
        .lines()
        .find(|l| l.contains("alert_file"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .expect("records in");
    assert!(received > 300, "{err}");
    assert!(
        sink.contains(&format!("lines written 0, lines failed {received}")),
        "{sink}"
    );
}

/// `| head -1` made the run read its whole input anyway and exit 0. Now the closed pipe
/// ends the run: it stops reading (far short of the input's end) and exits with code 5.
#[test]
fn a_closed_standard_output_ends_the_run_before_the_input_is_read() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("big.log");
    let generated = antimony(&[
        "gen",
        "--format",
        "windows-dns",
        "--records",
        "400000",
        "--data",
        DATA,
        "-q",
    ]);
    assert!(generated.status.success());
    std::fs::write(&log, &generated.stdout).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args([
            "run",
            TOPOLOGY,
            "--input",
            log.to_str().expect("utf-8"),
            "--alerts",
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("an alert");
    assert!(first.starts_with("{\"id\""), "{first}");
    // The reader goes away, as `head -1` does.
    let output = child.wait_with_output().expect("ends");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(5), "{err}");
    assert!(err.contains("Broken pipe"), "{err}");
    let counter = |name: &str| -> u64 {
        err.split(&format!("{name} "))
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {err}"))
    };
    let (read, expected) = (counter("bytes read"), counter("bytes expected"));
    assert!(read < expected / 2, "read {read} of {expected} bytes");
}

/// A run whose every record was rejected exited 0, as if all was well.
#[test]
fn input_that_is_entirely_rejected_exits_with_code_6() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("garbage.log");
    std::fs::write(&log, "not a DNS log\nnor is this\n").expect("write");
    let output = antimony(&["run", TOPOLOGY, "--input", log.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert!(stderr(&output).contains("every record read was set aside"));
}

/// Log lines written to a file carried ANSI colour codes meant for a terminal.
#[test]
fn logs_redirected_to_a_file_carry_no_colour_codes() {
    let output = Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args([
            "run",
            TOPOLOGY,
            "--input",
            &data("logs/bind9_querylog.log"),
            "--alerts",
            "/dev/null",
        ])
        .env("ANTIMONY_LOG", "info")
        .output()
        .expect("runs");
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("INFO"), "info logs on standard error: {err}");
    assert!(!err.contains('\u{1b}'), "an escape code in: {err:?}");
}
