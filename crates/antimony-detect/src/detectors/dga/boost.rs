//! The features of the boosted DGA model: the logistic model's ten and eight more. (The
//! candidates, their training and the leave-families-out evaluation that compares them are
//! in `antimony_lab::dga::boost`.)
//!
//! Extra features, beyond the logistic model's ten (all from the benign character model or
//! the label's characters, nothing about the suffix, so nothing a family can be recognised
//! by except its names' shape):
//!
//! | feature | what |
//! |---|---|
//! | `bigram_ll` | mean log-probability of each character given the one before (benign bigrams) |
//! | `min_ll` | the least probable character given the two before |
//! | `rare` | share of characters with a trigram probability under 1% |
//! | `digit_run` | longest run of digits |
//! | `switches` | letter/digit alternations, per character |
//! | `distinct` | distinct characters, per character |
//! | `hex` | 1 when every character is a hex digit |
//! | `vowel_run` | longest run of vowels |

use super::{CLASS, Counts, DIGIT, LETTER, NF, Tri, VOWEL, features_with};

/// Extra features, after the ten of [`FEATURES`](super::FEATURES).
pub const EXTRA: [&str; NX - NF] = [
    "bigram_ll",
    "min_ll",
    "rare",
    "digit_run",
    "switches",
    "distinct",
    "hex",
    "vowel_run",
];

/// Number of features of the boosted model.
pub const NX: usize = NF + 8;

/// The features of the boosted model.
pub type XFeatures = [f64; NX];

/// The name of boosted-model feature `i`.
pub fn xfeature_name(i: usize) -> &'static str {
    if i < NF {
        super::FEATURES[i]
    } else {
        EXTRA.get(i - NF).copied().unwrap_or("?")
    }
}

/// Computes the extended features given, per trigram, (log P3, seen, log P2).
pub fn xfeatures_with(
    label: &[u8],
    ll_centre: f64,
    mut tri: impl FnMut(Tri) -> (f64, bool, f64),
) -> XFeatures {
    let mut bigram = 0.0;
    let mut min_ll = 0.0f64;
    let mut rare = 0u32;
    let mut n = 0u32;
    let base = features_with(label, ll_centre, |t| {
        let (lp3, seen, lp2) = tri(t);
        bigram += lp2;
        min_ll = min_ll.min(lp3);
        rare += u32::from(lp3 < -4.6);
        n += 1;
        (lp3, seen)
    });
    let (mut digit_run, mut run, mut switches, mut vowel_run, mut vrun) =
        (0u32, 0u32, 0u32, 0u32, 0u32);
    let mut seen = [false; 256];
    let mut distinct = 0u32;
    let mut hex = true;
    let mut prev_digit: Option<bool> = None;
    for &b in label {
        let class = CLASS[usize::from(b)];
        let digit = class & DIGIT != 0;
        run = if digit { run + 1 } else { 0 };
        digit_run = digit_run.max(run);
        vrun = if class & VOWEL != 0 { vrun + 1 } else { 0 };
        vowel_run = vowel_run.max(vrun);
        if class & (DIGIT | LETTER) != 0 {
            if prev_digit.is_some_and(|p| p != digit) {
                switches += 1;
            }
            prev_digit = Some(digit);
        }
        if !seen[usize::from(b)] {
            seen[usize::from(b)] = true;
            distinct += 1;
        }
        hex &= b.is_ascii_hexdigit();
    }
    let len = f64::from(label.len().max(1) as u32);
    let mut x = [0.0; NX];
    x[..NF].copy_from_slice(&base);
    x[NF] = bigram / f64::from(n.max(1));
    x[NF + 1] = min_ll;
    x[NF + 2] = f64::from(rare) / f64::from(n.max(1));
    x[NF + 3] = f64::from(digit_run);
    x[NF + 4] = f64::from(switches) / len;
    x[NF + 5] = f64::from(distinct) / len;
    x[NF + 6] = f64::from(u8::from(hex && !label.is_empty()));
    x[NF + 7] = f64::from(vowel_run);
    x
}

impl Counts {
    /// log P(c | b) from the bigram marginals, add-one smoothed, with `own` trigrams out.
    pub fn logp2(&self, (_, b, c): Tri, own: &[Tri]) -> f64 {
        let mut ob = 0u64;
        let mut om = 0u64;
        for &(_, x, y) in own {
            ob += u64::from(x == b && y == c);
            om += u64::from(x == b);
        }
        let s = super::S as f64;
        let bi = self.bi[b * super::S + c].saturating_sub(ob) as f64;
        let mid = self.mid[b].saturating_sub(om) as f64;
        ((bi + 1.0) / (mid + s)).ln()
    }
}
