//! DGA names: registered domains that look machine-generated.
//!
//! # Model
//!
//! The score looks at the registered label (`afadsfasdfsafwerwqerqqiye` for
//! `afadsfasdfsafwerwqerqqiye.cn`): the part the malware's author had to generate and register.
//! Ten features are computed in one pass over it, without allocating:
//!
//! | feature | what |
//! |---|---|
//! | `mean_ll` | mean log-probability of each character given the two before it, under a character trigram model of **benign** names (interpolated with bigram and unigram estimates; the label is padded with boundary marks) |
//! | `ll_evidence` | `(mean_ll - benign mean) x sqrt(trigrams)`: how far below typical, in units that grow with length, so a long label a little unusual throughout counts like a short one very unusual |
//! | `unseen` | share of the label's character triples never seen in benign names |
//! | `length` | characters |
//! | `digits` | share of digits |
//! | `vowels` | share of vowels (`aeiouy`) among letters |
//! | `vowel_dev` | distance of that share from 0.4 (too few and too many are both odd) |
//! | `consonant_run` | longest run of consonants |
//! | `entropy` | Shannon entropy of the characters, bits |
//! | `hyphens` | number of hyphens |
//!
//! Two classifiers were measured over these features, leave-families-out (each of the 22
//! families of `dga_train.csv` scored by a model trained without it, thresholds set on a
//! held-out fifth of Alexa; `antimony eval --compare` prints the tables):
//!
//! | candidate | macro recall at benign FPR 1e-2 / 1e-3 / 1e-4 | opendns_random FPR at the same thresholds |
//! |---|---|---|
//! | logistic regression, the ten features | 0.781 / 0.604 / 0.369 | 0.033 / 0.0051 / 0.0009 |
//! | gradient-boosted trees (100 of depth 3), eighteen features ([`boost`]) | **0.810 / 0.666 / 0.516** | 0.026 / 0.0038 / 0.0012 |
//!
//! The boosted trees are shipped: better at every operating point, and far better at the
//! strict ones. Families both miss name by name: `suppobox` (dictionary words:
//! `familyproud.net`), `ngioweb` (pronounceable syllables: `revodihudom.info`), and, at
//! 1e-3, about two thirds of `pushdo`, `simda` and `banjori`. They look like real names one
//! at a time; catching them takes corroboration over time (a burst of NXDOMAIN answers from
//! one client: [`NxdomainBurst`](crate::stateful::NxdomainBurst)), which is why a hit here
//! is `low` by default (see ANTIMONY.md, "Severity means something").
//!
//! The score is calibrated on held-out popular names: 30, 50, 70 and 85 are the scores the
//! top 10%, 1%, 0.1% and 0.01% of them reach. The detector fires at 70.
//!
//! The character model is benign-only on purpose: it measures "unlike real names", which
//! carries over to DGA families it never saw, where a model of the training families'
//! characters would learn those families.
//!
//! Labels shorter than the model's `min_label_len` (6), internationalised (`xn--`) labels,
//! and names under suffixes whose labels are machine-assigned IDs (CDN hostnames such as
//! `d1a2b3c4.cloudfront.net`) are not scored.
//!
//! # Training
//!
//! Training is in the `antimony-lab` crate, outside what a running topology loads.
//! `antimony_lab::dga::train_shipped` (behind `antimony train dga`) builds the shipped model,
//! deterministically: trigram counts are integers, the regression is fitted by Newton's
//! method in a fixed order, and the trees by histogram boosting in a fixed order with no
//! sampling. Training features of benign names are computed leave-one-out (each name's own
//! trigrams are taken out of the counts first), so the classifiers see benign names as the
//! model will see unseen ones. `antimony_lab::dga::is_held_out` picks a fixed fifth of Alexa
//! labels, by a hash, to calibrate the score; the rest of `shared/data/benign/benign_top.txt`
//! and all of `shared/data/dga/dga_train.csv` train it. `antimony-lab/tests/dga_model.rs`
//! checks that retraining gives the committed `models/dga.txt` (`ANTIMONY_UPDATE_MODELS=1`
//! rewrites it).
//!
//! # Measured (the shipped model, at its threshold of 70)
//!
//! False-positive rate 0.0010 on the held-out fifth of Alexa (by construction) and 0.0038
//! on `opendns_random_10k.txt` (never trained on); at score 85, 0.00005 and 0.0011.
//!
//! Evidence keys: `dga_score`, `threshold`, `label`, and one number per feature.

// Numeric code indexing several parallel arrays by one index reads best as index loops.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use thiserror::Error;

