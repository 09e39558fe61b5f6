//! A trained DGA model and its scoring: [`Model`] (the benign trigram counts, the logistic
//! [`Regression`] and, in the shipped model, the [`Boosted`] forest with its calibration),
//! the hot path `check` takes and the breakdown `explain` gives ([`Score`]). The model file's
//! text form is read and written in `model_file.rs` ([`Model::parse`], [`Model::to_text`]).

use std::sync::LazyLock;

use super::features::{
    Counts, Features, NF, NX, S, XFeatures, features_with, mix4, tri_index, xfeatures_with,
};
use super::model_file::ModelError;
use crate::detectors::gbdt::Forest;

/// The built-in model, compiled in.
pub const BUILTIN_MODEL: &str = include_str!("../../../models/dga.txt");

/// A trained DGA model: benign trigram counts plus a logistic regression.
#[derive(Clone, Debug)]
pub struct Model {
    pub(super) counts: Counts,
    /// log P(c | a b) for every trigram, precomputed from `counts`, negated for trigrams never
    /// seen: one table read per trigram gives both.
    logp: Vec<f32>,
    /// log P(c | b), add-one smoothed, for the boosted model's bigram feature.
    logp2: Vec<f32>,
    /// P(c | a b), the interpolated trigram probability the four-gram estimate is mixed with.
    p3: Vec<f32>,
    pub(super) reg: Regression,
    /// `weights / std` and `bias - sum(weights * mean / std)`: the regression on raw features.
    folded: (Features, f64),
    /// Recommended threshold (score at or above which the detector fires).
    pub threshold: u8,
    /// Labels shorter than this are not scored.
    pub min_label_len: usize,
    /// The boosted model, when the file has one: it then decides the score.
    pub(super) boosted: Option<Boosted>,
}

/// The shipped classifier: a forest over the extended features, and the log-odds at which
/// held-out benign names reach false-positive rates of 1e-1, 1e-2, 1e-3 and 1e-4 (the score
/// is calibrated on them: 30, 50, 70, 85).
#[derive(Clone, Debug, PartialEq)]
pub struct Boosted {
    /// The forest over the extended features.
    pub forest: Forest,
    /// Log-odds at benign false-positive rates 1e-1, 1e-2, 1e-3 and 1e-4.
    pub calibration: [f64; 4],
    /// Mean of each extended feature over benign training names.
    pub typical: XFeatures,
}

/// Scores at the calibration points of [`Boosted::calibration`].
pub const CALIBRATED_SCORES: [f64; 4] = [30.0, 50.0, 70.0, 85.0];

impl Boosted {
    /// The calibrated 0-100 score of a log-odds: piecewise linear through the calibration
    /// points, 0 four units of log-odds below the first and 100 four above the last.
    fn score(&self, z: f64) -> u8 {
        let c = &self.calibration;
        let knots = [
            (c[0] - 4.0, 0.0),
            (c[0], CALIBRATED_SCORES[0]),
            (c[1], CALIBRATED_SCORES[1]),
            (c[2], CALIBRATED_SCORES[2]),
            (c[3], CALIBRATED_SCORES[3]),
            (c[3] + 4.0, 100.0),
        ];
        if z <= knots[0].0 {
            return 0;
        }
        for w in knots.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if z < x1 {
                let t = if x1 > x0 { (z - x0) / (x1 - x0) } else { 1.0 };
                return (y0 + t * (y1 - y0)).floor().clamp(0.0, 100.0) as u8;
            }
        }
        100
    }
}

/// The logistic regression over standardised features.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    /// Per feature: mean over training names (for standardising).
    pub mean: Features,
    /// Per feature: standard deviation over training names (for standardising).
    pub std: Features,
    /// Per feature: mean over benign training names ("typical", for reasons).
    pub typical: Features,
    /// Per feature: weight of the standardised value.
    pub weights: Features,
    /// Log-odds when every standardised feature is 0.
    pub bias: f64,
    /// Mean `mean_ll` of benign training names, the centre of `ll_evidence`.
    pub ll_centre: f64,
}

