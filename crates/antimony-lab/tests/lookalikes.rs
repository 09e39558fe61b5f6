//! Lookalike recall per dnstwist kind on the shared data, and false positives on the benign
//! lists. Run with `--nocapture` to see the numbers.

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
}
