//! The list formats: `plain`, `hosts`, `csv`, `maltrail` and `rpz` (described in the
//! [module docs](super)), the sniffing of `auto` text, and what parsing a list reports
//! ([`ListReport`], one [`LineError`] per unusable line).
//!
//! Each parser reads a list's text line by line and hands every name it finds to the index
//! ([`ThreatIntel`]'s `add_entry`), with the claim (list, category, family, coverage) the
//! entry is listed under; what a line contributes is recorded in the report.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::index::{Claim, EXACT, SUBDOMAINS, ThreatIntel, ThreatIntelError, intern};

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

/// What a line contributes.
pub(super) enum LineOutcome {
    Added,
    Skipped,
}

impl ThreatIntel {
    pub(super) fn add_line(
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
    pub(super) fn add_trail(
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

    pub(super) fn add_csv(
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

    pub(super) fn add_rpz(&mut self, claim: Claim, text: &str, report: &mut ListReport) {
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
}

pub(super) fn record(
    outcome: Result<LineOutcome, LineErrorKind>,
    index: usize,
    report: &mut ListReport,
) {
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
pub(super) fn sniff(text: &str) -> ListFormat {
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
