//! The `multilang` spout: a Storm shell spout run as a supervised subprocess.
//!
//! Each poll is one turn of Storm's spout protocol: `next`, then the emits and logs the
//! process writes until its `sync`. A turn that emits nothing is idle (the process is
//! expected to sleep a little first, as under Storm). A reliable emit (with an id) is
//! acknowledged at the next turn: once emitted, the engine processes the record or sets it
//! aside, never drops it. A process that exits with status 0 ends the source; one that
//! dies otherwise, writes garbage or keeps a turn beyond `heartbeat_timeout_secs` is killed
//! and started again after a backoff, and after `max_attempts` failures in a row the spout
//! stops with the reason.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use antimony_core::{Context, Emitter, Spout, SpoutError, SpoutStatus};

use super::config::MultilangConfig;
use super::meters::Meters;
use super::process::{Event, PidDir, ShellCommand, ShellProcess, launch, restart_backoff};
use super::protocol::{self, Message};
use super::{MultilangRecord, Values};

/// The spout.
pub struct MultilangSpout<R> {
    config: Arc<MultilangConfig>,
    command: ShellCommand,
    fields: Vec<String>,
    component: String,
    task: i64,
    process: Option<ShellProcess>,
    pid_dir: Option<PidDir>,
    /// Ids of reliable emits handed to the engine, acknowledged at the next turn.
    to_ack: Vec<String>,
    failures_in_row: u32,
    last_emit: Instant,
    finished: bool,
    meters: Meters,
    _record: PhantomData<R>,
}

impl<R: MultilangRecord> MultilangSpout<R> {
    /// A spout running `config`'s command, relative paths resolved against `base_dir`.
    pub fn new(config: Arc<MultilangConfig>, base_dir: &std::path::Path) -> Self {
        MultilangSpout {
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
            to_ack: Vec::new(),
            failures_in_row: 0,
            last_emit: Instant::now(),
            finished: false,
            meters: Meters::detached(),
            _record: PhantomData,
        }
    }

    fn start(&mut self) -> Result<(), String> {
        let process = launch(
            &self.config,
            &self.command,
            &self.config.conf,
            &mut self.pid_dir,
            &self.component,
            self.task,
            &self.fields,
        )?;
        let mut hello = Vec::new();
        protocol::write_command(&mut hello, "activate", None);
        process.send(hello)?;
        self.process = Some(process);
        // `activate` is a turn of its own, ended by sync.
        let mut ignored = Vec::new();
        self.turn(&mut ignored).map_err(|(reason, _)| reason)?;
        Ok(())
    }

