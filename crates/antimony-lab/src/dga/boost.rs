//! The DGA candidates (the logistic regression over the ten features, gradient-boosted trees
//! over the extended ones, and a blend of both), fitting them, the leave-families-out
//! evaluation that compares them, and the training of the shipped boosted model. The
//! extended features themselves are [`antimony_detect::detectors::dga::features`]'s.

use std::collections::{BTreeMap, BTreeSet};

use antimony_detect::detectors::dga::features::{
    Counts, F_LENGTH, F_MEAN_LL, Features, NF, NX, Quad, Tri, XFeatures, for_each_quadgram,
    for_each_trigram, xfeatures_with,
};
use antimony_detect::detectors::dga::model::{
    Boosted as ShippedBoosted, CALIBRATED_SCORES, Model, probability_score, sigmoid,
};
use antimony_detect::detectors::gbdt::Forest;

use super::label_of;
use super::logistic::fit_logistic;
use crate::gbdt::{self, Params};

/// The extended features of a label against `counts`, leaving its own trigrams out when
/// `leave_one_out` (for benign training names).
pub fn xfeatures(counts: &Counts, label: &[u8], ll_centre: f64, leave_one_out: bool) -> XFeatures {
    let mut own: Vec<Tri> = Vec::new();
    let mut own4: Vec<Quad> = Vec::new();
    if leave_one_out {
        for_each_trigram(label, |t| own.push(t));
        for_each_quadgram(label, |q| own4.push(q));
    }
    xfeatures_with(
        label,
        ll_centre,
        |t| {
            (
                counts.logp(t, &own),
                counts.seen(t, &own),
                counts.logp2(t, &own),
            )
        },
        |q| (counts.logp4(q, &own4, &own), counts.seen4(q, &own4)),
    )
}

/// Which classifier to train.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Candidate {
    /// The shipped-before model: ten features, logistic regression.
    Logistic,
    /// Gradient-boosted trees over the extended features.
    Boosted(Params),
    /// The sum of both models' log-odds.
    Blend(Params),
}

impl Candidate {
    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            Candidate::Logistic => "trigram+logistic (10 features)".to_owned(),
            Candidate::Boosted(p) => format!(
                "gradient boosting ({} features, {} trees of depth {})",
                NX, p.rounds, p.depth
            ),
            Candidate::Blend(p) => format!(
                "logistic + gradient boosting ({} trees of depth {}), log-odds summed",
                p.rounds, p.depth
            ),
        }
    }
}

/// A trained classifier over precomputed features.
#[derive(Clone, Debug)]
pub enum Fitted {
    /// Logistic regression on standardised features: (weights, bias, mean, std).
    Logistic(Features, f64, Features, Features),
    /// A forest.
    Boosted(Forest),
    /// Both, log-odds summed.
    Blend(Box<Fitted>, Box<Fitted>),
}

impl Fitted {
    /// Log-odds of a row.
    pub fn log_odds(&self, x: &XFeatures) -> f64 {
        match self {
            Fitted::Logistic(w, b, mean, std) => {
                let mut z = *b;
                for i in 0..NF {
                    z += w[i] * (x[i] - mean[i]) / std[i];
                }
                z
            }
            Fitted::Boosted(f) => f.log_odds(x),
            Fitted::Blend(a, b) => a.log_odds(x) + b.log_odds(x),
        }
    }
}

