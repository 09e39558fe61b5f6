//! The `dns_stateful` bolt: detectors that need evidence over time, per key: tunnelling,
//! NXDOMAIN bursts, beaconing, newly observed domains, weak signals corroborated per client.
//!
//! Each detector keeps state per key and declares the event fields of its key (see
//! [`antimony_detect::stateful`]); the bolt declares the fields its detectors share, and the
//! topology must group its input by them (the engine refuses it otherwise). NXDOMAIN bursts
//! and corroboration are per client and the others per registered domain, so a topology runs two
//! `dns_stateful` bolts. Decisions are made when an epoch ends, in a canonical order, so the
//! alerts are the same on any number of workers.
//!
//! The newly-observed-domain detector remembers first-seen times across runs when
//! `state_path` is set ([`nod_state`]: saved at most once a minute and at the end of the
//! run).

pub mod config;
pub mod nod_state;

use std::path::Path;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use antimony_core::metrics::{Counter, CounterMetric, Gauge, GaugeMetric, Label};
use antimony_core::{Bolt, Context, Emitter, Restored, State};
use antimony_detect::Alert;
use antimony_detect::stateful::{
    Beacon, Corroborate, KeyedDetector, NewDomains, NxdomainBurst, StatefulStats, Tunnel,
};
use antimony_dns::DnsEvent;

pub use self::config::{DETECTORS, StatefulBoltConfig};
use self::nod_state::NodState;
use crate::record::{Tuple, event_key_hash};

/// How often the newly-observed-domain state is saved while running.
const SAVE_EVERY: Duration = Duration::from_secs(60);

/// Events a stateful detector observed.
pub const OBSERVED: CounterMetric = CounterMetric::new(
    "antimony_stateful_events_observed_total",
    "Events a stateful detector observed (events without its key are not counted).",
);
/// Alerts a stateful detector raised.
pub const ALERTS: CounterMetric = CounterMetric::new(
    "antimony_stateful_alerts_total",
    "Alerts a stateful detector raised, before deduplication.",
);
/// Keys a stateful detector holds.
pub const KEYS: GaugeMetric = GaugeMetric::new(
    "antimony_stateful_keys",
    "Keys a stateful detector holds state for now.",
);
/// Keys forgotten after their window.
pub const EXPIRED: CounterMetric = CounterMetric::new(
    "antimony_stateful_keys_expired_total",
    "Keys a stateful detector forgot because they were idle for longer than its window.",
);
/// Keys evicted because of `max_keys`.
pub const EVICTED: CounterMetric = CounterMetric::new(
    "antimony_stateful_keys_evicted_total",
    "Keys a stateful detector evicted because of its max_keys cap (results may then depend on the number of workers).",
);

/// One detector's series.
struct Series {
    observed: Counter,
    alerts: Counter,
    keys: Gauge,
    expired: Counter,
    evicted: Counter,
    published: StatefulStats,
}

impl Series {
    fn register(ctx: &Context, detector: &'static str) -> Self {
        let label = [Label::Detector(detector)];
        Series {
            observed: ctx.counter(&OBSERVED, &label),
            alerts: ctx.counter(&ALERTS, &label),
            keys: ctx.gauge(&KEYS, &label),
            expired: ctx.counter(&EXPIRED, &label),
            evicted: ctx.counter(&EVICTED, &label),
            published: StatefulStats::default(),
        }
    }

    fn publish(&mut self, stats: StatefulStats) {
        let was = self.published;
        self.observed.add(stats.observed - was.observed);
        self.alerts.add(stats.alerts - was.alerts);
        self.expired.add(stats.expired - was.expired);
        self.evicted.add(stats.evicted - was.evicted);
        self.keys.set(i64::try_from(stats.keys).unwrap_or(i64::MAX));
        self.published = stats;
    }
}

/// Runs the chosen stateful detectors on the events of its keys.
pub struct StatefulBolt {
    /// Every chosen detector but `new_domain`, in a fixed order.
    keyed: Vec<Box<dyn KeyedDetector>>,
    /// `new_domain`, apart: its state is saved.
    new_domain: Option<NewDomains>,
    state: Option<NodState>,
    last_save: Instant,
    worker: usize,
    alerts: Vec<Alert>,
    series: Vec<Series>,
    /// What the input is grouped by (for the routing hashes of checkpointed keys).
    route_fields: Option<Vec<usize>>,
    /// Resumed from a checkpoint: its state wins over the `state_path` file's.
    restored: bool,
}

