//! DNS tunnelling and exfiltration: data carried in query names to one domain.
//!
//! Per key (a registered domain, or a client and a registered domain) over a sliding window
//! on event time, the detector keeps: the distinct subdomains (hashed, up to
//! [`MAX_SUBDOMAINS`]), queries, TXT/NULL/CNAME/ANY queries, bytes of query names below the
//! registered domain, and their mean length and character entropy. Bytes and TXT-like
//! queries count only for a subdomain not already asked in the window (*new* subdomains):
//! a name asked again carries no new data, and popular domains are asked the same few
//! names (`www`, `api`, `static`...) all day by every client. It fires when
//!
//! - at least `min_unique` distinct subdomains, of mean length at least `min_mean_len`
//!   and mean entropy at least `min_entropy` bits per character were asked (encoded data:
//!   iodine, dnscat2, DNSExfiltrator); or
//! - more than `max_bytes` bytes of new subdomains went to the key in the window (the
//!   information bound of Paxson et al.); or
//! - at least `min_special` TXT/NULL/CNAME/ANY queries for new subdomains (tunnels that use
//!   TXT answers as the downstream channel).
//!
//! A domain asked by at least `many_clients` distinct clients in the window is a CDN, a
//! SaaS or a reverse zone far more often than a tunnel (an implant is one host, or a few):
//! its alert drops to `low` and says so. Kept per domain, an alert names the client that
//! asked the most new subdomains when it asked a quarter of them or more (the host to look
//! at); events without a client (a server's own recursion) count for no client.
//!
//! Sources for the defaults: Farnham and Atlasis, *Detecting DNS Tunneling* (SANS, 2013):
//! long, high-entropy labels, many unique subdomains and TXT volume per domain; Paxson et
//! al., *Practical Comprehensive Bounds on Surreptitious Communication over DNS* (USENIX
//! Security 2013): about 4 kB of query-name information per domain and day separates
//! tunnels from nearly all benign domains. Anti-virus and reputation services (McAfee
//! GTI, Sophos XL, Spamhaus DBL look-ups) really do carry data in names: allow-list them.
//!
//! Evidence keys: `unique_subdomains`, `queries`, `special_queries`, `bytes`,
//! `mean_subdomain_len`, `mean_entropy`, `clients`, `window_secs`, `example`.

use std::collections::VecDeque;
use std::net::IpAddr;

use ahash::AHashMap;
use antimony_dns::{DnsEvent, KeyField};
use serde::{Deserialize, Serialize};

use super::{
    Saved, StatefulStats, Sweep, alert, entropy, key_hash, load_keyed, micros, save_keyed,
};
use crate::alert::{Alert, Severity};
use crate::detectors::ev;

/// The detector's name in alerts.
pub const DETECTOR: &str = "tunnel";

/// Distinct subdomains remembered per key (beyond, the count saturates).
pub const MAX_SUBDOMAINS: usize = 512;

/// What a tunnel key is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyBy {
    /// The registered domain: all clients together (catches a tunnel spread over hosts).
    #[default]
    Domain,
    /// The client and the registered domain (names the host).
    ClientDomain,
}

/// Tunnel thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TunnelConfig {
    /// Run it (default true).
    pub enabled: bool,
    /// Key by domain or by (client, domain) (default `domain`).
    pub key_by: KeyBy,
    /// Sliding window, seconds (default 600).
    pub window_secs: u64,
    /// Distinct subdomains (default 20).
    pub min_unique: usize,
    /// Mean length of the part below the registered domain (default 24 characters).
    pub min_mean_len: f64,
    /// Mean entropy of that part, bits per character (default 3.5; English words score
    /// about 3, base32 and hex data 3.8-4.5).
    pub min_entropy: f64,
    /// Query-name bytes below the registered domain per window (default 4,096).
    pub max_bytes: u64,
    /// TXT/NULL/CNAME/ANY queries per window (default 20).
    pub min_special: usize,
    /// Most keys per instance (default 200,000).
    pub max_keys: usize,
    /// Severity (default `medium`: volume over time from one domain holds up).
    pub severity: Severity,
    /// Distinct clients in the window from which an alert drops to `low` (default 20, at
    /// most [`MAX_CLIENTS`]; 0: never).
    pub many_clients: usize,
}

