//! The engine end to end on small numeric topologies: groupings, workers, panics, backpressure,
//! lifecycle hooks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use antimony_core::{Bolt, Context, Emitter};
use antimony_engine::testing::{Counter, Double, MemoryLines, NUMBERS, Num};
use antimony_engine::{BoltSpec, RunConfig, SpoutSpec, TopologyBuilder, run};

/// Collects what reaches it, with the worker it reached.
struct Collect(Arc<Mutex<Vec<(usize, u64)>>>, usize);

impl Bolt<Num> for Collect {
    fn process(&mut self, record: &mut Num, _out: &mut Emitter<'_, Num>) {
        self.0.lock().expect("lock").push((self.1, record.0));
    }
}

fn collect_spec(into: &Arc<Mutex<Vec<(usize, u64)>>>) -> BoltSpec<Num> {
    let into = Arc::clone(into);
    BoltSpec::new(&["number"], None, move |ctx: &Context| {
        Collect(Arc::clone(&into), ctx.worker)
    })
}

fn counter(count: u64, batch: u64) -> SpoutSpec<Num> {
    SpoutSpec::new(NUMBERS, move |_| Counter {
        next: 0,
        count,
        batch,
    })
}

fn config(workers: usize) -> RunConfig {
    RunConfig {
        workers,
        ..RunConfig::default()
    }
}

#[test]
fn every_record_arrives_once_on_one_and_two_workers() {
    for workers in [1, 2] {
        for grouping in ["shuffle", "fields", "local", "global"] {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let mut builder = TopologyBuilder::new("double");
            builder.set_spout("numbers", counter(10_000, 100));
            let double = builder.set_bolt(
                "double",
                BoltSpec::new(&["number"], Some(NUMBERS), |_| Double),
            );
            match grouping {
                "shuffle" => double.shuffle_grouping("numbers"),
                "fields" => double.fields_grouping("numbers", &["value"]),
                "local" => double.local_grouping("numbers"),
                _ => double.global_grouping("numbers"),
            };
            builder
                .set_bolt("sink", collect_spec(&seen))
                .global_grouping("double");
            let report = run(builder.build().expect("valid"), config(workers)).expect("runs");
            let mut values: Vec<u64> = seen.lock().expect("lock").iter().map(|(_, v)| *v).collect();
            values.sort_unstable();
            let expected: Vec<u64> = (0..10_000).map(|n| n * 2).collect();
            assert_eq!(values, expected, "{grouping} grouping on {workers} workers");
            let double = report.component("double").expect("stats");
            assert_eq!((double.received, double.emitted), (10_000, 10_000));
        }
    }
}

#[test]
fn shuffle_spreads_over_workers_and_global_gathers_on_one() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gathered = Arc::new(Mutex::new(Vec::new()));
    let mut builder = TopologyBuilder::new("spread");
    builder.set_spout("numbers", counter(1_000, 10));
    builder
        .set_bolt("spread", collect_spec(&seen))
        .shuffle_grouping("numbers");
    builder
        .set_bolt("gather", collect_spec(&gathered))
        .global_grouping("numbers");
    run(builder.build().expect("valid"), config(2)).expect("runs");
    let workers: BTreeSet<usize> = seen.lock().expect("lock").iter().map(|(w, _)| *w).collect();
    assert_eq!(workers, BTreeSet::from([0, 1]));
    let workers: BTreeSet<usize> = gathered
        .lock()
        .expect("lock")
        .iter()
        .map(|(w, _)| *w)
        .collect();
    assert_eq!(workers, BTreeSet::from([0]));
}

