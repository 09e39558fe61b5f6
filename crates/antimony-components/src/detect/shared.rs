//! The detectors every worker's `dns_detect` shares, and their threat-intel lists' reload
//! while the run goes on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use antimony_core::metrics::{Counter, CounterMetric, Label};
use antimony_core::{ConfigError, Context};
use antimony_detect::Detectors;
use antimony_detect::config::{DetectConfig, ListConfig};

use super::config::DetectBoltConfig;

/// Threat-intel list sets swapped in while running.
pub const LIST_RELOADS: CounterMetric = CounterMetric::new(
    "antimony_detect_list_reloads_total",
    "Times the threat-intel lists were read again after a change and swapped in.",
);
/// List changes not taken: a file that no longer reads or parses.
pub const LIST_RELOADS_REFUSED: CounterMetric = CounterMetric::new(
    "antimony_detect_list_reloads_refused_total",
    "Times a changed list could not be read or parsed, so the lists in force stayed.",
);

#[derive(Clone)]
struct ReloadCounts {
    done: Counter,
    refused: Counter,
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
    /// The detectors.
    pub fn detectors(&self) -> &Detectors {
        &self.detectors
    }

    /// Bumped at each list reload: a worker's memory of quiet names must be cleared when it
    /// changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Starts the list watcher on the I/O runtime, once per process, counting its reloads
    /// in `ctx`'s registry (per component: the lists are the process's, not a worker's). It
    /// holds the detectors weakly, so it ends with the run.
    pub fn watch(self: &Arc<Self>, ctx: &Context) {
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
        let labels = [Label::component(&ctx.component)];
        let counts = ReloadCounts {
            done: ctx.metrics.counter(&LIST_RELOADS, &labels),
            refused: ctx.metrics.counter(&LIST_RELOADS_REFUSED, &labels),
        };
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
                    let counts = counts.clone();
                    let _ = tokio::task::spawn_blocking(move || shared.reload_lists(&counts)).await;
                }
            }
        });
    }

    /// Reads every list again and swaps the new set in; on an error the old set stays.
    fn reload_lists(&self, counts: &ReloadCounts) {
        let mut texts = Vec::with_capacity(self.lists.len());
        for list in &self.lists {
            match read(&self.base_dir, &list.path) {
                Ok(text) => texts.push((list.spec(), text)),
                Err(e) => {
                    tracing::warn!(path = %list.path.display(), error = %e, "list not reloaded: the lists in force stay");
                    counts.refused.inc();
                    return;
                }
            }
        }
        let intel = self.detectors.threat_intel();
        match intel.reload(texts.iter().map(|(spec, text)| (spec, text.as_str()))) {
            Ok(reports) => {
                self.generation.fetch_add(1, Ordering::Release);
                counts.done.inc();
                for list in reports {
                    tracing::info!(?list, "threat-intel list reloaded");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "lists not reloaded: the lists in force stay");
                counts.refused.inc();
            }
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
        return crate::builtin::builtin_list(name)
            .map(str::to_owned)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "no built-in list `{name}` (built-in lists: {})",
                        crate::builtin::BUILTIN_LISTS.join(", ")
                    ),
                )
            });
    }
    std::fs::read_to_string(base_dir.join(path))
}
