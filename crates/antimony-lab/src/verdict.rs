//! The default verdict (`antimony score`'s `alert`), measured name by name: every detector a
//! configuration builds, on DGA names per family and on long-tail benign names never trained
//! or calibrated on.

use std::collections::BTreeMap;

use antimony_detect::{Detectors, Name};

use crate::dga::label_of;
use crate::eval::Rate;

/// Verdicts on labelled names.
#[derive(Clone, Debug, Default)]
pub struct VerdictEval {
    /// The score at which a verdict is an alert.
    pub threshold: u8,
    /// Per DGA family: names whose verdict is an alert / names.
    pub families: BTreeMap<String, Rate>,
    /// Benign names whose verdict is an alert / names.
    pub benign: Rate,
    /// Which detectors fired on the benign alerts, and how often.
    pub benign_by_detector: BTreeMap<&'static str, usize>,
    /// The first benign names that alerted.
    pub benign_examples: Vec<String>,
}

impl VerdictEval {
    /// Mean over families of the share alerted.
    pub fn macro_recall(&self) -> f64 {
        let n = self.families.len().max(1) as f64;
        self.families.values().map(Rate::rate).sum::<f64>() / n
    }
}

/// The verdicts of `detectors` on `(family, name)` DGA rows (one per distinct registered
/// label, as the DGA evaluation counts them) and on `benign` names.
pub fn verdicts<'a>(
    detectors: &Detectors,
    dga: impl IntoIterator<Item = (&'a str, &'a str)>,
    benign: impl IntoIterator<Item = &'a str>,
) -> VerdictEval {
    let mut e = VerdictEval {
        threshold: detectors.alert_threshold(),
        ..VerdictEval::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for (family, raw) in dga {
        let Some(label) = label_of(raw) else {
            continue;
        };
        if !seen.insert(label) {
            continue;
        }
        let alert = verdict(detectors, raw, |_| {});
        e.families.entry(family.to_owned()).or_default().add(alert);
    }
    for raw in benign {
        let mut fired: Vec<&'static str> = Vec::new();
        let alert = verdict(detectors, raw, |d| fired.push(d));
        e.benign.add(alert);
        if alert {
            for d in fired {
                *e.benign_by_detector.entry(d).or_default() += 1;
            }
            if e.benign_examples.len() < 20 {
                e.benign_examples.push(raw.to_owned());
            }
        }
    }
    e
}

/// `antimony score`'s verdict on a raw name (an invalid name is no alert).
fn verdict(detectors: &Detectors, raw: &str, fired: impl FnMut(&'static str)) -> bool {
    let Ok(qname) = antimony_dns::domain::normalise(raw.trim()) else {
        return false;
    };
    detectors.verdict(&Name::new(&qname, 1), fired).alert
}
