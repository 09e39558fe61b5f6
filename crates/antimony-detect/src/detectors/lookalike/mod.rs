//! Lookalike domains: names made to be mistaken for a protected brand's (`paypa1.com`,
//! `xn--pypal-4ve.com`, `go-ogle.com`, `paypal-login.com`).
//!
//! # Brands
//!
//! Protected brands come from configuration, as text ([`Brands::parse`]): one brand per line,
//! its main domain first, then (optionally) other domains it owns, `#` for comments:
//!
//! ```text
//! paypal.com paypal.me paypalobjects.com
//! google.com google.de google.co.uk
//! ctc.gov.qa
//! ```
//!
//! A brand's own domains, and every name under them, never fire; list them all, country
//! sites included (`google.com google.de google.co.uk`): the brand's name under a suffix its
//! line does not list alerts as a TLD swap. The brand's *label* is its main domain without
//! the public suffix (`paypal`, `ctc` for `ctc.gov.qa`; `gov` for a brand that is itself a
//! suffix, `gov.qa`).
//!
//! # What is caught, and how (no scan of the brands per event)
//!
//! The registered label of the question (`paypa1` for `www.paypa1.com`) is *folded* first:
//! `xn--` labels are decoded and every character is mapped to its Unicode TS #39 confusable
//! skeleton (Cyrillic `а` -> `a`, `ɡ` -> `g`, accents dropped; a few letters the skeleton
//! keeps, `ə`, `ⱪ`, small capitals, are mapped by hand), then a few ASCII look-alikes are
//! folded (`0` -> `o`, `1` -> `l`, `rn` -> `m`, `vv` -> `w`, `lc` -> `k`). Brand labels are
//! folded the same way. Then, in this order:
//!
//! 1. **Edit index** (symmetric deletion neighbourhood): every brand label, and every string
//!    made by deleting one of its characters, is in one hash map. The label as a reader sees
//!    it (as written, or an IDN's skeleton), then the folded label, and every string made by
//!    deleting one of its characters are looked up (`n + 1` hashed look-ups with polynomial
//!    hashes computed in O(1) each, no allocation). A hit means the label is within one
//!    insertion, deletion, substitution or adjacent transposition of a brand: addition,
//!    insertion, omission, repetition, replacement, bitsquatting, vowel-swap,
//!    transposition, hyphenation, plural, and homoglyphs (exact after folding).
//! 2. **Look-alike classes**: two hashes of the label with every letter replaced by its
//!    class (`b`/`d`, `c`/`e`, `g`/`q`, `i`/`l`/`1`, `m`/`n`, `o`/`0`), the second after
//!    the multi-letter look-alikes (`cl`, `dl` -> `d`, `lc` -> `k`), looked up in one map:
//!    homoglyphs that swap several letters (`febcx` for `fedex`) or chain two swaps
//!    (`fec1ex`: `d` -> `cl` -> `c1`).
//! 3. **Token index**: one Aho-Corasick pass finds brand labels inside the label; what is
//!    before and after each (either may be empty, not both) must be made of [`DICTIONARY`]
//!    words, hyphens and short digit runs, in any order (`paypal-login`,
//!    `secure-paypal-login2024`, `verifyaccountpaypal`: dictionary), or the brand's suffix
//!    run after it (`paypalcom`, `ctcgov`: various).
//! 4. **Subdomain join**: the last two or three labels before the public suffix, joined
//!    (`go.ogle.com` -> `google`), looked up exactly.
//! 5. **TLD swap**: the brand's exact label under a suffix its line does not list
//!    (`paypal.net`), at the configured severity and 15 points below the edit score.
//!
//! Brand labels shorter than [`LookalikeConfig::min_edit_len`] (default 7: `icloud` ->
//! `qcloud`, `dhl` -> `nhl`) have dense edit neighbourhoods full of ordinary names, so edit
//! and class matches on them count only under the brand's own suffix. The label is looked
//! up as written first and folded second, so a real edit is never hidden by folding.
//!
//! # Measured
//!
//! `antimony eval` (or `cargo test -p antimony-lab --test lookalikes -- --nocapture`)
//! measures the detector on `shared/data`: the 30 brands of the dnstwist permutations are
//! cut by a fixed hash into a tuning half and a held-out half nobody tuned on, the
//! dictionary and TLD-swap kinds are generated as dnstwist makes them (the dictionary's own
//! words; every ICANN suffix), and a name counts when it alerts at `medium`. When the
//! dictionary and the class hashes were written: every kind >= 99% on both halves (held-out
//! homoglyphs 479 of 480, everything else 100%); the words real malicious names of the block
//! list join to others, a list the dictionary was not written from, 48% (tuning words) and
//! 26% (held-out words), most misses not being lures (`android`, `ledger`). False positives
//! at `medium`, the brands listed by their main domain only: 0.07% of
//! `opendns_random_10k.txt` and 0.150% of Alexa ranks after 10,000 (0.050% without TLD
//! swaps: the rest are the brands' own country sites, `google.com.cu`, `paypal.de`, and
//! same-label companies, `ctc.ru`); on the popular lists the brands' own services and
//! country sites weigh more (0.27% of Alexa's top 100k, 1.08% of OpenDNS's top 10k, 0.055%
//! and 0.16% without TLD swaps): list them on the brand's line.
//!
//! Evidence keys: `brand` (the brand's main domain), `kind` (dnstwist's permutation names:
//! `addition`, `bitsquatting`, `homoglyph`, `hyphenation`, `insertion`, `omission`,
//! `plural`, `repetition`, `replacement`, `subdomain`, `transposition`, `vowel-swap`,
//! `dictionary`, `tld-swap`, `various`), `label` (the folded label), `unicode` (the name as
//! a person sees it, for IDN names).

