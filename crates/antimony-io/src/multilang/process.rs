//! One multilang subprocess: started, handshaken, read and written on threads of its own,
//! killed. What to do when it misbehaves is the bolt's or spout's to decide.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::config::MultilangConfig;
use super::protocol::{self, Garbage, Message, ReadLimits};

/// What the reader thread hands over.
#[derive(Debug)]
pub enum Event {
    /// A message.
    Message(Message),
    /// Output that is not a message: the process must be restarted.
    Garbage(Garbage),
    /// Its output closed (it exited) or could not be read.
    Closed(String),
}

/// How to start a subprocess.
#[derive(Clone, Debug)]
pub struct ShellCommand {
    /// The program (searched on `PATH` unless it has a slash, then relative to `cwd`).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: PathBuf,
}

impl ShellCommand {
    /// Whether the program can be found, for `antimony validate`: a path must name a file,
    /// a bare name must be on `PATH`.
    pub fn check(&self) -> Result<(), String> {
        if !self.cwd.is_dir() {
            return Err(format!("directory {} does not exist", self.cwd.display()));
        }
        if self.command.contains('/') {
            let path = self.cwd.join(&self.command);
            return if path.is_file() {
                Ok(())
            } else {
                Err(format!("program {} does not exist", path.display()))
            };
        }
        let on_path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|dir| dir.join(&self.command).is_file()))
            .unwrap_or(false);
        if on_path {
            Ok(())
        } else {
            Err(format!("program `{}` is not on PATH", self.command))
        }
    }
}

/// Messages waiting to be read, at most: the reader thread waits beyond (and so the process).
const EVENTS_QUEUED: usize = 4096;
/// Writes waiting for the writer thread, at most.
const WRITES_QUEUED: usize = 64;
/// Longest line of standard error forwarded to our logs.
const MAX_STDERR_LINE: usize = 4096;

/// A running subprocess speaking multilang.
pub struct ShellProcess {
    child: Child,
    /// Its standard input's queue, shared with the thread reading its output, which answers
    /// an emit's request for task ids at once (see `start`); `None` closes the input.
    writes: Arc<Mutex<Option<SyncSender<Vec<u8>>>>>,
    events: Receiver<Event>,
    /// Its pid, as the handshake said.
    pub pid: u32,
}

