//! Stateful detectors: evidence that builds up over time, per key.
//!
//! | detector | struct | key (what the engine groups by) | fires on |
//! |---|---|---|---|
//! | `tunnel` | [`Tunnel`] | registered domain ([`KeyBy::Domain`]) or (client, registered domain) ([`KeyBy::ClientDomain`]) | many unique, long, high-entropy subdomains; TXT/NULL/CNAME volume; query-name bytes per minute |
//! | `nxdomain_burst` | [`NxdomainBurst`] | client | many NXDOMAIN answers for distinct names in a window, at a high ratio |
//! | `beacon` | [`Beacon`] | (client, registered domain) | queries at regular intervals (low dispersion and skew of the gaps) |
//! | `new_domain` | [`NewDomains`] | registered domain | a registered domain never seen before, after a warm-up |
//! | `corroboration` | [`Corroborate`] | client | weak signals together: bursts of NXDOMAIN names that look generated (DGA score below the alert threshold), first look-ups of their domains, within an hour; the alert names each signal |
//!
//! # What the engine calls, and when
//!
//! Every detector has the same life cycle, which makes its output the same on 1 or N
//! workers:
//!
//! 1. Route each [`DnsEvent`] to the instance that owns its key: `Detector::key(&event)`
//!    gives a stable 64-bit hash (`None`: the event carries nothing this detector uses, do
//!    not send it). Use it for a fields grouping; every event of one key must reach one
//!    instance.
//! 2. `observe(&event)` for each event of the epoch, in any order. It only buffers a compact
//!    observation (no decision, no allocation beyond the buffer).
//! 3. `end_epoch(&mut out)` when the epoch is complete (the engine's `on_epoch_end`). The
//!    epoch's observations are sorted canonically (event time, key, then content), applied
//!    in that order, idle keys are expired, and alerts are appended to `out` in canonical
//!    order. Send them on to the deduper like the stateless alerts.
//!
//! Windows slide on *event time*. A key's state is trimmed relative to its own newest
//! event, and keys idle for longer than the window (relative to the newest event the
//! instance has seen) are forgotten, which cannot change any later decision; so decisions
//! depend only on each key's own events. State is bounded by `max_keys` per instance (and
//! fixed-size per-key buffers); when the cap is reached the least recently seen keys are
//! evicted and counted in [`StatefulStats::evicted`] (eviction under pressure is the one
//! thing that can differ between worker counts: size `max_keys` so it stays at zero).
//!
//! [`NewDomains`] also persists: [`NewDomains::snapshot`] / [`NewDomains::restore`].
//!
//! Thresholds are in [`StatefulConfig`], with defaults and their sources documented there.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::alert::{Alert, Evidence, Severity};
use antimony_core::StableHasher;

mod beacon;
mod corroborate;
mod nod;
mod nxdomain;
mod tunnel;

use antimony_dns::{DnsEvent, KeyField};

pub use beacon::{Beacon, BeaconConfig};
pub use corroborate::{Corroborate, CorroborateConfig};
pub use nod::{NewDomains, NodConfig, SnapshotError};
pub use nxdomain::{NxdomainBurst, NxdomainConfig};
pub use tunnel::{KeyBy, MAX_CLIENTS, Tunnel, TunnelConfig};

/// Settings of the stateful detectors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatefulConfig {
    /// Tunnelling and exfiltration.
    pub tunnel: TunnelConfig,
    /// NXDOMAIN bursts.
    pub nxdomain: NxdomainConfig,
    /// Beaconing.
    pub beacon: BeaconConfig,
    /// Newly observed domains.
    pub new_domain: NodConfig,
    /// Weak signals per client, together.
    pub corroboration: CorroborateConfig,
}

