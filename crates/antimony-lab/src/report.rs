//! The reports behind `antimony eval`: each measurement on a data folder laid out like
//! `shared/data`, as text tables for a person (the numbers themselves are [`crate::eval`]'s).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use antimony_detect::detectors::lookalike::{BrandError, LookalikeConfig};
use antimony_detect::detectors::suspicious::Suspicious;
use antimony_detect::detectors::threat_intel::ThreatIntelError;

use crate::dga::boost::{Candidate, SHIPPED_MIN_LABEL_LEN, SHIPPED_PARAMS};
use crate::dga::{BenignSplit, LONG_TAIL_RANK};
use crate::{eval, lookalike_eval};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A data file cannot be read.
    #[error("cannot read {path} (point --data at a folder laid out like shared/data): {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The brands of the lookalike data do not parse.
    #[error(transparent)]
    Brands(#[from] BrandError),
    /// The suspicious-service lists do not parse.
    #[error(transparent)]
    Lists(#[from] ThreatIntelError),
}

/// A file of the data folder, as text.
pub fn read_data(data: &Path, file: &str) -> Result<String, ReportError> {
    let path = data.join(file);
    std::fs::read_to_string(&path).map_err(|error| ReportError::Read { path, error })
}

/// The texts the DGA reports and `antimony train dga` read: the benign lists
/// [`BenignSplit`] cuts, and the DGA names.
pub struct DgaData {
    top: String,
    ranked: String,
    random: String,
    /// `dga/dga_train.csv`.
    pub dga: String,
}

impl DgaData {
    /// Reads them from a data folder laid out like `shared/data`.
    pub fn read(data: &Path) -> Result<Self, ReportError> {
        Ok(DgaData {
            top: read_data(data, "benign/benign_top.txt")?,
            ranked: read_data(data, "benign/alexa_100k_ranked.csv")?,
            random: read_data(data, "benign/opendns_random_10k.txt")?,
            dga: read_data(data, "dga/dga_train.csv")?,
        })
    }

    /// The benign names, split for training, calibration and testing.
    pub fn benign(&self) -> BenignSplit<'_> {
        BenignSplit::new(&self.top, &self.ranked, &self.random)
    }
}

/// Leave-families-out DGA recall per family (and the logistic candidate with `compare`);
/// `progress` gets each family as its model is trained (22 per candidate: minutes).
pub fn dga(
    data: &Path,
    compare: bool,
    mut progress: impl FnMut(&str),
) -> Result<String, ReportError> {
    let mut out = String::new();
    let texts = DgaData::read(data)?;
    let popular = read_data(data, "benign/opendns_top_10k.txt")?;
    let (dga, benign) = (&texts.dga, texts.benign());
    let mut candidates = vec![Candidate::Boosted(SHIPPED_PARAMS)];
    if compare {
        candidates.push(Candidate::Logistic);
    }
    let results = eval::dga_leave_families_out(
        &benign,
        dga,
        &[("opendns_top_10k", &popular)],
        &candidates,
        SHIPPED_MIN_LABEL_LEN,
        |family| progress(family),
    );
    for r in &results {
        let _ = writeln!(out, "## DGA, leave-families-out: {}", r.candidate);
        let _ = writeln!(
            out,
            "Each family scored by a model trained without it. Benign side: the long tail \
             (Alexa's held-out names ranked past {LONG_TAIL_RANK} and opendns_random_10k), \
             {} names set the thresholds, {} others measure the FPR; labels shorter than \
             {SHIPPED_MIN_LABEL_LEN} count as missed.\n",
            benign.calibration.len(),
            benign.test.len()
        );
        let _ = writeln!(
            out,
            "{:<18} {:>6} {:>10} {:>10} {:>10}",
            "family", "names", "FPR 1e-2", "FPR 1e-3", "FPR 1e-4"
        );
        for (family, f) in &r.families {
            let recall = |k: usize| f.caught[k] as f64 / f.total.max(1) as f64;
            let _ = writeln!(
                out,
                "{family:<18} {:>6} {:>10.3} {:>10.3} {:>10.3}",
                f.total,
                recall(0),
                recall(1),
                recall(2)
            );
        }
        let _ = writeln!(
            out,
            "{:<18} {:>6} {:>10.3} {:>10.3} {:>10.3}",
            "macro recall",
            "",
            r.macro_recall(0),
            r.macro_recall(1),
            r.macro_recall(2)
        );
        let _ = writeln!(
            out,
            "{:<18} {:>6} {:>10.4} {:>10.4} {:>10.4}",
            "FPR long-tail test",
            "",
            r.test_fpr(0),
            r.test_fpr(1),
            r.test_fpr(2)
        );
        for (o, list) in r.other_lists.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<18} {:>6} {:>10.4} {:>10.4} {:>10.4}",
                format!("FPR {list}"),
                "",
                r.other_fpr(o, 0),
                r.other_fpr(o, 1),
                r.other_fpr(o, 2)
            );
        }
        let _ = writeln!(out);
    }
    Ok(out)
}

