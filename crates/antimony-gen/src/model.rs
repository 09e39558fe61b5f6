//! The traffic model: who asks what, when, and what the server answers.
//!
//! Background traffic is popular names drawn by Zipf rank from thousands of clients (some
//! busier than others, also Zipf). Into it the model mixes what a CERT looks for:
//!
//! - **DGA bursts**: an infected client asks for 20 to 300 consecutive names of one family,
//!   almost all NXDOMAIN (one in forty resolves: the live server);
//! - **block-listed names** from a small set of infected clients, and **lookalikes** of brands;
//! - a **DNS tunnel**: sessions of TXT queries `<base32 data>.<sequence>.t.tunnel.corp.qa`;
//! - **NXDOMAIN storms** ("water torture"): random labels under a popular name;
//! - **beaconing**: a few clients ask for their C2 name at a fixed period with 2% jitter;
//! - **slow infections** (only when [`ModelConfig::slow_infections`] asks for them): a client
//!   asks a handful of names of one DGA family every 15 to 30 minutes, too few at a time for
//!   a burst detector.
//!
//! The model knows which clients it infected ([`Model::infected`], [`Model::beacon_clients`],
//! [`Model::slow_infected`]) and tags every transaction with its [`Kind`], which is the ground
//! truth of the in-stream evaluation (`antimony eval`).
//!
//! Time advances by exponential gaps at `qps` queries per second (a Poisson arrival
//! process); a response follows its query by a few hundred microseconds (cache hit) or a few
//! milliseconds (the server asked upstream), so responses may be logged slightly out of order,
//! as real servers do.

use antimony_core::text::push_int;
use antimony_dns::codes::{rcode, rtype as qtype};

use crate::data::Workload;
use crate::rng::{AliasTable, Rng};

/// What part of the model a transaction comes from (for statistics and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Ordinary traffic.
    Benign,
    /// A name of a DGA burst.
    Dga,
    /// A block-listed name.
    Blocklisted,
    /// A lookalike of a brand.
    Lookalike,
    /// A tunnel query.
    Tunnel,
    /// A random name of an NXDOMAIN storm.
    Storm,
    /// A beacon to a C2 name.
    Beacon,
    /// A name of a slow infection's burst.
    SlowDga,
    /// A latency probe (paced runs only).
    Probe,
}

/// One DNS exchange between a client and the server: the query, and its response.
#[derive(Clone, Debug)]
pub struct Transaction {
    /// When the query arrived, microseconds since the Unix epoch.
    pub ts: i64,
    /// Microseconds until the response left.
    pub rtt: u32,
    /// Client IPv4 address.
    pub client: u32,
    /// Client source port.
    pub port: u16,
    /// DNS message id.
    pub id: u16,
    /// Question type.
    pub qtype: u16,
    /// Response code.
    pub rcode: u8,
    /// The server asked upstream (a cache miss): the Windows log shows two more lines.
    pub upstream: Option<(u32, u16)>,
    /// The question name, lower case, no trailing dot.
    pub name: Vec<u8>,
    /// A number the answer's data is drawn from (addresses, TXT data).
    pub answer_seed: u64,
    /// Where in the model it comes from.
    pub kind: Kind,
}

/// Knobs of the model.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of clients.
    pub clients: u32,
    /// Mean queries per second of simulated time.
    pub qps: f64,
    /// Time of the first query, microseconds since the Unix epoch.
    pub start: i64,
    /// Slow infections: clients that each ask 3 to 6 names of one DGA family, a few seconds
    /// apart, every 15 to 30 minutes (default 0, which leaves every other draw unchanged).
    pub slow_infections: u32,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            seed: 1,
            clients: 5000,
            qps: 5000.0,
            // 2026-11-26T00:00:00Z
            start: 1_795_651_200_000_000,
            slow_infections: 0,
        }
    }
}

