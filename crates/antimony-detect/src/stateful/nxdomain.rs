//! NXDOMAIN bursts: one client asking for many names that do not exist.
//!
//! A DGA-infected host tries dozens to thousands of generated names until one resolves;
//! almost all come back NXDOMAIN. Name by name, dictionary DGAs (`suppobox`:
//! `familyproud.net`) look ordinary; as a burst from one machine they do not.
//!
//! Per client, over a sliding window on event time: answers with a response code, NXDOMAIN
//! answers, and distinct NXDOMAIN names. It fires when the client got at least `min_nxdomain`
//! NXDOMAIN answers for at least `min_distinct` distinct names, and NXDOMAIN is at least
//! `min_ratio` of its answers. Events without a response code (query logs) are ignored, and
//! so are events without a client: a server's own recursion (a Windows log's upstream
//! lines), whose NXDOMAIN answers are every client's together, not one machine's burst.
//!
//! Sources for the defaults: Yadav and Reddy, *Winning with DNS Failures* (2012), who find
//! DGA hosts by bursts of failed look-ups for distinct names; Antonakakis et al., *From
//! Throw-Away Traffic to Bots* (Pleiades, USENIX Security 2012), which clusters NXDOMAIN
//! names per host and reports that infected hosts produce tens of them within minutes while
//! ordinary hosts produce a few per hour (typos, stale search-list suffixes).
//!
//! Evidence keys: `nxdomain`, `distinct_names`, `answers`, `ratio`, `window_secs`,
//! `examples` (up to five NXDOMAIN names, sorted).

use std::collections::VecDeque;
use std::net::IpAddr;

use ahash::AHashMap;
use antimony_dns::{DnsEvent, KeyField};
use serde::{Deserialize, Serialize};

use super::{Saved, StatefulStats, Sweep, alert, key_hash, load_keyed, micros, save_keyed};
use crate::alert::{Alert, Severity};
use crate::detectors::ev;

/// The detector's name in alerts.
pub const DETECTOR: &str = "nxdomain_burst";

/// Answers remembered per client (beyond, the oldest are dropped first).
pub const MAX_ANSWERS: usize = 2048;

/// NXDOMAIN burst thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NxdomainConfig {
    /// Run it (default true).
    pub enabled: bool,
    /// Sliding window, seconds (default 300).
    pub window_secs: u64,
    /// NXDOMAIN answers in the window (default 20).
    pub min_nxdomain: usize,
    /// Distinct NXDOMAIN names (default 15).
    pub min_distinct: usize,
    /// NXDOMAIN share of the client's answers (default 0.3).
    pub min_ratio: f64,
    /// Most clients per instance (default 200,000).
    pub max_keys: usize,
    /// Severity (default `medium`: corroboration over time from one client).
    pub severity: Severity,
}

