//! Threat-intelligence lists: a name is suspicious when it, or a domain it is under, is listed.
//!
//! Lists are named (the name appears in alerts) and parsed from text, one entry per line, in
//! either of two formats, recognised line by line so a file may mix them:
//!
//! - plain: `evil.com` (a leading `*.` or `.` is dropped: subdomains always match);
//! - hosts file: `0.0.0.0 evil.com other.example` (any address first; `localhost` and the
//!   other names of a stock hosts file are skipped).
//!
//! `#` starts a comment, anywhere on a line. A line that is neither (a URL, a bare address, a
//! single label) is counted and reported with its line number, never fatal.
//!
//! A lookup walks the name's label boundaries from the full name inwards (`a.b.evil.com`,
//! `b.evil.com`, `evil.com`), skipping suffixes with more or fewer labels than any entry, so
//! it costs a few hashed lookups and no allocation.
//!
//! Evidence keys: `entry` (the listed name that matched), `match` (`exact` or `subdomain`),
//! `lists` (names of the lists that hold the entry).

use std::fmt::Write as _;
use std::net::IpAddr;

use ahash::AHashMap;
use thiserror::Error;

use super::{Explanation, Finding, Name, NameDetector, ev};
use crate::alert::Severity;

/// The detector's name in alerts.
pub const DETECTOR: &str = "threat_intel";

/// At most this many line errors are kept per list (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 100;

/// Names of a stock hosts file that are not block-list entries.
const HOSTS_BOILERPLATE: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
    "0.0.0.0",
];

/// Why one line of a list was not used.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LineErrorKind {
    /// An address alone: hosts format needs a name after it, and address lists are not
    /// supported here.
    #[error("{0:?} is an IP address without a name after it, not a domain")]
    IpAddress(String),
    /// More than one field in the plain format.
    #[error("expected one domain per line, found {0} fields")]
    ExtraFields(usize),
    /// A single label, which would match a whole top-level domain.
    #[error("{0:?} is a single label; list a registered domain or a name under one")]
    SingleLabel(String),
    /// Not a domain name at all (a URL, a pattern, bad characters).
    #[error("{0:?} is not a domain name")]
    NotADomain(String),
}

/// One unusable line of a list.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}: {kind}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub kind: LineErrorKind,
}

/// What loading one list did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListReport {
    /// The list's name.
    pub name: String,
    /// Lines read.
    pub lines: usize,
    /// Entries taken (distinct within this list).
    pub entries: usize,
    /// Entries this list repeated.
    pub duplicates: usize,
    /// Unusable lines, counted.
    pub error_count: usize,
    /// The first [`MAX_REPORTED_ERRORS`] unusable lines.
    pub errors: Vec<LineError>,
}

/// How a list's hits are rated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListInfo {
    /// Name shown in alerts.
    pub name: String,
    /// Severity of a hit.
    pub severity: Severity,
    /// Score of a hit.
    pub score: u8,
    /// Distinct entries.
    pub entries: usize,
}

/// The lists that hold one entry: almost always one, so no allocation for that case.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Listed {
    One(u16),
    Many(Box<[u16]>),
}

impl Listed {
    fn ids(&self) -> &[u16] {
        match self {
            Listed::One(id) => std::slice::from_ref(id),
            Listed::Many(ids) => ids,
        }
    }

    fn contains(&self, id: u16) -> bool {
        self.ids().contains(&id)
    }

    fn add(&mut self, id: u16) {
        let mut ids = self.ids().to_vec();
        ids.push(id);
        *self = Listed::Many(ids.into_boxed_slice());
    }
}

/// Errors that stop a list from loading at all.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ThreatIntelError {
    /// More lists than a list id can number.
    #[error("too many lists (at most {})", u16::MAX)]
    TooManyLists,
}

/// Named block lists and the detector over them.
#[derive(Clone, Debug, Default)]
pub struct ThreatIntel {
    lists: Vec<ListInfo>,
    index: AHashMap<Box<str>, Listed>,
    min_labels: usize,
    max_labels: usize,
}

