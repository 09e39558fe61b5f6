//! Corroboration per client: weak signals that, together, make one medium alert.
//!
//! A slow infection asks a handful of generated names every quarter of an hour: too few for
//! [`NxdomainBurst`](super::NxdomainBurst), and each name alone scores below the DGA
//! detector's threshold or is only a `low` alert. Seen from the client, the signals add up:
//!
//! - the name does not exist (NXDOMAIN);
//! - its registered label looks generated (the DGA model's score, through its public
//!   scoring API, at least `min_score`);
//! - the client had not asked for that registered domain in the window (a first look-up);
//! - the names come in *bursts*: several within `burst_gap_secs` of each other.
//!
//! Per client, over `window_secs` of event time, the detector keeps its *suspect* names
//! (distinct NXDOMAIN names scoring at least `min_score`). A suspect is *clustered* when it
//! is in a run of at least `min_burst` suspects each within `burst_gap_secs` of the previous
//! one. The detector fires when the window holds at least `min_names` clustered suspects,
//! and names every signal with its figures: "8 random-looking names (DGA score 45-91), all
//! answered NXDOMAIN, 8 first look-ups by this client, in 2 bursts within 19 minutes".
//! A typo or a stale search suffix is one NXDOMAIN at a time, with a low score; a busy
//! client's few random-looking misses are spread over the hour, not in bursts.
//!
//! Sources for the defaults: Antonakakis et al., *From Throw-Away Traffic to Bots* (USENIX
//! Security 2012), whose infected hosts show tens of NXDOMAIN names per epoch while clean
//! ones show a few per hour; Schüppen et al., *FANCI* (USENIX Security 2018), which
//! classifies NXDOMAIN names rather than all names, because generated names overwhelmingly
//! fail. The burst size (3) is the smallest run a DGA client makes when it wakes up (it
//! tries names until one answers), and two bursts (6 names) make a decision within the hour.
//!
//! Evidence keys: `suspect_names`, `nxdomain`, `first_lookups`, `bursts`, `min_score`,
//! `max_score`, `span_secs`, `window_secs`, `examples` (up to five names, sorted).

use std::collections::VecDeque;
use std::net::IpAddr;

use ahash::AHashMap;
use antimony_dns::{DnsEvent, KeyField};
use serde::{Deserialize, Serialize};

use super::{Saved, StatefulStats, Sweep, alert, key_hash, load_keyed, micros, save_keyed};
use crate::alert::{Alert, Severity};
use crate::detectors::dga::Model;
use crate::detectors::ev;

/// The detector's name in alerts.
pub const DETECTOR: &str = "corroboration";

/// Suspect names remembered per client (beyond, the oldest go first).
pub const MAX_SUSPECTS: usize = 64;
/// Registered domains remembered per client for first look-ups (beyond, the ones not seen
/// in the window go, then every unknown domain counts as a first look-up).
pub const MAX_SEEN: usize = 128;

/// Corroboration thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorroborateConfig {
    /// Run it (default true).
    pub enabled: bool,
    /// Sliding window, seconds (default 3,600: a slow infection is caught within the hour).
    pub window_secs: u64,
    /// DGA score (0-100) from which an NXDOMAIN name is a suspect (default 30, below the DGA
    /// detector's own threshold). Lower catches dictionary families (suppobox scores 15-30
    /// name by name): at 15, `antimony eval --stream-slow 40` caught 40 of 40 slow
    /// infections instead of 37, but busy clean clients (0.75 queries/s each,
    /// `--stream-qps 1500`) then make bursts of popular names that failed, and 0.5% of them
    /// were alerted; at 30, none.
    pub min_score: u8,
    /// Clustered suspects in the window (default 6).
    pub min_names: usize,
    /// Suspects in a row that make a burst (default 3).
    pub min_burst: usize,
    /// Most seconds between two suspects of one burst (default 60).
    pub burst_gap_secs: u64,
    /// Most clients per instance (default 200,000).
    pub max_keys: usize,
    /// Severity (default `medium`).
    pub severity: Severity,
}

impl Default for CorroborateConfig {
    fn default() -> Self {
        CorroborateConfig {
            enabled: true,
            window_secs: 3600,
            min_score: 30,
            min_names: 6,
            min_burst: 3,
            burst_gap_secs: 60,
            max_keys: 200_000,
            severity: Severity::Medium,
        }
    }
}

/// One buffered answer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Obs {
    ts: i64,
    key: u64,
    domain_hash: u64,
    nx: bool,
    qname: Box<str>,
    /// The registered label (what the DGA model scores); empty unless NXDOMAIN.
    label: Box<str>,
    client: Option<IpAddr>,
}