/// Distinct clients remembered per key (beyond, the count saturates).
pub const MAX_CLIENTS: usize = 64;

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            enabled: true,
            key_by: KeyBy::Domain,
            window_secs: 600,
            min_unique: 20,
            min_mean_len: 24.0,
            min_entropy: 3.5,
            max_bytes: 4096,
            min_special: 20,
            max_keys: 200_000,
            severity: Severity::Medium,
            many_clients: 20,
        }
    }
}

/// One buffered event.
#[derive(Clone, Debug, PartialEq)]
struct Obs {
    ts: i64,
    key: u64,
    sub_hash: u64,
    sub_len: u16,
    entropy: f32,
    special: bool,
    client: Option<IpAddr>,
    client_hash: u64,
    qname: Box<str>,
    domain_len: u16,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Key {
    client: Option<IpAddr>,
    domain: Box<str>,
    /// (ts, sub_len, entropy, special, new) per event in the window, oldest first.
    events: VecDeque<(i64, u16, f32, bool, bool)>,
    #[serde(with = "super::sorted_map")]
    subs: AHashMap<u64, i64>,
    /// Client hash -> (last seen, new subdomains it asked, its address), up to
    /// [`MAX_CLIENTS`].
    #[serde(with = "super::sorted_map")]
    clients: AHashMap<u64, (i64, u32, Option<IpAddr>)>,
    /// When `clients` was last trimmed: a popular domain keeps it full, and trimming it at
    /// every event would cost [`MAX_CLIENTS`] steps each.
    #[serde(default)]
    clients_trimmed: i64,
    bytes: u64,
    entropy_sum: f64,
    special: usize,
    last: i64,
    cooldown_until: i64,
    example: Box<str>,
}

/// The tunnelling detector (see this module's docs).
#[derive(Debug)]
pub struct Tunnel {
    config: TunnelConfig,
    window: i64,
    pending: Vec<Obs>,
    keys: AHashMap<u64, Key>,
    newest: i64,
    sweep: Sweep,
    stats: StatefulStats,
}

/// Most events kept per key for the window's sums (older ones still count in `subs`).
const MAX_EVENTS: usize = 4096;

impl Tunnel {
    /// A detector with these settings.
    pub fn new(config: TunnelConfig) -> Self {
        Tunnel {
            window: micros(config.window_secs).max(1),
            config,
            pending: Vec::new(),
            keys: AHashMap::new(),
            newest: i64::MIN,
            sweep: Sweep::default(),
            stats: StatefulStats::default(),
        }
    }

    /// What state is kept per: the registered domain, and the client for
    /// [`KeyBy::ClientDomain`].
    pub fn key_fields(config: &TunnelConfig) -> &'static [KeyField] {
        match config.key_by {
            KeyBy::Domain => &[KeyField::RegisteredDomain],
            KeyBy::ClientDomain => &[KeyField::Client, KeyField::RegisteredDomain],
        }
    }

    /// The key of an event (see [`Tunnel::key_fields`]); `None` for names with nothing
    /// below the registered domain, or no name.
    pub fn key(&self, event: &DnsEvent) -> Option<u64> {
        if event.qname.len() <= event.domain_key().len() {
            return None;
        }
        Some(event.key_hash(Self::key_fields(&self.config)))
    }

    /// Its settings.
    pub fn config(&self) -> &TunnelConfig {
        &self.config
    }

