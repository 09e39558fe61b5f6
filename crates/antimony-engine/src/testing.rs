//! Small records and components for the engine's own tests and doc examples.

use std::sync::{Arc, Mutex};

use antimony_core::LineOutput;
use serde::{Deserialize, Serialize};

use crate::runtime::DeadLetterOutput;

use antimony_core::{
    Bolt, Context, Emitter, Record, Spout, SpoutError, SpoutStatus, StableHasher, StreamType,
};

use crate::topology::{BoltSpec, SpoutSpec};

/// A number: the simplest record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Num(pub u64);

/// The stream type of [`Num`], groupable by `value`.
pub const NUMBERS: StreamType = StreamType::with_fields("number", &["value"]);

impl Record for Num {
    fn kind(&self) -> &'static str {
        "number"
    }

    fn key_hash(&self, _fields: &[usize]) -> u64 {
        StableHasher::hash64(&[&self.0.to_le_bytes()])
    }

    fn describe(&self) -> String {
        format!("number {}", self.0)
    }
}

/// Emits `0..count` in batches of `batch`.
pub struct Counter {
    /// Next number.
    pub next: u64,
    /// One past the last number.
    pub count: u64,
    /// Numbers per poll.
    pub batch: u64,
}

impl Spout<Num> for Counter {
    fn open(&mut self, _ctx: &Context) -> Result<(), SpoutError> {
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, Num>) -> SpoutStatus {
        let end = (self.next + self.batch).min(self.count);
        for n in self.next..end {
            out.emit(Num(n));
        }
        self.next = end;
        if end == self.count {
            SpoutStatus::Finished
        } else {
            SpoutStatus::Emitted
        }
    }
}

/// Doubles each number.
pub struct Double;

impl Bolt<Num> for Double {
    fn process(&mut self, record: &mut Num, out: &mut Emitter<'_, Num>) {
        out.emit(Num(record.0 * 2));
    }
}

/// A counting spout and a doubling bolt, for examples.
pub fn example_specs() -> (SpoutSpec<Num>, BoltSpec<Num>) {
    (
        SpoutSpec::new(NUMBERS, |_| Counter {
            next: 0,
            count: 10,
            batch: 4,
        }),
        BoltSpec::new(&["number"], Some(NUMBERS), |_| Double),
    )
}

/// Lines kept in memory: a dead-letter output for tests.
#[derive(Clone, Debug, Default)]
pub struct MemoryLines(Arc<Mutex<Vec<u8>>>);

impl MemoryLines {
    /// A dead-letter output writing here.
    pub fn output(&self) -> DeadLetterOutput {
        let lines = self.clone();
        DeadLetterOutput::new("memory", move || {
            Ok(Box::new(lines.clone()) as Box<dyn LineOutput>)
        })
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl LineOutput for MemoryLines {
    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        let mut text = self.0.lock().unwrap_or_else(|e| e.into_inner());
        text.extend_from_slice(line);
        text.push(b'\n');
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn close(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
