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
use receivers::syslog::{parse_5424, parse_cef, parse_leef, tcp, udp};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn topology(dir: &Path, webhook: &str, bulk: &str, syslog: &str, leef: &str) -> std::path::PathBuf {
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

[bolts.arcsight]
type = "alert_syslog"
inputs = [{{ from = "dedup", grouping = "global" }}]
url = "{syslog}"
hostname = "sensor-1"
format = "cef"
delivery = {{ batch_ms = 10 }}

[bolts.elastic]
type = "alert_elasticsearch"
inputs = [{{ from = "dedup", grouping = "global" }}]
url = "{bulk}"
index = "antimony-%Y.%m.%d"
api_key = "a2V5"
delivery = {{ batch_ms = 10 }}

[bolts.qradar]
type = "alert_syslog"
inputs = [{{ from = "dedup", grouping = "global" }}]
url = "{leef}"
format = "leef"
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
        if n.is_multiple_of(3) {
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
    // The bulk endpoint: ECS documents, each created with the alert's id.
    let indexed: Arc<Mutex<Vec<(String, String, Value)>>> = Arc::default();
    let index_log = Arc::clone(&indexed);
    let elastic = HttpReceiver::start(Arc::new(move |request: &Request| {
        assert_eq!(request.path, "/_bulk");
        assert_eq!(
            request.headers.get("authorization").map(String::as_str),
            Some("ApiKey a2V5")
        );
        let lines: Vec<&str> = request.body.lines().collect();
        let mut items = Vec::new();
        for pair in lines.chunks(2) {
            let action: Value = serde_json::from_str(pair[0]).expect("an action");
            let document: Value = serde_json::from_str(pair[1]).expect("a document");
            let index = action["create"]["_index"]
                .as_str()
                .expect("_index")
                .to_owned();
            let id = action["create"]["_id"].as_str().expect("_id").to_owned();
            index_log.lock().expect("log").push((index, id, document));
            items.push(serde_json::json!({"create": {"status": 201}}));
        }
        (
            200,
            vec![],
            serde_json::json!({"errors": false, "items": items}).to_string(),
        )
    }));
    let syslog = tcp(false);
    let qradar = udp();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = topology(
        dir.path(),
        &format!("{}/alerts", receiver.url()),
        &format!("{}/", elastic.url()),
        &format!("tcp://{}", syslog.addr),
        &format!("udp://{}", qradar.addr),
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

    // Syslog: every alert of the file, in RFC 5424 with its id in structured data, the
    // body in CEF over TCP and in LEEF over UDP.
    let file_ids: Vec<&str> = file.iter().map(|a| a["id"].as_str().expect("id")).collect();
    let mut cef_ids = Vec::new();
    let mut leef_ids = Vec::new();
    for alert in &file {
        let text = syslog
            .messages
            .recv_timeout(Duration::from_secs(10))
            .expect("a syslog message");
        let message = parse_5424(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(
            (message.hostname.as_str(), message.msg_id.as_str()),
            ("sensor-1", "alert")
        );
        let (header, extension) =
            parse_cef(&message.msg).unwrap_or_else(|e| panic!("{e}: {}", message.msg));
        assert_eq!(
            &header[..3],
            ["Antimony", "antimony", env!("CARGO_PKG_VERSION")]
        );
        let field = |key: &str| {
            extension
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let id = message.structured[0].1[0].1.clone();
        assert_eq!(field("externalId"), Some(id.as_str()));
        assert_eq!(field("dhost"), alert["domain"].as_str());
        assert_eq!(field("src"), alert["client"].as_str());
        cef_ids.push(id);

        let text = qradar
            .messages
            .recv_timeout(Duration::from_secs(10))
            .expect("a datagram");
        let message = parse_5424(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let (header, attributes) =
            parse_leef(&message.msg).unwrap_or_else(|e| panic!("{e}: {}", message.msg));
        assert_eq!(header[3], alert["detector"].as_str().expect("detector"));
        let attribute = |key: &str| {
            attributes
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let id = message.structured[0].1[0].1.clone();
        assert_eq!(attribute("alertId"), Some(id.as_str()));
        assert_eq!(attribute("src"), alert["client"].as_str());
        leef_ids.push(id);
    }
    assert_eq!(
        cef_ids, file_ids,
        "syslog gets the file's alerts, in its order"
    );
    assert_eq!(leef_ids, file_ids);
    // Elasticsearch: each alert created once under its id, as ECS, in a dated index.
    let indexed = indexed.lock().expect("log");
    assert_eq!(indexed.len(), file.len());
    for ((index, id, document), alert) in indexed.iter().zip(&file) {
        assert_eq!(Some(id.as_str()), alert["id"].as_str());
        assert_eq!(document["event"]["id"].as_str(), Some(id.as_str()));
        assert_eq!(document["event"]["kind"], "alert");
        assert_eq!(document["dns"]["question"]["name"], alert["domain"]);
        assert_eq!(document["rule"]["name"], alert["detector"]);
        let day = &alert["ts"].as_str().expect("ts")[..10];
        assert_eq!(index, &format!("antimony-{}", day.replace('-', ".")));
    }

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

#[test]
fn an_output_option_that_cannot_work_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (bolt, wrong) in [
        (
            "type = \"alert_syslog\"\nurl = \"udp://127.0.0.1:5514\"\nformat = \"xml\"",
            "option `format`: unknown alert format `xml`",
        ),
        (
            "type = \"alert_elasticsearch\"\ndelivery = { on_full = \"spill\" }",
            "option `delivery`: `on_full = \"spill\"` needs `spill_path`",
        ),
        (
            "type = \"alert_webhook\"\nurl = \"http://127.0.0.1:9/\"\nmin_severity = \"urgent\"",
            "option `min_severity`",
        ),
        (
            "type = \"alert_nats\"\nsubject = \"alerts.dns\"\nretries = 3",
            "option `retries`: is gone",
        ),
    ] {
        let text = format!(
            "[topology]\nname = \"t\"\n[spouts.logs]\ntype = \"file\"\npath = \"{ROOT}/assets/demo/dns-demo.log\"\n\
             [bolts.parse]\ntype = \"dns_parse\"\ninputs = [{{ from = \"logs\", grouping = \"shuffle\" }}]\n\
             [bolts.out]\ninputs = [{{ from = \"parse\", grouping = \"global\" }}]\n{bolt}\n"
        );
        let path = dir.path().join("t.toml");
        std::fs::write(&path, text).expect("topology");
        let output = Command::new(env!("CARGO_BIN_EXE_antimony"))
            .env("ANTIMONY_API", "off")
            .args(["run", path.to_str().expect("utf-8")])
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("t.toml:1") && stderr.contains(wrong),
            "{wrong}: {stderr}"
        );
    }
}

/// The README's network outputs example, added to the shipped topology, is a valid topology.
#[test]
fn the_readmes_network_outputs_example_is_a_valid_topology() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README");
    let section = &readme[readme.find("## Network outputs").expect("the section")..];
    let start = section.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").expect("its end")];
    let shipped =
        std::fs::read_to_string(format!("{ROOT}/topologies/dns-threats.toml")).expect("shipped");
    let text =
        format!("{shipped}\n{example}").replace("\"../assets/", &format!("\"{ROOT}/assets/"));
    let decl = antimony_engine::TopologyDecl::parse(&text, None).expect("parses");
    let topology = decl.resolve(&antimony_components::registry());
    assert!(topology.is_ok(), "{:?}", topology.err());
}

/// The README's worked example: the shipped `topologies/dns-outputs.toml` (the threat
/// topology writing a file, syslog CEF and the store at once), run as a user would after
/// copying it, gives the same alerts in all three, and the store answers for them.
#[test]
fn the_shipped_outputs_topology_writes_a_file_syslog_cef_and_the_store_at_once() {
    let collector = udp();
    let dir = tempfile::tempdir().expect("tempdir");
    let shipped = std::fs::read_to_string(format!("{ROOT}/topologies/dns-outputs.toml"))
        .expect("the shipped topology");
    assert!(shipped.contains("url = \"udp://127.0.0.1:5514\""));
    let text = shipped
        .replace("\"../assets/", &format!("\"{ROOT}/assets/"))
        .replace("udp://127.0.0.1:5514", &format!("udp://{}", collector.addr));
    let path = dir.path().join("dns-outputs.toml");
    std::fs::write(&path, text).expect("topology");
    let output = Command::new(env!("CARGO_BIN_EXE_antimony"))
        .env("ANTIMONY_API", "off")
        .args(["run", path.to_str().expect("utf-8")])
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let file = std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("alerts file");
    let file: Vec<Value> = file
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(file.len() >= 5, "the demo raises alerts: {}", file.len());

    // The SIEM: one RFC 5424 message per alert, in the file's order, its body CEF.
    for alert in &file {
        let text = collector
            .messages
            .recv_timeout(Duration::from_secs(10))
            .expect("a datagram per alert");
        let message = parse_5424(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let (_, extension) =
            parse_cef(&message.msg).unwrap_or_else(|e| panic!("{e}: {}", message.msg));
        let field = |key: &str| {
            extension
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(field("externalId"), alert["id"].as_str());
        assert_eq!(field("dhost"), alert["domain"].as_str());
        assert_eq!(field("msg"), alert["reason"].as_str());
    }
    assert!(
        collector
            .messages
            .recv_timeout(Duration::from_millis(200))
            .is_err(),
        "no message beyond the alerts"
    );

    // The store: exactly the file's lines, as `antimony alerts --store` prints them.
    let db = dir.path().join("alerts.db");
    let output = Command::new(env!("CARGO_BIN_EXE_antimony"))
        .args(["alerts", "--store", db.to_str().expect("utf-8"), "--json"])
        .args(["--limit", "100000"])
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let mut stored: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let mut expected = file.clone();
    let by_id = |a: &Value, b: &Value| a["id"].as_str().cmp(&b["id"].as_str());
    stored.sort_by(by_id);
    expected.sort_by(by_id);
    assert_eq!(stored, expected);
}