    /// Buffers one event of the current epoch.
    pub fn observe(&mut self, event: &DnsEvent) {
        let Some(key) = self.key(event) else { return };
        self.stats.observed += 1;
        let rd = event.domain_key();
        let sub = &event.qname[..event.qname.len() - rd.len()];
        let sub = sub.strip_suffix('.').unwrap_or(sub);
        self.pending.push(Obs {
            ts: event.ts,
            key,
            sub_hash: key_hash(&[sub.as_bytes()]),
            sub_len: sub.len() as u16,
            entropy: entropy(sub.as_bytes()) as f32,
            // TXT, NULL, CNAME, ANY.
            special: matches!(event.qtype, 16 | 10 | 5 | 255),
            client: event.client,
            client_hash: event.key_hash(&[KeyField::Client]),
            qname: event.qname.as_str().into(),
            domain_len: rd.len() as u16,
        });
    }

    /// Applies the epoch's events in canonical order and appends alerts to `out`.
    pub fn end_epoch(&mut self, out: &mut Vec<Alert>) -> usize {
        let mut pending = std::mem::take(&mut self.pending);
        // Within a tie, client-less events (the server's own recursion, repeating a
        // client's name) come after the client's, which then asked the name first.
        pending.sort_by(|a, b| {
            let order = |o: &Obs| (o.ts, o.key, o.sub_hash, o.client.is_none(), o.client);
            order(a)
                .cmp(&order(b))
                .then_with(|| (&a.qname, a.special).cmp(&(&b.qname, b.special)))
        });
        let before = out.len();
        for obs in pending.drain(..) {
            self.apply(obs, out);
        }
        self.pending = pending;
        self.expire();
        self.stats.alerts += (out.len() - before) as u64;
        self.stats.keys = self.keys.len() as u64;
        out.len() - before
    }