/// The score of one label and what drove it.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// 0-100.
    pub score: u8,
    /// The features (the ten of [`FEATURES`](super::FEATURES), then [`EXTRA`](super::EXTRA)).
    pub features: XFeatures,
    /// Each feature's contribution to the log-odds (logistic: weight x standardised value;
    /// boosted: the Saabas attribution along each tree's path).
    pub contributions: XFeatures,
}

impl Model {
    /// The model compiled into this crate.
    /// Parsed once per process: each worker's detectors take a clone, which shares the
    /// four-gram counts.
    pub fn builtin() -> Result<Self, ModelError> {
        static BUILTIN: LazyLock<Result<Model, ModelError>> =
            LazyLock::new(|| Model::parse(BUILTIN_MODEL));
        BUILTIN.clone()
    }

    /// A logistic model from its parts (what training builds); the boosted classifier, if
    /// any, is added with [`Model::set_boosted`].
    pub fn from_parts(
        counts: Counts,
        reg: Regression,
        threshold: u8,
        min_label_len: usize,
    ) -> Self {
        let mut logp = vec![0f32; S * S * S];
        let mut p3 = vec![0f32; S * S * S];
        for a in 0..S {
            for b in 0..S {
                for c in 0..S {
                    let i = tri_index((a, b, c));
                    let lp = counts.logp((a, b, c), &[]);
                    p3[i] = lp.exp() as f32;
                    let lp = lp as f32;
                    logp[i] = if counts.tri[i] > 0 {
                        -lp.abs()
                    } else {
                        lp.abs()
                    };
                }
            }
        }
        let mut folded = ([0.0; NF], reg.bias);
        for i in 0..NF {
            folded.0[i] = reg.weights[i] / reg.std[i];
            folded.1 -= reg.weights[i] * reg.mean[i] / reg.std[i];
        }
        let mut logp2 = vec![0f32; S * S];
        for b in 0..S {
            for c in 0..S {
                let bi = counts.bi[b * S + c] as f64;
                let mid = counts.mid[b] as f64;
                logp2[b * S + c] = ((bi + 1.0) / (mid + S as f64)).ln() as f32;
            }
        }
        Model {
            counts,
            logp,
            logp2,
            p3,
            folded,
            reg,
            threshold,
            min_label_len,
            boosted: None,
        }
    }

    /// The features of a label (lower case), as the model sees it at run time.
    pub fn features(&self, label: &str) -> Features {
        features_with(label.as_bytes(), self.reg.ll_centre, |t| {
            let v = self.logp.get(tri_index(t)).copied().unwrap_or(0.0);
            (-f64::from(v.abs()), v.is_sign_negative())
        })
    }

    /// The log-odds alone, with the standardisation folded into the weights (the hot path).
    pub fn log_odds_fast(&self, f: &Features) -> f64 {
        let mut z = self.folded.1;
        for i in 0..NF {
            z += self.folded.0[i] * f[i];
        }
        z
    }

    /// The extended features of a label (lower case), as the boosted model sees them.
    pub fn xfeatures(&self, label: &str) -> XFeatures {
        xfeatures_with(
            label.as_bytes(),
            self.reg.ll_centre,
            |t| {
                let v = self.logp.get(tri_index(t)).copied().unwrap_or(0.0);
                let (_, b, c) = t;
                let lp2 = self.logp2.get(b * S + c).copied().unwrap_or(0.0);
                (-f64::from(v.abs()), v.is_sign_negative(), f64::from(lp2))
            },
            |q| {
                let (n, ctx) = self.counts.quad_counts(q);
                let (_, b, c, d) = q;
                let p3 = self.p3.get(tri_index((b, c, d))).copied().unwrap_or(0.0);
                let p4 = (ctx > 0).then(|| f64::from(n) / ctx as f64);
                (mix4(p4, f64::from(p3)), n > 0)
            },
        )
    }

    /// True when the model has the boosted classifier.
    pub fn is_boosted(&self) -> bool {
        self.boosted.is_some()
    }

    /// Adds the boosted classifier, which then decides the score.
    pub fn set_boosted(&mut self, boosted: Boosted) {
        self.boosted = Some(boosted);
    }

    /// The benign trigram counts.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The logistic regression.
    pub fn regression(&self) -> &Regression {
        &self.reg
    }