use super::{Explanation, Finding, Name, NameDetector, ev};
use crate::alert::Severity;
use crate::detectors::gbdt::Forest;
use boost::{NX, XFeatures};

pub mod boost;

/// The detector's name in alerts.
pub const DETECTOR: &str = "dga";

/// The built-in model, compiled in.
pub const BUILTIN_MODEL: &str = include_str!("../../models/dga.txt");

/// First line of a model file.
const MAGIC: &str = "antimony-dga-model 1";
/// First line of a model file with the boosted classifier.
const MAGIC2: &str = "antimony-dga-model 2";

/// Symbols: 0 is the boundary mark, then letters, digits, `-`, and 38 for anything else.
const ALPHABET: &[u8; 39] = b"^abcdefghijklmnopqrstuvwxyz0123456789-_";
/// Number of symbols.
pub const S: usize = ALPHABET.len();
const BOUNDARY: usize = 0;

/// Interpolation weights of the trigram, bigram and unigram estimates.
const LAMBDA: [f64; 3] = [0.6, 0.3, 0.1];

const fn symbol_table() -> [u8; 256] {
    let mut t = [38u8; 256];
    let mut i = 0;
    while i < S {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t[b'^' as usize] = 38;
    t
}

static SYMBOL: [u8; 256] = symbol_table();

const DIGIT: u8 = 1;
const LETTER: u8 = 2;
const VOWEL: u8 = 4;
const HYPHEN: u8 = 8;

const fn class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = b'a';
    while b <= b'z' {
        t[b as usize] = LETTER;
        b += 1;
    }
    let vowels = b"aeiouy";
    let mut i = 0;
    while i < vowels.len() {
        t[vowels[i] as usize] = LETTER | VOWEL;
        i += 1;
    }
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = DIGIT;
        d += 1;
    }
    t[b'-' as usize] = HYPHEN;
    t
}

/// Character classes of lower-case label bytes (a consonant is `LETTER` alone).
static CLASS: [u8; 256] = class_table();

/// `n * log2(n)` for the counts a label can have (at most 63 characters), so entropy needs
/// no logarithm per name.
static NLOG2N: LazyLock<[f64; 64]> = LazyLock::new(|| {
    std::array::from_fn(|n| {
        if n == 0 {
            0.0
        } else {
            n as f64 * (n as f64).log2()
        }
    })
});

/// Feature names, in model order.
pub const FEATURES: [&str; NF] = [
    "mean_ll",
    "ll_evidence",
    "unseen",
    "length",
    "digits",
    "vowels",
    "vowel_dev",
    "consonant_run",
    "entropy",
    "hyphens",
];
/// Number of features of the logistic model.
pub const NF: usize = 10;
/// Index of `mean_ll`.
pub const F_MEAN_LL: usize = 0;
/// Index of `ll_evidence`.
pub const F_LL_EVIDENCE: usize = 1;
const F_UNSEEN: usize = 2;
/// Index of `length`.
pub const F_LENGTH: usize = 3;
const F_DIGITS: usize = 4;
const F_VOWELS: usize = 5;
const F_VOWEL_DEV: usize = 6;
const F_CONSONANT_RUN: usize = 7;
const F_ENTROPY: usize = 8;
const F_HYPHENS: usize = 9;
const X_BIGRAM_LL: usize = NF;
const X_MIN_LL: usize = NF + 1;
const X_RARE: usize = NF + 2;
const X_DIGIT_RUN: usize = NF + 3;
const X_SWITCHES: usize = NF + 4;
const X_DISTINCT: usize = NF + 5;
const X_HEX: usize = NF + 6;
const X_VOWEL_RUN: usize = NF + 7;

/// Vowel share the `vowel_dev` feature measures distance from (about the benign mean).
const VOWEL_CENTRE: f64 = 0.4;

/// The features of one label.
pub type Features = [f64; NF];

/// Trigram counts and the marginals derived from them.
#[derive(Clone, Debug, PartialEq)]
pub struct Counts {
    /// c(abc), indexed `(a * S + b) * S + c`.
    tri: Vec<u32>,
    /// c(ab.) : context counts.
    ctx: Vec<u64>,
    /// c(.bc) : bigram counts.
    bi: Vec<u64>,
    /// c(.b.) : bigram context counts.
    mid: Vec<u64>,
    /// c(..c) : unigram counts.
    uni: Vec<u64>,
    total: u64,
}

/// One trigram of a label, as symbol indexes.
pub type Tri = (usize, usize, usize);

/// Index of a trigram in a table of `S * S * S` counts.
pub fn tri_index((a, b, c): Tri) -> usize {
    (a * S + b) * S + c
}

