//! All timely-dataflow code of the engine: the topology becomes one dataflow per worker.
//!
//! timely changes its API often (it is pinned exactly in Cargo.toml); keeping every use of it
//! in this module keeps an upgrade to one file.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::{Operator, OutputBuilder};
use timely::dataflow::operators::vec::{Broadcast, Input};
use timely::dataflow::operators::{Capability, Concatenate, Exchange, Inspect, Probe};
use timely::dataflow::{ProbeHandle, Scope, Stream};

use antimony_core::{
    Bolt, Context, DeadLetter, Emitter, LineOutput, Record, Restored, Spout, SpoutStatus, State,
    StreamType,
};

use super::checkpoint::{self, CheckpointConfig, CheckpointError, Piece, Resume};
use super::cluster::{self, ClusterError, Greeting, Watch, stream::PeerStream};
use super::panic::contain;
use super::report::ComponentFailure;
use super::stats::{InstanceCounters, LocalCounts, SpoutFlow, activation_histogram};
use super::{RunConfig, StopHandle};
use crate::error::RunError;
use crate::topology::{BoltSpec, Grouping, Node, Parallelism, SpoutSpec, Topology, field_indices};

type Records<'s, R> = Stream<'s, u64, Vec<R>>;
type DeadLetters<'s> = Stream<'s, u64, Vec<DeadLetter>>;
type RecordOutput<R> = OutputBuilder<u64, CapacityContainerBuilder<Vec<R>>>;
type DeadOutput = OutputBuilder<u64, CapacityContainerBuilder<Vec<DeadLetter>>>;

/// How long an idle spout waits before it is polled again.
const IDLE_POLL: Duration = Duration::from_millis(1);
/// How long a spout held back by unfinished epochs waits before it checks again.
const BACKPRESSURE_POLL: Duration = Duration::from_micros(200);
/// Polls per activation of a spout that keeps emitting: a few, so one activation amortises the
/// scheduling cost without starving the operators downstream on the same worker.
const POLLS_PER_ACTIVATION: usize = 4;

/// Everything a worker needs to build its dataflow, shared by all workers of the process.
struct Shared<R> {
    topology: Topology<R>,
    config: RunConfig,
    stop: StopHandle,
    errors: Arc<Mutex<Vec<RunError>>>,
    failures: Failures,
    /// The highest epoch any spout of this process has reached. An idle spout moves up to it,
    /// so a quiet source (a socket nobody writes to) does not hold back the epochs of a busy
    /// one: without this, windows and sinks that act at epoch end would wait for it forever.
    high_water: Arc<AtomicU64>,
    /// The newest checkpoint boundary known committed in this process (0: none yet).
    committed: Arc<AtomicU64>,
    /// A checkpoint could not be taken or written: spouts waiting for one go on without it.
    checkpoint_failed: Arc<AtomicBool>,
    /// The cluster's connections: a peer lost ends every worker's loop.
    watch: Arc<Watch>,
}

impl<R> Shared<R> {
    fn fail(&self, error: RunError) {
        fail(&self.errors, &self.stop, error);
    }
}

/// Components that said they cannot go on: each stops the run's sources (what is in flight
/// drains) and is reported with the run.
#[derive(Clone)]
pub(super) struct Failures {
    list: Arc<Mutex<Vec<ComponentFailure>>>,
    stop: StopHandle,
}

impl Failures {
    fn report(&self, component: &str, reason: String) {
        if let Ok(mut list) = self.list.lock()
            && !list.iter().any(|f| f.component == component)
        {
            list.push(ComponentFailure {
                component: component.to_owned(),
                reason,
            });
        }
        self.stop.stop();
    }

    /// Records the failure `out` holds, if any.
    fn check<R: Record>(&self, component: &str, out: &mut Emitter<'_, R>) {
        if let Some(reason) = out.take_failure() {
            self.report(component, reason);
        }
    }
}

/// Records an error that ends the run, and stops the spouts.
fn fail(errors: &Mutex<Vec<RunError>>, stop: &StopHandle, error: RunError) {
    if let Ok(mut errors) = errors.lock() {
        errors.push(error);
    }
    stop.stop();
}

