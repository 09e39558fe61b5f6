//! [`Deduper`]: one alert per (detector, client, domain) per window, whatever the number of
//! workers.
//!
//! Windows are tumbling windows on event time (`ts`), of [`DedupConfig::window_secs`]. The
//! engine offers the alerts of one epoch in any order ([`Deduper::offer`]) and then closes the
//! epoch ([`Deduper::end_epoch`]). Each alert gets its id here: the key it is kept under,
//! computed once for this deduplicator's window. For each key the epoch keeps the smallest
//! alert in [`Alert::canonical_cmp`] order (the earliest, then by the other fields), drops
//! keys already emitted in an earlier epoch, and emits the rest sorted by that same order
//! (by id: the order of the alerts file). Every
//! decision depends only on the set of alerts in each epoch, never on their arrival order, so
//! one worker and N workers give the same output.
//!
//! State is bounded: keys of windows older than the newest window seen minus
//! [`DedupConfig::retention_windows`] are forgotten after each epoch, and beyond
//! [`DedupConfig::max_keys`] the oldest windows' keys are forgotten first (in key order, so
//! that too is deterministic). Forgotten keys are counted in [`DedupStats`]. An alert whose
//! window is already older than the retention is still emitted (a late alert is better than a
//! lost one) and counted as `late`.

use std::collections::BTreeMap;

use ahash::AHashMap;

use crate::alert::{Alert, AlertId, dedup_key, window_start};
use crate::config::DedupConfig;

/// Counters of a [`Deduper`], for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DedupStats {
    /// Alerts offered.
    pub offered: u64,
    /// Alerts emitted.
    pub emitted: u64,
    /// Alerts dropped as duplicates (within an epoch or of an earlier one).
    pub suppressed: u64,
    /// Alerts emitted for a window older than the retention.
    pub late: u64,
    /// Keys forgotten because their window left the retention.
    pub expired: u64,
    /// Keys forgotten because of the `max_keys` cap.
    pub evicted: u64,
}

/// Keeps one alert per (detector, client, domain, window); see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Deduper {
    window_micros: i64,
    retention_micros: i64,
    max_keys: usize,
    pending: AHashMap<AlertId, Alert>,
    /// Keys emitted, by window start, each with the routing hash of its alerts (what the
    /// grouping in front of this deduplicator sends them by: a checkpoint resumed on
    /// another number of workers gives each key to the worker that now gets its alerts).
    emitted: BTreeMap<i64, BTreeMap<AlertId, u64>>,
    keys: usize,
    newest_window: Option<i64>,
    stats: DedupStats,
}

impl Deduper {
    /// A deduper with these settings.
    pub fn new(config: &DedupConfig) -> Self {
        let window_micros = config.window_micros();
        Deduper {
            window_micros,
            retention_micros: window_micros.saturating_mul(i64::from(config.retention_windows)),
            max_keys: config.max_keys,
            pending: AHashMap::new(),
            emitted: BTreeMap::new(),
            keys: 0,
            newest_window: None,
            stats: DedupStats::default(),
        }
    }

    fn key(&self, alert: &Alert) -> (AlertId, i64) {
        let window = window_start(alert.ts, self.window_micros);
        (
            dedup_key(&alert.detector, alert.client, &alert.domain, window),
            window,
        )
    }

    /// Offers an alert of the current epoch. It gets its id here, the key it is kept under:
    /// ids name this deduplicator's window, whatever the detector assumed.
    pub fn offer(&mut self, mut alert: Alert) {
        self.stats.offered += 1;
        let (key, _) = self.key(&alert);
        alert.id = Some(key);
        match self.pending.get_mut(&key) {
            Some(kept) => {
                self.stats.suppressed += 1;
                if alert.canonical_cmp(kept).is_lt() {
                    *kept = alert;
                }
            }
            None => {
                self.pending.insert(key, alert);
            }
        }
    }

    /// Closes the epoch: appends its new alerts to `out` in canonical order, returns how many.
    pub fn end_epoch(&mut self, out: &mut Vec<Alert>) -> usize {
        self.end_epoch_routed(out, |_| 0)
    }