/// The resolver's own address (BIND's `(server)`, the pcap's server side).
pub const SERVER: u32 = u32::from_be_bytes([10, 20, 0, 1]);
/// The client that sends latency probes: outside the client population.
pub const PROBE_CLIENT: u32 = u32::from_be_bytes([10, 99, 0, 1]);
/// The zone the tunnel carries data under.
pub const TUNNEL_ZONE: &str = "t.tunnel.corp.qa";
/// Upstream resolvers the server forwards cache misses to.
const UPSTREAMS: [u32; 2] = [
    u32::from_be_bytes([8, 8, 8, 8]),
    u32::from_be_bytes([1, 1, 1, 1]),
];
/// Everyday host labels put before popular names.
const HOST_LABELS: [&str; 10] = [
    "www", "api", "cdn", "static", "img", "m", "mail", "edge", "assets", "ws",
];
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const ALNUM: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

// Shares of all transactions (per transaction probabilities of starting an episode are the
// share divided by the mean episode length and the episode's density).
const P_BLOCKLISTED: f64 = 0.0005;
const P_LOOKALIKE: f64 = 0.0005;
const DGA_SHARE: f64 = 0.003;
const DGA_DENSITY: f64 = 0.2;
const TUNNEL_SHARE: f64 = 0.002;
const TUNNEL_DENSITY: f64 = 0.1;
const STORM_SHARE: f64 = 0.005;
const STORM_DENSITY: f64 = 0.3;

#[derive(Clone, Debug, Default)]
struct Episode {
    remaining: u32,
    client: u32,
    /// DGA: next index and the family's range; storm: the victim's benign index.
    cursor: usize,
    start: usize,
    end: usize,
    sequence: u32,
}

/// A slow infection: a few DGA look-ups per burst, a burst every 15 to 30 minutes.
#[derive(Clone, Debug)]
struct Slow {
    client: u32,
    /// When its next look-up is due.
    next: i64,
    /// Look-ups left in the current burst.
    left: u32,
    /// Next name and the family's range in `Workload::dga`.
    cursor: usize,
    start: usize,
    end: usize,
}

/// Look-ups per slow burst, and the pause between bursts (microseconds).
const SLOW_BURST: (u64, u64) = (3, 6);
const SLOW_PAUSE: (u64, u64) = (15 * 60_000_000, 30 * 60_000_000);
/// Seconds between the look-ups of one slow burst.
const SLOW_GAP: (u64, u64) = (1_000_000, 10_000_000);

#[derive(Clone, Debug)]
struct Beacon {
    next: i64,
    period: i64,
    client: u32,
    name: Vec<u8>,
}

/// Draws transactions; see the [module](self) documentation.
pub struct Model<'w> {
    data: &'w Workload,
    rng: Rng,
    clients: Vec<u32>,
    client_weights: AliasTable,
    popular: AliasTable,
    infected: Vec<u32>,
    now: f64,
    mean_gap: f64,
    dga: Episode,
    tunnel: Episode,
    storm: Episode,
    beacons: Vec<Beacon>,
    next_beacon: i64,
    slow: Vec<Slow>,
    next_slow: i64,
    /// Draws of the slow infections: their own stream, so they shift no other draw.
    slow_rng: Rng,
    tx: Transaction,
}

/// The `i`th client address: 10.20.0.10 upwards, 240 hosts per /24, skipping .0 to .9 and
/// .250 to .255.
fn client_address(i: u32) -> u32 {
    let host = 10 + i % 240;
    let net = i / 240;
    u32::from_be_bytes([10, 20 + (net >> 8) as u8, net as u8, host as u8])
}

