//! A custom bolt written in Rust, wired with the built-in components by the builder.
//!
//! `NxdomainBurst` counts NXDOMAIN answers per client and raises one alert for each client
//! that got more than a threshold of them: the kind of corroboration over time that one-name
//! classifiers cannot do. A fields grouping on `client` sends each client's events to one
//! worker, so the counts are right on any number of workers.
//!
//! ```text
//! cargo run --example custom_bolt -- assets/demo/dns-demo.log
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use antimony_components::Tuple;
use antimony_components::parse::ParseConfig;
use antimony_components::record::{ALERTS, DNS_EVENTS};
use antimony_components::registry::{dns_parse_bolt, file_spout, json_lines_sink_bolt};
use antimony_core::{Bolt, Emitter};
use antimony_detect::{Alert, Severity};
use antimony_engine::{BoltSpec, RunConfig, RunReport, TopologyBuilder};
use antimony_io::sources::file::FileConfig;

/// Counts NXDOMAIN responses per client; alerts at the end of the run.
pub struct NxdomainBurst {
    threshold: u64,
    counts: BTreeMap<Option<IpAddr>, (u64, i64)>,
}

impl Bolt<Tuple> for NxdomainBurst {
    fn process(&mut self, record: &mut Tuple, _out: &mut Emitter<'_, Tuple>) {
        let Tuple::Dns(event) = record else { return };
        if event.is_response() && event.rcode == Some(3) {
            let entry = self.counts.entry(event.client).or_insert((0, event.ts));
            entry.0 += 1;
            entry.1 = entry.1.min(event.ts);
        }
    }

    fn on_close(&mut self, out: &mut Emitter<'_, Tuple>) {
        for (client, (count, first)) in &self.counts {
            if *count > self.threshold {
                out.emit(Tuple::Alert(Box::new(Alert {
                    // Its own id: this bolt is its own deduplicator (one alert per client).
                    id: Some(Alert::stable_id(
                        "nxdomain_burst",
                        *client,
                        "",
                        *first,
                        i64::MAX,
                    )),
                    ts: *first,
                    detector: "nxdomain_burst".into(),
                    severity: Severity::Medium,
                    score: 60,
                    domain: String::new(),
                    registered_domain: String::new(),
                    client: *client,
                    reason: format!("{count} NXDOMAIN answers, more than {}", self.threshold),
                    evidence: vec![("nxdomain".to_owned(), (*count as i64).into())],
                })));
            }
        }
    }
}

/// Builds and runs `file -> dns_parse -> NxdomainBurst -> alerts` over `input`.
pub fn run(
    input: &Path,
    alerts: PathBuf,
    threshold: u64,
    workers: usize,
) -> anyhow::Result<RunReport> {
    let mut builder = TopologyBuilder::new("nxdomain-bursts");
    builder.set_spout(
        "logs",
        file_spout(
            input.to_path_buf(),
            FileConfig::new(input.display().to_string()),
        ),
    );
    builder
        .set_bolt("parse", dns_parse_bolt(ParseConfig::default())?)
        .shuffle_grouping("logs");
    let burst = BoltSpec::new(&[DNS_EVENTS.kind], Some(ALERTS), move |_| NxdomainBurst {
        threshold,
        counts: BTreeMap::new(),
    });
    builder
        .set_bolt("bursts", burst)
        .fields_grouping("parse", &["client"]);
    builder
        .set_bolt("alerts", json_lines_sink_bolt(alerts, ALERTS.kind))
        .global_grouping("bursts");
    let topology = builder.build()?;
    Ok(antimony_engine::run(
        topology,
        RunConfig {
            workers,
            ..RunConfig::default()
        },
    )?)
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    let input = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "assets/demo/dns-demo.log".into());
    let report = run(Path::new(&input), PathBuf::from("-"), 3, 2)?;
    eprintln!(
        "{}",
        report
            .components
            .iter()
            .map(|c| format!("{}: {} in, {} out", c.name, c.received, c.emitted))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}
