//! A sink that writes records as JSON lines, to a file or standard output.
//!
//! Declare it global-only (one instance, on worker 0, writes the file) when it is placed in
//! a topology.
//!
//! Lines are written in a deterministic order: the sink buffers one epoch, sorts its lines,
//! and writes them when the epoch ends. The same input gives the same file whatever the number
//! of workers (when the sink reads its input with global grouping, as it should).
//!
//! # Body format
//!
//! Each record is written by its [`JsonLine`] form, or by a [`LineRender`] the caller gives
//! (the components crate passes the alert formats: ECS, eve). Only a sink writing the
//! records' own form feeds the run's [`Feed`] (the API reads it as that form).
//!
//! # Rotation
//!
//! With `rotate_bytes` or `rotate_secs`, the file is rotated at the end of an epoch (never
//! inside one, so no line is split and each file holds whole epochs): once it holds
//! `rotate_bytes` bytes, or has been open `rotate_secs` seconds and holds a line. The file
//! is renamed `NAME.YYYYMMDDTHHMMSSZ.GGGGGG` (UTC time, generation) and a new one started;
//! rotated files are compressed (`compress`) and the oldest beyond `keep` deleted by a
//! task on the I/O runtime ([`rotation`]). Concatenated in generation
//! order (decompressed), the rotated files and the live one are exactly the file the sink
//! would have written without rotation.
//!
//! # Checkpoints
//!
//! The sink's state is its file's generation and committed length. On resume, the file is
//! cut back to that length; if it was rotated after that checkpoint, the rotated file of
//! the checkpoint's generation is put back as the live file first (and later generations,
//! written past the checkpoint, deleted): what came after the checkpoint is written again,
//! into the same files. Rotation therefore happens at any epoch end, checkpoints or not;
//! `keep` never deletes the rotated files a checkpoint that may not be committed yet could
//! need (those of the generations of the last two snapshots and later).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use antimony_core::metrics::{Counter, CounterMetric};
use antimony_core::{Bolt, Context, Emitter, Feed, Record, Restored, State};

use super::rotation::{
    self, ByteSize, Compression, Housekeeper, HousekeepingCounters, RotationPolicy,
};
use crate::line_writer::{LineTarget, LineWriter};
use serde::Deserialize;

/// Lines a sink wrote.
pub const LINES_WRITTEN: CounterMetric = CounterMetric::new(
    "antimony_sink_lines_written_total",
    "Lines a sink wrote through to its output.",
);
/// Lines a sink could not write.
pub const LINES_FAILED: CounterMetric = CounterMetric::new(
    "antimony_sink_lines_failed_total",
    "Lines a sink could not write: set aside with the reason, or lost in the output's failure (and said).",
);

/// A record that can render itself as one line of JSON.
pub trait JsonLine {
    /// Appends the record's JSON (no newline) to `out`; returns false if the record has no
    /// JSON form (it is then not written).
    fn write_json_line(&self, out: &mut String) -> bool;
}

/// Renders a record as one line (no newline) in a format of the caller's; false: the
/// record has no such form (it is then not written).
pub type LineRender<R> = Arc<dyn Fn(&R, &mut String) -> bool + Send + Sync>;

/// The one body format of records that have no other: their [`JsonLine`] form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonOnly {
    /// The record's JSON form.
    #[default]
    Json,
}

