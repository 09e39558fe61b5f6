//! Running a topology on timely-dataflow workers.
//!
//! The run maps the topology onto one timely dataflow per worker: each spout is a source
//! operator, each bolt an operator with two outputs (records and dead letters), each grouping
//! an exchange between workers. Timestamps are *epochs*: every batch a spout emits opens a new
//! one, and the spout waits while too many epochs are unfinished downstream, which bounds the
//! memory in flight and lets a slow sink slow the source down. All timely code lives in
//! `dataflow.rs`; the cluster's connections, made before timely starts, in `cluster/`.

pub mod checkpoint;
pub mod cluster;
mod dataflow;
mod panic;
mod report;
mod stats;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use antimony_core::metrics::Metrics;
use antimony_core::{LineOutput, Record};

pub use cluster::{ClusterConfig, ClusterError};
pub use report::{ComponentFailure, RunReport, short_name};
pub use stats::{
    ACTIVATION_TIME, BACKPRESSURE_TIME, BACKPRESSURED, BACKPRESSURED_SINCE, ComponentStats,
    DEAD_LETTERS, EMITTED, ENGINE_SERIES, EPOCHS_IN_FLIGHT, PANICS, RECEIVED,
};

use crate::error::RunError;
use crate::topology::Topology;

/// Where set-aside records go: a name for messages, and how to open it (on worker 0 only,
/// when the run starts).
#[derive(Clone)]
pub struct DeadLetterOutput {
    /// The output's name (a path, `standard output`).
    pub name: String,
    /// Opens the output.
    pub open: Arc<dyn Fn() -> io::Result<Box<dyn LineOutput>> + Send + Sync>,
}

impl DeadLetterOutput {
    /// An output called `name`, opened by `open`.
    pub fn new(
        name: impl Into<String>,
        open: impl Fn() -> io::Result<Box<dyn LineOutput>> + Send + Sync + 'static,
    ) -> Self {
        DeadLetterOutput {
            name: name.into(),
            open: Arc::new(open),
        }
    }
}

impl fmt::Debug for DeadLetterOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DeadLetterOutput").field(&self.name).finish()
    }
}

/// How to run a topology.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Worker threads in this process.
    pub workers: usize,
    /// Epochs a spout may have unfinished downstream before it waits (the memory bound:
    /// at most this many of its batches are in flight).
    pub max_epochs_in_flight: u64,
    /// Where set-aside records go; `None` counts them only.
    pub dead_letter: Option<DeadLetterOutput>,
    /// Several processes, when set (timely's cluster mode).
    pub cluster: Option<ClusterConfig>,
    /// The directory relative paths are resolved against.
    pub base_dir: PathBuf,
    /// The registry the run's series go to (the engine's counts, and every component's own):
    /// keep a clone to read them while the run goes on.
    pub metrics: Metrics,
    /// The last lines the sinks write, of the kinds it watches (none by default).
    pub feed: antimony_core::Feed,
    /// Checkpoints: where, how often; the run resumes from the last complete one there
    /// (none by default).
    pub checkpoint: Option<checkpoint::CheckpointConfig>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            workers: 1,
            max_epochs_in_flight: 32,
            dead_letter: None,
            cluster: None,
            base_dir: PathBuf::from("."),
            metrics: Metrics::new(),
            feed: antimony_core::Feed::default(),
            checkpoint: None,
        }
    }
}

/// Controls a run from another thread (a signal, the Topology Master, a test): stop it (the
/// spouts stop at their next poll and what is in flight drains), or pause and resume its
/// sources (a paused spout is not polled; what is in flight finishes; nothing is lost).
#[derive(Clone, Debug, Default)]
pub struct StopHandle {
    stopped: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
}

impl StopHandle {
    /// Asks the run to stop.
    pub fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the run was asked to stop.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Pauses the sources (Storm's deactivate): nothing more is read until [`resume`].
    ///
    /// [`resume`]: StopHandle::resume
    pub fn pause(&self) {
        self.paused.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Resumes paused sources (Storm's activate).
    pub fn resume(&self) {
        self.paused
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the sources are paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(std::sync::atomic::Ordering::Relaxed)
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
    panic::install_hook();
    let started = Instant::now();
    let components: Vec<(String, String, bool)> = topology
        .components
        .iter()
        .map(|c| {
            let spout = matches!(c.node, crate::topology::Node::Spout(_));
            (c.name.clone(), c.type_name().to_owned(), spout)
        })
        .collect();
    let topology_name = topology.name.clone();
    let metrics = config.metrics.clone();
    let failures = dataflow::execute(topology, &config, stop)?;
    Ok(RunReport {
        topology: topology_name,
        components: ComponentStats::all(&components, &metrics),
        metrics: metrics.snapshot(),
        elapsed: started.elapsed(),
        failures,
    })
}