/// Fits a candidate on rows (features, is DGA), classes weighted to equal total weight.
pub fn fit(candidate: Candidate, rows: &[(XFeatures, bool)]) -> Fitted {
    match candidate {
        Candidate::Logistic => {
            let n = rows.len().max(1) as f64;
            let mut mean = [0.0; NF];
            let mut std = [0.0; NF];
            for (x, _) in rows {
                for i in 0..NF {
                    mean[i] += x[i] / n;
                }
            }
            for (x, _) in rows {
                for i in 0..NF {
                    std[i] += (x[i] - mean[i]).powi(2) / n;
                }
            }
            for s in &mut std {
                *s = s.sqrt().max(1e-9);
            }
            let standard: Vec<(Features, bool)> = rows
                .iter()
                .map(|(x, y)| (std::array::from_fn(|i| (x[i] - mean[i]) / std[i]), *y))
                .collect();
            let (w, b) = fit_logistic(&standard);
            Fitted::Logistic(w, b, mean, std)
        }
        Candidate::Blend(params) => Fitted::Blend(
            Box::new(fit(Candidate::Logistic, rows)),
            Box::new(fit(Candidate::Boosted(params), rows)),
        ),
        Candidate::Boosted(params) => {
            let pos = rows.iter().filter(|(_, y)| *y).count().max(1) as f64;
            let neg = rows.iter().filter(|(_, y)| !y).count().max(1) as f64;
            let data: Vec<Vec<f64>> = rows.iter().map(|(x, _)| x.to_vec()).collect();
            let labels: Vec<bool> = rows.iter().map(|(_, y)| *y).collect();
            let weights: Vec<f64> = labels
                .iter()
                .map(|&y| if y { 0.5 / pos } else { 0.5 / neg } * (pos + neg))
                .collect();
            Fitted::Boosted(gbdt::train(&data, &labels, &weights, &params))
        }
    }
}

/// Features of every label of the evaluation, computed once: the benign character model is
/// built from the benign training labels only, so it does not depend on the fold.
pub struct Prepared {
    /// Benign training labels (leave-one-out features).
    pub benign_train: Vec<XFeatures>,
    /// Benign labels that set the thresholds (the long tail's calibration half).
    pub benign_calibration: Vec<XFeatures>,
    /// Benign labels that measure the false-positive rate (the long tail's test half).
    pub benign_test: Vec<XFeatures>,
    /// Other benign lists (name, features), never trained on.
    pub other_benign: Vec<(String, Vec<XFeatures>)>,
    /// DGA labels per family (too-short labels count as missed: `None`).
    pub dga: BTreeMap<String, Vec<Option<XFeatures>>>,
    /// Shortest label scored.
    pub min_len: usize,
}

/// Prepares features: `benign_train` builds the character model; `benign_calibration`,
/// `benign_test` and `other` are scored against it; `dga` is `(family, name)`.
pub fn prepare<'a>(
    benign_train: impl IntoIterator<Item = &'a str>,
    benign_calibration: impl IntoIterator<Item = &'a str>,
    benign_test: impl IntoIterator<Item = &'a str>,
    other: &[(&str, &str)],
    dga: impl IntoIterator<Item = (&'a str, &'a str)>,
    min_len: usize,
) -> Prepared {
    let train: BTreeSet<String> = benign_train.into_iter().filter_map(label_of).collect();
    let counts = super::benign_counts(&train);
    let centre = {
        let mut s = 0.0;
        let mut k = 0usize;
        for l in train.iter().filter(|l| l.len() >= min_len) {
            s += xfeatures(&counts, l.as_bytes(), 0.0, true)[F_MEAN_LL];
            k += 1;
        }
        s / k.max(1) as f64
    };
    let feats = |labels: &BTreeSet<String>, loo: bool| -> Vec<XFeatures> {
        labels
            .iter()
            .filter(|l| l.len() >= min_len)
            .map(|l| xfeatures(&counts, l.as_bytes(), centre, loo))
            .collect()
    };
    let held = |names: &mut dyn Iterator<Item = &str>| -> BTreeSet<String> {
        names
            .filter_map(label_of)
            .filter(|l| !train.contains(l))
            .collect()
    };
    let calibration = held(&mut benign_calibration.into_iter());
    let test = held(&mut benign_test.into_iter());
    let mut prepared_dga: BTreeMap<String, Vec<Option<XFeatures>>> = BTreeMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (family, name) in dga {
        let Some(label) = label_of(name) else {
            continue;
        };
        if train.contains(&label) || !seen.insert(label.clone()) {
            continue;
        }
        let x =
            (label.len() >= min_len).then(|| xfeatures(&counts, label.as_bytes(), centre, false));
        prepared_dga.entry(family.to_owned()).or_default().push(x);
    }
    // Too-short benign labels are never scored: they count in the denominator as negatives
    // that cannot fire, so an FPR is over all held-out labels.
    let rows_of = |labels: &BTreeSet<String>| {
        let mut v = feats(labels, false);
        let short = labels.iter().filter(|l| l.len() < min_len).count();
        v.extend(std::iter::repeat_n([f64::NAN; NX], short));
        v
    };
    let other_benign = other
        .iter()
        .map(|(name, text)| {
            let labels: BTreeSet<String> = crate::eval::lines(text).filter_map(label_of).collect();
            ((*name).to_owned(), rows_of(&labels))
        })
        .collect();
    Prepared {
        benign_train: feats(&train, true),
        benign_calibration: rows_of(&calibration),
        benign_test: rows_of(&test),
        other_benign,
        dga: prepared_dga,
        min_len,
    }
}

