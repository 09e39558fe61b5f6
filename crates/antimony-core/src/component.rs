//! Spouts and bolts: the traits custom components implement, and what the engine hands them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::feed::Feed;
use crate::metrics::{
    Counter, CounterMetric, Gauge, GaugeMetric, Histogram, HistogramMetric, Label, Metrics,
};
use crate::record::Record;

/// A record set aside, with the reason: a line that does not parse, a record a bolt panicked on.
///
/// Nothing is dropped silently: every record a component cannot handle becomes one of these,
/// counted per component and written to the dead-letter output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The component that set the record aside.
    pub component: String,
    /// Where the record came from, when known (`file:line`, `packet 12`).
    pub location: Option<String>,
    /// Why it was set aside.
    pub reason: String,
    /// The record, or as much of it as is useful to a person (truncated when long).
    pub record: String,
}

/// Where a component writes its output: records for downstream components, and dead letters.
///
/// Emitting only appends to a buffer; the engine hands the buffer to the dataflow once the
/// component returns, so emitting costs no more than a `Vec::push`.
pub struct Emitter<'a, R> {
    records: &'a mut Vec<R>,
    dead: &'a mut Vec<DeadLetter>,
    component: &'a str,
    failure: Option<String>,
}

impl<'a, R: Record> Emitter<'a, R> {
    /// An emitter appending to these buffers, for an engine running `component`.
    pub fn new(records: &'a mut Vec<R>, dead: &'a mut Vec<DeadLetter>, component: &'a str) -> Self {
        Emitter {
            records,
            dead,
            component,
            failure: None,
        }
    }

    /// Sends a record downstream.
    #[inline]
    pub fn emit(&mut self, record: R) {
        self.records.push(record);
    }

    /// Sets a record aside with the reason, naming where it came from when known.
    pub fn dead_letter(
        &mut self,
        location: Option<String>,
        reason: impl Into<String>,
        record: impl Into<String>,
    ) {
        self.dead.push(DeadLetter {
            component: self.component.to_owned(),
            location,
            reason: reason.into(),
            record: truncate_for_display(record.into()),
        });
    }

    /// The name of the component this emitter belongs to.
    pub fn component(&self) -> &str {
        self.component
    }

    /// Says the component cannot go on (a sink whose output is gone: a full disk, a closed
    /// pipe): the run stops its sources, drains what is in flight through every component
    /// (records this one cannot handle are still set aside, counted), and ends in failure
    /// with this reason. The first reason of a component is kept.
    pub fn fail(&mut self, reason: impl Into<String>) {
        self.failure.get_or_insert_with(|| reason.into());
    }

    /// The failure the component reported, if any (for the engine).
    pub fn take_failure(&mut self) -> Option<String> {
        self.failure.take()
    }
}

/// Dead letters keep at most this much of a record: enough to find it, never a whole bad file.
pub const MAX_DEAD_LETTER_RECORD: usize = 4096;