    /// Reads one turn's messages up to its `sync`. `Err((reason, exited_cleanly))`.
    fn turn(&mut self, emits: &mut Vec<Values>) -> Result<(), (String, bool)> {
        let timeout = self.config.heartbeat_timeout();
        let deadline = Instant::now() + timeout;
        loop {
            let Some(process) = self.process.as_mut() else {
                return Err(("is not running".to_owned(), false));
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let event = match process.recv(left) {
                Ok(event) => event,
                Err(_) => {
                    self.meters.timeouts.inc();
                    return Err((
                        format!(
                            "did not end its turn within {} s (hung)",
                            self.config.heartbeat_timeout_secs
                        ),
                        false,
                    ));
                }
            };
            match event {
                Event::Message(Message::Sync) => return Ok(()),
                Event::Message(Message::Emit(emit)) => {
                    if let Some(id) = emit.id {
                        self.to_ack.push(id);
                    }
                    if emit.need_task_ids && emit.task.is_none() {
                        let mut answer = Vec::new();
                        protocol::write_task_ids(&mut answer, &[]);
                        process.send(answer).map_err(|e| (e, false))?;
                    }
                    emits.push(Values {
                        component: self.component.clone(),
                        stream: emit.stream.unwrap_or_else(|| "default".to_owned()),
                        values: emit.tuple,
                    });
                }
                Event::Message(Message::Log { msg, level }) => match level {
                    0 | 1 => tracing::debug!(component = %self.component, "{msg}"),
                    2 => tracing::info!(component = %self.component, "{msg}"),
                    3 => tracing::warn!(component = %self.component, "{msg}"),
                    _ => tracing::error!(component = %self.component, "{msg}"),
                },
                Event::Message(Message::Error(msg)) => {
                    self.meters.errors.inc();
                    tracing::error!(component = %self.component, "multilang error: {msg}");
                }
                Event::Message(_) => {}
                Event::Garbage(garbage) => {
                    self.meters.garbage.inc();
                    return Err((format!("wrote {garbage}"), false));
                }
                Event::Closed(why) => {
                    let exit = process.exit_status(Duration::from_millis(500));
                    let clean = exit.is_some_and(|s| s.success());
                    let status = exit.map(|s| format!(" ({s})")).unwrap_or_default();
                    if !clean {
                        self.meters.exits.inc();
                    }
                    return Err((format!("ended: {why}{status}"), clean));
                }
            }
        }
    }

    fn backoff(&self) -> Duration {
        restart_backoff(self.failures_in_row)
    }

    /// Counts a failure; false once there were too many in a row.
    fn failed(&mut self, reason: &str, out: &mut Emitter<'_, R>) -> bool {
        self.process = None;
        self.meters.restarts.inc();
        self.failures_in_row += 1;
        tracing::warn!(component = %self.component, "multilang spout process {reason}");
        if self.failures_in_row >= self.config.max_attempts {
            out.fail(format!(
                "the multilang spout process failed {} times in a row, last: {reason}",
                self.failures_in_row
            ));
            self.finished = true;
            return false;
        }
        std::thread::sleep(self.backoff());
        true
    }
}

impl<R: MultilangRecord> Spout<R> for MultilangSpout<R> {
    fn open(&mut self, ctx: &Context) -> Result<(), SpoutError> {
        self.component = ctx.component.clone();
        self.task = i64::try_from(ctx.worker).unwrap_or(0) + 1;
        self.meters = Meters::register(ctx);
        self.start()
            .map_err(|e| SpoutError::new(format!("multilang spout {}: {e}", self.component)))?;
        self.last_emit = Instant::now();
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, R>) -> SpoutStatus {
        if self.finished {
            return SpoutStatus::Finished;
        }
        if self.process.is_none()
            && let Err(reason) = self.start()
        {
            return if self.failed(&reason, out) {
                SpoutStatus::Idle
            } else {
                SpoutStatus::Finished
            };
        }
        let mut message = Vec::new();
        let acks = self.to_ack.len();
        for id in std::mem::take(&mut self.to_ack) {
            self.meters.acked.inc();
            protocol::write_command(&mut message, "ack", Some(&id));
        }
        protocol::write_command(&mut message, "next", None);
        let sent = self
            .process
            .as_ref()
            .map_or(Err(String::new()), |p| p.send(message));
        let mut emits = Vec::new();
        let result = match sent {
            Ok(()) => self.turn_after_acks(acks, &mut emits),
            Err(e) => Err((e, false)),
        };
        let emitted = !emits.is_empty();
        for values in emits {
            out.emit(R::from_values(values));
        }
        match result {
            Ok(()) => {
                self.failures_in_row = 0;
                if emitted {
                    self.last_emit = Instant::now();
                    return SpoutStatus::Emitted;
                }
                match self.config.idle_end_secs {
                    Some(idle) if self.last_emit.elapsed().as_secs_f64() >= idle => {
                        SpoutStatus::Finished
                    }
                    _ => SpoutStatus::Idle,
                }
            }
            Err((_, true)) => {
                self.process = None;
                self.finished = true;
                if emitted {
                    SpoutStatus::Emitted
                } else {
                    SpoutStatus::Finished
                }
            }
            Err((reason, false)) => {
                if !self.failed(&reason, out) {
                    return SpoutStatus::Finished;
                }
                if emitted {
                    SpoutStatus::Emitted
                } else {
                    SpoutStatus::Idle
                }
            }
        }
    }

    fn on_close(&mut self) {
        if let Some(process) = self.process.take() {
            let mut bye = Vec::new();
            protocol::write_command(&mut bye, "deactivate", None);
            let _ = process.send(bye);
            process.stop(Duration::from_millis(500));
        }
        self.pid_dir = None;
    }
}

impl<R: MultilangRecord> MultilangSpout<R> {
    /// The turns of the acks just sent (each is answered by a sync), then `next`'s.
    fn turn_after_acks(
        &mut self,
        acks: usize,
        emits: &mut Vec<Values>,
    ) -> Result<(), (String, bool)> {
        for _ in 0..acks {
            self.turn(emits)?;
        }
        self.turn(emits)
    }
}