/// A suspect name.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Suspect {
    ts: i64,
    name_hash: u64,
    score: u8,
    first: bool,
    name: Box<str>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Client {
    client: Option<IpAddr>,
    /// Suspects in the window, oldest first.
    suspects: VecDeque<Suspect>,
    /// Registered domain hash -> last asked.
    #[serde(with = "super::sorted_map")]
    seen: AHashMap<u64, i64>,
    /// When `seen` was last trimmed: a busy client keeps it full, and trimming it at every
    /// answer would cost [`MAX_SEEN`] steps each.
    seen_trimmed: i64,
    /// NXDOMAIN answers in the window (times, oldest first; at most `MAX_SUSPECTS * 4`).
    nx: VecDeque<i64>,
    last: i64,
    cooldown_until: i64,
}

/// The corroboration detector (see this module's docs).
#[derive(Debug)]
pub struct Corroborate {
    config: CorroborateConfig,
    model: Option<Model>,
    window: i64,
    pending: Vec<Obs>,
    keys: AHashMap<u64, Client>,
    newest: i64,
    sweep: Sweep,
    stats: StatefulStats,
}

impl Corroborate {
    /// A detector with these settings, scoring names with the built-in DGA model.
    pub fn new(config: CorroborateConfig) -> Self {
        Self::with_model(config, Model::builtin().ok())
    }

    /// A detector scoring names with `model` (without one, no name is a suspect).
    pub fn with_model(config: CorroborateConfig, model: Option<Model>) -> Self {
        Corroborate {
            window: micros(config.window_secs).max(1),
            config,
            model,
            pending: Vec::new(),
            keys: AHashMap::new(),
            newest: i64::MIN,
            sweep: Sweep::default(),
            stats: StatefulStats::default(),
        }
    }

    /// What state is kept per: the client.
    pub const KEY_FIELDS: &'static [KeyField] = &[KeyField::Client];

    /// The key of an event; `None` unless it is a response with a response code (a query
    /// log has none; a query packet's code means nothing) and a client (nobody to
    /// corroborate about otherwise).
    pub fn key(&self, event: &DnsEvent) -> Option<u64> {
        if !event.is_response() {
            return None;
        }
        event.rcode?;
        event.client?;
        Some(event.key_hash(Self::KEY_FIELDS))
    }

