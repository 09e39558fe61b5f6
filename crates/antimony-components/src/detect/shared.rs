//! The detectors every worker's `dns_detect` shares, and their threat-intel lists' reload
//! while the run goes on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use antimony_core::metrics::{Counter, CounterMetric, Label};
use antimony_core::{ConfigError, Context};
use antimony_detect::Detectors;
use antimony_detect::config::{DetectConfig, ListConfig};
use antimony_detect::detectors::threat_intel::ReloadError;
use tokio::sync::{Notify, watch};

use super::config::DetectBoltConfig;

/// Threat-intel list sets swapped in while running.
pub const LIST_RELOADS: CounterMetric = CounterMetric::new(
    "antimony_detect_list_reloads_total",
    "Times the threat-intel lists were read again (after a change, or on request) and swapped in.",
);
/// List changes not taken: a file that no longer reads or parses, or a list that shrank below
/// `reload_min_ratio`.
pub const LIST_RELOADS_REFUSED: CounterMetric = CounterMetric::new(
    "antimony_detect_list_reloads_refused_total",
    "Times changed lists were not taken (a file that no longer reads or parses, a list emptied or shrunk below reload_min_ratio), so the lists in force stayed.",
);
/// Entries reloads added, over all lists.
pub const LIST_ENTRIES_ADDED: CounterMetric = CounterMetric::new(
    "antimony_detect_list_entries_added_total",
    "Threat-intel list entries the reloads taken added, summed over lists.",
);
/// Entries reloads removed, over all lists.
pub const LIST_ENTRIES_REMOVED: CounterMetric = CounterMetric::new(
    "antimony_detect_list_entries_removed_total",
    "Threat-intel list entries the reloads taken removed, summed over lists.",
);

/// Requests to read the lists again at once: every watcher of the process subscribes, and
/// [`reload_lists_now`] bumps the value. A `watch` channel rather than a bare `Notify`: a
/// request made while a watcher is busy reloading is kept for it, not lost.
static RELOAD_NOW: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Asks every running list watcher of this process to read its threat-intel lists again at
/// once, without waiting for `reload_secs` and whether or not the files look changed; the
/// same guard applies (`reload_min_ratio`), and each reload is logged and counted as a
/// periodic one. Returns at once (the reloads run on the I/O runtime's blocking threads)
/// with the number of `dns_detect` components whose lists will be read again: 0 when none
/// reads a list file (no run, or only `builtin:` lists, which cannot change).
///
/// Meant for a SIGHUP handler; safe to call from any thread, with or without a Tokio
/// runtime. Watchers run even with `reload_secs = 0`, waiting for these requests only.
pub fn reload_lists_now() -> usize {
    RELOAD_NOW.send_modify(|requests| *requests = requests.wrapping_add(1));
    RELOAD_NOW.receiver_count()
}

#[derive(Clone)]
struct ReloadCounts {
    done: Counter,
    refused: Counter,
    added: Counter,
    removed: Counter,
}

/// The detectors every worker's bolt shares, and what reloading their lists needs.
pub struct SharedDetectors {
    detectors: Detectors,
    /// Bumped at each list reload, so bolts forget the names they cached as quiet.
    generation: AtomicU64,
    watching: AtomicBool,
    lists: Vec<ListConfig>,
    reload: Option<Duration>,
    min_ratio: f64,
    base_dir: PathBuf,
    /// The list files to watch (`builtin:` lists cannot change).
    files: Vec<PathBuf>,
    /// Their stamps just before they were first read.
    first_stamps: Vec<Stamp>,
    /// Told when the detectors are dropped, so the watcher ends with the run rather than at
    /// its next wake-up, which may never come with `reload_secs = 0`.
    closed: Arc<Notify>,
}

/// Builds the detectors, reading the files the configuration names relative to `base_dir`.
///
/// A list with no entries is taken (the run must start: the other lists and detectors still
/// work), with a warning: at start it is most likely a wrong path or format.
pub fn build(
    config: &DetectBoltConfig,
    base_dir: &Path,
) -> Result<Arc<SharedDetectors>, ConfigError> {
    config.validate()?;
    let files: Vec<PathBuf> = config
        .blocklists
        .iter()
        .filter(|l| !is_builtin(&l.path))
        .map(|l| base_dir.join(&l.path))
        .collect();
    // Stamped before reading, so a change made while the lists are read is seen by the
    // watcher as one.
    let first_stamps = stamps(&files);
    let detect = DetectConfig::from(config);
    let (detectors, report) = Detectors::build(&detect, |path| read(base_dir, path))
        .map_err(|e| ConfigError::new(e.to_string()))?;
    for (list, config) in report.lists.iter().zip(&config.blocklists) {
        if list.entries == 0 {
            tracing::warn!(
                list = %list.name,
                path = %config.path.display(),
                "threat-intel list `{}` has no entries ({} lines read, {} unusable): it matches nothing; check its path and format",
                list.name,
                list.lines,
                list.error_count
            );
        } else {
            tracing::info!(?list, "threat-intel list loaded");
        }
    }
    Ok(Arc::new(SharedDetectors {
        detectors,
        generation: AtomicU64::new(0),
        watching: AtomicBool::new(false),
        lists: config.blocklists.clone(),
        reload: (config.reload_secs > 0).then(|| Duration::from_secs(config.reload_secs)),
        min_ratio: config.reload_min_ratio,
        base_dir: base_dir.to_path_buf(),
        files,
        first_stamps,
        closed: Arc::new(Notify::new()),
    }))
}

