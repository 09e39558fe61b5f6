//! The index of all lists: [`ThreatIntel`], one hash map from listed name to the lists
//! (and rows) that claim it, built list by list ([`ThreatIntel::add`], which hands the text to
//! the format's parser) and looked up label boundary by label boundary (see "Look-ups" in the
//! [module docs](super)).

use std::net::IpAddr;

use ahash::AHashMap;
use thiserror::Error;

use super::formats::{LineErrorKind, ListFormat, ListReport, record, sniff};
use crate::alert::Severity;

/// One list to load: its name, format, category and how hits are rated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSpec {
    /// Name shown in alerts.
    pub name: String,
    /// How the text is written.
    pub format: ListFormat,
    /// Category of its entries (a CSV `category` column overrides it per entry).
    pub category: String,
    /// Severity of a hit.
    pub severity: Severity,
    /// Score of a hit (0-100).
    pub score: u8,
}

impl ListSpec {
    /// A list in `auto` format, category `malware`, rated high, score 90.
    pub fn new(name: &str) -> Self {
        ListSpec {
            name: name.to_owned(),
            format: ListFormat::Auto,
            category: "malware".to_owned(),
            severity: Severity::High,
            score: 90,
        }
    }
}

/// How a list's hits are rated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListInfo {
    /// Name shown in alerts.
    pub name: String,
    /// Default category of its entries.
    pub category: String,
    /// Severity of a hit.
    pub severity: Severity,
    /// Score of a hit.
    pub score: u8,
    /// Distinct entries.
    pub entries: usize,
}

/// How one list differs between two list sets (see [`ThreatIntel::changes`]): what a reload
/// would add and remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListChange {
    /// The list's name.
    pub name: String,
    /// Distinct entries before (0 for a list the older set did not have).
    pub before: usize,
    /// Distinct entries after (0 for a list the newer set no longer has).
    pub after: usize,
    /// Entries the newer set lists and the older did not (for this list).
    pub added: usize,
    /// Entries the older set listed and the newer does not (for this list).
    pub removed: usize,
}

impl ListChange {
    /// True when the list lost more than `min_ratio` allows: it had entries and now has none,
    /// or fewer than `min_ratio` of them. A `min_ratio` of 0 (or less) never refuses; a list
    /// that was already empty is never said to shrink.
    pub fn shrank_below(&self, min_ratio: f64) -> bool {
        if min_ratio <= 0.0 || self.before == 0 {
            return false;
        }
        // Entry counts are far below 2^53: the conversions are exact.
        self.after == 0 || (self.after as f64) < min_ratio * self.before as f64
    }
}

/// Which names an entry covers.
pub(super) const EXACT: u8 = 1;
pub(super) const SUBDOMAINS: u8 = 2;

/// One list's claim on an entry: list, category (interned) and family (interned, 0 = none),
/// and which names it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Claim {
    pub(super) list: u16,
    pub(super) category: u16,
    pub(super) family: u16,
    pub(super) covers: u8,
}

/// The claims on one entry: almost always one, so no allocation for that case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Listed {
    One(Claim),
    Many(Box<[Claim]>),
}

impl Listed {
    pub(super) fn claims(&self) -> &[Claim] {
        match self {
            Listed::One(c) => std::slice::from_ref(c),
            Listed::Many(cs) => cs,
        }
    }

    fn covers(&self) -> u8 {
        self.claims().iter().fold(0, |a, c| a | c.covers)
    }

    /// Adds a claim; false when this list already claimed the entry (its coverage merges).
    fn add(&mut self, claim: Claim) -> bool {
        let mut claims = self.claims().to_vec();
        if let Some(c) = claims.iter_mut().find(|c| c.list == claim.list) {
            c.covers |= claim.covers;
            *self = Listed::Many(claims.into_boxed_slice());
            return false;
        }
        claims.push(claim);
        *self = Listed::Many(claims.into_boxed_slice());
        true
    }
}

/// Errors that stop a list from loading at all.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ThreatIntelError {
    /// More lists (or categories, or families) than an id can number.
    #[error("too many lists, categories or families (at most {})", u16::MAX)]
    TooManyLists,
}

