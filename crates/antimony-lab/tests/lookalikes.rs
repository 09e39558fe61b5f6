//! Lookalike recall per dnstwist kind on the shared data, and false positives on the benign
//! lists, both held to bounds. Run with `--nocapture` to see the numbers.

use antimony_detect::detectors::lookalike::LookalikeConfig;
use antimony_lab::eval;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn recall_per_kind_and_benign_false_positives() {
    let csv = read("lookalikes/lookalikes_dnstwist.csv");
    let top = read("benign/benign_top.txt");
    let random = read("benign/opendns_random_10k.txt");
    let otop = read("benign/opendns_top_10k.txt");
    let e = eval::lookalikes(
        &csv,
        &[
            ("benign_top", &top),
            ("opendns_random_10k", &random),
            ("opendns_top_10k", &otop),
        ],
        &LookalikeConfig::default(),
    )
    .expect("brands");
    for (kind, r) in &e.kinds {
        println!("{kind:14} {:5}/{:<5} {:.4}", r.hits, r.total, r.rate());
    }
    println!("all {:.4}", e.all.rate());
    println!("misses: {:?}", e.misses);
    for ((list, r, ex), (_, m)) in e.benign.iter().zip(&e.benign_medium) {
        println!(
            "{list}: {}/{} = {:.5} (medium+ {:.5}) {ex:?}",
            r.hits,
            r.total,
            r.rate(),
            m.rate()
        );
    }
    assert!(e.all.rate() >= 0.99, "recall {}", e.all.rate());

    // Recall per kind. Measured when this test was written: every kind 100% but homoglyph
    // (1,175 of 1,200, 0.979) and cyrillic (10 of 11, 0.909). Floors: 0.98 where all are
    // caught, 0.97 for homoglyph, 0.9 for cyrillic (its one miss and no other).
    let kinds: Vec<&str> = e.kinds.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "addition",
            "bitsquatting",
            "cyrillic",
            "homoglyph",
            "hyphenation",
            "insertion",
            "omission",
            "plural",
            "repetition",
            "replacement",
            "subdomain",
            "transposition",
            "various",
            "vowel-swap"
        ]
    );
    for (kind, r) in &e.kinds {
        let floor = match kind.as_str() {
            "homoglyph" => 0.97,
            "cyrillic" => 0.9,
            _ => 0.98,
        };
        assert!(
            r.rate() >= floor,
            "{kind}: recall {:.4} ({}/{}) below {floor}",
            r.rate(),
            r.hits,
            r.total
        );
    }

    // False positives: alerts (low severity or more) on names of the benign lists. Measured
    // when this test was written: benign_top 29 of 99,598 (0.00029), opendns_random_10k 3 of
    // 10,000 (0.00030), opendns_top_10k 10 of 10,000 (0.00100), all of medium severity or
    // more. Several of them are real typosquats that made the popular lists (goole.com,
    // twiter.com, faceboook.com); the rest are short names a brand is one edit from (nhl.com,
    // mlive.com). The bounds allow a few names more (39, 5 and 14 at most); a change that
    // makes the detector fire on more benign names than that fails here.
    // The list sizes are checked too, so an empty or unread list cannot pass with rate 0.
    let bounds = [
        ("benign_top", 99_598, 0.0004),
        ("opendns_random_10k", 10_000, 0.0005),
        ("opendns_top_10k", 10_000, 0.0014),
    ];
    assert_eq!(e.benign.len(), bounds.len());
    for ((list, r, examples), (name, total, bound)) in e.benign.iter().zip(bounds) {
        assert_eq!(list, name);
        assert_eq!(r.total, total, "{list}: names read");
        assert!(
            r.rate() <= bound,
            "{list}: false-positive rate {:.5} ({}/{}) above {bound}: {examples:?}",
            r.rate(),
            r.hits,
            r.total
        );
    }
}
