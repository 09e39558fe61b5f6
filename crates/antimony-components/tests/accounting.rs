//! The accounting adds up, whatever the input and the topology: every record a component
//! takes in comes out, is set aside, or is filtered, and the counts say so. A property test
//! over random topologies of the built-in components (parse alone, or with the stateless
//! detectors, with or without the deduplicator, one or two workers) and random inputs
//! (real log lines, damaged ones, garbage, blank lines, headers).

use std::path::Path;

use antimony_components::record::{ALERTS, DNS_EVENTS};
use antimony_components::registry::{dns_parse_bolt, file_spout, json_lines_sink_bolt};
use antimony_components::{dedup, detect, parse};
use antimony_core::Metrics;
use antimony_core::metrics::Label;
use antimony_detect::config::DedupConfig;
use antimony_engine::{BoltSpec, RunConfig, RunReport, TopologyBuilder};
use antimony_io::sinks::json_lines::{LINES_FAILED, LINES_WRITTEN};
use antimony_io::sources::file::FileConfig;
use proptest::prelude::*;

/// Lines an input is made of: real records of two formats, lines of them damaged, and lines
/// that are no record.
const POOL: &[&[u8]] = &[
    b"26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 10.1.2.3#41281 (update-java.net): query: update-java.net IN A +E(0)K (10.0.0.53)",
    b"26-Nov-2026 06:46:48.001 queries: info: client @0x7f1703b12098 10.1.2.4#41282 (www.google.com): query: www.google.com IN AAAA +E(0)K (10.0.0.53)",
    b"26-Nov-2026 06:46:48.002 queries: info: client @0x7f1703b12098 10.1.2.5#41283 (afadsfasdfsafwerwqerqqiye.cn): query: afadsfasdfsafwerwqerqqiye.cn IN A +E(0)K (10.0.0.53)",
    b"26-Nov-2026 06:46:4\xff.907 queries: info: client @0x7f1703b12098 10.1.2.3#41281 (x.com): query: x.com IN A +E(0)K (10.0.0.53)",
    b"26-Nov-2026 06:46:49.000 queries: info: client @0x7f1703b12098 10.1.2.3#41281 (bad\x00name.com): query: bad\x00name.com IN A +E(0)K (10.0.0.53)",
    b"Nov 26 06:46:47 dnsmasq[1234]: query[A] example.com from 10.0.0.9",
    b"Nov 26 06:46:47 dnsmasq[1234]: reply example.com is 93.184.216.34",
    b"hello",
    b"",
    b"# a comment",
    b"\x01\x02 garbage \xfe",
];

fn count(report: &RunReport, metric: &str, component: &str) -> u64 {
    report
        .metrics
        .iter()
        .filter(|s| s.name == metric && s.labels.contains(&Label::component(component)))
        .filter_map(|s| s.value.as_count())
        .sum()
}

