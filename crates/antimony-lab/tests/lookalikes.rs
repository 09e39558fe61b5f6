//! Lookalike recall per dnstwist kind on the held-out half of the brands, and false positives
//! on the benign lists, both held to bounds. Run with `--nocapture` to see the numbers.

use antimony_detect::detectors::lookalike::LookalikeConfig;
use antimony_lab::lookalike_eval::{self, ALEXA_LONG_TAIL, BENIGN_LISTS, Inputs};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn recall_per_kind_and_benign_false_positives() {
    let csv = read("lookalikes/lookalikes_dnstwist.csv");
    let psl = read("psl/public_suffix_list.dat");
    let blocklist = read("threatintel/blocklist_labelled.csv");
    let mut texts: Vec<(&str, String)> = BENIGN_LISTS
        .iter()
        .map(|f| (*f, read(&format!("benign/{f}"))))
        .collect();
    texts.push((
        ALEXA_LONG_TAIL,
        lookalike_eval::ranked_after(&read("benign/alexa_100k_ranked.csv"), 10_000),
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
    println!("tuning misses: {:?}", e.tuning_misses);
    println!("wild words: {:?}", e.wild_words);
    for r in &e.benign {
        println!("{}: {:?}", r.list, r.examples.iter().filter(|x| !x.contains("tld-swap")).collect::<Vec<_>>());
    }
}
