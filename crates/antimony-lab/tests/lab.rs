//! The lab capture's traffic (`shared/data/pcaps/lab`, as BIND logged it): the tunnel, the
//! DGA names, the block-listed names and the lookalikes of `queries.txt` are flagged, and
//! the popular names are not. Run with `--nocapture` to see the counts.

use std::collections::{BTreeMap, BTreeSet};

use antimony_detect::config::ListConfig;
use antimony_detect::stateful::{Tunnel, TunnelConfig};
use antimony_detect::{DetectConfig, Detectors, Severity};
use antimony_dns::formats::{DecodeOptions, Format, LineDecoder};
use antimony_lab::dga::label_of;
use antimony_lab::eval;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What `queries.txt` put in the mix, by name.
fn categories() -> BTreeMap<String, &'static str> {
    let dga: BTreeSet<String> = eval::dga_rows(&read("dga/dga_train.csv"))
        .map(|(_, d)| d.to_ascii_lowercase())
        .collect();
    let listed: BTreeSet<String> = eval::names(&read("threatintel/blocklist.txt"))
        .into_iter()
        .collect();
    let lookalikes: BTreeSet<String> = eval::lines(&read("lookalikes/lookalikes_dnstwist.csv"))
        .filter_map(|l| l.rsplit(',').next().map(str::to_owned))
        .collect();
    let mut popular: BTreeSet<String> = eval::names(&read("benign/benign_top.txt"))
        .into_iter()
        .collect();
    popular.extend(eval::names(&read("benign/opendns_top_10k.txt")));
    let mut out = BTreeMap::new();
    for line in eval::lines(&read("pcaps/lab/queries.txt")) {
        let name = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let category = if name.ends_with(".tunnel.corp.qa") {
            "tunnel"
        } else if dga.contains(&name) {
            "dga"
        } else if listed.contains(&name) {
            "blocklisted"
        } else if lookalikes.contains(&name) {
            "lookalike"
        } else if popular.contains(&name) {
            "popular"
        } else if name == "corp.qa" || name.ends_with(".corp.qa") {
            "lab"
        } else {
            // Hand-made lookalikes and keyword names of the mix (faceb00k.com, paypa1.com,
            // micros0ft-update.com, apple-id-verify.com...).
            "lookalike"
        };
        out.insert(name, category);
    }
    out
}

#[test]
fn lab_traffic_is_flagged_as_expected() {
    let mut config = DetectConfig::default();
    config
        .blocklists
        .push(ListConfig::new("maltrail", "threatintel/blocklist.txt"));
    // Each brand's line lists the domains it owns, as an operator writes it (`google.com
    // google.de ...`): the popular lists stand in for them. Unlisted, a brand's country
    // sites alert as TLD swaps.
    let popular: Vec<String> = eval::names(&read("benign/benign_top.txt"))
        .into_iter()
        .chain(eval::names(&read("benign/opendns_top_10k.txt")))
        .collect();
    config.lookalike.brands = eval::brands_of_dnstwist(&read("lookalikes/lookalikes_dnstwist.csv"))
        .lines()
        .map(|brand| {
            let label = brand.split('.').next().unwrap_or(brand);
            let own: BTreeSet<&str> = popular
                .iter()
                .map(String::as_str)
                .filter(|n| n.split_once('.').is_some_and(|(l, _)| l == label))
                .filter(|n| *n != brand)
                .collect();
            std::iter::once(brand)
                .chain(own)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let (detectors, _) =
        Detectors::build(&config, |p| Ok(read(&p.display().to_string()))).expect("build");
    let mut tunnel = Tunnel::new(TunnelConfig::default());

    let log = read("logs/bind9_querylog.log");
    let mut decoder = Format::from_name("bind9")
        .expect("bind9 format")
        .decoder(&DecodeOptions::default());
    let categories = categories();
    // name -> (category, flagged by a stateless detector at low or more, medium or more)
    let mut seen: BTreeMap<String, (&str, bool, bool)> = BTreeMap::new();
    let mut alerts = Vec::new();
    let mut stateful = Vec::new();
    for line in log.lines() {
        let Ok(Some(event)) = decoder.decode_line(line.as_bytes()) else {
            continue;
        };
        alerts.clear();
        detectors.run(&event, &mut alerts);
        tunnel.observe(&event);
        let category = categories.get(&event.qname).copied().unwrap_or("other");
        let entry = seen
            .entry(event.qname.clone())
            .or_insert((category, false, false));
        entry.1 |= alerts.iter().any(|a| a.severity >= Severity::Low);
        entry.2 |= alerts.iter().any(|a| a.severity >= Severity::Medium);
    }
    tunnel.end_epoch(&mut stateful);

    let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (name, (category, any, medium)) in &seen {
        let c = counts.entry(category).or_default();
        c.0 += 1;
        c.1 += usize::from(*any);
        c.2 += usize::from(*medium);
        if (*category == "lookalike" || *category == "other") && !*medium {
            println!("{category} not flagged at medium: {name}");
        }
        if *category == "popular" && *any {
            println!("popular name flagged: {name}");
        }
        if *category == "dga" && !*any {
            println!("DGA name missed: {name} ({:?})", label_of(name));
        }
    }
    for (category, (n, any, medium)) in &counts {
        println!("{category:12} {n:4} names, {any:4} flagged, {medium:4} medium or more");
    }
    for a in &stateful {
        println!("stateful: {}", a.reason);
    }
    let get = |c: &str| counts.get(c).copied().unwrap_or_default();
    // Every block-listed name and every lookalike, at medium or more.
    let (n, _, medium) = get("blocklisted");
    assert!(n >= 100 && medium == n, "block-listed {n} {medium}");
    let (n, _, medium) = get("lookalike");
    assert!(n >= 9 && medium == n, "lookalikes {n} {medium}");
    // The tunnel: the stateful detector names its domain.
    assert!(
        stateful
            .iter()
            .any(|a| a.detector == "tunnel" && a.registered_domain == "corp.qa"),
        "{stateful:?}"
    );
    // DGA names: one random-looking name is a low-severity signal; dictionary DGAs
    // (suppobox) and the word-like ones are left to the stateful detectors. Measured: 199 of
    // 320, since the score is calibrated on long-tail names (0.1% of them reach it; on
    // popular names, as before, 70% of these were flagged at a laxer threshold).
    let (n, any, _) = get("dga");
    assert!(any * 100 >= n * 58, "DGA {any} of {n}");
    // Popular names: no alert at all.
    assert_eq!(get("popular").1, 0);
}
