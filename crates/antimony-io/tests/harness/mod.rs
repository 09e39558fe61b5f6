// Each test binary uses part of the harness.
#![allow(dead_code)]

//! Drives a spout by hand, as the engine would: opens it, polls it on its own thread until it
//! finishes or is stopped, and hands every record to a callback. The I/O edges are tested on
//! their own, without the engine (which `antimony-io` does not depend on).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use antimony_core::{Context, DeadLetter, Emitter, Record, Spout, SpoutError, SpoutStatus};

/// Stops a driven spout at its next poll.
#[derive(Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Asks the spout to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What a driven spout set aside.
#[derive(Debug, Default)]
pub struct Report {
    /// Its dead letters, in order.
    pub dead: Vec<DeadLetter>,
}

impl Report {
    /// How many records were set aside.
    pub fn dead_letters(&self) -> u64 {
        self.dead.len() as u64
    }
}

/// Opens the spout `make` builds and polls it until it finishes or `Stop` is called, on a
/// thread of its own; `each` gets every record, in order.
pub fn drive<R, S>(
    make: impl FnOnce() -> S + Send + 'static,
    mut each: impl FnMut(R) + Send + 'static,
) -> (Stop, JoinHandle<Result<Report, SpoutError>>)
where
    R: Record,
    S: Spout<R>,
{
    let stop = Stop::default();
    let stopped = stop.clone();
    let run = std::thread::spawn(move || {
        let mut spout = make();
        spout.open(&Context::new("source", 0, 1))?;
        let mut report = Report::default();
        let mut records = Vec::new();
        let mut dead = Vec::new();
        loop {
            let status = {
                let mut out = Emitter::new(&mut records, &mut dead, "source");
                spout.poll(&mut out)
            };
            records.drain(..).for_each(&mut each);
            report.dead.append(&mut dead);
            match status {
                SpoutStatus::Finished => break,
                SpoutStatus::Idle => std::thread::sleep(Duration::from_millis(1)),
                SpoutStatus::Emitted => {}
            }
            if stopped.0.load(Ordering::SeqCst) {
                break;
            }
        }
        spout.on_close();
        Ok(report)
    });
    (stop, run)
}