/// Runs file -> parse -> [detect -> [dedup] -> alerts] or parse -> events.
fn run(input: &Path, out: &Path, with_detect: bool, with_dedup: bool, workers: usize) -> RunReport {
    let mut builder = TopologyBuilder::new("accounting");
    builder.set_spout(
        "logs",
        file_spout(
            input.to_path_buf(),
            FileConfig {
                chunk_bytes: 512,
                ..FileConfig::new(input.display().to_string())
            },
        ),
    );
    builder
        .set_bolt(
            "parse",
            dns_parse_bolt(parse::ParseConfig {
                year: Some(2026),
                ..parse::ParseConfig::default()
            })
            .expect("config"),
        )
        .shuffle_grouping("logs");
    if with_detect {
        let detectors =
            detect::build(&detect::DetectBoltConfig::default(), Path::new(".")).expect("detectors");
        builder
            .set_bolt(
                "detect",
                BoltSpec::new(&[DNS_EVENTS.kind], Some(ALERTS), move |_| {
                    detect::DetectBolt::new(std::sync::Arc::clone(&detectors))
                })
                .streaming(),
            )
            .local_grouping("parse");
        let last = if with_dedup {
            let config = DedupConfig::default();
            builder
                .set_bolt(
                    "dedup",
                    BoltSpec::new(&[ALERTS.kind], Some(ALERTS), move |_| {
                        dedup::DedupBolt::new(&config)
                    }),
                )
                .fields_grouping("detect", &["detector", "client", "domain"]);
            "dedup"
        } else {
            "detect"
        };
        builder
            .set_bolt("sink", json_lines_sink_bolt(out.to_path_buf(), ALERTS.kind))
            .global_grouping(last);
    } else {
        builder
            .set_bolt(
                "sink",
                json_lines_sink_bolt(out.to_path_buf(), DNS_EVENTS.kind),
            )
            .global_grouping("parse");
    }
    let config = RunConfig {
        workers,
        metrics: Metrics::new(),
        ..RunConfig::default()
    };
    antimony_engine::run(builder.build().expect("valid"), config).expect("runs")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn in_is_out_plus_set_aside_plus_filtered(
        picks in proptest::collection::vec(0..POOL.len(), 1..300),
        with_detect in any::<bool>(),
        with_dedup in any::<bool>(),
        workers in 1usize..=2,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("in.log");
        let text: Vec<&[u8]> = picks.iter().map(|&i| POOL[i]).collect();
        let text = text.join(&b'\n');
        std::fs::write(&input, &text).expect("write");
        // Lines of the file: a last empty line (the file ends with a line ending) is none.
        let file_lines = match text.last() {
            None => 0,
            Some(b'\n') => text.iter().filter(|&&b| b == b'\n').count(),
            Some(_) => text.iter().filter(|&&b| b == b'\n').count() + 1,
        } as u64;
        let report = run(&input, &dir.path().join("out.jsonl"), with_detect, with_dedup, workers);
        let engine = |name: &str| report.component(name).cloned().expect("a component");

        // The spout's chunks all reach the parser, whose every line is one of: an event, set
        // aside, skipped; its events and dead letters are the engine's counts.
        let (logs, parser) = (engine("logs"), engine("parse"));
        prop_assert_eq!(parser.received, logs.emitted);
        let lines = count(&report, parse::LINES.name, "parse");
        prop_assert_eq!(lines, file_lines);
        let line_events = count(&report, parse::LINE_EVENTS.name, "parse");
        let set_aside = count(&report, parse::LINES_SET_ASIDE.name, "parse");
        let skipped = count(&report, parse::LINES_SKIPPED.name, "parse");
        prop_assert_eq!(lines, line_events + set_aside + skipped);
        prop_assert_eq!(parser.emitted, line_events);
        prop_assert_eq!(parser.dead_letters, set_aside);

        let mut upstream = parser.emitted;
        if with_detect {
            // Every event raised alerts or none.
            let detect = engine("detect");
            prop_assert_eq!(detect.received, upstream);
            let quiet = count(&report, detect::QUIET.name, "detect");
            let alerting = count(&report, detect::ALERTING.name, "detect");
            prop_assert_eq!(detect.received, quiet + alerting);
            prop_assert!(detect.emitted >= alerting);
            upstream = detect.emitted;
            if with_dedup {
                // Every alert was kept or suppressed as a duplicate.
                let dedup = engine("dedup");
                prop_assert_eq!(dedup.received, upstream);
                let suppressed = count(&report, dedup::SUPPRESSED.name, "dedup");
                prop_assert_eq!(dedup.received, dedup.emitted + suppressed);
                upstream = dedup.emitted;
            }
        }
        // Every record reaching the sink was written (or would be counted as failed).
        let sink = engine("sink");
        prop_assert_eq!(sink.received, upstream);
        let written = count(&report, LINES_WRITTEN.name, "sink");
        let failed = count(&report, LINES_FAILED.name, "sink");
        prop_assert_eq!(sink.received, written + failed);
        prop_assert_eq!(failed, 0);
        prop_assert!(report.failures.is_empty());
    }
}
