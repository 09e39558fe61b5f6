//! The `multilang` bolt: a Storm shell bolt (storm.py, pyleus, storm.js...) run as a
//! supervised subprocess.
//!
//! The bolt takes epochs whole: `process` queues the record's tuples, `on_epoch_end` writes
//! them to the subprocess (up to `max_pending` ahead of the acknowledgements, several per
//! write) and reads its answers until every one is acknowledged or failed. An emit anchored
//! to a tuple is held until that tuple is acknowledged and emitted at the epoch's end, in
//! input order: so a process that dies takes nothing with it (its unacknowledged tuples are
//! written again to the next process, their emits so far forgotten) and the output does not
//! depend on timing. An unanchored emit goes out at once (Storm's unreliable emit).
//!
//! Supervision: a process that exits, writes garbage or says nothing for
//! `heartbeat_timeout_secs` while it has tuples (heartbeat tuples are sent while waiting,
//! which storm.py answers with `sync`) is killed and started again after a backoff. The
//! tuples it had are replayed one at a time, so that one that kills it again is known: after
//! `max_attempts` crashes with it alone in flight it is set aside with the reason, and the
//! topology goes on.

use std::collections::{BTreeMap, VecDeque};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use antimony_core::{Bolt, Context, Emitter};

use super::config::MultilangConfig;
use super::meters::Meters;
use super::process::{Event, PidDir, ShellCommand, ShellProcess, launch, restart_backoff};
use super::protocol::{self, Message};
use super::{MultilangRecord, Values};

/// The longest pause between two restarts.
/// Time a process is given to exit on its own once its input is closed.
const EXIT_GRACE: Duration = Duration::from_millis(500);

struct Pending {
    id: u64,
    tuple: Values,
    /// Crashes with this tuple alone in flight: only those say it is the cause.
    attempts: u32,
    /// In flight when a process died: replayed alone, to learn whether it is the cause.
    suspect: bool,
    reason: String,
    emits: Vec<Values>,
}

/// Why a process is replaced.
#[derive(Clone, Copy)]
enum Crash {
    Exit,
    Garbage,
    Hang,
}

/// The bolt. Build it with [`MultilangBolt::new`]; it starts its process in `on_start`.
pub struct MultilangBolt<R> {
    config: Arc<MultilangConfig>,
    command: ShellCommand,
    fields: Vec<String>,
    component: String,
    task: i64,
    process: Option<ShellProcess>,
    pid_dir: Option<PidDir>,
    queue: VecDeque<Pending>,
    in_flight: BTreeMap<u64, Pending>,
    /// Emits of acknowledged tuples, by input id: emitted at the epoch's end, in input order.
    ready: BTreeMap<u64, Vec<Values>>,
    /// Unanchored emits, in arrival order.
    loose: Vec<Values>,
    next_id: u64,
    last_heard: Instant,
    heartbeat_out: bool,
    sync_wanted: bool,
    failures_in_row: u32,
    restart_at: Option<Instant>,
    last_error: Option<String>,
    /// Set when the program cannot be started at all: records are set aside with this.
    broken: Option<String>,
    writes: Vec<u8>,
    meters: Meters,
    _record: PhantomData<R>,
}

