//! `antimony check`'s answer for one name: every stateless detector's verdict with its
//! reason, as text for people or JSON.

use antimony_detect::alert::Evidence;
use antimony_detect::detectors::Explanation;
use antimony_detect::{Detectors, Severity};
use antimony_dns::domain::NameError;
use serde_json::{Value, json};

/// Every stateless detector's verdict on one name.
pub struct NameVerdict<'a> {
    name: &'a str,
    normalised: String,
    registered_domain: String,
    explanations: Vec<Explanation>,
}

impl<'a> NameVerdict<'a> {
    /// The detectors' verdicts on `name`; an error when it is not a domain name.
    pub fn of(detectors: &Detectors, name: &'a str) -> Result<Self, NameError> {
        let normalised = antimony_dns::domain::normalise(name.trim())?;
        let registered_domain = antimony_dns::domain::registered_domain(&normalised)
            .unwrap_or("")
            .to_owned();
        let explanations = detectors.explain(name)?;
        Ok(NameVerdict {
            name,
            normalised,
            registered_domain,
            explanations,
        })
    }

    fn fired(&self) -> impl Iterator<Item = &Explanation> {
        self.explanations.iter().filter(|e| e.fired)
    }

    fn score(&self) -> u8 {
        self.fired().map(|e| e.score).max().unwrap_or(0)
    }

    fn severity(&self) -> Option<Severity> {
        self.fired().filter_map(|e| e.severity).max()
    }

    /// The verdict for people: one line per detector.
    pub fn to_text(&self) -> String {
        let verdict = match self.severity() {
            Some(severity) => format!("ALERT ({severity}, score {})", self.score()),
            None => "ok".to_owned(),
        };
        let mut out = format!("{}: {verdict}\n", self.normalised);
        if self.normalised != self.name.trim() {
            out.push_str(&format!(
                "  (read as {} from {:?})\n",
                self.normalised, self.name
            ));
        }
        out.push_str(&format!(
            "  registered domain: {}\n",
            if self.registered_domain.is_empty() {
                "(none)"
            } else {
                &self.registered_domain
            }
        ));
        for e in &self.explanations {
            let state = match e.severity {
                Some(severity) if e.fired => format!("FIRED {severity}"),
                _ => "quiet".to_owned(),
            };
            out.push_str(&format!(
                "  {:<13} {:<12} score {:>3}  {}\n",
                e.detector, state, e.score, e.reason
            ));
        }
        out
    }

    /// The verdict as one JSON object.
    pub fn to_json(&self) -> Value {
        let detectors: Vec<Value> = self
            .explanations
            .iter()
            .map(|e| {
                let evidence: serde_json::Map<String, Value> = e
                    .evidence
                    .iter()
                    .map(|(k, v)| (k.clone(), evidence_json(v)))
                    .collect();
                json!({
                    "detector": e.detector,
                    "fired": e.fired,
                    "score": e.score,
                    "severity": e.severity.map(Severity::as_str),
                    "reason": e.reason,
                    "evidence": evidence,
                })
            })
            .collect();
        json!({
            "name": self.normalised,
            "registered_domain": self.registered_domain,
            "verdict": if self.severity().is_some() { "alert" } else { "ok" },
            "severity": self.severity().map(Severity::as_str),
            "score": self.score(),
            "detectors": detectors,
        })
    }
}

fn evidence_json(value: &Evidence) -> Value {
    match value {
        Evidence::Text(s) => json!(s),
        Evidence::Integer(i) => json!(i),
        Evidence::Number(n) => json!(n),
        Evidence::Bool(b) => json!(b),
        Evidence::List(items) => json!(items),
    }
}
