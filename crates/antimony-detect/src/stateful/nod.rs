//! Newly observed domains: a registered domain this network has never asked for before.
//!
//! Malware infrastructure is young: phishing and command-and-control domains are mostly
//! used within days of registration, so "first seen here" is a useful signal, and a weak
//! one alone (new legitimate sites appear every day), hence `low` by default.
//!
//! The detector remembers the first and last time each registered domain was seen. A
//! domain seen for the first time fires once the *warm-up* is over: `warmup_secs` of event
//! time after the baseline started ([`NodConfig::start_ts`], else the earliest event of the
//! first epoch this instance processed, persisted in snapshots). Before that, everything is
//! new and nothing fires. With several instances, set `start_ts` (or restore one snapshot
//! into all) so they agree on when the warm-up ends.
//!
//! Sources for the defaults: Farsight Security's Newly Observed Domains feed and Cisco
//! Umbrella's "newly seen domains" category both treat a domain as new for its first 24
//! hours of observation; a one-week baseline is the common warm-up (Palo Alto Networks and
//! Infoblox NOD guidance), so the weekly rhythm of ordinary traffic is learnt first.
//!
//! # Persistence
//!
//! The crate does no I/O: [`NewDomains::snapshot`] returns the state as bytes for the
//! binary to write, and [`NewDomains::restore`] reads them back (call it before the first
//! epoch). The format, little endian:
//!
//! ```text
//! "ANOD" version:u8=1 baseline_start:i64 count:u64
//! count x (len:u8 domain:len bytes first_seen:i64 last_seen:i64)   sorted by domain
//! ```
//!
//! Evidence keys: `first_seen` (RFC 3339), `baseline_since`, `domains_known`.

use std::net::IpAddr;

use ahash::AHashMap;
use antimony_dns::{DnsEvent, KeyField};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Saved, SavedKey, StatefulStats, alert, decode, encode, micros};
use crate::alert::{Alert, Severity};
use crate::detectors::ev;

/// The detector's name in alerts.
pub const DETECTOR: &str = "new_domain";

const MAGIC: &[u8; 4] = b"ANOD";
const VERSION: u8 = 1;

/// Newly-observed-domain settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodConfig {
    /// Run it (default true).
    pub enabled: bool,
    /// Event time the warm-up lasts, seconds (default 604,800: one week).
    pub warmup_secs: u64,
    /// When the baseline started, microseconds since the epoch (default: the earliest event
    /// of the first epoch, or the snapshot's).
    pub start_ts: Option<i64>,
    /// Most domains remembered per instance (default 5,000,000, about 400 MB); beyond,
    /// the least recently seen are forgotten first.
    pub max_domains: usize,
    /// Severity (default `low`).
    pub severity: Severity,
    /// Score (default 35).
    pub score: u8,
}

impl Default for NodConfig {
    fn default() -> Self {
        NodConfig {
            enabled: true,
            warmup_secs: 604_800,
            start_ts: None,
            max_domains: 5_000_000,
            severity: Severity::Low,
            score: 35,
        }
    }
}

/// Why a snapshot could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SnapshotError {
    /// Not an Antimony NOD snapshot.
    #[error("not a newly-observed-domain snapshot (bad magic)")]
    BadMagic,
    /// A version this build does not read.
    #[error("snapshot version {0}, this build reads version {VERSION}")]
    Version(u8),
    /// Cut short or corrupt.
    #[error("snapshot is truncated or corrupt at byte {0}")]
    Truncated(usize),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Obs {
    ts: i64,
    domain: Box<str>,
    qname: Box<str>,
    client: Option<IpAddr>,
}

/// The newly-observed-domain detector (see this module's docs).
#[derive(Debug)]
pub struct NewDomains {
    config: NodConfig,
    pending: Vec<Obs>,
    /// Domain -> (first seen, last seen).
    seen: AHashMap<Box<str>, (i64, i64)>,
    start: Option<i64>,
    stats: StatefulStats,
}

impl NewDomains {
    /// A detector with these settings.
    pub fn new(config: NodConfig) -> Self {
        NewDomains {
            start: config.start_ts,
            config,
            pending: Vec::new(),
            seen: AHashMap::new(),
            stats: StatefulStats::default(),
        }
    }

    /// What state is kept per: the registered domain.
    pub const KEY_FIELDS: &'static [KeyField] = &[KeyField::RegisteredDomain];

    /// The key of an event; `None` for names without a registered domain.
    pub fn key(&self, event: &DnsEvent) -> Option<u64> {
        (!event.registered_domain().is_empty()).then(|| event.key_hash(Self::KEY_FIELDS))
    }