use std::fmt::Write as _;

use ahash::{AHashMap, AHashSet};
use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};

mod brands;
mod dictionary;
mod fold;
mod kind;

use super::{Explanation, Finding, Name, NameDetector, ev};
use crate::alert::Severity;

pub use self::brands::{Brand, BrandError, Brands};
pub use self::dictionary::DICTIONARY;
use self::dictionary::Words;
pub use self::fold::fold_label;
use self::fold::{Folded, class_hash, deep_class_hash, fold_into, skeleton_into};
use self::kind::{classify, describe, is_one_insertion, within_one_edit};

/// The detector's name in alerts.
pub const DETECTOR: &str = "lookalike";

/// Lookalike settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LookalikeConfig {
    /// Run the detector when brands are configured (default true).
    pub enabled: bool,
    /// Brands given inline, in the brands-file line format (`"paypal.com paypal.me"`).
    pub brands: Vec<String>,
    /// A brands file (one brand per line), read by the caller.
    pub brands_path: Option<std::path::PathBuf>,
    /// Brand labels shorter than this match edits only under the brand's own suffix
    /// (default 7: the edit neighbourhoods of short labels, `icloud` -> `qcloud`, are full
    /// of ordinary names).
    pub min_edit_len: usize,
    /// Severity of a lookalike (default `medium`: a brand impersonation holds up).
    pub severity: Severity,
    /// Score of a lookalike (default 75; homoglyphs and IDN +10; TLD swaps -15).
    pub score: u8,
    /// Report the brand's exact label under a suffix its line does not list (default true),
    /// at `severity`: `paypal.xyz` is a lookalike unless the brands file says
    /// `paypal.com paypal.xyz`. List every domain a brand owns (`google.com google.de`),
    /// or its country sites alert too.
    pub tld_swap: bool,
}

impl Default for LookalikeConfig {
    fn default() -> Self {
        LookalikeConfig {
            enabled: true,
            brands: Vec::new(),
            brands_path: None,
            min_edit_len: 7,
            severity: Severity::Medium,
            score: 75,
            tld_swap: true,
        }
    }
}

const P: u64 = 0x100_0000_01b3;

fn poly_hash(s: &[u8]) -> u64 {
    s.iter().fold(0u64, |h, &b| {
        h.wrapping_mul(P).wrapping_add(u64::from(b) + 1)
    })
}

/// How a key relates to a brand label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rel {
    /// The brand label itself.
    Label,
    /// The brand label with one character deleted.
    Deleted,
}

