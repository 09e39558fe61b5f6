//! `antimony demo`: the shipped topology over the bundled sample log, no configuration.

use std::collections::BTreeMap;

use antimony_engine::TopologyDecl;
use anyhow::Context as _;

use super::run::{Overrides, execute, summary};
use crate::assets::DEMO_FILES;

pub(super) fn demo(workers: usize) -> anyhow::Result<()> {
    // Lay the bundled files out as in the repository, so the shipped topology runs unchanged.
    let dir = tempfile::tempdir().context("cannot create a temporary directory for the demo")?;
    for (path, text) in DEMO_FILES {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let alerts_path = dir.path().join("alerts.jsonl");
    let decl = TopologyDecl::from_path(&dir.path().join("topologies/dns-threats.toml"))?;
    let overrides = Overrides {
        workers: Some(workers),
        alerts: Some(alerts_path.clone()),
        ..Overrides::default()
    };
    let outcome = execute(decl, &overrides)?;
    let alerts = std::fs::read_to_string(&alerts_path).context("the demo wrote no alerts")?;
    print!("{alerts}");

    // A short human summary: what was flagged, and why.
    let mut text = String::from(
        "\nantimony demo: the bundled Windows DNS debug log through topologies/dns-threats.toml\n\n",
    );
    let mut by_detector: BTreeMap<String, usize> = BTreeMap::new();
    for line in alerts.lines() {
        let alert: serde_json::Value = serde_json::from_str(line)?;
        let detector = alert["detector"].as_str().unwrap_or("?").to_owned();
        *by_detector.entry(detector.clone()).or_default() += 1;
        text.push_str(&format!(
            "  {:<8} {:<13} {:<32} {}\n",
            alert["severity"].as_str().unwrap_or("?"),
            detector,
            alert["domain"].as_str().unwrap_or("?"),
            alert["client"].as_str().unwrap_or("-"),
        ));
    }
    let counts: Vec<String> = by_detector
        .iter()
        .map(|(d, n)| format!("{n} {d}"))
        .collect();
    text.push_str(&format!(
        "\n  {} alerts ({}); JSON lines on standard output\n\n",
        alerts.lines().count(),
        counts.join(", ")
    ));
    text.push_str(&summary(&outcome));
    text.push_str("\nNext: antimony run topologies/dns-threats.toml --input YOUR.log\n      antimony check some-domain.example\n");
    eprint!("{text}");
    Ok(())
}
