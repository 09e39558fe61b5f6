//! `GET /api/stats`: every component's counts with their rates over the last second,
//! backpressure, processing-time percentiles and its own series; and the run's throughput
//! over the last two minutes.
//!
//! A sampler task snapshots the registry once a second and keeps the previous snapshot, so
//! a rate is a difference over a known interval, whoever asks and however often.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use antimony_core::metrics::{Kind, Label, Sample, SampleValue};
use antimony_engine::runtime::{
    ACTIVATION_TIME, BACKPRESSURED, BACKPRESSURED_SINCE, DEAD_LETTERS, EMITTED, ENGINE_SERIES,
    EPOCHS_IN_FLIGHT, PANICS, RECEIVED, short_name,
};
use serde::Serialize;

use crate::Shared;

/// Seconds of throughput the chart keeps.
const HISTORY: usize = 120;

/// Two snapshots a second apart, and the throughput history.
#[derive(Debug, Default)]
pub(crate) struct Sampler(Mutex<Samples>);

#[derive(Debug, Default)]
struct Samples {
    /// (taken at, every series) now and a second before.
    now: Option<(Instant, Vec<Sample>)>,
    before: Option<(Instant, Vec<Sample>)>,
    throughput: VecDeque<Point>,
}

/// One point of the throughput chart.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Point {
    /// Unix seconds.
    pub t: u64,
    /// Records per second emitted by the bolts that read the spouts (a parser's events).
    pub records_per_s: f64,
}

/// Snapshots the registry every second while the API lives.
pub(crate) async fn sample_every_second(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let snapshot = shared.snapshot();
        let first_bolts: Vec<&str> = shared
            .view
            .plan
            .components
            .iter()
            .filter(|c| {
                !c.inputs.is_empty()
                    && c.inputs.iter().all(|i| {
                        shared
                            .view
                            .plan
                            .components
                            .iter()
                            .any(|s| s.name == i.from && s.role == "spout")
                    })
            })
            .map(|c| c.name.as_str())
            .collect();
        let mut samples = shared.sampler.0.lock().unwrap_or_else(|e| e.into_inner());
        samples.before = samples.now.take();
        samples.now = Some((Instant::now(), snapshot));
        let rate: f64 = first_bolts
            .iter()
            .map(|c| samples.rate(EMITTED.name, &[Label::component(c)]))
            .sum();
        if samples.before.is_some() {
            let t = unix_now();
            samples.throughput.push_back(Point {
                t,
                records_per_s: rate,
            });
            if samples.throughput.len() > HISTORY {
                samples.throughput.pop_front();
            }
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The sum of `name` over the series whose labels include `labels`.
fn total(samples: &[Sample], name: &str, labels: &[Label]) -> u64 {
    samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|l| s.labels.contains(l)))
        .filter_map(|s| s.value.as_count())
        .sum()
}

impl Samples {
    /// Per second, over the last interval, of a counter summed over matching series.
    fn rate(&self, name: &str, labels: &[Label]) -> f64 {
        let (Some((t1, now)), Some((t0, before))) = (&self.now, &self.before) else {
            return 0.0;
        };
        let dt = t1.duration_since(*t0).as_secs_f64().max(1e-3);
        let delta = total(now, name, labels).saturating_sub(total(before, name, labels));
        delta as f64 / dt
    }
}

/// The answer of `GET /api/stats`.
#[derive(Debug, Serialize)]
pub struct Stats {
    /// Seconds since the API started.
    pub uptime_s: f64,
    /// `running`, `paused` or `stopping`.
    pub state: &'static str,
    /// Every component, in plan order.
    pub components: Vec<ComponentView>,
    /// Records per second over the last two minutes.
    pub throughput: Vec<Point>,
    /// Each process of the run and how long ago its counts were taken (0 for the one
    /// serving; `null` for one that has not reported yet).
    pub processes: Vec<ProcessView>,
}

/// A process of the run, as the master last heard of it.
#[derive(Debug, Serialize)]
pub struct ProcessView {
    /// Its index.
    pub process: usize,
    /// Seconds since its last report (a process silent for several seconds is stale, or
    /// gone).
    pub reported_s_ago: Option<f64>,
}

