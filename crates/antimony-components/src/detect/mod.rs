//! The `dns_detect` bolt: every stateless detector, in one pass over each DNS event.

pub mod config;
pub mod shared;

use std::sync::Arc;

use antimony_core::{Bolt, Context, Emitter};
use antimony_detect::{Alert, QuietNames};

pub use self::config::DetectBoltConfig;
pub use self::shared::{SharedDetectors, build, read};
use crate::record::Tuple;

/// Runs the detectors on each event; emits one alert per finding.
///
/// Names that raised nothing are remembered per worker and not scored again
/// ([`QuietNames`]); a list reload starts the memory afresh.
pub struct DetectBolt {
    shared: Arc<SharedDetectors>,
    alerts: Vec<Alert>,
    quiet: QuietNames,
    generation: u64,
}

impl DetectBolt {
    /// A bolt sharing `shared` with the other workers' instances.
    pub fn new(shared: Arc<SharedDetectors>) -> Self {
        DetectBolt {
            generation: shared.generation(),
            shared,
            alerts: Vec::new(),
            quiet: QuietNames::new(),
        }
    }
}

impl Bolt<Tuple> for DetectBolt {
    fn on_start(&mut self, _ctx: &Context) {
        self.shared.watch();
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
                out.emit(Tuple::Alert(Box::new(alert)));
            }
        }
    }
}