/// Runs the topology; returns the components' failures (the run itself completed).
pub(super) fn execute<R: Record>(
    topology: Topology<R>,
    config: &RunConfig,
    stop: StopHandle,
) -> Result<Vec<ComponentFailure>, RunError> {
    let threads = config.workers.max(1);
    let watch = Watch::new();
    // A cluster's connections are made here rather than by timely, so that start-up is
    // bounded and checked, and a lost peer is reported instead of panicking (`cluster`).
    let (builders, comms) = match &config.cluster {
        None => {
            let (builders, _) = timely::CommunicationConfig::Process(threads)
                .try_build()
                .map_err(RunError::Start)?;
            (builders, None)
        }
        Some(cluster) => {
            let greeting = Greeting {
                process: u32::try_from(cluster.process).unwrap_or(u32::MAX),
                processes: u32::try_from(cluster.addresses.len()).unwrap_or(u32::MAX),
                workers: u32::try_from(threads).unwrap_or(u32::MAX),
                fingerprint: fingerprint(&topology, config),
            };
            let sockets = cluster::connect(cluster, greeting, &watch)?;
            let hooks = timely::communication::Hooks::default();
            let process_allocators =
                timely::communication::allocator::ProcessBuilder::new_typed_vector(
                    threads,
                    hooks.refill.clone(),
                    hooks.spill.clone(),
                );
            let (builders, guard) =
                timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets(
                    process_allocators,
                    sockets,
                    cluster.process,
                    threads,
                    hooks,
                )
                .map_err(|e| RunError::Start(format!("cluster: {e}")))?;
            let builders = builders
                .into_iter()
                .map(timely::communication::AllocatorBuilder::Tcp)
                .collect();
            (builders, Some(guard))
        }
    };
    let shared = Arc::new(Shared {
        topology,
        config: config.clone(),
        failures: Failures {
            list: Arc::new(Mutex::new(Vec::new())),
            stop: stop.clone(),
        },
        stop,
        errors: Arc::new(Mutex::new(Vec::new())),
        high_water: Arc::new(AtomicU64::new(0)),
        committed: Arc::new(AtomicU64::new(0)),
        checkpoint_failed: Arc::new(AtomicBool::new(false)),
        watch: Arc::clone(&watch),
    });
    let for_workers = Arc::clone(&shared);
    let worker_config = timely::WorkerConfig::default();
    // The connections' threads are kept here, not by timely's guards, which would join them
    // even when they are held on a lost peer (`cluster::stream`).
    let guards =
        timely::execute::execute_from(builders, Box::new(()), worker_config, move |worker| {
            let shared = &*for_workers;
            let Some(config) = shared.config.checkpoint.clone() else {
                let probe = ProbeHandle::new();
                let deposits = Rc::new(RefCell::new(Deposits::default()));
                let mut resume = Resume::default();
                worker.dataflow::<u64, _, _>(|scope| {
                    build(scope, shared, &probe, &deposits, &mut resume)
                });
                while !probe.done() {
                    if !step(worker, shared) {
                        return;
                    }
                }
                return;
            };
            run_with_checkpoints(worker, shared, &config);
        });
    let guards = match guards {
        Ok(guards) => guards,
        Err(error) => {
            // Dropping the connections would wait for peers that wait for this process.
            std::mem::forget(comms);
            return Err(RunError::Start(error));
        }
    };
    let results = guards.join();
    if let Some(comms) = comms {
        // A worker of this process that failed on its own is the cause (the peers will
        // see this process lost): report it without waiting for them.
        let failed = results.iter().any(Result::is_err);
        if failed && !watch.is_lost() {
            std::mem::forget(comms);
        } else {
            // A lost peer explains whatever else went wrong here: it goes first.
            leave_cluster(comms, &watch)?;
        }
    }
    for result in results {
        result.map_err(RunError::Worker)?;
    }
    let mut errors = match shared.errors.lock() {
        Ok(mut errors) => std::mem::take(&mut *errors),
        Err(_) => Vec::new(),
    };
    if !errors.is_empty() {
        return Err(errors.remove(0));
    }
    let failures = match shared.failures.list.lock() {
        Ok(mut list) => std::mem::take(&mut *list),
        Err(_) => Vec::new(),
    };
    Ok(failures)
}

/// Steps the worker (parking up to 10 ms when there is nothing to do); `false` once a peer of
/// the cluster is lost, after dropping the dataflows, which can no longer complete.
fn step<R>(worker: &mut timely::worker::Worker, shared: &Shared<R>) -> bool {
    worker.step_or_park(Some(Duration::from_millis(10)));
    if shared.watch.is_lost() {
        for dataflow in worker.installed_dataflows() {
            worker.drop_dataflow(dataflow);
        }
        return false;
    }
    true
}

