//! Stateful detection end to end: the lab traffic's tunnel and NXDOMAIN burst through the
//! shipped topology, and newly observed domains remembered across runs.

use std::process::Command;

use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
const TOPOLOGY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/dns-threats.toml");

fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args(args)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn alerts(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("alerts")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

/// The lab capture holds a base32 TXT tunnel under t.tunnel.corp.qa and DGA lookups that
/// come back NXDOMAIN from one client: the per-domain and per-client detectors see them, on
/// one worker and two alike.
#[test]
fn the_lab_tunnel_and_nxdomain_burst_are_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut per_workers = Vec::new();
    for workers in ["1", "2"] {
        let out = dir.path().join(format!("alerts-{workers}.jsonl"));
        run(&[
            "run",
            TOPOLOGY,
            "--input",
            &format!("{DATA}/pcaps/lab/lab_dns.pcap"),
            "--alerts",
            out.to_str().expect("utf-8"),
            "--workers",
            workers,
            "--quiet",
        ]);
        let all = alerts(&out);
        let tunnel: Vec<&Value> = all.iter().filter(|a| a["detector"] == "tunnel").collect();
        assert_eq!(tunnel.len(), 1, "{tunnel:?}");
        assert_eq!(tunnel[0]["registered_domain"], "corp.qa");
        assert!(
            tunnel[0]["reason"]
                .as_str()
                .expect("reason")
                .contains("DNS tunnel")
        );
        let bursts: Vec<&Value> = all
            .iter()
            .filter(|a| a["detector"] == "nxdomain_burst")
            .collect();
        assert_eq!(bursts.len(), 1, "{bursts:?}");
        per_workers.push(std::fs::read_to_string(&out).expect("alerts"));
    }
    assert_eq!(per_workers[0], per_workers[1]);
}

/// A domain is new once: the first run learns the log's domains (within the warm-up), the
/// second run, a day later and on another number of workers, alerts only for the domain it
/// has never seen.
#[test]
fn newly_observed_domains_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topology = dir.path().join("nod.toml");
    std::fs::write(
        &topology,
        r#"[topology]
name = "nod"
[spouts.logs]
type = "file"
path = "day1.log"
[bolts.parse]
type = "dns_parse"
inputs = ["logs"]
[bolts.domains]
type = "dns_stateful"
inputs = [{ from = "parse", grouping = "fields", fields = ["registered_domain"] }]
detectors = ["new_domain"]
state_path = "state/domains"
new_domain = { warmup_secs = 3600 }
[bolts.alerts]
type = "alert_file"
inputs = [{ from = "domains", grouping = "global" }]
path = "alerts.jsonl"
"#,
    )
    .expect("topology");
    std::fs::create_dir(dir.path().join("state")).expect("state dir");
    let day1 = std::fs::read_to_string(format!(
        "{}/assets/demo/dns-demo.log",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("demo log");
    std::fs::write(dir.path().join("day1.log"), &day1).expect("day 1");
    let mut day2 = day1.replace("8/12/2017", "8/13/2017");
    day2.push_str("8/13/2017 9:40:00 AM 0490 PACKET  000000216EFFD000 UDP Rcv 10.20.0.6       7777   Q [0001   D   NOERROR] A      (3)www(9)brand-new(7)example(0)\n");
    std::fs::write(dir.path().join("day2.log"), &day2).expect("day 2");
    let t = topology.to_str().expect("utf-8");

    run(&["run", t, "--workers", "1", "--quiet"]);
    assert!(
        alerts(&dir.path().join("alerts.jsonl")).is_empty(),
        "nothing is new during the warm-up"
    );
    assert!(dir.path().join("state/domains.w0").exists());

    run(&[
        "run",
        t,
        "--workers",
        "2",
        "--quiet",
        "--input",
        dir.path().join("day2.log").to_str().expect("utf-8"),
    ]);
    let new = alerts(&dir.path().join("alerts.jsonl"));
    let domains: Vec<&str> = new
        .iter()
        .map(|a| a["registered_domain"].as_str().expect("domain"))
        .collect();
    assert_eq!(domains, ["brand-new.example"]);
    assert_eq!(new[0]["detector"], "new_domain");
}
