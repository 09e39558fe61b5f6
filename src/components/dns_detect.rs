//! The `dns_detect` bolt: every stateless detector, in one pass over each DNS event.

use std::path::Path;
use std::sync::Arc;

use antimony_detect::config::{DetectConfig, DgaConfig, KeywordsConfig, LengthConfig, ListConfig};
use antimony_detect::{Alert, Detectors};
use antimony_engine::{Bolt, Emitter};
use serde::Deserialize;

use crate::assets;
use crate::record::Tuple;

/// Options of `dns_detect`: the detector settings of [`DetectConfig`] (the dedup window
/// belongs to the `alert_dedup` bolt).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectBoltConfig {
    /// Threat-intelligence lists: `{ name, path, severity, score }`. A path of
    /// `builtin:maltrail` is the list bundled in the binary.
    pub blocklists: Vec<ListConfig>,
    /// Keyword rules.
    pub keywords: KeywordsConfig,
    /// DGA scoring.
    pub dga: DgaConfig,
    /// Long-name detection.
    pub length: LengthConfig,
}

impl From<&DetectBoltConfig> for DetectConfig {
    fn from(config: &DetectBoltConfig) -> Self {
        DetectConfig {
            blocklists: config.blocklists.clone(),
            keywords: config.keywords.clone(),
            dga: config.dga.clone(),
            length: config.length.clone(),
            ..DetectConfig::default()
        }
    }
}

/// Builds the detectors, reading the files the configuration names relative to `base_dir`.
pub fn build(config: &DetectBoltConfig, base_dir: &Path) -> Result<Arc<Detectors>, String> {
    let config = DetectConfig::from(config);
    let (detectors, report) =
        Detectors::build(&config, |path| read(base_dir, path)).map_err(|e| e.to_string())?;
    for list in &report.lists {
        tracing::info!(?list, "threat-intel list loaded");
    }
    Ok(Arc::new(detectors))
}

/// Reads a file the detector configuration names: `builtin:` names are bundled assets.
pub fn read(base_dir: &Path, path: &Path) -> std::io::Result<String> {
    if let Some(name) = path.to_str().and_then(|p| p.strip_prefix("builtin:")) {
        return assets::builtin_list(name)
            .map(str::to_owned)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "no built-in list `{name}` (built-in lists: {})",
                        assets::BUILTIN_LISTS.join(", ")
                    ),
                )
            });
    }
    std::fs::read_to_string(base_dir.join(path))
}

/// Runs the detectors on each event; emits one alert per finding.
///
/// Stateless detectors depend on the question name and type alone, and DNS traffic repeats
/// the same names over and over: names that raised nothing are remembered in a small
/// per-worker cache and not scored again. Names that alert are always run (their alerts need
/// the event's time and client), and are rare.
pub struct DetectBolt {
    detectors: Arc<Detectors>,
    alerts: Vec<Alert>,
    quiet: QuietCache,
}

impl DetectBolt {
    /// A bolt sharing `detectors` with the other workers' instances.
    pub fn new(detectors: Arc<Detectors>) -> Self {
        DetectBolt {
            detectors,
            alerts: Vec::new(),
            quiet: QuietCache::new(),
        }
    }
}

impl Bolt<Tuple> for DetectBolt {
    fn process(&mut self, record: &mut Tuple, out: &mut Emitter<'_, Tuple>) {
        let Tuple::Dns(event) = record else { return };
        let slot = self.quiet.slot(&event.qname, event.qtype);
        if self.quiet.holds(slot, &event.qname, event.qtype) {
            return;
        }
        if self.detectors.run(event, &mut self.alerts) > 0 {
            for alert in self.alerts.drain(..) {
                out.emit(Tuple::Alert(Box::new(alert)));
            }
        } else {
            self.quiet.remember(slot, &event.qname, event.qtype);
        }
    }
}

/// Names (with their question type) that raised nothing: a direct-mapped table, a name per
/// slot, the newest winning. Slots are chosen with a per-process random hash key, and a hit
/// compares the whole name, so no crafted name can pass for a cached one.
struct QuietCache {
    hasher: ahash::RandomState,
    slots: Vec<Option<(u16, Box<str>)>>,
}

/// Slots in the cache (a power of two): about 4 MB per worker at typical name lengths.
const QUIET_SLOTS: usize = 1 << 16;

impl QuietCache {
    fn new() -> Self {
        QuietCache {
            hasher: ahash::RandomState::new(),
            slots: vec![None; QUIET_SLOTS],
        }
    }

    fn slot(&self, qname: &str, qtype: u16) -> usize {
        (self.hasher.hash_one((qname, qtype)) as usize) & (QUIET_SLOTS - 1)
    }

    fn holds(&self, slot: usize, qname: &str, qtype: u16) -> bool {
        matches!(&self.slots[slot], Some((t, n)) if *t == qtype && &**n == qname)
    }

    fn remember(&mut self, slot: usize, qname: &str, qtype: u16) {
        self.slots[slot] = Some((qtype, qname.into()));
    }
}