    /// Buffers one event of the current epoch.
    pub fn observe(&mut self, event: &DnsEvent) {
        let Some(key) = self.key(event) else { return };
        self.stats.observed += 1;
        let nx = event.rcode == Some(3);
        let rd = event.domain_key();
        let (qname, label): (Box<str>, Box<str>) = if nx {
            let label = rd.split('.').next().unwrap_or_default();
            (event.qname.as_str().into(), label.into())
        } else {
            ("".into(), "".into())
        };
        self.pending.push(Obs {
            ts: event.ts,
            key,
            domain_hash: key_hash(&[rd.as_bytes()]),
            nx,
            qname,
            label,
            client: event.client,
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
            |c| c.last,
        );
        self.stats.expired += expired;
        self.stats.evicted += evicted;
        self.stats.alerts += (out.len() - before) as u64;
        self.stats.keys = self.keys.len() as u64;
        out.len() - before
    }

    /// The DGA score of a registered label (0 when too short to judge, or no model).
    fn score(&self, label: &str) -> u8 {
        match &self.model {
            Some(m) if label.len() >= m.min_label_len && !label.starts_with("xn--") => {
                m.score_fast(label)
            }
            _ => 0,
        }
    }

    fn apply(&mut self, obs: Obs, out: &mut Vec<Alert>) {
        self.newest = self.newest.max(obs.ts);
        let score = if obs.nx { self.score(&obs.label) } else { 0 };
        let window = self.window;
        let c = self.keys.entry(obs.key).or_insert_with(|| Client {
            client: obs.client,
            cooldown_until: i64::MIN,
            seen_trimmed: i64::MIN,
            ..Client::default()
        });
        c.last = c.last.max(obs.ts);
        let horizon = c.last - window;
        while c.suspects.front().is_some_and(|s| s.ts <= horizon) {
            c.suspects.pop_front();
        }
        while c.nx.front().is_some_and(|&t| t <= horizon) {
            c.nx.pop_front();
        }
        if c.seen.len() >= MAX_SEEN && obs.ts >= c.seen_trimmed.saturating_add(window / 16) {
            c.seen.retain(|_, t| *t > horizon);
            c.seen_trimmed = obs.ts;
        }
        let first = c.seen.get(&obs.domain_hash).is_none_or(|&t| t <= horizon);
        if c.seen.len() < MAX_SEEN || c.seen.contains_key(&obs.domain_hash) {
            c.seen.insert(obs.domain_hash, obs.ts);
        }
        if !obs.nx {
            return;
        }
        c.nx.push_back(obs.ts);
        if c.nx.len() > MAX_SUSPECTS * 4 {
            c.nx.pop_front();
        }
        let cfg = &self.config;
        let name_hash = key_hash(&[obs.qname.as_bytes()]);
        if score < cfg.min_score || c.suspects.iter().any(|s| s.name_hash == name_hash) {
            return;
        }
        c.suspects.push_back(Suspect {
            ts: obs.ts,
            name_hash,
            score,
            first,
            name: obs.qname,
        });
        if c.suspects.len() > MAX_SUSPECTS {
            c.suspects.pop_front();
        }
        if obs.ts < c.cooldown_until {
            return;
        }
        let (clustered, bursts) = clusters(&c.suspects, micros(cfg.burst_gap_secs), cfg.min_burst);
        if clustered.len() < cfg.min_names {
            return;
        }
        c.cooldown_until = obs.ts + window;
        let chosen: Vec<&Suspect> = clustered.iter().map(|&i| &c.suspects[i]).collect();
        let lo = chosen.iter().map(|s| s.score).min().unwrap_or(0);
        let hi = chosen.iter().map(|s| s.score).max().unwrap_or(0);
        let firsts = chosen.iter().filter(|s| s.first).count();
        let span = chosen.last().map_or(0, |s| s.ts) - chosen.first().map_or(0, |s| s.ts);
        let span_secs = span / 1_000_000;
        let mut examples: Vec<String> = chosen.iter().map(|s| s.name.to_string()).collect();
        examples.sort();
        examples.truncate(5);
        let who = c
            .client
            .map_or_else(|| "a client".to_owned(), |ip| ip.to_string());
        let within = if span_secs < 120 {
            format!("{span_secs} seconds")
        } else {
            format!("{} minutes", span_secs / 60)
        };
        let reason = format!(
            "{who} asked {n} random-looking names (DGA score {lo}-{hi}), all answered NXDOMAIN \
             ({nx} NXDOMAIN answers in all), {firsts} of them first look-ups of their domain \
             by this client, in {bursts} burst{s} within {within}: weak signals together, the \
             pattern of malware trying generated domains (e.g. {ex})",
            n = chosen.len(),
            nx = c.nx.len(),
            s = if bursts == 1 { "" } else { "s" },
            ex = examples.join(", "),
        );
        // Each signal adds to the score: more names, higher DGA scores, more bursts.
        let score = 55 + (chosen.len().min(20) as u8) + hi / 10 + (bursts.min(5) as u8) * 2;
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
                ev("suspect_names", chosen.len()),
                ev("nxdomain", c.nx.len()),
                ev("first_lookups", firsts),
                ev("bursts", bursts),
                ev("min_score", usize::from(lo)),
                ev("max_score", usize::from(hi)),
                ev("span_secs", usize::try_from(span_secs).unwrap_or(0)),
                ev("window_secs", cfg.window_secs as usize),
                ev("examples", examples),
            ],
        ));
    }

    /// Counters so far.
    pub fn stats(&self) -> StatefulStats {
        self.stats
    }
}

/// The suspects in bursts (indices, oldest first) and how many bursts: runs of at least
/// `min_burst` suspects each at most `gap` after the previous one.
fn clusters(suspects: &VecDeque<Suspect>, gap: i64, min_burst: usize) -> (Vec<usize>, usize) {
    let mut clustered = Vec::new();
    let mut bursts = 0;
    let mut run_start = 0;
    for i in 0..=suspects.len() {
        let breaks = i == suspects.len() || (i > 0 && suspects[i].ts - suspects[i - 1].ts > gap);
        if breaks && i > run_start {
            if i - run_start >= min_burst.max(1) {
                clustered.extend(run_start..i);
                bursts += 1;
            }
            run_start = i;
        }
    }
    (clustered, bursts)
}