/// One component's statistics (summed over its instances, each also given).
#[derive(Debug, Serialize)]
pub struct ComponentView {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `spout` or `bolt`.
    pub role: &'static str,
    /// Records received (spouts: 0).
    pub received: u64,
    /// Records emitted.
    pub emitted: u64,
    /// Records set aside.
    pub dead_letters: u64,
    /// Panics caught.
    pub panics: u64,
    /// Records received per second.
    pub received_per_s: f64,
    /// Records emitted per second.
    pub emitted_per_s: f64,
    /// Records set aside per second.
    pub dead_letters_per_s: f64,
    /// Spouts: epochs emitted and not yet through (the most of any instance).
    pub in_flight: Option<u64>,
    /// Spouts: whether an instance waits for the dataflow to catch up.
    pub backpressured: Option<bool>,
    /// Spouts: for how long the longest current backpressure has lasted, seconds.
    pub backpressured_for_s: Option<u64>,
    /// Bolts: median time an activation took, seconds.
    pub activation_p50_s: Option<f64>,
    /// Bolts: 90th percentile.
    pub activation_p90_s: Option<f64>,
    /// Bolts: 99th percentile.
    pub activation_p99_s: Option<f64>,
    /// The component's own counters and gauges, by short name and labels (a source's
    /// `bytes read` and `bytes expected`, a stateful detector's `keys`, `keys expired` and
    /// `keys evicted`, a dedup's `suppressed` and `late`...).
    pub series: BTreeMap<String, u64>,
    /// Its own counters per second, over the last second.
    pub series_per_s: BTreeMap<String, f64>,
    /// Each instance.
    pub instances: Vec<InstanceView>,
}

/// One instance's statistics.
#[derive(Debug, Serialize)]
pub struct InstanceView {
    /// The worker it runs on.
    pub instance: u32,
    /// Records received.
    pub received: u64,
    /// Records emitted.
    pub emitted: u64,
    /// Records set aside.
    pub dead_letters: u64,
    /// Panics caught.
    pub panics: u64,
    /// Records received per second.
    pub received_per_s: f64,
    /// Records emitted per second.
    pub emitted_per_s: f64,
    /// Spouts: epochs in flight.
    pub in_flight: Option<u64>,
    /// Spouts: waiting for the dataflow.
    pub backpressured: Option<bool>,
}

/// The statistics of the run `shared` serves.
pub(crate) fn stats(shared: &Shared) -> Stats {
    let samples = shared.sampler.0.lock().unwrap_or_else(|e| e.into_inner());
    let current = shared.snapshot();
    let now_unix = unix_now();
    let control = &shared.view.control;
    let state = match (control.is_stopped(), control.is_paused()) {
        (true, _) => "stopping",
        (false, true) => "paused",
        (false, false) => "running",
    };
    let components = shared
        .view
        .plan
        .components
        .iter()
        .map(|c| {
            let component = Label::component(&c.name);
            let of = |name: &str| total(&current, name, std::slice::from_ref(&component));
            let spout = c.role == "spout";
            let instances: Vec<u32> = {
                let mut seen: Vec<u32> = current
                    .iter()
                    .filter(|s| s.labels.contains(&component))
                    .filter_map(|s| {
                        s.labels.iter().find_map(|l| match l {
                            Label::Instance(i) => Some(*i),
                            _ => None,
                        })
                    })
                    .collect();
                seen.sort_unstable();
                seen.dedup();
                seen
            };
            let instance_views = instances
                .iter()
                .map(|&i| {
                    let labels = [component.clone(), Label::Instance(i)];
                    InstanceView {
                        instance: i,
                        received: total(&current, RECEIVED.name, &labels),
                        emitted: total(&current, EMITTED.name, &labels),
                        dead_letters: total(&current, DEAD_LETTERS.name, &labels),
                        panics: total(&current, PANICS.name, &labels),
                        received_per_s: samples.rate(RECEIVED.name, &labels),
                        emitted_per_s: samples.rate(EMITTED.name, &labels),
                        in_flight: spout.then(|| total(&current, EPOCHS_IN_FLIGHT.name, &labels)),
                        backpressured: spout
                            .then(|| total(&current, BACKPRESSURED.name, &labels) > 0),
                    }
                })
                .collect::<Vec<_>>();
            let since = current
                .iter()
                .filter(|s| s.name == BACKPRESSURED_SINCE.name && s.labels.contains(&component))
                .filter_map(|s| s.value.as_count())
                .filter(|&t| t > 0)
                .min();
            let percentiles = (!spout).then(|| activation_percentiles(&current, &component));
            let labels = std::slice::from_ref(&component);
            ComponentView {
                name: c.name.clone(),
                type_name: c.type_name.clone(),
                role: c.role,
                received: of(RECEIVED.name),
                emitted: of(EMITTED.name),
                dead_letters: of(DEAD_LETTERS.name),
                panics: of(PANICS.name),
                received_per_s: samples.rate(RECEIVED.name, labels),
                emitted_per_s: samples.rate(EMITTED.name, labels),
                dead_letters_per_s: samples.rate(DEAD_LETTERS.name, labels),
                in_flight: spout.then(|| {
                    instance_views
                        .iter()
                        .filter_map(|i| i.in_flight)
                        .max()
                        .unwrap_or(0)
                }),
                backpressured: spout.then(|| of(BACKPRESSURED.name) > 0),
                backpressured_for_s: spout
                    .then(|| since.map_or(0, |since| now_unix.saturating_sub(since))),
                activation_p50_s: percentiles.and_then(|p| p[0]),
                activation_p90_s: percentiles.and_then(|p| p[1]),
                activation_p99_s: percentiles.and_then(|p| p[2]),
                series: own_series(&current, &component),
                series_per_s: own_rates(&samples, &current, &component),
                instances: instance_views,
            }
        })
        .collect();
    let ages = shared.reports.ages();
    let processes = (0..shared.view.processes.max(1))
        .map(|process| ProcessView {
            process,
            reported_s_ago: if process == shared.view.process {
                Some(0.0)
            } else {
                ages.iter()
                    .find(|(p, _)| *p == process)
                    .map(|(_, age)| age.as_secs_f64())
            },
        })
        .collect();
    Stats {
        uptime_s: shared.started.elapsed().as_secs_f64(),
        state,
        components,
        throughput: samples.throughput.iter().copied().collect(),
        processes,
    }
}

