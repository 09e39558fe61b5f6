//! The engine's own series in the run's metrics registry: records in, out and set aside, and
//! panics caught, per component instance.
//!
//! Operators count locally and add to these once per activation, so the hot path touches no
//! shared cache line per record.

use antimony_core::Context;
use antimony_core::metrics::{Counter, CounterMetric, Label, Metrics, Sample};

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
