//! `GET /metrics`: every series of the run's registry in the OpenMetrics text format, which
//! Prometheus scrapes. The encoding (escaping, `_total`, cumulative buckets, `# EOF`) is
//! prometheus-client's; this module only hands it a snapshot, as a collector.

use antimony_core::metrics::{Kind, Sample, SampleValue};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The series of one scrape, sorted by metric.
#[derive(Debug)]
struct Snapshot(Vec<Sample>);

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in self.0.chunk_by(|a, b| a.name == b.name) {
            let first = &family[0];
            let (name, kind) = match first.kind {
                // The encoder appends `_total` to a counter's name.
                Kind::Counter => (
                    first.name.strip_suffix("_total").unwrap_or(first.name),
                    MetricType::Counter,
                ),
                Kind::Gauge => (first.name, MetricType::Gauge),
                Kind::Histogram => (first.name, MetricType::Histogram),
            };
            let mut metric = encoder.encode_descriptor(name, first.help, None, kind)?;
            for sample in family {
                let labels = labels(sample);
                let mut series = metric.encode_family(&labels)?;
                match &sample.value {
                    SampleValue::Counter(n) => {
                        series.encode_counter::<NoLabelSet, _, u64>(n, None)?;
                    }
                    SampleValue::Gauge(v) => series.encode_gauge(v)?,
                    SampleValue::Histogram {
                        buckets,
                        sum,
                        count,
                    } => {
                        // The registry's buckets are cumulative, the encoder's per bucket.
                        let mut below = 0;
                        let per_bucket: Vec<(f64, u64)> = buckets
                            .iter()
                            .map(|&(bound, cumulative)| {
                                let n = cumulative.saturating_sub(below);
                                below = cumulative;
                                (bound, n)
                            })
                            .collect();
                        series.encode_histogram::<NoLabelSet>(*sum, *count, &per_bucket, None)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A series' labels as key and value (bounded sets only: see `antimony_core::metrics`).
fn labels(sample: &Sample) -> Vec<(&'static str, String)> {
    sample.labels.iter().map(|l| (l.key(), l.value())).collect()
}

/// `samples` (a registry's snapshot, with other processes' in a cluster), as a scrape
/// answers them.
pub fn exposition(mut samples: Vec<Sample>) -> String {
    // One descriptor per metric: its series together.
    samples.sort_by(|a, b| a.name.cmp(b.name).then_with(|| a.labels.cmp(&b.labels)));
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot(samples)));
    let mut text = String::new();
    // Writing to a String cannot fail, nor can our collector.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use antimony_core::Metrics;
    use antimony_core::metrics::{CounterMetric, GaugeMetric, HistogramMetric, Label};

    #[test]
    fn every_kind_of_series_is_exposed() {
        const LINES: CounterMetric = CounterMetric::new("antimony_t_lines_total", "Lines.");
        const OPEN: GaugeMetric = GaugeMetric::new("antimony_t_open", "Open.");
        const TIME: HistogramMetric =
            HistogramMetric::new("antimony_t_seconds", "Time.", &[0.1, 1.0]);
        let metrics = Metrics::new();
        metrics
            .counter(&LINES, &[Label::component("a\"b"), Label::Instance(1)])
            .add(7);
        metrics.gauge(&OPEN, &[]).set(-2);
        let h = metrics.histogram(&TIME, &[Label::Detector("dga")]);
        h.observe(0.05);
        h.observe(0.5);
        h.observe(5.0);
        let text = exposition(metrics.snapshot());
        assert!(text.contains("# TYPE antimony_t_lines counter\n"), "{text}");
        assert!(
            text.contains("antimony_t_lines_total{component=\"a\\\"b\",instance=\"1\"} 7\n"),
            "{text}"
        );
        assert!(text.contains("antimony_t_open -2\n"), "{text}");
        assert!(
            text.contains("antimony_t_seconds_bucket{le=\"0.1\",detector=\"dga\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("antimony_t_seconds_bucket{le=\"1.0\",detector=\"dga\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("antimony_t_seconds_bucket{le=\"+Inf\",detector=\"dga\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("antimony_t_seconds_count{detector=\"dga\"} 3\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
