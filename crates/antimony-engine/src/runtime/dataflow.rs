//! All timely-dataflow code of the engine: the topology becomes one dataflow per worker.
//!
//! timely changes its API often (it is pinned exactly in Cargo.toml); keeping every use of it
//! in this module keeps an upgrade to one file.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::{Operator, OutputBuilder};
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, Concatenate, Exchange, Probe};
use timely::dataflow::{ProbeHandle, Scope, Stream};

use antimony_core::{
    Bolt, Context, DeadLetter, Emitter, LineOutput, Record, SpoutStatus, StreamType,
};

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
    let timely_config = match &config.cluster {
        None => timely::Config::process(config.workers.max(1)),
        Some(cluster) => timely::Config {
            communication: timely::CommunicationConfig::Cluster {
                threads: config.workers.max(1),
                process: cluster.process,
                addresses: cluster.addresses.clone(),
                report: false,
                zerocopy: false,
            },
            worker: timely::WorkerConfig::default(),
        },
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
    });
    let for_workers = Arc::clone(&shared);
    let guards = timely::execute(timely_config, move |worker| {
        let probe = ProbeHandle::new();
        let shared = &*for_workers;
        worker.dataflow::<u64, _, _>(|scope| build(scope, shared, &probe));
        while !probe.done() {
            worker.step_or_park(Some(Duration::from_millis(10)));
        }
    })
    .map_err(RunError::Start)?;
    for result in guards.join() {
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

fn build<'s, R: Record>(scope: Scope<'s, u64>, shared: &Shared<R>, probe: &ProbeHandle<u64>) {
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
        };
        let (records, dead) = match &component.node {
            Node::Spout(spec) => spout(scope, spec, ctx, shared, probe),
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
                bolt(merged, spec, ctx, shared)
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

fn spout<'s, R: Record>(
    scope: Scope<'s, u64>,
    spec: &SpoutSpec<R>,
    ctx: Context,
    shared: &Shared<R>,
    probe: &ProbeHandle<u64>,
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
    let mut instance = None;
    if runs_here {
        let mut spout = (spec.factory)(&ctx);
        match contain(|| spout.open(&ctx)) {
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

    builder.build(move |capabilities| {
        let mut held: Option<Vec<Capability<u64>>> = Some(capabilities);
        let mut epoch = 0u64;
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
            let mut finished = stop.is_stopped();
            let mut polls = 0;
            let mut waiting = false;
            if stop.is_paused() && !finished {
                // Deactivated: read nothing, and promise nothing before the busiest spout's
                // epoch, so what is in flight from the others completes.
                let busiest = high_water.load(Ordering::Relaxed);
                if busiest > epoch {
                    epoch = busiest;
                    for cap in caps.iter_mut() {
                        cap.downgrade(&epoch);
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
                let _ = contain(|| spout.on_close());
                instance = None;
                held = None;
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
) -> (Records<'s, R>, DeadLetters<'s>) {
    let failures = shared.failures.clone();
    let name = ctx.component.clone();
    let mut builder = OperatorBuilder::new(format!("bolt {name}"), input.scope());
    let mut input = builder.new_input(input, Pipeline);
    let (records_out, records) = builder.new_output::<Vec<R>>();
    let (dead_out, dead) = builder.new_output::<Vec<DeadLetter>>();
    let mut records_out: RecordOutput<R> = OutputBuilder::from(records_out);
    let mut dead_out: DeadOutput = OutputBuilder::from(dead_out);
    let counters = InstanceCounters::register(&ctx);
    let activations = activation_histogram(&ctx);
    let mut bolt = (spec.factory)(&ctx);
    let streaming = spec.streaming;

    builder.build(move |capabilities| {
        let mut held: Option<Vec<Capability<u64>>> = Some(capabilities);
        let mut pending_epochs: BTreeSet<u64> = BTreeSet::new();
        // Records of epochs not yet complete here, for a bolt that takes epochs whole.
        let mut stash: BTreeMap<u64, Vec<R>> = BTreeMap::new();
        let mut batch: Vec<R> = Vec::new();
        let mut dead_batch: Vec<DeadLetter> = Vec::new();
        let mut local = LocalCounts::default();
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
                    for cap in caps.iter_mut() {
                        cap.downgrade(&low);
                    }
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