impl<R: MultilangRecord> MultilangBolt<R> {
    /// A bolt running `config`'s command, relative paths resolved against `base_dir`.
    pub fn new(config: Arc<MultilangConfig>, base_dir: &std::path::Path) -> Self {
        MultilangBolt {
            command: config.shell_command(base_dir),
            fields: config
                .output_fields()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            config,
            component: String::new(),
            task: 1,
            process: None,
            pid_dir: None,
            queue: VecDeque::new(),
            in_flight: BTreeMap::new(),
            ready: BTreeMap::new(),
            loose: Vec::new(),
            next_id: 1,
            last_heard: Instant::now(),
            heartbeat_out: false,
            sync_wanted: false,
            failures_in_row: 0,
            restart_at: None,
            last_error: None,
            broken: None,
            writes: Vec::new(),
            meters: Meters::detached(),
            _record: PhantomData,
        }
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Starts a process, after the backoff; on failure counts it and returns false.
    fn start(&mut self) -> Result<(), String> {
        if let Some(at) = self.restart_at.take() {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
        }
        let mut conf = self.config.conf.clone();
        if let Some(secs) = self.config.tick_freq_secs {
            // Where Storm says it, and pyleus's `conf.tick_tuple_freq` reads it.
            conf.insert("topology.tick.tuple.freq.secs".to_owned(), secs.into());
        }
        let process = launch(
            &self.config,
            &self.command,
            &conf,
            &mut self.pid_dir,
            &self.component,
            self.task,
            &self.fields,
        )?;
        tracing::debug!(component = %self.component, pid = process.pid, "multilang process started");
        self.process = Some(process);
        self.last_heard = Instant::now();
        Ok(())
    }

    /// Writes and reads until every queued tuple is acknowledged, failed or set aside, and
    /// a requested sync has come.
    fn drive(&mut self, out: &mut Emitter<'_, R>) {
        loop {
            if self.queue.is_empty() && self.in_flight.is_empty() && !self.sync_wanted {
                return;
            }
            if let Some(reason) = &self.broken {
                let reason = reason.clone();
                self.set_all_aside(&reason, out);
                return;
            }
            if self.process.is_none()
                && let Err(reason) = self.start()
            {
                self.meters.exits.inc();
                self.meters.restarts.inc();
                self.failures_in_row += 1;
                tracing::warn!(component = %self.component, "multilang process: {reason}");
                if self.failures_in_row >= self.config.max_attempts {
                    let reason = format!("the multilang process cannot start: {reason}");
                    out.fail(reason.clone());
                    self.broken = Some(reason);
                } else {
                    self.restart_at = Some(Instant::now() + self.backoff());
                }
                continue;
            }
            self.fill();
            if !self.flush() {
                self.crash("closed its input".to_owned(), Crash::Exit, out);
                continue;
            }
            if self.queue.is_empty() && self.in_flight.is_empty() && !self.sync_wanted {
                return;
            }
            self.wait(out);
        }
    }

    /// Writes queued tuples while fewer than the window are in flight. After a crash the
    /// window is one, until the tuples that were in flight are through.
    fn fill(&mut self) {
        let was_idle = self.in_flight.is_empty();
        loop {
            let careful = self.queue.front().is_some_and(|p| p.suspect);
            let window = if careful { 1 } else { self.config.max_pending };
            if self.in_flight.len() >= window {
                break;
            }
            let Some(pending) = self.queue.pop_front() else {
                break;
            };
            if pending.suspect {
                self.meters.replayed.inc();
            }
            protocol::write_tuple(
                &mut self.writes,
                &pending.id.to_string(),
                &pending.tuple.component,
                &pending.tuple.stream,
                self.task,
                &pending.tuple.values,
            );
            self.in_flight.insert(pending.id, pending);
        }
        if was_idle && !self.in_flight.is_empty() {
            // An idle process had nothing to answer: its silence so far is no hang.
            self.last_heard = Instant::now();
        }
    }

    /// Sends what was written; false if the process's input is gone.
    fn flush(&mut self) -> bool {
        if self.writes.is_empty() {
            return true;
        }
        let bytes = std::mem::take(&mut self.writes);
        match &self.process {
            Some(process) => process.send(bytes).is_ok(),
            None => false,
        }
    }

    fn heartbeat_every(&self) -> Duration {
        (self.config.heartbeat_timeout() / 4)
            .clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    /// Waits for the process's next messages and handles them all.
    fn wait(&mut self, out: &mut Emitter<'_, R>) {
        let Some(process) = &self.process else { return };
        let deadline = self.last_heard + self.config.heartbeat_timeout();
        let now = Instant::now();
        if now >= deadline {
            let secs = self.config.heartbeat_timeout_secs;
            self.crash(
                format!("sent nothing for {secs} s (hung: no heartbeat)"),
                Crash::Hang,
                out,
            );
            return;
        }
        let timeout = self.heartbeat_every().min(deadline - now);
        match process.recv(timeout) {
            Ok(event) => {
                self.last_heard = Instant::now();
                let mut next = Some(event);
                // Everything already read, in one go: the answers to emits are written once.
                while let Some(event) = next.take() {
                    if !self.handle(event, out) {
                        return;
                    }
                    next = self
                        .process
                        .as_ref()
                        .and_then(|p| p.recv(Duration::ZERO).ok());
                }
                if !self.flush() {
                    self.crash("closed its input".to_owned(), Crash::Exit, out);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if !self.heartbeat_out {
                    self.send_heartbeat();
                    self.heartbeat_out = true;
                    if !self.flush() {
                        self.crash("closed its input".to_owned(), Crash::Exit, out);
                    }
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                self.crash("ended".to_owned(), Crash::Exit, out);
            }
        }
    }

    fn send_heartbeat(&mut self) {
        let id = self.fresh_id().to_string();
        protocol::write_tuple(
            &mut self.writes,
            &id,
            &self.component,
            "__heartbeat",
            -1,
            &[],
        );
    }

    /// Handles one event; false if the process was replaced.
    fn handle(&mut self, event: Event, out: &mut Emitter<'_, R>) -> bool {
        let message = match event {
            Event::Message(message) => message,
            Event::Garbage(garbage) => {
                self.crash(format!("wrote {garbage}"), Crash::Garbage, out);
                return false;
            }
            Event::Closed(why) => {
                let status = self
                    .process
                    .as_mut()
                    .map(|p| p.status())
                    .unwrap_or_default();
                self.crash(format!("ended: {why}{status}"), Crash::Exit, out);
                return false;
            }
        };
        match message {
            Message::Emit(emit) => {
                if emit.need_task_ids && emit.task.is_none() {
                    // Storm answers with the tasks the tuple went to; the engine, not the
                    // bolt, spreads records over instances, so there is no list to give.
                    // (Usually the reading thread answered already; a direct emit gets none.)
                    protocol::write_task_ids(&mut self.writes, &[]);
                }
                let values = Values {
                    component: self.component.clone(),
                    stream: emit.stream.unwrap_or_else(|| "default".to_owned()),
                    values: emit.tuple,
                };
                let anchor = emit
                    .anchors
                    .iter()
                    .filter_map(|a| a.parse::<u64>().ok())
                    .find(|a| self.in_flight.contains_key(a));
                match anchor.and_then(|a| self.in_flight.get_mut(&a)) {
                    Some(pending) => pending.emits.push(values),
                    None => self.loose.push(values),
                }
            }
            Message::Ack(id) => {
                if let Some(pending) = id
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| self.in_flight.remove(&id))
                {
                    self.meters.acked.inc();
                    self.failures_in_row = 0;
                    if !pending.emits.is_empty() {
                        self.ready.insert(pending.id, pending.emits);
                    }
                }
            }
            Message::Fail(id) => {
                if let Some(pending) = id
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| self.in_flight.remove(&id))
                {
                    self.meters.failed.inc();
                    let reason = match &self.last_error {
                        Some(error) => format!("the multilang bolt failed it: {error}"),
                        None => "the multilang bolt failed it".to_owned(),
                    };
                    out.dead_letter(None, reason, tuple_text(&pending.tuple));
                }
            }
            Message::Log { msg, level } => log(&self.component, level, &msg),
            Message::Error(msg) => {
                self.meters.errors.inc();
                tracing::error!(component = %self.component, "multilang error: {msg}");
                self.last_error = Some(last_line(&msg));
            }
            Message::Sync => {
                self.heartbeat_out = false;
                self.sync_wanted = false;
            }
            Message::Metrics(name) => {
                tracing::trace!(component = %self.component, "multilang metric {name}");
            }
            Message::Pid(pid) => {
                tracing::debug!(component = %self.component, pid, "a second pid: ignored");
            }
        }
        true
    }

    /// Replaces the process: its tuples go back to the queue, or aside after `max_attempts`.
    fn crash(&mut self, reason: String, kind: Crash, out: &mut Emitter<'_, R>) {
        match kind {
            Crash::Exit => self.meters.exits.inc(),
            Crash::Garbage => self.meters.garbage.inc(),
            Crash::Hang => self.meters.timeouts.inc(),
        }
        self.meters.restarts.inc();
        tracing::warn!(
            component = %self.component,
            in_flight = self.in_flight.len(),
            "multilang process {reason}: restarting it"
        );
        // Dropping kills it.
        self.process = None;
        self.writes.clear();
        self.heartbeat_out = false;
        self.sync_wanted = false;
        let mut again = Vec::new();
        // With several tuples in flight the culprit is unknown: each is replayed alone, and
        // only a crash with one tuple in flight counts against it.
        let alone = self.in_flight.len() == 1;
        for (_, mut pending) in std::mem::take(&mut self.in_flight) {
            pending.suspect = true;
            pending.attempts += u32::from(alone);
            pending.emits.clear();
            pending.reason = reason.clone();
            if pending.attempts >= self.config.max_attempts {
                out.dead_letter(
                    None,
                    format!(
                        "the multilang process {} (each of the {} times this tuple was its only one in flight)",
                        pending.reason, pending.attempts
                    ),
                    tuple_text(&pending.tuple),
                );
            } else {
                again.push(pending);
            }
        }
        for pending in again.into_iter().rev() {
            self.queue.push_front(pending);
        }
        self.failures_in_row += 1;
        self.restart_at = Some(Instant::now() + self.backoff());
    }

    fn backoff(&self) -> Duration {
        restart_backoff(self.failures_in_row)
    }

    fn set_all_aside(&mut self, reason: &str, out: &mut Emitter<'_, R>) {
        let pending = std::mem::take(&mut self.in_flight).into_values();
        for p in pending.chain(std::mem::take(&mut self.queue)) {
            out.dead_letter(None, reason.to_owned(), tuple_text(&p.tuple));
        }
        self.sync_wanted = false;
    }

    /// Sends a tick tuple and waits until the process has handled it.
    fn tick(&mut self, out: &mut Emitter<'_, R>) {
        if self.process.is_none() || self.broken.is_some() {
            return;
        }
        let id = self.fresh_id().to_string();
        let secs = self.config.tick_freq_secs.unwrap_or(0.0);
        let value = serde_json::Value::from(secs.round() as u64).to_string();
        protocol::write_tuple(&mut self.writes, &id, "__system", "__tick", -1, &[value]);
        self.barrier(out);
    }

    /// Waits until the process has handled everything written so far: a heartbeat tuple is
    /// answered by `sync` in order.
    fn barrier(&mut self, out: &mut Emitter<'_, R>) {
        if self.process.is_none() {
            return;
        }
        self.send_heartbeat();
        self.sync_wanted = true;
        self.heartbeat_out = true;
        self.last_heard = Instant::now();
        self.drive(out);
    }

    fn emit_ready(&mut self, out: &mut Emitter<'_, R>) {
        for (_, emits) in std::mem::take(&mut self.ready) {
            for values in emits {
                out.emit(R::from_values(values));
            }
        }
        for values in std::mem::take(&mut self.loose) {
            out.emit(R::from_values(values));
        }
    }
}

fn tuple_text(values: &Values) -> String {
    format!("[{}]", values.values.join(","))
}

fn last_line(text: &str) -> String {
    let line = text.trim_end().lines().last().unwrap_or("").trim();
    line.chars().take(500).collect()
}

fn log(component: &str, level: u8, msg: &str) {
    match level {
        0 => tracing::trace!(component, "{msg}"),
        1 => tracing::debug!(component, "{msg}"),
        2 => tracing::info!(component, "{msg}"),
        3 => tracing::warn!(component, "{msg}"),
        _ => tracing::error!(component, "{msg}"),
    }
}

impl<R: MultilangRecord> Bolt<R> for MultilangBolt<R> {
    fn on_start(&mut self, ctx: &Context) {
        self.component = ctx.component.clone();
        self.task = i64::try_from(ctx.worker).unwrap_or(0) + 1;
        self.meters = Meters::register(ctx);
        // Started now rather than with the first tuple, so a module that cannot load is
        // said at once; a failure here is retried when tuples come.
        if let Err(reason) = self.start() {
            tracing::warn!(component = %self.component, "multilang process: {reason}");
        }
    }

    fn process(&mut self, record: &mut R, out: &mut Emitter<'_, R>) {
        let mut tuples = Vec::new();
        if let Err(reason) = record.to_tuples(&mut tuples) {
            out.dead_letter(None, reason, record.describe());
            return;
        }
        for tuple in tuples {
            let id = self.fresh_id();
            self.queue.push_back(Pending {
                id,
                tuple,
                attempts: 0,
                suspect: false,
                reason: String::new(),
                emits: Vec::new(),
            });
        }
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, R>) {
        self.drive(out);
        self.emit_ready(out);
    }

    /// The engine calls this every `tick_freq_secs` (the spec asks it to): a tick tuple.
    fn on_tick(&mut self, out: &mut Emitter<'_, R>) {
        self.drive(out);
        self.tick(out);
        self.emit_ready(out);
    }

    fn on_close(&mut self, out: &mut Emitter<'_, R>) {
        self.drive(out);
        if self.config.tick().is_some() {
            // The last tick: a bolt that flushes on ticks flushes what the input's end left.
            self.tick(out);
        } else {
            self.barrier(out);
        }
        self.emit_ready(out);
        if let Some(process) = self.process.take() {
            process.stop(EXIT_GRACE);
        }
        self.pid_dir = None;
    }
}
