//! The `alert_dedup` bolt: one alert per (detector, client, domain) per window, each given
//! its stable id here.
//!
//! Deterministic whatever the number of workers: it reads its input with a fields grouping on
//! the key, buffers the candidates of an epoch and decides when the epoch ends (see
//! [`antimony_detect::Deduper`]).

use antimony_core::metrics::{Counter, CounterMetric, Gauge, GaugeMetric};
use antimony_core::{Bolt, Context, Emitter, Restored, State};
use antimony_detect::config::DedupConfig;
use antimony_detect::{Alert, DedupStats, Deduper};

use crate::record::{Tuple, alert_key_hash};

/// Alerts dropped as duplicates.
pub const SUPPRESSED: CounterMetric = CounterMetric::new(
    "antimony_dedup_suppressed_total",
    "Alerts dropped as duplicates of one already kept for their detector, client, domain and window.",
);
/// Alerts kept for a window older than the retention.
pub const LATE: CounterMetric = CounterMetric::new(
    "antimony_dedup_late_total",
    "Alerts kept although their window was older than the retention (a late alert is better than a lost one).",
);
/// Keys forgotten after the retention.
pub const EXPIRED: CounterMetric = CounterMetric::new(
    "antimony_dedup_keys_expired_total",
    "Alert keys the deduplicator forgot because their window left the retention.",
);
/// Keys forgotten because of `max_keys`.
pub const EVICTED: CounterMetric = CounterMetric::new(
    "antimony_dedup_keys_evicted_total",
    "Alert keys the deduplicator forgot because of its max_keys cap.",
);
/// Keys remembered.
pub const KEYS: GaugeMetric = GaugeMetric::new(
    "antimony_dedup_keys",
    "Alert keys the deduplicator remembers now.",
);

struct Series {
    suppressed: Counter,
    late: Counter,
    expired: Counter,
    evicted: Counter,
    keys: Gauge,
    published: DedupStats,
}

/// Deduplicates alerts per window.
pub struct DedupBolt {
    deduper: Deduper,
    kept: Vec<Alert>,
    series: Option<Series>,
    /// What the input is grouped by: each remembered key keeps the hash its alerts are
    /// routed by, for checkpoints.
    route_fields: Vec<usize>,
}

impl DedupBolt {
    /// A deduper with these settings.
    pub fn new(config: &DedupConfig) -> Self {
        DedupBolt {
            deduper: Deduper::new(config),
            kept: Vec::new(),
            series: None,
            route_fields: Vec::new(),
        }
    }
}

impl Bolt<Tuple> for DedupBolt {
    fn on_start(&mut self, ctx: &Context) {
        self.route_fields = ctx.route_fields.clone().unwrap_or_default();
        self.series = Some(Series {
            suppressed: ctx.counter(&SUPPRESSED, &[]),
            late: ctx.counter(&LATE, &[]),
            expired: ctx.counter(&EXPIRED, &[]),
            evicted: ctx.counter(&EVICTED, &[]),
            keys: ctx.gauge(&KEYS, &[]),
            published: DedupStats::default(),
        });
    }

    fn process(&mut self, record: &mut Tuple, _out: &mut Emitter<'_, Tuple>) {
        if let Tuple::Alert(alert) = std::mem::take(record) {
            self.deduper.offer(*alert);
        }
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, Tuple>) {
        let fields = &self.route_fields;
        self.deduper
            .end_epoch_routed(&mut self.kept, |alert| alert_key_hash(alert, fields));
        for alert in self.kept.drain(..) {
            out.emit(Tuple::Alert(Box::new(alert)));
        }
        if let Some(series) = &mut self.series {
            let stats = self.deduper.stats();
            let was = series.published;
            series.suppressed.add(stats.suppressed - was.suppressed);
            series.late.add(stats.late - was.late);
            series.expired.add(stats.expired - was.expired);
            series.evicted.add(stats.evicted - was.evicted);
            series
                .keys
                .set(i64::try_from(self.deduper.len()).unwrap_or(i64::MAX));
            series.published = stats;
        }
    }

    fn snapshot(&mut self) -> Result<Option<State>, String> {
        let (global, keyed) = self.deduper.save();
        Ok(Some(State { global, keyed }))
    }

    fn restore(&mut self, state: Restored) -> Result<(), String> {
        self.deduper.load(&state.global, state.keyed)
    }
}