impl Drop for SharedDetectors {
    fn drop(&mut self) {
        // `notify_one` keeps a permit when the watcher is not waiting yet (mid-reload).
        self.closed.notify_one();
    }
}

/// Why the lists are read again.
#[derive(Clone, Copy, Debug)]
enum Cause {
    /// A list file's modification time or length changed.
    Changed,
    /// [`reload_lists_now`].
    Requested,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::Changed => "file changed",
            Cause::Requested => "reload requested",
        }
    }
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
    /// polls the list files every `reload_secs` (not at all when 0) and answers
    /// [`reload_lists_now`]; with no list file (only `builtin:` lists) there is nothing to
    /// watch. It holds the detectors weakly and ends when they are dropped, with the run.
    pub fn watch(self: &Arc<Self>, ctx: &Context) {
        if self.files.is_empty() || self.watching.swap(true, Ordering::AcqRel) {
            return;
        }
        let labels = [Label::component(&ctx.component)];
        let counts = ReloadCounts {
            done: ctx.metrics.counter(&LIST_RELOADS, &labels),
            refused: ctx.metrics.counter(&LIST_RELOADS_REFUSED, &labels),
            added: ctx.metrics.counter(&LIST_ENTRIES_ADDED, &labels),
            removed: ctx.metrics.counter(&LIST_ENTRIES_REMOVED, &labels),
        };
        // Subscribed here, not in the task, so a request made from now on is not missed.
        let mut requests = RELOAD_NOW.subscribe();
        let closed = Arc::clone(&self.closed);
        let files = self.files.clone();
        let mut seen = self.first_stamps.clone();
        let period = self.reload;
        let shared = Arc::downgrade(self);
        antimony_io::runtime::handle().spawn(async move {
            // Polling the files' modification time and length, rather than inotify: it sees
            // a list replaced by rename (how feeds are usually updated), works on network
            // file systems, and costs a few `stat`s per period.
            let mut tick = period.map(|period| {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick
            });
            loop {
                let cause = tokio::select! {
                    () = closed.notified() => return,
                    Ok(()) = requests.changed() => Cause::Requested,
                    () = next_tick(&mut tick) => Cause::Changed,
                };
                let now = stamps(&files);
                if matches!(cause, Cause::Changed) && now == seen {
                    continue;
                }
                seen = now;
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let counts = counts.clone();
                // Reading and indexing a big list is blocking work.
                let _ =
                    tokio::task::spawn_blocking(move || shared.reload_lists(&counts, cause)).await;
            }
        });
    }

    /// Reads every list again and swaps the new set in, unless a file no longer reads or
    /// parses or a list shrank below `reload_min_ratio`: then the set in force stays whole.
    fn reload_lists(&self, counts: &ReloadCounts, cause: Cause) {
        let mut texts = Vec::with_capacity(self.lists.len());
        for list in &self.lists {
            match read(&self.base_dir, &list.path) {
                Ok(text) => texts.push((list.spec(), text)),
                Err(e) => {
                    tracing::warn!(path = %list.path.display(), error = %e, "threat-intel list `{}` not reloaded: the lists in force stay", list.name);
                    counts.refused.inc();
                    return;
                }
            }
        }
        let intel = self.detectors.threat_intel();
        let reloaded = intel.reload_guarded(
            texts.iter().map(|(spec, text)| (spec, text.as_str())),
            self.min_ratio,
        );
        match reloaded {
            Ok(reloaded) => {
                self.generation.fetch_add(1, Ordering::Release);
                counts.done.inc();
                for (change, report) in reloaded.changes.iter().zip(&reloaded.reports) {
                    counts.added.add(change.added as u64);
                    counts.removed.add(change.removed as u64);
                    tracing::info!(
                        list = %change.name,
                        cause = cause.as_str(),
                        entries = change.after,
                        added = change.added,
                        removed = change.removed,
                        unusable = report.error_count,
                        "threat-intel list `{}` reloaded: {} entries, {} added, {} removed",
                        change.name,
                        change.after,
                        change.added,
                        change.removed
                    );
                }
            }
            Err(ReloadError::Shrunk { shrunk, min_ratio }) => {
                counts.refused.inc();
                for change in &shrunk {
                    let path = self
                        .lists
                        .iter()
                        .find(|l| l.name == change.name)
                        .map(|l| l.path.display().to_string())
                        .unwrap_or_default();
                    tracing::warn!(
                        list = %change.name,
                        %path,
                        before = change.before,
                        after = change.after,
                        "threat-intel list `{}` not reloaded: it went from {} to {} entries, below reload_min_ratio = {min_ratio} of them; all lists in force stay. If it shrank on purpose, set reload_min_ratio = 0 in dns_detect or restart",
                        change.name,
                        change.before,
                        change.after
                    );
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "threat-intel lists not reloaded: the lists in force stay");
                counts.refused.inc();
            }
        }
    }
}

/// The next tick of the period, or never when there is none.
async fn next_tick(tick: &mut Option<tokio::time::Interval>) {
    match tick {
        Some(tick) => {
            tick.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Modification time and length of a file (`None` while it is missing, mid-replace).
type Stamp = Option<(SystemTime, u64)>;

fn is_builtin(path: &Path) -> bool {
    path.to_string_lossy().starts_with("builtin:")
}

/// The [`Stamp`] of each file.
fn stamps(files: &[PathBuf]) -> Vec<Stamp> {
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
