//! Names per second through every stateless detector, on a mix of benign names (the common
//! case: nothing fires) and on the talk's suspicious names.
//!
//! `cargo bench -p antimony-detect --bench detectors`

use std::collections::BTreeSet;
use std::hint::black_box;

use antimony_detect::config::{LengthConfig, ListConfig};
use antimony_detect::detectors::dga::{Dga, Model};
use antimony_detect::detectors::keywords::Keywords;
use antimony_detect::detectors::length::LongName;
use antimony_detect::detectors::lookalike::{Brands, Lookalike, LookalikeConfig};
use antimony_detect::detectors::suspicious::Suspicious;
use antimony_detect::detectors::threat_intel::ThreatIntel;
use antimony_detect::stateful::{
    Beacon, BeaconConfig, NewDomains, NodConfig, NxdomainBurst, NxdomainConfig, Tunnel,
    TunnelConfig,
};
use antimony_detect::{DetectConfig, Detectors, Name, NameDetector, Severity};
use antimony_dns::DnsEvent;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn events(names: &[String]) -> Vec<DnsEvent> {
    names
        .iter()
        .filter_map(|name| {
            let mut e = DnsEvent {
                ts: 1_502_530_532_000_000,
                client: "10.0.0.1".parse().ok(),
                ..DnsEvent::default()
            };
            e.set_qname(name).ok()?;
            Some(e)
        })
        .collect()
}

/// 20,000 benign names: top-list domains, with a `www.` or service label on some so the list
/// walk and long-name check see realistic depths.
fn benign_mix() -> Vec<String> {
    let text = std::fs::read_to_string(format!("{DATA}/benign/benign_top.txt")).unwrap_or_default();
    let prefixes = ["", "www.", "", "api.", "", "cdn.static.", "", "mail."];
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(20_000)
        .enumerate()
        .map(|(i, l)| format!("{}{}", prefixes[i % prefixes.len()], l.trim()))
        .collect()
}

fn detectors() -> Detectors {
    let mut config = DetectConfig::default();
    config
        .blocklists
        .push(ListConfig::new("maltrail", "blocklist.txt"));
    let (detectors, _) = Detectors::build(&config, |_| {
        std::fs::read_to_string(format!("{DATA}/threatintel/blocklist.txt"))
    })
    .unwrap_or_else(|e| panic!("build detectors: {e}"));
    detectors
}

fn bench(c: &mut Criterion) {
    let detectors = detectors();
    let benign = events(&benign_mix());
    let suspicious = events(
        &[
            "update-java.net",
            "systemsvc.net",
            "adobe-update.net",
            "afadsfasdfsafwerwqerqqiye.cn",
            "jlaooireqieoruqoireqpwoiue.to",
        ]
        .map(String::from),
    );

    let mut group = c.benchmark_group("detectors");
    group.throughput(Throughput::Elements(benign.len() as u64));
    group.bench_function("benign_mix", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for e in &benign {
                detectors.run(black_box(e), &mut out);
            }
            out.clear();
        })
    });
    group.throughput(Throughput::Elements(suspicious.len() as u64));
    group.bench_function("suspicious_alerting", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for e in &suspicious {
                detectors.run(black_box(e), &mut out);
            }
            out.clear();
        })
    });
    group.finish();

    // Each detector alone, on the same benign names.
    let mut intel = ThreatIntel::new();
    let list =
        std::fs::read_to_string(format!("{DATA}/threatintel/blocklist.txt")).unwrap_or_default();
    let _ = intel.add_list("maltrail", &list, Severity::High, 90);
    let alone: Vec<(&str, Box<dyn NameDetector>)> = vec![
        ("threat_intel", Box::new(intel)),
        (
            "keyword",
            Box::new(Keywords::builtin().unwrap_or_else(|e| panic!("{e}"))),
        ),
        (
            "long_name",
            Box::new(LongName::new(LengthConfig::default())),
        ),
        (
            "dga",
            Box::new(Dga::new(
                Model::builtin().unwrap_or_else(|e| panic!("{e}")),
                None,
                Severity::Low,
            )),
        ),
        ("lookalike", Box::new(lookalike())),
        (
            "suspicious",
            Box::new(Suspicious::new(true, [], 20).unwrap_or_else(|e| panic!("{e}"))),
        ),
    ];
    let mut group = c.benchmark_group("detector");
    group.throughput(Throughput::Elements(benign.len() as u64));
    for (name, detector) in &alone {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let mut fired = 0usize;
                for e in &benign {
                    fired += usize::from(detector.check(&Name::from_event(black_box(e))).is_some());
                }
                fired
            })
        });
    }
    group.finish();
}

/// The 30 brands of the dnstwist data set.
fn lookalike() -> Lookalike {
    let csv = std::fs::read_to_string(format!("{DATA}/lookalikes/lookalikes_dnstwist.csv"))
        .unwrap_or_default();
    let brands = brands_of_dnstwist(&csv);
    Lookalike::new(
        Brands::parse(&brands).unwrap_or_default(),
        LookalikeConfig::default(),
    )
}

/// The brands of a dnstwist CSV (`original,fuzzer,domain`), one per line, as
/// `antimony_lab::eval::brands_of_dnstwist` reads them (this crate cannot depend on the lab).
fn brands_of_dnstwist(csv: &str) -> String {
    let brands: BTreeSet<&str> = csv
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    brands.into_iter().collect::<Vec<_>>().join("\n")
}

/// Events per second through each stateful detector: `observe` on every event of a 1,000-
/// event epoch, then `end_epoch`, on traffic spread over 50 clients at one event per 10 ms
/// of event time, a tenth of it NXDOMAIN answers.
fn bench_stateful(c: &mut Criterion) {
    let names = benign_mix();
    let events: Vec<DnsEvent> = names
        .iter()
        .take(10_000)
        .enumerate()
        .filter_map(|(i, name)| {
            let mut e = DnsEvent {
                ts: 1_502_530_532_000_000 + i as i64 * 10_000,
                client: format!("10.0.0.{}", i % 50).parse().ok(),
                rcode: Some(if i % 10 == 0 { 3 } else { 0 }),
                ..DnsEvent::default()
            };
            e.set_qname(name).ok()?;
            Some(e)
        })
        .collect();
    let mut group = c.benchmark_group("stateful");
    group.throughput(Throughput::Elements(events.len() as u64));
    macro_rules! stateful {
        ($name:literal, $make:expr) => {
            group.bench_function($name, |b| {
                b.iter(|| {
                    let mut d = $make;
                    let mut out = Vec::new();
                    for epoch in events.chunks(1000) {
                        for e in epoch {
                            d.observe(black_box(e));
                        }
                        d.end_epoch(&mut out);
                    }
                    out.len()
                })
            });
        };
    }
    stateful!("tunnel", Tunnel::new(TunnelConfig::default()));
    stateful!(
        "nxdomain_burst",
        NxdomainBurst::new(NxdomainConfig::default())
    );
    stateful!("beacon", Beacon::new(BeaconConfig::default()));
    stateful!("new_domain", NewDomains::new(NodConfig::default()));
    group.finish();
}

criterion_group!(benches, bench, bench_stateful);
criterion_main!(benches);