impl StatefulBolt {
    /// A bolt with these settings (checked by [`StatefulBoltConfig::key_fields`]); relative
    /// state paths are resolved against `base_dir`.
    pub fn new(config: &StatefulBoltConfig, base_dir: &Path) -> Self {
        let mut keyed: Vec<Box<dyn KeyedDetector>> = Vec::new();
        if config.runs("tunnel") {
            keyed.push(Box::new(Tunnel::new(config.tunnel.clone())));
        }
        if config.runs("nxdomain_burst") {
            keyed.push(Box::new(NxdomainBurst::new(config.nxdomain_burst.clone())));
        }
        if config.runs("beacon") {
            keyed.push(Box::new(Beacon::new(config.beacon.clone())));
        }
        if config.runs("corroboration") {
            keyed.push(Box::new(Corroborate::new(config.corroboration.clone())));
        }
        StatefulBolt {
            keyed,
            new_domain: config
                .runs("new_domain")
                .then(|| NewDomains::new(config.new_domain.clone())),
            state: config
                .state_path
                .as_deref()
                .map(|p| NodState::new(antimony_engine::registry::resolve_path(base_dir, p))),
            last_save: Instant::now(),
            worker: 0,
            alerts: Vec::new(),
            series: Vec::new(),
            route_fields: None,
            restored: false,
        }
    }

    /// Every detector, `new_domain` last.
    fn detectors(&mut self) -> impl Iterator<Item = &mut (dyn KeyedDetector + 'static)> {
        let new_domain = self
            .new_domain
            .iter_mut()
            .map(|d| d as &mut (dyn KeyedDetector + 'static));
        self.keyed.iter_mut().map(|d| &mut **d).chain(new_domain)
    }

    /// Writes the newly-observed-domain state; a failure is a dead letter naming the file.
    fn save(&mut self, out: &mut Emitter<'_, Tuple>) {
        let (Some(nod), Some(state)) = (&self.new_domain, &self.state) else {
            return;
        };
        if let Err((file, e)) = state.save(nod, self.worker) {
            out.dead_letter(
                Some(file.display().to_string()),
                format!("cannot save the newly-observed-domain state: {e}"),
                String::new(),
            );
        }
        self.last_save = Instant::now();
    }
}

impl Bolt<Tuple> for StatefulBolt {
    fn on_start(&mut self, ctx: &Context) {
        self.worker = ctx.worker;
        let names: Vec<&'static str> = self.detectors().map(|d| d.name()).collect();
        self.series = names
            .into_iter()
            .map(|n| Series::register(ctx, n))
            .collect();
        self.route_fields = ctx.route_fields.clone();
        if self.restored {
            return;
        }
        if let (Some(nod), Some(state)) = (self.new_domain.as_mut(), &self.state) {
            state.load(nod, ctx.worker);
        }
    }

    /// Every detector's state: each key with the hash its events are routed by.
    fn snapshot(&mut self) -> Result<Option<State>, String> {
        let fields = self.route_fields.clone().unwrap_or_default();
        let mut global: Vec<(&'static str, Vec<u8>)> = Vec::new();
        let mut keyed = Vec::new();
        let mut event = DnsEvent::default();
        for detector in self.detectors() {
            let name = detector.name();
            let saved = detector.save();
            global.push((name, saved.global));
            for key in saved.keys {
                event.client = key.client;
                if event.set_qname(&key.domain).is_err() {
                    event.qname = key.domain.to_string();
                }
                let entry = bincode::serialize(&(name, key.entry)).map_err(|e| e.to_string())?;
                keyed.push((event_key_hash(&event, &fields), entry));
            }
        }
        let global = bincode::serialize(&global).map_err(|e| e.to_string())?;
        Ok(Some(State { global, keyed }))
    }

    fn restore(&mut self, state: Restored) -> Result<(), String> {
        let bad = |e: bincode::Error| format!("its checkpoint state does not decode: {e}");
        let mut globals: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for global in &state.global {
            let parts: Vec<(String, Vec<u8>)> = bincode::deserialize(global).map_err(bad)?;
            for (name, bytes) in parts {
                globals.entry(name).or_default().push(bytes);
            }
        }
        let mut entries: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for entry in state.keyed {
            let (name, bytes): (String, Vec<u8>) = bincode::deserialize(&entry).map_err(bad)?;
            entries.entry(name).or_default().push(bytes);
        }
        for detector in self.detectors() {
            let name = detector.name();
            let global = globals.remove(name).unwrap_or_default();
            detector.load(&global, entries.remove(name).unwrap_or_default())?;
        }
        self.restored = true;
        Ok(())
    }

    fn process(&mut self, record: &mut Tuple, _out: &mut Emitter<'_, Tuple>) {
        let Tuple::Dns(event) = record else { return };
        for detector in self.detectors() {
            detector.observe(event);
        }
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, Tuple>) {
        let mut alerts = std::mem::take(&mut self.alerts);
        let mut stats = Vec::with_capacity(self.series.len());
        for detector in self.detectors() {
            detector.end_epoch(&mut alerts);
            stats.push(detector.stats());
        }
        for (series, stats) in self.series.iter_mut().zip(stats) {
            series.publish(stats);
        }
        for alert in alerts.drain(..) {
            out.emit(Tuple::Alert(Box::new(alert)));
        }
        self.alerts = alerts;
        if self.last_save.elapsed() >= SAVE_EVERY {
            self.save(out);
        }
    }

    fn on_close(&mut self, out: &mut Emitter<'_, Tuple>) {
        self.save(out);
    }
}