impl<'w> Model<'w> {
    /// A model over these lists (which must pass [`Workload::check`]).
    pub fn new(data: &'w Workload, config: &ModelConfig) -> Self {
        let mut rng = Rng::new(config.seed);
        let clients: Vec<u32> = (0..config.clients.max(1)).map(client_address).collect();
        let client_weights = AliasTable::zipf(clients.len(), 0.7);
        let popular = AliasTable::zipf(data.benign.len(), 1.0);
        let mut setup = rng.fork(1);
        let infected: Vec<u32> = (0..(clients.len() / 100).max(3))
            .map(|_| clients[setup.below(clients.len())])
            .collect();
        let start = config.start;
        let beacons: Vec<Beacon> = (0..8)
            .map(|i| {
                let period = setup.between(30, 300) as i64 * 1_000_000;
                let name = if i % 2 == 0 {
                    data.blocklist
                        .get(setup.below(data.blocklist.len()))
                        .to_vec()
                } else {
                    data.dga.get(setup.below(data.dga.len())).to_vec()
                };
                Beacon {
                    next: start + setup.between(0, period as u64) as i64,
                    period,
                    client: clients[setup.below(clients.len())],
                    name,
                }
            })
            .collect();
        let next_beacon = beacons.iter().map(|b| b.next).min().unwrap_or(i64::MAX);
        let mut slow_rng = setup.fork(2);
        let mut slow: Vec<Slow> = Vec::new();
        for _ in 0..config.slow_infections {
            // A client with no other part in the model, so its alerts are its slow burst's
            // alone; give up on that after a few tries in a tiny population.
            let taken = |c: &u32| {
                infected.contains(c)
                    || beacons.iter().any(|b| b.client == *c)
                    || slow.iter().any(|s| s.client == *c)
            };
            let mut client = clients[slow_rng.below(clients.len())];
            for _ in 0..64 {
                if !taken(&client) {
                    break;
                }
                client = clients[slow_rng.below(clients.len())];
            }
            let Some(family) = data.families.get(slow_rng.below(data.families.len())) else {
                break;
            };
            slow.push(Slow {
                client,
                // The first burst comes within the first pause.
                next: start + slow_rng.between(0, SLOW_PAUSE.0) as i64,
                left: slow_rng.between(SLOW_BURST.0, SLOW_BURST.1) as u32,
                cursor: family.range.start + slow_rng.below(family.range.len()),
                start: family.range.start,
                end: family.range.end,
            });
        }
        let next_slow = slow.iter().map(|s| s.next).min().unwrap_or(i64::MAX);
        Model {
            data,
            rng,
            clients,
            client_weights,
            popular,
            infected,
            now: start as f64,
            mean_gap: 1e6 / config.qps.max(1e-3),
            dga: Episode::default(),
            tunnel: Episode::default(),
            storm: Episode::default(),
            beacons,
            next_beacon,
            slow,
            next_slow,
            slow_rng,
            tx: Transaction {
                ts: start,
                rtt: 0,
                client: 0,
                port: 0,
                id: 0,
                qtype: qtype::A,
                rcode: rcode::NOERROR,
                upstream: None,
                name: Vec::with_capacity(256),
                answer_seed: 0,
                kind: Kind::Benign,
            },
        }
    }