    /// The score of a label, without the breakdown (the hot path; [`Model::score_label`]
    /// explains it too).
    pub fn score_fast(&self, label: &str) -> u8 {
        match &self.boosted {
            Some(b) => b.score(b.forest.log_odds(&self.xfeatures(label))),
            None => probability_score(self.log_odds_fast(&self.features(label))),
        }
    }

    /// The log-odds and each feature's contribution to it.
    fn log_odds(&self, f: &Features) -> (f64, Features) {
        let r = &self.reg;
        let mut z = r.bias;
        let mut contributions = [0.0; NF];
        for i in 0..NF {
            let c = r.weights[i] * (f[i] - r.mean[i]) / r.std[i];
            contributions[i] = c;
            z += c;
        }
        (z, contributions)
    }

    /// Scores a label (lower case), whatever its length.
    pub fn score_label(&self, label: &str) -> Score {
        if let Some(b) = &self.boosted {
            let features = self.xfeatures(label);
            let (z, c) = b.forest.explain(&features);
            let mut contributions = [0.0; NX];
            for (i, v) in c.into_iter().enumerate().take(NX) {
                contributions[i] = v;
            }
            return Score {
                score: b.score(z),
                features,
                contributions,
            };
        }
        let base = self.features(label);
        let (_, c) = self.log_odds(&base);
        let mut features = [0.0; NX];
        let mut contributions = [0.0; NX];
        features[..NF].copy_from_slice(&base);
        contributions[..NF].copy_from_slice(&c);
        // The score comes from the same arithmetic as the hot path, so `check` and `explain`
        // agree at the threshold.
        Score {
            score: probability_score(self.log_odds_fast(&base)),
            features,
            contributions,
        }
    }

    /// Typical (benign mean) value of each extended feature.
    pub fn xtypical(&self) -> XFeatures {
        match &self.boosted {
            Some(b) => b.typical,
            None => {
                let mut t = [0.0; NX];
                t[..NF].copy_from_slice(&self.reg.typical);
                t
            }
        }
    }

    /// Typical (benign mean) value of each feature.
    pub fn typical(&self) -> &Features {
        &self.reg.typical
    }

    /// Largest difference between two models' numbers (trigram counts must be equal), for
    /// checking that retraining gives the committed model.
    pub fn max_difference(&self, other: &Model) -> Option<f64> {
        if self.counts.tri != other.counts.tri
            || self.counts.quad != other.counts.quad
            || self.threshold != other.threshold
            || self.min_label_len != other.min_label_len
        {
            return None;
        }
        match (&self.boosted, &other.boosted) {
            (None, None) => {}
            (Some(x), Some(y)) if x.forest.trees.len() == y.forest.trees.len() => {
                let mut d = (x.forest.base - y.forest.base).abs();
                for (tx, ty) in x.forest.trees.iter().zip(&y.forest.trees) {
                    if tx.len() != ty.len() {
                        return None;
                    }
                    for (nx, ny) in tx.iter().zip(ty) {
                        if nx.feature != ny.feature || nx.left != ny.left {
                            return None;
                        }
                        d = d
                            .max(f64::from((nx.threshold - ny.threshold).abs()))
                            .max(f64::from((nx.value - ny.value).abs()));
                    }
                }
                if d > 1e-4 {
                    return Some(d);
                }
            }
            _ => return None,
        }
        let (a, b) = (&self.reg, &other.reg);
        let mut d = (a.bias - b.bias)
            .abs()
            .max((a.ll_centre - b.ll_centre).abs());
        for i in 0..NF {
            for (x, y) in [
                (a.mean[i], b.mean[i]),
                (a.std[i], b.std[i]),
                (a.weights[i], b.weights[i]),
                (a.typical[i], b.typical[i]),
            ] {
                d = d.max((x - y).abs() / y.abs().max(1.0));
            }
        }
        Some(d)
    }
}

/// The logistic function: the probability of a log-odds.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A probability score 0-100 of a log-odds (the logistic model's score).
pub fn probability_score(z: f64) -> u8 {
    (sigmoid(z) * 100.0).round().clamp(0.0, 100.0) as u8
}
