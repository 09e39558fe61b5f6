//! Threat-intelligence lists: a name is suspicious when it, or a domain it is under, is listed.
//!
//! Lists are named (the name appears in alerts), carry a category (`malware`, `phishing`,
//! `dynamic_dns`...; a CSV list can give one per entry) and are parsed from text in one of
//! these [`ListFormat`]s:
//!
//! - `plain`: `evil.com`, one per line (a leading `*.` or `.` is dropped: subdomains always
//!   match);
//! - `hosts`: `0.0.0.0 evil.com other.example` (any address first; `localhost` and the other
//!   names of a stock hosts file are skipped);
//! - `csv`: a header line naming a `domain` (or `name`, `host`, `hostname`) column and
//!   optionally `category` and `family` columns, like `category,family,domain`;
//! - `maltrail`: maltrail trail files, plain names with `#` comments, where address, CIDR
//!   and URL trails (which name a path, not a whole host) are counted as skipped, not errors;
//! - `rpz`: DNS Response Policy Zone files (`evil.com CNAME .`, `*.evil.com CNAME .`, with
//!   optional TTL and class, `$ORIGIN`, relative and absolute owners). As in RPZ, `evil.com`
//!   matches that name only and `*.evil.com` its subdomains only; `rpz-passthru.` entries
//!   (exemptions) and IP, client-IP and NSDNAME triggers are skipped.
//! - `auto` (the default) reads each line as hosts or plain, and the whole text as CSV when
//!   its first line is a CSV header or as RPZ when it has an SOA record or `$ORIGIN`.
//!
//! `#` starts a comment (`;` too in RPZ). A line that cannot be used is counted and reported
//! with its line number, never fatal.
//!
//! # Look-ups
//!
//! All lists go into one hash map from name to the lists that hold it. A look-up walks the
//! question's label boundaries from the full name inwards (`a.b.evil.com`, `b.evil.com`,
//! `evil.com`), skipping suffixes with more or fewer labels than any entry: a few hashed
//! look-ups and no allocation, whatever the number of entries.
//!
//! # Reloading
//!
//! [`ThreatIntel`] is immutable once built. [`SharedThreatIntel`] is the handle the detector
//! pipeline holds: an atomically swappable pointer (`arc-swap`) to the current list set. The
//! binary watches the list files and, when one changes, builds a new set with
//! [`ThreatIntel::from_lists`] and calls [`SharedThreatIntel::store`]; events already being
//! checked finish against the old set, the next ones see the new one, nothing restarts.
//!
//! Evidence keys: `entry` (the listed name that matched), `match` (`exact` or `subdomain`),
//! `lists` (names of the lists that hold the entry), `categories`, and `family` when a CSV
//! list names one.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use ahash::AHashMap;
use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
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

/// How a list's text is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// Hosts or plain line by line; CSV or RPZ when the text looks like one.
    #[default]
    Auto,
    /// One name per line.
    Plain,
    /// A hosts file.
    Hosts,
    /// CSV with a header naming a domain column.
    Csv,
    /// A maltrail trail file.
    Maltrail,
    /// A Response Policy Zone file.
    Rpz,
}

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
    /// A CSV row without the domain column.
    #[error("the row has {0} fields, fewer than the header's domain column needs")]
    ShortRow(usize),
    /// A CSV list whose first line names no domain column.
    #[error("the CSV header names no domain column (domain, name, host or hostname)")]
    NoDomainColumn,
    /// An RPZ record that is not `owner [ttl] [class] TYPE data`.
    #[error("not an RPZ record")]
    BadRecord,
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
    /// Lines deliberately not used: address, CIDR and URL trails, RPZ exemptions and
    /// non-name triggers, zone boilerplate.
    pub skipped: usize,
    /// Unusable lines, counted.
    pub error_count: usize,
    /// The first [`MAX_REPORTED_ERRORS`] unusable lines.
    pub errors: Vec<LineError>,
}

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

/// Which names an entry covers.
const EXACT: u8 = 1;
const SUBDOMAINS: u8 = 2;

/// One list's claim on an entry: list, category (interned) and family (interned, 0 = none),
/// and which names it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Claim {
    list: u16,
    category: u16,
    family: u16,
    covers: u8,
}

/// The claims on one entry: almost always one, so no allocation for that case.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Listed {
    One(Claim),
    Many(Box<[Claim]>),
}

