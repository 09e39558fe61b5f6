//! Checkpoints end to end on a small topology: a run stopped mid-way and resumed from its
//! checkpoint counts every record exactly once, on as many workers or on others, and a
//! source acknowledges only what a complete checkpoint covers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use antimony_core::{
    Bolt, Context, Emitter, Record, Restored, Spout, SpoutError, SpoutStatus, State,
};
use antimony_engine::runtime::checkpoint::CheckpointConfig;
use antimony_engine::testing::{NUMBERS, Num};
use antimony_engine::{BoltSpec, RunConfig, SpoutSpec, StopHandle, TopologyBuilder, run_with_stop};

/// Emits `0..count`, `batch` a poll, slowly enough to be stopped mid-way; resumes from a
/// position and records what it was told is committed.
struct Numbers {
    next: u64,
    count: u64,
    batch: u64,
    emitted: Arc<AtomicU64>,
    acknowledged: Arc<Mutex<Vec<u64>>>,
}

impl Spout<Num> for Numbers {
    fn open(&mut self, _ctx: &Context) -> Result<(), SpoutError> {
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, Num>) -> SpoutStatus {
        std::thread::sleep(Duration::from_micros(200));
        let end = (self.next + self.batch).min(self.count);
        for n in self.next..end {
            out.emit(Num(n));
        }
        self.emitted.fetch_add(end - self.next, Ordering::Relaxed);
        self.next = end;
        if end == self.count {
            SpoutStatus::Finished
        } else {
            SpoutStatus::Emitted
        }
    }

    fn position(&mut self) -> Option<Vec<u8>> {
        Some(self.next.to_le_bytes().to_vec())
    }

    fn seek(&mut self, position: &[u8]) -> Result<(), SpoutError> {
        let bytes: [u8; 8] = position
            .try_into()
            .map_err(|_| SpoutError::new("not a position of this spout"))?;
        self.next = u64::from_le_bytes(bytes);
        Ok(())
    }

    fn committed(&mut self, position: &[u8]) {
        if let Ok(bytes) = <[u8; 8]>::try_from(position) {
            self.acknowledged
                .lock()
                .expect("lock")
                .push(u64::from_le_bytes(bytes));
        }
    }
}