/// Calls `visit` on each trigram of a label with two boundary marks before and one after:
/// `len + 1` of them.
#[inline]
pub fn for_each_trigram(label: &[u8], mut visit: impl FnMut(Tri)) {
    let (mut a, mut b) = (BOUNDARY, BOUNDARY);
    for &byte in label {
        let c = usize::from(SYMBOL[usize::from(byte)]);
        visit((a, b, c));
        a = b;
        b = c;
    }
    visit((a, b, BOUNDARY));
}

/// The trigrams of a label (see [`for_each_trigram`]).
pub fn trigrams(label: &[u8]) -> Vec<Tri> {
    let mut out = Vec::with_capacity(label.len() + 1);
    for_each_trigram(label, |t| out.push(t));
    out
}

impl Counts {
    fn new() -> Self {
        Counts {
            tri: vec![0; S * S * S],
            ctx: vec![0; S * S],
            bi: vec![0; S * S],
            mid: vec![0; S],
            uni: vec![0; S],
            total: 0,
        }
    }

    /// Counts from a table of trigram counts (indexed by [`tri_index`]), with their marginals.
    pub fn from_trigrams(tri: Vec<u32>) -> Self {
        let mut c = Counts::new();
        c.tri = tri;
        for a in 0..S {
            for b in 0..S {
                for x in 0..S {
                    let n = u64::from(c.tri[tri_index((a, b, x))]);
                    c.ctx[a * S + b] += n;
                    c.bi[b * S + x] += n;
                    c.mid[b] += n;
                    c.uni[x] += n;
                    c.total += n;
                }
            }
        }
        c
    }

    /// log P(c | a b), optionally with `own` trigrams (a label's own) taken out of the counts.
    pub fn logp(&self, t: Tri, own: &[Tri]) -> f64 {
        let (a, b, x) = t;
        let mut o = [0u64; 6];
        for &(oa, ob, ox) in own {
            let same_ctx = oa == a && ob == b;
            o[0] += u64::from(same_ctx && ox == x);
            o[1] += u64::from(same_ctx);
            o[2] += u64::from(ob == b && ox == x);
            o[3] += u64::from(ob == b);
            o[4] += u64::from(ox == x);
            o[5] += 1;
        }
        let tri = u64::from(self.tri[tri_index(t)]).saturating_sub(o[0]) as f64;
        let ctx = self.ctx[a * S + b].saturating_sub(o[1]) as f64;
        let bi = self.bi[b * S + x].saturating_sub(o[2]) as f64;
        let mid = self.mid[b].saturating_sub(o[3]) as f64;
        let uni = self.uni[x].saturating_sub(o[4]) as f64;
        let total = self.total.saturating_sub(o[5]) as f64;
        // Add-one unigram so nothing has probability zero; an empty context passes its weight on.
        let p1 = (uni + 1.0) / (total + S as f64);
        let (w2, w3) = (LAMBDA[1], LAMBDA[0]);
        let p2 = if mid > 0.0 { bi / mid } else { p1 };
        let p3 = if ctx > 0.0 { tri / ctx } else { p2 };
        (w3 * p3 + w2 * p2 + LAMBDA[2] * p1).ln()
    }

    /// Whether the trigram was counted, not counting `own` trigrams (a label's own).
    pub fn seen(&self, t: Tri, own: &[Tri]) -> bool {
        let mine = own.iter().filter(|&&o| o == t).count() as u64;
        u64::from(self.tri[tri_index(t)]) > mine
    }
}

