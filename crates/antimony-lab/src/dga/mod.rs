//! Training and evaluating the DGA model that [`antimony_detect::detectors::dga`] scores
//! with. That module's docs describe the model, how it is trained (deterministically, benign
//! features leave-one-out, the score calibrated on half of the long tail) and the numbers
//! measured.
//!
//! - [`train_shipped`] (behind `antimony train dga`) builds the shipped model: [`train`]
//!   (the benign character model and the logistic regression, fitted by [`logistic`]), then
//!   [`boost::train_boosted`] (the forest over the extended features, trained by
//!   [`crate::gbdt`], and its calibration). `tests/dga_model.rs` checks that retraining gives
//!   the committed `antimony-detect/models/dga.txt` (`ANTIMONY_UPDATE_MODELS=1` rewrites it).
//! - [`label_of`] reduces a raw name to the label training and evaluation see;
//!   [`is_held_out`] picks the fixed fifth of Alexa held out of training; [`BenignSplit`]
//!   cuts the long tail into the halves that calibrate and test the score.
//! - [`evaluate`] measures a model at a threshold; [`boost::leave_families_out`] compares
//!   the candidates, each family scored by a model trained without it.

// Numeric code indexing several parallel arrays by one index reads best as index loops.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeSet;

use antimony_core::StableHasher;
use antimony_detect::detectors::dga::features::{
    Counts, F_LENGTH, F_LL_EVIDENCE, F_MEAN_LL, Features, NF, S, Tri, features_with,
    for_each_quadgram, for_each_trigram, quad_index, tri_index,
};
use antimony_detect::detectors::dga::model::{Model, Regression, probability_score};

pub mod boost;
mod evaluation;
pub mod logistic;

pub use evaluation::{Evaluation, evaluate};

use logistic::fit_logistic;

/// Labels shorter than this are not scored: short benign labels (`bbc`, `jd`, `vk`) are as
/// random-looking as DGA output, and no character model tells them apart.
pub const DEFAULT_MIN_LABEL_LEN: usize = 7;

/// Benign false-positive rate the recommended threshold is chosen for (on training names,
/// leave-one-out).
pub const TARGET_FPR: f64 = 0.003;

/// The registered label of a raw domain name, as training and evaluation see it: normalised,
/// first label of the registered domain. `None` for names without one, or internationalised.
pub fn label_of(raw: &str) -> Option<String> {
    let name = antimony_dns::domain::normalise(raw.trim()).ok()?;
    let rd = antimony_dns::domain::registered_domain(&name)?;
    let label = rd.split('.').next()?;
    if label.is_empty() || label.starts_with("xn--") {
        return None;
    }
    Some(label.to_owned())
}

/// True for the fixed fifth of labels held out of training for evaluation (by a stable hash
/// of the label, so the split does not depend on file order and a label is never on both
/// sides).
pub fn is_held_out(label: &str) -> bool {
    StableHasher::new()
        .field(b"antimony-dga-holdout-v1")
        .field(label.as_bytes())
        .finish()
        .is_multiple_of(5)
}

/// Alexa ranks above this are the long tail: the benign side that calibrates and tests the
/// score (popular names look tidier than the names a CERT's clients mostly resolve).
pub const LONG_TAIL_RANK: usize = 10_000;

/// True for the half of held-out labels that calibrate the score; the other half tests it
/// (a second stable hash, so no label calibrates and tests).
fn calibrates(label: &str) -> bool {
    StableHasher::new()
        .field(b"antimony-dga-calibration-v1")
        .field(label.as_bytes())
        .finish()
        .is_multiple_of(2)
}

/// The benign names of the shared data, split once: `train` (Alexa's `benign_top.txt` minus
/// the held-out fifth, [`is_held_out`]) fits the model; the long tail, Alexa's held-out names
/// ranked past [`LONG_TAIL_RANK`] and `opendns_random_10k.txt` (names never trained on), is
/// cut in two halves by a second hash: `calibration` sets the score's thresholds, `test`
/// measures the false-positive rate on names used for neither.
#[derive(Clone, Debug, Default)]
pub struct BenignSplit<'a> {
    /// Names the model is fitted on.
    pub train: Vec<&'a str>,
    /// Long-tail names the score is calibrated on.
    pub calibration: Vec<&'a str>,
    /// Long-tail names used for nothing but measuring.
    pub test: Vec<&'a str>,
}

impl<'a> BenignSplit<'a> {
    /// Splits the texts of `benign_top.txt`, `alexa_100k_ranked.csv` (`rank,domain`) and
    /// `opendns_random_10k.txt`.
    pub fn new(benign_top: &'a str, alexa_ranked: &'a str, random: &'a str) -> Self {
        let mut split = BenignSplit::default();
        let mut trained: BTreeSet<String> = BTreeSet::new();
        for name in crate::eval::lines(benign_top) {
            if let Some(label) = label_of(name)
                && !is_held_out(&label)
            {
                trained.insert(label);
                split.train.push(name);
            }
        }
        let ranked = crate::eval::lines(alexa_ranked).filter_map(|l| {
            let (rank, name) = l.split_once(',')?;
            (rank.parse::<usize>().ok()? > LONG_TAIL_RANK).then_some(name)
        });
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for name in ranked.chain(crate::eval::lines(random)) {
            let Some(label) = label_of(name) else {
                continue;
            };
            // Held-out Alexa labels only (the rest trained), never a label trained on, once.
            let alexa_trained = trained.contains(&label);
            if alexa_trained || !seen.insert(label.clone()) {
                continue;
            }
            if calibrates(&label) {
                split.calibration.push(name);
            } else {
                split.test.push(name);
            }
        }
        split
    }
}

