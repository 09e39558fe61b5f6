//! Which of dnstwist's permutation kinds relates a lookalike to its brand.

pub(super) fn describe(kind: &str) -> &'static str {
    match kind {
        "homoglyph" => ": characters that look alike",
        "tld-swap" => ": the brand's name under another suffix",
        "dictionary" => ": the brand's name with a lure word",
        "various" => ": the brand's name run together with its suffix",
        "subdomain" => ": the brand's name split by a dot",
        "omission" => ": a character left out",
        "transposition" => ": two characters swapped",
        "hyphenation" => ": a hyphen added",
        "repetition" => ": a character doubled",
        "bitsquatting" => ": one bit flipped",
        "vowel-swap" => ": a vowel changed",
        _ => ": one character changed or added",
    }
}

/// True when `long` is `short` with one character inserted.
pub(super) fn is_one_insertion(long: &[u8], short: &[u8]) -> bool {
    if long.len() != short.len() + 1 {
        return false;
    }
    let i = long.iter().zip(short).take_while(|(a, b)| a == b).count();
    long[i + 1..] == short[i..]
}

/// True when `a` and `b` differ by at most one insertion, deletion, substitution or
/// adjacent transposition.
pub(super) fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Greater => is_one_insertion(a, b),
        std::cmp::Ordering::Less => is_one_insertion(b, a),
        std::cmp::Ordering::Equal => {
            let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match diffs[..] {
                [] | [_] => true,
                [i, j] => j == i + 1 && a[i] == b[j] && a[j] == b[i],
                _ => false,
            }
        }
    }
}

/// The dnstwist kind of a one-edit variant `c` of brand label `b` (both ASCII).
pub(super) fn classify(c: &[u8], b: &[u8]) -> &'static str {
    const VOWELS: &[u8] = b"aeiou";
    if c.len() == b.len() + 1 {
        let i = c.iter().zip(b).take_while(|(x, y)| x == y).count();
        let added = c[i];
        if added == b'-' {
            return "hyphenation";
        }
        if i == b.len() {
            return "addition";
        }
        if (i > 0 && c[i - 1] == added) || b.get(i) == Some(&added) {
            return "repetition";
        }
        if added == b's' {
            return "plural";
        }
        return "insertion";
    }
    if c.len() + 1 == b.len() {
        return "omission";
    }
    if c.len() == b.len() {
        let diffs: Vec<usize> = (0..c.len()).filter(|&i| c[i] != b[i]).collect();
        if diffs.len() == 2 {
            return "transposition";
        }
        if let [i] = diffs[..] {
            let (x, y) = (c[i], b[i]);
            if (x ^ y).is_power_of_two() {
                return "bitsquatting";
            }
            if VOWELS.contains(&x) && VOWELS.contains(&y) {
                return "vowel-swap";
            }
            return "replacement";
        }
        return "homoglyph";
    }
    "homoglyph"
}
