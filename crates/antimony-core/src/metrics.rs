//! One metrics registry per run: counters, gauges and histograms that every component,
//! detector and sink updates, read by the end-of-run summary and by anything that serves
//! them (a status endpoint, a Prometheus scrape).
//!
//! - A metric is declared once, as a constant of the crate that owns it
//!   ([`CounterMetric`], [`GaugeMetric`], [`HistogramMetric`]), named
//!   `antimony_<what>_<unit>[_total]`, with a help text. No metric name is written anywhere
//!   else.
//! - A *series* is a metric with labels. Labels come from bounded sets only, and the type
//!   says so: [`Label`] has a variant per label a series may carry (component, instance,
//!   detector, severity), and no variant could hold a domain or a client address.
//! - Handles ([`Counter`], [`Gauge`], [`Histogram`]) are cheap clones of an atomic; the
//!   registry's lock is taken only to register or to read a snapshot. The hot path counts
//!   locally and adds per batch, never per record.
//!
//! ```
//! use antimony_core::metrics::{CounterMetric, Label, Metrics};
//!
//! const LINES: CounterMetric = CounterMetric::new(
//!     "antimony_example_lines_total",
//!     "Lines read.",
//! );
//! let metrics = Metrics::new();
//! let lines = metrics.counter(&LINES, &[Label::component("parse"), Label::Instance(0)]);
//! lines.add(3);
//! // The same series, registered again (another handle on the same atomic).
//! metrics.counter(&LINES, &[Label::component("parse"), Label::Instance(0)]).inc();
//! assert_eq!(metrics.snapshot()[0].value.as_count(), Some(4));
//! ```

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A counter: a number that only goes up (`_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterMetric {
    /// `antimony_<what>_<unit>_total`.
    pub name: &'static str,
    /// What it counts, for a person.
    pub help: &'static str,
}

impl CounterMetric {
    /// A counter definition.
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        CounterMetric { name, help }
    }
}

/// A gauge: a number that goes up and down (keys held, sources open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaugeMetric {
    /// `antimony_<what>[_<unit>]`.
    pub name: &'static str,
    /// What it measures, for a person.
    pub help: &'static str,
}

impl GaugeMetric {
    /// A gauge definition.
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        GaugeMetric { name, help }
    }
}

/// A histogram: how observations (durations, sizes) are spread over fixed buckets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramMetric {
    /// `antimony_<what>_<unit>`, e.g. `antimony_epoch_processing_seconds`.
    pub name: &'static str,
    /// What it measures, for a person.
    pub help: &'static str,
    /// Upper bounds of the buckets, increasing (a last `+Inf` bucket is implied).
    pub buckets: &'static [f64],
}

impl HistogramMetric {
    /// A histogram definition.
    pub const fn new(name: &'static str, help: &'static str, buckets: &'static [f64]) -> Self {
        HistogramMetric {
            name,
            help,
            buckets,
        }
    }
}

/// What kind of metric a series is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets.
    Histogram,
}

/// One label of a series. Every variant is a bounded set: the components of a topology,
/// the workers of a run, the detectors and severities the code defines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    /// The component's name in the topology.
    Component(Arc<str>),
    /// The worker running the component instance.
    Instance(u32),
    /// A detector's name (`dga`, `tunnel`...).
    Detector(&'static str),
    /// An alert severity (`low`...).
    Severity(&'static str),
}

impl Label {
    /// A component label.
    pub fn component(name: &str) -> Self {
        Label::Component(Arc::from(name))
    }

    /// The label's name (`component`, `instance`, `detector`, `severity`).
    pub fn key(&self) -> &'static str {
        match self {
            Label::Component(_) => "component",
            Label::Instance(_) => "instance",
            Label::Detector(_) => "detector",
            Label::Severity(_) => "severity",
        }
    }

    /// The label's value as text.
    pub fn value(&self) -> String {
        match self {
            Label::Component(name) => name.to_string(),
            Label::Instance(worker) => worker.to_string(),
            Label::Detector(name) | Label::Severity(name) => (*name).to_owned(),
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key(), self.value())
    }
}

/// A handle on a counter series.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` (nothing when `n` is 0, so a batch with nothing to add touches no shared
    /// cache line).
    #[inline]
    pub fn add(&self, n: u64) {
        if n > 0 {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The count so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A handle on a gauge series.
#[derive(Clone, Debug, Default)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// Adds `delta` (negative to subtract).
    #[inline]
    pub fn add(&self, delta: i64) {
        if delta != 0 {
            self.0.fetch_add(delta, Ordering::Relaxed);
        }
    }

    /// The value now.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct HistogramCells {
    bounds: &'static [f64],
    /// One per bound, then the `+Inf` bucket; not cumulative.
    counts: Vec<AtomicU64>,
    /// The sum of observations, as `f64` bits.
    sum: AtomicU64,
}

/// A handle on a histogram series.
#[derive(Clone, Debug)]
pub struct Histogram(Arc<HistogramCells>);

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram(Arc::new(HistogramCells {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }))
    }

    /// Records one observation.
    pub fn observe(&self, value: f64) {
        let cells = &self.0;
        let bucket = cells.bounds.partition_point(|&bound| bound < value);
        cells.counts[bucket].fetch_add(1, Ordering::Relaxed);
        // A compare-and-swap loop: there is no atomic f64 add. Contention is per batch.
        let _ = cells
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }

    fn read(&self) -> SampleValue {
        let cells = &self.0;
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(cells.counts.len());
        for (i, count) in cells.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let bound = cells.bounds.get(i).copied().unwrap_or(f64::INFINITY);
            buckets.push((bound, cumulative));
        }
        SampleValue::Histogram {
            buckets,
            sum: f64::from_bits(cells.sum.load(Ordering::Relaxed)),
            count: cumulative,
        }
    }
}