impl ThreatIntel {
    /// No lists: fires on nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `text` as a list called `name` and adds it; hits are rated `severity` / `score`.
    pub fn add_list(
        &mut self,
        name: &str,
        text: &str,
        severity: Severity,
        score: u8,
    ) -> Result<ListReport, ThreatIntelError> {
        let id = u16::try_from(self.lists.len()).map_err(|_| ThreatIntelError::TooManyLists)?;
        let mut report = ListReport {
            name: name.to_owned(),
            ..ListReport::default()
        };
        for (i, raw) in text.lines().enumerate() {
            report.lines += 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if let Err(kind) = self.add_line(id, line, &mut report) {
                report.error_count += 1;
                if report.errors.len() < MAX_REPORTED_ERRORS {
                    report.errors.push(LineError { line: i + 1, kind });
                }
            }
        }
        self.lists.push(ListInfo {
            name: name.to_owned(),
            severity,
            score: score.min(100),
            entries: report.entries,
        });
        Ok(report)
    }

    fn add_line(
        &mut self,
        id: u16,
        line: &str,
        report: &mut ListReport,
    ) -> Result<(), LineErrorKind> {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if first.parse::<IpAddr>().is_ok() {
            // Hosts format: an address, then one or more names.
            let mut any = false;
            for name in fields {
                any = true;
                if HOSTS_BOILERPLATE.contains(&name) {
                    continue;
                }
                self.add_entry(id, name, report)?;
            }
            if !any {
                return Err(LineErrorKind::IpAddress(first.to_owned()));
            }
            return Ok(());
        }
        let extra = fields.count();
        if extra > 0 {
            return Err(LineErrorKind::ExtraFields(extra + 1));
        }
        self.add_entry(id, first, report)
    }

    fn add_entry(
        &mut self,
        id: u16,
        raw: &str,
        report: &mut ListReport,
    ) -> Result<(), LineErrorKind> {
        let stripped = raw.strip_prefix("*.").unwrap_or(raw);
        let stripped = stripped.strip_prefix('.').unwrap_or(stripped);
        let name = antimony_dns::domain::normalise(stripped)
            .map_err(|_| LineErrorKind::NotADomain(raw.to_owned()))?;
        if name.parse::<IpAddr>().is_ok() {
            return Err(LineErrorKind::IpAddress(raw.to_owned()));
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(LineErrorKind::NotADomain(raw.to_owned()));
        }
        let labels = name.bytes().filter(|&b| b == b'.').count() + 1;
        if labels < 2 {
            return Err(LineErrorKind::SingleLabel(raw.to_owned()));
        }
        if self.index.is_empty() {
            self.min_labels = labels;
            self.max_labels = labels;
        } else {
            self.min_labels = self.min_labels.min(labels);
            self.max_labels = self.max_labels.max(labels);
        }
        match self.index.get_mut(name.as_str()) {
            Some(listed) if listed.contains(id) => report.duplicates += 1,
            Some(listed) => {
                listed.add(id);
                report.entries += 1;
            }
            None => {
                self.index.insert(name.into_boxed_str(), Listed::One(id));
                report.entries += 1;
            }
        }
        Ok(())
    }

    /// The lists loaded, in order.
    pub fn lists(&self) -> &[ListInfo] {
        &self.lists
    }

