//! The hand-written single-thread floor of `bench/dns-stateless.toml` (issue 15; McSherry's
//! COST): the same job with no engine, no timely and no Tokio, on one thread.
//!
//!     floor TOPOLOGY INPUT ALERTS
//!
//! reads the options of TOPOLOGY's components (its file spout's `chunk_bytes` and
//! `max_line_bytes`, `dns_parse`, `dns_detect`, `alert_dedup`, `alert_file`), reads the text
//! log INPUT, parses each line with antimony-dns's decoder, runs the stateless detectors
//! (`QuietNames` over `Detectors`, what `dns_detect` runs), deduplicates with the same
//! `Deduper` and writes ALERTS as `alert_file` would. `bench/run.sh` times it on the same
//! file as the Antimony rows, `cmp`s its ALERTS with `antimony run`'s (and fails the run if
//! they differ) and reports every Antimony figure as a ratio to it. By hand:
//!
//!     cargo run --release --example floor -- bench/dns-stateless.toml dns.log alerts.jsonl
//!
//! An example of the root package, so that it links like the binary (mimalloc, the release
//! profile) and the ratio isolates the engine.
//!
//! Engine semantics it reproduces, because the output depends on them: an epoch is one chunk
//! of the file spout (cut by content alone with the spout's own `LineCutter`, so the same
//! boundaries), and the deduplicator decides at the end of each epoch (which alert of a key
//! is kept, and when old windows are forgotten, depend on the epochs), then the sink sorts
//! the epoch's lines bytewise (`sort = true`) before writing them. A line the named format
//! refuses, or a line over `max_line_bytes`, is counted as set aside (the engine's dead
//! letters), never read. Not reproduced: compressed input and standard input (whose chunks
//! follow the writer's timing); the file must be plain text.
//!
//! What it costs per record: the decoder's `DnsEvent` (antimony-dns allocates its names;
//! nothing else here does), everything else recycled: one chunk buffer per 64 KiB, one alert
//! vector, one line buffer and a 1 MiB writer.

use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use antimony_components::detect::{DetectBoltConfig, read};
use antimony_components::parse::ParseConfig;
use antimony_detect::config::DedupConfig;
use antimony_detect::{Alert, AlertFormat, Deduper, DetectConfig, Detectors, QuietNames};
use antimony_dns::LineDecoder;
use antimony_dns::formats::json_lines;
use antimony_dns::formats::{DecodeOptions, Decoder};
use antimony_io::TextChunk;
use antimony_io::cutter::{Cut, LineCutter};
use antimony_io::sinks::json_lines::JsonLinesConfig;
use antimony_io::sources::file::FileConfig;

// The binary's allocator (src/main.rs), so that the ratio to `antimony run` isolates the
// engine rather than malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Failure = Box<dyn Error>;

/// The options of the one job this program runs, read from the topology file.
struct Job {
    file: FileConfig,
    parse: ParseConfig,
    detect: DetectBoltConfig,
    dedup: DedupConfig,
    sink: JsonLinesConfig<AlertFormat>,
    base_dir: PathBuf,
}

/// The component types of the stateless job, in data-flow order; a topology with anything
/// else (a stateful detector, a second sink) is not the job this floor reproduces.
const TYPES: [&str; 5] = [
    "file",
    "dns_parse",
    "dns_detect",
    "alert_dedup",
    "alert_file",
];

fn load(topology: &Path) -> Result<Job, Failure> {
    let text = std::fs::read_to_string(topology)
        .map_err(|e| format!("cannot read {}: {e}", topology.display()))?;
    let doc: toml::Table = text.parse()?;
    let mut tables: Vec<Option<toml::Table>> = vec![None; TYPES.len()];
    for role in ["spouts", "bolts"] {
        let Some(components) = doc.get(role).and_then(toml::Value::as_table) else {
            continue;
        };
        for (name, value) in components {
            let mut options = value
                .as_table()
                .ok_or_else(|| format!("{role}.{name} is not a table"))?
                .clone();
            let kind = match options.remove("type") {
                Some(toml::Value::String(kind)) => kind,
                _ => return Err(format!("{role}.{name} has no string `type`").into()),
            };
            options.remove("inputs");
            let slot = TYPES.iter().position(|t| *t == kind).ok_or_else(|| {
                format!("{role}.{name} is a `{kind}`, not part of the stateless job")
            })?;
            if tables[slot].replace(options).is_some() {
                return Err(format!("more than one `{kind}` in {}", topology.display()).into());
            }
        }
    }
    let mut take = |slot: usize| {
        tables[slot]
            .take()
            .ok_or_else(|| format!("{} has no `{}`", topology.display(), TYPES[slot]))
    };
    let (file, parse, detect, dedup, sink) = (take(0)?, take(1)?, take(2)?, take(3)?, take(4)?);
    let job = Job {
        file: toml::Value::Table(file).try_into()?,
        parse: toml::Value::Table(parse).try_into()?,
        detect: toml::Value::Table(detect).try_into()?,
        dedup: toml::Value::Table(dedup).try_into()?,
        sink: toml::Value::Table(sink).try_into()?,
        base_dir: topology
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    job.parse.check().map_err(|e| e.to_string())?;
    job.file.check().map_err(|e| e.to_string())?;
    Ok(job)
}

/// The decoder `dns_parse` makes for a named format (the floor needs one: it does not
/// re-decide formats line by line).
fn decoder(config: &ParseConfig) -> Result<Decoder, Failure> {
    let year = config.year.unwrap_or_else(current_year);
    let options = DecodeOptions {
        date_order: config.date_order,
        utc_offset_minutes: config.utc_offset_minutes,
        sensor: config.sensor.as_deref().map(Arc::from),
        year: Some(year),
    };
    if let Some(fields) = &config.fields {
        return Ok(json_lines::Decoder::with_fields(&options, fields.clone()).into());
    }
    let format = config
        .text_format()
        .ok_or("the floor needs dns_parse's `format` named (a text format, not auto)")?;
    Ok(format.decoder(&options))
}

fn current_year() -> i32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    antimony_dns::time::civil_from_days(now.div_euclid(86_400)).0
}

