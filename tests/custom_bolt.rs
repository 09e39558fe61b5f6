//! The custom-bolt example runs, and counts per client on any number of workers.

#[path = "../examples/custom_bolt.rs"]
mod custom_bolt;

use std::path::Path;

#[test]
fn a_custom_keyed_bolt_wired_with_the_builder_raises_its_alert() {
    let dir = tempfile::tempdir().expect("tempdir");
    for workers in [1, 2] {
        let alerts = dir.path().join(format!("alerts-{workers}.jsonl"));
        let report = custom_bolt::run(
            Path::new("assets/demo/dns-demo.log"),
            alerts.clone(),
            3,
            workers,
        )
        .expect("runs");
        assert_eq!(report.dead_letters(), 0);
        let text = std::fs::read_to_string(&alerts).expect("alerts written");
        let alerts: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        // The demo log's only NXDOMAIN answers: Dyre's two DGA names, asked twice by 10.20.0.17.
        assert_eq!(alerts.len(), 1, "{workers} workers: {text}");
        assert_eq!(alerts[0]["client"], "10.20.0.17");
        assert_eq!(alerts[0]["detector"], "nxdomain_burst");
        assert_eq!(alerts[0]["evidence"]["nxdomain"], 4);
    }
}
