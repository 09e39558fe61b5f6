//! A cluster's Topology Master: process 0 serves the API, and every other process reports
//! its registry to it once a second (`POST /api/report`) and takes back the run's control
//! state (paused, stopping) in the answer.
//!
//! Why the others push rather than process 0 pulling: process 0 then needs no address of
//! theirs (they know its address already, the first of `--cluster`), the others serve
//! nothing (no port to open or guard on every machine), and one call each way carries both
//! the counts up and deactivate and kill down. A process that stops reporting shows as
//! stale in `/api/stats`; its last counts stay in the sums.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use antimony_core::Metrics;
use antimony_core::metrics::{Kind, Label, Sample, SampleValue};
use antimony_engine::StopHandle;
use serde::{Deserialize, Serialize};

use crate::client::Master;

/// How often a process reports.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Distinct names (metrics, help texts, detectors, severities) a master takes from reports
/// at most: they are a bounded set in one binary, and this bounds what a bad reporter costs.
const MAX_NAMES: usize = 4096;

/// One process's registry, as it travels.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    /// The reporting process's index.
    pub process: usize,
    /// Its series.
    pub samples: Vec<WireSample>,
}

/// One series, as it travels.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireSample {
    name: String,
    help: String,
    labels: Vec<(String, String)>,
    value: WireValue,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WireValue {
    Counter(u64),
    Gauge(i64),
    /// Finite upper bounds, and cumulative counts: one per bound then the `+Inf` bucket
    /// (JSON has no infinity).
    Histogram {
        bounds: Vec<f64>,
        cumulative: Vec<u64>,
        sum: f64,
    },
}

/// What a report is answered with: the run's control state, for the reporter to follow.
#[derive(Debug, Serialize, Deserialize)]
pub struct Control {
    /// The sources are paused.
    pub paused: bool,
    /// The run is stopping.
    pub stopped: bool,
}

impl Report {
    /// `metrics` of process `process`, now.
    pub fn of(process: usize, metrics: &Metrics) -> Self {
        let samples = metrics
            .snapshot()
            .into_iter()
            .map(|s| WireSample {
                name: s.name.to_owned(),
                help: s.help.to_owned(),
                labels: s
                    .labels
                    .iter()
                    .map(|l| (l.key().to_owned(), l.value()))
                    .collect(),
                value: match s.value {
                    SampleValue::Counter(n) => WireValue::Counter(n),
                    SampleValue::Gauge(v) => WireValue::Gauge(v),
                    SampleValue::Histogram { buckets, sum, .. } => WireValue::Histogram {
                        bounds: buckets
                            .iter()
                            .map(|b| b.0)
                            .filter(|b| b.is_finite())
                            .collect(),
                        cumulative: buckets.iter().map(|b| b.1).collect(),
                        sum,
                    },
                },
            })
            .collect();
        Report { process, samples }
    }
}

/// `text` as a `'static` string: each distinct one leaked once, at most [`MAX_NAMES`].
fn intern(text: &str) -> Option<&'static str> {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(name) = names.get(text) {
        return Some(name);
    }
    if names.len() >= MAX_NAMES {
        return None;
    }
    let name: &'static str = Box::leak(text.to_owned().into_boxed_str());
    names.insert(name);
    Some(name)
}