/// Options of a JSON-lines sink. `F` is the body formats the record type offers (the
/// `format` option; [`JsonOnly`] when it has one).
#[derive(Clone, Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "F: Deserialize<'de> + Default")
)]
pub struct JsonLinesConfig<F = JsonOnly> {
    /// The file to write (created or truncated); `-` is standard output. Relative to the
    /// topology file. Default `-`.
    #[serde(default = "stdout")]
    pub path: String,
    /// Sort each epoch's lines (default true), so the file is the same on any number of
    /// workers; false keeps the order records arrived in (input order on one worker).
    #[serde(default = "yes")]
    pub sort: bool,
    /// The body format of each line (default: the records' JSON form).
    #[serde(default)]
    pub format: F,
    /// Rotate the file once it holds this many bytes (`"100MB"`, `"64KiB"` or an
    /// integer), at the end of the epoch that passed it.
    #[serde(default)]
    pub rotate_bytes: Option<ByteSize>,
    /// Rotate the file once it has been open this many seconds (and holds a line), at the
    /// end of an epoch.
    #[serde(default)]
    pub rotate_secs: Option<u64>,
    /// Rotated files kept; the oldest beyond it are deleted (default: all kept).
    #[serde(default)]
    pub keep: Option<usize>,
    /// Compression of rotated files: `none` (default), `gzip` or `zstd`.
    #[serde(default)]
    pub compress: Compression,
}

impl<F> JsonLinesConfig<F> {
    /// Checks the rotation options: `(option, what is wrong)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.rotate_bytes.is_some_and(|b| b.0 == 0) {
            return Err(("rotate_bytes", "must be at least 1 byte".to_owned()));
        }
        if self.rotate_secs == Some(0) {
            return Err(("rotate_secs", "must be at least 1 second".to_owned()));
        }
        let rotates = self.rotate_bytes.is_some() || self.rotate_secs.is_some();
        if rotates && self.path == "-" {
            let option = if self.rotate_bytes.is_some() {
                "rotate_bytes"
            } else {
                "rotate_secs"
            };
            return Err((
                option,
                "standard output cannot be rotated: set `path` to a file".to_owned(),
            ));
        }
        if !rotates {
            if self.keep.is_some() {
                return Err((
                    "keep",
                    "has no effect without `rotate_bytes` or `rotate_secs`".to_owned(),
                ));
            }
            if self.compress != Compression::None {
                return Err((
                    "compress",
                    "has no effect without `rotate_bytes` or `rotate_secs`".to_owned(),
                ));
            }
        }
        Ok(())
    }

    /// The rotation these options ask for.
    pub fn rotation(&self) -> RotationPolicy {
        RotationPolicy {
            max_bytes: self.rotate_bytes.map(|b| b.0),
            max_age: self.rotate_secs.map(Duration::from_secs),
            keep: self.keep,
            compress: self.compress,
        }
    }
}

fn yes() -> bool {
    true
}

fn stdout() -> String {
    "-".to_owned()
}

/// Writes each record's JSON line. If the target cannot be written (a full disk, a closed
/// pipe), the sink fails the run (its sources stop, what is in flight drains), the lines it
/// could not write become dead letters with the reason, and the lines its writer had taken
/// but not written are counted and said: nothing is lost silently.
pub struct JsonLinesSink<R> {
    target: LineTarget,
    sort: bool,
    /// The body format, when not the records' [`JsonLine`] form.
    render: Option<LineRender<R>>,
    writer: Option<LineWriter>,
    failure: Option<String>,
    /// This epoch's lines, back to back, and where each one is: one buffer, reused, rather
    /// than an allocation per line.
    epoch_text: String,
    epoch_lines: Vec<(usize, usize)>,
    written: Counter,
    failed: Counter,
    /// Lines the writer has written, as last counted.
    written_seen: u64,
    /// The failure not yet reported to the engine (an open that failed before any emitter).
    unreported: Option<String>,
    /// Where written lines are also kept, when their kind is watched.
    feed: Option<Feed>,
    /// The kind of the records written, and whether this sink feeds them (asked once).
    kind: Option<(&'static str, bool)>,
    /// Resumed from a checkpoint: the generation and bytes of the file it holds (what
    /// comes after is cut off and written again).
    resume_at: Option<(u64, u64)>,
    rotation: RotationPolicy,
    /// The live file's generation (rotations so far), its bytes, and when it was opened.
    generation: u64,
    file_bytes: u64,
    opened: Instant,
    /// The generations of the last two snapshots (or the one resumed from): a checkpoint
    /// not known to be committed may need the rotated files from the older one on. `None`
    /// when no checkpoint was taken nor resumed from: nothing to spare.
    snapshot_generations: Option<(u64, u64)>,
    housekeeper: Option<Housekeeper>,
    rotations: Counter,
    housekeeping: HousekeepingCounters,
}

impl<R> JsonLinesSink<R> {
    /// A sink writing to `path` (`-` for standard output), sorting each epoch's lines.
    pub fn new(path: PathBuf) -> Self {
        Self::with_order(path, true)
    }

