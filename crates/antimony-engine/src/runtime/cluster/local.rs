//! A cluster of processes on this host (`antimony cluster --processes N`): for trying a
//! cluster out, and for tests. Each process is this same program, `run` with the same
//! arguments plus `--cluster` (free loopback ports) and `--process i`.
//!
//! The launcher fails loudly like the cluster itself: a process that exits non-zero (or is
//! killed) is named, the others get a few seconds to notice the loss and say so themselves,
//! then are killed, and the launcher fails. Standard error of every process is forwarded line
//! by line with a `[process i]` prefix; standard output is forwarded as it is, since it is
//! data (alerts with `--alerts -`, written by process 0 alone).

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the other processes have, once one failed, to notice it and exit on their own
/// (they do within seconds) before they are killed.
const GRACE: Duration = Duration::from_secs(10);

/// Why a local cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A process could not be started.
    #[error("cluster: cannot start {program}: {error}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// No free loopback port could be found.
    #[error("cluster: cannot find a free port on 127.0.0.1: {0}")]
    Ports(io::Error),
    /// A process exited non-zero or was killed; the others were stopped.
    #[error("cluster: process {process} ({address}) {status}, so the cluster stopped")]
    Failed {
        /// The first process that failed.
        process: usize,
        /// Its address.
        address: String,
        /// How it ended, for a person (`exited with code 4`, `was killed by signal 9`).
        status: String,
        /// Its exit code, if it exited rather than being killed.
        code: Option<i32>,
    },
}

/// Sends signals to the processes of a [`LocalCluster`] from another thread (a signal
/// handler): the first [`stop`](Signaller::stop) asks them to drain and stop (SIGTERM), the
/// next kills them.
#[derive(Clone, Debug)]
pub struct Signaller {
    pids: Arc<Vec<u32>>,
    exited: Arc<Vec<AtomicBool>>,
    stops: Arc<AtomicU32>,
}

impl Signaller {
    /// Asks every running process to stop: SIGTERM the first time (they drain, save state
    /// and exit 0), SIGKILL after.
    pub fn stop(&self) {
        let signal = match self.stops.fetch_add(1, Ordering::AcqRel) {
            0 => rustix::process::Signal::TERM,
            _ => rustix::process::Signal::KILL,
        };
        self.send(signal);
    }

    fn send(&self, signal: rustix::process::Signal) {
        for (pid, exited) in self.pids.iter().zip(self.exited.iter()) {
            // A process already reaped is skipped: its pid may be another's by now.
            if exited.load(Ordering::Acquire) {
                continue;
            }
            let pid = i32::try_from(*pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw);
            if let Some(pid) = pid {
                let _ = rustix::process::kill_process(pid, signal);
            }
        }
    }
}

/// Processes of one cluster on this host, started and watched together.
#[derive(Debug)]
pub struct LocalCluster {
    children: Vec<Child>,
    addresses: Vec<String>,
    forwarders: Vec<JoinHandle<()>>,
    signaller: Signaller,
}

