//! Lookalike recall per dnstwist kind on the held-out half of the brands (never tuned on),
//! and false positives on the benign lists, both held to bounds. Run with `--nocapture` to
//! see the tables `antimony eval` prints.

use antimony_detect::detectors::lookalike::LookalikeConfig;
use antimony_lab::dga::LONG_TAIL_RANK;
use antimony_lab::lookalike_eval::{self, ALEXA_LONG_TAIL, BENIGN_LISTS, Inputs, LookalikeEval};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn evaluate() -> LookalikeEval {
    let csv = read("lookalikes/lookalikes_dnstwist.csv");
    let psl = read("psl/public_suffix_list.dat");
    let blocklist = read("threatintel/blocklist_labelled.csv");
    let mut texts: Vec<(&str, String)> = BENIGN_LISTS
        .iter()
        .map(|f| (*f, read(&format!("benign/{f}"))))
        .collect();
    texts.push((
        ALEXA_LONG_TAIL,
        lookalike_eval::ranked_after(&read("benign/alexa_100k_ranked.csv"), LONG_TAIL_RANK),
    ));
    let benign: Vec<(&str, &str)> = texts.iter().map(|(f, t)| (*f, t.as_str())).collect();
    let inputs = Inputs {
        dnstwist: &csv,
        psl: &psl,
        blocklist: &blocklist,
        benign: &benign,
    };
    let e = lookalike_eval::evaluate(&inputs, &LookalikeConfig::default()).expect("brands");
    print!("{}", lookalike_eval::report(&e));
    e
}

#[test]
fn recall_per_kind_and_benign_false_positives() {
    let e = evaluate();

    // Every dnstwist kind, the generated dictionary and TLD-swap kinds included, is caught
    // at medium or more for >= 99% of the permutations of the brands the detector was never
    // tuned on (the held-out half), and of the tuning half.
    let kinds: Vec<&str> = e.kinds.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "addition",
            "bitsquatting",
            "cyrillic",
            "dictionary",
            "homoglyph",
            "hyphenation",
            "insertion",
            "omission",
            "plural",
            "repetition",
            "replacement",
            "subdomain",
            "tld-swap",
            "transposition",
            "various",
            "vowel-swap"
        ]
    );
    for (kind, halves) in &e.kinds {
        for (half, r) in ["tuning", "held-out"].iter().zip(halves) {
            assert!(r.total > 0, "{kind}: no {half} permutations");
            assert!(
                r.rate() >= 0.99,
                "{kind}, {half} brands: recall {:.4} ({}/{}) below 0.99",
                r.rate(),
                r.hits,
                r.total
            );
        }
    }
    // The brands split roughly in half (the hash cannot have put them all on one side).
    assert!(e.all[0].total > 20_000 && e.all[1].total > 20_000);

    // Words real malicious names use that the dictionary does not list: measured when this
    // test was written 0.480 (tuning words) and 0.258 (held-out words); most of the missed
    // words are not lures (`android`, `black`, `ledger`, `krakenthecontrol`). A floor, so
    // a dictionary made smaller shows here.
    assert!(
        e.wild[0].rate() >= 0.3 && e.wild[1].rate() >= 0.18,
        "{:?}",
        e.wild
    );

    // False positives, alerts at medium or more on benign names (brands: the CSV's 30,
    // main domains only). The long tail (random OpenDNS names, Alexa ranks after 10,000)
    // holds the 0.1% bound for every kind but TLD swaps; TLD swaps add the brands' own
    // country sites their lines do not list (`google.com.cu`, `paypal.de`, most of the 90 after
    // rank 10,000) and same-label companies (`ctc.ru`). The popular lists hold the brands'
    // own services too (`adobelogin.com`, `microsoftonline.com`, `google.de`): their
    // bounds pin what was measured when this test was written, a few names above it:
    //   list                     all kinds           without TLD swaps
    //   alexa_100k_ranked.csv    273 (0.273%)        55 (0.055%)
    //   benign_top.txt           268 (0.269%)        55 (0.055%)
    //   opendns_top_10k.txt      108 (1.08%)         16 (0.16%)
    //   opendns_random_10k.txt   7 (0.07%)           4 (0.04%)
    //   alexa ranks 10,001+      135 (0.150%)        45 (0.050%)
    // The list sizes are checked too, so an empty or unread list cannot pass with rate 0.
    let bounds = [
        ("alexa_100k_ranked.csv", 100_000, 0.0029, 0.0007),
        ("benign_top.txt", 99_598, 0.0029, 0.0007),
        ("opendns_top_10k.txt", 10_000, 0.0112, 0.0018),
        ("opendns_random_10k.txt", 10_000, 0.001, 0.001),
        (ALEXA_LONG_TAIL, 90_000, 0.0016, 0.001),
    ];
    assert_eq!(e.benign.len(), bounds.len());
    for (r, (name, total, all, without)) in e.benign.iter().zip(bounds) {
        assert_eq!(r.list, name);
        assert_eq!(r.rate.total, total, "{name}: names read");
        assert!(
            r.rate.rate() <= all,
            "{name}: false-positive rate {:.5} ({}/{}) above {all}: {:?}",
            r.rate.rate(),
            r.rate.hits,
            r.rate.total,
            r.examples
        );
        assert!(
            r.rate_without("tld-swap") <= without,
            "{name}: false-positive rate without TLD swaps {:.5} above {without}: {:?}",
            r.rate_without("tld-swap"),
            r.examples
        );
    }
}
