//! Running a topology on timely-dataflow workers.
//!
//! The run maps the topology onto one timely dataflow per worker: each spout is a source
//! operator, each bolt an operator with two outputs (records and dead letters), each grouping
//! an exchange between workers. Timestamps are *epochs*: every batch a spout emits opens a new
//! one, and the spout waits while too many epochs are unfinished downstream, which bounds the
//! memory in flight and lets a slow sink slow the source down. All timely code lives in
//! [`dataflow`].

mod dataflow;
mod panic;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

pub use stats::{ComponentCounters, ComponentStats};

use crate::error::RunError;
use crate::line_writer::LineTarget;
use crate::record::Record;
use crate::topology::Topology;

/// How to run a topology.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Worker threads in this process.
    pub workers: usize,
    /// Epochs a spout may have unfinished downstream before it waits (the memory bound:
    /// at most this many of its batches are in flight).
    pub max_epochs_in_flight: u64,
    /// Where set-aside records go; `None` counts them only.
    pub dead_letter: Option<LineTarget>,
    /// Several processes, when set (timely's cluster mode).
    pub cluster: Option<ClusterConfig>,
    /// The directory relative paths are resolved against.
    pub base_dir: PathBuf,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            workers: 1,
            max_epochs_in_flight: 32,
            dead_letter: None,
            cluster: None,
            base_dir: PathBuf::from("."),
        }
    }
}

/// This process's place among several, for timely's cluster mode.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// This process's index, from 0.
    pub process: usize,
    /// `host:port` of every process, in index order.
    pub addresses: Vec<String>,
}

/// What a run did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunReport {
    /// The topology's name.
    pub topology: String,
    /// Per component, in topology order (this process's share in cluster mode).
    pub components: Vec<ComponentStats>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl RunReport {
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

/// A handle to stop a run from another thread (Ctrl-C, a test): spouts stop at their next poll
/// and what is in flight drains.
#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the run to stop.
    pub fn stop(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A live view of a run's counters, for a progress display or a status endpoint: clone it,
/// hand it to [`run_monitored`], and read [`Monitor::snapshot`] from another thread.
#[derive(Clone, Debug, Default)]
pub struct Monitor(Arc<std::sync::OnceLock<LiveCounters>>);

#[derive(Debug)]
struct LiveCounters {
    components: Vec<(String, String, bool)>,
    counters: Arc<Vec<ComponentCounters>>,
}

impl Monitor {
    /// The counters so far (empty before the run starts).
    pub fn snapshot(&self) -> Vec<ComponentStats> {
        match self.0.get() {
            Some(live) => live
                .components
                .iter()
                .zip(live.counters.iter())
                .map(|((name, type_name, spout), c)| c.snapshot(name, type_name, *spout))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// Runs `topology` to completion: until every spout is finished and every record is through.
pub fn run<R: Record>(topology: Topology<R>, config: RunConfig) -> Result<RunReport, RunError> {
    run_with_stop(topology, config, StopHandle::default())
}

/// Like [`run`], stoppable through `stop`.
pub fn run_with_stop<R: Record>(
    topology: Topology<R>,
    config: RunConfig,
    stop: StopHandle,
) -> Result<RunReport, RunError> {
    run_monitored(topology, config, stop, &Monitor::default())
}

/// Like [`run_with_stop`], with live counters in `monitor`.
pub fn run_monitored<R: Record>(
    topology: Topology<R>,
    config: RunConfig,
    stop: StopHandle,
    monitor: &Monitor,
) -> Result<RunReport, RunError> {
    panic::install_hook();
    let started = Instant::now();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("antimony-io")
        .enable_all()
        .build()
        .map_err(|e| RunError::Start(format!("cannot start the I/O runtime: {e}")))?;
    let counters: Arc<Vec<ComponentCounters>> = Arc::new(
        topology
            .components
            .iter()
            .map(|_| ComponentCounters::default())
            .collect(),
    );
    let names: Vec<(String, String, bool)> = topology
        .components
        .iter()
        .map(|c| {
            let spout = matches!(c.node, crate::topology::Node::Spout(_));
            (c.name.clone(), c.type_name().to_owned(), spout)
        })
        .collect();
    let topology_name = topology.name.clone();
    let _ = monitor.0.set(LiveCounters {
        components: names.clone(),
        counters: Arc::clone(&counters),
    });
    dataflow::execute(
        topology,
        &config,
        tokio.handle().clone(),
        Arc::clone(&counters),
        stop,
    )?;
    tokio.shutdown_timeout(Duration::from_secs(5));
    Ok(RunReport {
        topology: topology_name,
        components: names
            .iter()
            .zip(counters.iter())
            .map(|((name, type_name, spout), c)| c.snapshot(name, type_name, *spout))
            .collect(),
        elapsed: started.elapsed(),
    })
}
