//! Nexmark-style queries on the engine alone, with no DNS in sight: how fast the engine moves
//! records between components, apart from parsing and detection.
//!
//! ```text
//! cargo run --release -p antimony-engine --example nexmark -- QUERY EVENTS WORKERS
//! ```
//!
//! A parallel spout (one per worker) makes bids in memory, 4,096 per epoch, the way Flink's
//! `datagen` connector does in the Flink side of `bench/run.sh`:
//!
//! - `q0` passthrough: spout -> a bolt that forwards each bid -> a sink;
//! - `q1` map: the price converted to euros (`price * 908 / 1000`, Nexmark's query 1);
//! - `q2` filter: bids on auctions whose id is a multiple of 123 (Nexmark's query 2);
//! - `q5` keyed windowed count: bids per auction per 10-second tumbling window of event time,
//!   through a fields grouping on the auction (an exchange between workers).
//!
//! Every bolt here decides per record, so each is declared `streaming()`: records flow as
//! they arrive, as in Flink, rather than one whole epoch at a time.
//!
//! Prints one JSON line: query, events, workers, seconds, events per second.

use std::collections::HashMap;
use std::time::Instant;

use antimony_core::{
    Bolt, Context, Emitter, Record, Spout, SpoutError, SpoutStatus, StableHasher, StreamType,
};
use antimony_engine::{BoltSpec, RunConfig, SpoutSpec, TopologyBuilder};
use serde::{Deserialize, Serialize};

/// Bids, and per-window counts (`count > 0`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Event {
    auction: u64,
    bidder: u64,
    price: u64,
    ts: i64,
    count: u64,
}

const BIDS: StreamType = StreamType::with_fields("bid", &["auction"]);
const COUNTS: StreamType = StreamType::with_fields("count", &["auction"]);
const BATCH: u64 = 4096;
/// Event time advances 10 us per bid: 100,000 bids per second of event time.
const TICK_MICROS: i64 = 10;
const WINDOW_MICROS: i64 = 10_000_000;

impl Record for Event {
    fn kind(&self) -> &'static str {
        if self.count > 0 {
            COUNTS.kind
        } else {
            BIDS.kind
        }
    }

    fn key_hash(&self, _fields: &[usize]) -> u64 {
        StableHasher::hash64(&[&self.auction.to_le_bytes()])
    }

    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

/// SplitMix64's finaliser: a cheap, well-mixed function of the bid number.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Bids `next, next + step, ...` below `end`: the workers' spouts interleave, so event time
/// advances together on every worker.
struct Bids {
    next: u64,
    step: u64,
    end: u64,
}

impl Spout<Event> for Bids {
    fn open(&mut self, _ctx: &Context) -> Result<(), SpoutError> {
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, Event>) -> SpoutStatus {
        if self.next >= self.end {
            return SpoutStatus::Finished;
        }
        let stop = (self.next + BATCH * self.step).min(self.end);
        for i in (self.next..stop).step_by(self.step as usize) {
            let r = mix(i);
            out.emit(Event {
                auction: r % 10_000,
                bidder: (r >> 20) % 100_000,
                price: 100 + (r >> 40) % 10_000,
                ts: i as i64 * TICK_MICROS,
                count: 0,
            });
        }
        self.next += (stop - self.next).div_ceil(self.step) * self.step;
        SpoutStatus::Emitted
    }
}

struct Pass;
impl Bolt<Event> for Pass {
    fn process(&mut self, record: &mut Event, out: &mut Emitter<'_, Event>) {
        out.emit(std::mem::take(record));
    }
}

struct Euros;
impl Bolt<Event> for Euros {
    fn process(&mut self, record: &mut Event, out: &mut Emitter<'_, Event>) {
        let mut bid = std::mem::take(record);
        bid.price = bid.price * 908 / 1000;
        out.emit(bid);
    }
}

struct Filter;
impl Bolt<Event> for Filter {
    fn process(&mut self, record: &mut Event, out: &mut Emitter<'_, Event>) {
        if record.auction.is_multiple_of(123) {
            out.emit(std::mem::take(record));
        }
    }
}

