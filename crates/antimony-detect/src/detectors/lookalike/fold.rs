//! Folding a label to what a person sees: confusable skeleton, then ASCII look-alikes.

/// ASCII look-alikes folded after the Unicode skeleton (multi-character ones first): the
/// pairs dnstwist and phishers use (`rn` for `m`, `vv` for `w`, `cl` for `d`, `lc` for `k`, `1`, `i`
/// and `l`, `0` and `o`, `q` and `g`).
const ASCII_FOLDS: &[(&[u8], u8)] = &[
    (b"rn", b'm'),
    (b"rr", b'm'),
    (b"nn", b'm'),
    (b"vv", b'w'),
    (b"cl", b'd'),
    (b"lc", b'k'),
    (b"0", b'o'),
    (b"1", b'l'),
    (b"i", b'l'),
    (b"q", b'g'),
];

/// Letters the confusable skeleton leaves outside ASCII that a reader still takes for an
/// ASCII letter (`ə` and `ǝ` for `e`, `ⱪ` and `ĸ` for `k`, `ʉ` for `u`; small capitals).
fn latin_lookalike(c: char) -> Option<u8> {
    Some(match c {
        'ǝ' | 'ə' => b'e',
        'ʙ' | 'ƅ' => b'b',
        'ƈ' => b'c',
        'ɢ' => b'g',
        'ⱨ' | 'ʜ' => b'h',
        'ʝ' => b'j',
        'ⱪ' | 'ĸ' => b'k',
        'ʟ' => b'l',
        'ʍ' => b'm',
        'ꞑ' | 'ɴ' => b'n',
        'ʀ' | 'ɾ' => b'r',
        'ʉ' => b'u',
        'ⱱ' | 'ⱴ' => b'v',
        'ⱳ' => b'w',
        _ => return None,
    })
}

/// The label as a person reads it, before the ASCII look-alikes: `xn--` labels decoded and
/// mapped to their confusable skeleton (marks dropped), ASCII letters, digits and hyphens
/// kept. Returns the length written to `out` and whether the label was internationalised.
fn skeleton(label: &str, out: &mut [u8; 128]) -> (usize, bool) {
    let mut n = 0;
    let idn = label.starts_with("xn--");
    if idn {
        let unicode = antimony_dns::domain::to_unicode(label);
        for c in unicode_security::skeleton(&unicode) {
            for l in c.to_lowercase() {
                let b = if l.is_ascii_alphanumeric() || l == '-' {
                    Some(l as u8)
                } else {
                    latin_lookalike(l)
                };
                if let Some(b) = b
                    && n < out.len()
                {
                    out[n] = b;
                    n += 1;
                }
            }
        }
    } else {
        for &b in label.as_bytes().iter().take(out.len()) {
            out[n] = b;
            n += 1;
        }
    }
    (n, idn)
}

/// The skeleton of an internationalised label (see [`skeleton`]) into `out`, without the
/// ASCII folds: `ielouɖ` reads `ieloud`, one edit from `icloud`, where the folds would make
/// it `leloud` against `ldoud`.
pub(super) fn skeleton_into(label: &str, out: &mut Folded) {
    let mut scratch = [0u8; 128];
    let (n, _) = skeleton(label, &mut scratch);
    out.len = 0;
    for &b in &scratch[..n] {
        out.push(b);
    }
}

/// Folds one label into `out` (cleared first): decodes punycode, maps characters to their
/// confusable skeleton, keeps ASCII letters, digits and hyphens, folds ASCII look-alikes.
/// Returns whether the label was internationalised. At most 63 bytes are written.
pub(super) fn fold_into(label: &str, out: &mut Folded) -> bool {
    out.len = 0;
    let mut scratch = [0u8; 128];
    let (n, idn) = skeleton(label, &mut scratch);
    let src = &scratch[..n];
    let mut i = 0;
    'outer: while i < src.len() {
        for (from, to) in ASCII_FOLDS {
            if src[i..].starts_with(from) {
                out.push(*to);
                i += from.len();
                continue 'outer;
            }
        }
        out.push(src[i]);
        i += 1;
    }
    idn
}

/// ASCII characters that pass for one another in most fonts, one of each class: `b` and `d`,
/// `c` and `e`, `g` and `q`, `i`, `l` and `1`, `m` and `n`, `o` and `0`.
fn class_of(b: u8) -> u8 {
    match b {
        b'b' => b'd',
        b'c' => b'e',
        b'q' => b'g',
        b'i' | b'1' => b'l',
        b'm' => b'n',
        b'0' => b'o',
        _ => b,
    }
}

/// The hash of a label with every character replaced by its look-alike class (see
/// `class_of`), characters only (no multi-character folds): two labels with the same
/// class hash differ only by letters a reader confuses, however many (`febcx` and
/// `fedex`, `lcloub` and `icloud`).
pub(super) fn class_hash(label: &[u8]) -> u64 {
    label.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(class_of(b))).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Multi-character look-alikes folded for [`deep_class_hash`], after `1`, `i` and `0`.
const DEEP_FOLDS: &[(&[u8], u8)] = &[
    (b"rn", b'm'),
    (b"rr", b'm'),
    (b"nn", b'm'),
    (b"vv", b'w'),
    (b"cl", b'd'),
    (b"dl", b'd'),
    (b"lb", b'b'),
    (b"lc", b'k'),
    (b"lk", b'k'),
    (b"lh", b'h'),
];

/// Like [`class_hash`], after folding `1`, `i`, `0` and then the multi-character look-alikes
/// (`cl` for `d`, `lc` for `k`, `rn` for `m`): dnstwist's homoglyphs chain two swaps
/// (`fedex` -> `fec1ex`: `d` -> `cl`, `l` -> `1`; `dropbox` -> `dropdlox`: `b` -> `d` ->
/// `dl`), which a lookup as written or folded once misses.
pub(super) fn deep_class_hash(label: &[u8]) -> u64 {
    let mut single = [0u8; 64];
    let n = label.len().min(single.len());
    for (o, &b) in single.iter_mut().zip(&label[..n]) {
        *o = match b {
            b'1' | b'i' => b'l',
            b'0' => b'o',
            _ => b,
        };
    }
    let src = &single[..n];
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut i = 0;
    'outer: while i < n {
        for (from, to) in DEEP_FOLDS {
            if src[i..].starts_with(from) {
                h = (h ^ u64::from(class_of(*to))).wrapping_mul(0x0100_0000_01b3);
                i += from.len();
                continue 'outer;
            }
        }
        h = (h ^ u64::from(class_of(src[i]))).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// A folded label, on the stack (at most 63 bytes; more is cut).
#[derive(Clone, Copy)]
pub(super) struct Folded {
    buf: [u8; 63],
    len: usize,
}

impl Folded {
    pub(super) fn new() -> Self {
        Folded {
            buf: [0; 63],
            len: 0,
        }
    }

    pub(super) fn push(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Folds a label to a new string (for brands and explanations).
pub fn fold_label(label: &str) -> String {
    let mut out = Folded::new();
    fold_into(label, &mut out);
    String::from_utf8_lossy(out.as_slice()).into_owned()
}