impl Default for NxdomainConfig {
    fn default() -> Self {
        NxdomainConfig {
            enabled: true,
            window_secs: 300,
            min_nxdomain: 20,
            min_distinct: 15,
            min_ratio: 0.3,
            max_keys: 200_000,
            severity: Severity::Medium,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Obs {
    ts: i64,
    key: u64,
    name_hash: u64,
    nx: bool,
    client: Option<IpAddr>,
    qname: Box<str>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Client {
    client: Option<IpAddr>,
    /// (ts, name hash, nx) per answer in the window, oldest first.
    answers: VecDeque<(i64, u64, bool)>,
    nx: usize,
    /// NXDOMAIN names in the window: hash -> count.
    #[serde(with = "super::sorted_map")]
    names: AHashMap<u64, u32>,
    /// Recent NXDOMAIN names, for the alert (at most 16).
    recent: VecDeque<Box<str>>,
    last: i64,
    cooldown_until: i64,
}

/// The NXDOMAIN burst detector (see this module's docs).
#[derive(Debug)]
pub struct NxdomainBurst {
    config: NxdomainConfig,
    window: i64,
    pending: Vec<Obs>,
    keys: AHashMap<u64, Client>,
    newest: i64,
    sweep: Sweep,
    stats: StatefulStats,
}

impl NxdomainBurst {
    /// A detector with these settings.
    pub fn new(config: NxdomainConfig) -> Self {
        NxdomainBurst {
            window: micros(config.window_secs).max(1),
            config,
            pending: Vec::new(),
            keys: AHashMap::new(),
            newest: i64::MIN,
            sweep: Sweep::default(),
            stats: StatefulStats::default(),
        }
    }

    /// What state is kept per: the client.
    pub const KEY_FIELDS: &'static [KeyField] = &[KeyField::Client];

    /// The key of an event; `None` when the event has no response code or no client.
    pub fn key(&self, event: &DnsEvent) -> Option<u64> {
        event.rcode?;
        event.client?;
        Some(event.key_hash(Self::KEY_FIELDS))
    }

    /// Buffers one event of the current epoch.
    pub fn observe(&mut self, event: &DnsEvent) {
        let Some(key) = self.key(event) else { return };
        self.stats.observed += 1;
        let nx = event.rcode == Some(3);
        self.pending.push(Obs {
            ts: event.ts,
            key,
            name_hash: key_hash(&[event.qname.as_bytes()]),
            nx,
            client: event.client,
            qname: if nx {
                event.qname.as_str().into()
            } else {
                "".into()
            },
        });
    }

    /// Applies the epoch's events in canonical order and appends alerts to `out`.
    pub fn end_epoch(&mut self, out: &mut Vec<Alert>) -> usize {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort();
        let before = out.len();
        for obs in pending.drain(..) {
            self.apply(obs, out);
        }
        self.pending = pending;
        let (expired, evicted) = self.sweep.forget_idle(
            &mut self.keys,
            self.newest,
            self.window,
            self.window.saturating_mul(2),
            self.config.max_keys,
            |c| c.last,
        );
        self.stats.expired += expired;
        self.stats.evicted += evicted;
        self.stats.alerts += (out.len() - before) as u64;
        self.stats.keys = self.keys.len() as u64;
        out.len() - before
    }

    fn apply(&mut self, obs: Obs, out: &mut Vec<Alert>) {
        self.newest = self.newest.max(obs.ts);
        let c = self.keys.entry(obs.key).or_insert_with(|| Client {
            client: obs.client,
            cooldown_until: i64::MIN,
            ..Client::default()
        });
        c.last = c.last.max(obs.ts);
        let horizon = c.last - self.window;
        while c.answers.front().is_some_and(|a| a.0 <= horizon) || c.answers.len() >= MAX_ANSWERS {
            if let Some((_, h, nx)) = c.answers.pop_front()
                && nx
            {
                c.nx -= 1;
                if let Some(n) = c.names.get_mut(&h) {
                    *n -= 1;
                    if *n == 0 {
                        c.names.remove(&h);
                    }
                }
            }
        }
        c.answers.push_back((obs.ts, obs.name_hash, obs.nx));
        if obs.nx {
            c.nx += 1;
            *c.names.entry(obs.name_hash).or_default() += 1;
            if !c.recent.iter().any(|n| *n == obs.qname) {
                c.recent.push_back(obs.qname);
                if c.recent.len() > 16 {
                    c.recent.pop_front();
                }
            }
        }
        let cfg = &self.config;
        let ratio = c.nx as f64 / c.answers.len().max(1) as f64;
        if obs.ts < c.cooldown_until
            || c.nx < cfg.min_nxdomain
            || c.names.len() < cfg.min_distinct
            || ratio < cfg.min_ratio
        {
            return;
        }
        c.cooldown_until = obs.ts + self.window;
        let mut examples: Vec<String> = c.recent.iter().map(|n| n.to_string()).collect();
        examples.sort();
        examples.truncate(5);
        let who = c
            .client
            .map_or_else(|| "a client".to_owned(), |ip| ip.to_string());
        let reason = format!(
            "{who} got {} NXDOMAIN answers for {} distinct names in {} minutes ({:.0}% of its \
             answers), the pattern of malware trying generated domains (e.g. {})",
            c.nx,
            c.names.len(),
            cfg.window_secs / 60,
            ratio * 100.0,
            examples.join(", ")
        );
        let score = (60.0 + 30.0 * ratio).round() as u8;
        let domain = examples.first().cloned().unwrap_or_default();
        out.push(alert(
            DETECTOR,
            obs.ts,
            c.client,
            "",
            "",
            cfg.severity,
            score,
            reason,
            vec![
                ev("nxdomain", c.nx),
                ev("distinct_names", c.names.len()),
                ev("answers", c.answers.len()),
                ev("ratio", (ratio * 1000.0).round() / 1000.0),
                ev("window_secs", cfg.window_secs as usize),
                ev("examples", examples),
                ev("first_example", domain),
            ],
        ));
    }

    /// Counters so far.
    pub fn stats(&self) -> StatefulStats {
        self.stats
    }
}

impl NxdomainBurst {
    /// Its state for a checkpoint: the newest event time, and each client.
    pub(crate) fn save(&self) -> Saved {
        save_keyed(self.newest, &self.keys, |c| (c.client, ""))
    }

    /// Puts back a checkpoint's state.
    pub(crate) fn load(
        &mut self,
        globals: &[Vec<u8>],
        entries: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        load_keyed(&mut self.newest, &mut self.keys, globals, entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(ts_secs: i64, client: &str, qname: &str, rcode: u16) -> DnsEvent {
        let mut e = DnsEvent {
            ts: ts_secs * 1_000_000,
            client: client.parse().ok(),
            rcode: Some(rcode),
            ..DnsEvent::default()
        };
        e.set_qname(qname).expect("name");
        e
    }

    #[test]
    fn burst_fires_typos_do_not() {
        let mut d = NxdomainBurst::new(NxdomainConfig::default());
        let mut out = Vec::new();
        for i in 0..40 {
            d.observe(&answer(i, "10.0.0.5", &format!("familyproud{i}.net"), 3));
            d.observe(&answer(i, "10.0.0.6", "www.example.com", 0));
            if i % 10 == 0 {
                d.observe(&answer(i, "10.0.0.6", "gogle.cmo", 3));
            }
        }
        d.end_epoch(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].client, "10.0.0.5".parse().ok());
        assert!(
            out[0].reason.contains("NXDOMAIN answers for"),
            "{}",
            out[0].reason
        );
        // Query-log events (no response code) are not this detector's, nor a server's own
        // recursion (no client).
        assert_eq!(d.key(&DnsEvent::default()), None);
        let mut upstream = answer(50, "10.0.0.5", "familyproud1.net", 3);
        upstream.client = None;
        assert_eq!(d.key(&upstream), None);
    }
}