impl ShellProcess {
    /// Starts the process and does the handshake (`setup` is the setup message). Fails if it
    /// cannot start or does not answer with its pid within `timeout`.
    pub fn start(
        command: &ShellCommand,
        setup: &Value,
        limits: ReadLimits,
        timeout: Duration,
        component: &str,
    ) -> Result<ShellProcess, String> {
        let mut child = Command::new(&command.command)
            .args(&command.args)
            .current_dir(&command.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", command.command))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the process's standard streams could not be opened".to_owned());
        };
        let (event_tx, events) = sync_channel(EVENTS_QUEUED);
        let (writes, write_rx) = sync_channel::<Vec<u8>>(WRITES_QUEUED);
        // Blocking pipes on threads of their own: the worker never blocks on a full pipe
        // (a process that writes emits while we write tuples would otherwise deadlock us),
        // and timeouts are the channel's.
        std::thread::spawn(move || {
            let mut stdin = stdin;
            for bytes in write_rx {
                if stdin
                    .write_all(&bytes)
                    .and_then(|()| stdin.flush())
                    .is_err()
                {
                    break;
                }
            }
        });
        let writes = Arc::new(Mutex::new(Some(writes)));
        let answers = Arc::clone(&writes);
        std::thread::spawn(move || {
            let mut reader = BufReader::with_capacity(64 * 1024, stdout);
            let mut no_task_ids = Vec::new();
            protocol::write_task_ids(&mut no_task_ids, &[]);
            loop {
                let event = match protocol::read_message(&mut reader, limits) {
                    Ok(Some(Ok(mut message))) => {
                        // Storm's libraries block after each emit until they read the task
                        // ids it went to (always none here: the engine places records).
                        // Answered from this thread, the round trip skips a hop through the
                        // worker; never blocking (a full queue leaves it to the worker), so a
                        // process that writes while we write cannot deadlock us.
                        if let Message::Emit(emit) = &mut message
                            && emit.need_task_ids
                            && emit.task.is_none()
                            && answers
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .as_ref()
                                .is_some_and(|w| w.try_send(no_task_ids.clone()).is_ok())
                        {
                            emit.need_task_ids = false;
                        }
                        Event::Message(message)
                    }
                    Ok(Some(Err(garbage))) => Event::Garbage(garbage),
                    Ok(None) => Event::Closed("it closed its output".to_owned()),
                    Err(e) => Event::Closed(format!("its output could not be read: {e}")),
                };
                let last = !matches!(event, Event::Message(_));
                if event_tx.send(event).is_err() || last {
                    break;
                }
            }
        });
        let name = component.to_owned();
        std::thread::spawn(move || forward_stderr(stderr, &name));
        let mut process = ShellProcess {
            child,
            writes,
            events,
            pid: 0,
        };
        let mut hello = Vec::new();
        protocol::write_value(&mut hello, setup);
        process.send(hello)?;
        let deadline = Instant::now() + timeout;
        match process.recv(deadline.saturating_duration_since(Instant::now())) {
            Ok(Event::Message(Message::Pid(pid))) => {
                process.pid = pid;
                Ok(process)
            }
            Ok(Event::Message(other)) => Err(format!(
                "answered the handshake with {other:?}, not its pid"
            )),
            Ok(Event::Garbage(garbage)) => Err(format!("answered the handshake with {garbage}")),
            Ok(Event::Closed(why)) => Err(format!(
                "ended during the handshake: {why}{}",
                process.status()
            )),
            Err(_) => Err(format!(
                "did not answer the handshake within {} s",
                timeout.as_secs_f64()
            )),
        }
    }

    /// Queues bytes for its standard input.
    pub fn send(&self, bytes: Vec<u8>) -> Result<(), String> {
        match self
            .writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            Some(writes) => writes
                .send(bytes)
                .map_err(|_| "its input is closed".to_owned()),
            None => Err("its input is closed".to_owned()),
        }
    }

    /// The next event, waiting at most `timeout`.
    pub fn recv(&self, timeout: Duration) -> Result<Event, RecvTimeoutError> {
        self.events.recv_timeout(timeout)
    }

    /// How it ended, for messages: ` (exit status: 1)`, or nothing if it has not (yet):
    /// its output closes just before it exits, so it is given a moment.
    pub fn status(&mut self) -> String {
        match self.exit_status(Duration::from_millis(500)) {
            Some(status) => format!(" ({status})"),
            None => String::new(),
        }
    }

    /// Its exit status, waiting at most `timeout` for it.
    pub fn exit_status(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => return None,
            }
        }
    }

    /// Closes its input, gives it `grace` to exit, then kills it.
    pub fn stop(mut self, grace: Duration) {
        self.close_input();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
    }

    /// Drops its input's queue: the writing thread ends and the process reads end of file.
    fn close_input(&self) {
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ShellProcess {
    fn drop(&mut self) {
        self.close_input();
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

fn forward_stderr(stderr: std::process::ChildStderr, component: &str) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        let cap = MAX_STDERR_LINE as u64;
        match std::io::Read::take(&mut reader, cap).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                tracing::warn!(component, "stderr: {}", text.trim_end());
            }
        }
    }
}

/// The directory a subprocess writes its pid file into (Storm's `pidDir`), removed with it.
pub struct PidDir(PathBuf);

impl PidDir {
    /// A fresh directory for `component`'s instance `task` of this process.
    pub fn create(component: &str, task: i64) -> Result<PidDir, String> {
        let safe: String = component
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(64)
            .collect();
        let dir = std::env::temp_dir().join(format!(
            "antimony-multilang-{}-{safe}-{task}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create the pid directory {}: {e}", dir.display()))?;
        Ok(PidDir(dir))
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for PidDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The wait before starting a process again after `failures_in_row` failures in a row: 100 ms,
/// doubling, at most 5 s.
pub(crate) fn restart_backoff(failures_in_row: u32) -> Duration {
    let exponent = failures_in_row.saturating_sub(1).min(10);
    (Duration::from_millis(100) * 2u32.pow(exponent)).min(Duration::from_secs(5))
}

/// Starts the process of one component instance and does the handshake with `conf`; its pid
/// directory is made on the first start and kept across restarts.
pub(crate) fn launch(
    config: &MultilangConfig,
    command: &ShellCommand,
    conf: &serde_json::Map<String, Value>,
    pid_dir: &mut Option<PidDir>,
    component: &str,
    task: i64,
    fields: &[String],
) -> Result<ShellProcess, String> {
    let dir = match pid_dir {
        Some(dir) => dir,
        None => pid_dir.insert(PidDir::create(component, task)?),
    };
    let setup = setup_message(conf, dir.path(), component, task, fields);
    ShellProcess::start(
        command,
        &setup,
        config.limits(),
        config.heartbeat_timeout(),
        component,
    )
}

/// The handshake's setup message: Storm's configuration, the pid directory and the context
/// (this task, its component, its output fields).
pub fn setup_message(
    conf: &serde_json::Map<String, Value>,
    pid_dir: &std::path::Path,
    component: &str,
    task: i64,
    fields: &[String],
) -> Value {
    serde_json::json!({
        "conf": conf,
        "pidDir": pid_dir.display().to_string(),
        "context": {
            "task->component": { task.to_string(): component },
            "taskid": task,
            "componentid": component,
            "streams": ["default"],
            "stream->outputfields": { "default": fields },
        }
    })
}
