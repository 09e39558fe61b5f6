//! Realistic DNS workloads for tests and benchmarks (behind `antimony gen`).
//!
//! A [`Model`] draws DNS exchanges (popular names by Zipf rank, thousands of clients, DGA
//! bursts, block-listed names, lookalikes, a base32 TXT tunnel, NXDOMAIN storms, beacons) from
//! the shared data's lists ([`Workload`]); a [`Writer`] prints them as Windows DNS debug log
//! lines, BIND query log lines or pcap packets. The same seed gives the same bytes; memory does
//! not grow with the number of records.
//!
//! A *paced* run ([`Pacing`]) writes at a fixed rate and stamps records with the wall clock,
//! for latency measurements: it can mix in *probes*, lookups of `t<ns>.update-java.net` whose
//! first label is the wall-clock time (nanoseconds) at which the line was written. Every probe
//! raises an alert whose `domain` therefore says when its record was born, so the latency from
//! record to alert needs no side table: `arrival time - stamp`.

mod count;
pub mod data;
pub mod formats;
pub mod model;
pub mod rng;

use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use count::parse_count;
pub use data::{DataError, Workload};
pub use formats::{OutputFormat, UnknownOutputFormat, Writer};
pub use model::{Kind, Model, ModelConfig, Transaction};

/// Bytes gathered before each write to the output.
const WRITE_BYTES: usize = 1 << 20;

/// A run of the generator.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// The output format.
    pub format: OutputFormat,
    /// Records to write: lines of a log, packets of a pcap.
    pub records: u64,
    /// The traffic model's knobs.
    pub model: ModelConfig,
    /// Write at a fixed rate instead of as fast as possible.
    pub pacing: Option<Pacing>,
}

/// A paced run: records per second, and latency probes per second.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Records per second.
    pub rate: f64,
    /// Latency probes per second (each is a query and a response in the Windows log).
    pub probes: f64,
}

/// What a run wrote.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Records written.
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Exchanges drawn from the model, by kind.
    pub kinds: Vec<(Kind, u64)>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Summary {
    fn count(&mut self, kind: Kind) {
        match self.kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.kinds.push((kind, 1)),
        }
    }
}

fn wall_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Writes `config.records` records of `config.format` to `out`.
pub fn generate(data: &Workload, config: &GenConfig, out: &mut impl Write) -> io::Result<Summary> {
    let started = Instant::now();
    let mut model_config = config.model.clone();
    if config.pacing.is_some() {
        // A paced run is stamped with the wall clock: its model starts now, or every
        // periodic beacon would be due from `start` to now at once, and would crowd out
        // everything else until it caught up (days of periods).
        model_config.start = (wall_nanos() / 1000) as i64;
    }
    let mut model = Model::new(data, &model_config);
    let mut writer = Writer::new(config.format);
    let mut buf = Vec::with_capacity(WRITE_BYTES + 64 * 1024);
    let mut summary = Summary::default();
    writer.header(&mut buf);
    match config.pacing {
        None => {
            let mut written = 0;
            while written < config.records {
                let tx = model.next(None);
                summary.count(tx.kind);
                written += writer.write(tx, &mut buf, config.records - written);
                if buf.len() >= WRITE_BYTES {
                    out.write_all(&buf)?;
                    summary.bytes += buf.len() as u64;
                    buf.clear();
                }
            }
            summary.records = written;
        }
        Some(pacing) => paced(
            &mut model,
            &mut writer,
            config.records,
            pacing,
            &mut buf,
            out,
            &mut summary,
        )?,
    }
    out.write_all(&buf)?;
    out.flush()?;
    summary.bytes += buf.len() as u64;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Writes at `pacing.rate` records per second in small batches (one every 100 microseconds
/// or so), each stamped with the wall clock.
fn paced(
    model: &mut Model<'_>,
    writer: &mut Writer,
    records: u64,
    pacing: Pacing,
    buf: &mut Vec<u8>,
    out: &mut impl Write,
    summary: &mut Summary,
) -> io::Result<()> {
    let rate = pacing.rate.max(1.0);
    let start = Instant::now();
    let mut written = 0;
    let mut probes_sent = 0u64;
    while written < records {
        let elapsed = start.elapsed().as_secs_f64();
        let due = ((elapsed * rate) as u64).min(records);
        let probes_due = (elapsed * pacing.probes) as u64;
        if written < due || probes_sent < probes_due {
            let now_ns = wall_nanos();
            let now_us = (now_ns / 1000) as i64;
            while probes_sent < probes_due && written < records {
                probes_sent += 1;
                let tx = model.probe(now_us, now_ns);
                summary.count(tx.kind);
                written += writer.write(tx, buf, records - written);
            }
            while written < due {
                let tx = model.next(Some(now_us));
                summary.count(tx.kind);
                written += writer.write(tx, buf, records - written);
            }
            out.write_all(buf)?;
            out.flush()?;
            summary.bytes += buf.len() as u64;
            buf.clear();
        }
        // Sleep until the next record is due, but not less than 100 us: a write per record
        // would cost more than the records themselves.
        let next = (written + 1) as f64 / rate;
        let wait = (next - start.elapsed().as_secs_f64()).max(100e-6);
        std::thread::sleep(Duration::from_secs_f64(wait.min(0.01)));
    }
    summary.records = written;
    Ok(())
}

#[cfg(test)]
mod tests;