/// The lookalike detector: brands and their indexes.
#[derive(Clone, Debug)]
pub struct Lookalike {
    brands: Vec<Brand>,
    config: LookalikeConfig,
    /// Hash of a brand label or a one-deletion variant -> (brand, relation).
    edits: AHashMap<u64, Vec<(u16, Rel)>>,
    /// Look-alike class hash of a brand label -> brands (homoglyphs that swap several
    /// letters).
    classes: AHashMap<u64, Vec<u16>>,
    /// Brand label -> brands (exact, for subdomain joins).
    exact: AHashMap<String, Vec<u16>>,
    /// Brand labels, for the token index (pattern i = brand i), as written and folded.
    tokens: Option<AhoCorasick>,
    folded_tokens: Option<AhoCorasick>,
    /// Own domains -> brand.
    own: AHashSet<String>,
    /// The words allowed next to a brand label (the dictionary kind).
    words: Words,
    min_len: usize,
    max_len: usize,
    /// First two and last two characters of every brand label (as written and folded) of 5
    /// or more characters, as bits of a 64 Ki-bit map: a label one edit away from such a
    /// brand shares its first two or its last two characters.
    ends: Vec<u64>,
    /// Longest brand label under 5 characters (labels up to one longer skip the filter).
    short_max: usize,
}

fn pair_bit(a: u8, b: u8) -> usize {
    (usize::from(a) << 8) | usize::from(b)
}

/// A match before it becomes a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hit {
    brand: u16,
    kind: &'static str,
}