/// Named block lists and the detector over them (see the [module docs](super)).
#[derive(Clone, Debug, Default)]
pub struct ThreatIntel {
    pub(super) lists: Vec<ListInfo>,
    /// Interned categories and families (index 0 of `families` is "none").
    pub(super) categories: Vec<String>,
    pub(super) families: Vec<String>,
    pub(super) index: AHashMap<Box<str>, Listed>,
    min_labels: usize,
    max_labels: usize,
}

pub(super) fn intern(table: &mut Vec<String>, value: &str) -> Result<u16, ThreatIntelError> {
    if let Some(i) = table.iter().position(|v| v == value) {
        return u16::try_from(i).map_err(|_| ThreatIntelError::TooManyLists);
    }
    table.push(value.to_owned());
    u16::try_from(table.len() - 1).map_err(|_| ThreatIntelError::TooManyLists)
}

impl ThreatIntel {
    /// No lists: fires on nothing.
    pub fn new() -> Self {
        ThreatIntel {
            families: vec![String::new()],
            ..Self::default()
        }
    }

    /// Builds a list set from `(spec, text)` pairs, in order; one report per list.
    pub fn from_lists<'a>(
        lists: impl IntoIterator<Item = (&'a ListSpec, &'a str)>,
    ) -> Result<(Self, Vec<ListReport>), ThreatIntelError> {
        let mut ti = ThreatIntel::new();
        let mut reports = Vec::new();
        for (spec, text) in lists {
            reports.push(ti.add(spec, text)?);
        }
        Ok((ti, reports))
    }

    /// Parses `text` as a plain or hosts list called `name`, category `malware`, and adds
    /// it; hits are rated `severity` / `score`.
    pub fn add_list(
        &mut self,
        name: &str,
        text: &str,
        severity: Severity,
        score: u8,
    ) -> Result<ListReport, ThreatIntelError> {
        let spec = ListSpec {
            severity,
            score,
            ..ListSpec::new(name)
        };
        self.add(&spec, text)
    }

    /// Parses `text` as the list `spec` describes and adds it.
    pub fn add(&mut self, spec: &ListSpec, text: &str) -> Result<ListReport, ThreatIntelError> {
        if self.families.is_empty() {
            self.families.push(String::new());
        }
        let list = u16::try_from(self.lists.len()).map_err(|_| ThreatIntelError::TooManyLists)?;
        let category = intern(&mut self.categories, &spec.category)?;
        let mut report = ListReport {
            name: spec.name.clone(),
            ..ListReport::default()
        };
        let format = match spec.format {
            ListFormat::Auto => sniff(text),
            f => f,
        };
        let claim = Claim {
            list,
            category,
            family: 0,
            covers: EXACT | SUBDOMAINS,
        };
        match format {
            ListFormat::Csv => self.add_csv(claim, text, &mut report)?,
            ListFormat::Rpz => self.add_rpz(claim, text, &mut report),
            f => {
                for (i, raw) in text.lines().enumerate() {
                    report.lines += 1;
                    let line = raw.split('#').next().unwrap_or("").trim();
                    if line.is_empty() {
                        continue;
                    }
                    let outcome = if f == ListFormat::Maltrail {
                        self.add_trail(claim, line, &mut report)
                    } else {
                        self.add_line(claim, line, f, &mut report)
                    };
                    record(outcome, i, &mut report);
                }
            }
        }
        self.lists.push(ListInfo {
            name: spec.name.clone(),
            category: spec.category.clone(),
            severity: spec.severity,
            score: spec.score.min(100),
            entries: report.entries,
        });
        Ok(report)
    }

    pub(super) fn add_entry(
        &mut self,
        claim: Claim,
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
            Some(listed) => {
                if listed.add(claim) {
                    report.entries += 1;
                } else {
                    report.duplicates += 1;
                }
            }
            None => {
                self.index.insert(name.into_boxed_str(), Listed::One(claim));
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

    /// How each list differs in `newer`: entries added and removed, per list, lists matched
    /// by name (`newer`'s in its order, then those only `self` has). One pass over each index
    /// with one hashed look-up per entry: linear in the entries, for a reload's report, off
    /// the path of the checks.
    pub fn changes(&self, newer: &ThreatIntel) -> Vec<ListChange> {
        let entries_of = |set: &ThreatIntel, name: &str| {
            set.lists.iter().find(|l| l.name == name).map(|l| l.entries)
        };
        let mut changes: Vec<ListChange> = newer
            .lists
            .iter()
            .map(|l| ListChange {
                name: l.name.clone(),
                before: entries_of(self, &l.name).unwrap_or(0),
                after: l.entries,
                added: 0,
                removed: 0,
            })
            .collect();
        for old in &self.lists {
            if entries_of(newer, &old.name).is_none() {
                changes.push(ListChange {
                    name: old.name.clone(),
                    before: old.entries,
                    after: 0,
                    added: 0,
                    removed: 0,
                });
            }
        }
        // Per list id of one set: its row in `changes` and the other set's id for the same
        // list, so the walks compare claims by id rather than by name.
        let rows = |set: &ThreatIntel, other: &ThreatIntel| -> Vec<(usize, Option<u16>)> {
            set.lists
                .iter()
                .map(|l| {
                    // Every list of either set has a row: the fallback is never taken.
                    let row = changes.iter().position(|c| c.name == l.name).unwrap_or(0);
                    let id = other.lists.iter().position(|o| o.name == l.name);
                    (row, id.and_then(|id| u16::try_from(id).ok()))
                })
                .collect()
        };
        let (new_rows, old_rows) = (rows(newer, self), rows(self, newer));
        unclaimed(newer, self, &new_rows, |row| changes[row].added += 1);
        unclaimed(self, newer, &old_rows, |row| changes[row].removed += 1);
        changes
    }

    /// The most specific listed name that covers `qname` (equal to it, or a domain it is
    /// under), with its claims.
    pub(super) fn lookup<'s>(&'s self, qname: &str) -> Option<(&'s str, &'s Listed)> {
        if self.index.is_empty() || qname.is_empty() {
            return None;
        }
        let mut labels = qname.bytes().filter(|&b| b == b'.').count() + 1;
        let mut suffix = qname;
        let mut need = EXACT;
        while labels >= self.min_labels {
            if labels <= self.max_labels
                && let Some((entry, listed)) = self.index.get_key_value(suffix)
                && listed.covers() & need != 0
            {
                return Some((entry, listed));
            }
            let (_, rest) = suffix.split_once('.')?;
            suffix = rest;
            labels -= 1;
            need = SUBDOMAINS;
        }
        None
    }

    /// Whether `qname` is listed (exactly or under a listed name), without building a finding.
    pub fn contains(&self, qname: &str) -> bool {
        self.lookup(qname).is_some()
    }

    /// The categories of the lists (or rows) that hold `qname`, if it is listed.
    pub fn categories_of(&self, qname: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some((_, listed)) = self.lookup(qname) {
            for c in listed.claims() {
                if let Some(cat) = self.categories.get(usize::from(c.category))
                    && !out.contains(&cat.as_str())
                {
                    out.push(cat);
                }
            }
        }
        out
    }
}

/// Calls `missing` with the row (in `rows`, by list id of `from`) of each claim in `from` that
/// `to` does not hold: the same entry claimed by the same list (`rows`' other id).
fn unclaimed(
    from: &ThreatIntel,
    to: &ThreatIntel,
    rows: &[(usize, Option<u16>)],
    mut missing: impl FnMut(usize),
) {
    for (name, listed) in &from.index {
        let theirs = to.index.get(name);
        for claim in listed.claims() {
            let Some(&(row, other)) = rows.get(usize::from(claim.list)) else {
                continue;
            };
            let kept = other.is_some_and(|other| {
                theirs.is_some_and(|t| t.claims().iter().any(|c| c.list == other))
            });
            if !kept {
                missing(row);
            }
        }
    }
}