#[test]
fn fields_grouping_sends_a_key_to_one_worker_and_all_sends_everything_everywhere() {
    let keyed = Arc::new(Mutex::new(Vec::new()));
    let everywhere = Arc::new(Mutex::new(Vec::new()));
    let mut builder = TopologyBuilder::new("keys");
    builder.set_spout("numbers", counter(2_000, 50));
    builder
        .set_bolt("keyed", collect_spec(&keyed))
        .fields_grouping("numbers", &["value"]);
    builder
        .set_bolt("all", collect_spec(&everywhere))
        .all_grouping("numbers");
    run(builder.build().expect("valid"), config(2)).expect("runs");
    let mut worker_of: BTreeMap<u64, BTreeSet<usize>> = BTreeMap::new();
    for (worker, value) in keyed.lock().expect("lock").iter() {
        worker_of.entry(*value).or_default().insert(*worker);
    }
    assert_eq!(worker_of.len(), 2_000);
    assert!(worker_of.values().all(|w| w.len() == 1));
    assert_eq!(everywhere.lock().expect("lock").len(), 4_000);
}

/// Panics on multiples of 7; counts what it handled.
struct Fragile;

impl Bolt<Num> for Fragile {
    fn process(&mut self, record: &mut Num, out: &mut Emitter<'_, Num>) {
        assert!(!record.0.is_multiple_of(7), "cannot handle {}", record.0);
        out.emit(*record);
    }
}

#[test]
fn a_panicking_bolt_sets_the_record_aside_and_the_run_goes_on() {
    let dead = MemoryLines::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut builder = TopologyBuilder::new("fragile");
    builder.set_spout("numbers", counter(100, 10));
    builder
        .set_bolt(
            "fragile",
            BoltSpec::new(&["number"], Some(NUMBERS), |_| Fragile),
        )
        .shuffle_grouping("numbers");
    builder
        .set_bolt("sink", collect_spec(&seen))
        .global_grouping("fragile");
    let report = run(
        builder.build().expect("valid"),
        RunConfig {
            workers: 2,
            dead_letter: Some(dead.output()),
            ..RunConfig::default()
        },
    )
    .expect("the run survives the panics");
    let multiples_of_7 = (0..100).filter(|n: &u64| n.is_multiple_of(7)).count() as u64;
    assert_eq!(report.panics(), multiples_of_7);
    assert_eq!(report.dead_letters(), multiples_of_7);
    assert_eq!(
        seen.lock().expect("lock").len() as u64,
        100 - multiples_of_7
    );
    let dead = dead.text();
    assert_eq!(dead.lines().count() as u64, multiples_of_7);
    let first: serde_json::Value =
        serde_json::from_str(dead.lines().next().expect("a line")).expect("json");
    assert_eq!(first["component"], "fragile");
    assert!(
        first["reason"]
            .as_str()
            .expect("reason")
            .contains("cannot handle"),
        "{first}"
    );
    assert!(
        first["record"]
            .as_str()
            .expect("record")
            .starts_with("number "),
        "{first}"
    );
}

/// A sink that takes its time, and tracks how far ahead of it the spout got.
struct Slow {
    sunk: Arc<AtomicU64>,
}

impl Bolt<Num> for Slow {
    fn process(&mut self, _record: &mut Num, _out: &mut Emitter<'_, Num>) {
        std::thread::sleep(Duration::from_micros(50));
        self.sunk.fetch_add(1, Ordering::SeqCst);
    }
}

/// Emits numbers and records the largest lead over the sink it ever had.
struct Watched {
    inner: Counter,
    sunk: Arc<AtomicU64>,
    max_lead: Arc<AtomicU64>,
}

impl antimony_core::Spout<Num> for Watched {
    fn open(&mut self, _ctx: &Context) -> Result<(), antimony_core::SpoutError> {
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, Num>) -> antimony_core::SpoutStatus {
        let lead = self.inner.next - self.sunk.load(Ordering::SeqCst);
        self.max_lead.fetch_max(lead, Ordering::SeqCst);
        self.inner.poll(out)
    }
}