/// Computes the features of a label given the trigram scorer (log-probability, seen).
pub fn features_with(
    label: &[u8],
    ll_centre: f64,
    mut tri: impl FnMut(Tri) -> (f64, bool),
) -> Features {
    let mut ll = 0.0;
    let mut unseen = 0u32;
    let mut n_tri = 0u32;
    for_each_trigram(label, |t| {
        let (lp, seen) = tri(t);
        ll += lp;
        unseen += u32::from(!seen);
        n_tri += 1;
    });
    // One pass over the characters: classes, the longest consonant run, and the entropy's
    // sum of n*log2(n) kept up to date as counts grow (no loop over the alphabet).
    let table = &*NLOG2N;
    let nlog2n = |n: u32| match table.get(n as usize) {
        Some(v) => *v,
        None => f64::from(n) * f64::from(n).log2(),
    };
    let mut hist = [0u32; S];
    let mut sum_nlogn = 0.0;
    let (mut digits, mut letters, mut vowels, mut hyphens) = (0u32, 0u32, 0u32, 0u32);
    let (mut run, mut max_run) = (0u32, 0u32);
    for &b in label {
        let class = CLASS[usize::from(b)];
        let slot = &mut hist[usize::from(SYMBOL[usize::from(b)])];
        sum_nlogn += nlog2n(*slot + 1) - nlog2n(*slot);
        *slot += 1;
        digits += u32::from(class & DIGIT != 0);
        hyphens += u32::from(class & HYPHEN != 0);
        letters += u32::from(class & LETTER != 0);
        vowels += u32::from(class & VOWEL != 0);
        run = if class == LETTER { run + 1 } else { 0 };
        max_run = max_run.max(run);
    }
    let len = label.len() as f64;
    let entropy = if label.is_empty() {
        0.0
    } else {
        len.log2() - sum_nlogn / len
    };
    let mean_ll = ll / f64::from(n_tri.max(1));
    let vowel_share = if letters == 0 {
        0.0
    } else {
        f64::from(vowels) / f64::from(letters)
    };
    [
        mean_ll,
        // How far below typical the label's likelihood is, in units that grow with the
        // number of characters: a long label that is a little unusual throughout is as much
        // evidence as a short one that is very unusual.
        (mean_ll - ll_centre) * f64::from(n_tri).sqrt(),
        f64::from(unseen) / f64::from(n_tri.max(1)),
        len,
        f64::from(digits) / len.max(1.0),
        vowel_share,
        (vowel_share - VOWEL_CENTRE).abs(),
        f64::from(max_run),
        entropy,
        f64::from(hyphens),
    ]
}

/// A trained DGA model: benign trigram counts plus a logistic regression.
#[derive(Clone, Debug)]
pub struct Model {
    counts: Counts,
    /// log P(c | a b) for every trigram, precomputed from `counts`, negated for trigrams never
    /// seen: one table read per trigram gives both.
    logp: Vec<f32>,
    /// log P(c | b), add-one smoothed, for the boosted model's bigram feature.
    logp2: Vec<f32>,
    reg: Regression,
    /// `weights / std` and `bias - sum(weights * mean / std)`: the regression on raw features.
    folded: (Features, f64),
    /// Recommended threshold (score at or above which the detector fires).
    pub threshold: u8,
    /// Labels shorter than this are not scored.
    pub min_label_len: usize,
    /// The boosted model, when the file has one: it then decides the score.
    boosted: Option<Boosted>,
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

/// Why a model file was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ModelError {
    /// The first line is not the model header.
    #[error("not an Antimony DGA model (the first line must be {MAGIC:?})")]
    NotAModel,
    /// A line that does not parse.
    #[error("line {line}: {problem}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A required entry is missing.
    #[error("the model has no {0}")]
    Missing(&'static str),
}

/// The score of one label and what drove it.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// 0-100.
    pub score: u8,
    /// The features (the ten of [`FEATURES`], then [`boost::EXTRA`]).
    pub features: XFeatures,
    /// Each feature's contribution to the log-odds (logistic: weight x standardised value;
    /// boosted: the Saabas attribution along each tree's path).
    pub contributions: XFeatures,
}