    /// A sink writing to `path`, sorting each epoch's lines or not.
    pub fn with_order(path: PathBuf, sort: bool) -> Self {
        let target = if path.as_os_str() == "-" {
            LineTarget::Stdout
        } else {
            LineTarget::File(path)
        };
        JsonLinesSink {
            target,
            sort,
            render: None,
            writer: None,
            failure: None,
            epoch_text: String::new(),
            epoch_lines: Vec::new(),
            written: Counter::default(),
            failed: Counter::default(),
            written_seen: 0,
            unreported: None,
            feed: None,
            kind: None,
            resume_at: None,
            rotation: RotationPolicy::default(),
            generation: 0,
            file_bytes: 0,
            opened: Instant::now(),
            snapshot_generations: None,
            housekeeper: None,
            rotations: Counter::default(),
            housekeeping: HousekeepingCounters::default(),
        }
    }

    /// Writes each record with `render` instead of its [`JsonLine`] form. Such a sink does
    /// not feed the run's [`Feed`], which holds the records' own form.
    pub fn rendering(mut self, render: LineRender<R>) -> Self {
        self.render = Some(render);
        self
    }

    /// Rotates the file as `policy` says (standard output is never rotated).
    pub fn rotating(mut self, policy: RotationPolicy) -> Self {
        self.rotation = policy;
        self
    }

    /// The output failed: counts what the writer took and did not write, and keeps the
    /// reason, for the engine and for the lines still to come.
    fn fail(&mut self, error: std::io::Error) {
        if let Some(writer) = self.writer.take() {
            self.count_written(&writer);
            let lost = writer.unwritten();
            self.failed.add(lost);
            let mut reason = format!("cannot write to {}: {error}", self.target.display());
            if lost > 0 {
                reason.push_str(&format!(" ({lost} lines already taken were not written)"));
            }
            self.unreported.get_or_insert_with(|| reason.clone());
            self.failure.get_or_insert(reason);
        } else if self.failure.is_none() {
            let reason = format!("cannot write to {}: {error}", self.target.display());
            self.unreported = Some(reason.clone());
            self.failure = Some(reason);
        }
    }

    fn count_written(&mut self, writer: &LineWriter) {
        let written = writer.written();
        self.written.add(written - self.written_seen);
        self.written_seen = written;
    }

    /// Tells the engine, once, that this sink cannot go on.
    fn report(&mut self, out: &mut Emitter<'_, impl Record>) {
        if let Some(reason) = self.unreported.take() {
            out.fail(reason);
        }
    }

    /// Opens the file (worker 0), putting it back as a checkpoint left it when resuming.
    fn open(&mut self) -> std::io::Result<LineWriter> {
        let resume = self.resume_at;
        if let (Some((generation, length)), LineTarget::File(path)) = (resume, &self.target) {
            crate::runtime::handle()
                .block_on(rotation::restore_generation(path, generation, length))?;
            self.generation = generation;
            self.file_bytes = length;
            self.snapshot_generations = Some((generation, generation));
        } else if let LineTarget::File(path) = &self.target {
            // A fresh file: generations go on from the rotated files already there (an
            // earlier run's), so a new run's rotated files sort after them and a checkpoint
            // names the live file's generation as a resume will find it.
            self.generation = rotation::live_generation(path)?;
        }
        self.opened = Instant::now();
        LineWriter::open_at(self.target.clone(), resume.map(|(_, length)| length))
    }

