//! Measurements of the detectors on labelled data, behind `antimony eval` and the data tests.
//!
//! Everything here takes text the caller read (this crate does no I/O) and returns numbers;
//! the binary prints them.

use std::collections::BTreeMap;

use antimony_detect::detectors::threat_intel::{ListSpec, ThreatIntel};

use crate::dga::BenignSplit;
use crate::dga::boost::{self, Candidate, FamilyResult};

pub use crate::lookalike_eval::brands_of_dnstwist;

/// Non-comment, non-empty lines of a list, trimmed.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Normalised names of a list (lines that are not names are left out).
pub fn names(text: &str) -> Vec<String> {
    lines(text)
        .filter_map(|l| antimony_dns::domain::normalise(l.split(',').next_back()?).ok())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Caught and total counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rate {
    /// How many were caught (or fired).
    pub hits: usize,
    /// How many there were.
    pub total: usize,
}

impl Rate {
    /// `hits / total` (0 when empty).
    pub fn rate(&self) -> f64 {
        self.hits as f64 / self.total.max(1) as f64
    }

    /// Counts one more, caught when `hit`.
    pub fn add(&mut self, hit: bool) {
        self.hits += usize::from(hit);
        self.total += 1;
    }
}

/// How much of a labelled list (`category,family,domain` CSV) a list set built from
/// `lists` catches, per category: exact names and a subdomain of each.
pub fn list_detection(labelled_csv: &str, intel: &ThreatIntel) -> BTreeMap<String, (Rate, Rate)> {
    let mut out: BTreeMap<String, (Rate, Rate)> = BTreeMap::new();
    for line in lines(labelled_csv).skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(category), Some(domain)) = (fields.first(), fields.last()) else {
            continue;
        };
        let Ok(name) = antimony_dns::domain::normalise(domain) else {
            continue;
        };
        let entry = out.entry((*category).to_owned()).or_default();
        entry.0.add(intel.contains(&name));
        entry.1.add(intel.contains(&format!("x1.{name}")));
    }
    out
}

/// A list set of one `auto`-format list called `name`.
pub fn single_list(name: &str, text: &str) -> ThreatIntel {
    let spec = ListSpec::new(name);
    ThreatIntel::from_lists([(&spec, text)])
        .map(|(t, _)| t)
        .unwrap_or_default()
}

/// Leave-families-out results of one DGA candidate.
#[derive(Clone, Debug)]
pub struct DgaEval {
    /// The candidate's name.
    pub candidate: String,
    /// Per family.
    pub families: BTreeMap<String, FamilyResult>,
    /// Names of the other benign lists, in `other_fpr` order.
    pub other_lists: Vec<String>,
}

impl DgaEval {
    /// Mean over families of the recall at FPR index `k` (macro recall).
    pub fn macro_recall(&self, k: usize) -> f64 {
        let n = self.families.len().max(1) as f64;
        self.families
            .values()
            .map(|r| r.caught[k] as f64 / r.total.max(1) as f64)
            .sum::<f64>()
            / n
    }

    /// Mean over folds of the FPR on the benign test labels at FPR index `k`.
    pub fn test_fpr(&self, k: usize) -> f64 {
        let n = self.families.len().max(1) as f64;
        self.families.values().map(|r| r.fpr[k]).sum::<f64>() / n
    }

    /// Mean over folds of the FPR on other benign list `o` at FPR index `k`.
    pub fn other_fpr(&self, o: usize, k: usize) -> f64 {
        let n = self.families.len().max(1) as f64;
        self.families
            .values()
            .map(|r| r.other_fpr.get(o).map_or(0.0, |v| v[k]))
            .sum::<f64>()
            / n
    }
}

/// Leave-families-out evaluation of DGA candidates on the shared data: benign training
/// labels, calibration and test halves are [`BenignSplit`]'s (thresholds set on the long
/// tail's calibration half, FPR measured on its test half), and `other` benign lists
/// report their FPR at the same thresholds.
pub fn dga_leave_families_out(
    benign: &BenignSplit<'_>,
    dga_csv: &str,
    other: &[(&str, &str)],
    candidates: &[Candidate],
    min_len: usize,
    mut progress: impl FnMut(&str),
) -> Vec<DgaEval> {
    let prepared = boost::prepare(
        benign.train.iter().copied(),
        benign.calibration.iter().copied(),
        benign.test.iter().copied(),
        other,
        dga_rows(dga_csv),
        min_len,
    );
    candidates
        .iter()
        .map(|&c| DgaEval {
            candidate: c.name(),
            families: boost::leave_families_out(&prepared, c, &mut progress),
            other_lists: other.iter().map(|(n, _)| (*n).to_owned()).collect(),
        })
        .collect()
}

/// `(family, domain)` rows of `dga_train.csv` (header skipped).
pub fn dga_rows(csv: &str) -> impl Iterator<Item = (&str, &str)> + Clone {
    csv.lines().skip(1).filter_map(|l| l.trim().split_once(','))
}
