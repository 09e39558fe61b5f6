//! Start-up: a connection to every peer, each opened with a greeting, within a deadline.
//!
//! As in timely, process `i` connects to every process below it and accepts a connection from
//! every process above it. Each side says who it is (a [`Greeting`]) and checks the other:
//! both must run the same topology on as many processes and workers, or both refuse, naming
//! what differs. A connection that does not greet like an Antimony peer (a port scanner, a
//! health check) is dropped and start-up goes on.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::stream::{Peer, PeerStream};
use super::{ClusterConfig, ClusterError, Watch};

/// The first bytes of every greeting: the protocol and its version.
const MAGIC: [u8; 8] = *b"SbClust1";
const GREETING_BYTES: usize = 8 + 4 + 4 + 4 + 8;
/// How long a peer that connected may take to greet.
const GREETING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt to connect may take (a host that drops packets).
const CONNECT_ATTEMPT: Duration = Duration::from_secs(1);
/// Pause between two attempts to reach a peer that is not listening yet.
const RETRY: Duration = Duration::from_millis(100);
/// What one side of start-up returns when the other failed first (never reported).
const ABANDONED: &str = "start-up abandoned";

/// What a process says of itself when it connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Greeting {
    /// Its index.
    pub(crate) process: u32,
    /// The number of processes it was started with.
    pub(crate) processes: u32,
    /// Its worker threads (timely needs as many in every process).
    pub(crate) workers: u32,
    /// A hash of what must be the same everywhere for timely's channels to line up: the
    /// topology's components and groupings, and whether it checkpoints.
    pub(crate) fingerprint: u64,
}

impl Greeting {
    fn encode(&self) -> [u8; GREETING_BYTES] {
        let mut bytes = [0u8; GREETING_BYTES];
        bytes[..8].copy_from_slice(&MAGIC);
        bytes[8..12].copy_from_slice(&self.process.to_be_bytes());
        bytes[12..16].copy_from_slice(&self.processes.to_be_bytes());
        bytes[16..20].copy_from_slice(&self.workers.to_be_bytes());
        bytes[20..28].copy_from_slice(&self.fingerprint.to_be_bytes());
        bytes
    }

    /// `None` if the bytes are not an Antimony greeting.
    fn decode(bytes: &[u8; GREETING_BYTES]) -> Option<Greeting> {
        if bytes[..8] != MAGIC {
            return None;
        }
        let u32_at = |at: usize| {
            let mut word = [0u8; 4];
            word.copy_from_slice(&bytes[at..at + 4]);
            u32::from_be_bytes(word)
        };
        let mut fingerprint = [0u8; 8];
        fingerprint.copy_from_slice(&bytes[20..28]);
        Some(Greeting {
            process: u32_at(8),
            processes: u32_at(12),
            workers: u32_at(16),
            fingerprint: u64::from_be_bytes(fingerprint),
        })
    }

    /// What differs between this process (`self`) and a peer, as a sentence with what to do.
    fn mismatch(&self, peer: &Greeting) -> Option<String> {
        if peer.processes != self.processes {
            return Some(format!(
                "it was started as one of {} processes, this one as one of {}: give every process the same --cluster list",
                peer.processes, self.processes
            ));
        }
        if peer.workers != self.workers {
            return Some(format!(
                "it runs {} workers, this one {}: give every process the same --workers",
                peer.workers, self.workers
            ));
        }
        if peer.fingerprint != self.fingerprint {
            return Some(format!(
                "it runs another topology (fingerprint {:016x}, this one {:016x}): start every process with the same topology file and the same checkpoint settings",
                peer.fingerprint, self.fingerprint
            ));
        }
        None
    }
}