    /// [`Deduper::end_epoch`], keeping with each new key the routing hash `route` gives
    /// its alert (for checkpoints, see [`Deduper::save`]).
    pub fn end_epoch_routed(
        &mut self,
        out: &mut Vec<Alert>,
        route: impl Fn(&Alert) -> u64,
    ) -> usize {
        let mut candidates: Vec<Alert> = self.pending.drain().map(|(_, a)| a).collect();
        candidates.sort_by(Alert::canonical_cmp);
        let horizon = self
            .newest_window
            .map(|n| n.saturating_sub(self.retention_micros));
        let before = out.len();
        let mut newest = self.newest_window;
        for alert in candidates {
            let (key, window) = self.key(&alert);
            newest = Some(newest.map_or(window, |n| n.max(window)));
            let keys = self.emitted.entry(window).or_default();
            if keys.contains_key(&key) {
                self.stats.suppressed += 1;
                continue;
            }
            keys.insert(key, route(&alert));
            self.keys += 1;
            if horizon.is_some_and(|h| window < h) {
                self.stats.late += 1;
            }
            self.stats.emitted += 1;
            out.push(alert);
        }
        self.newest_window = newest;
        self.forget();
        out.len() - before
    }

    /// Drops expired windows, then the oldest keys beyond the cap.
    fn forget(&mut self) {
        if let Some(newest) = self.newest_window {
            let horizon = newest.saturating_sub(self.retention_micros);
            let kept = self.emitted.split_off(&horizon);
            let expired: usize = self.emitted.values().map(BTreeMap::len).sum();
            self.emitted = kept;
            self.keys -= expired;
            self.stats.expired += expired as u64;
        }
        while self.keys > self.max_keys {
            let Some(mut oldest) = self.emitted.first_entry() else {
                break;
            };
            let excess = self.keys - self.max_keys;
            let set = oldest.get_mut();
            if set.len() <= excess {
                let n = set.len();
                oldest.remove();
                self.keys -= n;
                self.stats.evicted += n as u64;
            } else {
                for _ in 0..excess {
                    set.pop_first();
                }
                self.keys -= excess;
                self.stats.evicted += excess as u64;
            }
        }
        self.emitted.retain(|_, set| !set.is_empty());
    }

    /// Counters so far.
    pub fn stats(&self) -> DedupStats {
        self.stats
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.keys
    }

    /// True when no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }

    /// Its state for a checkpoint, between two epochs: the newest window, and every key
    /// remembered with its routing hash.
    pub fn save(&self) -> (Vec<u8>, Vec<(u64, Vec<u8>)>) {
        let global = bincode::serialize(&self.newest_window).unwrap_or_default();
        let keys = self
            .emitted
            .iter()
            .flat_map(|(window, keys)| {
                keys.iter().map(move |(key, route)| {
                    let entry = bincode::serialize(&(window, key.0, route)).unwrap_or_default();
                    (*route, entry)
                })
            })
            .collect();
        (global, keys)
    }