#[test]
fn a_slow_sink_slows_the_source_and_nothing_is_dropped() {
    let sunk = Arc::new(AtomicU64::new(0));
    let max_lead = Arc::new(AtomicU64::new(0));
    let (s, m) = (Arc::clone(&sunk), Arc::clone(&max_lead));
    let mut builder = TopologyBuilder::new("slow");
    builder.set_spout(
        "numbers",
        SpoutSpec::new(NUMBERS, move |_| Watched {
            inner: Counter {
                next: 0,
                count: 5_000,
                batch: 10,
            },
            sunk: Arc::clone(&s),
            max_lead: Arc::clone(&m),
        }),
    );
    let s = Arc::clone(&sunk);
    builder
        .set_bolt(
            "slow",
            BoltSpec::new(&["number"], None, move |_| Slow {
                sunk: Arc::clone(&s),
            }),
        )
        .shuffle_grouping("numbers");
    let in_flight = 8;
    run(
        builder.build().expect("valid"),
        RunConfig {
            workers: 2,
            max_epochs_in_flight: in_flight,
            ..RunConfig::default()
        },
    )
    .expect("runs");
    assert_eq!(sunk.load(Ordering::SeqCst), 5_000);
    // At most `in_flight` batches of 10 are unfinished when the spout polls.
    let lead = max_lead.load(Ordering::SeqCst);
    assert!(
        lead <= in_flight * 10,
        "the spout ran {lead} records ahead of the sink"
    );
}

/// Records the epochs it is told about, and emits a marker at close.
struct Epochs(Arc<Mutex<Vec<String>>>);

impl Bolt<Num> for Epochs {
    fn process(&mut self, record: &mut Num, _out: &mut Emitter<'_, Num>) {
        self.0
            .lock()
            .expect("lock")
            .push(format!("record {}", record.0));
    }

    fn on_epoch_end(&mut self, epoch: u64, _out: &mut Emitter<'_, Num>) {
        self.0.lock().expect("lock").push(format!("end {epoch}"));
    }

    fn on_close(&mut self, out: &mut Emitter<'_, Num>) {
        self.0.lock().expect("lock").push("close".to_owned());
        out.emit(Num(999));
    }
}

#[test]
fn epochs_end_in_order_after_their_records_and_close_comes_last() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let after_close = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&events);
    let mut builder = TopologyBuilder::new("epochs");
    builder.set_spout("numbers", counter(6, 2));
    builder
        .set_bolt(
            "epochs",
            BoltSpec::new(&["number"], Some(NUMBERS), move |_| Epochs(Arc::clone(&e))),
        )
        .local_grouping("numbers");
    builder
        .set_bolt("sink", collect_spec(&after_close))
        .local_grouping("epochs");
    run(builder.build().expect("valid"), config(1)).expect("runs");
    let events = events.lock().expect("lock").clone();
    let position = |event: &str| events.iter().position(|e| e == event).expect(event);
    for epoch in 0..3u64 {
        let end = position(&format!("end {epoch}"));
        // Epoch `e` holds the spout's `e`th batch: records 2e and 2e + 1.
        assert!(
            position(&format!("record {}", 2 * epoch)) < end,
            "{events:?}"
        );
        assert!(
            position(&format!("record {}", 2 * epoch + 1)) < end,
            "{events:?}"
        );
        if epoch > 0 {
            assert!(position(&format!("end {}", epoch - 1)) < end, "{events:?}");
        }
    }
    assert_eq!(
        events.last().map(String::as_str),
        Some("close"),
        "{events:?}"
    );
    assert_eq!(events.len(), 10);
    assert_eq!(after_close.lock().expect("lock").as_slice(), &[(0, 999)]);
}

/// Emits `batches` batches, then waits (idle) until the run is stopped, like a socket.
struct Quiet {
    batches: u64,
}