/// Benign false-positive rates the evaluation reports recall at.
pub const FPRS: [f64; 3] = [1e-2, 1e-3, 1e-4];

/// One family's result in a leave-families-out run.
#[derive(Clone, Debug, Default)]
pub struct FamilyResult {
    /// DGA labels of the family (distinct).
    pub total: usize,
    /// Caught at each of [`FPRS`].
    pub caught: [usize; 3],
    /// The FPR on the benign test labels (never trained on nor calibrated on) at each
    /// threshold.
    pub fpr: [f64; 3],
    /// FPR on each other benign list at each threshold.
    pub other_fpr: Vec<[f64; 3]>,
}

/// The log-odds threshold at which at most `fpr` of `scores` (benign, sorted descending)
/// are at or above it.
fn threshold_at(sorted_desc: &[f64], fpr: f64) -> f64 {
    let allowed = (fpr * sorted_desc.len() as f64).floor() as usize;
    match sorted_desc.get(allowed) {
        // Strictly above the first benign score that must not fire.
        Some(&s) => s + 1e-9,
        None => f64::NEG_INFINITY,
    }
}

fn rate_above(scores: &[f64], t: f64) -> f64 {
    scores.iter().filter(|&&s| s >= t).count() as f64 / scores.len().max(1) as f64
}

fn scores(model: &Fitted, rows: &[XFeatures]) -> Vec<f64> {
    rows.iter()
        .map(|x| {
            if x[0].is_nan() {
                f64::NEG_INFINITY
            } else {
                model.log_odds(x)
            }
        })
        .collect()
}

/// Leave-families-out: for each family, trains `candidate` on the benign training labels and
/// every *other* family, picks thresholds on the benign calibration labels at [`FPRS`],
/// counts how many of the left-out family's labels reach them, and measures the benign FPR
/// on the test labels.
pub fn leave_families_out(
    p: &Prepared,
    candidate: Candidate,
    mut progress: impl FnMut(&str),
) -> BTreeMap<String, FamilyResult> {
    let mut out = BTreeMap::new();
    for held in p.dga.keys() {
        progress(held);
        let mut rows: Vec<(XFeatures, bool)> = p.benign_train.iter().map(|x| (*x, false)).collect();
        for (family, xs) in &p.dga {
            if family != held {
                rows.extend(xs.iter().flatten().map(|x| (*x, true)));
            }
        }
        let model = fit(candidate, &rows);
        let mut calibration = scores(&model, &p.benign_calibration);
        calibration.sort_by(|a, b| b.total_cmp(a));
        let benign = scores(&model, &p.benign_test);
        let family = &p.dga[held];
        let fam_scores: Vec<f64> = family
            .iter()
            .map(|x| x.map_or(f64::NEG_INFINITY, |x| model.log_odds(&x)))
            .collect();
        let others: Vec<Vec<f64>> = p
            .other_benign
            .iter()
            .map(|(_, rows)| scores(&model, rows))
            .collect();
        let mut r = FamilyResult {
            total: family.len(),
            other_fpr: vec![[0.0; 3]; others.len()],
            ..FamilyResult::default()
        };
        for (k, &fpr) in FPRS.iter().enumerate() {
            let t = threshold_at(&calibration, fpr);
            r.caught[k] = fam_scores.iter().filter(|&&s| s >= t).count();
            r.fpr[k] = rate_above(&benign, t);
            for (o, s) in others.iter().enumerate() {
                r.other_fpr[o][k] = rate_above(s, t);
            }
        }
        out.insert(held.clone(), r);
    }
    out
}

