//! The DGA model file: [`Model::parse`] reads it, [`Model::to_text`] writes it.
//!
//! Lines starting with `#` and blank lines are skipped. The first other line is the header
//! (`antimony-dga-model 1`, or `2` when the file has the boosted classifier); then, one per
//! line, `threshold`, `min_label_len`, `bias`, `ll_centre`, a `feature` line per logistic
//! feature (name, mean, standard deviation, weight, typical value) and, in version 2,
//! `calibration` and `xtypical`; then `trigrams` and one trigram count per line, then one
//! four-gram count per line (four characters); and, in
//! version 2, the forest (see [`Forest::write`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use thiserror::Error;

use super::features::{ALPHABET, Counts, FEATURES, NF, NX, S, XFeatures, quad_index, tri_index};
use super::model::{Boosted, Model, Regression};
use crate::detectors::gbdt::Forest;

/// First line of a model file.
const MAGIC: &str = "antimony-dga-model 1";
/// First line of a model file with the boosted classifier.
const MAGIC2: &str = "antimony-dga-model 2";

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

impl Model {
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
        let mut quad = vec![0u32; S * S * S * S];
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
                    .ok_or_else(|| bad(n, "an n-gram with a character outside the alphabet"))?;
                let count = fields
                    .next()
                    .and_then(|v| v.parse::<u32>().ok())
                    .ok_or_else(|| bad(n, "an n-gram needs a count"))?;
                match syms[..] {
                    [a, b, c] => tri[tri_index((a, b, c))] = count,
                    [a, b, c, d] => quad[quad_index((a, b, c, d))] = count,
                    _ => return Err(bad(n, "an n-gram must have three or four characters")),
                }
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
            Counts::from_tables(tri, quad),
            reg,
            threshold.ok_or(ModelError::Missing("threshold"))?,
            min_len.ok_or(ModelError::Missing("min_label_len"))?,
        );
        if version2 {
            let forest = forest.ok_or(ModelError::Missing("forest"))?;
            if forest.features != NX {
                return Err(ModelError::Missing("forest over the extended features"));
            }
            model.set_boosted(Boosted {
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
        for (i, &n) in self.counts.quad.iter().enumerate() {
            if n > 0 {
                let q = [i / (S * S * S), i / (S * S) % S, i / S % S, i % S].map(|k| ALPHABET[k]);
                let _ = writeln!(out, "{} {n}", String::from_utf8_lossy(&q));
            }
        }
        if let Some(b) = &self.boosted {
            b.forest.write(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