/// Counts bids per (window, auction); a window is emitted once bids two windows later arrive
/// (bids come nearly in time order), the rest at the end.
#[derive(Default)]
struct WindowCount {
    counts: HashMap<(i64, u64), u64>,
    newest: i64,
}

impl WindowCount {
    fn emit_before(&mut self, window: i64, out: &mut Emitter<'_, Event>) {
        let closed: Vec<(i64, u64)> = self
            .counts
            .keys()
            .filter(|(w, _)| *w < window)
            .copied()
            .collect();
        for key in closed {
            if let Some(count) = self.counts.remove(&key) {
                out.emit(Event {
                    auction: key.1,
                    ts: key.0 * WINDOW_MICROS,
                    count,
                    ..Event::default()
                });
            }
        }
    }
}

impl Bolt<Event> for WindowCount {
    fn process(&mut self, record: &mut Event, out: &mut Emitter<'_, Event>) {
        let window = record.ts.div_euclid(WINDOW_MICROS);
        *self.counts.entry((window, record.auction)).or_insert(0) += 1;
        if window > self.newest + 1 {
            self.newest = window - 1;
            self.emit_before(self.newest, out);
        }
    }

    fn on_close(&mut self, out: &mut Emitter<'_, Event>) {
        self.emit_before(i64::MAX, out);
    }
}

struct Sink;
impl Bolt<Event> for Sink {
    fn process(&mut self, _record: &mut Event, _out: &mut Emitter<'_, Event>) {}
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let query = args.get(1).map_or("q0", String::as_str).to_owned();
    let events: u64 = args.get(2).map_or(Ok(10_000_000), |s| s.parse())?;
    let workers: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;

    let mut builder = TopologyBuilder::new("nexmark");
    let spout = SpoutSpec::new(BIDS, move |ctx: &Context| Bids {
        next: ctx.worker as u64,
        step: ctx.workers as u64,
        end: events,
    })
    .parallel();
    builder.set_spout("bids", spout);
    match query.as_str() {
        "q0" => {
            builder
                .set_bolt(
                    "query",
                    BoltSpec::new(&[BIDS.kind], Some(BIDS), |_| Pass).streaming(),
                )
                .local_grouping("bids");
        }
        "q1" => {
            builder
                .set_bolt(
                    "query",
                    BoltSpec::new(&[BIDS.kind], Some(BIDS), |_| Euros).streaming(),
                )
                .local_grouping("bids");
        }
        "q2" => {
            builder
                .set_bolt(
                    "query",
                    BoltSpec::new(&[BIDS.kind], Some(BIDS), |_| Filter).streaming(),
                )
                .local_grouping("bids");
        }
        "q5" => {
            builder
                .set_bolt(
                    "query",
                    // Windows of event time, closed as bids arrive: nothing waits for an
                    // epoch's end, so the bolt streams like the others.
                    BoltSpec::new(&[BIDS.kind], Some(COUNTS), |_| WindowCount::default())
                        .streaming(),
                )
                .fields_grouping("bids", &["auction"]);
        }
        other => return Err(format!("unknown query {other}: q0, q1, q2 or q5").into()),
    }
    builder
        .set_bolt(
            "sink",
            BoltSpec::new(&[BIDS.kind, COUNTS.kind], None, |_| Sink).streaming(),
        )
        .local_grouping("query");
    let topology = builder.build()?;
    let started = Instant::now();
    let report = antimony_engine::run(
        topology,
        RunConfig {
            workers,
            ..RunConfig::default()
        },
    )?;
    let secs = started.elapsed().as_secs_f64();
    let out = report
        .components
        .iter()
        .find(|c| c.name == "sink")
        .map_or(0, |c| c.received);
    println!(
        "{{\"query\":\"{query}\",\"events\":{events},\"workers\":{workers},\"seconds\":{secs:.3},\"events_per_s\":{:.0},\"out\":{out}}}",
        events as f64 / secs
    );
    Ok(())
}
