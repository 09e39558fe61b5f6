//! [`RunReport`]: what a run did, and its summary for a person.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use antimony_core::metrics::{Kind, Sample};

use super::stats::{ComponentStats, ENGINE_SERIES};

/// A component that said it could not go on (see `Emitter::fail`): the run stopped its
/// sources and drained.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ComponentFailure {
    /// The component.
    pub component: String,
    /// Why, for a person.
    pub reason: String,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The topology's name.
    pub topology: String,
    /// The engine's counts per component, in topology order (this process's share in
    /// cluster mode).
    pub components: Vec<ComponentStats>,
    /// Every series of the run's registry at its end: the engine's and the components' own.
    pub metrics: Vec<Sample>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Components that could not go on (a sink whose output is gone), in the order they
    /// said so; the run stopped its sources at the first and drained. Empty for a clean run.
    pub failures: Vec<ComponentFailure>,
}

impl RunReport {
    /// A table of what each component did, for a person: the engine's counts (records in,
    /// out, set aside, panics caught), then under each component every series of its own
    /// (a parser's lines, a detector's keys held, expired and evicted, a deduplicator's
    /// suppressed alerts...), summed over this process's instances.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "  {:<12} {:<14} {:>10} {:>10} {:>10} {:>7}\n",
            "component", "type", "in", "out", "set aside", "panics"
        );
        let own = self.component_series();
        for c in &self.components {
            // Spouts receive nothing: show a dash rather than a misleading zero.
            let received = match c.spout {
                true => "-".to_owned(),
                false => c.received.to_string(),
            };
            let _ = writeln!(
                out,
                "  {:<12} {:<14} {:>10} {:>10} {:>10} {:>7}",
                c.name, c.type_name, received, c.emitted, c.dead_letters, c.panics
            );
            for (labels, values) in own.get(c.name.as_str()).into_iter().flatten() {
                let values: Vec<String> = values
                    .iter()
                    .map(|(name, v)| format!("{name} {v}"))
                    .collect();
                match labels.is_empty() {
                    true => {
                        let _ = writeln!(out, "      {}", values.join(", "));
                    }
                    false => {
                        let _ = writeln!(out, "      {labels}: {}", values.join(", "));
                    }
                }
            }
        }
        out
    }

    /// The components' own counters and gauges (not the engine's), summed over instances:
    /// component -> labels -> (short name, value), in registration order.
    #[allow(clippy::type_complexity)]
    fn component_series(&self) -> BTreeMap<&str, Vec<(String, Vec<(String, u64)>)>> {
        let mut by_component: BTreeMap<&str, Vec<(String, Vec<(String, u64)>)>> = BTreeMap::new();
        for sample in &self.metrics {
            let (Some(component), Some(value)) = (sample.component(), sample.value.as_count())
            else {
                continue;
            };
            if ENGINE_SERIES.contains(&sample.name) || sample.kind == Kind::Histogram {
                continue;
            }
            let labels: Vec<String> = sample.detail_labels().iter().map(|l| l.value()).collect();
            let labels = labels.join(" ");
            let name = short_name(sample.name);
            let groups = by_component.entry(component).or_default();
            let i = match groups.iter().position(|(l, _)| *l == labels) {
                Some(i) => i,
                None => {
                    groups.push((labels, Vec::new()));
                    groups.len() - 1
                }
            };
            let group = &mut groups[i].1;
            match group.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => *total += value,
                None => group.push((name, value)),
            }
        }
        by_component
    }

    /// Total records set aside by all components.
    pub fn dead_letters(&self) -> u64 {
        self.components.iter().map(|c| c.dead_letters).sum()
    }

    /// Total panics caught.
    pub fn panics(&self) -> u64 {
        self.components.iter().map(|c| c.panics).sum()
    }

    /// Whether the named component is a spout.
    pub fn is_spout(&self, name: &str) -> bool {
        self.component(name).is_some_and(|c| c.spout)
    }

    /// The stats of one component.
    pub fn component(&self, name: &str) -> Option<&ComponentStats> {
        self.components.iter().find(|c| c.name == name)
    }
}

/// `antimony_dedup_keys_evicted_total` -> `keys evicted` (the metric's own words, without
/// its crate-wide prefix, its component prefix and its unit).
pub fn short_name(metric: &str) -> String {
    let name = metric.strip_prefix("antimony_").unwrap_or(metric);
    let name = name.strip_suffix("_total").unwrap_or(name);
    let name = match name.split_once('_') {
        Some((_, rest)) if !rest.is_empty() => rest,
        _ => name,
    };
    name.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_keep_the_words_that_matter() {
        assert_eq!(
            short_name("antimony_dedup_keys_evicted_total"),
            "keys evicted"
        );
        assert_eq!(short_name("antimony_parse_sources"), "sources");
        assert_eq!(short_name("antimony_stateful_alerts_total"), "alerts");
    }
}
