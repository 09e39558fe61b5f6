//! Stateless detectors: each looks at one name and says whether it is suspicious.
//!
//! Every detector implements [`NameDetector`]: [`check`](NameDetector::check) runs on every
//! DNS event, so it must not allocate when nothing fires (the reason and evidence are built
//! only for a [`Finding`]); [`explain`](NameDetector::explain) is for `antimony check` and may
//! take its time to say, in words, why the detector fired or not.

use antimony_dns::DnsEvent;

use crate::alert::{Evidence, Severity};

pub mod dga;
pub mod gbdt;
pub mod keywords;
pub mod length;
pub mod lookalike;
pub mod suspicious;
pub mod threat_intel;

/// The view of one DNS question that detectors look at. Borrowed: building it costs nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name<'a> {
    /// The question name, normalised (lower case, punycode, no trailing dot).
    pub qname: &'a str,
    /// Its registered domain (eTLD+1, a suffix of `qname`), `""` when it has none.
    pub registered_domain: &'a str,
    /// Question type code (1 = A, 16 = TXT...), 0 when unknown.
    pub qtype: u16,
}

impl<'a> Name<'a> {
    /// A view of an event's question.
    pub fn from_event(event: &'a DnsEvent) -> Self {
        Name {
            qname: &event.qname,
            registered_domain: event.registered_domain(),
            qtype: event.qtype,
        }
    }

    /// A view of a name that is already normalised, computing its registered domain.
    pub fn new(qname: &'a str, qtype: u16) -> Self {
        Name {
            qname,
            registered_domain: antimony_dns::domain::registered_domain(qname).unwrap_or(""),
            qtype,
        }
    }

    /// The first label of the registered domain: what the owner chose (`update-java` for
    /// `www.update-java.net`, `bbc` for `bbc.co.uk`). `""` when there is no registered domain.
    pub fn registered_label(&self) -> &'a str {
        let rd = self.registered_domain;
        rd.split_once('.').map_or(rd, |(label, _)| label)
    }

    /// The public suffix (`co.uk` for `www.bbc.co.uk`), `""` when there is no registered domain.
    pub fn public_suffix(&self) -> &'a str {
        self.registered_domain
            .split_once('.')
            .map_or("", |(_, suffix)| suffix)
    }

    /// The labels the owner of the registered domain controls, without the public suffix
    /// (`www.update-java` for `www.update-java.net`); the whole name when there is no
    /// registered domain.
    pub fn name_without_suffix(&self) -> &'a str {
        let suffix = self.public_suffix();
        if suffix.is_empty() {
            return self.qname;
        }
        self.qname
            .strip_suffix(suffix)
            .and_then(|s| s.strip_suffix('.'))
            .unwrap_or(self.qname)
    }
}

/// What a detector found about one name. Turned into an [`Alert`](crate::Alert) by the
/// pipeline, which adds the event's time, client and id.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The detector's stable name (part of the alert id).
    pub detector: &'static str,
    /// Confidence, 0-100.
    pub score: u8,
    /// How urgently an analyst should look.
    pub severity: Severity,
    /// One sentence for a person.
    pub reason: String,
    /// Facts supporting the finding (keys documented by each detector).
    pub evidence: Vec<(String, Evidence)>,
}

/// A detector's verdict on one name, fired or not, for `antimony check`.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The detector's stable name.
    pub detector: &'static str,
    /// Whether the detector would raise an alert.
    pub fired: bool,
    /// The detector's score for this name (also when it did not fire, where it has one).
    pub score: u8,
    /// The alert's severity when it fired, `None` otherwise.
    pub severity: Option<Severity>,
    /// Why it fired, or why not, as a sentence.
    pub reason: String,
    /// Facts behind the verdict.
    pub evidence: Vec<(String, Evidence)>,
}

impl Explanation {
    /// The explanation of a finding.
    pub fn fired(finding: Finding) -> Self {
        Explanation {
            detector: finding.detector,
            fired: true,
            score: finding.score,
            severity: Some(finding.severity),
            reason: finding.reason,
            evidence: finding.evidence,
        }
    }

    /// The explanation of a detector that did not fire.
    pub fn quiet(detector: &'static str, score: u8, reason: String) -> Self {
        Explanation {
            detector,
            fired: false,
            score,
            severity: None,
            reason,
            evidence: Vec::new(),
        }
    }

    /// Adds a fact to the explanation.
    pub fn with(mut self, key: &str, value: impl Into<Evidence>) -> Self {
        self.evidence.push((key.to_owned(), value.into()));
        self
    }
}

/// A detector that judges one name at a time, with no state.
pub trait NameDetector: Send + Sync {
    /// The detector's stable name, as in alerts (`threat_intel`, `keyword`...).
    fn name(&self) -> &'static str;

    /// Judges one name; `None` (without allocating) when nothing is suspicious.
    fn check(&self, name: &Name<'_>) -> Option<Finding>;

    /// Says why the detector fires on `name`, or why it does not.
    fn explain(&self, name: &Name<'_>) -> Explanation;
}

/// Shorthand for an evidence pair.
pub(crate) fn ev(key: &str, value: impl Into<Evidence>) -> (String, Evidence) {
    (key.to_owned(), value.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_parts() {
        let n = Name::new("www.update-java.net", 1);
        assert_eq!(n.registered_domain, "update-java.net");
        assert_eq!(n.registered_label(), "update-java");
        assert_eq!(n.public_suffix(), "net");
        assert_eq!(n.name_without_suffix(), "www.update-java");

        let n = Name::new("news.bbc.co.uk", 1);
        assert_eq!(n.registered_label(), "bbc");
        assert_eq!(n.public_suffix(), "co.uk");
        assert_eq!(n.name_without_suffix(), "news.bbc");

        let n = Name::new("co.uk", 1);
        assert_eq!(n.registered_domain, "");
        assert_eq!(n.registered_label(), "");
        assert_eq!(n.name_without_suffix(), "co.uk");
    }
}