    /// Rotates the file when it is due: at an epoch's end, with every line of it written.
    fn rotate_if_due(&mut self) {
        let LineTarget::File(path) = &self.target else {
            return;
        };
        if self.writer.is_none()
            || self.failure.is_some()
            || !self.rotation.is_due(self.file_bytes, self.opened.elapsed())
        {
            return;
        }
        let path = path.clone();
        match self.writer.as_mut().map(LineWriter::close) {
            Some(Err(e)) => return self.fail(e),
            Some(Ok(())) => {
                if let Some(writer) = self.writer.take() {
                    self.count_written(&writer);
                }
            }
            None => return,
        }
        let rotated = rotation::rotated_path(&path, self.generation, SystemTime::now());
        if let Err(e) = std::fs::rename(&path, &rotated) {
            return self.fail(std::io::Error::new(
                e.kind(),
                format!("cannot rotate to {}: {e}", rotated.display()),
            ));
        }
        self.generation += 1;
        self.file_bytes = 0;
        self.written_seen = 0;
        self.opened = Instant::now();
        self.rotations.inc();
        match LineWriter::open(self.target.clone()) {
            Ok(writer) => self.writer = Some(writer),
            Err(e) => return self.fail(e),
        }
        self.housekeep(path, rotated);
    }

    /// Hands a rotated file to the housekeeping task (started on first use).
    fn housekeep(&mut self, live: PathBuf, rotated: PathBuf) {
        let policy = self.rotation;
        let counters = self.housekeeping.clone();
        let protect_from = self
            .snapshot_generations
            .map_or(self.generation, |(older, _)| older);
        self.housekeeper
            .get_or_insert_with(|| Housekeeper::start(live, policy, counters))
            .rotated(rotated, protect_from);
    }

    /// Rotated files a stopped run left uncompressed (it was killed before its task got to
    /// them) are compressed now.
    fn finish_what_a_stop_left(&mut self) {
        let LineTarget::File(live) = &self.target else {
            return;
        };
        if !self.rotation.is_on() || self.rotation.compress == Compression::None {
            return;
        }
        let live = live.clone();
        let left = match rotation::scan(&live) {
            Ok(found) => found,
            Err(e) => {
                self.housekeeping.failed.inc();
                tracing::error!(file = %live.display(), "cannot list rotated files: {e}");
                return;
            }
        };
        for r in left
            .into_iter()
            .filter(|r| r.compression == Compression::None)
        {
            self.housekeep(live.clone(), r.path);
        }
    }
}

impl<R: Record + JsonLine> Bolt<R> for JsonLinesSink<R> {
    fn on_start(&mut self, ctx: &Context) {
        self.feed = Some(ctx.feed.clone());
        self.written = ctx.counter(&LINES_WRITTEN, &[]);
        self.failed = ctx.counter(&LINES_FAILED, &[]);
        self.rotations = ctx.counter(&rotation::ROTATIONS, &[]);
        self.housekeeping = HousekeepingCounters {
            compressed: ctx.counter(&rotation::COMPRESSIONS, &[]),
            failed: ctx.counter(&rotation::COMPRESSION_FAILURES, &[]),
            deleted: ctx.counter(&rotation::ROTATED_DELETED, &[]),
        };
        // One writer per file: the sink's input is read with global grouping, so only
        // worker 0 ever has lines to write, and only it opens (and truncates) the file.
        if ctx.worker != 0 {
            return;
        }
        match self.open() {
            Ok(writer) => {
                self.writer = Some(writer);
                self.finish_what_a_stop_left();
            }
            Err(e) => self.fail(e),
        }
    }

    /// A file's generation and committed length: everything written so far, made durable
    /// (standard output cannot be taken back, so it keeps no state: after a restart it may
    /// repeat lines).
    fn snapshot(&mut self) -> Result<Option<State>, String> {
        if !matches!(self.target, LineTarget::File(_)) {
            return Ok(None);
        }
        if let Some(reason) = &self.failure {
            return Err(reason.clone());
        }
        let Some(writer) = self.writer.as_mut() else {
            return Ok(None);
        };
        match writer.sync() {
            Ok(length) => {
                let older = self
                    .snapshot_generations
                    .map_or(self.generation, |(_, last)| last);
                self.snapshot_generations = Some((older, self.generation));
                let mut global = length.to_le_bytes().to_vec();
                global.extend_from_slice(&self.generation.to_le_bytes());
                Ok(Some(State {
                    global,
                    keyed: Vec::new(),
                }))
            }
            Err(e) => {
                self.fail(e);
                Err(self.failure.clone().unwrap_or_default())
            }
        }
    }

