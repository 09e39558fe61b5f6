//! `antimony eval`: the detectors measured on labelled data.

use std::path::Path;

use antimony_detect::detectors::lookalike::LookalikeConfig;
use antimony_detect::detectors::suspicious::Suspicious;
use antimony_lab::dga::boost::{Candidate, FPRS, SHIPPED_MIN_LABEL_LEN, SHIPPED_PARAMS};
use antimony_lab::eval;

use super::EvalArgs;
use super::train::read;

pub(super) fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let data = args.data.as_path();
    if !args.no_dga {
        dga(data, args.compare)?;
    }
    lookalikes(data)?;
    lists(data)?;
    Ok(())
}

fn dga(data: &Path, compare: bool) -> anyhow::Result<()> {
    let benign = read(data, "benign/benign_top.txt")?;
    let dga = read(data, "dga/dga_train.csv")?;
    let random = read(data, "benign/opendns_random_10k.txt")?;
    let mut candidates = vec![Candidate::Boosted(SHIPPED_PARAMS)];
    if compare {
        candidates.push(Candidate::Logistic);
    }
    eprintln!("DGA: training 22 models per candidate (leave-families-out)...");
    let results = eval::dga_leave_families_out(
        &benign,
        &dga,
        &[("opendns_random_10k", &random)],
        &candidates,
        SHIPPED_MIN_LABEL_LEN,
        |family| eprint!("{family} "),
    );
    eprintln!();
    for r in &results {
        println!("## DGA, leave-families-out: {}", r.candidate);
        println!(
            "Each family scored by a model trained without it; thresholds set on the held-out \
             fifth of benign_top.txt; labels shorter than {SHIPPED_MIN_LABEL_LEN} count as missed.\n"
        );
        println!(
            "{:<18} {:>6} {:>10} {:>10} {:>10}",
            "family", "names", "FPR 1e-2", "FPR 1e-3", "FPR 1e-4"
        );
        for (family, f) in &r.families {
            let recall = |k: usize| f.caught[k] as f64 / f.total.max(1) as f64;
            println!(
                "{family:<18} {:>6} {:>10.3} {:>10.3} {:>10.3}",
                f.total,
                recall(0),
                recall(1),
                recall(2)
            );
        }
        println!(
            "{:<18} {:>6} {:>10.3} {:>10.3} {:>10.3}",
            "macro recall",
            "",
            r.macro_recall(0),
            r.macro_recall(1),
            r.macro_recall(2)
        );
        for (o, list) in r.other_lists.iter().enumerate() {
            println!(
                "{:<18} {:>6} {:>10.4} {:>10.4} {:>10.4}",
                format!("FPR {list}"),
                "",
                r.other_fpr(o, 0),
                r.other_fpr(o, 1),
                r.other_fpr(o, 2)
            );
        }
        let _ = FPRS;
        println!();
    }
    Ok(())
}

fn lookalikes(data: &Path) -> anyhow::Result<()> {
    let csv = read(data, "lookalikes/lookalikes_dnstwist.csv")?;
    let top = read(data, "benign/benign_top.txt")?;
    let otop = read(data, "benign/opendns_top_10k.txt")?;
    let random = read(data, "benign/opendns_random_10k.txt")?;
    let e = eval::lookalikes(
        &csv,
        &[
            ("benign_top.txt", &top),
            ("opendns_top_10k.txt", &otop),
            ("opendns_random_10k.txt", &random),
        ],
        &LookalikeConfig::default(),
    )?;
    println!("## Lookalikes: recall per dnstwist kind (brands: the CSV's 30 originals)\n");
    println!(
        "{:<15} {:>7} {:>7} {:>8}",
        "kind", "caught", "total", "recall"
    );
    for (kind, r) in &e.kinds {
        println!("{kind:<15} {:>7} {:>7} {:>8.4}", r.hits, r.total, r.rate());
    }
    println!(
        "{:<15} {:>7} {:>7} {:>8.4}\n",
        "all",
        e.all.hits,
        e.all.total,
        e.all.rate()
    );
    println!("False positives (alerts of low severity or more; TLD swaps are info):");
    for (list, r, examples) in &e.benign {
        println!(
            "  {list:<24} {:>4} of {:>6} = {:.4}%  e.g. {}",
            r.hits,
            r.total,
            r.rate() * 100.0,
            examples
                .iter()
                .take(6)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!();
    Ok(())
}

fn lists(data: &Path) -> anyhow::Result<()> {
    let labelled = read(data, "threatintel/blocklist_labelled.csv")?;
    let plain = read(data, "threatintel/blocklist.txt")?;
    println!("## Threat-intel lists: detection of listed names and of a subdomain of each\n");
    for (what, intel) in [
        (
            "blocklist.txt (plain)",
            eval::single_list("blocklist", &plain),
        ),
        (
            "blocklist_labelled.csv (CSV)",
            eval::single_list("labelled", &labelled),
        ),
    ] {
        for (category, (exact, sub)) in eval::list_detection(&labelled, &intel) {
            println!(
                "  {what:<30} {category:<10} exact {:>5}/{:<5} = {:.4}  subdomain {:.4}",
                exact.hits,
                exact.total,
                exact.rate(),
                sub.rate()
            );
        }
    }
    let suspicious = Suspicious::new(true, [], 20)?;
    let top = read(data, "benign/benign_top.txt")?;
    let names = eval::names(&top);
    let under = names
        .iter()
        .filter(|n| suspicious.category(n).is_some())
        .count();
    println!(
        "  suspicious-service suffixes (info signal) on benign_top.txt: {under} of {} names",
        names.len()
    );
    Ok(())
}