/// Lookalike recall per dnstwist permutation kind on the tuning and held-out halves of the
/// brands, and false positives on the benign lists ([`crate::lookalike_eval`]).
pub fn lookalikes(data: &Path) -> Result<String, ReportError> {
    let csv = read_data(data, "lookalikes/lookalikes_dnstwist.csv")?;
    let psl = read_data(data, "psl/public_suffix_list.dat")?;
    let blocklist = read_data(data, "threatintel/blocklist_labelled.csv")?;
    let mut benign = Vec::new();
    for file in lookalike_eval::BENIGN_LISTS {
        benign.push((file, read_data(data, &format!("benign/{file}"))?));
    }
    let tail = read_data(data, "benign/alexa_100k_ranked.csv")?;
    benign.push((
        lookalike_eval::ALEXA_LONG_TAIL,
        lookalike_eval::ranked_after(&tail, LONG_TAIL_RANK),
    ));
    let benign: Vec<(&str, &str)> = benign.iter().map(|(f, t)| (*f, t.as_str())).collect();
    let inputs = lookalike_eval::Inputs {
        dnstwist: &csv,
        psl: &psl,
        blocklist: &blocklist,
        benign: &benign,
    };
    let e = lookalike_eval::evaluate(&inputs, &LookalikeConfig::default())?;
    Ok(lookalike_eval::report(&e))
}

/// Detection of the threat-intel lists' names and of a subdomain of each.
pub fn lists(data: &Path) -> Result<String, ReportError> {
    let mut out = String::new();
    let labelled = read_data(data, "threatintel/blocklist_labelled.csv")?;
    let plain = read_data(data, "threatintel/blocklist.txt")?;
    let _ = writeln!(
        out,
        "## Threat-intel lists: detection of listed names and of a subdomain of each\n"
    );
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
            let _ = writeln!(
                out,
                "  {what:<30} {category:<10} exact {:>5}/{:<5} = {:.4}  subdomain {:.4}",
                exact.hits,
                exact.total,
                exact.rate(),
                sub.rate()
            );
        }
    }
    let suspicious = Suspicious::new(true, [], 20)?;
    let top = read_data(data, "benign/benign_top.txt")?;
    let names = eval::names(&top);
    let under = names
        .iter()
        .filter(|n| suspicious.category(n).is_some())
        .count();
    let _ = writeln!(
        out,
        "  suspicious-service suffixes (info signal) on benign_top.txt: {under} of {} names",
        names.len()
    );
    Ok(out)
}

/// The default verdict (`antimony score`'s `alert`) of `detectors` on every DGA family's
/// names and on the long tail's test half (names the DGA model was neither trained nor
/// calibrated on).
pub fn verdict(data: &Path, detectors: &antimony_detect::Detectors) -> Result<String, ReportError> {
    let texts = DgaData::read(data)?;
    let e = crate::verdict::verdicts(
        detectors,
        eval::dga_rows(&texts.dga),
        texts.benign().test.iter().copied(),
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Default verdict (`antimony score`: alert at medium+ or score >= {})\n",
        e.threshold
    );
    let _ = writeln!(
        out,
        "Every detector of the default configuration (built-in lists included). The shipped DGA \
         model was trained on these families, so their recall here is in-sample; the \
         leave-families-out recall above, at the FPR the DGA score's threshold gives, is the \
         estimate for families never seen.\n"
    );
    let _ = writeln!(out, "{:<18} {:>6} {:>8}", "family", "names", "alerted");
    for (family, r) in &e.families {
        let _ = writeln!(out, "{family:<18} {:>6} {:>8.3}", r.total, r.rate());
    }
    let _ = writeln!(
        out,
        "{:<18} {:>6} {:>8.3}",
        "macro recall",
        "",
        e.macro_recall()
    );
    let _ = writeln!(
        out,
        "benign FPR: {}/{} = {:.5} on the long tail's test half",
        e.benign.hits,
        e.benign.total,
        e.benign.rate()
    );
    let by: Vec<String> = e
        .benign_by_detector
        .iter()
        .map(|(d, n)| format!("{d} {n}"))
        .collect();
    if !by.is_empty() {
        let _ = writeln!(out, "benign alerts by detector: {}", by.join(", "));
        let _ = writeln!(out, "first benign alerts: {}", e.benign_examples.join(" "));
    }
    let _ = writeln!(out);
    Ok(out)
}