    /// The next transaction. With `clock`, its query time is that (a paced run stamps
    /// records with the wall clock); otherwise simulated time advances.
    pub fn next(&mut self, clock: Option<i64>) -> &Transaction {
        let ts = match clock {
            Some(now) => {
                self.now = now as f64;
                now
            }
            None => {
                self.now += self.rng.exponential(self.mean_gap);
                self.now as i64
            }
        };
        let rng = &mut self.rng;
        let r = rng.next_u64();
        let tx = &mut self.tx;
        tx.ts = ts;
        tx.port = (r >> 48) as u16 | 1024;
        tx.id = (r >> 32) as u16;
        tx.answer_seed = r;
        tx.qtype = qtype::A;
        tx.rcode = rcode::NOERROR;
        tx.name.clear();
        // Unique names (DGA, tunnel, storm) always miss the cache.
        let mut miss = true;

        if ts >= self.next_beacon {
            // `next_beacon` is finite only when there are beacons.
            let Some(beacon) = self.beacons.iter_mut().min_by_key(|b| b.next) else {
                unreachable!("a beacon is due, so there is one")
            };
            // 2% jitter around the period, the way implants hide their rhythm.
            let jitter = (rng.unit() - 0.5) * 0.04 * beacon.period as f64;
            beacon.next += beacon.period + jitter as i64;
            tx.client = beacon.client;
            tx.name.extend_from_slice(&beacon.name);
            tx.kind = Kind::Beacon;
            miss = false;
            self.next_beacon = self
                .beacons
                .iter()
                .map(|b| b.next)
                .min()
                .unwrap_or(i64::MAX);
        } else if ts >= self.next_slow {
            // `next_slow` is finite only when there are slow infections.
            let Some(slow) = self.slow.iter_mut().min_by_key(|s| s.next) else {
                unreachable!("a slow infection is due, so there is one")
            };
            let srng = &mut self.slow_rng;
            tx.client = slow.client;
            tx.name.extend_from_slice(self.data.dga.get(slow.cursor));
            slow.cursor = if slow.cursor + 1 >= slow.end {
                slow.start
            } else {
                slow.cursor + 1
            };
            tx.rcode = if srng.below(40) == 0 {
                rcode::NOERROR
            } else {
                rcode::NXDOMAIN
            };
            tx.kind = Kind::SlowDga;
            slow.left = slow.left.saturating_sub(1);
            if slow.left == 0 {
                slow.left = srng.between(SLOW_BURST.0, SLOW_BURST.1) as u32;
                slow.next += srng.between(SLOW_PAUSE.0, SLOW_PAUSE.1) as i64;
            } else {
                slow.next += srng.between(SLOW_GAP.0, SLOW_GAP.1) as i64;
            }
            self.next_slow = self.slow.iter().map(|s| s.next).min().unwrap_or(i64::MAX);
        } else if self.dga.remaining > 0 && rng.chance(DGA_DENSITY) {
            let e = &mut self.dga;
            e.remaining -= 1;
            tx.client = e.client;
            tx.name.extend_from_slice(self.data.dga.get(e.cursor));
            e.cursor = if e.cursor + 1 >= e.end {
                e.start
            } else {
                e.cursor + 1
            };
            tx.rcode = if rng.below(40) == 0 {
                rcode::NOERROR
            } else {
                rcode::NXDOMAIN
            };
            tx.kind = Kind::Dga;
        } else if self.tunnel.remaining > 0 && rng.chance(TUNNEL_DENSITY) {
            let e = &mut self.tunnel;
            e.remaining -= 1;
            e.sequence = e.sequence.wrapping_add(1);
            tx.client = e.client;
            tx.qtype = qtype::TXT;
            for _ in 0..52 {
                tx.name.push(BASE32[rng.below(32)]);
            }
            tx.name.push(b'.');
            push_hex(&mut tx.name, e.sequence);
            tx.name.push(b'.');
            tx.name.extend_from_slice(TUNNEL_ZONE.as_bytes());
            tx.kind = Kind::Tunnel;
        } else if self.storm.remaining > 0 && rng.chance(STORM_DENSITY) {
            let e = &mut self.storm;
            e.remaining -= 1;
            // Storms come from a few clients at once (a botnet's share behind one resolver).
            tx.client = self.infected[(e.client as usize + rng.below(3)) % self.infected.len()];
            let len = rng.between(8, 16) as usize;
            for _ in 0..len {
                tx.name.push(ALNUM[rng.below(36)]);
            }
            tx.name.push(b'.');
            tx.name.extend_from_slice(self.data.benign.get(e.cursor));
            tx.rcode = rcode::NXDOMAIN;
            tx.kind = Kind::Storm;
        } else {
            let u = rng.unit();
            let mut edge = P_BLOCKLISTED;
            if u < edge {
                tx.client = self.infected[rng.below(self.infected.len())];
                tx.name.extend_from_slice(
                    self.data
                        .blocklist
                        .get(rng.below(self.data.blocklist.len())),
                );
                if rng.below(10) == 0 {
                    tx.rcode = rcode::NXDOMAIN;
                }
                tx.kind = Kind::Blocklisted;
                return &self.tx;
            }
            edge += P_LOOKALIKE;
            if u < edge {
                tx.client = self.clients[self.client_weights.sample(rng)];
                tx.name.extend_from_slice(
                    self.data
                        .lookalikes
                        .get(rng.below(self.data.lookalikes.len())),
                );
                if rng.below(5) < 2 {
                    tx.rcode = rcode::NXDOMAIN;
                }
                tx.kind = Kind::Lookalike;
                return &self.tx;
            }
            // Episode starts take disjoint slices of the same draw: a burst of mean length L
            // started with probability SHARE / L per transaction makes SHARE of the traffic.
            let dga = DGA_SHARE / 160.0;
            if (edge..edge + dga).contains(&u) && self.dga.remaining == 0 {
                let family = &self.data.families[rng.below(self.data.families.len())];
                self.dga = Episode {
                    remaining: rng.between(20, 300) as u32,
                    client: self.infected[rng.below(self.infected.len())],
                    cursor: family.range.start + rng.below(family.range.len()),
                    start: family.range.start,
                    end: family.range.end,
                    sequence: 0,
                };
            }
            edge += dga;
            let tunnel = TUNNEL_SHARE / 150.0;
            if (edge..edge + tunnel).contains(&u) && self.tunnel.remaining == 0 {
                self.tunnel = Episode {
                    remaining: rng.between(50, 250) as u32,
                    client: self.infected[rng.below(self.infected.len())],
                    sequence: rng.next_u64() as u32,
                    ..Episode::default()
                };
            }
            edge += tunnel;
            let storm = STORM_SHARE / 600.0;
            if (edge..edge + storm).contains(&u) && self.storm.remaining == 0 {
                self.storm = Episode {
                    remaining: rng.between(200, 1000) as u32,
                    client: rng.below(self.infected.len()) as u32,
                    cursor: rng.below(self.data.benign.len().min(1000)),
                    ..Episode::default()
                };
            }
            self.benign();
            // One in five popular names is not in the server's cache.
            miss = self.rng.below(5) == 0;
        }

        let rng = &mut self.rng;
        let tx = &mut self.tx;
        if miss {
            tx.rtt = rng.between(2_000, 40_000) as u32;
            tx.upstream = Some((UPSTREAMS[rng.below(2)], rng.next_u64() as u16));
        } else {
            tx.rtt = rng.between(80, 600) as u32;
            tx.upstream = None;
        }
        &self.tx
    }

