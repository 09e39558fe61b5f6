//! Beaconing: one client asking for one domain at regular intervals, as implants check in
//! with their command-and-control server.
//!
//! Per (client, registered domain), the detector keeps the times of the last
//! [`MAX_TIMES`] queries in a window (queries less than `min_gap_secs` after the previous
//! one are one look-up: retries, A and AAAA pairs). With at least `min_events` of them, it
//! looks at the gaps between them: their median must be at least `min_interval_secs`, their
//! dispersion (median absolute deviation over the median) at most `max_dispersion`, and
//! their Bowley skewness (quartile skew) at most `max_skew` in magnitude, at two look-ups in
//! a row (one check is one test among thousands of client and domain pairs: a busy client's
//! random look-ups of a popular name sometimes pass it once; an implant passes every time).
//!
//! Source for the method and defaults: RITA (Active Countermeasures, *Real Intelligence
//! Threat Analytics*), whose beacon score combines exactly these: the skew of the
//! intervals (Bowley), their median absolute deviation about the median, and the
//! connection count. Jittered implants (Cobalt Strike's `jitter`) raise the dispersion:
//! raise `max_dispersion` to catch them, at the cost of more benign periodic software
//! (update checks, NTP, telemetry), which is why a beacon is `medium` and names the
//! interval so an analyst can judge.
//!
//! Evidence keys: `events`, `median_interval_secs`, `dispersion`, `skew`, `window_secs`.

use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::net::IpAddr;

use ahash::AHashMap;
use antimony_dns::{DnsEvent, KeyField};
use serde::{Deserialize, Serialize};

use super::{Saved, StatefulStats, Sweep, alert, load_keyed, micros, save_keyed};
use crate::alert::{Alert, Severity};
use crate::detectors::ev;

/// The detector's name in alerts.
pub const DETECTOR: &str = "beacon";

/// Query times kept per key.
pub const MAX_TIMES: usize = 64;

/// Beacon thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconConfig {
    /// Run it (default true).
    pub enabled: bool,
    /// Sliding window, seconds (default 21,600: six hours).
    pub window_secs: u64,
    /// Queries closer than this to the previous one count once (default 2 s).
    pub min_gap_secs: u64,
    /// Look-ups needed (default 10).
    pub min_events: usize,
    /// Shortest median interval (default 10 s; faster is chatter, not check-ins).
    pub min_interval_secs: f64,
    /// Largest median absolute deviation over the median interval (default 0.1).
    pub max_dispersion: f64,
    /// Largest Bowley skewness magnitude of the intervals (default 0.2).
    pub max_skew: f64,
    /// Most keys per instance (default 500,000).
    pub max_keys: usize,
    /// Severity (default `medium`).
    pub severity: Severity,
}

