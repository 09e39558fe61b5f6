//! The shipped pipeline with two network outputs at once, fed from the same alerts: a
//! webhook and syslog over TCP, beside the alerts file. Each receiver gets every alert of
//! the file once, in order per client.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "../crates/antimony-io/tests/receivers/mod.rs"]
mod receivers;

use receivers::http::{HttpReceiver, Request};
use receivers::syslog::{parse_5424, tcp};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn topology(dir: &Path, webhook: &str, syslog: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[topology]
name = "outputs"

[spouts.logs]
type = "file"
path = "{ROOT}/assets/demo/dns-demo.log"

[bolts.parse]
type = "dns_parse"
inputs = [{{ from = "logs", grouping = "shuffle" }}]

[bolts.detect]
type = "dns_detect"
inputs = [{{ from = "parse", grouping = "local" }}]
blocklists = [{{ name = "maltrail", path = "{ROOT}/assets/threatintel/maltrail-sample.txt" }}]

[bolts.clients]
type = "dns_stateful"
inputs = [{{ from = "parse", grouping = "fields", fields = ["client"] }}]
detectors = ["nxdomain_burst"]

[bolts.dedup]
type = "alert_dedup"
inputs = [
  {{ from = "detect", grouping = "fields", fields = ["detector", "client", "domain"] }},
  {{ from = "clients", grouping = "fields", fields = ["detector", "client", "domain"] }},
]

[bolts.file]
type = "alert_file"
inputs = [{{ from = "dedup", grouping = "global" }}]
path = "alerts.jsonl"

[bolts.hook]
type = "alert_webhook"
inputs = [{{ from = "dedup", grouping = "global" }}]
url = "{webhook}"
headers = {{ authorization = "Bearer t0ken" }}
delivery = {{ backoff_initial_ms = 5, backoff_max_ms = 50 }}

[bolts.siem]
type = "alert_syslog"
inputs = [{{ from = "dedup", grouping = "global" }}]
url = "{syslog}"
hostname = "sensor-1"
delivery = {{ batch_ms = 10 }}
"#
    );
    let path = dir.join("outputs.toml");
    std::fs::write(&path, text).expect("topology");
    path
}

#[test]
fn one_run_feeds_a_webhook_and_syslog_from_the_same_alerts() {
    // The webhook answers 503 to every third request: the run retries them.
    let hooked: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = Arc::clone(&hooked);
    let requests = Arc::new(Mutex::new(0u32));
    let receiver = HttpReceiver::start(Arc::new(move |request: &Request| {
        let mut n = requests.lock().expect("count");
        *n += 1;
        if *n % 3 == 0 {
            return (503, vec![], String::new());
        }
        assert_eq!(
            request.headers.get("authorization").map(String::as_str),
            Some("Bearer t0ken")
        );
        let alert: Value = serde_json::from_str(&request.body).expect("JSON");
        assert_eq!(
            request.headers.get("idempotency-key").map(String::as_str),
            alert["id"].as_str()
        );
        log.lock().expect("log").push(alert);
        (200, vec![], String::new())
    }));
    let syslog = tcp(false);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = topology(
        dir.path(),
        &format!("{}/alerts", receiver.url()),
        &format!("tcp://{}", syslog.addr),
    );
    let output = Command::new(env!("CARGO_BIN_EXE_antimony"))
        .env("ANTIMONY_API", "off")
        .args(["run", path.to_str().expect("utf-8"), "--workers", "2"])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    let file: Vec<Value> = std::fs::read_to_string(dir.path().join("alerts.jsonl"))
        .expect("alerts file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(file.len() >= 5, "the demo raises alerts: {}", file.len());

    // The webhook: each alert once, the same as the file's lines, in the file's order per client.
    let hooked = hooked.lock().expect("log");
    assert_eq!(hooked.len(), file.len(), "one request per alert");
    let mut by_client: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for alert in hooked.iter() {
        by_client
            .entry(alert["client"].to_string())
            .or_default()
            .push(&alert["id"]);
    }
    let mut expected: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for alert in &file {
        expected
            .entry(alert["client"].to_string())
            .or_default()
            .push(&alert["id"]);
    }
    assert_eq!(by_client, expected);

    // Syslog: every alert of the file, in RFC 5424 with its id in structured data.
    let mut ids = Vec::new();
    for _ in 0..file.len() {
        let text = syslog
            .messages
            .recv_timeout(Duration::from_secs(10))
            .expect("a syslog message");
        let message = parse_5424(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(
            (message.hostname.as_str(), message.msg_id.as_str()),
            ("sensor-1", "alert")
        );
        let body: Value = serde_json::from_str(&message.msg).expect("a JSON body");
        assert_eq!(
            message.structured[0].1[0].1,
            body["id"].as_str().expect("id")
        );
        ids.push(body["id"].clone());
    }
    let file_ids: Vec<Value> = file.iter().map(|a| a["id"].clone()).collect();
    assert_eq!(ids, file_ids, "syslog gets the file's alerts, in its order");
    // The 503s were retried, and the summary says how often.
    let counts = stderr
        .lines()
        .skip_while(|l| !l.contains("alert_webhook"))
        .nth(1)
        .expect("the webhook's counts in the summary");
    let retries: u64 = counts
        .split(", ")
        .find_map(|c| c.trim().strip_prefix("retries "))
        .and_then(|n| n.parse().ok())
        .expect("a retry count");
    assert!(retries >= 1, "{counts}");
}
