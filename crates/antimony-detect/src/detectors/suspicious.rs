//! Suspicious services: names under dynamic-DNS providers, free web hosts, DNS-tunnel
//! services and blockchain DNS gateways.
//!
//! Millions of legitimate names live under these suffixes, so a hit alone is only `info`:
//! the pipeline does not raise it as an alert by default, it *raises the score* of the other
//! detectors' findings on the same name (a random-looking label under `ddns.net` is more
//! suspicious than one under `example.com`). See [`SuspiciousConfig`].
//!
//! The built-in suffix lists are maltrail's `trails/static/suspicious` files (MIT licence,
//! compiled in from `rules/suspicious/`); more can be added in the `auto` list formats of
//! [`threat_intel`](super::threat_intel).
//!
//! Evidence keys: `entry` (the suffix), `category` (`dynamic_dns`, `free_hosting`,
//! `dns_tunnel_service`, `blockchain_dns`).

use serde::{Deserialize, Serialize};

use super::threat_intel::{ListFormat, ListSpec, ThreatIntel, ThreatIntelError};
use super::{Explanation, Finding, Name, NameDetector, ev};
use crate::alert::Severity;

/// The detector's name in alerts.
pub const DETECTOR: &str = "suspicious";

/// The built-in lists: (category, text).
pub const BUILTIN_LISTS: &[(&str, &str)] = &[
    (
        "dynamic_dns",
        include_str!("../../rules/suspicious/maltrail_dynamic_domain.txt"),
    ),
    (
        "free_hosting",
        include_str!("../../rules/suspicious/maltrail_free_web_hosting.txt"),
    ),
    (
        "dns_tunnel_service",
        include_str!("../../rules/suspicious/maltrail_dns_tunneling_service.txt"),
    ),
    (
        "blockchain_dns",
        include_str!("../../rules/suspicious/maltrail_blockchain_dns.txt"),
    ),
];

/// Settings of the suspicious-service signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SuspiciousConfig {
    /// Look names up (default true).
    pub enabled: bool,
    /// Use the built-in lists (default true).
    pub builtin: bool,
    /// Raise an alert for a hit on its own (default false: it only raises other scores).
    pub alert_alone: bool,
    /// Points added to another finding's score on the same name (default 15).
    pub boost: u8,
    /// Score of a hit on its own (default 20).
    pub score: u8,
}

impl Default for SuspiciousConfig {
    fn default() -> Self {
        SuspiciousConfig {
            enabled: true,
            builtin: true,
            alert_alone: false,
            boost: 15,
            score: 20,
        }
    }
}

/// The detector: suffix lists, one category each.
#[derive(Clone, Debug)]
pub struct Suspicious {
    lists: ThreatIntel,
    score: u8,
}

impl Suspicious {
    /// The built-in lists plus `extra` `(category, text)` lists.
    pub fn new<'a>(
        builtin: bool,
        extra: impl IntoIterator<Item = (&'a str, &'a str)>,
        score: u8,
    ) -> Result<Self, ThreatIntelError> {
        let mut lists = ThreatIntel::new();
        let all = BUILTIN_LISTS
            .iter()
            .copied()
            .filter(|_| builtin)
            .chain(extra);
        for (category, text) in all {
            let spec = ListSpec {
                name: format!("maltrail {category}"),
                format: ListFormat::Maltrail,
                category: category.to_owned(),
                severity: Severity::Info,
                score,
            };
            lists.add(&spec, text)?;
        }
        Ok(Suspicious { lists, score })
    }

    /// The category of the service `qname` is under, if any (no allocation).
    pub fn category(&self, qname: &str) -> Option<&str> {
        if !self.lists.contains(qname) {
            return None;
        }
        self.lists.categories_of(qname).first().copied()
    }
}

impl NameDetector for Suspicious {
    fn name(&self) -> &'static str {
        DETECTOR
    }

    fn check(&self, name: &Name<'_>) -> Option<Finding> {
        let f = self.lists.check(name)?;
        let entry = match f.evidence.first() {
            Some((_, crate::Evidence::Text(e))) => e.clone(),
            _ => String::new(),
        };
        let category = self.category(name.qname).unwrap_or("suspicious").to_owned();
        let service = category.replace('_', " ").replace("dns", "DNS");
        Some(Finding {
            detector: DETECTOR,
            score: self.score,
            severity: Severity::Info,
            reason: format!(
                "{} is under {entry}, a {service} service (names there are cheap and \
                 anonymous, a weak signal on its own)",
                name.qname
            ),
            evidence: vec![ev("entry", entry), ev("category", category)],
        })
    }

    fn explain(&self, name: &Name<'_>) -> Explanation {
        match self.check(name) {
            Some(f) => Explanation::fired(f),
            None => Explanation::quiet(
                DETECTOR,
                0,
                format!(
                    "{} is under no dynamic-DNS, free-hosting or tunnel service suffix",
                    name.qname
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_suffixes() {
        let s = Suspicious::new(true, [], 20).expect("lists");
        let f = s.check(&Name::new("x1y2.duckdns.org", 1)).expect("hit");
        assert_eq!(f.severity, Severity::Info);
        assert!(f.reason.contains("dynamic DNS service"), "{}", f.reason);
        assert_eq!(s.category("a.000webhostapp.com"), Some("free_hosting"));
        assert!(s.check(&Name::new("www.google.com", 1)).is_none());
    }
}