    /// Puts back what [`Deduper::save`] gave: every old instance's global part, and the
    /// keys this instance now gets the alerts of.
    pub fn load(&mut self, globals: &[Vec<u8>], entries: Vec<Vec<u8>>) -> Result<(), String> {
        let bad = |e: bincode::Error| format!("a checkpoint entry does not decode: {e}");
        for global in globals {
            let window: Option<i64> = bincode::deserialize(global).map_err(bad)?;
            self.newest_window = self.newest_window.max(window);
        }
        for entry in entries {
            let (window, key, route): (i64, u128, u64) =
                bincode::deserialize(&entry).map_err(bad)?;
            if self
                .emitted
                .entry(window)
                .or_default()
                .insert(AlertId(key), route)
                .is_none()
            {
                self.keys += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::net::IpAddr;

    use super::*;
    use crate::Severity;

    const HOUR: i64 = 3_600_000_000;

    fn alert(detector: &'static str, client: &str, domain: &str, ts: i64, reason: &str) -> Alert {
        let client: Option<IpAddr> = client.parse().ok();
        Alert {
            id: None,
            ts,
            detector: Cow::Borrowed(detector),
            severity: Severity::Low,
            score: 50,
            domain: domain.into(),
            registered_domain: domain.into(),
            client,
            reason: reason.into(),
            evidence: Vec::new(),
        }
    }

    fn run(d: &mut Deduper, epoch: Vec<Alert>) -> Vec<(String, i64, String)> {
        for a in epoch {
            d.offer(a);
        }
        let mut out = Vec::new();
        d.end_epoch(&mut out);
        out.into_iter()
            .map(|a| (a.domain, a.ts, a.reason))
            .collect()
    }

    /// A small deterministic shuffle (xorshift), so the test needs no random crate.
    fn shuffle<T>(items: &mut [T], mut seed: u64) {
        for i in (1..items.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            items.swap(i, (seed % (i as u64 + 1)) as usize);
        }
    }

    fn epochs() -> Vec<Vec<Alert>> {
        let mut epochs = Vec::new();
        for e in 0..4i64 {
            let mut epoch = Vec::new();
            for i in 0..60i64 {
                let domain = format!("d{}.example", i % 7);
                let client = format!("10.0.0.{}", i % 3);
                let ts = e * HOUR / 2 + (i * 7919) % 1000;
                epoch.push(alert("dga", &client, &domain, ts, &format!("r{}", i % 5)));
                epoch.push(alert("keyword", &client, &domain, ts, "k"));
            }
            epochs.push(epoch);
        }
        epochs
    }

    #[test]
    fn shuffled_offers_give_identical_output() {
        let config = DedupConfig::default();
        let mut reference = Deduper::new(&config);
        let expected: Vec<_> = epochs()
            .into_iter()
            .map(|e| run(&mut reference, e))
            .collect();
        assert!(
            expected[0].len() == 2 * 7 * 3,
            "one per key: {}",
            expected[0].len()
        );
        for seed in 1..20u64 {
            let mut d = Deduper::new(&config);
            let got: Vec<_> = epochs()
                .into_iter()
                .map(|mut e| {
                    shuffle(&mut e, seed);
                    run(&mut d, e)
                })
                .collect();
            assert_eq!(got, expected, "seed {seed}");
            assert_eq!(d.stats(), reference.stats());
        }
    }

    #[test]
    fn keeps_earliest_and_suppresses_later_epochs() {
        let mut d = Deduper::new(&DedupConfig::default());
        let out = run(
            &mut d,
            vec![
                alert("dga", "10.0.0.1", "x.com", 500, "late"),
                alert("dga", "10.0.0.1", "x.com", 100, "early"),
            ],
        );
        assert_eq!(out, [("x.com".to_owned(), 100, "early".to_owned())]);
        assert!(run(&mut d, vec![alert("dga", "10.0.0.1", "x.com", 50, "again")]).is_empty());
        // Another window, client or detector is another key.
        let out = run(
            &mut d,
            vec![
                alert("dga", "10.0.0.1", "x.com", HOUR + 1, "next hour"),
                alert("dga", "10.0.0.2", "x.com", 1, "other client"),
                alert("dga", "", "x.com", 1, "no client"),
            ],
        );
        assert_eq!(out.len(), 3);
        assert_eq!(d.stats().suppressed, 2);
    }

    #[test]
    fn state_is_bounded() {
        let config = DedupConfig {
            window_secs: 3600,
            retention_windows: 1,
            max_keys: 5,
        };
        let mut d = Deduper::new(&config);
        let epoch: Vec<Alert> = (0..8)
            .map(|i| alert("dga", "10.0.0.1", &format!("d{i}.com"), 0, "r"))
            .collect();
        assert_eq!(run(&mut d, epoch).len(), 8);
        assert_eq!(d.len(), 5);
        assert_eq!(d.stats().evicted, 3);
        run(
            &mut d,
            vec![alert("dga", "10.0.0.1", "new.com", 3 * HOUR, "r")],
        );
        assert_eq!(
            d.len(),
            1,
            "windows older than one before the newest are forgotten"
        );
        assert_eq!(d.stats().expired, 5);
        // A late alert is emitted and counted.
        assert_eq!(
            run(&mut d, vec![alert("dga", "10.0.0.1", "old.com", 0, "r")]).len(),
            1
        );
        assert_eq!(d.stats().late, 1);
        assert_eq!(d.len(), 1);
    }
}
