//! A sink that writes records as JSON lines, to a file or standard output.
//!
//! Declare it global-only (one instance, on worker 0, writes the file) when it is placed in
//! a topology.
//!
//! Lines are written in a deterministic order: the sink buffers one epoch, sorts its lines,
//! and writes them when the epoch ends. The same input gives the same file whatever the number
//! of workers (when the sink reads its input with global grouping, as it should).

use std::path::PathBuf;

use antimony_core::metrics::{Counter, CounterMetric};
use antimony_core::{Bolt, Context, Emitter, Feed, Record, Restored, State};

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

/// Options of a JSON-lines sink.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLinesConfig {
    /// The file to write (created or truncated); `-` is standard output. Relative to the
    /// topology file. Default `-`.
    #[serde(default = "stdout")]
    pub path: String,
    /// Sort each epoch's lines (default true), so the file is the same on any number of
    /// workers; false keeps the order records arrived in (input order on one worker).
    #[serde(default = "yes")]
    pub sort: bool,
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
pub struct JsonLinesSink {
    target: LineTarget,
    sort: bool,
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
    /// Resumed from a checkpoint: the bytes of the file it holds (what comes after is cut
    /// off and written again).
    resume_at: Option<u64>,
}

impl JsonLinesSink {
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
        }
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
}

impl<R: Record + JsonLine> Bolt<R> for JsonLinesSink {
    fn on_start(&mut self, ctx: &Context) {
        self.feed = Some(ctx.feed.clone());
        self.written = ctx.counter(&LINES_WRITTEN, &[]);
        self.failed = ctx.counter(&LINES_FAILED, &[]);
        // One writer per file: the sink's input is read with global grouping, so only
        // worker 0 ever has lines to write, and only it opens (and truncates) the file.
        if ctx.worker != 0 {
            return;
        }
        match LineWriter::open_at(self.target.clone(), self.resume_at) {
            Ok(writer) => self.writer = Some(writer),
            Err(e) => self.fail(e),
        }
    }

    /// A file's committed length: everything written so far, made durable (standard output
    /// cannot be taken back, so it keeps no state: after a restart it may repeat lines).
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
            Ok(length) => Ok(Some(State {
                global: length.to_le_bytes().to_vec(),
                keyed: Vec::new(),
            })),
            Err(e) => {
                self.fail(e);
                Err(self.failure.clone().unwrap_or_default())
            }
        }
    }

    fn restore(&mut self, state: Restored) -> Result<(), String> {
        // One instance writes the file: the longest length any old instance committed.
        let lengths = state
            .global
            .iter()
            .map(|g| <[u8; 8]>::try_from(g.as_slice()).map(u64::from_le_bytes))
            .collect::<Result<Vec<u64>, _>>()
            .map_err(|_| "the committed length does not decode".to_owned())?;
        self.resume_at = lengths.into_iter().max();
        Ok(())
    }

    fn process(&mut self, record: &mut R, _out: &mut Emitter<'_, R>) {
        if self.kind.is_none() {
            let kind = record.kind();
            self.kind = Some((kind, self.feed.as_ref().is_some_and(|f| f.claim(kind))));
        }
        let start = self.epoch_text.len();
        if record.write_json_line(&mut self.epoch_text) {
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
            if let Some(Err(e)) = self.writer.as_mut().map(|w| w.write_line(line)) {
                self.fail(e);
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
        self.report(out);
    }
}