/// What every stateful detector does, so the engine's bolt can run any of them the same way
/// (see the module docs for when each is called).
pub trait KeyedDetector: Send {
    /// The detector's name in alerts (`tunnel`...).
    fn name(&self) -> &'static str;
    /// The event fields its state is kept per: every event of one key must reach the same
    /// instance, so its input must be grouped by these fields (or by fewer of them).
    fn key_fields(&self) -> &'static [KeyField];
    /// Buffers one event of the current epoch.
    fn observe(&mut self, event: &DnsEvent);
    /// Applies the epoch's events in canonical order; appends alerts to `out`, returns how
    /// many.
    fn end_epoch(&mut self, out: &mut Vec<Alert>) -> usize;
    /// Counters so far.
    fn stats(&self) -> StatefulStats;
    /// The detector's state for a checkpoint, taken between two epochs (nothing pending).
    fn save(&self) -> Saved;
    /// Puts back what [`KeyedDetector::save`] gave: every old instance's global part, and
    /// the entries of the keys this instance now owns.
    fn load(&mut self, globals: &[Vec<u8>], entries: Vec<Vec<u8>>) -> Result<(), String>;
}

/// A keyed detector's state in a checkpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Saved {
    /// What is not per key (the newest event time seen).
    pub global: Vec<u8>,
    /// Each key's state, with the fields that route its events: the caller turns them
    /// into the routing hash of the bolt's input grouping.
    pub keys: Vec<SavedKey>,
}

/// One key's state in a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedKey {
    /// The client of the key's events (for a key per client).
    pub client: Option<IpAddr>,
    /// Their domain key ([`DnsEvent::domain_key`]).
    pub domain: Box<str>,
    /// The key and its state, in this crate's encoding.
    pub entry: Vec<u8>,
}

/// Encodes a key's state (bincode: compact, and the types are this crate's own).
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serialize(value).unwrap_or_default()
}

/// Decodes what [`encode`] wrote.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    bincode::deserialize(bytes).map_err(|e| format!("a checkpoint entry does not decode: {e}"))
}

/// A hash map inside a key's state, written in key order: its iteration order depends on
/// the process's random hash seed, and equal state must encode to equal bytes (checkpoint
/// digests compare runs). Same bytes as bincode's map encoding.
pub(crate) mod sorted_map {
    use std::hash::Hash;

    use ahash::AHashMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, V, S>(map: &AHashMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Ord + Serialize,
        V: Serialize,
        S: Serializer,
    {
        let mut pairs: Vec<(&K, &V)> = map.iter().collect();
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_map(pairs)
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<AHashMap<K, V>, D::Error>
    where
        K: Eq + Hash + Deserialize<'de>,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        AHashMap::deserialize(d)
    }
}

/// Every key of `keys` with its routing fields, for [`Saved::keys`].
pub(crate) fn save_keys<V: Serialize>(
    keys: &ahash::AHashMap<u64, V>,
    route: impl Fn(&V) -> (Option<IpAddr>, &str),
) -> Vec<SavedKey> {
    keys.iter()
        .map(|(key, value)| {
            let (client, domain) = route(value);
            SavedKey {
                client,
                domain: domain.into(),
                entry: encode(&(key, value)),
            }
        })
        .collect()
}

/// Puts back keys [`save_keys`] saved.
pub(crate) fn load_keys<V: serde::de::DeserializeOwned>(
    keys: &mut ahash::AHashMap<u64, V>,
    entries: Vec<Vec<u8>>,
) -> Result<(), String> {
    for entry in entries {
        let (key, value): (u64, V) = decode(&entry)?;
        keys.insert(key, value);
    }
    Ok(())
}

/// The checkpoint of a detector whose state is its newest event time and a map of keys
/// (`route` gives the fields that route a key's events).
pub(crate) fn save_keyed<V: Serialize>(
    newest: i64,
    keys: &ahash::AHashMap<u64, V>,
    route: impl Fn(&V) -> (Option<IpAddr>, &str),
) -> Saved {
    Saved {
        global: encode(&newest),
        keys: save_keys(keys, route),
    }
}

/// Puts back what [`save_keyed`] saved: the newest time over the old instances, and the keys.
pub(crate) fn load_keyed<V: serde::de::DeserializeOwned>(
    newest: &mut i64,
    keys: &mut ahash::AHashMap<u64, V>,
    globals: &[Vec<u8>],
    entries: Vec<Vec<u8>>,
) -> Result<(), String> {
    *newest = newest_of(globals, *newest)?;
    load_keys(keys, entries)
}

/// The newest event time over old instances' global parts (each an encoded `i64`).
pub(crate) fn newest_of(globals: &[Vec<u8>], now: i64) -> Result<i64, String> {
    globals
        .iter()
        .map(|g| decode::<i64>(g))
        .try_fold(now, |newest, g| g.map(|g| newest.max(g)))
}

macro_rules! keyed_detector {
    ($type:ty, $name:expr, |$this:ident| $fields:expr) => {
        impl KeyedDetector for $type {
            fn name(&self) -> &'static str {
                $name
            }
            fn key_fields(&self) -> &'static [KeyField] {
                let $this = self;
                $fields
            }
            fn observe(&mut self, event: &DnsEvent) {
                <$type>::observe(self, event)
            }
            fn end_epoch(&mut self, out: &mut Vec<Alert>) -> usize {
                <$type>::end_epoch(self, out)
            }
            fn stats(&self) -> StatefulStats {
                <$type>::stats(self)
            }
            fn save(&self) -> Saved {
                <$type>::save(self)
            }
            fn load(&mut self, globals: &[Vec<u8>], entries: Vec<Vec<u8>>) -> Result<(), String> {
                <$type>::load(self, globals, entries)
            }
        }
    };
}