fn truncate_for_display(mut text: String) -> String {
    if text.len() > MAX_DEAD_LETTER_RECORD {
        let mut cut = MAX_DEAD_LETTER_RECORD;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

/// What a component instance knows about where it runs. Runtime-neutral: it names no
/// executor, so a component can be built and tested without one (the I/O edges bring
/// their own runtime).
#[derive(Clone, Debug)]
pub struct Context {
    /// The component's name in the topology.
    pub component: String,
    /// This worker's index, from 0 to `workers - 1`, across all processes.
    pub worker: usize,
    /// How many workers run the topology, across all processes.
    pub workers: usize,
    /// The directory relative paths in the topology are resolved against.
    pub base_dir: PathBuf,
    /// The run's metrics registry: a component registers its own series here (the engine
    /// already counts records in, out and set aside).
    pub metrics: Metrics,
    /// A bolt whose input has a fields grouping: the fields' indices, as
    /// [`Record::key_hash`] takes them. A stateful bolt gives each keyed entry of its
    /// checkpoint state the hash a record of that key would be routed by.
    pub route_fields: Option<Vec<usize>>,
    /// The last lines the run's sinks wrote, of the kinds watched: a sink pushes what it
    /// writes of those kinds.
    pub feed: Feed,
}

impl Context {
    /// A context for one instance of `component` on `worker` of `workers`, with a fresh
    /// registry and the current directory as the base: for tests and tools that drive a
    /// component by hand.
    pub fn new(component: &str, worker: usize, workers: usize) -> Self {
        Context {
            component: component.to_owned(),
            worker,
            workers,
            base_dir: PathBuf::from("."),
            metrics: Metrics::new(),
            feed: Feed::default(),
            route_fields: None,
        }
    }

    /// The labels of this instance's series: its component and its worker.
    pub fn labels(&self) -> [Label; 2] {
        [
            Label::component(&self.component),
            Label::Instance(u32::try_from(self.worker).unwrap_or(u32::MAX)),
        ]
    }

    /// A counter of this instance, with `extra` labels (a detector, a severity).
    pub fn counter(&self, metric: &CounterMetric, extra: &[Label]) -> Counter {
        self.metrics.counter(metric, &self.with_labels(extra))
    }

    /// A gauge of this instance, with `extra` labels.
    pub fn gauge(&self, metric: &GaugeMetric, extra: &[Label]) -> Gauge {
        self.metrics.gauge(metric, &self.with_labels(extra))
    }

    /// A histogram of this instance, with `extra` labels.
    pub fn histogram(&self, metric: &HistogramMetric, extra: &[Label]) -> Histogram {
        self.metrics.histogram(metric, &self.with_labels(extra))
    }

    fn with_labels(&self, extra: &[Label]) -> Vec<Label> {
        let mut labels = self.labels().to_vec();
        labels.extend_from_slice(extra);
        labels
    }
}

/// A processing step. The engine calls [`Bolt::process`] for each input record, on every worker.
///
/// Only `process` is required; the lifecycle hooks default to doing nothing.
///
/// A bolt that panics does not stop the run: the engine catches the panic, counts it, sets the
/// record aside (as it stood when the panic happened) with the panic message, and goes on with
/// the next record.
pub trait Bolt<R: Record>: 'static {
    /// Handles one record. The bolt may take the record (`std::mem::take`) to forward it
    /// without a copy.
    fn process(&mut self, record: &mut R, out: &mut Emitter<'_, R>);

    /// Called once, before the first record.
    fn on_start(&mut self, _ctx: &Context) {}

    /// Called when every record of `epoch` has been processed by this instance, in epoch order.
    /// Epochs are the engine's batches of input; a bolt that must be deterministic whatever the
    /// number of workers (deduplication, per-window aggregates) buffers within an epoch and
    /// decides here.
    ///
    /// Records reach `process` one whole epoch at a time, epochs in order, each followed by
    /// its `on_epoch_end`: records of a later epoch that arrive early wait. So what a bolt
    /// buffers between two `on_epoch_end` calls is exactly one epoch, whatever the timing.
    /// A bolt declared streaming (the engine's `BoltSpec::streaming`) gets records as they
    /// arrive instead.
    fn on_epoch_end(&mut self, _epoch: u64, _out: &mut Emitter<'_, R>) {}

    /// Called every interval the bolt's spec asks for (the engine's `BoltSpec::tick_every`),
    /// between calls of `process`, whether records came or not: Storm's tick tuples, for a
    /// bolt that flushes periodically. What it emits joins the earliest epoch still open
    /// here. Ticks follow the clock, so a bolt whose output must not depend on timing keeps
    /// its decisions in `on_epoch_end`.
    fn on_tick(&mut self, _out: &mut Emitter<'_, R>) {}

    /// Called once after the last record, before the run ends. Sinks flush here.
    fn on_close(&mut self, _out: &mut Emitter<'_, R>) {}

    /// This instance's state for a checkpoint, taken when every epoch before the
    /// checkpoint's has ended here and no later one has begun (see [`State`]). `Ok(None)`,
    /// the default: the bolt keeps nothing worth restoring. A sink makes what it wrote
    /// durable here and returns how much that is; `Err` (its output failed) means the
    /// checkpoint cannot be taken: the run fails with the reason.
    ///
    /// Only a bolt that takes epochs whole can keep state: a streaming bolt's records of
    /// different epochs interleave, so the engine never asks one.
    fn snapshot(&mut self) -> Result<Option<State>, String> {
        Ok(None)
    }

    /// Puts back the state of a checkpoint, before [`Bolt::on_start`] (which must keep
    /// it: a sink opens its file where the checkpoint says it ended) and the first record.
    /// Called only when the run resumes from a checkpoint that has state for this
    /// component. `Err`: the state cannot be used (from another version, damaged); the run
    /// fails with the reason rather than go on without it.
    fn restore(&mut self, _state: Restored) -> Result<(), String> {
        Ok(())
    }
}

/// A component's state in a checkpoint: what is tied to no key, and what is kept per key.
///
/// Keyed entries carry the routing hash of their key (what the fields grouping of the
/// bolt's input computes for a record of that key), so that a run resumed on another number
/// of workers gives each entry to the instance that now receives its key. The bytes are the
/// component's own encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// State of the instance as a whole (a sink's committed length, a watermark).
    #[serde(with = "serde_bytes")]
    pub global: Vec<u8>,
    /// State per key: `(routing hash, entry)`.
    #[serde(with = "keyed_bytes")]
    pub keyed: Vec<(u64, Vec<u8>)>,
}

/// Keyed entries as byte strings: serde's default writes a `Vec<u8>` byte by byte, which
/// made writing a checkpoint of megabytes take long in debug builds and showed in release.
mod keyed_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_bytes::{ByteBuf, Bytes};

    pub fn serialize<S: Serializer>(keyed: &[(u64, Vec<u8>)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(keyed.iter().map(|(hash, entry)| (hash, Bytes::new(entry))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u64, Vec<u8>)>, D::Error> {
        let keyed = Vec::<(u64, ByteBuf)>::deserialize(d)?;
        Ok(keyed
            .into_iter()
            .map(|(hash, entry)| (hash, entry.into_vec()))
            .collect())
    }
}

/// What a bolt instance gets back from a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// The instance's own global state when the checkpoint was taken with as many workers
    /// as now (the instance on the same worker); on another number of workers, every old
    /// instance's global state, in worker order, for the bolt to merge.
    pub global: Vec<Vec<u8>>,
    /// Whether the checkpoint was taken with as many workers as now.
    pub same_workers: bool,
    /// The keyed entries whose keys this instance receives now.
    pub keyed: Vec<Vec<u8>>,
}

/// What a spout reports after a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpoutStatus {
    /// Records were emitted; poll again soon.
    Emitted,
    /// Nothing available right now (a live source waiting for data); poll again later.
    Idle,
    /// The source is exhausted; the spout will not be polled again.
    Finished,
}

/// A source of records. The engine polls it on the workers it runs on (one by default).
///
/// Each poll that emits records starts a new epoch, so a spout that emits the same batches for
/// the same input makes the whole run deterministic, whatever the number of workers.
pub trait Spout<R: Record>: 'static {
    /// Called once before the first poll, on the worker that runs this instance. Spouts that
    /// read from I/O start their Tokio tasks here. An error stops the run before it starts
    /// (a missing file, a port in use).
    fn open(&mut self, ctx: &Context) -> Result<(), SpoutError>;

    /// Emits the next batch, if any.
    fn poll(&mut self, out: &mut Emitter<'_, R>) -> SpoutStatus;

    /// Called once after the spout finished or the run was stopped.
    fn on_close(&mut self) {}

    /// Where the spout is now, for a checkpoint: enough to resume just after the last
    /// record it emitted (a file's identity and offset, a broker's sequence). Asked between
    /// polls. `None`, the default: the spout cannot resume (a socket) and starts afresh.
    fn position(&mut self) -> Option<Vec<u8>> {
        None
    }

    /// Resumes from a position [`Spout::position`] gave, before [`Spout::open`]: the next
    /// poll emits what came after it.
    fn seek(&mut self, _position: &[u8]) -> Result<(), SpoutError> {
        Ok(())
    }

    /// A checkpoint holding everything up to `position` is durable: a source that
    /// acknowledges (a broker's durable consumer) does it now, never earlier, so that what
    /// a crash loses is redelivered.
    fn committed(&mut self, _position: &[u8]) {}
}

/// Why a spout could not start: which file or address, and why.
#[derive(Debug, thiserror::Error)]
#[error("{what}{}", source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
pub struct SpoutError {
    /// What could not be done, for a person (`cannot listen on udp://0.0.0.0:514`).
    pub what: String,
    /// The underlying error, when there is one.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SpoutError {
    /// An error that says it all.
    pub fn new(what: impl Into<String>) -> Self {
        SpoutError {
            what: what.into(),
            source: None,
        }
    }

    /// An error caused by `source` (an I/O error, a bad address).
    pub fn caused_by(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        SpoutError {
            what: what.into(),
            source: Some(source.into()),
        }
    }
}