impl Corroborate {
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
            direction: antimony_dns::Direction::Response,
            ..DnsEvent::default()
        };
        e.set_qname(qname).expect("name");
        e
    }

    const GENERATED: [&str; 12] = [
        "xkqjvbzwpt.com",
        "qzmvhxkrtl.net",
        "wpxkzqjvbn.org",
        "jvqxzkbmwr.info",
        "zxqvkjwpbh.com",
        "kqxzvjmbwt.net",
        "bxqzvkjwmp.org",
        "vzkqxjbwmh.com",
        "mqzxkvjbwt.info",
        "hzqxvkjbwp.net",
        "tqxzkvjmbw.com",
        "pzxqkvjbwh.org",
    ];

    #[test]
    fn two_slow_bursts_make_one_alert_that_names_each_signal() {
        let mut d = Corroborate::new(CorroborateConfig::default());
        let mut out = Vec::new();
        // A clean neighbour: the same number of NXDOMAIN names, typos spread over the hour.
        for (i, name) in [
            "gogle.com",
            "wikipedia.orgg",
            "exampel.com",
            "mail.intranet.corp",
            "yahooo.com",
            "printer.lan",
        ]
        .iter()
        .enumerate()
        {
            d.observe(&answer(i as i64 * 500, "10.0.0.6", name, 3));
        }
        // Two bursts of four generated names, twenty minutes apart.
        for (i, name) in GENERATED.iter().take(4).enumerate() {
            d.observe(&answer(100 + i as i64 * 5, "10.0.0.5", name, 3));
        }
        d.end_epoch(&mut out);
        assert!(out.is_empty(), "one burst is not enough: {out:?}");
        for (i, name) in GENERATED.iter().skip(4).take(4).enumerate() {
            d.observe(&answer(1300 + i as i64 * 7, "10.0.0.5", name, 3));
        }
        d.end_epoch(&mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        let a = &out[0];
        assert_eq!(a.client, "10.0.0.5".parse().ok());
        assert_eq!(a.severity, Severity::Medium);
        for signal in [
            "random-looking names (DGA score",
            "NXDOMAIN",
            "first look-ups",
            "2 bursts within 20 minutes",
        ] {
            assert!(a.reason.contains(signal), "{signal}: {}", a.reason);
        }
        let evidence: Vec<&str> = a.evidence.iter().map(|(k, _)| k.as_str()).collect();
        assert!(evidence.contains(&"suspect_names") && evidence.contains(&"bursts"));
        // The cooldown holds for a window.
        for (i, name) in GENERATED.iter().skip(8).enumerate() {
            d.observe(&answer(1400 + i as i64, "10.0.0.5", name, 3));
        }
        assert_eq!(d.end_epoch(&mut out), 0);
    }

    #[test]
    fn a_checkpoint_between_the_bursts_keeps_the_first() {
        use crate::stateful::KeyedDetector;
        let mut d = Corroborate::new(CorroborateConfig::default());
        let mut out = Vec::new();
        for (i, name) in GENERATED.iter().take(3).enumerate() {
            d.observe(&answer(100 + i as i64 * 5, "10.0.0.5", name, 3));
        }
        d.end_epoch(&mut out);
        let saved = KeyedDetector::save(&d);
        assert_eq!(saved.keys.len(), 1);
        assert_eq!(saved.keys[0].client, "10.0.0.5".parse().ok());
        let mut resumed = Corroborate::new(CorroborateConfig::default());
        KeyedDetector::load(
            &mut resumed,
            &[saved.global],
            saved.keys.into_iter().map(|k| k.entry).collect(),
        )
        .expect("loads");
        for (i, name) in GENERATED.iter().skip(3).take(3).enumerate() {
            resumed.observe(&answer(1000 + i as i64 * 5, "10.0.0.5", name, 3));
        }
        assert_eq!(resumed.end_epoch(&mut out), 1, "{out:?}");
        assert!(out[0].reason.contains("2 bursts"), "{}", out[0].reason);
    }

    #[test]
    fn scattered_random_names_are_not_bursts() {
        let mut d = Corroborate::new(CorroborateConfig::default());
        let mut out = Vec::new();
        // Twelve random-looking misses, one every five minutes: never three in a minute.
        for (i, name) in GENERATED.iter().enumerate() {
            d.observe(&answer(i as i64 * 300, "10.0.0.7", name, 3));
        }
        d.end_epoch(&mut out);
        assert!(out.is_empty(), "{out:?}");
        // Answers that resolved are no suspects, queries without answers not observed.
        assert_eq!(d.key(&DnsEvent::default()), None);
    }

    #[test]
    fn order_within_an_epoch_does_not_matter() {
        let events: Vec<DnsEvent> = GENERATED
            .iter()
            .enumerate()
            .map(|(i, n)| answer(i as i64 * 4, ["10.0.0.1", "10.0.0.2"][i % 2], n, 3))
            .collect();
        let run = |forward: bool| {
            let mut d = Corroborate::new(CorroborateConfig::default());
            let mut out = Vec::new();
            let mut order: Vec<&DnsEvent> = events.iter().collect();
            if !forward {
                order.reverse();
            }
            for e in order {
                d.observe(e);
            }
            d.end_epoch(&mut out);
            out
        };
        assert_eq!(run(true), run(false));
        assert_eq!(run(true).len(), 2);
    }
}