    /// Buffers one event of the current epoch. Only names not yet known are buffered, so the
    /// common case costs one hashed look-up.
    pub fn observe(&mut self, event: &DnsEvent) {
        if self.key(event).is_none() {
            return;
        }
        self.stats.observed += 1;
        let rd = event.domain_key();
        if let Some(entry) = self.seen.get_mut(rd) {
            // Known: only the last-seen time moves (max, so order does not matter).
            entry.1 = entry.1.max(event.ts);
            return;
        }
        self.pending.push(Obs {
            ts: event.ts,
            domain: rd.into(),
            qname: event.qname.as_str().into(),
            client: event.client,
        });
    }

    /// Applies the epoch's new domains in canonical order and appends alerts to `out`.
    pub fn end_epoch(&mut self, out: &mut Vec<Alert>) -> usize {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort();
        if self.start.is_none() {
            self.start = pending.first().map(|o| o.ts);
        }
        let warm_from = self
            .start
            .unwrap_or(i64::MAX)
            .saturating_add(micros(self.config.warmup_secs));
        let before = out.len();
        for obs in pending.drain(..) {
            if let Some(entry) = self.seen.get_mut(&obs.domain) {
                entry.1 = entry.1.max(obs.ts);
                continue;
            }
            self.seen.insert(obs.domain.clone(), (obs.ts, obs.ts));
            if obs.ts < warm_from {
                continue;
            }
            let since = String::from_utf8_lossy(&rfc3339(self.start.unwrap_or(0))).into_owned();
            let reason = format!(
                "{} was never seen before on this network (baseline since {since}, {} domains \
                 known); new domains are where phishing and malware infrastructure starts",
                obs.domain,
                self.seen.len()
            );
            out.push(alert(
                DETECTOR,
                obs.ts,
                None,
                &obs.domain,
                &obs.domain,
                self.config.severity,
                self.config.score,
                reason,
                vec![
                    ev(
                        "first_seen",
                        String::from_utf8_lossy(&rfc3339(obs.ts)).into_owned(),
                    ),
                    ev("baseline_since", since),
                    ev("domains_known", self.seen.len()),
                    ev("example", &*obs.qname),
                    ev(
                        "first_client",
                        obs.client.map(|c| c.to_string()).unwrap_or_default(),
                    ),
                ],
            ));
        }
        self.pending = pending;
        if self.seen.len() > self.config.max_domains {
            // Forget down to 90% of the cap, least recently seen first (ties by name).
            let target = self.config.max_domains / 10 * 9;
            let mut order: Vec<(i64, Box<str>)> = self
                .seen
                .iter()
                .map(|(d, &(_, l))| (l, d.clone()))
                .collect();
            let excess = self.seen.len() - target;
            // A linear selection, not a sort (see `evict`).
            order.select_nth_unstable(excess - 1);
            for (_, d) in &order[..excess] {
                self.seen.remove(d);
            }
            self.stats.evicted += excess as u64;
        }
        self.stats.alerts += (out.len() - before) as u64;
        self.stats.keys = self.seen.len() as u64;
        out.len() - before
    }

    /// When `domain` was first seen, if it is known.
    pub fn first_seen(&self, domain: &str) -> Option<i64> {
        self.seen.get(domain).map(|&(f, _)| f)
    }

    /// (domain, first seen, last seen) of every known domain, sorted by domain.
    pub fn entries(&self) -> Vec<(&str, i64, i64)> {
        let mut v: Vec<(&str, i64, i64)> =
            self.seen.iter().map(|(d, &(f, l))| (&**d, f, l)).collect();
        v.sort_unstable();
        v
    }

    /// The state as bytes (see the module docs for the format).
    pub fn snapshot(&self) -> Vec<u8> {
        let entries = self.entries();
        let mut out = Vec::with_capacity(21 + entries.len() * 32);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.start.unwrap_or(i64::MIN).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for (d, f, l) in entries {
            let bytes = &d.as_bytes()[..d.len().min(255)];
            out.push(bytes.len() as u8);
            out.extend_from_slice(bytes);
            out.extend_from_slice(&f.to_le_bytes());
            out.extend_from_slice(&l.to_le_bytes());
        }
        out
    }

