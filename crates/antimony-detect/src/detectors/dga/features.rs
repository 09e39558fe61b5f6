//! The features of a label, computed in one pass over it without allocating: the benign
//! character model they are measured against ([`Counts`]: trigram counts over an alphabet of
//! [`S`] symbols, with interpolated trigram, bigram and unigram estimates), the ten features
//! of the logistic model ([`FEATURES`], described in the [module docs](super)), and the eight
//! more of the boosted one ([`EXTRA`]).
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
//! | `quad_ll` | mean log-probability of each character given the three before, a four-gram model of benign names mixed half and half with the trigram one |
//! | `quad_unseen` | share of the label's four-grams never seen in benign names |
//! | `cv_alternation` | share of adjacent letter pairs that alternate consonant and vowel (pronounceable generators: `revodihudom`) |

use std::sync::{Arc, LazyLock};

/// Symbols: 0 is the boundary mark, then letters, digits, `-`, and 38 for anything else.
pub(super) const ALPHABET: &[u8; 39] = b"^abcdefghijklmnopqrstuvwxyz0123456789-_";
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
pub(super) const F_UNSEEN: usize = 2;
/// Index of `length`.
pub const F_LENGTH: usize = 3;
pub(super) const F_DIGITS: usize = 4;
pub(super) const F_VOWELS: usize = 5;
pub(super) const F_VOWEL_DEV: usize = 6;
pub(super) const F_CONSONANT_RUN: usize = 7;
pub(super) const F_ENTROPY: usize = 8;
pub(super) const F_HYPHENS: usize = 9;
pub(super) const X_BIGRAM_LL: usize = NF;
pub(super) const X_MIN_LL: usize = NF + 1;
pub(super) const X_RARE: usize = NF + 2;
pub(super) const X_DIGIT_RUN: usize = NF + 3;
pub(super) const X_SWITCHES: usize = NF + 4;
pub(super) const X_DISTINCT: usize = NF + 5;
pub(super) const X_HEX: usize = NF + 6;
pub(super) const X_VOWEL_RUN: usize = NF + 7;

/// Vowel share the `vowel_dev` feature measures distance from (about the benign mean).
const VOWEL_CENTRE: f64 = 0.4;

/// The features of one label.
pub type Features = [f64; NF];

/// Trigram counts and the marginals derived from them.
#[derive(Clone, Debug, PartialEq)]
pub struct Counts {
    /// c(abc), indexed `(a * S + b) * S + c`.
    pub(super) tri: Vec<u32>,
    /// c(ab.) : context counts.
    ctx: Vec<u64>,
    /// c(.bc) : bigram counts.
    pub(super) bi: Vec<u64>,
    /// c(.b.) : bigram context counts.
    pub(super) mid: Vec<u64>,
    /// c(..c) : unigram counts.
    uni: Vec<u64>,
    total: u64,
    /// c(abcd), indexed by [`quad_index`] (labels padded with three boundary marks); empty
    /// in a model without four-grams. Shared: at 9 MB it is the model's bulk, and every
    /// worker's detectors hold a copy of the model.
    pub(super) quad: Arc<[u32]>,
    /// c(abc.) : four-gram context counts (empty without four-grams).
    ctx3: Arc<[u64]>,
}

/// One trigram of a label, as symbol indexes.
pub type Tri = (usize, usize, usize);

/// One four-gram of a label, as symbol indexes.
pub type Quad = (usize, usize, usize, usize);

/// Index of a four-gram in a table of `S^4` counts.
pub fn quad_index((a, b, c, d): Quad) -> usize {
    ((a * S + b) * S + c) * S + d
}

/// Calls `visit` on each four-gram of a label with three boundary marks before and one
/// after: `len + 1` of them, the i-th ending where the i-th trigram of [`for_each_trigram`]
/// ends.
#[inline]
pub fn for_each_quadgram(label: &[u8], mut visit: impl FnMut(Quad)) {
    let (mut a, mut b, mut c) = (BOUNDARY, BOUNDARY, BOUNDARY);
    for &byte in label {
        let d = usize::from(SYMBOL[usize::from(byte)]);
        visit((a, b, c, d));
        a = b;
        b = c;
        c = d;
    }
    visit((a, b, c, BOUNDARY));
}

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
            quad: Arc::from([]),
            ctx3: Arc::from([]),
        }
    }

    /// Counts from tables of trigram and four-gram counts (indexed by [`tri_index`] and
    /// [`quad_index`]), with their marginals.
    pub fn from_tables(tri: Vec<u32>, quad: Vec<u32>) -> Self {
        let mut c = Counts::from_trigrams(tri);
        if quad.len() == S * S * S * S {
            let mut ctx3 = vec![0u64; S * S * S];
            for (i, &n) in quad.iter().enumerate() {
                ctx3[i / S] += u64::from(n);
            }
            c.quad = quad.into();
            c.ctx3 = ctx3.into();
        }
        c
    }

    /// log P(d | a b c): the four-gram estimate mixed half and half with the interpolated
    /// trigram one ([`Counts::logp`] of `b c d`), with `own` four-grams and trigrams (a
    /// label's own) taken out of the counts. The i-th four-gram pairs with the i-th trigram.
    pub fn logp4(&self, q: Quad, own: &[Quad], own_tri: &[Tri]) -> f64 {
        let (a, b, c, d) = q;
        let p3 = self.logp((b, c, d), own_tri).exp();
        let mut o = [0u64; 2];
        for &(oa, ob, oc, od) in own {
            let same_ctx = oa == a && ob == b && oc == c;
            o[0] += u64::from(same_ctx && od == d);
            o[1] += u64::from(same_ctx);
        }
        let (n, ctx) = self.quad_counts(q);
        let n = u64::from(n).saturating_sub(o[0]) as f64;
        let ctx = ctx.saturating_sub(o[1]) as f64;
        mix4(if ctx > 0.0 { Some(n / ctx) } else { None }, p3)
    }

    /// Whether the four-gram was counted, not counting `own` four-grams.
    pub fn seen4(&self, q: Quad, own: &[Quad]) -> bool {
        let mine = own.iter().filter(|&&o| o == q).count() as u64;
        u64::from(self.quad_counts(q).0) > mine
    }

    /// The four-gram count and its context's count (the run-time scorer's inputs).
    pub(super) fn quad_counts(&self, q: Quad) -> (u32, u64) {
        let (a, b, c, _) = q;
        (
            self.quad.get(quad_index(q)).copied().unwrap_or(0),
            self.ctx3.get((a * S + b) * S + c).copied().unwrap_or(0),
        )
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

    /// log P(c | b) from the bigram marginals, add-one smoothed, with `own` trigrams out.
    pub fn logp2(&self, (_, b, c): Tri, own: &[Tri]) -> f64 {
        let mut ob = 0u64;
        let mut om = 0u64;
        for &(_, x, y) in own {
            ob += u64::from(x == b && y == c);
            om += u64::from(x == b);
        }
        let s = S as f64;
        let bi = self.bi[b * S + c].saturating_sub(ob) as f64;
        let mid = self.mid[b].saturating_sub(om) as f64;
        ((bi + 1.0) / (mid + s)).ln()
    }
}

