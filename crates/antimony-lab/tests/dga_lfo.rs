//! Leave-families-out comparison of the DGA candidates (slow: `--ignored --nocapture`).

use antimony_lab::dga::boost::Candidate;
use antimony_lab::eval;
use antimony_lab::gbdt::Params;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
#[ignore = "slow: trains 22 models per candidate"]
fn compare_candidates() {
    let min_len: usize = std::env::var("DGA_MIN_LEN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let rounds: usize = std::env::var("DGA_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let depth: usize = std::env::var("DGA_DEPTH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let random = read("benign/opendns_random_10k.txt");
    let results = eval::dga_leave_families_out(
        &read("benign/benign_top.txt"),
        &read("dga/dga_train.csv"),
        &[("opendns_random_10k", &random)],
        &match std::env::var("DGA_CANDIDATES").as_deref() {
            Ok("blend") => vec![
                Candidate::Blend(Params {
                    rounds,
                    depth,
                    ..Params::default()
                }),
                Candidate::Boosted(Params {
                    rounds,
                    depth,
                    ..Params::default()
                }),
            ],
            _ => vec![
                Candidate::Logistic,
                Candidate::Boosted(Params {
                    rounds,
                    depth,
                    ..Params::default()
                }),
            ],
        },
        min_len,
        |_| {},
    );
    for r in &results {
        println!("== {}", r.candidate);
        for (family, f) in &r.families {
            println!(
                "{family:18} {:5} {:.3} {:.3} {:.3}",
                f.total,
                f.caught[0] as f64 / f.total as f64,
                f.caught[1] as f64 / f.total as f64,
                f.caught[2] as f64 / f.total as f64
            );
        }
        println!(
            "macro {:.3} {:.3} {:.3}; opendns_random FPR {:.4} {:.4} {:.4}",
            r.macro_recall(0),
            r.macro_recall(1),
            r.macro_recall(2),
            r.other_fpr(0, 0),
            r.other_fpr(0, 1),
            r.other_fpr(0, 2)
        );
    }
}