impl Model {
    /// The model compiled into this crate.
    pub fn builtin() -> Result<Self, ModelError> {
        Self::parse(BUILTIN_MODEL)
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
        for a in 0..S {
            for b in 0..S {
                for c in 0..S {
                    let i = tri_index((a, b, c));
                    let lp = counts.logp((a, b, c), &[]) as f32;
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
        boost::xfeatures_with(label.as_bytes(), self.reg.ll_centre, |t| {
            let v = self.logp.get(tri_index(t)).copied().unwrap_or(0.0);
            let (_, b, c) = t;
            let lp2 = self.logp2.get(b * S + c).copied().unwrap_or(0.0);
            (-f64::from(v.abs()), v.is_sign_negative(), f64::from(lp2))
        })
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

    /// The score of a label, without the breakdown (the hot path).
    fn score_fast(&self, label: &str) -> u8 {
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

    /// Parses a model file (the form [`Model::to_text`] writes).
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
        let version2 = match lines.next() {
            Some((_, l)) if l.trim() == MAGIC => false,
            Some((_, l)) if l.trim() == MAGIC2 => true,
            _ => return Err(ModelError::NotAModel),
        };
        let mut calibration: Option<[f64; 4]> = None;
        let mut xtypical: Option<XFeatures> = None;
        let mut forest: Option<Forest> = None;
        let bad = |line: usize, problem: &str| ModelError::BadLine {
            line: line + 1,
            problem: problem.to_owned(),
        };
        let mut threshold = None;
        let mut min_len = None;
        let mut bias = None;
        let mut ll_centre = None;
        let mut feats: BTreeMap<usize, [f64; 4]> = BTreeMap::new();
        let mut tri = vec![0u32; S * S * S];
        let mut in_trigrams = false;
        while let Some((n, line)) = lines.next() {
            let mut fields = line.split_whitespace();
            let key = fields.next().unwrap_or("");
            if in_trigrams && key == "forest" {
                let mut rest = std::iter::once((n, line)).chain(&mut lines);
                forest = Some(
                    Forest::read(&mut rest)
                        .map_err(|at| bad(at, "a forest line that does not parse"))?,
                );
                break;
            }
            if in_trigrams {
                let syms: Vec<usize> = key
                    .bytes()
                    .map(|b| ALPHABET.iter().position(|&a| a == b))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(n, "a trigram with a character outside the alphabet"))?;
                let [a, b, c] = syms[..] else {
                    return Err(bad(n, "a trigram must have three characters"));
                };
                let count = fields
                    .next()
                    .and_then(|v| v.parse::<u32>().ok())
                    .ok_or_else(|| bad(n, "a trigram needs a count"))?;
                tri[tri_index((a, b, c))] = count;
                continue;
            }
            let num = |v: Option<&str>| -> Result<f64, ModelError> {
                v.and_then(|v| v.parse::<f64>().ok())
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad(n, "expected a number"))
            };
            match key {
                "threshold" => threshold = Some(num(fields.next())?.clamp(0.0, 100.0) as u8),
                "min_label_len" => min_len = Some(num(fields.next())?.max(1.0) as usize),
                "bias" => bias = Some(num(fields.next())?),
                "ll_centre" => ll_centre = Some(num(fields.next())?),
                "feature" => {
                    let name = fields.next().unwrap_or("");
                    let i = FEATURES
                        .iter()
                        .position(|&f| f == name)
                        .ok_or_else(|| bad(n, "unknown feature"))?;
                    let mut v = [0.0; 4];
                    for x in &mut v {
                        *x = num(fields.next())?;
                    }
                    if v[1] <= 0.0 {
                        return Err(bad(n, "a feature's standard deviation must be positive"));
                    }
                    feats.insert(i, v);
                }
                "trigrams" => in_trigrams = true,
                "calibration" => {
                    let mut c = [0.0; 4];
                    for x in &mut c {
                        *x = num(fields.next())?;
                    }
                    calibration = Some(c);
                }
                "xtypical" => {
                    let mut t = [0.0; NX];
                    for x in &mut t {
                        *x = num(fields.next())?;
                    }
                    xtypical = Some(t);
                }
                _ => return Err(bad(n, "unknown entry")),
            }
        }
        if feats.len() != NF {
            return Err(ModelError::Missing("entry for every feature"));
        }
        let pick = |j: usize| {
            let mut out = [0.0; NF];
            for (i, v) in &feats {
                out[*i] = v[j];
            }
            out
        };
        let reg = Regression {
            mean: pick(0),
            std: pick(1),
            weights: pick(2),
            typical: pick(3),
            bias: bias.ok_or(ModelError::Missing("bias"))?,
            ll_centre: ll_centre.ok_or(ModelError::Missing("ll_centre"))?,
        };
        let mut model = Model::from_parts(
            Counts::from_trigrams(tri),
            reg,
            threshold.ok_or(ModelError::Missing("threshold"))?,
            min_len.ok_or(ModelError::Missing("min_label_len"))?,
        );
        if version2 {
            let forest = forest.ok_or(ModelError::Missing("forest"))?;
            if forest.features != NX {
                return Err(ModelError::Missing("forest over the extended features"));
            }
            model.boosted = Some(Boosted {
                forest,
                calibration: calibration.ok_or(ModelError::Missing("calibration"))?,
                typical: xtypical.ok_or(ModelError::Missing("xtypical"))?,
            });
        }
        Ok(model)
    }

    /// Writes the model file: a header, the regression, then the trigram counts (one per
    /// line, sorted, boundary written `^` and other characters `_`).
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(256 * 1024);
        out.push_str(
            "# Antimony DGA model: benign character trigram counts and a logistic regression.\n\
             # Written by antimony_detect::detectors::dga::train; see that module's docs.\n",
        );
        let _ = writeln!(
            out,
            "{}",
            if self.boosted.is_some() {
                MAGIC2
            } else {
                MAGIC
            }
        );
        let _ = writeln!(out, "threshold {}", self.threshold);
        let _ = writeln!(out, "min_label_len {}", self.min_label_len);
        let r = &self.reg;
        let _ = writeln!(out, "bias {}", r.bias);
        let _ = writeln!(out, "ll_centre {}", r.ll_centre);
        out.push_str("# feature name mean std weight typical\n");
        for i in 0..NF {
            let _ = writeln!(
                out,
                "feature {} {} {} {} {}",
                FEATURES[i], r.mean[i], r.std[i], r.weights[i], r.typical[i]
            );
        }
        if let Some(b) = &self.boosted {
            let c = &b.calibration;
            let _ = writeln!(
                out,
                "# log-odds at benign FPR 1e-1 1e-2 1e-3 1e-4 (scores 30 50 70 85)\n\
                 calibration {} {} {} {}",
                c[0], c[1], c[2], c[3]
            );
            out.push_str("xtypical");
            for v in &b.typical {
                let _ = write!(out, " {v}");
            }
            out.push('\n');
        }
        out.push_str("trigrams\n");
        for a in 0..S {
            for b in 0..S {
                for c in 0..S {
                    let n = self.counts.tri[tri_index((a, b, c))];
                    if n > 0 {
                        let t = [ALPHABET[a], ALPHABET[b], ALPHABET[c]];
                        let _ = writeln!(out, "{} {n}", String::from_utf8_lossy(&t));
                    }
                }
            }
        }
        if let Some(b) = &self.boosted {
            b.forest.write(&mut out);
        }
        out
    }

    /// Largest difference between two models' numbers (trigram counts must be equal), for
    /// checking that retraining gives the committed model.
    pub fn max_difference(&self, other: &Model) -> Option<f64> {
        if self.counts.tri != other.counts.tri
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

/// Suffixes whose labels are machine-assigned IDs, not scored by default.
pub const DEFAULT_IGNORE_SUFFIXES: &[&str] = &[
    "cloudfront.net",
    "azureedge.net",
    "azurefd.net",
    "akamaihd.net",
    "akamaized.net",
    "elb.amazonaws.com",
];

/// The DGA detector: a [`Model`] and a threshold.
#[derive(Clone, Debug)]
pub struct Dga {
    model: Model,
    threshold: u8,
    severity: Severity,
    ignore_suffixes: Vec<String>,
}

/// Why a name is not scored.
enum Skip<'a> {
    NoRegisteredDomain,
    Short(usize),
    Idn,
    Ignored(&'a str),
}

impl Dga {
    /// A detector over `model`, firing at `threshold` (default the model's), with `severity`
    /// (capped at `medium`: one random-looking name is a weak signal).
    pub fn new(model: Model, threshold: Option<u8>, severity: Severity) -> Self {
        Dga {
            threshold: threshold.unwrap_or(model.threshold).min(100),
            model,
            severity: severity.min(Severity::Medium),
            ignore_suffixes: DEFAULT_IGNORE_SUFFIXES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }

    /// Replaces the suffixes whose names are not scored.
    pub fn with_ignore_suffixes(mut self, suffixes: Vec<String>) -> Self {
        self.ignore_suffixes = suffixes;
        self
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The threshold in use.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    fn skip(&self, name: &Name<'_>) -> Option<Skip<'_>> {
        let label = name.registered_label();
        if label.is_empty() {
            return Some(Skip::NoRegisteredDomain);
        }
        if label.len() < self.model.min_label_len {
            return Some(Skip::Short(label.len()));
        }
        if label.starts_with("xn--") {
            return Some(Skip::Idn);
        }
        let rd = name.registered_domain;
        for s in &self.ignore_suffixes {
            if rd.len() > s.len()
                && rd.ends_with(s.as_str())
                && rd.as_bytes()[rd.len() - s.len() - 1] == b'.'
            {
                return Some(Skip::Ignored(s));
            }
        }
        None
    }

    /// Describes one feature's value against its typical value.
    fn describe(&self, i: usize, label: &str, f: &XFeatures) -> String {
        let t = self.model.xtypical();
        let letters = label.bytes().filter(u8::is_ascii_lowercase).count();
        let vowels = (f[F_VOWELS] * letters as f64).round();
        match i {
            F_MEAN_LL | F_LL_EVIDENCE => format!(
                "improbable character sequences (mean trigram log-likelihood {:.1} vs {:.1} typical)",
                f[F_MEAN_LL], t[F_MEAN_LL]
            ),
            F_UNSEEN => {
                let n = label.len() + 1;
                format!(
                    "{} of {n} character triples never seen in popular names",
                    (f[F_UNSEEN] * n as f64).round()
                )
            }
            F_LENGTH => format!(
                "a long label ({} characters vs {:.0} typical)",
                label.len(),
                t[F_LENGTH]
            ),
            F_DIGITS => format!(
                "digits mixed with letters ({} of {} characters)",
                label.bytes().filter(u8::is_ascii_digit).count(),
                label.len()
            ),
            F_VOWELS | F_VOWEL_DEV => format!("{vowels} vowels in {letters} letters"),
            F_CONSONANT_RUN => format!("a run of {} consonants", f[F_CONSONANT_RUN]),
            F_HYPHENS => format!("{} hyphens", f[F_HYPHENS]),
            X_BIGRAM_LL => format!(
                "improbable character pairs (mean bigram log-likelihood {:.1} vs {:.1} typical)",
                f[X_BIGRAM_LL], t[X_BIGRAM_LL]
            ),
            X_MIN_LL => "a character sequence popular names almost never have".to_owned(),
            X_RARE => format!(
                "{} rare character triples",
                (f[X_RARE] * (label.len() + 1) as f64).round()
            ),
            X_DIGIT_RUN => format!("a run of {} digits", f[X_DIGIT_RUN]),
            X_SWITCHES => "letters and digits alternating".to_owned(),
            X_DISTINCT => format!(
                "many distinct characters ({:.0}% of the label)",
                f[X_DISTINCT] * 100.0
            ),
            X_HEX => "only hexadecimal digits".to_owned(),
            X_VOWEL_RUN => format!("a run of {} vowels", f[X_VOWEL_RUN]),
            _ => format!(
                "high character entropy ({:.1} bits vs {:.1} typical)",
                f[F_ENTROPY], t[F_ENTROPY]
            ),
        }
    }

    /// The reason: the score and the two features that pushed it up most.
    fn reason(&self, name: &Name<'_>, s: &Score, fired: bool) -> String {
        let label = name.registered_label();
        let f = &s.features;
        let t = self.model.xtypical();
        // A feature is named only when it pushed the score up *and* its value is unusual in
        // the direction a person reads as suspicious (a feature can also push the score up
        // by being unremarkable, e.g. no digits at all, which is no reason to give).
        let suspicious = |i: usize| match i {
            F_MEAN_LL | F_LL_EVIDENCE => f[F_MEAN_LL] < t[F_MEAN_LL] - 0.3,
            F_UNSEEN => f[F_UNSEEN] > 0.0,
            F_LENGTH => f[F_LENGTH] > t[F_LENGTH] * 1.5,
            F_DIGITS => f[F_DIGITS] > 0.0,
            F_VOWELS | F_VOWEL_DEV => f[F_VOWEL_DEV] > 0.2,
            F_CONSONANT_RUN => f[F_CONSONANT_RUN] >= 5.0,
            F_ENTROPY => f[F_ENTROPY] > t[F_ENTROPY] + 0.5,
            X_BIGRAM_LL => f[X_BIGRAM_LL] < t[X_BIGRAM_LL] - 0.3,
            X_MIN_LL => f[X_MIN_LL] < -6.0,
            X_RARE => f[X_RARE] > t[X_RARE] + 0.15,
            X_DIGIT_RUN => f[X_DIGIT_RUN] >= 3.0,
            X_SWITCHES => f[X_SWITCHES] > 0.15,
            X_DISTINCT => f[X_DISTINCT] > t[X_DISTINCT] + 0.1 && f[F_LENGTH] >= 10.0,
            X_HEX => f[X_HEX] > 0.5 && f[F_LENGTH] >= 8.0,
            X_VOWEL_RUN => f[X_VOWEL_RUN] >= 3.0,
            _ => false,
        };
        let mut order: Vec<usize> = (0..NX)
            .filter(|&i| s.contributions[i] > 0.0 && suspicious(i))
            .collect();
        order.sort_by(|&a, &b| s.contributions[b].total_cmp(&s.contributions[a]));
        let mut drivers: Vec<String> = Vec::new();
        for i in order {
            let d = self.describe(i, label, f);
            if !drivers.contains(&d) {
                drivers.push(d);
            }
        }
        drivers.truncate(2);
        let mut reason = format!(
            "{} {} (DGA score {} {} threshold {})",
            name.registered_domain,
            if fired {
                "looks machine-generated"
            } else {
                "does not look machine-generated"
            },
            s.score,
            if fired { "at or above" } else { "below" },
            self.threshold
        );
        if !drivers.is_empty() {
            let _ = write!(
                reason,
                ": {}{}",
                if fired { "" } else { "it has " },
                drivers.join(", ")
            );
            if !fired {
                reason.push_str(", but not enough");
            }
        }
        reason
    }

    fn evidence(&self, name: &Name<'_>, s: &Score) -> Vec<(String, crate::Evidence)> {
        let mut e = vec![
            ev("dga_score", i64::from(s.score)),
            ev("threshold", i64::from(self.threshold)),
            ev("label", name.registered_label()),
        ];
        let n = if self.model.is_boosted() { NX } else { NF };
        for i in 0..n {
            e.push(ev(
                boost::xfeature_name(i),
                (s.features[i] * 1000.0).round() / 1000.0,
            ));
        }
        e
    }
}

impl NameDetector for Dga {
    fn name(&self) -> &'static str {
        DETECTOR
    }

    fn check(&self, name: &Name<'_>) -> Option<Finding> {
        if self.skip(name).is_some() {
            return None;
        }
        if self.model.score_fast(name.registered_label()) < self.threshold {
            return None;
        }
        let s = self.model.score_label(name.registered_label());
        Some(Finding {
            detector: DETECTOR,
            score: s.score,
            severity: self.severity,
            reason: self.reason(name, &s, true),
            evidence: self.evidence(name, &s),
        })
    }

    fn explain(&self, name: &Name<'_>) -> Explanation {
        if let Some(skip) = self.skip(name) {
            let reason = match skip {
                Skip::NoRegisteredDomain => {
                    format!("{} has no registered domain to score", name.qname)
                }
                Skip::Short(n) => format!(
                    "{} is too short to judge ({n} characters, the model scores {} or more)",
                    name.registered_label(),
                    self.model.min_label_len
                ),
                Skip::Idn => format!(
                    "{} is an internationalised (punycode) label, not scored",
                    name.registered_label()
                ),
                Skip::Ignored(s) => format!("names under {s} are machine-assigned IDs, not scored"),
            };
            return Explanation::quiet(DETECTOR, 0, reason);
        }
        let s = self.model.score_label(name.registered_label());
        let fired = s.score >= self.threshold;
        let reason = self.reason(name, &s, fired);
        let mut e = Explanation::quiet(DETECTOR, s.score, reason);
        e.evidence = self.evidence(name, &s);
        if fired {
            e.fired = true;
            e.severity = Some(self.severity);
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigrams_are_padded() {
        let t: Vec<Tri> = trigrams(b"ab");
        assert_eq!(t, [(0, 0, 1), (0, 1, 2), (1, 2, 0)]);
        assert_eq!(trigrams(b"").len(), 1);
    }

    #[test]
    fn leave_one_out_removes_own_counts() {
        let mut tri = vec![0u32; S * S * S];
        for t in trigrams(b"abc") {
            tri[tri_index(t)] += 1;
        }
        let counts = Counts::from_trigrams(tri);
        let own: Vec<Tri> = trigrams(b"abc");
        for &t in &own {
            assert!(counts.seen(t, &[]));
            assert!(!counts.seen(t, &own));
        }
        // With its own counts removed nothing is left: the add-one unigram floor remains.
        let lp = counts.logp(own[0], &own);
        assert!((lp - (1.0 / S as f64).ln()).abs() < 1e-9, "{lp}");
    }

    #[test]
    fn builtin_model_round_trips() {
        let m = Model::builtin().expect("built-in model");
        let again = Model::parse(&m.to_text()).expect("reparse");
        assert_eq!(m.max_difference(&again), Some(0.0));
        assert!(matches!(Model::parse("nope"), Err(ModelError::NotAModel)));
        assert!(matches!(
            Model::parse("antimony-dga-model 1\nthreshold x\n"),
            Err(ModelError::BadLine { line: 2, .. })
        ));
    }

    fn check(d: &Dga, qname: &str, fires: bool) {
        let name = Name::new(qname, 1);
        let f = d.check(&name);
        assert_eq!(f.is_some(), fires, "{qname}: {}", d.explain(&name).reason);
        if let Some(f) = f {
            assert_eq!(f.severity, Severity::Low);
        }
    }

    #[test]
    fn talk_examples() {
        let d = Dga::new(Model::builtin().expect("model"), None, Severity::Low);
        for name in [
            "afadsfasdfsafwerwqerqqiye.cn",
            "jlaooireqieoruqoireqpwoiue.to",
        ] {
            check(&d, name, true);
        }
        for name in [
            "google.com",
            "facebook.com",
            "wikipedia.org",
            "update-java.net",
            "d1a2b3c4d5e6f7.cloudfront.net",
            "xn--mnchen-3ya.de",
        ] {
            check(&d, name, false);
        }
    }

    #[test]
    fn severity_is_capped() {
        let d = Dga::new(Model::builtin().expect("model"), None, Severity::Critical);
        let f = d
            .check(&Name::new("afadsfasdfsafwerwqerqqiye.cn", 1))
            .expect("fires");
        assert_eq!(f.severity, Severity::Medium);
    }
}