    fn apply(&mut self, obs: Obs, out: &mut Vec<Alert>) {
        self.newest = self.newest.max(obs.ts);
        let domain_start = obs.qname.len() - usize::from(obs.domain_len);
        let k = self.keys.entry(obs.key).or_insert_with(|| Key {
            client: match self.config.key_by {
                KeyBy::Domain => None,
                KeyBy::ClientDomain => obs.client,
            },
            domain: obs.qname[domain_start..].into(),
            events: VecDeque::new(),
            subs: AHashMap::new(),
            clients: AHashMap::new(),
            clients_trimmed: i64::MIN,
            bytes: 0,
            entropy_sum: 0.0,
            special: 0,
            last: obs.ts,
            cooldown_until: i64::MIN,
            example: obs.qname.clone(),
        });
        k.last = k.last.max(obs.ts);
        let horizon = k.last - self.window;
        while k.events.front().is_some_and(|e| e.0 <= horizon) || k.events.len() >= MAX_EVENTS {
            if let Some((_, len, ent, special, new)) = k.events.pop_front() {
                if new {
                    k.bytes -= u64::from(len);
                    k.special -= usize::from(special);
                }
                k.entropy_sum -= f64::from(ent);
            }
        }
        if k.subs.len() >= MAX_SUBDOMAINS {
            k.subs.retain(|_, &mut t| t > horizon);
        }
        // New: not asked in the window (a saturated map counts every unknown one as new).
        let new = k.subs.get(&obs.sub_hash).is_none_or(|&t| t <= horizon);
        if k.subs.len() < MAX_SUBDOMAINS || k.subs.contains_key(&obs.sub_hash) {
            k.subs.insert(obs.sub_hash, obs.ts);
        }
        if k.clients.len() >= MAX_CLIENTS
            && obs.ts >= k.clients_trimmed.saturating_add(self.window / 16)
        {
            k.clients.retain(|_, c| c.0 > horizon);
            k.clients_trimmed = obs.ts;
        }
        // Events without a client are the server's own recursion (a Windows log's upstream
        // lines): they are no client, and would take the credit of the client they repeat.
        if obs.client.is_some()
            && (k.clients.len() < MAX_CLIENTS || k.clients.contains_key(&obs.client_hash))
        {
            let c = k
                .clients
                .entry(obs.client_hash)
                .or_insert((obs.ts, 0, obs.client));
            // A client back after a window starts again.
            if c.0 <= horizon {
                c.1 = 0;
            }
            c.0 = obs.ts;
            c.1 += u32::from(new);
        }
        k.events
            .push_back((obs.ts, obs.sub_len, obs.entropy, obs.special, new));
        if new {
            k.bytes += u64::from(obs.sub_len);
            k.special += usize::from(obs.special);
        }
        k.entropy_sum += f64::from(obs.entropy);
        if obs.qname.len() > k.example.len() {
            k.example = obs.qname.clone();
        }
        if obs.ts < k.cooldown_until {
            return;
        }
        let c = &self.config;
        let unique = k.subs.values().filter(|&&t| t > horizon).count();
        let n = k.events.len().max(1) as f64;
        let mean_len = k.events.iter().map(|e| f64::from(e.1)).sum::<f64>() / n;
        let mean_entropy = k.entropy_sum / n;
        let encoded =
            unique >= c.min_unique && mean_len >= c.min_mean_len && mean_entropy >= c.min_entropy;
        let volume = k.bytes > c.max_bytes && unique >= c.min_unique / 2;
        let special = k.special >= c.min_special;
        if !(encoded || volume || special) {
            return;
        }
        k.cooldown_until = obs.ts + self.window;
        let mut why = Vec::new();
        if encoded {
            why.push(format!(
                "{unique} distinct subdomains of mean length {mean_len:.0} and entropy \
                 {mean_entropy:.1} bits per character"
            ));
        }
        if volume {
            why.push(format!("{} bytes of new query names", k.bytes));
        }
        if special {
            why.push(format!(
                "{} TXT/NULL/CNAME/ANY queries for new names",
                k.special
            ));
        }
        let clients = k.clients.values().filter(|c| c.0 > horizon).count();
        let crowd = c.many_clients > 0 && clients >= c.many_clients.min(MAX_CLIENTS);
        // Per domain, the alert names the client that asked most of the new names when it
        // asked a quarter of them or more: that is the host to look at (a tunnel's source,
        // one of a storm's few).
        let top = k
            .clients
            .iter()
            .filter(|(_, c)| c.0 > horizon)
            .max_by_key(|(h, c)| (c.1, std::cmp::Reverse(**h)))
            .map(|(_, c)| *c);
        let client = k.client.or_else(|| {
            top.filter(|c| 4 * c.1 as usize >= unique.min(MAX_SUBDOMAINS))
                .and_then(|c| c.2)
        });
        let who = match client {
            Some(ip) => format!(" from {ip}"),
            None => String::new(),
        };
        let (severity, verdict) = if crowd {
            (
                Severity::Low.min(c.severity),
                format!(
                    "but {clients}{} distinct clients asked it, as they ask a CDN or a SaaS; a \
                     tunnel is one host or a few",
                    if clients >= MAX_CLIENTS {
                        " or more"
                    } else {
                        ""
                    }
                ),
            )
        } else {
            (
                c.severity,
                "data carried in query names (DNS tunnel or exfiltration)".to_owned(),
            )
        };
        let reason = format!(
            "{} received {} in {} minutes{who}: {verdict}",
            k.domain,
            why.join(", "),
            c.window_secs / 60
        );
        let score = 60 + u8::from(encoded) * 15 + u8::from(volume) * 10 + u8::from(special) * 10
            - if crowd { 30 } else { 0 };
        out.push(alert(
            DETECTOR,
            obs.ts,
            client,
            &k.domain,
            &k.domain,
            severity,
            score,
            reason,
            vec![
                ev("unique_subdomains", unique),
                ev("queries", k.events.len()),
                ev("special_queries", k.special),
                ev("bytes", k.bytes as usize),
                ev("mean_subdomain_len", (mean_len * 10.0).round() / 10.0),
                ev("mean_entropy", (mean_entropy * 100.0).round() / 100.0),
                ev("clients", clients),
                ev("window_secs", c.window_secs as usize),
                ev("example", &*k.example),
            ],
        ));
    }