/// Keeps, per number, how many times it was seen (keyed state), and tells its totals when
/// it closes.
struct Tally {
    seen: BTreeMap<u64, u64>,
    totals: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl Bolt<Num> for Tally {
    fn process(&mut self, record: &mut Num, _out: &mut Emitter<'_, Num>) {
        *self.seen.entry(record.0).or_default() += 1;
    }

    fn on_close(&mut self, _out: &mut Emitter<'_, Num>) {
        let mut totals = self.totals.lock().expect("lock");
        totals.extend(self.seen.iter().map(|(n, c)| (*n, *c)));
    }

    fn snapshot(&mut self) -> Result<Option<State>, String> {
        Ok(Some(State {
            global: Vec::new(),
            keyed: self
                .seen
                .iter()
                .map(|(n, c)| {
                    let mut entry = n.to_le_bytes().to_vec();
                    entry.extend_from_slice(&c.to_le_bytes());
                    // The hash the fields grouping routes this number by.
                    (Num(*n).key_hash(&[0]), entry)
                })
                .collect(),
        }))
    }

    fn restore(&mut self, state: Restored) -> Result<(), String> {
        for entry in state.keyed {
            let (n, c) = entry.split_at(8);
            let n = u64::from_le_bytes(n.try_into().expect("8 bytes"));
            let c = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.seen.insert(n, c);
        }
        Ok(())
    }
}

struct Probe {
    emitted: Arc<AtomicU64>,
    acknowledged: Arc<Mutex<Vec<u64>>>,
    totals: Arc<Mutex<Vec<(u64, u64)>>>,
}

/// Runs the tally over `0..count` on `workers` with checkpoints in `dir`; stops it once
/// the spout has emitted `stop_after` numbers, if given.
fn tally(dir: &std::path::Path, count: u64, workers: usize, stop_after: Option<u64>) -> Probe {
    let probe = Probe {
        emitted: Arc::default(),
        acknowledged: Arc::default(),
        totals: Arc::default(),
    };
    let mut builder = TopologyBuilder::new("tally");
    let (emitted, acknowledged) = (probe.emitted.clone(), probe.acknowledged.clone());
    builder.set_spout(
        "numbers",
        SpoutSpec::new(NUMBERS, move |_| Numbers {
            next: 0,
            count,
            batch: 50,
            emitted: emitted.clone(),
            acknowledged: acknowledged.clone(),
        }),
    );
    let totals = probe.totals.clone();
    builder
        .set_bolt(
            "tally",
            BoltSpec::new(&["number"], None, move |_| Tally {
                seen: BTreeMap::new(),
                totals: totals.clone(),
            }),
        )
        .fields_grouping("numbers", &["value"]);
    let topology = builder.build().expect("a valid topology");
    let mut checkpoint = CheckpointConfig::new(dir);
    checkpoint.every_epochs = Some(8);
    checkpoint.every = Some(Duration::from_millis(20));
    let config = RunConfig {
        workers,
        checkpoint: Some(checkpoint),
        ..RunConfig::default()
    };
    let stop = StopHandle::default();
    let stopper = stop_after.map(|after| {
        let (stop, emitted) = (stop.clone(), probe.emitted.clone());
        std::thread::spawn(move || {
            while emitted.load(Ordering::Relaxed) < after {
                std::thread::sleep(Duration::from_millis(1));
            }
            stop.stop();
        })
    });
    let report = run_with_stop(topology, config, stop).expect("the run completes");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    if let Some(stopper) = stopper {
        stopper.join().expect("stopper");
    }
    probe
}

/// Every number of `0..count` counted once over the final state.
fn assert_each_once(totals: &[(u64, u64)], count: u64) {
    let mut by_number: BTreeMap<u64, u64> = BTreeMap::new();
    for (n, c) in totals {
        *by_number.entry(*n).or_default() += c;
    }
    assert_eq!(
        by_number.len() as u64,
        count,
        "every number is in the state"
    );
    let twice: Vec<_> = by_number.iter().filter(|(_, c)| **c != 1).take(5).collect();
    assert!(twice.is_empty(), "counted more than once: {twice:?}");
}

#[test]
fn a_stopped_run_resumes_where_its_checkpoint_is_and_counts_everything_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let count = 20_000;
    let first = tally(dir.path(), count, 2, Some(5_000));
    let read_first = first.emitted.load(Ordering::Relaxed);
    assert!(read_first < count, "stopped mid-way ({read_first})");
    let acknowledged = first.acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.windows(2).all(|w| w[0] <= w[1]),
        "{acknowledged:?}"
    );
    assert_eq!(
        acknowledged.last().copied(),
        Some(read_first),
        "the last checkpoint covers everything read, and only then is it acknowledged"
    );

    let second = tally(dir.path(), count, 2, None);
    assert_eq!(
        read_first + second.emitted.load(Ordering::Relaxed),
        count,
        "the second run starts where the first stopped"
    );
    assert_each_once(&second.totals.lock().expect("lock"), count);

    // Over: a third run finds nothing left to read, and the state is still whole.
    let third = tally(dir.path(), count, 2, None);
    assert_eq!(third.emitted.load(Ordering::Relaxed), 0);
    assert_each_once(&third.totals.lock().expect("lock"), count);
}

#[test]
fn a_checkpoint_taken_on_one_worker_resumes_on_two_and_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let count = 20_000;
    let first = tally(dir.path(), count, 1, Some(4_000));
    let second = tally(dir.path(), count, 2, Some(12_000));
    let third = tally(dir.path(), count, 1, None);
    let read = [&first, &second, &third].map(|p| p.emitted.load(Ordering::Relaxed));
    assert_eq!(read.iter().sum::<u64>(), count, "{read:?}");
    assert_each_once(&third.totals.lock().expect("lock"), count);
}