/// Once the workers are done: lets the connections' threads say goodbye and end, unless a
/// peer is lost (before or meanwhile), which is then the run's error. The threads of a lost
/// connection are held (`cluster::stream`), so they are left to end with the process.
fn leave_cluster(
    comms: timely::communication::allocator::zero_copy::initialize::CommsGuard,
    watch: &Watch,
) -> Result<(), ClusterError> {
    let lost = || {
        watch.loss().unwrap_or_else(|| {
            ClusterError::Config("a peer was lost, but which is unknown".to_owned())
        })
    };
    if watch.is_lost() {
        std::mem::forget(comms);
        return Err(lost());
    }
    let (done, joined) = std::sync::mpsc::channel();
    let joiner = std::thread::Builder::new()
        .name("antimony:cluster-leave".to_owned())
        .spawn(move || {
            drop(comms);
            let _ = done.send(());
        });
    if joiner.is_err() {
        return Ok(());
    }
    loop {
        match joined.recv_timeout(Duration::from_millis(10)) {
            Ok(()) => return Ok(()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if watch.is_lost() => {
                return Err(lost());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            // The joining thread panicked: a communication thread did (timely's own check
            // of its framing); the workers had finished.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// What must be the same in every process of a cluster for timely's channels to line up:
/// the components, their inputs and groupings (`describe`), and whether the run checkpoints
/// (which adds dataflows).
fn fingerprint<R: Record>(topology: &Topology<R>, config: &RunConfig) -> u64 {
    let mut hasher = antimony_core::hash::StableHasher::new();
    hasher
        .field(topology.describe().as_bytes())
        .field(&[u8::from(config.checkpoint.is_some())]);
    hasher.finish64()
}

/// What timely's communication threads need of a connection.
impl timely::communication::allocator::zero_copy::stream::Stream for PeerStream {
    fn try_clone(&self) -> std::io::Result<Self> {
        PeerStream::try_clone(self)
    }

    fn set_nonblocking(&self, nonblocking: bool) -> std::io::Result<()> {
        PeerStream::set_nonblocking(self, nonblocking)
    }

    fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
        PeerStream::shutdown(self, how)
    }
}

/// A worker's index and the boundary it can resume from.
type Proposal = (usize, Option<u64>);

/// A worker's run with checkpoints: agree with the others on where to resume, build the
/// dataflow from there, and write this worker's part of each checkpoint once the probe has
/// passed its boundary; worker 0 marks a boundary complete once every worker has (the
/// commit stream tells).
fn run_with_checkpoints<R: Record>(
    worker: &mut timely::worker::Worker,
    shared: &Shared<R>,
    config: &CheckpointConfig,
) {
    let index = worker.index();
    let workers = worker.peers();
    let topology = shared.topology.name.clone();
    let first_process = shared
        .config
        .cluster
        .as_ref()
        .is_none_or(|c| c.process == 0);

    // Where to resume: every worker proposes, every worker hears every proposal and takes
    // the same decision.
    let proposal = checkpoint::proposal(&config.dir, index, workers, first_process);
    let heard: Rc<RefCell<Vec<Proposal>>> = Rc::default();
    let agreement = ProbeHandle::new();
    let mut proposals = worker.dataflow::<u64, _, _>(|scope| {
        let (input, stream) = scope.new_input::<(usize, Option<u64>)>();
        let heard = Rc::clone(&heard);
        stream
            .broadcast()
            .inspect(move |proposal| heard.borrow_mut().push(*proposal))
            .probe_with(&agreement);
        input
    });
    proposals.send((index, proposal));
    drop(proposals);
    while !agreement.done() {
        if !step(worker, shared) {
            return;
        }
    }
    let mut heard = heard.take();
    heard.sort_unstable();
    let all: Vec<Option<u64>> = heard.iter().map(|(_, p)| *p).collect();
    let resume = checkpoint::agree(&all).and_then(|agreed| match agreed {
        Some(boundary) => checkpoint::load(&config.dir, &topology, boundary, index, workers),
        None => Ok(Resume::default()),
    });
    let mut resume = match resume {
        Ok(resume) => resume,
        Err(error) => {
            // Every worker heard the same proposals: they all stop here.
            shared.fail(RunError::Checkpoint(error.to_string()));
            return;
        }
    };
    if index == 0 && resume.boundary > 0 {
        tracing::info!(
            boundary = resume.boundary,
            dir = %config.dir.display(),
            "resuming from the last complete checkpoint"
        );
    }

    let probe = ProbeHandle::new();
    let deposits = Rc::new(RefCell::new(Deposits::default()));
    worker.dataflow::<u64, _, _>(|scope| build(scope, shared, &probe, &deposits, &mut resume));
    let commits = ProbeHandle::new();
    let mut commit_input = Some(worker.dataflow::<u64, _, _>(|scope| {
        let (input, stream) = scope.new_input::<()>();
        stream.probe_with(&commits);
        input
    }));
    let mut written: Vec<u64> = Vec::new();
    let mut committed: Vec<u64> = Vec::new();
    // Files being written, oldest first: a thread each, so that encoding, digesting and
    // fsyncing tens of megabytes overlaps the processing of the next epochs.
    let mut writing: VecDeque<(u64, std::thread::JoinHandle<Result<(), CheckpointError>>)> =
        VecDeque::new();
    loop {
        if probe.done() && writing.is_empty() {
            // Everything is through and every boundary written: let the commits finish.
            commit_input = None;
            if commits.done() {
                break;
            }
        }
        if !step(worker, shared) {
            return;
        }
        // This worker's part of every boundary the whole dataflow has passed.
        let ready: Vec<u64> = deposits
            .borrow()
            .pieces
            .keys()
            .copied()
            .filter(|&boundary| !probe.less_than(&boundary))
            .collect();
        for boundary in ready {
            let mut deposits = deposits.borrow_mut();
            let mut pieces = deposits.pieces.remove(&boundary).unwrap_or_default();
            if deposits.poisoned.remove(&boundary) {
                shared.checkpoint_failed.store(true, Ordering::Relaxed);
                continue;
            }
            pieces.extend(
                deposits
                    .over
                    .iter()
                    .filter(|(from, _)| *from <= boundary)
                    .map(|(_, piece)| piece.clone()),
            );
            drop(deposits);
            let (dir, topology) = (config.dir.clone(), topology.clone());
            let spawned = std::thread::Builder::new()
                .name("antimony-checkpoint".to_owned())
                .spawn(move || {
                    checkpoint::write_worker(&dir, &topology, boundary, index, workers, pieces)
                });
            match spawned {
                Ok(handle) => writing.push_back((boundary, handle)),
                Err(error) => {
                    shared.checkpoint_failed.store(true, Ordering::Relaxed);
                    shared.fail(RunError::Checkpoint(format!(
                        "cannot start a thread to write checkpoint {boundary}: {error}"
                    )));
                }
            }
        }
        while writing
            .front()
            .is_some_and(|(_, handle)| handle.is_finished())
        {
            let Some((boundary, handle)) = writing.pop_front() else {
                break;
            };
            let result = match handle.join() {
                Ok(written) => written.map_err(|e| e.to_string()),
                Err(_) => Err(format!("writing checkpoint {boundary} panicked")),
            };
            match result {
                Ok(()) => {
                    written.push(boundary);
                    if let Some(input) = commit_input.as_mut() {
                        input.advance_to(boundary + 1);
                    }
                }
                Err(error) => {
                    shared.checkpoint_failed.store(true, Ordering::Relaxed);
                    shared.fail(RunError::Checkpoint(error));
                }
            }
        }
        // Boundaries every worker has written: committed.
        while let Some(&boundary) = written.first() {
            if commits.less_equal(&boundary) {
                break;
            }
            written.remove(0);
            if index == 0
                && let Err(error) =
                    checkpoint::write_complete(&config.dir, &topology, boundary, workers)
            {
                shared.checkpoint_failed.store(true, Ordering::Relaxed);
                shared.fail(RunError::Checkpoint(error.to_string()));
                continue;
            }
            // Process 0 acknowledges sources once worker 0 has marked the boundary
            // complete; another process once every worker has written it.
            if index == 0 || !first_process {
                shared.committed.fetch_max(boundary, Ordering::AcqRel);
            }
            committed.push(boundary);
            checkpoint::prune(&config.dir, &committed, config.keep, index);
        }
    }
}

fn build<'s, R: Record>(
    scope: Scope<'s, u64>,
    shared: &Shared<R>,
    probe: &ProbeHandle<u64>,
    deposits: &Rc<RefCell<Deposits>>,
    resume: &mut Resume,
) {
    let components = &shared.topology.components;
    let mut outputs: Vec<Option<Records<'s, R>>> = Vec::with_capacity(components.len());
    let mut consumers = vec![0usize; components.len()];
    let mut dead_letters = Vec::with_capacity(components.len());
    let index_of = |name: &str| components.iter().position(|c| c.name == name);

    for component in components {
        let ctx = Context {
            component: component.name.clone(),
            worker: scope.index(),
            workers: scope.peers(),
            base_dir: shared.config.base_dir.clone(),
            metrics: shared.config.metrics.clone(),
            feed: shared.config.feed.clone(),
            route_fields: route_fields(components, component),
        };
        let checkpointing = Checkpointing {
            deposits: Rc::clone(deposits),
            start: resume.boundary,
        };
        let (records, dead) = match &component.node {
            Node::Spout(spec) => {
                // Resumed, it seeks to its position (one that had read all its input finds
                // nothing more there, or says its input is not the one checkpointed).
                let position = resume.positions.remove(&component.name);
                spout(scope, spec, ctx, shared, probe, checkpointing, position)
            }
            Node::Bolt(spec, inputs) => {
                let mut routed = Vec::with_capacity(inputs.len());
                for input in inputs {
                    // Validation placed every input before its consumer.
                    let Some(j) = index_of(&input.from) else {
                        continue;
                    };
                    let (Some(upstream), Some(output)) =
                        (outputs[j].clone(), components[j].output())
                    else {
                        continue;
                    };
                    consumers[j] += 1;
                    routed.push(route(upstream, &input.grouping, &output, scope.index()));
                }
                let merged = if routed.len() == 1 {
                    routed.remove(0)
                } else {
                    scope.concatenate(routed)
                };
                let restored = resume.states.remove(&component.name);
                bolt(merged, spec, ctx, shared, checkpointing, restored)
            }
        };
        outputs.push(Some(records));
        dead_letters.push(dead);
    }
    // A probe on every stream nobody reads (the sinks' empty outputs, and any dangling
    // output) tells the workers when everything is through and the spouts how far behind
    // the slowest part of the dataflow is.
    for (stream, count) in outputs.into_iter().zip(consumers) {
        if let (Some(stream), 0) = (stream, count) {
            stream.probe_with(probe);
        }
    }
    let dead_letters = scope.concatenate(dead_letters).exchange(|_| 0);
    dead_letter_sink(dead_letters, shared).probe_with(probe);
}

/// The field indices of a bolt's first fields-grouped input (see `Context::route_fields`).
fn route_fields<R: Record>(
    components: &[crate::topology::Component<R>],
    component: &crate::topology::Component<R>,
) -> Option<Vec<usize>> {
    let Node::Bolt(_, inputs) = &component.node else {
        return None;
    };
    inputs.iter().find_map(|input| {
        let Grouping::Fields(fields) = &input.grouping else {
            return None;
        };
        let upstream = components.iter().find(|c| c.name == input.from)?.output()?;
        Some(field_indices(&upstream, fields))
    })
}

/// Applies a grouping: which worker's instance of the consuming bolt gets each record.
fn route<'s, R: Record>(
    stream: Records<'s, R>,
    grouping: &Grouping,
    upstream: &StreamType,
    worker: usize,
) -> Records<'s, R> {
    match grouping {
        Grouping::Local => stream,
        Grouping::Shuffle => {
            let mut next = worker as u64;
            stream.exchange(move |record: &R| {
                record.affinity().unwrap_or_else(|| {
                    next = next.wrapping_add(1);
                    next
                })
            })
        }
        Grouping::Fields(fields) => {
            let indices = field_indices(upstream, fields);
            stream.exchange(move |record: &R| record.key_hash(&indices))
        }
        Grouping::Global => stream.exchange(|_| 0),
        Grouping::All => stream.broadcast(),
    }
}

/// What a component needs to take part in checkpoints: where its worker collects the
/// pieces, and the boundary the run resumed from (0: a fresh start).
struct Checkpointing {
    deposits: Rc<RefCell<Deposits>>,
    start: u64,
}

/// A worker's pieces of the checkpoints not yet written, by boundary. Operators of the
/// worker (one thread) add to it; the worker's loop writes each boundary once the probe has
/// passed it.
#[derive(Default)]
struct Deposits {
    pieces: BTreeMap<u64, Vec<Piece>>,
    /// Boundaries some component could not give its part of: not written.
    poisoned: BTreeSet<u64>,
    /// Spouts that are over, from the boundary they ended at: their last piece goes into
    /// every later checkpoint too.
    over: Vec<(u64, Piece)>,
}

impl Deposits {
    /// Notes that `boundary` was reached here, with a component's piece if it has one.
    fn note(&mut self, boundary: u64, piece: Option<Piece>) {
        let pieces = self.pieces.entry(boundary).or_default();
        pieces.extend(piece);
    }
}

/// A spout instance's side of checkpoints: the next boundary, when its last one was
/// committed, and its positions at boundaries not yet committed.
struct SpoutCheckpoint {
    config: CheckpointConfig,
    deposits: Rc<RefCell<Deposits>>,
    next: u64,
    /// When the last boundary it crossed was committed (or the run started): the interval
    /// counts from there, so a checkpoint that takes longer than the interval delays the
    /// next rather than making every batch a boundary.
    last_commit: Instant,
    positions: BTreeMap<u64, Option<Vec<u8>>>,
    /// The boundary it ended at, held until committed.
    closing: Option<u64>,
}

impl SpoutCheckpoint {
    /// Notes the spout's position at every boundary `epoch` has reached or passed.
    fn cross<R: Record>(&mut self, name: &str, epoch: u64, spout: &mut dyn Spout<R>) {
        if epoch < self.next {
            return;
        }
        let position = contain(|| spout.position()).ok().flatten();
        while self.next <= epoch {
            let piece = Piece {
                component: name.to_owned(),
                position: position.clone(),
                finished: false,
                state: None,
            };
            self.deposits.borrow_mut().note(self.next, Some(piece));
            self.positions.insert(self.next, position.clone());
            self.next += self.config.spacing();
        }
    }

    /// Whether the time interval calls for a boundary now: every boundary it crossed is
    /// committed, and the interval has passed since.
    fn due(&self) -> bool {
        self.positions.is_empty()
            && self
                .config
                .every
                .is_some_and(|every| self.last_commit.elapsed() >= every)
    }

    /// Tells the spout which committed position it may acknowledge.
    fn acknowledge<R: Record>(&mut self, committed: u64, spout: &mut dyn Spout<R>) {
        let mut newest = None;
        let mut any = false;
        while let Some(entry) = self.positions.first_entry() {
            if *entry.key() > committed {
                break;
            }
            newest = entry.remove();
            any = true;
        }
        if any && self.positions.is_empty() {
            self.last_commit = Instant::now();
        }
        if let Some(position) = newest {
            let _ = contain(|| spout.committed(&position));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn spout<'s, R: Record>(
    scope: Scope<'s, u64>,
    spec: &SpoutSpec<R>,
    ctx: Context,
    shared: &Shared<R>,
    probe: &ProbeHandle<u64>,
    checkpointing: Checkpointing,
    position: Option<Option<Vec<u8>>>,
) -> (Records<'s, R>, DeadLetters<'s>) {
    let name = ctx.component.clone();
    let mut builder = OperatorBuilder::new(format!("spout {name}"), scope);
    let info = builder.operator_info();
    let (records_out, records) = builder.new_output::<Vec<R>>();
    let (dead_out, dead) = builder.new_output::<Vec<DeadLetter>>();
    let mut records_out: RecordOutput<R> = OutputBuilder::from(records_out);
    let mut dead_out: DeadOutput = OutputBuilder::from(dead_out);
    let activator = scope.activator_for(info.address);

    let runs_here = match spec.parallelism {
        Parallelism::One => ctx.worker == 0,
        Parallelism::All => true,
    };
    let start = checkpointing.start;
    let mut instance = None;
    if runs_here {
        let mut spout = (spec.factory)(&ctx);
        let sought = match position.as_ref() {
            Some(Some(position)) => contain(|| spout.seek(position)),
            Some(None) => {
                tracing::warn!(
                    component = %name,
                    "this source cannot resume from a checkpoint: it starts afresh"
                );
                Ok(Ok(()))
            }
            None => Ok(Ok(())),
        };
        let opened = match sought {
            Ok(Ok(())) => contain(|| spout.open(&ctx)),
            other => other,
        };
        match opened {
            Ok(Ok(())) => instance = Some(spout),
            Ok(Err(error)) => shared.fail(RunError::SpoutOpen {
                component: name.clone(),
                error,
            }),
            Err(panic) => shared.fail(RunError::SpoutPanic {
                component: name.clone(),
                panic,
            }),
        }
    }
    // Series only where an instance runs: a spout of one instance has one.
    let counters = runs_here.then(|| InstanceCounters::register(&ctx));
    let mut flow = runs_here.then(|| SpoutFlow::register(&ctx));
    let failures = shared.failures.clone();
    let stop = shared.stop.clone();
    let max_in_flight = shared.config.max_epochs_in_flight.max(1);
    let probe = probe.clone();
    let high_water = Arc::clone(&shared.high_water);
    let committed = Arc::clone(&shared.committed);
    let checkpoint_failed = Arc::clone(&shared.checkpoint_failed);
    let mut checkpoint = shared
        .config
        .checkpoint
        .clone()
        .map(|config| SpoutCheckpoint {
            next: config.next_boundary(start),
            config,
            deposits: Rc::clone(&checkpointing.deposits),
            last_commit: Instant::now(),
            positions: BTreeMap::new(),
            closing: None,
        });

    builder.build(move |capabilities| {
        let mut held: Option<Vec<Capability<u64>>> = Some(capabilities);
        let mut epoch = start;
        if let Some(caps) = held.as_mut() {
            for cap in caps.iter_mut() {
                cap.downgrade(&epoch);
            }
        }
        let mut batch: Vec<R> = Vec::new();
        let mut dead_batch: Vec<DeadLetter> = Vec::new();
        let mut local = LocalCounts::default();
        move |_frontiers| {
            let (Some(caps), Some(spout)) = (held.as_mut(), instance.as_mut()) else {
                // Not running on this worker, or finished: release the capabilities so
                // the dataflow can complete.
                held = None;
                return;
            };
            if let Some(checkpoint) = checkpoint.as_mut() {
                checkpoint.acknowledge(committed.load(Ordering::Acquire), &mut **spout);
                // Over, and waiting for the checkpoint at the boundary it ended at.
                if let Some(last) = checkpoint.closing {
                    if committed.load(Ordering::Acquire) >= last
                        || checkpoint_failed.load(Ordering::Relaxed)
                    {
                        let _ = contain(|| spout.on_close());
                        instance = None;
                        held = None;
                    } else {
                        activator.activate_after(IDLE_POLL);
                    }
                    return;
                }
            }
            let mut finished = stop.is_stopped();
            let mut polls = 0;
            let mut waiting = false;
            if let Some(checkpoint) = checkpoint.as_mut()
                && checkpoint.due()
                && !finished
            {
                // Time for a checkpoint: this spout's next epoch is the next boundary.
                epoch = checkpoint.next;
                for cap in caps.iter_mut() {
                    cap.downgrade(&epoch);
                }
                high_water.fetch_max(epoch, Ordering::Relaxed);
                checkpoint.cross(&name, epoch, &mut **spout);
            }
            if stop.is_paused() && !finished {
                // Deactivated: read nothing, and promise nothing before the busiest spout's
                // epoch, so what is in flight from the others completes.
                let busiest = high_water.load(Ordering::Relaxed);
                if busiest > epoch {
                    epoch = busiest;
                    for cap in caps.iter_mut() {
                        cap.downgrade(&epoch);
                    }
                    if let Some(checkpoint) = checkpoint.as_mut() {
                        checkpoint.cross(&name, epoch, &mut **spout);
                    }
                }
                activator.activate_after(IDLE_POLL);
                polls = POLLS_PER_ACTIVATION;
            }
            while !finished && polls < POLLS_PER_ACTIVATION {
                // Backpressure: wait while `max_in_flight` epochs are unfinished downstream.
                if epoch >= max_in_flight && probe.less_equal(&(epoch - max_in_flight)) {
                    waiting = true;
                    activator.activate_after(BACKPRESSURE_POLL);
                    break;
                }
                polls += 1;
                let status = {
                    let mut out = Emitter::new(&mut batch, &mut dead_batch, &name);
                    let status = contain(|| spout.poll(&mut out));
                    failures.check(&name, &mut out);
                    status
                };
                let status = status.unwrap_or_else(|panic| {
                    // A spout that panicked cannot be trusted to resume where it was.
                    local.panics += 1;
                    dead_batch.push(panic_letter(
                        &name,
                        format!("the spout stopped: it {panic}"),
                        String::new(),
                    ));
                    SpoutStatus::Finished
                });
                if !batch.is_empty() || !dead_batch.is_empty() {
                    local.emitted += batch.len() as u64;
                    local.dead_letters += dead_batch.len() as u64;
                    if !batch.is_empty() {
                        records_out
                            .activate()
                            .session(&caps[0])
                            .give_container(&mut batch);
                    }
                    if !dead_batch.is_empty() {
                        dead_out
                            .activate()
                            .session(&caps[1])
                            .give_container(&mut dead_batch);
                    }
                    epoch += 1;
                    for cap in caps.iter_mut() {
                        cap.downgrade(&epoch);
                    }
                    high_water.fetch_max(epoch, Ordering::Relaxed);
                    if let Some(checkpoint) = checkpoint.as_mut() {
                        checkpoint.cross(&name, epoch, &mut **spout);
                    }
                }
                match status {
                    SpoutStatus::Emitted => activator.activate(),
                    SpoutStatus::Idle => {
                        // Nothing to send: promise nothing before the busiest spout's epoch.
                        let busiest = high_water.load(Ordering::Relaxed);
                        if busiest > epoch {
                            epoch = busiest;
                            for cap in caps.iter_mut() {
                                cap.downgrade(&epoch);
                            }
                            if let Some(checkpoint) = checkpoint.as_mut() {
                                checkpoint.cross(&name, epoch, &mut **spout);
                            }
                        }
                        activator.activate_after(IDLE_POLL);
                        break;
                    }
                    SpoutStatus::Finished => finished = true,
                }
            }
            if let Some(counters) = &counters {
                counters.add(&mut local);
            }
            if let Some(flow) = flow.as_mut() {
                let done = probe
                    .with_frontier(|f| f.iter().next().copied())
                    .unwrap_or(epoch);
                flow.update(epoch.saturating_sub(done), waiting);
            }
            if finished || stop.is_stopped() {
                match checkpoint.as_mut() {
                    Some(checkpoint) => {
                        // Over: a last checkpoint at the next boundary, which it holds its
                        // epoch at until the checkpoint is committed, so every bolt
                        // takes its part of it before it closes. Resumed from there, it is
                        // over (a followed file or a broker is read on from its position).
                        let last = checkpoint.next;
                        epoch = last;
                        for cap in caps.iter_mut() {
                            cap.downgrade(&epoch);
                        }
                        high_water.fetch_max(epoch, Ordering::Relaxed);
                        let position = contain(|| spout.position()).ok().flatten();
                        let piece = Piece {
                            component: name.clone(),
                            position: position.clone(),
                            finished: finished && !stop.is_stopped(),
                            state: None,
                        };
                        let mut deposits = checkpoint.deposits.borrow_mut();
                        deposits.note(last, Some(piece.clone()));
                        deposits
                            .over
                            .push((last + checkpoint.config.spacing(), piece));
                        drop(deposits);
                        checkpoint.positions.insert(last, position);
                        checkpoint.next = last + checkpoint.config.spacing();
                        checkpoint.closing = Some(last);
                        activator.activate_after(IDLE_POLL);
                    }
                    None => {
                        let _ = contain(|| spout.on_close());
                        instance = None;
                        held = None;
                    }
                }
            }
        }
    });
    (records, dead)
}

fn bolt<'s, R: Record>(
    input: Records<'s, R>,
    spec: &BoltSpec<R>,
    ctx: Context,
    shared: &Shared<R>,
    checkpointing: Checkpointing,
    restored: Option<Restored>,
) -> (Records<'s, R>, DeadLetters<'s>) {
    let failures = shared.failures.clone();
    let name = ctx.component.clone();
    let scope = input.scope();
    let mut builder = OperatorBuilder::new(format!("bolt {name}"), scope);
    let activator = scope.activator_for(builder.operator_info().address);
    let tick = spec.tick;
    let mut last_tick = Instant::now();
    if let Some(every) = tick {
        activator.activate_after(every);
    }
    let mut input = builder.new_input(input, Pipeline);
    let (records_out, records) = builder.new_output::<Vec<R>>();
    let (dead_out, dead) = builder.new_output::<Vec<DeadLetter>>();
    let mut records_out: RecordOutput<R> = OutputBuilder::from(records_out);
    let mut dead_out: DeadOutput = OutputBuilder::from(dead_out);
    let counters = InstanceCounters::register(&ctx);
    let activations = activation_histogram(&ctx);
    let mut bolt = (spec.factory)(&ctx);
    let streaming = spec.streaming;
    let mut boundaries = shared
        .config
        .checkpoint
        .as_ref()
        .map(|config| BoltBoundaries {
            next: config.next_boundary(checkpointing.start),
            spacing: config.spacing(),
            deposits: Rc::clone(&checkpointing.deposits),
        });

    builder.build(move |capabilities| {
        let mut held: Option<Vec<Capability<u64>>> = Some(capabilities);
        let mut pending_epochs: BTreeSet<u64> = BTreeSet::new();
        // Records of epochs not yet complete here, for a bolt that takes epochs whole.
        let mut stash: BTreeMap<u64, Vec<R>> = BTreeMap::new();
        let mut batch: Vec<R> = Vec::new();
        let mut dead_batch: Vec<DeadLetter> = Vec::new();
        let mut local = LocalCounts::default();
        if let Some(restored) = restored
            && let Err(panic) = contain(|| bolt.restore(restored))
        {
            // Its state could not be put back: going on would give wrong results.
            failures.report(
                &name,
                format!("could not restore its checkpoint state: it {panic}"),
            );
        }
        if let Err(panic) = contain(|| bolt.on_start(&ctx)) {
            local.panics += 1;
            dead_batch.push(panic_letter(
                &name,
                format!("on_start {panic}"),
                String::new(),
            ));
        }
        move |frontiers| {
            let started = std::time::Instant::now();
            let received_before = local.received;
            let mut records_out = records_out.activate();
            let mut dead_out = dead_out.activate();
            input.for_each(|cap, data| {
                let Some(&time) = cap.least() else { return };
                pending_epochs.insert(time);
                local.received += data.len() as u64;
                if !streaming {
                    stash.entry(time).or_default().append(data);
                    return;
                }
                process_all(
                    &mut *bolt,
                    data,
                    &name,
                    &mut batch,
                    &mut dead_batch,
                    &mut local,
                    &failures,
                );
                local.emitted += batch.len() as u64;
                local.dead_letters += dead_batch.len() as u64;
                if !batch.is_empty() {
                    records_out.session(&cap).give_container(&mut batch);
                }
                if !dead_batch.is_empty() {
                    dead_out.session(&cap).give_container(&mut dead_batch);
                }
            });

            // Epochs the input frontier has passed are complete here: tell the bolt, in order.
            let frontier = &frontiers[0];
            let mut close = frontier.is_empty();
            if let Some(caps) = held.as_mut() {
                while let Some(&epoch) = pending_epochs.first() {
                    if frontier.less_equal(&epoch) {
                        break;
                    }
                    // A boundary at or before this epoch: the state holds every earlier
                    // epoch and none of this one.
                    if let Some(boundaries) = boundaries.as_mut() {
                        boundaries.pass(epoch, streaming, &mut *bolt, &name, &failures);
                    }
                    pending_epochs.pop_first();
                    if let Some(mut records) = stash.remove(&epoch) {
                        process_all(
                            &mut *bolt,
                            &mut records,
                            &name,
                            &mut batch,
                            &mut dead_batch,
                            &mut local,
                            &failures,
                        );
                    }
                    let mut out = Emitter::new(&mut batch, &mut dead_batch, &name);
                    let ended = contain(|| bolt.on_epoch_end(epoch, &mut out));
                    failures.check(&name, &mut out);
                    if let Err(panic) = ended {
                        local.panics += 1;
                        dead_batch.push(panic_letter(
                            &name,
                            format!("on_epoch_end({epoch}) {panic}"),
                            String::new(),
                        ));
                    }
                    give_at(
                        &mut records_out,
                        &mut dead_out,
                        caps,
                        epoch,
                        &mut batch,
                        &mut dead_batch,
                        &mut local,
                    );
                }
                if close {
                    let mut out = Emitter::new(&mut batch, &mut dead_batch, &name);
                    let closed = contain(|| bolt.on_close(&mut out));
                    failures.check(&name, &mut out);
                    if let Err(panic) = closed {
                        local.panics += 1;
                        dead_batch.push(panic_letter(
                            &name,
                            format!("on_close {panic}"),
                            String::new(),
                        ));
                    }
                    let time = *caps[0].time();
                    give_at(
                        &mut records_out,
                        &mut dead_out,
                        caps,
                        time,
                        &mut batch,
                        &mut dead_batch,
                        &mut local,
                    );
                } else if let Some(&low) = frontier.frontier().iter().next() {
                    // Every epoch before `low` has ended here: so have the boundaries up
                    // to it, before the capabilities that let them complete are released.
                    if let Some(boundaries) = boundaries.as_mut() {
                        boundaries.pass(low, streaming, &mut *bolt, &name, &failures);
                    }
                    for cap in caps.iter_mut() {
                        cap.downgrade(&low);
                    }
                }
                // Ticks: on the clock, input or not (the activation is asked for again).
                if let Some(every) = tick.filter(|_| !close) {
                    if last_tick.elapsed() >= every {
                        last_tick = Instant::now();
                        let mut out = Emitter::new(&mut batch, &mut dead_batch, &name);
                        let ticked = contain(|| bolt.on_tick(&mut out));
                        failures.check(&name, &mut out);
                        if let Err(panic) = ticked {
                            local.panics += 1;
                            dead_batch.push(panic_letter(
                                &name,
                                format!("on_tick {panic}"),
                                String::new(),
                            ));
                        }
                        let time = *caps[0].time();
                        give_at(
                            &mut records_out,
                            &mut dead_out,
                            caps,
                            time,
                            &mut batch,
                            &mut dead_batch,
                            &mut local,
                        );
                    }
                    activator.activate_after(every.saturating_sub(last_tick.elapsed()));
                }
            } else {
                close = false;
            }
            if close {
                held = None;
            }
            // Activations that did work; a wake-up with nothing to do is no processing time.
            if local.received > received_before || local.emitted > 0 || local.dead_letters > 0 {
                activations.observe(started.elapsed().as_secs_f64());
            }
            counters.add(&mut local);
        }
    });
    (records, dead)
}

/// A bolt instance's side of checkpoints: the next boundary its frontier will pass.
struct BoltBoundaries {
    next: u64,
    spacing: u64,
    deposits: Rc<RefCell<Deposits>>,
}

impl BoltBoundaries {
    /// Notes the bolt's state at every boundary up to `upto` (once for several: nothing
    /// happened here between them). A streaming bolt is never asked: its records of
    /// different epochs interleave, so it has no state between two.
    fn pass<R: Record>(
        &mut self,
        upto: u64,
        streaming: bool,
        bolt: &mut dyn Bolt<R>,
        name: &str,
        failures: &Failures,
    ) {
        if self.next > upto {
            return;
        }
        let state: Result<Option<State>, String> = if streaming {
            Ok(None)
        } else {
            contain(|| bolt.snapshot()).and_then(|state| state)
        };
        let mut deposits = self.deposits.borrow_mut();
        while self.next <= upto {
            match &state {
                Ok(state) => deposits.note(
                    self.next,
                    state.clone().map(|state| Piece {
                        component: name.to_owned(),
                        position: None,
                        finished: false,
                        state: Some(state),
                    }),
                ),
                Err(_) => {
                    deposits.note(self.next, None);
                    deposits.poisoned.insert(self.next);
                }
            }
            self.next += self.spacing;
        }
        if let Err(panic) = state {
            failures.report(
                name,
                format!("could not give its checkpoint state: it {panic}"),
            );
        }
    }
}

/// Runs the bolt on each record, containing panics: a panicking record is set aside.
fn process_all<R: Record>(
    bolt: &mut dyn Bolt<R>,
    records: &mut [R],
    name: &str,
    batch: &mut Vec<R>,
    dead_batch: &mut Vec<DeadLetter>,
    local: &mut LocalCounts,
    failures: &Failures,
) {
    for record in records.iter_mut() {
        let mut out = Emitter::new(batch, dead_batch, name);
        let processed = contain(|| bolt.process(record, &mut out));
        failures.check(name, &mut out);
        if let Err(panic) = processed {
            local.panics += 1;
            dead_batch.push(panic_letter(name, panic, record.describe()));
        }
    }
}

/// The dead letter for a panic caught in a component.
fn panic_letter(component: &str, reason: String, record: String) -> DeadLetter {
    DeadLetter {
        component: component.to_owned(),
        location: None,
        reason,
        record,
    }
}

/// Sends what a lifecycle hook emitted, at `time` (which the held capabilities cover).
fn give_at<R: Record>(
    records_out: &mut timely::dataflow::operators::generic::OutputBuilderSession<
        '_,
        u64,
        CapacityContainerBuilder<Vec<R>>,
    >,
    dead_out: &mut timely::dataflow::operators::generic::OutputBuilderSession<
        '_,
        u64,
        CapacityContainerBuilder<Vec<DeadLetter>>,
    >,
    caps: &[Capability<u64>],
    time: u64,
    batch: &mut Vec<R>,
    dead_batch: &mut Vec<DeadLetter>,
    local: &mut LocalCounts,
) {
    local.emitted += batch.len() as u64;
    local.dead_letters += dead_batch.len() as u64;
    if !batch.is_empty() {
        let cap = caps[0].delayed(&time);
        records_out.session(&cap).give_container(batch);
    }
    if !dead_batch.is_empty() {
        let cap = caps[1].delayed(&time);
        dead_out.session(&cap).give_container(dead_batch);
    }
}

/// Writes set-aside records as JSON lines on worker 0. Its (empty) output is probed, so the
/// run ends only once every dead letter is written.
fn dead_letter_sink<'s, R: Record>(
    stream: DeadLetters<'s>,
    shared: &Shared<R>,
) -> Stream<'s, u64, Vec<()>> {
    let mut writer: Option<Box<dyn LineOutput>> = None;
    let mut output_name = String::new();
    if let (0, Some(output)) = (stream.scope().index(), &shared.config.dead_letter) {
        output_name = output.name.clone();
        match (output.open)() {
            Ok(w) => writer = Some(w),
            Err(error) => shared.fail(RunError::DeadLetter {
                output: output_name.clone(),
                error,
            }),
        }
    }
    let errors = Arc::clone(&shared.errors);
    let stop = shared.stop.clone();
    stream.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Pipeline,
        "dead letters",
        move |_, _| {
            let mut line = Vec::with_capacity(256);
            move |(input, frontier), _output| {
                let mut result = Ok(());
                input.for_each(|_, data| {
                    let Some(w) = writer.as_mut() else { return };
                    for dead in data.drain(..) {
                        line.clear();
                        if serde_json::to_writer(&mut line, &dead).is_ok() && result.is_ok() {
                            result = w.write_line(&line);
                        }
                    }
                });
                if let Some(w) = writer.as_mut() {
                    if result.is_ok() {
                        result = if frontier.is_empty() {
                            w.close()
                        } else {
                            w.flush()
                        };
                    }
                    if frontier.is_empty() || result.is_err() {
                        writer = None;
                    }
                }
                if let Err(error) = result {
                    let output = output_name.clone();
                    fail(&errors, &stop, RunError::DeadLetter { output, error });
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::cluster::stream::{Framing, HEADER_BYTES};
    use timely::communication::networking::MessageHeader;

    /// `cluster::stream` follows timely's framing to tell its goodbye from a connection cut
    /// short: this pins the wire format it reads.
    #[test]
    fn goodbye_is_timelys() {
        let header = |length| MessageHeader {
            channel: 1,
            source: 0,
            target_lower: 0,
            target_upper: 1,
            length,
            seqno: 7,
        };
        let mut message = Vec::new();
        assert!(header(3).write_to(&mut message).is_ok());
        assert_eq!(message.len(), HEADER_BYTES);
        message.extend_from_slice(&[1, 2, 3]);
        let mut framing = Framing::default();
        framing.feed(&message);
        assert!(!framing.said_goodbye());
        let mut goodbye = Vec::new();
        assert!(header(0).write_to(&mut goodbye).is_ok());
        framing.feed(&goodbye);
        assert!(framing.said_goodbye());
    }
}