impl Listed {
    fn claims(&self) -> &[Claim] {
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

/// Named block lists and the detector over them (see the [module docs](self)).
#[derive(Clone, Debug, Default)]
pub struct ThreatIntel {
    lists: Vec<ListInfo>,
    /// Interned categories and families (index 0 of `families` is "none").
    categories: Vec<String>,
    families: Vec<String>,
    index: AHashMap<Box<str>, Listed>,
    min_labels: usize,
    max_labels: usize,
}

/// What a line contributes.
enum LineOutcome {
    Added,
    Skipped,
}

fn intern(table: &mut Vec<String>, value: &str) -> Result<u16, ThreatIntelError> {
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

    fn add_line(
        &mut self,
        claim: Claim,
        line: &str,
        format: ListFormat,
        report: &mut ListReport,
    ) -> Result<LineOutcome, LineErrorKind> {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if format != ListFormat::Plain && first.parse::<IpAddr>().is_ok() {
            // Hosts format: an address, then one or more names.
            let mut any = false;
            for name in fields {
                any = true;
                if HOSTS_BOILERPLATE.contains(&name) {
                    continue;
                }
                self.add_entry(claim, name, report)?;
            }
            if !any {
                return Err(LineErrorKind::IpAddress(first.to_owned()));
            }
            return Ok(LineOutcome::Added);
        }
        let extra = fields.count();
        if extra > 0 {
            return Err(LineErrorKind::ExtraFields(extra + 1));
        }
        self.add_entry(claim, first, report)?;
        Ok(LineOutcome::Added)
    }

    /// A maltrail trail: a name, or an address, CIDR or URL trail (skipped).
    fn add_trail(
        &mut self,
        claim: Claim,
        line: &str,
        report: &mut ListReport,
    ) -> Result<LineOutcome, LineErrorKind> {
        let trail = line.split_whitespace().next().unwrap_or("");
        let host = trail.split([':', '/']).next().unwrap_or("");
        if trail.contains('/') || trail.contains("://") || host.parse::<IpAddr>().is_ok() {
            return Ok(LineOutcome::Skipped);
        }
        self.add_entry(claim, trail, report)?;
        Ok(LineOutcome::Added)
    }

    fn add_csv(
        &mut self,
        claim: Claim,
        text: &str,
        report: &mut ListReport,
    ) -> Result<(), ThreatIntelError> {
        let mut lines = text.lines().enumerate();
        let header = loop {
            match lines.next() {
                Some((_, l)) if l.trim().is_empty() || l.trim_start().starts_with('#') => {
                    report.lines += 1;
                }
                Some((_, l)) => {
                    report.lines += 1;
                    break l;
                }
                None => return Ok(()),
            }
        };
        let columns: Vec<String> = header
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
            .collect();
        let find = |names: &[&str]| columns.iter().position(|c| names.contains(&c.as_str()));
        let Some(domain) = find(&["domain", "name", "host", "hostname", "fqdn"]) else {
            record(Err(LineErrorKind::NoDomainColumn), 0, report);
            return Ok(());
        };
        let category = find(&["category", "type", "threat"]);
        let family = find(&["family", "malware"]);
        for (i, raw) in lines {
            report.lines += 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line
                .split(',')
                .map(|f| f.trim().trim_matches('"'))
                .collect();
            let Some(name) = fields.get(domain) else {
                record(Err(LineErrorKind::ShortRow(fields.len())), i, report);
                continue;
            };
            let mut c = claim;
            if let Some(cat) = category
                .and_then(|k| fields.get(k))
                .filter(|v| !v.is_empty())
            {
                c.category = intern(&mut self.categories, &cat.to_ascii_lowercase())?;
            }
            if let Some(fam) = family.and_then(|k| fields.get(k)).filter(|v| !v.is_empty()) {
                c.family = intern(&mut self.families, fam)?;
            }
            let outcome = self.add_entry(c, name, report).map(|()| LineOutcome::Added);
            record(outcome, i, report);
        }
        Ok(())
    }

    fn add_rpz(&mut self, claim: Claim, text: &str, report: &mut ListReport) {
        let mut origin = String::new();
        for (i, raw) in text.lines().enumerate() {
            report.lines += 1;
            let line = raw.split(';').next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields[0].eq_ignore_ascii_case("$origin") {
                origin = fields
                    .get(1)
                    .map(|o| o.trim_end_matches('.').to_ascii_lowercase())
                    .unwrap_or_default();
                continue;
            }
            if fields[0].starts_with('$') || raw.starts_with([' ', '\t']) || line.starts_with(')') {
                // $TTL, $INCLUDE, continuation lines of a multi-line SOA.
                report.skipped += 1;
                continue;
            }
            let outcome = self.add_rpz_record(claim, &fields, &origin, report);
            record(outcome, i, report);
        }
    }

    fn add_rpz_record(
        &mut self,
        mut claim: Claim,
        fields: &[&str],
        origin: &str,
        report: &mut ListReport,
    ) -> Result<LineOutcome, LineErrorKind> {
        let owner = fields[0];
        // Skip TTL and class to find the type.
        let mut k = 1;
        while k < fields.len()
            && (fields[k].bytes().all(|b| b.is_ascii_digit())
                || ["in", "ch", "hs"].contains(&fields[k].to_ascii_lowercase().as_str()))
        {
            k += 1;
        }
        let (Some(rtype), data) = (fields.get(k), fields.get(k + 1).copied().unwrap_or("")) else {
            return Err(LineErrorKind::BadRecord);
        };
        let rtype = rtype.to_ascii_lowercase();
        if ["soa", "ns"].contains(&rtype.as_str()) || owner == "@" {
            return Ok(LineOutcome::Skipped);
        }
        if rtype == "cname" && data.eq_ignore_ascii_case("rpz-passthru.") {
            return Ok(LineOutcome::Skipped);
        }
        // Owners are relative to the zone unless absolute; an absolute one under the origin
        // loses it.
        let mut name = owner.to_ascii_lowercase();
        if let Some(abs) = name.strip_suffix('.') {
            let abs = abs.to_owned();
            name = match abs.strip_suffix(origin) {
                Some(rel) if !origin.is_empty() && rel.ends_with('.') => {
                    rel.trim_end_matches('.').to_owned()
                }
                _ => abs,
            };
        }
        if name.ends_with(".rpz-ip")
            || name.ends_with(".rpz-client-ip")
            || name.ends_with(".rpz-nsip")
            || name.ends_with(".rpz-nsdname")
        {
            return Ok(LineOutcome::Skipped);
        }
        claim.covers = if let Some(rest) = name.strip_prefix("*.") {
            name = rest.to_owned();
            SUBDOMAINS
        } else {
            EXACT
        };
        self.add_entry(claim, &name, report)?;
        Ok(LineOutcome::Added)
    }

    fn add_entry(
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

    /// The most specific listed name that covers `qname` (equal to it, or a domain it is
    /// under), with its claims.
    fn lookup<'s>(&'s self, qname: &str) -> Option<(&'s str, &'s Listed)> {
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

fn record(outcome: Result<LineOutcome, LineErrorKind>, index: usize, report: &mut ListReport) {
    match outcome {
        Ok(LineOutcome::Added) => {}
        Ok(LineOutcome::Skipped) => report.skipped += 1,
        Err(kind) => {
            report.error_count += 1;
            if report.errors.len() < MAX_REPORTED_ERRORS {
                report.errors.push(LineError {
                    line: index + 1,
                    kind,
                });
            }
        }
    }
}

/// The format of `auto` text: CSV when the first non-comment line is a header naming a
/// domain column, RPZ when the text has `$ORIGIN` or an SOA record, else hosts/plain.
fn sniff(text: &str) -> ListFormat {
    let mut first = true;
    for line in text.lines().take(200) {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        let lower = t.to_ascii_lowercase();
        if first
            && lower.contains(',')
            && lower
                .split(',')
                .any(|c| ["domain", "hostname", "fqdn"].contains(&c.trim().trim_matches('"')))
        {
            return ListFormat::Csv;
        }
        first = false;
        let fields: Vec<&str> = lower.split_whitespace().collect();
        if lower.starts_with("$origin") || fields.contains(&"soa") {
            return ListFormat::Rpz;
        }
    }
    ListFormat::Auto
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

/// The handle the pipeline holds: the current [`ThreatIntel`], swappable at run time.
///
/// Cloning the handle shares the list set: a [`store`](SharedThreatIntel::store) through any
/// clone is seen by all. Loading the current set for a check is lock-free and costs a few
/// nanoseconds.
#[derive(Clone, Debug)]
pub struct SharedThreatIntel {
    current: Arc<ArcSwap<ThreatIntel>>,
}

impl Default for SharedThreatIntel {
    fn default() -> Self {
        Self::new(ThreatIntel::new())
    }
}

impl SharedThreatIntel {
    /// A handle holding `intel`.
    pub fn new(intel: ThreatIntel) -> Self {
        SharedThreatIntel {
            current: Arc::new(ArcSwap::from_pointee(intel)),
        }
    }

    /// Replaces the list set; checks after this see the new one.
    pub fn store(&self, intel: ThreatIntel) {
        self.current.store(Arc::new(intel));
    }

    /// Builds a new list set from `(spec, text)` pairs and swaps it in. On an error the old
    /// set stays in force.
    pub fn reload<'a>(
        &self,
        lists: impl IntoIterator<Item = (&'a ListSpec, &'a str)>,
    ) -> Result<Vec<ListReport>, ThreatIntelError> {
        let (intel, reports) = ThreatIntel::from_lists(lists)?;
        self.store(intel);
        Ok(reports)
    }

    /// The list set in force now.
    pub fn load(&self) -> Arc<ThreatIntel> {
        self.current.load_full()
    }
}

impl NameDetector for SharedThreatIntel {
    fn name(&self) -> &'static str {
        DETECTOR
    }

    fn check(&self, name: &Name<'_>) -> Option<Finding> {
        self.current.load().check(name)
    }

    fn explain(&self, name: &Name<'_>) -> Explanation {
        self.current.load().explain(name)
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
            ("evil.com", Some("evil.com is listed in maltrail (malware)")),
            (
                "a.b.evil.com",
                Some("a.b.evil.com is a subdomain of evil.com, listed in maltrail (malware)"),
            ),
            (
                "x.bad.co.uk",
                Some("x.bad.co.uk is a subdomain of bad.co.uk, listed in maltrail (malware)"),
            ),
            ("wild.net", Some("wild.net is listed in maltrail (malware)")),
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
        check(
            &ti,
            "evil.com",
            Some("evil.com is listed in a, b and c (malware)"),
        );
        check(
            &ti,
            "x.cdn.evil.com",
            Some("x.cdn.evil.com is a subdomain of cdn.evil.com, listed in b (malware)"),
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
            Some("www.other.org is a subdomain of other.org, listed in hosts (malware)"),
        );
        check(
            &ti,
            "tabbed.example",
            Some("tabbed.example is listed in hosts (malware)"),
        );
        check(&ti, "localhost", None);
    }

    #[test]
    fn csv_with_category_and_family() {
        let text = "category,family,domain\nmalware,dyreza,evil.com\nphishing,,phish.net\n\
                    malware,x\n";
        let spec = ListSpec::new("labelled");
        let (ti, reports) = ThreatIntel::from_lists([(&spec, text)]).expect("lists");
        assert_eq!(reports[0].entries, 2);
        assert_eq!(reports[0].error_count, 1);
        assert_eq!(reports[0].errors[0].line, 4);
        let f = ti.check(&Name::new("a.evil.com", 1)).expect("hit");
        assert_eq!(
            f.reason,
            "a.evil.com is a subdomain of evil.com, listed in labelled (malware: dyreza)"
        );
        assert_eq!(ti.categories_of("phish.net"), ["phishing"]);
    }

    #[test]
    fn maltrail_trails_skip_addresses_and_urls() {
        let text = "# Reference: x\n1.2.3.4\n10.0.0.0/8\nevil.com/path/x.php\nbad.org\n\
                    bad.org:8080\n";
        let spec = ListSpec {
            format: ListFormat::Maltrail,
            category: "dynamic_dns".into(),
            severity: Severity::Low,
            score: 20,
            ..ListSpec::new("trail")
        };
        let (ti, reports) = ThreatIntel::from_lists([(&spec, text)]).expect("lists");
        assert_eq!((reports[0].entries, reports[0].skipped), (1, 3));
        assert_eq!(reports[0].error_count, 1, "{:?}", reports[0].errors);
        assert!(ti.contains("x.bad.org"));
        assert!(!ti.contains("evil.com"));
    }

    #[test]
    fn rpz_exact_and_wildcard() {
        let text = "$TTL 300\n@ IN SOA localhost. root.localhost. 1 3600 600 86400 300\n\
                    \tIN NS localhost.\nevil.com CNAME .\n*.evil.com CNAME .\n\
                    exact.org 300 IN CNAME .\n*.wild.net CNAME *.\n\
                    good.evil.com CNAME rpz-passthru.\n32.1.2.0.10.rpz-ip CNAME .\n\
                    abs.example.rpz.local. CNAME .\n";
        let spec = ListSpec::new("rpz");
        let mut ti = ThreatIntel::new();
        let text = format!("$ORIGIN rpz.local.\n{text}");
        let report = ti.add(&spec, &text).expect("list");
        assert_eq!(report.error_count, 0, "{:?}", report.errors);
        assert!(ti.contains("evil.com") && ti.contains("a.evil.com"));
        assert!(ti.contains("exact.org") && !ti.contains("www.exact.org"));
        assert!(!ti.contains("wild.net") && ti.contains("x.wild.net"));
        assert!(ti.contains("abs.example"));
        assert_eq!(report.entries, 4);
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

    #[test]
    fn shared_handle_swaps() {
        let shared = SharedThreatIntel::new(intel(&[("a", "evil.com\n")]));
        let clone = shared.clone();
        assert!(clone.check(&Name::new("evil.com", 1)).is_some());
        let spec = ListSpec::new("b");
        let reports = shared.reload([(&spec, "other.net\n")]).expect("reload");
        assert_eq!(reports[0].entries, 1);
        assert!(clone.check(&Name::new("evil.com", 1)).is_none());
        assert!(clone.check(&Name::new("www.other.net", 1)).is_some());
    }
}
