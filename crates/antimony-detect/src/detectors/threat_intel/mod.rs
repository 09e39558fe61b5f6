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
//! [`SharedThreatIntel::reload_guarded`] does the same with a guard and a report: it compares
//! each list of the new set with the one in force ([`ThreatIntel::changes`]: entries added
//! and removed, [`ListChange`]) and keeps the whole set in force when a list was emptied or
//! lost more than a given share of its entries, the mark of a truncated download or of a
//! file read mid-rewrite, which would otherwise stop every hit on it without a word.
//!
//! Evidence keys: `entry` (the listed name that matched), `match` (`exact` or `subdomain`),
//! `lists` (names of the lists that hold the entry), `categories`, and `family` when a CSV
//! list names one.
//!
//! # Code
//!
//! `formats.rs`: the list formats' parsers and the sniffing of `auto` text; `index.rs`: the
//! index ([`ThreatIntel`]: adding lists, look-ups, categories); `detector.rs`: the
//! [`NameDetector`](super::NameDetector) over it (findings, reasons, evidence); `shared.rs`:
//! the reload handle ([`SharedThreatIntel`]).

mod detector;
mod formats;
mod index;
mod shared;
#[cfg(test)]
mod tests;

pub use formats::{LineError, LineErrorKind, ListFormat, ListReport, MAX_REPORTED_ERRORS};
pub use index::{ListChange, ListInfo, ListSpec, ThreatIntel, ThreatIntelError};
pub use shared::{ReloadError, Reloaded, SharedThreatIntel};

/// The detector's name in alerts.
pub const DETECTOR: &str = "threat_intel";