/// Connects to every peer of `config` within its deadline; returns one stream per process,
/// in process order, `None` at this process's own place.
pub(crate) fn connect(
    config: &ClusterConfig,
    me: Greeting,
    watch: &Arc<Watch>,
) -> Result<Vec<Option<PeerStream>>, ClusterError> {
    let processes = config.addresses.len();
    let index = config.process;
    if index >= processes {
        return Err(ClusterError::Config(format!(
            "process {index} is not an index of the {processes} addresses given"
        )));
    }
    let deadline = Instant::now() + config.connect_timeout;
    // Either side failing ends the other's wait at once.
    let abort = AtomicBool::new(false);
    let (lower, higher) = std::thread::scope(|scope| {
        let higher = scope.spawn(|| {
            let result = accept_higher(config, me, deadline, &abort);
            if result.is_err() {
                abort.store(true, Ordering::Relaxed);
            }
            result
        });
        let lower = connect_lower(config, me, deadline, &abort);
        if lower.is_err() {
            abort.store(true, Ordering::Relaxed);
        }
        let higher = higher.join().unwrap_or_else(|_| {
            Err(ClusterError::Config(
                "the thread accepting connections panicked".to_owned(),
            ))
        });
        (lower, higher)
    });
    let (lower, higher) = match (lower, higher) {
        (Ok(lower), Ok(higher)) => (lower, higher),
        // The error that caused the other: a refusal before a peer that never came, which
        // before the other side's abandoning.
        (lower, higher) => {
            let rank = |e: &ClusterError| match e {
                ClusterError::Config(m) if m == ABANDONED => 0,
                ClusterError::NeverCame { .. } => 1,
                _ => 2,
            };
            let errors = [lower.err(), higher.err()];
            let worst = errors.into_iter().flatten().max_by_key(|e| rank(e));
            return Err(worst.unwrap_or_else(|| ClusterError::Config(ABANDONED.to_owned())));
        }
    };
    let mut streams = Vec::with_capacity(processes);
    for (process, socket) in lower.into_iter().chain([None]).chain(higher).enumerate() {
        streams.push(match socket {
            None => None,
            Some(socket) => {
                let address = config.address(process).to_owned();
                let peer = Peer {
                    process,
                    address: address.clone(),
                };
                Some(
                    PeerStream::new(socket, peer, Arc::clone(watch)).map_err(|e| {
                        ClusterError::Lost {
                            process,
                            address,
                            reason: e.to_string(),
                        }
                    })?,
                )
            }
        });
    }
    Ok(streams)
}

/// Connects to processes `0..index`, retrying until each listens, greets each.
fn connect_lower(
    config: &ClusterConfig,
    me: Greeting,
    deadline: Instant,
    abort: &AtomicBool,
) -> Result<Vec<Option<TcpStream>>, ClusterError> {
    let mut sockets = Vec::with_capacity(config.process);
    for process in 0..config.process {
        let address = config.address(process);
        let mut last_error = "not listening yet".to_owned();
        let socket = loop {
            if abort.load(Ordering::Relaxed) {
                return Err(ClusterError::Config(ABANDONED.to_owned()));
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NeverCame {
                    process,
                    address: address.to_owned(),
                    waited: config.connect_timeout,
                    reason: format!("could not reach it: {last_error}"),
                });
            }
            match resolve(address)
                .and_then(|addr| TcpStream::connect_timeout(&addr, CONNECT_ATTEMPT))
            {
                Ok(socket) => break socket,
                Err(e) => {
                    last_error = e.to_string();
                    std::thread::sleep(RETRY);
                }
            }
        };
        let mismatch = |reason: String| ClusterError::Mismatch {
            process,
            address: address.to_owned(),
            reason,
        };
        socket
            .set_read_timeout(Some(GREETING_TIMEOUT))
            .and_then(|()| (&socket).write_all(&me.encode()))
            .map_err(|e| mismatch(format!("the greeting failed: {e}")))?;
        let peer = read_greeting(&socket)
            .map_err(|e| mismatch(format!("it did not answer the greeting: {e}")))?
            .ok_or_else(|| {
                mismatch(
                    "it answered something that is not an Antimony cluster greeting (another service at this address?)"
                        .to_owned(),
                )
            })?;
        if peer.process as usize != process {
            return Err(mismatch(format!(
                "it says it is process {}: give every process the same --cluster list, in the same order",
                peer.process
            )));
        }
        if let Some(reason) = me.mismatch(&peer) {
            return Err(mismatch(reason));
        }
        sockets.push(Some(socket));
    }
    Ok(sockets)
}