impl LocalCluster {
    /// Starts `processes` processes of `program`, each as
    /// `program run ARGS --cluster ADDRESSES --process I`, on free loopback ports.
    pub fn start(
        program: &Path,
        processes: usize,
        run_args: &[OsString],
    ) -> Result<LocalCluster, LocalError> {
        let addresses = free_addresses(processes).map_err(LocalError::Ports)?;
        let list = addresses.join(",");
        let mut children: Vec<Child> = Vec::with_capacity(processes);
        let mut forwarders = Vec::with_capacity(2 * processes);
        for process in 0..processes {
            let spawned = Command::new(program)
                .arg("run")
                .args(run_args)
                .args(["--cluster", &list, "--process", &process.to_string()])
                .stdin(if process == 0 {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // Their own process group: Ctrl-C reaches the launcher alone, which forwards
                // one SIGTERM (two signals would make a process quit without draining).
                .process_group(0)
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(error) => {
                    for mut started in children {
                        let _ = started.kill();
                        let _ = started.wait();
                    }
                    return Err(LocalError::Spawn {
                        program: program.to_owned(),
                        error,
                    });
                }
            };
            if let Some(stdout) = child.stdout.take() {
                forwarders.push(std::thread::spawn(move || pass_through(stdout)));
            }
            if let Some(stderr) = child.stderr.take() {
                forwarders.push(std::thread::spawn(move || prefix_lines(stderr, process)));
            }
            children.push(child);
        }
        let signaller = Signaller {
            pids: Arc::new(children.iter().map(Child::id).collect()),
            exited: Arc::new((0..processes).map(|_| AtomicBool::new(false)).collect()),
            stops: Arc::new(AtomicU32::new(0)),
        };
        Ok(LocalCluster {
            children,
            addresses,
            forwarders,
            signaller,
        })
    }

    /// Every process's `host:port`, in process order.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// A handle that stops the processes from another thread.
    pub fn signaller(&self) -> Signaller {
        self.signaller.clone()
    }

    /// Waits until every process has exited. Once one fails, the others have 10 s to exit on
    /// their own (they notice the loss) before they are killed. The error names the process
    /// that failed first, by cause rather than by the order the exits were seen: one killed,
    /// then one that exited with another code than `lost_peer_code` (the code with which a
    /// process says it lost a peer, a consequence of another's failure), then the others.
    pub fn wait(mut self, lost_peer_code: i32) -> Result<(), LocalError> {
        let cause = |status: &ExitStatus| match status.code() {
            None => 2,
            Some(code) if code != lost_peer_code => 1,
            Some(_) => 0,
        };
        let mut statuses: Vec<Option<ExitStatus>> = vec![None; self.children.len()];
        let mut failed: Option<(usize, ExitStatus)> = None;
        let mut kill_at: Option<Instant> = None;
        while statuses.iter().any(Option::is_none) {
            for (process, child) in self.children.iter_mut().enumerate() {
                if statuses[process].is_some() {
                    continue;
                }
                let status = match child.try_wait() {
                    Ok(Some(status)) => status,
                    Ok(None) => continue,
                    // Cannot be waited for (never expected): count it as failed.
                    Err(_) => ExitStatus::from_raw(1 << 8),
                };
                self.signaller.exited[process].store(true, Ordering::Release);
                statuses[process] = Some(status);
                if status.success() {
                    continue;
                }
                if failed.is_none() {
                    kill_at = Some(Instant::now() + GRACE);
                }
                if failed.is_none_or(|(_, first)| cause(&status) > cause(&first)) {
                    failed = Some((process, status));
                }
            }
            if kill_at.is_some_and(|at| Instant::now() >= at) {
                self.signaller.send(rustix::process::Signal::KILL);
                kill_at = None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for forwarder in self.forwarders.drain(..) {
            let _ = forwarder.join();
        }
        match failed {
            None => Ok(()),
            Some((process, status)) => Err(LocalError::Failed {
                process,
                address: self.addresses[process].clone(),
                status: describe(status),
                code: status.code(),
            }),
        }
    }
}

/// `count` loopback addresses whose ports are free now: each bound at once (so they are
/// distinct), then released for the processes to bind.
fn free_addresses(count: usize) -> io::Result<Vec<String>> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.to_string()))
        .collect()
}

/// How a process ended, for a person.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(9)) => "was killed (SIGKILL)".to_owned(),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended abnormally".to_owned(),
    }
}

fn pass_through(mut from: impl Read) {
    let mut buffer = [0u8; 64 * 1024];
    let mut out = io::stdout();
    loop {
        match from.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => {
                if out
                    .write_all(&buffer[..n])
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    // Our standard output is closed: keep draining so the process is not
                    // blocked on a full pipe.
                    return drain(from);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn drain(mut from: impl Read) {
    let _ = io::copy(&mut from, &mut io::sink());
}

fn prefix_lines(from: impl Read, process: usize) {
    let mut reader = BufReader::new(from);
    let prefix = format!("[process {process}] ");
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if !line.ends_with(b"\n") {
                    line.push(b'\n');
                }
                let mut err = io::stderr().lock();
                let _ = err
                    .write_all(prefix.as_bytes())
                    .and_then(|()| err.write_all(&line));
            }
        }
    }
}