    /// Distinct entries over all lists.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no entry is loaded.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The most specific listed name that `qname` equals or is under, with its lists.
    fn lookup<'s>(&'s self, qname: &str) -> Option<(&'s str, &'s Listed)> {
        if self.index.is_empty() || qname.is_empty() {
            return None;
        }
        let mut labels = qname.bytes().filter(|&b| b == b'.').count() + 1;
        let mut suffix = qname;
        while labels >= self.min_labels {
            if labels <= self.max_labels
                && let Some((entry, listed)) = self.index.get_key_value(suffix)
            {
                return Some((entry, listed));
            }
            let (_, rest) = suffix.split_once('.')?;
            suffix = rest;
            labels -= 1;
        }
        None
    }

    fn finding(&self, qname: &str, entry: &str, listed: &Listed) -> Finding {
        let mut severity = Severity::Info;
        let mut score = 0;
        let mut names = Vec::with_capacity(listed.ids().len());
        for &id in listed.ids() {
            if let Some(list) = self.lists.get(usize::from(id)) {
                severity = severity.max(list.severity);
                score = score.max(list.score);
                names.push(list.name.clone());
            }
        }
        let exact = entry == qname;
        let mut reason = String::with_capacity(96);
        if exact {
            let _ = write!(reason, "{qname} is listed in ");
        } else {
            let _ = write!(reason, "{qname} is a subdomain of {entry}, listed in ");
        }
        write_conjunction(&names, &mut reason);
        Finding {
            detector: DETECTOR,
            score,
            severity,
            reason,
            evidence: vec![
                ev("entry", entry),
                ev("match", if exact { "exact" } else { "subdomain" }),
                ev("lists", names),
            ],
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
            let mut names = Vec::new();
            for list in &self.lists {
                names.push(list.name.clone());
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn intel(lists: &[(&str, &str)]) -> ThreatIntel {
        let mut ti = ThreatIntel::new();
        for (name, text) in lists {
            ti.add_list(name, text, Severity::High, 90).expect("list");
        }
        ti
    }

    fn check(ti: &ThreatIntel, qname: &str, expected: Option<&str>) {
        let finding = ti.check(&Name::new(qname, 1));
        assert_eq!(
            finding.as_ref().map(|f| f.reason.as_str()),
            expected,
            "{qname}"
        );
    }

    #[test]
    fn matches_exact_and_subdomains() {
        let ti = intel(&[(
            "maltrail",
            "# comment\nevil.com\nbad.co.uk  # inline\n*.wild.net\n",
        )]);
        let cases = [
            ("evil.com", Some("evil.com is listed in maltrail")),
            (
                "a.b.evil.com",
                Some("a.b.evil.com is a subdomain of evil.com, listed in maltrail"),
            ),
            (
                "x.bad.co.uk",
                Some("x.bad.co.uk is a subdomain of bad.co.uk, listed in maltrail"),
            ),
            ("wild.net", Some("wild.net is listed in maltrail")),
            ("notevil.com", None),
            ("evil.com.example", None),
            ("com", None),
            ("", None),
            ("co.uk", None),
        ];
        for (qname, expected) in cases {
            check(&ti, qname, expected);
        }
    }

    #[test]
    fn most_specific_entry_wins_and_lists_are_named() {
        let ti = intel(&[
            ("a", "evil.com\n"),
            ("b", "evil.com\ncdn.evil.com\n"),
            ("c", "evil.com"),
        ]);
        check(&ti, "evil.com", Some("evil.com is listed in a, b and c"));
        check(
            &ti,
            "x.cdn.evil.com",
            Some("x.cdn.evil.com is a subdomain of cdn.evil.com, listed in b"),
        );
    }

    #[test]
    fn hosts_format_and_errors_with_line_numbers() {
        let mut ti = ThreatIntel::new();
        let text = "127.0.0.1 localhost\n::1 ip6-localhost\n0.0.0.0 evil.com other.org\n\
                    0.0.0.0\nhttp://x.com/path\n10.1.2.3\nevil.com extra\nsingle\nEVIL.COM\n\
                    127.0.0.1\tTabbed.Example.\n";
        let report = ti
            .add_list("hosts", text, Severity::High, 90)
            .expect("list");
        assert_eq!(report.lines, 10);
        assert_eq!(report.entries, 3);
        assert_eq!(report.duplicates, 1);
        assert_eq!(report.error_count, 5);
        let lines: Vec<usize> = report.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 5, 6, 7, 8]);
        assert_eq!(
            report.errors[2].to_string(),
            "line 6: \"10.1.2.3\" is an IP address without a name after it, not a domain"
        );
        check(
            &ti,
            "www.other.org",
            Some("www.other.org is a subdomain of other.org, listed in hosts"),
        );
        check(
            &ti,
            "tabbed.example",
            Some("tabbed.example is listed in hosts"),
        );
        check(&ti, "localhost", None);
    }

    #[test]
    fn explains_misses() {
        let ti = intel(&[("maltrail", "evil.com\n")]);
        let e = ti.explain(&Name::new("good.com", 1));
        assert!(!e.fired);
        assert_eq!(
            e.reason,
            "neither good.com nor any domain it is under is in maltrail (1 entry)"
        );
        let e = ThreatIntel::new().explain(&Name::new("good.com", 1));
        assert_eq!(e.reason, "no threat-intelligence list is loaded");
    }

    #[test]
    fn list_severity_is_per_list() {
        let mut ti = ThreatIntel::new();
        ti.add_list("dyndns", "duckdns.org\n", Severity::Low, 30)
            .expect("list");
        let f = ti.check(&Name::new("x.duckdns.org", 1)).expect("hit");
        assert_eq!((f.severity, f.score), (Severity::Low, 30));
    }
}
