//! The `dns_detect` bolt: every stateless detector, in one pass over each DNS event.

pub mod config;
pub mod explain;
pub mod shared;

use std::borrow::Cow;
use std::sync::Arc;

use antimony_core::metrics::{Counter, CounterMetric, Label};
use antimony_core::{Bolt, Context, Emitter};
use antimony_detect::{Alert, QuietNames};

pub use self::config::DetectBoltConfig;
pub use self::shared::{SharedDetectors, build, read, reload_lists_now};
use crate::record::Tuple;

/// Runs the detectors on each event; emits one alert per finding.
///
/// Alerts a stateless detector raised.
pub const ALERTS: CounterMetric = CounterMetric::new(
    "antimony_detect_alerts_total",
    "Alerts the stateless detectors raised, before deduplication.",
);

/// Events that raised no alert.
pub const QUIET: CounterMetric = CounterMetric::new(
    "antimony_detect_events_quiet_total",
    "Events no stateless detector alerted on (events in = quiet + alerting).",
);
/// Events that raised at least one alert.
pub const ALERTING: CounterMetric = CounterMetric::new(
    "antimony_detect_events_alerting_total",
    "Events that raised at least one alert (each may raise several).",
);

/// Names that raised nothing are remembered per worker and not scored again
/// ([`QuietNames`]); a list reload starts the memory afresh.
pub struct DetectBolt {
    shared: Arc<SharedDetectors>,
    alerts: Vec<Alert>,
    quiet: QuietNames,
    generation: u64,
    /// Alerts per detector, registered as detectors first fire.
    alert_counts: Vec<(&'static str, Counter)>,
    ctx: Option<Context>,
    /// Quiet and alerting events since the last count was published.
    quiet_events: u64,
    alerting_events: u64,
    quiet_count: Counter,
    alerting_count: Counter,
}

impl DetectBolt {
    /// A bolt sharing `shared` with the other workers' instances.
    pub fn new(shared: Arc<SharedDetectors>) -> Self {
        DetectBolt {
            generation: shared.generation(),
            shared,
            alerts: Vec::new(),
            quiet: QuietNames::new(),
            alert_counts: Vec::new(),
            ctx: None,
            quiet_events: 0,
            alerting_events: 0,
            quiet_count: Counter::default(),
            alerting_count: Counter::default(),
        }
    }
}

impl Bolt<Tuple> for DetectBolt {
    fn on_start(&mut self, ctx: &Context) {
        self.shared.watch(ctx);
        self.quiet_count = ctx.counter(&QUIET, &[]);
        self.alerting_count = ctx.counter(&ALERTING, &[]);
        self.ctx = Some(ctx.clone());
    }

    fn process(&mut self, record: &mut Tuple, out: &mut Emitter<'_, Tuple>) {
        let Tuple::Dns(event) = record else { return };
        // A reloaded list may hold a name cached as quiet: start the cache afresh.
        let generation = self.shared.generation();
        if generation != self.generation {
            self.generation = generation;
            self.quiet.clear();
        }
        if self
            .quiet
            .run(self.shared.detectors(), event, &mut self.alerts)
            == 0
        {
            self.quiet_events += 1;
        } else {
            self.alerting_events += 1;
            for alert in self.alerts.drain(..) {
                if let (Cow::Borrowed(detector), Some(ctx)) = (&alert.detector, &self.ctx) {
                    count_alert(&mut self.alert_counts, ctx, detector);
                }
                out.emit(Tuple::Alert(Box::new(alert)));
            }
        }
    }

    fn on_epoch_end(&mut self, _epoch: u64, _out: &mut Emitter<'_, Tuple>) {
        self.publish();
    }

    fn on_close(&mut self, _out: &mut Emitter<'_, Tuple>) {
        self.publish();
    }
}

impl DetectBolt {
    /// Adds the events counted since the last time to the registry: once per epoch, not
    /// once per event.
    fn publish(&mut self) {
        self.quiet_count.add(std::mem::take(&mut self.quiet_events));
        self.alerting_count
            .add(std::mem::take(&mut self.alerting_events));
    }
}

/// Counts one alert of `detector`, registering its series on its first alert (detectors are
/// few, alerts rare: a short list beats a map).
fn count_alert(counts: &mut Vec<(&'static str, Counter)>, ctx: &Context, detector: &'static str) {
    match counts.iter().find(|(name, _)| *name == detector) {
        Some((_, counter)) => counter.inc(),
        None => {
            let counter = ctx.counter(&ALERTS, &[Label::Detector(detector)]);
            counter.inc();
            counts.push((detector, counter));
        }
    }
}