/// Listens at this process's address and accepts processes `index+1..`, each once.
fn accept_higher(
    config: &ClusterConfig,
    me: Greeting,
    deadline: Instant,
    abort: &AtomicBool,
) -> Result<Vec<Option<TcpStream>>, ClusterError> {
    let index = config.process;
    let processes = config.addresses.len();
    let mut sockets: Vec<Option<TcpStream>> = (index + 1..processes).map(|_| None).collect();
    if sockets.is_empty() {
        return Ok(sockets);
    }
    let own = config.address(index);
    let listen_error = |reason: String| ClusterError::Listen {
        process: index,
        address: own.to_owned(),
        reason,
    };
    // The name may not resolve yet (a Kubernetes pod's DNS record appears as it starts).
    let addr = loop {
        match resolve(own) {
            Ok(addr) => break addr,
            Err(e) if Instant::now() >= deadline => return Err(listen_error(e.to_string())),
            Err(_) => std::thread::sleep(RETRY),
        }
    };
    let listener = TcpListener::bind(addr).map_err(|e| listen_error(e.to_string()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| listen_error(e.to_string()))?;
    while sockets.iter().any(Option::is_none) {
        if abort.load(Ordering::Relaxed) {
            return Err(ClusterError::Config(ABANDONED.to_owned()));
        }
        let (socket, from) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing = sockets.iter().position(Option::is_none).unwrap_or(0) + index + 1;
                    return Err(ClusterError::NeverCame {
                        process: missing,
                        address: config.address(missing).to_owned(),
                        waited: config.connect_timeout,
                        reason: "it never connected".to_owned(),
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cluster: accepting a connection failed");
                continue;
            }
        };
        let greeting = socket
            .set_nonblocking(false)
            .and_then(|()| socket.set_read_timeout(Some(GREETING_TIMEOUT)))
            .and_then(|()| read_greeting(&socket));
        let peer = match greeting {
            Ok(Some(peer)) => peer,
            Ok(None) | Err(_) => {
                tracing::warn!(%from, "cluster: dropped a connection that did not greet like an Antimony process");
                continue;
            }
        };
        // Answer first, so the peer learns of a mismatch too.
        let answered = (&socket).write_all(&me.encode());
        let process = peer.process as usize;
        let mismatch = |reason: String| ClusterError::Mismatch {
            process,
            address: config.address(process).to_owned(),
            reason,
        };
        if let Some(reason) = me.mismatch(&peer) {
            return Err(mismatch(reason));
        }
        let slot = process
            .checked_sub(index + 1)
            .and_then(|slot| sockets.get_mut(slot));
        match slot {
            Some(slot @ None) => {
                if let Err(e) = answered {
                    return Err(mismatch(format!("answering its greeting failed: {e}")));
                }
                *slot = Some(socket);
            }
            Some(Some(_)) => {
                return Err(mismatch(format!(
                    "a second process says it is process {process} ({from}): give each process its own --process"
                )));
            }
            None => {
                return Err(ClusterError::Mismatch {
                    process,
                    address: from.to_string(),
                    reason: format!(
                        "a process at {from} says it is process {process}, which should not connect to process {index}: give every process the same --cluster list, in the same order"
                    ),
                });
            }
        }
    }
    Ok(sockets)
}

/// Reads a peer's greeting; `Ok(None)` if it is not one.
fn read_greeting(mut socket: &TcpStream) -> io::Result<Option<Greeting>> {
    let mut bytes = [0u8; GREETING_BYTES];
    socket.read_exact(&mut bytes)?;
    Ok(Greeting::decode(&bytes))
}

/// The first address `host:port` resolves to.
fn resolve(address: &str) -> io::Result<SocketAddr> {
    address.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{address} resolves to no address"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeting(process: u32, processes: u32, workers: u32, fingerprint: u64) -> Greeting {
        Greeting {
            process,
            processes,
            workers,
            fingerprint,
        }
    }

    #[test]
    fn greetings_round_trip_and_strangers_are_refused() {
        let g = greeting(1, 3, 2, 0xfeed);
        assert_eq!(Greeting::decode(&g.encode()), Some(g));
        let mut http = [0u8; GREETING_BYTES];
        http[..8].copy_from_slice(b"GET / HT");
        assert_eq!(Greeting::decode(&http), None);
    }

    #[test]
    fn mismatches_say_what_differs() {
        let me = greeting(0, 2, 2, 7);
        assert_eq!(me.mismatch(&greeting(1, 2, 2, 7)), None);
        let check = |peer: Greeting, says: &str| {
            let reason = me.mismatch(&peer).unwrap_or_default();
            assert!(reason.contains(says), "{reason}");
        };
        check(greeting(1, 3, 2, 7), "--cluster");
        check(greeting(1, 2, 1, 7), "--workers");
        check(greeting(1, 2, 2, 8), "another topology");
    }

    /// Two processes on loopback: each gets a stream to the other; a third that never comes
    /// is named after the deadline.
    #[test]
    fn connects_on_loopback_and_names_a_peer_that_never_comes() {
        let ports: Vec<u16> = (0..3)
            .map(|_| {
                TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map(|a| a.port())
                    .unwrap_or(0)
            })
            .collect();
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let config = |process: usize, n: usize| ClusterConfig {
            process,
            addresses: addresses[..n].to_vec(),
            connect_timeout: Duration::from_secs(2),
        };
        let run = |process: usize, n: usize| {
            let config = config(process, n);
            std::thread::spawn(move || {
                let me = greeting(process as u32, n as u32, 1, 42);
                connect(&config, me, &Watch::new())
                    .map(|s| s.iter().map(Option::is_some).collect::<Vec<_>>())
            })
        };
        let (a, b) = (run(0, 2), run(1, 2));
        assert_eq!(a.join().ok(), Some(Ok(vec![false, true])));
        assert_eq!(b.join().ok(), Some(Ok(vec![true, false])));

        let alone = run(0, 3).join().ok();
        match alone {
            Some(Err(ClusterError::NeverCame { process, .. })) => assert_eq!(process, 1),
            other => panic!("expected process 1 never came, got {other:?}"),
        }
    }
}