impl WireSample {
    /// The sample, if it is one this binary could have made (known label keys, names
    /// starting `antimony_`).
    fn into_sample(self) -> Option<Sample> {
        if !self.name.starts_with("antimony_") {
            return None;
        }
        let labels = self
            .labels
            .iter()
            .map(|(key, value)| match key.as_str() {
                "component" => Some(Label::component(value)),
                "instance" => value.parse().ok().map(Label::Instance),
                "detector" => intern(value).map(Label::Detector),
                "severity" => intern(value).map(Label::Severity),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        let (kind, value) = match self.value {
            WireValue::Counter(n) => (Kind::Counter, SampleValue::Counter(n)),
            WireValue::Gauge(v) => (Kind::Gauge, SampleValue::Gauge(v)),
            WireValue::Histogram {
                bounds,
                cumulative,
                sum,
            } => {
                if cumulative.len() != bounds.len() + 1 {
                    return None;
                }
                let count = cumulative.last().copied().unwrap_or(0);
                let buckets = bounds
                    .into_iter()
                    .chain([f64::INFINITY])
                    .zip(cumulative)
                    .collect();
                (
                    Kind::Histogram,
                    SampleValue::Histogram {
                        buckets,
                        sum,
                        count,
                    },
                )
            }
        };
        Some(Sample {
            name: intern(&self.name)?,
            help: intern(&self.help)?,
            kind,
            labels,
            value,
        })
    }
}

/// The last report of each other process, at the master.
#[derive(Debug, Default)]
pub(crate) struct Reports(Mutex<BTreeMap<usize, (Instant, Vec<Sample>)>>);

impl Reports {
    /// Keeps `report` as its process's latest.
    pub(crate) fn take(&self, report: Report) {
        let samples = report
            .samples
            .into_iter()
            .filter_map(WireSample::into_sample)
            .collect();
        let mut reports = self.0.lock().unwrap_or_else(|e| e.into_inner());
        reports.insert(report.process, (Instant::now(), samples));
    }

    /// Every other process's series, as last reported.
    pub(crate) fn samples(&self) -> Vec<Sample> {
        let reports = self.0.lock().unwrap_or_else(|e| e.into_inner());
        reports
            .values()
            .flat_map(|(_, s)| s.iter().cloned())
            .collect()
    }

    /// Each reporting process and how long ago it last reported.
    pub(crate) fn ages(&self) -> Vec<(usize, Duration)> {
        let reports = self.0.lock().unwrap_or_else(|e| e.into_inner());
        reports
            .iter()
            .map(|(p, (at, _))| (*p, at.elapsed()))
            .collect()
    }
}

/// A process reporting to its master; it sends a last report and stops when dropped.
#[derive(Debug)]
pub struct Reporter {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Reports `metrics` of process `process` to `master` every [`REPORT_EVERY`], and follows
/// the control state it answers with on `control`.
pub fn report_to(
    master: Master,
    process: usize,
    metrics: Metrics,
    control: StopHandle,
) -> Reporter {
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let thread = std::thread::Builder::new()
        .name("antimony-report".into())
        .spawn(move || {
            let mut warned = false;
            loop {
                let last = stop.load(Ordering::Relaxed);
                match master.post_json("/api/report", &Report::of(process, &metrics)) {
                    Ok(answer) => {
                        warned = false;
                        if let Ok(state) = serde_json::from_value::<Control>(answer) {
                            follow(&control, &state);
                        }
                    }
                    Err(error) if !warned && !last => {
                        tracing::warn!(%error, "cannot report to the Topology Master (process 0); retrying");
                        warned = true;
                    }
                    Err(_) => {}
                }
                if last {
                    return;
                }
                let slept = Instant::now();
                while slept.elapsed() < REPORT_EVERY && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        })
        .ok();
    Reporter { done, thread }
}

/// Applies the master's control state to this process's sources.
fn follow(control: &StopHandle, state: &Control) {
    if state.stopped && !control.is_stopped() {
        tracing::info!("the Topology Master stops the run");
        control.stop();
    }
    if state.paused != control.is_paused() {
        if state.paused {
            control.pause();
        } else {
            control.resume();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use antimony_core::metrics::{CounterMetric, HistogramMetric};

    #[test]
    fn a_report_carries_every_kind_of_series() {
        const N: CounterMetric = CounterMetric::new("antimony_t_n_total", "N.");
        const T: HistogramMetric = HistogramMetric::new("antimony_t_seconds", "T.", &[0.1, 1.0]);
        let metrics = Metrics::new();
        metrics
            .counter(
                &N,
                &[
                    Label::component("parse"),
                    Label::Instance(3),
                    Label::Detector("dga"),
                ],
            )
            .add(5);
        let h = metrics.histogram(&T, &[Label::component("parse")]);
        h.observe(0.5);
        h.observe(9.0);
        let json = serde_json::to_string(&Report::of(1, &metrics)).expect("JSON");
        let back: Report = serde_json::from_str(&json).expect("a report");
        let reports = Reports::default();
        reports.take(back);
        assert_eq!(reports.samples(), metrics.snapshot());
        assert_eq!(reports.ages()[0].0, 1);
    }

    #[test]
    fn what_this_binary_could_not_have_sent_is_dropped() {
        let sample = |name: &str, key: &str| WireSample {
            name: name.into(),
            help: "h".into(),
            labels: vec![(key.into(), "x".into())],
            value: WireValue::Counter(1),
        };
        assert!(sample("other_metric", "component").into_sample().is_none());
        assert!(sample("antimony_x_total", "domain").into_sample().is_none());
        assert!(
            sample("antimony_x_total", "instance")
                .into_sample()
                .is_none()
        );
        assert!(
            sample("antimony_x_total", "component")
                .into_sample()
                .is_some()
        );
        let bad_histogram = WireSample {
            value: WireValue::Histogram {
                bounds: vec![1.0],
                cumulative: vec![1],
                sum: 1.0,
            },
            ..sample("antimony_x_seconds", "component")
        };
        assert!(bad_histogram.into_sample().is_none());
    }
}
