//! The engine's own series in the run's metrics registry: records in, out and set aside, and
//! panics caught, per component instance.
//!
//! Operators count locally and add to these once per activation, so the hot path touches no
//! shared cache line per record.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use antimony_core::Context;
use antimony_core::metrics::{
    Counter, CounterMetric, Gauge, GaugeMetric, Histogram, HistogramMetric, Label, Metrics, Sample,
};

/// Records a component instance received (spouts: none).
pub const RECEIVED: CounterMetric = CounterMetric::new(
    "antimony_records_received_total",
    "Records a component instance received.",
);
/// Records a component instance emitted.
pub const EMITTED: CounterMetric = CounterMetric::new(
    "antimony_records_emitted_total",
    "Records a component instance emitted.",
);
/// Records a component instance set aside (dead letters).
pub const DEAD_LETTERS: CounterMetric = CounterMetric::new(
    "antimony_dead_letters_total",
    "Records a component instance set aside, each with its location and reason.",
);
/// Panics caught in a component instance.
pub const PANICS: CounterMetric = CounterMetric::new(
    "antimony_panics_total",
    "Panics caught in a component instance (the record is set aside, the run goes on).",
);

/// Epochs a spout instance has in flight (emitted, not yet through every sink).
pub const EPOCHS_IN_FLIGHT: GaugeMetric = GaugeMetric::new(
    "antimony_spout_epochs_in_flight",
    "Epochs a spout instance emitted that are not yet through the whole dataflow.",
);
/// 1 while a spout waits because too many of its epochs are in flight.
pub const BACKPRESSURED: GaugeMetric = GaugeMetric::new(
    "antimony_spout_backpressured",
    "1 while a spout instance waits for the dataflow to catch up (backpressure), else 0.",
);
/// When the current backpressure began (Unix seconds), 0 when there is none.
pub const BACKPRESSURED_SINCE: GaugeMetric = GaugeMetric::new(
    "antimony_spout_backpressured_since_seconds",
    "Unix time the current backpressure on a spout instance began, 0 when it has none.",
);
/// The engine's own per-component series that views show in their own columns (counts,
/// flow), not among a component's series. (Backpressure time stays among those: it means
/// something after the run too.)
pub const ENGINE_SERIES: &[&str] = &[
    RECEIVED.name,
    EMITTED.name,
    DEAD_LETTERS.name,
    PANICS.name,
    EPOCHS_IN_FLIGHT.name,
    BACKPRESSURED.name,
    BACKPRESSURED_SINCE.name,
];

/// Time a spout spent held back by backpressure.
pub const BACKPRESSURE_TIME: CounterMetric = CounterMetric::new(
    "antimony_spout_backpressure_microseconds_total",
    "Time a spout instance spent waiting for the dataflow to catch up.",
);
/// How long a bolt instance's activations take.
pub const ACTIVATION_TIME: HistogramMetric = HistogramMetric::new(
    "antimony_bolt_activation_seconds",
    "How long a bolt instance took to process what one activation brought it (a batch of records, the end of an epoch).",
    &[
        0.000_01, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
    ],
);

/// A spout instance's flow control, as series: in flight, backpressure and its duration.
#[derive(Clone, Debug)]
pub(crate) struct SpoutFlow {
    in_flight: Gauge,
    backpressured: Gauge,
    since: Gauge,
    waited: Counter,
    waiting_since: Option<Instant>,
}

impl SpoutFlow {
    pub(crate) fn register(ctx: &Context) -> Self {
        SpoutFlow {
            in_flight: ctx.gauge(&EPOCHS_IN_FLIGHT, &[]),
            backpressured: ctx.gauge(&BACKPRESSURED, &[]),
            since: ctx.gauge(&BACKPRESSURED_SINCE, &[]),
            waited: ctx.counter(&BACKPRESSURE_TIME, &[]),
            waiting_since: None,
        }
    }

    /// Once per activation: how many epochs are in flight, and whether the spout waits.
    pub(crate) fn update(&mut self, in_flight: u64, waiting: bool) {
        self.in_flight
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
        match (waiting, self.waiting_since) {
            (true, None) => {
                self.waiting_since = Some(Instant::now());
                self.backpressured.set(1);
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO);
                self.since
                    .set(i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
            }
            (false, Some(start)) => {
                self.waiting_since = None;
                self.backpressured.set(0);
                self.since.set(0);
                self.waited
                    .add(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            _ => {}
        }
    }
}

/// A bolt instance's activation time.
pub(crate) fn activation_histogram(ctx: &Context) -> Histogram {
    ctx.histogram(&ACTIVATION_TIME, &[])
}

/// The engine's series of one component instance.
#[derive(Clone, Debug)]
pub(crate) struct InstanceCounters {
    received: Counter,
    emitted: Counter,
    dead_letters: Counter,
    panics: Counter,
}

impl InstanceCounters {
    pub(crate) fn register(ctx: &Context) -> Self {
        InstanceCounters {
            received: ctx.counter(&RECEIVED, &[]),
            emitted: ctx.counter(&EMITTED, &[]),
            dead_letters: ctx.counter(&DEAD_LETTERS, &[]),
            panics: ctx.counter(&PANICS, &[]),
        }
    }

    pub(crate) fn add(&self, local: &mut LocalCounts) {
        self.received.add(local.received);
        self.emitted.add(local.emitted);
        self.dead_letters.add(local.dead_letters);
        self.panics.add(local.panics);
        *local = LocalCounts::default();
    }
}

#[derive(Debug, Default)]
pub(crate) struct LocalCounts {
    pub(crate) received: u64,
    pub(crate) emitted: u64,
    pub(crate) dead_letters: u64,
    pub(crate) panics: u64,
}

/// What one component did during a run (summed over this process's instances).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ComponentStats {
    /// The component's name.
    pub name: String,
    /// Its type (`file`, `dns_parse`...).
    pub type_name: String,
    /// Records received.
    pub received: u64,
    /// Records emitted.
    pub emitted: u64,
    /// Records set aside.
    pub dead_letters: u64,
    /// Panics caught.
    pub panics: u64,
    /// Whether the component is a spout.
    pub spout: bool,
}

impl ComponentStats {
    /// The engine's counts of `name` in `samples`, summed over instances.
    pub fn from_samples(name: &str, type_name: &str, spout: bool, samples: &[Sample]) -> Self {
        let component = Label::component(name);
        let sum = |metric: &CounterMetric| -> u64 {
            samples
                .iter()
                .filter(|s| s.name == metric.name && s.labels.contains(&component))
                .filter_map(|s| s.value.as_count())
                .sum()
        };
        ComponentStats {
            name: name.to_owned(),
            type_name: type_name.to_owned(),
            received: sum(&RECEIVED),
            emitted: sum(&EMITTED),
            dead_letters: sum(&DEAD_LETTERS),
            panics: sum(&PANICS),
            spout,
        }
    }

    /// The engine's counts of every component of a run, from its registry.
    pub fn all(components: &[(String, String, bool)], metrics: &Metrics) -> Vec<Self> {
        let samples = metrics.snapshot();
        components
            .iter()
            .map(|(name, type_name, spout)| Self::from_samples(name, type_name, *spout, &samples))
            .collect()
    }
}
