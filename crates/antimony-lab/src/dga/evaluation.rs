//! Recall and false-positive rates of a DGA model at a threshold, on labelled names.

use std::collections::{BTreeMap, BTreeSet};

use antimony_detect::detectors::dga::Model;

use super::label_of;

/// Recall and false-positive rates of a model at a threshold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Threshold used.
    pub threshold: u8,
    /// DGA labels scored (long enough) and caught, per family: (scored, caught, total).
    pub families: BTreeMap<String, (usize, usize, usize)>,
    /// Benign labels: (scored, fired, total).
    pub benign: (usize, usize, usize),
}

impl Evaluation {
    /// Share of all DGA labels caught (labels too short to score count as missed).
    pub fn recall(&self) -> f64 {
        let (caught, total) = self
            .families
            .values()
            .fold((0, 0), |(c, t), v| (c + v.1, t + v.2));
        caught as f64 / total.max(1) as f64
    }

    /// Share of all benign labels that fire.
    pub fn false_positive_rate(&self) -> f64 {
        self.benign.1 as f64 / self.benign.2.max(1) as f64
    }
}

/// Evaluates the model on labelled names (raw domains) at `threshold`.
pub fn evaluate<'a>(
    model: &Model,
    threshold: u8,
    benign: impl IntoIterator<Item = &'a str>,
    dga: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Evaluation {
    let mut e = Evaluation {
        threshold,
        ..Evaluation::default()
    };
    let fires = |label: &str| -> (bool, bool) {
        let scored = label.len() >= model.min_label_len;
        (
            scored,
            scored && model.score_label(label).score >= threshold,
        )
    };
    let benign: BTreeSet<String> = benign.into_iter().filter_map(label_of).collect();
    for label in &benign {
        let (scored, fired) = fires(label);
        e.benign.0 += usize::from(scored);
        e.benign.1 += usize::from(fired);
        e.benign.2 += 1;
    }
    let dga: BTreeSet<(String, String)> = dga
        .into_iter()
        .filter_map(|(f, n)| Some((f.to_owned(), label_of(n)?)))
        .collect();
    for (family, label) in &dga {
        let (scored, fired) = fires(label);
        let entry = e.families.entry(family.clone()).or_default();
        entry.0 += usize::from(scored);
        entry.1 += usize::from(fired);
        entry.2 += 1;
    }
    e
}