#[derive(Default)]
struct Counts {
    lines: u64,
    events: u64,
    set_aside: u64,
    alerts: u64,
    written: u64,
    epochs: u64,
}

/// Everything one epoch needs, recycled from epoch to epoch.
struct Floor {
    decoder: Decoder,
    detectors: Detectors,
    quiet: QuietNames,
    deduper: Deduper,
    format: AlertFormat,
    sort: bool,
    found: Vec<Alert>,
    kept: Vec<Alert>,
    text: String,
    lines: Vec<(usize, usize)>,
    counts: Counts,
}

impl Floor {
    /// One chunk: the dataflow's epoch, from spout to sink.
    fn epoch(&mut self, chunk: &TextChunk, out: &mut impl Write) -> std::io::Result<()> {
        self.counts.epochs += 1;
        for (_, line) in chunk.lines() {
            self.counts.lines += 1;
            match self.decoder.decode_line(line) {
                Ok(Some(event)) => self.detect(&event),
                Ok(None) => {}
                Err(_) => self.counts.set_aside += 1,
            }
        }
        if chunk.last {
            match self.decoder.finish() {
                Ok(Some(event)) => self.detect(&event),
                Ok(None) => {}
                Err(_) => self.counts.set_aside += 1,
            }
        }
        self.deduper.end_epoch(&mut self.kept);
        for alert in self.kept.drain(..) {
            let start = self.text.len();
            alert.write_as(self.format, &mut self.text);
            self.lines.push((start, self.text.len()));
        }
        let bytes = self.text.as_bytes();
        if self.sort {
            self.lines
                .sort_unstable_by(|a, b| bytes[a.0..a.1].cmp(&bytes[b.0..b.1]));
        }
        for &(start, end) in &self.lines {
            out.write_all(&bytes[start..end])?;
            out.write_all(b"\n")?;
        }
        self.counts.written += self.lines.len() as u64;
        self.lines.clear();
        self.text.clear();
        Ok(())
    }

    fn detect(&mut self, event: &antimony_dns::DnsEvent) {
        self.counts.events += 1;
        if self.quiet.run(&self.detectors, event, &mut self.found) > 0 {
            self.counts.alerts += self.found.len() as u64;
            for alert in self.found.drain(..) {
                self.deduper.offer(alert);
            }
        }
    }
}

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [topology, input, alerts] = args.as_slice() else {
        return Err("usage: floor TOPOLOGY INPUT ALERTS (see the top of examples/floor.rs)".into());
    };
    let started = Instant::now();
    let job = load(Path::new(topology))?;
    if !job.sink.format.is_json() {
        return Err(format!("alert_file format `{}` is not a JSON body", job.sink.format).into());
    }
    let (detectors, _) = Detectors::build(&DetectConfig::from(&job.detect), |path| {
        read(&job.base_dir, path)
    })?;
    let mut floor = Floor {
        decoder: decoder(&job.parse)?,
        detectors,
        quiet: QuietNames::new(),
        deduper: Deduper::new(&job.dedup),
        format: job.sink.format,
        sort: job.sink.sort,
        found: Vec::new(),
        kept: Vec::new(),
        text: String::new(),
        lines: Vec::new(),
        counts: Counts::default(),
    };
    let mut file = File::open(input).map_err(|e| format!("cannot open {input}: {e}"))?;
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(alerts).map_err(|e| format!("cannot create {alerts}: {e}"))?,
    );
    let ready = started.elapsed();
    let mut cutter = LineCutter::new(input.clone(), job.file.chunk_bytes, job.file.max_line_bytes);
    let mut cuts = Vec::new();
    // Reads of about a chunk: the cutter moves what follows a cut to a new buffer, so larger
    // reads would copy their tail once per chunk.
    let read_bytes = job.file.chunk_bytes.max(4096) as u64;
    loop {
        let n = (&mut file).take(read_bytes).read_to_end(cutter.buffer())?;
        if n == 0 {
            cutter.finish(&mut cuts);
        } else {
            cutter.cut(false, &mut cuts);
        }
        for cut in cuts.drain(..) {
            match cut {
                Cut::Chunk(chunk) => floor.epoch(&chunk, &mut out)?,
                Cut::LongLine { .. } => floor.counts.set_aside += 1,
            }
        }
        if n == 0 {
            break;
        }
    }
    out.flush()?;
    let c = &floor.counts;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "floor: {} lines, {} events, {} set aside, {} alerts raised, {} written, {} epochs; \
         {secs:.3} s ({:.3} s start-up), {:.0} events/s",
        c.lines,
        c.events,
        c.set_aside,
        c.alerts,
        c.written,
        c.epochs,
        ready.as_secs_f64(),
        c.events as f64 / secs.max(1e-9),
    );
    Ok(())
}
