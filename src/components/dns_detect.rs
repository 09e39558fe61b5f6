//! The `dns_detect` bolt: every stateless detector, in one pass over each DNS event.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use antimony_core::{Bolt, ConfigError, Context, Emitter};
use antimony_detect::config::{
    AllowConfig, DetectConfig, DgaConfig, KeywordsConfig, LengthConfig, ListConfig, ScoringConfig,
};
use antimony_detect::detectors::lookalike::LookalikeConfig;
use antimony_detect::detectors::suspicious::SuspiciousConfig;
use antimony_detect::{Alert, Detectors};
use serde::Deserialize;

use crate::assets;
use crate::record::Tuple;

/// Options of `dns_detect`: the detector settings of [`DetectConfig`] (the dedup window
/// belongs to the `alert_dedup` bolt).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectBoltConfig {
    /// Threat-intelligence lists: `{ name, path, format, category, severity, score }`. A
    /// path of `builtin:maltrail` is the list bundled in the binary.
    pub blocklists: Vec<ListConfig>,
    /// Seconds between checks of the list files for changes (default 5; 0: never). A
    /// changed list set is loaded whole and swapped in while the run goes on; if a file no
    /// longer parses, the lists in force stay and the error is logged.
    pub reload_secs: u64,
    /// Keyword rules.
    pub keywords: KeywordsConfig,
    /// DGA scoring.
    pub dga: DgaConfig,
    /// Long-name detection.
    pub length: LengthConfig,
    /// Lookalikes of protected brands (`brands = [...]` or `brands_path`).
    pub lookalike: LookalikeConfig,
    /// Dynamic-DNS, free-hosting and tunnel-service suffixes.
    pub suspicious: SuspiciousConfig,
    /// Registered domains and suffixes nothing fires on.
    pub allow: AllowConfig,
    /// How findings on one name combine.
    pub scoring: ScoringConfig,
}

impl Default for DetectBoltConfig {
    fn default() -> Self {
        let detect = DetectConfig::default();
        DetectBoltConfig {
            blocklists: detect.blocklists,
            reload_secs: 5,
            keywords: detect.keywords,
            dga: detect.dga,
            length: detect.length,
            lookalike: detect.lookalike,
            suspicious: detect.suspicious,
            allow: detect.allow,
            scoring: detect.scoring,
        }
    }
}

impl From<&DetectBoltConfig> for DetectConfig {
    fn from(config: &DetectBoltConfig) -> Self {
        DetectConfig {
            blocklists: config.blocklists.clone(),
            keywords: config.keywords.clone(),
            dga: config.dga.clone(),
            length: config.length.clone(),
            lookalike: config.lookalike.clone(),
            suspicious: config.suspicious.clone(),
            allow: config.allow.clone(),
            scoring: config.scoring.clone(),
            ..DetectConfig::default()
        }
    }
}

/// The detectors every worker's bolt shares, and what reloading their lists needs.
pub struct SharedDetectors {
    detectors: Detectors,
    /// Bumped at each list reload, so bolts forget the names they cached as quiet.
    generation: AtomicU64,
    watching: AtomicBool,
    lists: Vec<ListConfig>,
    reload: Option<Duration>,
    base_dir: PathBuf,
}

/// Builds the detectors, reading the files the configuration names relative to `base_dir`.
pub fn build(
    config: &DetectBoltConfig,
    base_dir: &Path,
) -> Result<Arc<SharedDetectors>, ConfigError> {
    let detect = DetectConfig::from(config);
    let (detectors, report) = Detectors::build(&detect, |path| read(base_dir, path))
        .map_err(|e| ConfigError::new(e.to_string()))?;
    for list in &report.lists {
        tracing::info!(?list, "threat-intel list loaded");
    }
    Ok(Arc::new(SharedDetectors {
        detectors,
        generation: AtomicU64::new(0),
        watching: AtomicBool::new(false),
        lists: config.blocklists.clone(),
        reload: (config.reload_secs > 0).then(|| Duration::from_secs(config.reload_secs)),
        base_dir: base_dir.to_path_buf(),
    }))
}

impl SharedDetectors {
    /// Starts the list watcher on the run's Tokio runtime, once per process. It holds the
    /// detectors weakly, so it ends with the run.
    fn watch(self: &Arc<Self>) {
        let Some(period) = self.reload else { return };
        let files: Vec<PathBuf> = self
            .lists
            .iter()
            .filter(|l| !l.path.to_string_lossy().starts_with("builtin:"))
            .map(|l| self.base_dir.join(&l.path))
            .collect();
        if files.is_empty() || self.watching.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = Arc::downgrade(self);
        antimony_io::runtime::handle().spawn(async move {
            // Polling the files' modification time and length, rather than inotify: it sees
            // a list replaced by rename (how feeds are usually updated), works on network
            // file systems, and costs a few `stat`s per period.
            let mut seen = stamps(&files);
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let now = stamps(&files);
                if now != seen {
                    seen = now;
                    let shared = Arc::clone(&shared);
                    // Reading and indexing a big list is blocking work.
                    let _ = tokio::task::spawn_blocking(move || shared.reload_lists()).await;
                }
            }
        });
    }

    /// Reads every list again and swaps the new set in; on an error the old set stays.
    fn reload_lists(&self) {
        let mut texts = Vec::with_capacity(self.lists.len());
        for list in &self.lists {
            match read(&self.base_dir, &list.path) {
                Ok(text) => texts.push((list.spec(), text)),
                Err(e) => {
                    tracing::warn!(path = %list.path.display(), error = %e, "list not reloaded: the lists in force stay");
                    return;
                }
            }
        }
        let intel = self.detectors.threat_intel();
        match intel.reload(texts.iter().map(|(spec, text)| (spec, text.as_str()))) {
            Ok(reports) => {
                self.generation.fetch_add(1, Ordering::Release);
                for list in reports {
                    tracing::info!(?list, "threat-intel list reloaded");
                }
            }
            Err(e) => tracing::warn!(error = %e, "lists not reloaded: the lists in force stay"),
        }
    }
}

/// Modification time and length of each file (`None` while one is missing, mid-replace).
fn stamps(files: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(f).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
        .collect()
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
    shared: Arc<SharedDetectors>,
    alerts: Vec<Alert>,
    quiet: QuietCache,
    generation: u64,
}

impl DetectBolt {
    /// A bolt sharing `shared` with the other workers' instances.
    pub fn new(shared: Arc<SharedDetectors>) -> Self {
        DetectBolt {
            generation: shared.generation.load(Ordering::Acquire),
            shared,
            alerts: Vec::new(),
            quiet: QuietCache::new(),
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
        let generation = self.shared.generation.load(Ordering::Acquire);
        if generation != self.generation {
            self.generation = generation;
            self.quiet.clear();
        }
        let slot = self.quiet.slot(&event.qname, event.qtype);
        if self.quiet.holds(slot, &event.qname, event.qtype) {
            return;
        }
        if self.shared.detectors.run(event, &mut self.alerts) > 0 {
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

    fn clear(&mut self) {
        self.slots.fill(None);
    }

    fn remember(&mut self, slot: usize, qname: &str, qtype: u16) {
        self.slots[slot] = Some((qtype, qname.into()));
    }
}