impl Lookalike {
    /// A detector for these brands.
    pub fn new(brands: Brands, config: LookalikeConfig) -> Self {
        let brands = brands.0;
        let mut edits: AHashMap<u64, Vec<(u16, Rel)>> = AHashMap::new();
        let mut exact: AHashMap<String, Vec<u16>> = AHashMap::new();
        let mut classes: AHashMap<u64, Vec<u16>> = AHashMap::new();
        let mut own = AHashSet::new();
        let (mut min_len, mut max_len) = (usize::MAX, 0);
        for (id, b) in brands.iter().enumerate() {
            let id = id as u16;
            own.extend(b.own.iter().cloned());
            exact.entry(b.raw.clone()).or_default().push(id);
            for h in [
                class_hash(b.raw.as_bytes()),
                deep_class_hash(b.raw.as_bytes()),
            ] {
                let ids = classes.entry(h).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if b.raw.is_empty() {
                continue;
            }
            for label in [b.raw.as_bytes(), b.label.as_bytes()] {
                min_len = min_len.min(label.len());
                max_len = max_len.max(label.len());
                let mut add = |h: u64, rel: Rel| {
                    let v = edits.entry(h).or_default();
                    if !v.contains(&(id, rel)) {
                        v.push((id, rel));
                    }
                };
                add(poly_hash(label), Rel::Label);
                let mut del = Vec::with_capacity(label.len());
                for i in 0..label.len() {
                    del.clear();
                    del.extend_from_slice(&label[..i]);
                    del.extend_from_slice(&label[i + 1..]);
                    add(poly_hash(&del), Rel::Deleted);
                }
            }
        }
        let tokens = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(brands.iter().map(|b| b.raw.as_str()))
            .ok();
        let mut ends = vec![0u64; 1024];
        let mut short_max = 0;
        for b in &brands {
            for label in [b.raw.as_bytes(), b.label.as_bytes()] {
                let n = label.len();
                if n < 5 {
                    short_max = short_max.max(n);
                    continue;
                }
                for bit in [
                    pair_bit(label[0], label[1]),
                    pair_bit(label[n - 2], label[n - 1]) ^ 0x8000,
                ] {
                    ends[bit / 64] |= 1 << (bit % 64);
                }
            }
        }
        let folded_tokens = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(brands.iter().map(|b| b.label.as_str()))
            .ok();
        Lookalike {
            brands,
            config,
            edits,
            classes,
            exact,
            tokens,
            folded_tokens,
            own,
            words: Words::new(),
            min_len,
            max_len,
            ends,
            short_max,
        }
    }

    /// False when no brand label can be within one edit of `c` (see `ends`).
    fn may_be_near(&self, c: &[u8]) -> bool {
        let n = c.len();
        if n <= self.short_max + 1 || n < 2 {
            return true;
        }
        let has = |bit: usize| self.ends[bit / 64] & (1 << (bit % 64)) != 0;
        has(pair_bit(c[0], c[1])) || has(pair_bit(c[n - 2], c[n - 1]) ^ 0x8000)
    }

    /// The brands.
    pub fn brands(&self) -> &[Brand] {
        &self.brands
    }

    /// True when `qname` is one of the brands' own domains or under one. An own domain that
    /// is itself a public suffix (`gov.qa`) covers only itself, not the registered domains
    /// under it.
    fn is_own(&self, qname: &str) -> bool {
        let rd = antimony_dns::domain::registered_domain(qname).unwrap_or(qname);
        let mut rest = qname;
        loop {
            if self.own.contains(rest) {
                return true;
            }
            if rest.len() <= rd.len() {
                return false;
            }
            match rest.split_once('.') {
                Some((_, r)) => rest = r,
                None => return false,
            }
        }
    }

    /// The first brand within one edit of the folded label `c`, allowed under `suffix`.
    fn edit_hit(&self, c: &[u8], suffix: &str) -> Option<u16> {
        let n = c.len();
        if n + 1 < self.min_len || n > self.max_len + 1 || n == 0 || !self.may_be_near(c) {
            return None;
        }
        let allowed = |b: u16, distance: bool| {
            let brand = &self.brands[usize::from(b)];
            !distance || brand.raw.len() >= self.config.min_edit_len || brand.suffix == suffix
        };
        // Prefix hashes and powers, on the stack.
        let mut pre = [0u64; 65];
        let mut pow = [1u64; 65];
        for i in 0..n {
            pre[i + 1] = pre[i].wrapping_mul(P).wrapping_add(u64::from(c[i]) + 1);
            pow[i + 1] = pow[i].wrapping_mul(P);
        }
        let whole = pre[n];
        if let Some(v) = self.edits.get(&whole) {
            for &(b, rel) in v {
                let brand = &self.brands[usize::from(b)];
                let ok =
                    [brand.raw.as_bytes(), brand.label.as_bytes()]
                        .iter()
                        .any(|label| match rel {
                            Rel::Label => *label == c,
                            Rel::Deleted => is_one_insertion(label, c),
                        });
                if ok && allowed(b, rel == Rel::Deleted) {
                    return Some(b);
                }
            }
        }
        for i in 0..n {
            // Hash of c without c[i]: prefix times P^(tail) plus the tail's hash.
            let tail = n - i - 1;
            let tail_hash = whole.wrapping_sub(pre[i + 1].wrapping_mul(pow[tail]));
            let h = pre[i].wrapping_mul(pow[tail]).wrapping_add(tail_hash);
            if let Some(v) = self.edits.get(&h) {
                for &(b, _) in v {
                    let brand = &self.brands[usize::from(b)];
                    let close = within_one_edit(c, brand.raw.as_bytes())
                        || within_one_edit(c, brand.label.as_bytes());
                    if close && allowed(b, true) {
                        return Some(b);
                    }
                }
            }
        }
        None
    }

    /// A brand whose label `seen` matches up to look-alike classes (several letters
    /// swapped, `febcx` for `fedex`; chained swaps, `fec1ex`), allowed under `suffix`.
    fn class_hit(&self, seen: &[u8], suffix: &str) -> Option<u16> {
        // Multi-letter folds at most halve a label (`rn` -> `m`), the brand's or this one.
        if seen.len() > 2 * self.max_len || 2 * seen.len() < self.min_len {
            return None;
        }
        [class_hash(seen), deep_class_hash(seen)]
            .into_iter()
            .filter_map(|h| self.classes.get(&h))
            .flatten()
            .copied()
            .find(|&b| {
                let brand = &self.brands[usize::from(b)];
                brand.raw.as_bytes() != seen
                    && (brand.raw.len() >= self.config.min_edit_len || brand.suffix == suffix)
            })
    }

    /// dnstwist's plural of a label ending a syllable in `s`, `x` or `z` adds `es`
    /// (`microsesoft`): take one such `es` out and look again.
    fn plural_hit(&self, raw: &[u8], suffix: &str) -> Option<u16> {
        let mut buf = [0u8; 63];
        for i in 1..raw.len().saturating_sub(2) {
            if matches!(raw[i - 1], b's' | b'x' | b'z') && raw[i] == b'e' && raw[i + 1] == b's' {
                let n = raw.len() - 2;
                if n > buf.len() {
                    return None;
                }
                buf[..i].copy_from_slice(&raw[..i]);
                buf[i..n].copy_from_slice(&raw[i + 2..]);
                if let Some(b) = self.edit_hit(&buf[..n], suffix) {
                    return Some(b);
                }
            }
        }
        None
    }

    /// A brand label inside `label` with dictionary words around it (`secure-paypal-login`)
    /// or the brand's suffix run after it (`paypalcom`).
    fn token_hit(&self, label: &str, folded: bool) -> Option<(u16, &'static str)> {
        let ac = if folded {
            self.folded_tokens.as_ref()?
        } else {
            self.tokens.as_ref()?
        };
        let words = |s: &str| s.is_empty() || self.words.covers(s, folded);
        for m in ac.find_overlapping_iter(label) {
            let b = m.pattern().as_usize() as u16;
            let brand = &self.brands[usize::from(b)];
            let (before, after) = (&label[..m.start()], &label[m.end()..]);
            if before.trim_matches('-').is_empty() && after.trim_matches('-').is_empty() {
                continue;
            }
            if words(before) && words(after) {
                return Some((b, "dictionary"));
            }
            let after = after.trim_matches('-');
            let suffix: String = brand.suffix.chars().filter(|&c| c != '.').collect();
            let first = brand.suffix.split('.').next().unwrap_or("");
            if before.trim_matches('-').is_empty()
                && !after.is_empty()
                && (after == suffix || after == first)
            {
                return Some((b, "various"));
            }
        }
        None
    }

    /// The match for a name, if any (before the own-domain check).
    fn find(&self, name: &Name<'_>, folded: &mut Folded) -> Option<Hit> {
        let label = name.registered_label();
        if label.is_empty() || self.brands.is_empty() {
            return None;
        }
        // Subdomain join: `go.ogle.com` -> `google`.
        let owner = name.name_without_suffix();
        if owner.len() > label.len() {
            let mut joined = [0u8; 64];
            let mut labels: [&str; 3] = [""; 3];
            let mut count = 0;
            for part in owner.rsplit('.').take(3) {
                labels[count] = part;
                count += 1;
            }
            for k in 2..=count {
                let mut n = 0;
                let mut fits = true;
                for part in labels[..k].iter().rev() {
                    if n + part.len() > joined.len() {
                        fits = false;
                        break;
                    }
                    joined[n..n + part.len()].copy_from_slice(part.as_bytes());
                    n += part.len();
                }
                if !fits {
                    break;
                }
                if let Ok(s) = std::str::from_utf8(&joined[..n])
                    && let Some(ids) = self.exact.get(s)
                {
                    return Some(Hit {
                        brand: ids[0],
                        kind: "subdomain",
                    });
                }
            }
        }
        let suffix = name.public_suffix();
        let idn = fold_into(label, folded);
        let folded = folded.as_slice();
        let raw = label.as_bytes();
        // What a reader sees before the ASCII folds: the label, or an IDN's skeleton.
        let mut skeleton = Folded::new();
        let seen = if idn {
            skeleton_into(label, &mut skeleton);
            skeleton.as_slice()
        } else {
            raw
        };
        let mut hit = self.edit_hit(seen, suffix);
        if hit.is_none() && folded != raw {
            hit = self.edit_hit(folded, suffix);
        }
        if hit.is_none()
            && !idn
            && let Some(b) = self.plural_hit(raw, suffix)
        {
            return Some(Hit {
                brand: b,
                kind: "plural",
            });
        }
        if hit.is_none() {
            hit = self.class_hit(seen, suffix);
        }
        if let Some(b) = hit {
            let brand = &self.brands[usize::from(b)];
            let kind = if raw == brand.raw.as_bytes() {
                if suffix == brand.suffix || !self.config.tld_swap {
                    return None;
                }
                "tld-swap"
            } else if idn
                || folded == brand.label.as_bytes()
                || !within_one_edit(raw, brand.raw.as_bytes())
            {
                // Found only once folded or by look-alike classes.
                "homoglyph"
            } else {
                classify(raw, brand.raw.as_bytes())
            };
            return Some(Hit { brand: b, kind });
        }
        if !idn && let Some((b, kind)) = self.token_hit(label, false) {
            return Some(Hit { brand: b, kind });
        }
        if let Ok(folded) = std::str::from_utf8(folded)
            && folded != label
            && let Some((b, kind)) = self.token_hit(folded, true)
        {
            return Some(Hit { brand: b, kind });
        }
        None
    }

    fn finding(&self, name: &Name<'_>, hit: &Hit, folded: &[u8]) -> Finding {
        let brand = &self.brands[usize::from(hit.brand)];
        let (severity, score) = match hit.kind {
            // The brand's own label under a suffix it does not list: as strong as an edit
            // when the brands file is complete, a little below it in score because a
            // brand's unlisted country domains land here too.
            "tld-swap" => (self.config.severity, self.config.score.saturating_sub(15)),
            "homoglyph" => (
                self.config.severity,
                self.config.score.saturating_add(10).min(100),
            ),
            _ => (self.config.severity, self.config.score),
        };
        let unicode = antimony_dns::domain::to_unicode(name.registered_domain);
        let mut reason = String::with_capacity(128);
        let _ = write!(reason, "{} ", name.registered_domain);
        if unicode != name.registered_domain {
            let _ = write!(reason, "(shown as {unicode}) ");
        }
        let _ = write!(
            reason,
            "looks like the protected brand {} ({}{})",
            brand.domain,
            hit.kind,
            describe(hit.kind)
        );
        let mut evidence = vec![
            ev("brand", brand.domain.as_str()),
            ev("kind", hit.kind),
            ev("label", String::from_utf8_lossy(folded).into_owned()),
        ];
        if unicode != name.registered_domain {
            evidence.push(ev("unicode", unicode));
        }
        Finding {
            detector: DETECTOR,
            score,
            severity: severity.min(Severity::High),
            reason,
            evidence,
        }
    }

    /// The permutation kind and brand a name matches, if any (for evaluation).
    pub fn kind_of(&self, name: &Name<'_>) -> Option<(&str, &'static str)> {
        if self.is_own(name.qname) {
            return None;
        }
        let mut folded = Folded::new();
        let hit = self.find(name, &mut folded)?;
        Some((&self.brands[usize::from(hit.brand)].domain, hit.kind))
    }
}

impl NameDetector for Lookalike {
    fn name(&self) -> &'static str {
        DETECTOR
    }