    /// Replaces the state with a snapshot's. On an error the state is unchanged.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<usize, SnapshotError> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], SnapshotError> {
            let s = bytes.get(at..at + n).ok_or(SnapshotError::Truncated(at))?;
            at += n;
            Ok(s)
        };
        if take(4)? != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let version = take(1)?[0];
        if version != VERSION {
            return Err(SnapshotError::Version(version));
        }
        let i64_of = |s: &[u8]| i64::from_le_bytes(s.try_into().unwrap_or([0; 8]));
        let start = i64_of(take(8)?);
        let count = u64::from_le_bytes(take(8)?.try_into().unwrap_or([0; 8]));
        let mut seen = AHashMap::with_capacity(count.min(10_000_000) as usize);
        for _ in 0..count {
            let len = usize::from(take(1)?[0]);
            let d = std::str::from_utf8(take(len)?).map_err(|_| SnapshotError::Truncated(0))?;
            let f = i64_of(take(8)?);
            let l = i64_of(take(8)?);
            seen.insert(Box::<str>::from(d), (f, l));
        }
        let n = seen.len();
        self.seen = seen;
        self.start = self
            .config
            .start_ts
            .or((start != i64::MIN).then_some(start));
        self.stats.keys = n as u64;
        Ok(n)
    }

    /// Adds a snapshot's domains to the state: a domain known to both keeps the earlier
    /// first-seen and the later last-seen time. For state saved by several workers, each its
    /// own share. On an error the state is unchanged.
    pub fn merge(&mut self, bytes: &[u8]) -> Result<usize, SnapshotError> {
        let mut other = NewDomains::new(self.config.clone());
        let n = other.restore(bytes)?;
        for (domain, (first, last)) in other.seen {
            let entry = self.seen.entry(domain).or_insert((first, last));
            entry.0 = entry.0.min(first);
            entry.1 = entry.1.max(last);
        }
        self.start = match (self.start, other.start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.stats.keys = self.seen.len() as u64;
        Ok(n)
    }

    /// Counters so far.
    pub fn stats(&self) -> StatefulStats {
        self.stats
    }
}

fn rfc3339(ts: i64) -> Vec<u8> {
    let mut s = String::new();
    antimony_dns::time::write_rfc3339(ts, &mut s);
    s.into_bytes()
}

impl NewDomains {
    /// Its state for a checkpoint: when the warm-up started, and each domain's first and
    /// last sighting.
    pub(crate) fn save(&self) -> Saved {
        Saved {
            global: encode(&self.start),
            keys: self
                .seen
                .iter()
                .map(|(domain, seen)| SavedKey {
                    client: None,
                    domain: domain.clone(),
                    entry: encode(&(domain, seen)),
                })
                .collect(),
        }
    }

    /// Puts back a checkpoint's state: the earliest warm-up start of the old instances,
    /// and the domains this instance now owns.
    pub(crate) fn load(
        &mut self,
        globals: &[Vec<u8>],
        entries: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        for global in globals {
            if let Some(start) = decode::<Option<i64>>(global)? {
                self.start = Some(self.start.map_or(start, |s| s.min(start)));
            }
        }
        for entry in entries {
            let (domain, seen): (Box<str>, (i64, i64)) = decode(&entry)?;
            self.seen.insert(domain, seen);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn query(ts: i64, qname: &str) -> DnsEvent {
        let mut e = DnsEvent {
            ts,
            ..DnsEvent::default()
        };
        e.set_qname(qname).expect("name");
        e
    }

    #[test]
    fn warm_up_then_new_domains_fire_once_and_persist() {
        let mut d = NewDomains::new(NodConfig::default());
        let mut out = Vec::new();
        d.observe(&query(0, "www.example.com"));
        d.observe(&query(DAY, "news.example.org"));
        assert_eq!(d.end_epoch(&mut out), 0, "warm-up");
        d.observe(&query(8 * DAY, "cdn.example.com"));
        d.observe(&query(8 * DAY, "a.fresh-phish.net"));
        d.observe(&query(8 * DAY + 1, "b.fresh-phish.net"));
        assert_eq!(d.end_epoch(&mut out), 1);
        assert_eq!(out[0].domain, "fresh-phish.net");
        assert!(
            out[0].reason.contains("never seen before"),
            "{}",
            out[0].reason
        );

        let bytes = d.snapshot();
        let mut again = NewDomains::new(NodConfig::default());
        assert_eq!(again.restore(&bytes), Ok(3));
        again.observe(&query(9 * DAY, "fresh-phish.net"));
        assert_eq!(again.end_epoch(&mut out), 0);
        assert_eq!(again.first_seen("example.org"), Some(DAY));
        assert_eq!(again.restore(b"nope"), Err(SnapshotError::BadMagic));
        assert!(matches!(
            again.restore(&bytes[..bytes.len() - 3]),
            Err(SnapshotError::Truncated(_))
        ));
        assert_eq!(again.entries().len(), 3);
    }
}