keyed_detector!(Tunnel, tunnel::DETECTOR, |this| Tunnel::key_fields(
    this.config()
));
keyed_detector!(NxdomainBurst, nxdomain::DETECTOR, |_this| {
    NxdomainBurst::KEY_FIELDS
});
keyed_detector!(Beacon, beacon::DETECTOR, |_this| Beacon::KEY_FIELDS);
keyed_detector!(NewDomains, nod::DETECTOR, |_this| NewDomains::KEY_FIELDS);
keyed_detector!(Corroborate, corroborate::DETECTOR, |_this| {
    Corroborate::KEY_FIELDS
});

/// Counters of a stateful detector, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatefulStats {
    /// Events observed.
    pub observed: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Keys held now.
    pub keys: u64,
    /// Keys forgotten because they were idle for longer than the window.
    pub expired: u64,
    /// Keys evicted because of the `max_keys` cap.
    pub evicted: u64,
}

/// When to sweep idle keys: scanning every key at every epoch costs O(keys) per epoch,
/// which dominates when keys are many and epochs small. Sweeping once event time has moved
/// a sixteenth of the window since the last sweep makes it O(keys) per slice of event time.
/// Late sweeps change no decision: a swept key's events are all outside the window.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Sweep {
    next: i64,
}

impl Default for Sweep {
    fn default() -> Self {
        Sweep { next: i64::MIN }
    }
}

impl Sweep {
    /// Whether a sweep is due at `newest`; if so, the next one is a slice later.
    pub(crate) fn due(&mut self, newest: i64, window: i64) -> bool {
        if newest < self.next {
            return false;
        }
        self.next = newest.saturating_add((window / 16).max(1));
        true
    }
}

impl Sweep {
    /// The end-of-epoch upkeep of a keyed detector: when a sweep is due (see [`Sweep`]),
    /// forgets the keys not seen for `keep_for`; then evicts beyond `max_keys` (see
    /// [`evict`]). Returns how many keys expired and how many were evicted.
    pub(crate) fn forget_idle<V>(
        &mut self,
        keys: &mut ahash::AHashMap<u64, V>,
        newest: i64,
        window: i64,
        keep_for: i64,
        max_keys: usize,
        last_seen: impl Fn(&V) -> i64,
    ) -> (u64, u64) {
        let mut expired = 0;
        if self.due(newest, window) {
            let horizon = newest.saturating_sub(keep_for);
            let before = keys.len();
            keys.retain(|_, v| last_seen(v) > horizon);
            expired = (before - keys.len()) as u64;
        }
        (expired, evict(keys, max_keys, last_seen) as u64)
    }
}