/// Trains a model on benign names and `(family, name)` DGA names (raw domain names; each is
/// reduced to its registered label, and labels are de-duplicated). Use [`is_held_out`] to keep
/// an evaluation set out. Deterministic: the same names give the same model.
pub fn train<'a>(
    benign: impl IntoIterator<Item = &'a str>,
    dga: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Model {
    let min_len = DEFAULT_MIN_LABEL_LEN;
    let benign: BTreeSet<String> = benign.into_iter().filter_map(label_of).collect();
    // A label that is in both sets (a DGA that hit a real name) is left out of the DGA side.
    let dga: BTreeSet<String> = dga
        .into_iter()
        .filter_map(|(_, name)| label_of(name))
        .filter(|l| !benign.contains(l))
        .collect();

    let counts = benign_counts(&benign);

    // Features: benign leave-one-out, DGA against the full counts.
    let mut rows: Vec<(Features, bool)> = Vec::new();
    let mut own: Vec<Tri> = Vec::with_capacity(64);
    for label in benign.iter().filter(|l| l.len() >= min_len) {
        own.clear();
        for_each_trigram(label.as_bytes(), |t| own.push(t));
        let f = features_with(label.as_bytes(), 0.0, |t| {
            (counts.logp(t, &own), counts.seen(t, &own))
        });
        rows.push((f, false));
    }
    for label in dga.iter().filter(|l| l.len() >= min_len) {
        let f = features_with(label.as_bytes(), 0.0, |t| {
            (counts.logp(t, &[]), counts.seen(t, &[]))
        });
        rows.push((f, true));
    }
    // `ll_evidence` is centred on the benign mean, known only now.
    let benign_rows = rows.iter().filter(|(_, y)| !y).count().max(1) as f64;
    let ll_centre = rows
        .iter()
        .filter(|(_, y)| !y)
        .map(|(f, _)| f[F_MEAN_LL])
        .sum::<f64>()
        / benign_rows;
    for (f, _) in &mut rows {
        f[F_LL_EVIDENCE] = (f[F_MEAN_LL] - ll_centre) * (f[F_LENGTH] + 1.0).sqrt();
    }

    let n = rows.len().max(1) as f64;
    let mut mean = [0.0; NF];
    let mut std = [0.0; NF];
    let mut typical = [0.0; NF];
    let n_benign = rows.iter().filter(|(_, y)| !y).count().max(1) as f64;
    for (f, y) in &rows {
        for i in 0..NF {
            mean[i] += f[i] / n;
            if !y {
                typical[i] += f[i] / n_benign;
            }
        }
    }
    for (f, _) in &rows {
        for i in 0..NF {
            std[i] += (f[i] - mean[i]).powi(2) / n;
        }
    }
    for s in &mut std {
        *s = s.sqrt().max(1e-9);
    }
    let standard: Vec<(Features, bool)> = rows
        .iter()
        .map(|(f, y)| {
            let mut z = [0.0; NF];
            for i in 0..NF {
                z[i] = (f[i] - mean[i]) / std[i];
            }
            (z, *y)
        })
        .collect();
    let (weights, bias) = fit_logistic(&standard);

    let reg = Regression {
        mean,
        std,
        typical,
        weights,
        bias,
        ll_centre,
    };
    let mut model = Model::from_parts(counts, reg, 100, min_len);
    // Recommended threshold: the lowest score at which benign training names (leave-one-out)
    // fire at most TARGET_FPR of the time.
    let mut hist = [0usize; 101];
    for (f, y) in &rows {
        if !y {
            hist[usize::from(probability_score(model.log_odds_fast(f)))] += 1;
        }
    }
    let mut above = 0usize;
    for t in (0..=100u8).rev() {
        above += hist[usize::from(t)];
        if above as f64 / n_benign > TARGET_FPR {
            model.threshold = t.saturating_add(1).min(100);
            break;
        }
    }
    model
}

/// Trains the model shipped in `models/dga.txt` from the shared data's texts: the benign
/// training names of [`BenignSplit`] and every row of `dga_train.csv` train it; the split's
/// long-tail calibration half calibrates its score. Deterministic.
pub fn train_shipped(benign: &BenignSplit<'_>, dga_csv: &str) -> Model {
    boost::train_boosted(
        benign.train.iter().copied(),
        benign.calibration.iter().copied(),
        crate::eval::dga_rows(dga_csv),
    )
}

/// Trigram and four-gram counts of benign labels.
fn benign_counts(labels: &BTreeSet<String>) -> Counts {
    let mut tri = vec![0u32; S * S * S];
    let mut quad = vec![0u32; S * S * S * S];
    for label in labels {
        for_each_trigram(label.as_bytes(), |t| tri[tri_index(t)] += 1);
        for_each_quadgram(label.as_bytes(), |q| quad[quad_index(q)] += 1);
    }
    Counts::from_tables(tri, quad)
}