impl antimony_core::Spout<Num> for Quiet {
    fn open(&mut self, _ctx: &Context) -> Result<(), antimony_core::SpoutError> {
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, Num>) -> antimony_core::SpoutStatus {
        if self.batches == 0 {
            return antimony_core::SpoutStatus::Idle;
        }
        self.batches -= 1;
        out.emit(Num(self.batches));
        antimony_core::SpoutStatus::Emitted
    }
}

#[test]
fn an_idle_spout_does_not_hold_back_the_epochs_of_a_busy_one() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&events);
    let mut builder = TopologyBuilder::new("idle");
    builder.set_spout("busy", SpoutSpec::new(NUMBERS, |_| Quiet { batches: 3 }));
    builder.set_spout("silent", SpoutSpec::new(NUMBERS, |_| Quiet { batches: 0 }));
    builder
        .set_bolt(
            "epochs",
            BoltSpec::new(&["number"], None, move |_| Epochs(Arc::clone(&e))),
        )
        .local_grouping("busy")
        .local_grouping("silent");
    let stop = antimony_engine::StopHandle::default();
    let handle = stop.clone();
    let topology = builder.build().expect("valid");
    let run = std::thread::spawn(move || {
        antimony_engine::run_with_stop(topology, config(2), handle).expect("runs")
    });
    // Every batch of the busy spout completes while the silent one still runs.
    let started = std::time::Instant::now();
    while events
        .lock()
        .expect("lock")
        .iter()
        .filter(|e| e.starts_with("end"))
        .count()
        < 3
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "epochs stalled: {:?}",
            events.lock().expect("lock")
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.stop();
    run.join().expect("the run ends when stopped");
}

/// Checks that what it buffers between two epoch ends is one spout batch: numbers of one
/// hundred (after doubling, of two hundred), batches in increasing order.
struct OneBatchPerEpoch {
    buffered: Vec<u64>,
    last_batch: Option<u64>,
    violations: Arc<AtomicU64>,
    epochs: Arc<AtomicU64>,
}

impl Bolt<Num> for OneBatchPerEpoch {
    fn process(&mut self, record: &mut Num, _out: &mut Emitter<'_, Num>) {
        self.buffered.push(record.0 / 200);
    }

