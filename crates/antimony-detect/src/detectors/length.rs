//! Suspiciously long names: very long names, very long labels, many labels.
//!
//! DNS tunnels and exfiltration pack data into names, so their names run long; so do a few
//! legitimate services (anti-virus cloud lookups, some CDNs), which is why a long name alone
//! is a `low` signal. Reverse-lookup names (`in-addr.arpa`, `ip6.arpa`, 34 labels for IPv6)
//! are ignored by default. Thresholds are in [`LengthConfig`]; a name fires when it is longer
//! than any of them.
//!
//! Evidence keys: `length`, `longest_label`, `labels`, and `exceeded` (which limits).

use std::fmt::Write as _;

use super::{Explanation, Finding, Name, NameDetector, ev};
use crate::config::LengthConfig;

/// The detector's name in alerts.
pub const DETECTOR: &str = "long_name";

/// The long-name detector.
#[derive(Clone, Debug)]
pub struct LongName {
    config: LengthConfig,
}

/// The measures of one name, computed in one pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Measures {
    length: usize,
    longest_label: usize,
    labels: usize,
}

impl Measures {
    fn of(qname: &str) -> Self {
        let mut longest_label = 0;
        let mut labels = 0;
        for label in qname.split('.') {
            labels += 1;
            longest_label = longest_label.max(label.len());
        }
        Measures {
            length: qname.len(),
            longest_label,
            labels,
        }
    }
}

impl LongName {
    /// A detector with these thresholds.
    pub fn new(config: LengthConfig) -> Self {
        LongName { config }
    }

    fn ignored(&self, qname: &str) -> bool {
        self.config.ignore_suffixes.iter().any(|s| {
            qname == s
                || qname
                    .strip_suffix(s.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }

    /// Which limits the measures exceed, as a bit set (1 = length, 2 = label, 4 = labels).
    fn exceeded(&self, m: Measures) -> u8 {
        u8::from(m.length > self.config.max_name_len)
            | u8::from(m.longest_label > self.config.max_label_len) << 1
            | u8::from(m.labels > self.config.max_labels) << 2
    }

    fn finding(&self, name: &Name<'_>, m: Measures, exceeded: u8) -> Finding {
        let c = &self.config;
        let mut parts = Vec::new();
        let mut keys = Vec::new();
        if exceeded & 1 != 0 {
            parts.push(format!(
                "is {} characters long (limit {})",
                m.length, c.max_name_len
            ));
            keys.push("length".to_owned());
        }
        if exceeded & 2 != 0 {
            parts.push(format!(
                "has a {}-character label (limit {})",
                m.longest_label, c.max_label_len
            ));
            keys.push("label".to_owned());
        }
        if exceeded & 4 != 0 {
            parts.push(format!("has {} labels (limit {})", m.labels, c.max_labels));
            keys.push("labels".to_owned());
        }
        let mut reason = String::with_capacity(160);
        let _ = write!(
            reason,
            "{} {}; long names can carry data (DNS tunnels, exfiltration)",
            name.qname,
            parts.join(" and ")
        );
        // One exceeded limit is the base score; each further one adds confidence.
        let score = c
            .score
            .saturating_add(10 * (exceeded.count_ones() as u8 - 1))
            .min(100);
        Finding {
            detector: DETECTOR,
            score,
            severity: c.severity,
            reason,
            evidence: vec![
                ev("length", m.length),
                ev("longest_label", m.longest_label),
                ev("labels", m.labels),
                ev("exceeded", keys),
            ],
        }
    }
}

impl NameDetector for LongName {
    fn name(&self) -> &'static str {
        DETECTOR
    }

    fn check(&self, name: &Name<'_>) -> Option<Finding> {
        // Cheap exit for the common case: a name no longer than the smallest possible
        // trigger cannot exceed any limit.
        let c = &self.config;
        if name.qname.len() <= c.max_label_len.min(c.max_name_len).min(c.max_labels * 2) {
            return None;
        }
        let m = Measures::of(name.qname);
        let exceeded = self.exceeded(m);
        if exceeded == 0 || self.ignored(name.qname) {
            return None;
        }
        Some(self.finding(name, m, exceeded))
    }

    fn explain(&self, name: &Name<'_>) -> Explanation {
        if let Some(finding) = self.check(name) {
            return Explanation::fired(finding);
        }
        let c = &self.config;
        let m = Measures::of(name.qname);
        let reason = if self.exceeded(m) != 0 && self.ignored(name.qname) {
            format!(
                "{} is long but under an ignored suffix (reverse lookups and the like)",
                name.qname
            )
        } else {
            format!(
                "{} is {} characters long, its longest label {} and it has {} labels, within \
                 the limits ({}, {}, {})",
                name.qname,
                m.length,
                m.longest_label,
                m.labels,
                c.max_name_len,
                c.max_label_len,
                c.max_labels
            )
        };
        Explanation::quiet(DETECTOR, 0, reason)
            .with("length", m.length)
            .with("longest_label", m.longest_label)
            .with("labels", m.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(qname: &str, expected: Option<(&str, u8)>) {
        let d = LongName::new(LengthConfig::default());
        let f = d.check(&Name::new(qname, 1));
        let got = f.as_ref().map(|f| {
            let Some((_, crate::Evidence::List(keys))) = f.evidence.last() else {
                return (String::new(), 0);
            };
            (keys.join(","), f.score)
        });
        assert_eq!(got, expected.map(|(k, s)| (k.to_owned(), s)), "{qname}");
    }

    #[test]
    fn thresholds() {
        let label50 = "a".repeat(50);
        let label51 = "a".repeat(51);
        let many = "a.".repeat(10) + "example.com";
        let long = format!("{0}.{0}.example.com", "b".repeat(45));
        let all = format!("{label51}.{}{label51}.com", "c.".repeat(10));
        let ok50 = format!("{label50}.example.com");
        let bad51 = format!("{label51}.example.com");
        let ipv6 = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa";
        let cases: Vec<(&str, Option<(&str, u8)>)> = vec![
            ("www.example.com", None),
            (&ok50, None),
            (&bad51, Some(("label", 30))),
            (&many, Some(("labels", 30))),
            (&long, Some(("length", 30))),
            (&all, Some(("length,label,labels", 50))),
            (ipv6, None),
            ("", None),
        ];
        for (qname, expected) in cases {
            check(qname, expected);
        }
    }

    #[test]
    fn explains() {
        let d = LongName::new(LengthConfig::default());
        let e = d.explain(&Name::new("www.example.com", 1));
        assert!(!e.fired);
        assert!(
            e.reason.contains("within the limits (100, 50, 10)"),
            "{}",
            e.reason
        );
        let name = format!("{}.example.com", "x".repeat(60));
        let e = d.explain(&Name::new(&name, 1));
        assert!(e.fired);
        assert!(
            e.reason.contains("has a 60-character label (limit 50)"),
            "{}",
            e.reason
        );
    }
}
