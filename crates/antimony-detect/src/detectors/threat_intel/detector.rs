//! The detector over the index: the finding for a listed name (severity and score of the
//! most severe list that claims it, the reason, the evidence), and why nothing fired.

use std::fmt::Write as _;

use super::DETECTOR;
use super::index::{EXACT, Listed, SUBDOMAINS, ThreatIntel};
use crate::alert::Severity;
use crate::detectors::{Explanation, Finding, Name, NameDetector, ev};

impl ThreatIntel {
    fn finding(&self, qname: &str, entry: &str, listed: &Listed) -> Finding {
        let exact = entry == qname;
        let need = if exact { EXACT } else { SUBDOMAINS };
        let mut severity = Severity::Info;
        let mut score = 0;
        let mut names = Vec::new();
        let mut categories: Vec<String> = Vec::new();
        let mut family = None;
        for c in listed.claims().iter().filter(|c| c.covers & need != 0) {
            if let Some(list) = self.lists.get(usize::from(c.list)) {
                severity = severity.max(list.severity);
                score = score.max(list.score);
                names.push(list.name.clone());
            }
            if let Some(cat) = self.categories.get(usize::from(c.category))
                && !categories.contains(cat)
            {
                categories.push(cat.clone());
            }
            if c.family != 0 {
                family = self.families.get(usize::from(c.family));
            }
        }
        let mut reason = String::with_capacity(96);
        if exact {
            let _ = write!(reason, "{qname} is listed in ");
        } else {
            let _ = write!(reason, "{qname} is a subdomain of {entry}, listed in ");
        }
        write_conjunction(&names, &mut reason);
        let _ = write!(reason, " ({}", categories.join(", "));
        if let Some(f) = family {
            let _ = write!(reason, ": {f}");
        }
        reason.push(')');
        let mut evidence = vec![
            ev("entry", entry),
            ev("match", if exact { "exact" } else { "subdomain" }),
            ev("lists", names),
            ev("categories", categories),
        ];
        if let Some(f) = family {
            evidence.push(ev("family", f.as_str()));
        }
        Finding {
            detector: DETECTOR,
            score,
            severity,
            reason,
            evidence,
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn write_conjunction(items: &[String], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == items.len() { " and " } else { ", " });
        }
        out.push_str(item);
    }
}

impl NameDetector for ThreatIntel {
    fn name(&self) -> &'static str {
        DETECTOR
    }

    fn check(&self, name: &Name<'_>) -> Option<Finding> {
        let (entry, listed) = self.lookup(name.qname)?;
        Some(self.finding(name.qname, entry, listed))
    }

    fn explain(&self, name: &Name<'_>) -> Explanation {
        if let Some(finding) = self.check(name) {
            return Explanation::fired(finding);
        }
        let reason = if self.lists.is_empty() {
            "no threat-intelligence list is loaded".to_owned()
        } else {
            let names: Vec<String> = self.lists.iter().map(|l| l.name.clone()).collect();
            let mut reason = format!("neither {} nor any domain it is under is in ", name.qname);
            write_conjunction(&names, &mut reason);
            let n = self.index.len();
            let _ = write!(
                reason,
                " ({n} {})",
                if n == 1 { "entry" } else { "entries" }
            );
            reason
        };
        Explanation::quiet(DETECTOR, 0, reason).with("entries", self.index.len())
    }
}