impl Default for BeaconConfig {
    fn default() -> Self {
        BeaconConfig {
            enabled: true,
            window_secs: 21_600,
            min_gap_secs: 2,
            min_events: 10,
            min_interval_secs: 10.0,
            max_dispersion: 0.1,
            max_skew: 0.2,
            max_keys: 500_000,
            severity: Severity::Medium,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Obs {
    ts: i64,
    key: u64,
    client: Option<IpAddr>,
    domain: Box<str>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Key {
    client: Option<IpAddr>,
    domain: Box<str>,
    history: History,
}

/// What a key remembers of its look-ups. Most keys are asked once (a client resolves most
/// names a few times a day at most): they keep one time inline, and the look-up history is
/// boxed only from the second look-up on. At a million keys that is about half the memory
/// of a history per key.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum History {
    /// One look-up, at this time.
    Once(i64),
    /// Two or more.
    Many(Box<Looks>),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Looks {
    times: VecDeque<i64>,
    cooldown_until: i64,
    /// The previous look-up's check found the gaps regular already.
    regular_before: bool,
}

impl History {
    fn last(&self) -> i64 {
        match self {
            History::Once(t) => *t,
            History::Many(looks) => looks.times.back().copied().unwrap_or(i64::MIN),
        }
    }
}

/// The beaconing detector (see this module's docs).
#[derive(Debug)]
pub struct Beacon {
    config: BeaconConfig,
    window: i64,
    pending: Vec<Obs>,
    keys: AHashMap<u64, Key>,
    newest: i64,
    sweep: Sweep,
    stats: StatefulStats,
}

/// The q-quantile of sorted values (linear interpolation).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Median interval, dispersion (MAD / median) and Bowley skewness of the gaps of `times`.
pub fn regularity(times: &[i64]) -> Option<(f64, f64, f64)> {
    if times.len() < 3 {
        return None;
    }
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1e6)
        .collect();
    gaps.sort_by(f64::total_cmp);
    let median = quantile(&gaps, 0.5);
    if median <= 0.0 {
        return None;
    }
    let (q1, q3) = (quantile(&gaps, 0.25), quantile(&gaps, 0.75));
    // A spread of a few seconds (clock resolution, scheduling, sleep granularity) is no
    // shape at all: skew is measured only when the quartiles are further apart.
    let skew = if q3 - q1 > (0.1 * median).max(5.0) {
        (q3 + q1 - 2.0 * median) / (q3 - q1)
    } else {
        0.0
    };
    let mut dev: Vec<f64> = gaps.iter().map(|g| (g - median).abs()).collect();
    dev.sort_by(f64::total_cmp);
    Some((median, quantile(&dev, 0.5) / median, skew))
}

impl Beacon {
    /// A detector with these settings.
    pub fn new(config: BeaconConfig) -> Self {
        Beacon {
            window: micros(config.window_secs).max(1),
            config,
            pending: Vec::new(),
            keys: AHashMap::new(),
            newest: i64::MIN,
            sweep: Sweep::default(),
            stats: StatefulStats::default(),
        }
    }

    /// What state is kept per: the client and the registered domain.
    pub const KEY_FIELDS: &'static [KeyField] = &[KeyField::Client, KeyField::RegisteredDomain];

    /// The key of an event; `None` without a client or name. Responses are skipped when the
    /// source logs both directions (a query and its answer would look like two look-ups).
    pub fn key(&self, event: &DnsEvent) -> Option<u64> {
        if event.client.is_none() || event.qname.is_empty() || event.is_response() {
            return None;
        }
        Some(event.key_hash(Self::KEY_FIELDS))
    }

    /// Buffers one event of the current epoch.
    pub fn observe(&mut self, event: &DnsEvent) {
        let Some(key) = self.key(event) else { return };
        self.stats.observed += 1;
        self.pending.push(Obs {
            ts: event.ts,
            key,
            client: event.client,
            domain: event.domain_key().into(),
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
            self.window,
            self.config.max_keys,
            |k| k.history.last(),
        );
        self.stats.expired += expired;
        self.stats.evicted += evicted;
        self.stats.alerts += (out.len() - before) as u64;
        self.stats.keys = self.keys.len() as u64;
        out.len() - before
    }

    fn apply(&mut self, obs: Obs, out: &mut Vec<Alert>) {
        self.newest = self.newest.max(obs.ts);
        let min_gap = micros(self.config.min_gap_secs);
        let entry = match self.keys.entry(obs.key) {
            Entry::Vacant(v) => {
                // A first look-up decides nothing (gaps need three).
                v.insert(Key {
                    client: obs.client,
                    domain: obs.domain,
                    history: History::Once(obs.ts),
                });
                return;
            }
            Entry::Occupied(o) => o.into_mut(),
        };
        if obs.ts - entry.history.last() < min_gap {
            return;
        }
        if let History::Once(first) = entry.history {
            entry.history = History::Many(Box::new(Looks {
                times: VecDeque::from([first]),
                cooldown_until: i64::MIN,
                regular_before: false,
            }));
        }
        let History::Many(k) = &mut entry.history else {
            return;
        };
        k.times.push_back(obs.ts);
        let horizon = obs.ts - self.window;
        while k.times.front().is_some_and(|&t| t <= horizon) || k.times.len() > MAX_TIMES {
            k.times.pop_front();
        }
        let c = &self.config;
        if obs.ts < k.cooldown_until || k.times.len() < c.min_events {
            return;
        }
        let times: Vec<i64> = k.times.iter().copied().collect();
        let Some((median, dispersion, skew)) = regularity(&times) else {
            return;
        };
        if median < c.min_interval_secs || dispersion > c.max_dispersion || skew.abs() > c.max_skew
        {
            k.regular_before = false;
            return;
        }
        // Regular at two look-ups in a row: every look-up is a new test of the same key, and
        // among thousands of (client, domain) pairs, ten random gaps sometimes line up once;
        // an implant's stay regular.
        if !k.regular_before {
            k.regular_before = true;
            return;
        }
        k.regular_before = false;
        k.cooldown_until = obs.ts + self.window;
        let regular = 1.0 - (dispersion / c.max_dispersion.max(1e-9)).min(1.0);
        let score = (60.0 + 25.0 * regular).round() as u8;
        let client = entry
            .client
            .map_or_else(|| "a client".to_owned(), |ip| ip.to_string());
        let reason = format!(
            "{client} looked up {} {} times at regular intervals (median {:.0} s, dispersion \
             {:.2}, skew {:.2}), the pattern of an implant checking in",
            entry.domain,
            times.len(),
            median,
            dispersion,
            skew
        );
        out.push(alert(
            DETECTOR,
            obs.ts,
            entry.client,
            &entry.domain,
            &entry.domain,
            c.severity,
            score,
            reason,
            vec![
                ev("events", times.len()),
                ev("median_interval_secs", (median * 10.0).round() / 10.0),
                ev("dispersion", (dispersion * 1000.0).round() / 1000.0),
                ev("skew", (skew * 1000.0).round() / 1000.0),
                ev("window_secs", c.window_secs as usize),
            ],
        ));
    }

    /// Counters so far.
    pub fn stats(&self) -> StatefulStats {
        self.stats
    }
}

impl Beacon {
    /// Its state for a checkpoint: the newest event time, and each key.
    pub(crate) fn save(&self) -> Saved {
        save_keyed(self.newest, &self.keys, |k| (k.client, &k.domain))
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

    fn query(ts_micros: i64, client: &str, qname: &str) -> DnsEvent {
        let mut e = DnsEvent {
            ts: ts_micros,
            client: client.parse().ok(),
            ..DnsEvent::default()
        };
        e.set_qname(qname).expect("name");
        e
    }

    #[test]
    fn regular_check_ins_fire_irregular_browsing_does_not() {
        let mut b = Beacon::new(BeaconConfig::default());
        let mut out = Vec::new();
        let mut seed = 7u64;
        let mut t_browse = 0i64;
        for i in 0..30i64 {
            // Every 60 s with +-1 s jitter.
            let jitter = (i * 7919 % 3 - 1) * 1_000_000;
            b.observe(&query(
                i * 60_000_000 + jitter,
                "10.0.0.7",
                "c2.evil.example",
            ));
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            t_browse += 5_000_000 + (seed % 600) as i64 * 1_000_000;
            b.observe(&query(t_browse, "10.0.0.7", "news.example"));
        }
        b.end_epoch(&mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].domain, "evil.example");
        assert!(out[0].reason.contains("median 59 s"), "{}", out[0].reason);
    }

    #[test]
    fn regularity_measures() {
        let c2: Vec<i64> = (0..30i64)
            .map(|i| i * 60_000_000 + (i * 7919 % 3 - 1) * 1_000_000)
            .collect();
        let (m, d, s) = regularity(&c2).expect("enough");
        assert!(m >= 59.0 && d < 0.05 && s.abs() < 0.2, "{m} {d} {s}");
        let times: Vec<i64> = (0..10).map(|i| i * 30_000_000).collect();
        let (m, d, s) = regularity(&times).expect("enough");
        assert_eq!((m, d, s), (30.0, 0.0, 0.0));
    }
}