/// A series' value at one moment.
#[derive(Clone, Debug, PartialEq)]
pub enum SampleValue {
    /// A counter's count.
    Counter(u64),
    /// A gauge's value.
    Gauge(i64),
    /// A histogram: cumulative counts per upper bound (the last is `+Inf`), the sum and the
    /// count of observations.
    Histogram {
        /// `(upper bound, observations <= bound)`, the last bound infinite.
        buckets: Vec<(f64, u64)>,
        /// The sum of observations.
        sum: f64,
        /// How many observations.
        count: u64,
    },
}

impl SampleValue {
    /// A counter's count or a non-negative gauge's value.
    pub fn as_count(&self) -> Option<u64> {
        match self {
            SampleValue::Counter(n) => Some(*n),
            SampleValue::Gauge(v) => u64::try_from(*v).ok(),
            SampleValue::Histogram { .. } => None,
        }
    }
}

/// One series at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The metric's name.
    pub name: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// The series' labels, in a fixed order (component, instance, detector, severity).
    pub labels: Vec<Label>,
    /// The value.
    pub value: SampleValue,
}

impl Sample {
    /// The component label's value, if the series has one.
    pub fn component(&self) -> Option<&str> {
        self.labels.iter().find_map(|l| match l {
            Label::Component(name) => Some(&**name),
            _ => None,
        })
    }

    /// The labels other than component and instance, as `key=value` pairs.
    pub fn detail_labels(&self) -> Vec<&Label> {
        self.labels
            .iter()
            .filter(|l| !matches!(l, Label::Component(_) | Label::Instance(_)))
            .collect()
    }
}

#[derive(Debug)]
enum Cell {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
}

#[derive(Debug)]
struct Series {
    name: &'static str,
    help: &'static str,
    labels: Vec<Label>,
    cell: Cell,
}

