//! The `alert_dedup` bolt: one alert per (detector, client, domain) per window.
//!
//! Deterministic whatever the number of workers: it reads its input with a fields grouping on
//! the key, buffers the candidates of an epoch and decides when the epoch ends (see
//! [`antimony_detect::Deduper`]).

use antimony_core::{Bolt, Emitter};
use antimony_detect::config::DedupConfig;
use antimony_detect::{Alert, Deduper};

use crate::record::Tuple;

/// Deduplicates alerts per window.
pub struct DedupBolt {
    deduper: Deduper,
    window_micros: i64,
    kept: Vec<Alert>,
}

impl DedupBolt {
    /// A deduper with these settings.
    pub fn new(config: &DedupConfig) -> Self {
        DedupBolt {
            deduper: Deduper::new(config),
            window_micros: config.window_micros(),
            kept: Vec::new(),
        }
    }
}

impl Bolt<Tuple> for DedupBolt {
    fn process(&mut self, record: &mut Tuple, _out: &mut Emitter<'_, Tuple>) {
        if let Tuple::Alert(alert) = std::mem::take(record) {
            self.deduper.offer(*alert);
        }
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, Tuple>) {
        self.deduper.end_epoch(&mut self.kept);
        for mut alert in self.kept.drain(..) {
            // The id names this bolt's window, whatever window the detector assumed.
            alert.id = Alert::stable_id(
                &alert.detector,
                alert.client,
                &alert.domain,
                alert.ts,
                self.window_micros,
            );
            out.emit(Tuple::Alert(Box::new(alert)));
        }
    }
}
