//! The `dns_detect` bolt: every stateless detector, in one pass over each DNS event.

pub mod config;
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
        }
    }
}

impl Bolt<Tuple> for DetectBolt {
    fn on_start(&mut self, ctx: &Context) {
        self.shared.watch(ctx);
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
            > 0
        {
            for alert in self.alerts.drain(..) {
                if let (Cow::Borrowed(detector), Some(ctx)) = (&alert.detector, &self.ctx) {
                    count_alert(&mut self.alert_counts, ctx, detector);
                }
                out.emit(Tuple::Alert(Box::new(alert)));
            }
        }
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