/// log of the four-gram estimate `p4` (none when its context was never seen) mixed half
/// and half with the trigram probability `p3`: one formula for training and run time.
#[inline]
pub fn mix4(p4: Option<f64>, p3: f64) -> f64 {
    (0.5 * p4.unwrap_or(p3) + 0.5 * p3).ln()
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

/// Extra features, after the ten of [`FEATURES`].
pub const EXTRA: [&str; NX - NF] = [
    "bigram_ll",
    "min_ll",
    "rare",
    "digit_run",
    "switches",
    "distinct",
    "hex",
    "vowel_run",
    "quad_ll",
    "quad_unseen",
    "cv_alternation",
];

/// Number of features of the boosted model.
pub const NX: usize = NF + 11;

/// The boosted model sees `length` capped here: the training families are mostly shorter,
/// and uncapped the trees learnt "very long, so benign", which let long unseen families
/// (and keyboard mashes) through; `ll_evidence` still grows with length. Capped at 12 the
/// leave-families-out macro recall at 1e-3 rose from 0.579 to 0.594 (10: 0.595, 14: 0.592,
/// 18: 0.572).
pub const LENGTH_CAP: f64 = 12.0;

/// The features of the boosted model.
pub type XFeatures = [f64; NX];

/// The name of boosted-model feature `i`.
pub fn xfeature_name(i: usize) -> &'static str {
    if i < NF {
        FEATURES[i]
    } else {
        EXTRA.get(i - NF).copied().unwrap_or("?")
    }
}

/// Computes the extended features given, per trigram, (log P3, seen, log P2), and per
/// four-gram, (log P4, seen).
pub fn xfeatures_with(
    label: &[u8],
    ll_centre: f64,
    mut tri: impl FnMut(Tri) -> (f64, bool, f64),
    mut quad: impl FnMut(Quad) -> (f64, bool),
) -> XFeatures {
    let (mut quad_ll, mut quad_unseen, mut n_quad) = (0.0, 0u32, 0u32);
    for_each_quadgram(label, |q| {
        let (lp, seen) = quad(q);
        quad_ll += lp;
        quad_unseen += u32::from(!seen);
        n_quad += 1;
    });
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
    // Letter pairs, and those alternating consonant and vowel (`revodihudom`: all of them).
    let (mut letter_pairs, mut alternating) = (0u32, 0u32);
    let mut prev_vowel: Option<bool> = None;
    for &b in label {
        let class = CLASS[usize::from(b)];
        if class & LETTER != 0 {
            let vowel = class & VOWEL != 0;
            if let Some(p) = prev_vowel {
                letter_pairs += 1;
                alternating += u32::from(p != vowel);
            }
            prev_vowel = Some(vowel);
        } else {
            prev_vowel = None;
        }
    }
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
    x[F_LENGTH] = x[F_LENGTH].min(LENGTH_CAP);
    x[NF] = bigram / f64::from(n.max(1));
    x[NF + 1] = min_ll;
    x[NF + 2] = f64::from(rare) / f64::from(n.max(1));
    x[NF + 3] = f64::from(digit_run);
    x[NF + 4] = f64::from(switches) / len;
    x[NF + 5] = f64::from(distinct) / len;
    x[NF + 6] = f64::from(u8::from(hex && !label.is_empty()));
    x[NF + 7] = f64::from(vowel_run);
    x[NF + 8] = quad_ll / f64::from(n_quad.max(1));
    x[NF + 9] = f64::from(quad_unseen) / f64::from(n_quad.max(1));
    x[NF + 10] = f64::from(alternating) / f64::from(letter_pairs.max(1));
    x
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
}