    /// Fills `self.tx` with ordinary traffic.
    fn benign(&mut self) {
        let rng = &mut self.rng;
        let tx = &mut self.tx;
        tx.kind = Kind::Benign;
        tx.client = self.clients[self.client_weights.sample(rng)];
        let t = rng.below(100);
        if t < 2 {
            // Reverse lookups of internal hosts.
            tx.qtype = qtype::PTR;
            let octets = self.clients[rng.below(self.clients.len())].to_be_bytes();
            for octet in octets.iter().rev() {
                push_int(&mut tx.name, u32::from(*octet));
                tx.name.push(b'.');
            }
            tx.name.extend_from_slice(b"in-addr.arpa");
            return;
        }
        tx.qtype = match t {
            2..=3 => qtype::MX,
            4 => qtype::TXT,
            5..=10 => qtype::HTTPS,
            11..=32 => qtype::AAAA,
            _ => qtype::A,
        };
        if rng.below(100) < 35 {
            tx.name
                .extend_from_slice(HOST_LABELS[rng.below(HOST_LABELS.len())].as_bytes());
            tx.name.push(b'.');
        }
        tx.name
            .extend_from_slice(self.data.benign.get(self.popular.sample(rng)));
        match rng.below(200) {
            0 | 1 => tx.rcode = rcode::NXDOMAIN,
            2 => tx.rcode = rcode::SERVFAIL,
            _ => {}
        }
    }

    /// The clients of the DGA bursts, block-listed names, tunnel and NXDOMAIN storms.
    pub fn infected(&self) -> &[u32] {
        &self.infected
    }

    /// The clients that beacon to a C2 name.
    pub fn beacon_clients(&self) -> Vec<u32> {
        self.beacons.iter().map(|b| b.client).collect()
    }

    /// The clients of the slow infections.
    pub fn slow_infected(&self) -> Vec<u32> {
        self.slow.iter().map(|s| s.client).collect()
    }