/// Removes the least recently seen keys beyond `max_keys`, down to 90% of it so that the
/// selection is paid once per tenth of growth, not at every epoch. Returns how many went.
/// A selection (`select_nth_unstable`, linear), not a sort: at half a million keys a sort
/// stalls the worker for tens of milliseconds, which shows in alert latency. The (time, key)
/// pairs are distinct, so which keys go does not depend on the map's order.
pub(crate) fn evict<K, V>(
    keys: &mut ahash::AHashMap<K, V>,
    max_keys: usize,
    last_seen: impl Fn(&V) -> i64,
) -> usize
where
    K: std::hash::Hash + Eq + Ord + Copy,
{
    if keys.len() <= max_keys {
        return 0;
    }
    let low_water = max_keys - max_keys / 10;
    let mut order: Vec<(i64, K)> = keys.iter().map(|(k, v)| (last_seen(v), *k)).collect();
    let excess = keys.len() - low_water;
    order.select_nth_unstable(excess - 1);
    for (_, k) in &order[..excess] {
        keys.remove(k);
    }
    excess
}

/// A stable 64-bit hash of key fields (FNV-1a 128, folded), the same on every machine.
pub(crate) fn key_hash(parts: &[&[u8]]) -> u64 {
    StableHasher::hash64(parts)
}

/// Builds an alert of a stateful detector.
#[allow(clippy::too_many_arguments)]
pub(crate) fn alert(
    detector: &'static str,
    ts: i64,
    client: Option<IpAddr>,
    domain: &str,
    registered_domain: &str,
    severity: Severity,
    score: u8,
    reason: String,
    evidence: Vec<(String, Evidence)>,
) -> Alert {
    Alert {
        id: None,
        ts,
        detector: std::borrow::Cow::Borrowed(detector),
        severity,
        score: score.min(100),
        domain: domain.to_owned(),
        registered_domain: registered_domain.to_owned(),
        client,
        reason,
        evidence,
    }
}

/// Shannon entropy of the characters of a name other than its dots, in bits per character
/// (counted in place: no copy of the name per event).
pub(crate) fn entropy(s: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for &b in s.iter().filter(|&&b| b != b'.') {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Seconds to microseconds, saturating.
pub(crate) fn micros(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_keeps_the_most_recently_seen_keys() {
        let mut keys: ahash::AHashMap<u64, i64> = (0..100u64).map(|k| (k, k as i64)).collect();
        assert_eq!(evict(&mut keys, 100, |t| *t), 0, "at the cap nothing goes");
        keys.insert(100, 100);
        assert_eq!(evict(&mut keys, 100, |t| *t), 11, "down to 90% of the cap");
        assert_eq!(keys.len(), 90);
        assert!(
            (11..=100).all(|k| keys.contains_key(&k)),
            "the oldest went first"
        );
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Inner(#[serde(with = "sorted_map")] ahash::AHashMap<u64, i64>);

    #[test]
    fn equal_maps_encode_alike_whatever_their_hash_seed() {
        let forward: ahash::AHashMap<u64, i64> = (0..500u64).map(|k| (k, -(k as i64))).collect();
        let mut backward = ahash::AHashMap::with_hasher(ahash::RandomState::with_seed(7));
        backward.extend((0..500u64).rev().map(|k| (k, -(k as i64))));
        let backward: ahash::AHashMap<u64, i64> = backward.into_iter().collect();
        let bytes = encode(&Inner(forward));
        assert_eq!(bytes, encode(&Inner(backward)));
        let back: Inner = decode(&bytes).expect("decodes");
        assert_eq!(back.0.len(), 500);
        assert_eq!(back.0[&42], -42);
    }

    #[test]
    fn sweeps_come_once_per_sixteenth_of_the_window() {
        let mut sweep = Sweep::default();
        assert!(sweep.due(0, 1600));
        assert!(!sweep.due(99, 1600));
        assert!(sweep.due(100, 1600));
        assert!(!sweep.due(150, 1600));
    }
}