/// The boosted model as shipped: the benign character model's centre and the forest.
#[derive(Clone, Debug)]
pub struct Boosted {
    /// The forest over [`XFeatures`].
    pub forest: Forest,
}

impl Boosted {
    /// Probability score 0-100 of a row.
    pub fn score(&self, x: &XFeatures) -> u8 {
        probability_score(self.forest.log_odds(x))
    }

    /// Probability of a row.
    pub fn probability(&self, x: &XFeatures) -> f64 {
        sigmoid(self.forest.log_odds(x))
    }
}

/// Index of the `length` feature (for reasons).
pub const LENGTH: usize = F_LENGTH;

/// Parameters of the shipped forest (chosen by the leave-families-out comparison).
pub const SHIPPED_PARAMS: Params = Params {
    rounds: 100,
    depth: 3,
    learning_rate: 0.15,
    lambda: 1.0,
    min_child_weight: 2.0,
};

/// Shortest label the shipped model scores.
pub const SHIPPED_MIN_LABEL_LEN: usize = 6;

/// Trains the shipped model: the benign character model and logistic regression of
/// [`train`](super::train) on `benign_train` and `dga`, then the forest over the extended
/// features, with its score calibrated on `benign_calibration` (names never trained on).
pub fn train_boosted<'a>(
    benign_train: impl IntoIterator<Item = &'a str>,
    benign_calibration: impl IntoIterator<Item = &'a str>,
    dga: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Model {
    let benign_train: Vec<&str> = benign_train.into_iter().collect();
    let mut model = super::train(benign_train.iter().copied(), dga.clone());
    let min_len = SHIPPED_MIN_LABEL_LEN;
    let train_labels: BTreeSet<String> =
        benign_train.iter().copied().filter_map(label_of).collect();
    let counts = model.counts();
    let centre = model.regression().ll_centre;
    let mut rows: Vec<(XFeatures, bool)> = Vec::new();
    let mut typical = [0.0; NX];
    for l in train_labels.iter().filter(|l| l.len() >= min_len) {
        let x = xfeatures(counts, l.as_bytes(), centre, true);
        for i in 0..NX {
            typical[i] += x[i];
        }
        rows.push((x, false));
    }
    let n_benign = rows.len().max(1) as f64;
    for t in &mut typical {
        *t /= n_benign;
    }
    let dga_labels: BTreeSet<String> = dga
        .into_iter()
        .filter_map(|(_, n)| label_of(n))
        .filter(|l| l.len() >= min_len && !train_labels.contains(l))
        .collect();
    for l in &dga_labels {
        rows.push((xfeatures(counts, l.as_bytes(), centre, false), true));
    }
    let Fitted::Boosted(forest) = fit(Candidate::Boosted(SHIPPED_PARAMS), &rows) else {
        return model;
    };
    model.min_label_len = min_len;
    // Calibrate on names never trained on, with the run-time feature arithmetic.
    let calibration: BTreeSet<String> = benign_calibration
        .into_iter()
        .filter_map(label_of)
        .filter(|l| !train_labels.contains(l))
        .collect();
    let mut z: Vec<f64> = calibration
        .iter()
        .map(|l| {
            if l.len() >= min_len {
                forest.log_odds(&model.xfeatures(l))
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect();
    z.sort_by(|a, b| b.total_cmp(a));
    let points = [1e-1, 1e-2, 1e-3, 1e-4].map(|f| {
        let t = threshold_at(&z, f);
        if t.is_finite() { t } else { -10.0 }
    });
    model.set_boosted(ShippedBoosted {
        forest,
        calibration: points,
        typical,
    });
    model.threshold = CALIBRATED_SCORES[2] as u8;
    model
}