    /// A latency probe: a unique name under Carbanak's `update-java.net` (block-listed and
    /// caught by the keyword rules) whose first label carries `stamp` (nanoseconds since the
    /// Unix epoch, the wall-clock time the line is written), so the alert names its own birth.
    pub fn probe(&mut self, ts: i64, stamp: u64) -> &Transaction {
        let tx = &mut self.tx;
        tx.ts = ts;
        tx.rtt = 100;
        tx.client = PROBE_CLIENT;
        tx.port = 40_000;
        tx.id = stamp as u16;
        tx.qtype = qtype::A;
        tx.rcode = rcode::NOERROR;
        tx.upstream = None;
        tx.name.clear();
        tx.name.push(b't');
        push_int(&mut tx.name, stamp);
        tx.name.extend_from_slice(b".update-java.net");
        tx.answer_seed = stamp;
        tx.kind = Kind::Probe;
        &self.tx
    }
}

/// Appends `n` in lower-case hexadecimal, no leading zeros.
fn push_hex(out: &mut Vec<u8>, n: u32) {
    let digits = format_hex(n);
    let skip = digits.iter().take_while(|&&d| d == b'0').count().min(7);
    out.extend_from_slice(&digits[skip..]);
}

fn format_hex(n: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = b"0123456789abcdef"[(n >> (28 - 4 * i) & 0xf) as usize];
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    use crate::tests::small_workload;

    #[test]
    fn every_kind_shows_up_in_realistic_shares() {
        let data = small_workload();
        let mut model = Model::new(&data, &ModelConfig::default());
        let mut kinds: HashMap<Kind, u32> = HashMap::new();
        let mut last = 0;
        for _ in 0..600_000 {
            let tx = model.next(None);
            assert!(tx.ts >= last, "query times advance");
            last = tx.ts;
            assert!(
                std::str::from_utf8(&tx.name).is_ok_and(|n| crate::data::clean_name(n).is_some()),
                "{:?}",
                String::from_utf8_lossy(&tx.name)
            );
            *kinds.entry(tx.kind).or_default() += 1;
        }
        let share = |k: Kind| f64::from(kinds.get(&k).copied().unwrap_or(0)) / 600_000.0;
        assert!(share(Kind::Benign) > 0.97, "{kinds:?}");
        for kind in [
            Kind::Dga,
            Kind::Blocklisted,
            Kind::Lookalike,
            Kind::Tunnel,
            Kind::Storm,
            Kind::Beacon,
        ] {
            assert!(share(kind) > 0.0, "{kind:?} missing: {kinds:?}");
        }
        assert!((0.0015..0.006).contains(&share(Kind::Dga)), "{kinds:?}");
    }

    #[test]
    fn slow_infections_ask_a_handful_of_names_per_burst_every_quarter_hour_or_more() {
        let data = small_workload();
        let config = ModelConfig {
            clients: 500,
            qps: 50.0,
            slow_infections: 4,
            ..ModelConfig::default()
        };
        let mut model = Model::new(&data, &config);
        let slow = model.slow_infected();
        assert_eq!(slow.len(), 4);
        assert!(slow.iter().all(|c| !model.infected().contains(c)));
        let mut times: HashMap<u32, Vec<i64>> = HashMap::new();
        // Two hours of traffic.
        for _ in 0..(50 * 7200) {
            let tx = model.next(None);
            if tx.kind == Kind::SlowDga {
                assert!(slow.contains(&tx.client));
                times.entry(tx.client).or_default().push(tx.ts);
            }
        }
        assert_eq!(times.len(), 4, "every slow infection asked");
        for ts in times.values() {
            // Bursts are look-ups less than 10 s apart; between bursts, 15 to 30 minutes.
            let mut bursts = vec![1u32];
            for pair in ts.windows(2) {
                let gap = pair[1] - pair[0];
                if gap <= 10_000_000 {
                    *bursts.last_mut().expect("a burst") += 1;
                } else {
                    assert!((15 * 60_000_000..=31 * 60_000_000).contains(&gap), "{gap}");
                    bursts.push(1);
                }
            }
            assert!(bursts.len() >= 4, "{bursts:?}");
            assert!(bursts.iter().all(|n| (3..=6).contains(n)), "{bursts:?}");
        }
        // Without them, no draw changes: the default model asks none.
        let mut plain = Model::new(&data, &ModelConfig::default());
        assert!(plain.slow_infected().is_empty());
        assert!((0..100_000).all(|_| plain.next(None).kind != Kind::SlowDga));
    }
}