    fn on_epoch_end(&mut self, _epoch: u64, _out: &mut Emitter<'_, Num>) {
        let Some(&batch) = self.buffered.first() else {
            return;
        };
        let whole = self.buffered.iter().all(|b| *b == batch);
        let in_order = self.last_batch.is_none_or(|last| batch > last);
        if !whole || !in_order {
            self.violations.fetch_add(1, Ordering::Relaxed);
        }
        self.last_batch = Some(batch);
        self.buffered.clear();
        self.epochs.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn a_buffering_bolt_sees_one_epoch_at_a_time_even_when_epochs_arrive_interleaved() {
    for workers in [1, 2] {
        let violations = Arc::new(AtomicU64::new(0));
        let epochs = Arc::new(AtomicU64::new(0));
        let mut builder = TopologyBuilder::new("whole-epochs");
        builder.set_spout("numbers", counter(200_000, 100));
        // A streaming stage and an exchange in front: records of later epochs reach the
        // buffering bolt before earlier epochs are complete there.
        builder
            .set_bolt(
                "double",
                BoltSpec::new(&["number"], Some(NUMBERS), |_| Double).streaming(),
            )
            .shuffle_grouping("numbers");
        let (v, e) = (Arc::clone(&violations), Arc::clone(&epochs));
        builder
            .set_bolt(
                "check",
                BoltSpec::new(&["number"], None, move |_| OneBatchPerEpoch {
                    buffered: Vec::new(),
                    last_batch: None,
                    violations: Arc::clone(&v),
                    epochs: Arc::clone(&e),
                }),
            )
            .global_grouping("double");
        let report = run(builder.build().expect("valid"), config(workers)).expect("runs");
        assert_eq!(report.component("check").expect("stats").received, 200_000);
        assert_eq!(epochs.load(Ordering::Relaxed), 2_000, "{workers} workers");
        assert_eq!(violations.load(Ordering::Relaxed), 0, "{workers} workers");
    }
}

/// A sink whose output is gone from its 50th record on.
struct Broken;

impl Bolt<Num> for Broken {
    fn process(&mut self, record: &mut Num, out: &mut Emitter<'_, Num>) {
        if record.0 >= 50 {
            out.dead_letter(None, "the output is gone", record.0.to_string());
            out.fail("the output is gone");
        }
    }
}

/// A component that cannot go on stops the sources; what is in flight drains through it
/// (set aside and counted), and the report says which component failed and why.
#[test]
fn a_failing_component_stops_the_sources_and_is_reported() {
    let mut builder = TopologyBuilder::new("failing");
    builder.set_spout("numbers", counter(1_000_000, 10));
    builder
        .set_bolt("sink", BoltSpec::new(&["number"], None, |_| Broken))
        .global_grouping("numbers");
    let report = run(builder.build().expect("valid"), RunConfig::default()).expect("runs");
    assert_eq!(
        report.failures,
        [antimony_engine::ComponentFailure {
            component: "sink".into(),
            reason: "the output is gone".into()
        }]
    );
    let sink = report.component("sink").expect("sink");
    assert!(sink.received < 1_000_000, "the sources stopped: {sink:?}");
    assert_eq!(sink.dead_letters, sink.received - 50, "{sink:?}");
}

/// Waits, polled idle, until a tick has been seen (or long past any tick), then ends.
struct UntilTicked(Arc<AtomicU64>, std::time::Instant);

impl antimony_core::Spout<Num> for UntilTicked {
    fn open(&mut self, _ctx: &Context) -> Result<(), antimony_core::SpoutError> {
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, Num>) -> antimony_core::SpoutStatus {
        if self.1.elapsed() < Duration::from_millis(1) {
            out.emit(Num(1));
            return antimony_core::SpoutStatus::Emitted;
        }
        if self.0.load(Ordering::SeqCst) > 0 || self.1.elapsed() > Duration::from_secs(60) {
            return antimony_core::SpoutStatus::Finished;
        }
        antimony_core::SpoutStatus::Idle
    }
}

/// Emits the number of ticks so far on each tick.
struct Ticker(Arc<AtomicU64>);

impl Bolt<Num> for Ticker {
    fn process(&mut self, _record: &mut Num, _out: &mut Emitter<'_, Num>) {}

    fn on_tick(&mut self, out: &mut Emitter<'_, Num>) {
        let ticks = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        out.emit(Num(1000 + ticks));
    }
}

#[test]
fn a_bolt_that_asks_for_ticks_gets_them_while_its_input_is_idle() {
    let ticks = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut builder = TopologyBuilder::new("ticks");
    let spout_ticks = Arc::clone(&ticks);
    builder.set_spout(
        "idle",
        SpoutSpec::new(NUMBERS, move |_| {
            UntilTicked(Arc::clone(&spout_ticks), std::time::Instant::now())
        }),
    );
    let bolt_ticks = Arc::clone(&ticks);
    builder
        .set_bolt(
            "ticker",
            BoltSpec::new(&["number"], Some(NUMBERS), move |_| {
                Ticker(Arc::clone(&bolt_ticks))
            })
            .tick_every(Duration::from_millis(20)),
        )
        .global_grouping("idle");
    builder
        .set_bolt("collect", collect_spec(&seen))
        .global_grouping("ticker");
    let report = run(builder.build().expect("valid"), config(1)).expect("runs");
    assert_eq!(report.panics(), 0);
    assert!(
        ticks.load(Ordering::SeqCst) >= 1,
        "the idle input did not stop the ticks"
    );
    let seen = seen.lock().expect("lock");
    assert!(
        seen.iter().any(|(_, n)| *n > 1000),
        "what a tick emitted went downstream: {seen:?}"
    );
}