    fn check(&self, name: &Name<'_>) -> Option<Finding> {
        let mut folded = Folded::new();
        let hit = self.find(name, &mut folded)?;
        if self.is_own(name.qname) {
            return None;
        }
        Some(self.finding(name, &hit, folded.as_slice()))
    }

    fn explain(&self, name: &Name<'_>) -> Explanation {
        if let Some(f) = self.check(name) {
            return Explanation::fired(f);
        }
        let reason = if self.brands.is_empty() {
            "no protected brands are configured (--brands FILE)".to_owned()
        } else if self.is_own(name.qname) {
            format!("{} is a protected brand's own domain", name.qname)
        } else {
            format!(
                "{} resembles none of the {} protected brands",
                name.qname,
                self.brands.len()
            )
        };
        Explanation::quiet(DETECTOR, 0, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> Lookalike {
        let brands = Brands::parse(
            "# brands\npaypal.com paypal.me\ngoogle.com\nmicrosoft.com\ndhl.com\nctc.gov.qa\n\
             gov.qa\n",
        )
        .expect("brands");
        Lookalike::new(brands, LookalikeConfig::default())
    }

    #[test]
    fn kinds() {
        let d = detector();
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("paypal.com", None),
            ("www.paypal.com", None),
            ("paypal.me", None),
            ("moi.gov.qa", None),
            ("example.com", None),
            ("paypa1.com", Some(("paypal.com", "homoglyph"))),
            ("paypall.com", Some(("paypal.com", "addition"))),
            ("papal.com", Some(("paypal.com", "omission"))),
            ("pyapal.com", Some(("paypal.com", "transposition"))),
            ("pay-pal.com", Some(("paypal.com", "hyphenation"))),
            ("paypal-login.com", Some(("paypal.com", "dictionary"))),
            (
                "micros0ft-update.com",
                Some(("microsoft.com", "dictionary")),
            ),
            ("paypalcom.com", Some(("paypal.com", "various"))),
            ("pay.pal.com", Some(("paypal.com", "subdomain"))),
            ("paypal.net", Some(("paypal.com", "tld-swap"))),
            ("microsesoft.com", Some(("microsoft.com", "plural"))),
            ("micrnsoft.com", Some(("microsoft.com", "bitsquatting"))),
            ("ctc0.gov.qa", Some(("ctc.gov.qa", "addition"))),
            ("rnicrosoft.com", Some(("microsoft.com", "homoglyph"))),
            ("g00gle.com", Some(("google.com", "homoglyph"))),
            ("xn--pypal-4ve.com", Some(("paypal.com", "homoglyph"))),
            ("dhk.com", Some(("dhl.com", "replacement"))),
            ("dhk.net", None),
            ("ctcgov.qa", Some(("ctc.gov.qa", "various"))),
            ("c.tc.gov.qa", Some(("ctc.gov.qa", "subdomain"))),
            ("gov0.qa", Some(("gov.qa", "addition"))),
            // Any run of dictionary words either side, hyphens or not, digits allowed.
            (
                "paypal-secure-login.com",
                Some(("paypal.com", "dictionary")),
            ),
            (
                "verifyaccount-paypal.net",
                Some(("paypal.com", "dictionary")),
            ),
            (
                "secure-paypal-login2024.com",
                Some(("paypal.com", "dictionary")),
            ),
            ("dhl-tracking.com", Some(("dhl.com", "dictionary"))),
            ("dhltracking.com", Some(("dhl.com", "dictionary"))),
            ("paypal2024.com", None),
            ("paypalobjects.com", None),
            ("purchase.com", None),
            // Several letters swapped for look-alikes, or two swaps chained.
            ("goqgie.com", Some(("google.com", "homoglyph"))),
            ("rnicr0s0ft.com", Some(("microsoft.com", "homoglyph"))),
            ("mlcrosofl.com", Some(("microsoft.com", "homoglyph"))),
            // TLD swaps alert unless the brand's line lists the domain.
            ("dhl.de", Some(("dhl.com", "tld-swap"))),
            ("paypal.me", None),
        ];
        for (qname, expected) in cases {
            let name = Name::new(qname, 1);
            assert_eq!(d.kind_of(&name), *expected, "{qname}");
            assert_eq!(d.check(&name).is_some(), expected.is_some(), "{qname}");
        }
    }

    #[test]
    fn reason_and_evidence() {
        let d = detector();
        let f = d.check(&Name::new("xn--pypal-4ve.com", 1)).expect("fires");
        assert!(
            f.reason
                .starts_with("xn--pypal-4ve.com (shown as pаypal.com) looks like"),
            "{}",
            f.reason
        );
        assert_eq!(f.severity, Severity::Medium);
        let f = d.check(&Name::new("paypal.xyz", 1)).expect("fires");
        assert_eq!((f.severity, f.score), (Severity::Medium, 60));
        let e = d.explain(&Name::new("www.paypal.com", 1));
        assert!(e.reason.contains("own domain"), "{}", e.reason);
    }

    #[test]
    fn hostile_labels_never_panic() {
        let d = detector();
        let long_words = format!("paypal{}.com", "login".repeat(11));
        let long_digits = format!("paypal-login{}.com", "9".repeat(50));
        let long_idn = format!("xn--{}.com", "a".repeat(59));
        for qname in [
            "-.com",
            "--.com",
            "paypal-.com",
            "-paypal-.com",
            "paypal--login.com",
            "xn--.com",
            "xn--zzzz.com",
            "xn--80ak6aa92e.com",
            "1234.com",
            "rnrnrnrn.com",
            "clclclclcl.com",
            long_words.as_str(),
            long_digits.as_str(),
            long_idn.as_str(),
        ] {
            let name = Name::new(qname, 1);
            let _ = d.check(&name);
            let _ = d.explain(&name);
        }
        // Eleven words fill a label (61 bytes): still one run of words.
        assert_eq!(
            d.kind_of(&Name::new(&long_words, 1)),
            Some(("paypal.com", "dictionary"))
        );
    }

    #[test]
    fn edit_helpers() {
        assert!(within_one_edit(b"google", b"gogle"));
        assert!(within_one_edit(b"gogole", b"google"));
        assert!(!within_one_edit(b"gogloe", b"google"));
        assert!(is_one_insertion(b"googxle", b"google"));
        assert_eq!(classify(b"goggle", b"google"), "bitsquatting");
    }
}