    fn expire(&mut self) {
        let (expired, evicted) = self.sweep.forget_idle(
            &mut self.keys,
            self.newest,
            self.window,
            self.window.saturating_mul(2),
            self.config.max_keys,
            |k| k.last,
        );
        self.stats.expired += expired;
        self.stats.evicted += evicted;
    }

    /// Counters so far.
    pub fn stats(&self) -> StatefulStats {
        self.stats
    }
}

impl Tunnel {
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

    fn event(ts_secs: i64, qname: &str, qtype: u16) -> DnsEvent {
        let mut e = DnsEvent {
            ts: ts_secs * 1_000_000,
            client: "10.0.0.9".parse().ok(),
            qtype,
            ..DnsEvent::default()
        };
        e.set_qname(qname).expect("name");
        e
    }

    #[test]
    fn base32_tunnel_fires_cdn_does_not() {
        let mut t = Tunnel::new(TunnelConfig::default());
        let mut out = Vec::new();
        for i in 0..30 {
            let label = format!(
                "{:x}{}",
                i * 7919 + 12345,
                "mzxw6ytboi4dsnzsgezdgnbvgy3tqojqgaydaidbeb3gk4tz"
            );
            t.observe(&event(i, &format!("{label}.t.tunnel.example"), 16));
            t.observe(&event(i, &format!("img{}.cdn.example", i % 40), 1));
        }
        t.end_epoch(&mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].registered_domain, "tunnel.example");
        assert_eq!(
            out[0].client,
            "10.0.0.9".parse().ok(),
            "the host behind the new names"
        );
        assert!(
            out[0].reason.contains("distinct subdomains"),
            "{}",
            out[0].reason
        );
        // The cooldown holds for a window.
        t.observe(&event(
            40,
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.t.tunnel.example",
            16,
        ));
        assert_eq!(t.end_epoch(&mut out), 0);
    }

    #[test]
    fn popular_domains_asked_by_many_clients_are_not_tunnels() {
        let mut t = Tunnel::new(TunnelConfig::default());
        let mut out = Vec::new();
        // Every client asks the same few host names, TXT too, all day long.
        for i in 0..3000i64 {
            let mut e = event(
                i / 5,
                &format!(
                    "{}.popular.example",
                    [
                        "www", "api", "static", "img", "m", "cdn", "mail", "edge", "assets", "ws"
                    ][(i % 10) as usize]
                ),
                if i % 7 == 0 { 16 } else { 1 },
            );
            e.client = format!("10.0.{}.{}", i % 7, i % 200).parse().ok();
            t.observe(&e);
        }
        t.end_epoch(&mut out);
        assert!(out.is_empty(), "{out:?}");
        // Data under a domain every client asks: still said, but low.
        for i in 0..60i64 {
            let mut e = event(
                700 + i,
                &format!("{:016x}{:016x}.popular.example", i * 31, i * 17),
                16,
            );
            e.client = format!("10.0.{}.{}", i % 7, i % 200).parse().ok();
            t.observe(&e);
        }
        t.end_epoch(&mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].severity, Severity::Low);
        assert!(
            out[0].reason.contains("distinct clients asked it"),
            "{}",
            out[0].reason
        );
    }

    #[test]
    fn order_within_an_epoch_does_not_matter() {
        let events: Vec<DnsEvent> = (0..60)
            .map(|i| {
                event(
                    i / 3,
                    &format!("{:016x}{:016x}.x.example", i * 31, i * 17),
                    16,
                )
            })
            .collect();
        let run = |order: &[usize]| {
            let mut t = Tunnel::new(TunnelConfig::default());
            let mut out = Vec::new();
            for &i in order {
                t.observe(&events[i]);
            }
            t.end_epoch(&mut out);
            out
        };
        let forward: Vec<usize> = (0..60).collect();
        let backward: Vec<usize> = (0..60).rev().collect();
        assert_eq!(run(&forward), run(&backward));
        assert_eq!(run(&forward).len(), 1);
    }
}