/// A component's own counters and gauges (not the engine's), summed over instances, keyed
/// by short name and other labels (`keys evicted tunnel`).
fn own_series(samples: &[Sample], component: &Label) -> BTreeMap<String, u64> {
    let mut series = BTreeMap::new();
    for s in samples.iter().filter(|s| s.labels.contains(component)) {
        if ENGINE_SERIES.contains(&s.name) || s.kind == Kind::Histogram {
            continue;
        }
        let Some(value) = s.value.as_count() else {
            continue;
        };
        *series.entry(series_key(s)).or_insert(0) += value;
    }
    series
}

/// The rates of a component's own counters, keyed like [`own_series`].
fn own_rates(samples: &Samples, current: &[Sample], component: &Label) -> BTreeMap<String, f64> {
    let mut rates = BTreeMap::new();
    for s in current.iter().filter(|s| s.labels.contains(component)) {
        if ENGINE_SERIES.contains(&s.name) || s.kind != Kind::Counter {
            continue;
        }
        *rates.entry(series_key(s)).or_insert(0.0) += samples.rate(s.name, &s.labels);
    }
    rates
}

/// `keys evicted tunnel`: a series' short name and its labels other than component and
/// instance.
fn series_key(s: &Sample) -> String {
    let mut key = short_name(s.name);
    for label in s.detail_labels() {
        key.push(' ');
        key.push_str(&label.value());
    }
    key
}

/// p50, p90 and p99 of a bolt's activation times, over its instances' buckets: the upper
/// bound of the bucket the quantile falls in (`None` without observations).
fn activation_percentiles(samples: &[Sample], component: &Label) -> [Option<f64>; 3] {
    let mut merged: Vec<(f64, u64)> = Vec::new();
    let mut count = 0;
    for s in samples
        .iter()
        .filter(|s| s.name == ACTIVATION_TIME.name && s.labels.contains(component))
    {
        if let SampleValue::Histogram {
            buckets, count: n, ..
        } = &s.value
        {
            count += n;
            if merged.is_empty() {
                merged = buckets.clone();
            } else {
                for (m, b) in merged.iter_mut().zip(buckets) {
                    m.1 += b.1;
                }
            }
        }
    }
    let quantile = |q: f64| {
        if count == 0 {
            return None;
        }
        let rank = (q * count as f64).ceil() as u64;
        merged
            .iter()
            .find(|(_, cumulative)| *cumulative >= rank.max(1))
            .map(|(bound, _)| {
                if bound.is_finite() {
                    *bound
                } else {
                    ACTIVATION_TIME.buckets.last().copied().unwrap_or(f64::MAX)
                }
            })
    };
    [quantile(0.5), quantile(0.9), quantile(0.99)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use antimony_core::Metrics;

    #[test]
    fn percentiles_come_from_the_merged_buckets() {
        let metrics = Metrics::new();
        let component = Label::component("parse");
        for instance in 0..2 {
            let h = metrics.histogram(
                &ACTIVATION_TIME,
                &[component.clone(), Label::Instance(instance)],
            );
            for _ in 0..98 {
                h.observe(0.000_05);
            }
            h.observe(0.2);
        }
        let p = activation_percentiles(&metrics.snapshot(), &component);
        assert_eq!(p, [Some(0.000_1), Some(0.000_1), Some(0.5)]);
        assert_eq!(
            activation_percentiles(&metrics.snapshot(), &Label::component("x")),
            [None; 3]
        );
    }
}