    fn restore(&mut self, state: Restored) -> Result<(), String> {
        // One instance writes the file: the furthest (generation, length) any old
        // instance committed. A state of 8 bytes (before rotation) is generation 0.
        let decode = |g: &Vec<u8>| -> Option<(u64, u64)> {
            let length = u64::from_le_bytes(g.get(..8)?.try_into().ok()?);
            let generation = match g.len() {
                8 => 0,
                16 => u64::from_le_bytes(g.get(8..16)?.try_into().ok()?),
                _ => return None,
            };
            Some((generation, length))
        };
        let states = state
            .global
            .iter()
            .map(decode)
            .collect::<Option<Vec<(u64, u64)>>>()
            .ok_or_else(|| "the committed length does not decode".to_owned())?;
        self.resume_at = states.into_iter().max();
        Ok(())
    }

    fn process(&mut self, record: &mut R, _out: &mut Emitter<'_, R>) {
        if self.kind.is_none() {
            let kind = record.kind();
            // A sink in another format than the records' own does not feed them.
            let feeds = self.render.is_none() && self.feed.as_ref().is_some_and(|f| f.claim(kind));
            self.kind = Some((kind, feeds));
        }
        let start = self.epoch_text.len();
        let rendered = match &self.render {
            Some(render) => render(record, &mut self.epoch_text),
            None => record.write_json_line(&mut self.epoch_text),
        };
        if rendered {
            self.epoch_lines.push((start, self.epoch_text.len()));
        } else {
            self.epoch_text.truncate(start);
        }
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, R>) {
        let text = std::mem::take(&mut self.epoch_text);
        let bytes = text.as_bytes();
        let mut lines = std::mem::take(&mut self.epoch_lines);
        if self.sort {
            lines.sort_unstable_by(|a, b| bytes[a.0..a.1].cmp(&bytes[b.0..b.1]));
        }
        let mut failed = 0;
        for &(start, end) in &lines {
            let line = &bytes[start..end];
            match self.writer.as_mut().map(|w| w.write_line(line)) {
                Some(Err(e)) => self.fail(e),
                Some(Ok(())) => self.file_bytes += line.len() as u64 + 1,
                None => {}
            }
            if let Some(reason) = &self.failure {
                failed += 1;
                out.dead_letter(None, reason.clone(), String::from_utf8_lossy(line));
            }
        }
        self.failed.add(failed);
        if let (Some((kind, true)), Some(feed), None) = (self.kind, &self.feed, &self.failure) {
            let text = &text;
            feed.push(kind, lines.iter().map(|&(start, end)| &text[start..end]));
        }
        match self.writer.as_mut().map(LineWriter::flush) {
            Some(Err(e)) => self.fail(e),
            Some(Ok(())) => {
                if let Some(writer) = self.writer.take() {
                    self.count_written(&writer);
                    self.writer = Some(writer);
                }
            }
            None => {}
        }
        self.rotate_if_due();
        self.report(out);
        self.epoch_text = text;
        self.epoch_text.clear();
        self.epoch_lines = lines;
        self.epoch_lines.clear();
    }

    fn on_close(&mut self, out: &mut Emitter<'_, R>) {
        match self.writer.as_mut().map(LineWriter::close) {
            Some(Err(e)) => self.fail(e),
            Some(Ok(())) => {
                if let Some(writer) = self.writer.take() {
                    self.count_written(&writer);
                }
            }
            None => {}
        }
        self.writer = None;
        // Compressions asked for are finished before the run ends.
        if let Some(mut housekeeper) = self.housekeeper.take() {
            housekeeper.finish();
        }
        self.report(out);
    }
}