/// The registry: every series of a run. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Metrics(Arc<Mutex<Vec<Series>>>);

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The series of `name` with these labels, made by `make` if it is new. Registration is
    /// rare (components register at start), so a list and a lock are enough.
    fn series<T>(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[Label],
        make: impl FnOnce() -> Cell,
        pick: impl Fn(&Cell) -> Option<T>,
    ) -> T {
        debug_assert!(
            name.starts_with("antimony_"),
            "metric names start with antimony_: {name}"
        );
        let mut labels = labels.to_vec();
        labels.sort();
        let mut series = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = series
            .iter()
            .find(|s| s.name == name && s.labels == labels)
            .and_then(|s| pick(&s.cell))
        {
            return found;
        }
        let cell = make();
        // `make` builds the kind `pick` takes.
        let handle = pick(&cell);
        series.push(Series {
            name,
            help,
            labels,
            cell,
        });
        match handle {
            Some(handle) => handle,
            None => unreachable!("a new series is of the kind asked for"),
        }
    }

    /// The counter series of `metric` with `labels` (registered on first use).
    pub fn counter(&self, metric: &CounterMetric, labels: &[Label]) -> Counter {
        debug_assert!(metric.name.ends_with("_total"), "{}", metric.name);
        self.series(
            metric.name,
            metric.help,
            labels,
            || Cell::Counter(Counter::default()),
            |cell| match cell {
                Cell::Counter(c) => Some(c.clone()),
                _ => None,
            },
        )
    }

    /// The gauge series of `metric` with `labels` (registered on first use).
    pub fn gauge(&self, metric: &GaugeMetric, labels: &[Label]) -> Gauge {
        self.series(
            metric.name,
            metric.help,
            labels,
            || Cell::Gauge(Gauge::default()),
            |cell| match cell {
                Cell::Gauge(g) => Some(g.clone()),
                _ => None,
            },
        )
    }

    /// The histogram series of `metric` with `labels` (registered on first use).
    pub fn histogram(&self, metric: &HistogramMetric, labels: &[Label]) -> Histogram {
        self.series(
            metric.name,
            metric.help,
            labels,
            || Cell::Histogram(Histogram::new(metric.buckets)),
            |cell| match cell {
                Cell::Histogram(h) => Some(h.clone()),
                _ => None,
            },
        )
    }

    /// Every series now, in registration order.
    pub fn snapshot(&self) -> Vec<Sample> {
        let series = self.0.lock().unwrap_or_else(|e| e.into_inner());
        series
            .iter()
            .map(|s| {
                let (kind, value) = match &s.cell {
                    Cell::Counter(c) => (Kind::Counter, SampleValue::Counter(c.get())),
                    Cell::Gauge(g) => (Kind::Gauge, SampleValue::Gauge(g.get())),
                    Cell::Histogram(h) => (Kind::Histogram, h.read()),
                };
                Sample {
                    name: s.name,
                    help: s.help,
                    kind,
                    labels: s.labels.clone(),
                    value,
                }
            })
            .collect()
    }

    /// The sum of a counter or gauge over every series whose labels include `labels`.
    pub fn total(&self, name: &str, labels: &[Label]) -> u64 {
        self.snapshot()
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|l| s.labels.contains(l)))
            .filter_map(|s| s.value.as_count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: CounterMetric = CounterMetric::new("antimony_test_events_total", "Events.");
    const KEYS: GaugeMetric = GaugeMetric::new("antimony_test_keys", "Keys held.");
    const TIME: HistogramMetric =
        HistogramMetric::new("antimony_test_seconds", "Time.", &[0.001, 0.01, 0.1]);

    #[test]
    fn series_are_shared_per_name_and_labels() {
        let metrics = Metrics::new();
        let a = metrics.counter(&EVENTS, &[Label::component("x"), Label::Instance(0)]);
        let b = metrics.counter(&EVENTS, &[Label::Instance(0), Label::component("x")]);
        let other = metrics.counter(&EVENTS, &[Label::component("x"), Label::Instance(1)]);
        a.add(2);
        b.inc();
        other.add(10);
        assert_eq!(a.get(), 3);
        assert_eq!(metrics.snapshot().len(), 2);
        assert_eq!(metrics.total(EVENTS.name, &[Label::component("x")]), 13);
        assert_eq!(metrics.total(EVENTS.name, &[Label::Instance(1)]), 10);
        let keys = metrics.gauge(&KEYS, &[Label::component("x")]);
        keys.set(5);
        keys.add(-2);
        assert_eq!(metrics.total(KEYS.name, &[]), 3);
    }

    #[test]
    fn histograms_count_cumulatively() {
        let metrics = Metrics::new();
        let h = metrics.histogram(&TIME, &[]);
        for v in [0.0005, 0.005, 0.005, 1.0] {
            h.observe(v);
        }
        let SampleValue::Histogram {
            buckets,
            sum,
            count,
        } = &metrics.snapshot()[0].value
        else {
            panic!("a histogram");
        };
        assert_eq!(*count, 4);
        assert!((sum - 1.0105).abs() < 1e-9);
        let counts: Vec<u64> = buckets.iter().map(|b| b.1).collect();
        assert_eq!(counts, [1, 3, 3, 4]);
        assert!(buckets[3].0.is_infinite());
    }
}
