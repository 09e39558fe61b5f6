//! Clusters that fail loudly: the engine makes the TCP connections between the processes of
//! a cluster itself, then hands them to timely (`dataflow.rs`).
//!
//! timely's own start-up waits forever for a peer that never comes, and once running, a peer
//! that dies makes the others panic in a communication thread or hang. Here instead:
//!
//! - start-up is bounded (`ClusterConfig::connect_timeout`) and names the peer that never
//!   came (`connect.rs`);
//! - every connection opens with a greeting (process index, cluster size, workers, a
//!   fingerprint of the topology), so processes started with another topology or another
//!   `--cluster` list refuse each other with a message instead of exchanging garbage;
//! - every connection is wrapped in a `PeerStream` (`stream.rs`) that notices a peer
//!   gone (end of stream before timely's goodbye, a read or write error, TCP keepalive and
//!   user timeouts for a host that vanished) and records it in a `Watch` the workers check
//!   between steps, so the run ends with [`ClusterError::Lost`] within seconds.
//!
//! Nothing here uses timely: what timely needs of a stream is implemented in `dataflow.rs`.

mod connect;
pub mod local;
pub(crate) mod stream;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use connect::{Greeting, connect};

/// This process's place among several (timely's cluster mode).
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// This process's index, from 0.
    pub process: usize,
    /// `host:port` of every process, in index order.
    pub addresses: Vec<String>,
    /// How long to wait for every peer at start-up before giving up, naming the missing one.
    pub connect_timeout: Duration,
}

impl ClusterConfig {
    /// How long start-up waits for the peers by default: long enough for a supervisor to
    /// (re)start every process, short enough that a missing one is reported.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

    /// Process `process` of the cluster whose processes listen at `addresses`.
    pub fn new(process: usize, addresses: Vec<String>) -> Self {
        ClusterConfig {
            process,
            addresses,
            connect_timeout: Self::CONNECT_TIMEOUT,
        }
    }

    /// The address of process `index`, for messages.
    pub(crate) fn address(&self, index: usize) -> &str {
        self.addresses.get(index).map_or("?", String::as_str)
    }
}

/// Why a cluster could not start or could not go on. Every message names the process and its
/// address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The command line itself is wrong (an index out of range, an address that is not
    /// `host:port`).
    #[error("cluster: {0}")]
    Config(String),
    /// This process cannot listen at its own address (in use, not an address of this host).
    #[error("cluster: process {process} cannot listen at {address}: {reason}")]
    Listen {
        /// This process's index.
        process: usize,
        /// Its address.
        address: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A peer did not connect (or could not be reached) before the start-up deadline.
    #[error(
        "cluster: process {process} ({address}) did not join within {} s: {reason} (is it started, with the same --cluster list?)",
        waited.as_secs()
    )]
    NeverCame {
        /// The missing process.
        process: usize,
        /// Its address.
        address: String,
        /// How long this process waited.
        waited: Duration,
        /// The last error seen reaching it, or that it never connected.
        reason: String,
    },
    /// A peer answered, but runs another topology, cluster size or worker count.
    #[error("cluster: process {process} ({address}) does not match this one: {reason}")]
    Mismatch {
        /// The peer's index.
        process: usize,
        /// Its address.
        address: String,
        /// What differs, and what to do.
        reason: String,
    },
    /// A peer was lost while the cluster ran: it died, closed its connection, or its host
    /// stopped answering.
    #[error("cluster: lost process {process} ({address}): {reason}")]
    Lost {
        /// The lost process.
        process: usize,
        /// Its address.
        address: String,
        /// What was seen (`connection closed`, the I/O error).
        reason: String,
    },
}

/// The cluster's state as the connections see it, shared with the workers: the first peer
/// lost, if any. Workers check [`Watch::is_lost`] between steps (an atomic load).
#[derive(Debug, Default)]
pub(crate) struct Watch {
    lost: AtomicBool,
    first: Mutex<Option<ClusterError>>,
}

impl Watch {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Watch::default())
    }

    /// Records that `process` was lost; the first loss is the one reported.
    pub(crate) fn lose(&self, process: usize, address: &str, reason: String) {
        if let Ok(mut first) = self.first.lock()
            && first.is_none()
        {
            tracing::debug!(process, address, %reason, "cluster: lost a process");
            *first = Some(ClusterError::Lost {
                process,
                address: address.to_owned(),
                reason,
            });
        }
        self.lost.store(true, Ordering::Release);
    }

    /// Whether a peer was lost.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// The first loss, if any.
    pub(crate) fn loss(&self) -> Option<ClusterError> {
        self.first.lock().ok().and_then(|first| first.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first peer lost is the one reported: the others may only have noticed this
    /// process closing its connections after it.
    #[test]
    fn the_first_loss_is_reported() {
        let watch = Watch::new();
        assert!(!watch.is_lost());
        assert_eq!(watch.loss(), None);
        watch.lose(1, "10.0.0.2:7000", "connection closed".to_owned());
        watch.lose(2, "10.0.0.3:7000", "connection reset".to_owned());
        assert!(watch.is_lost());
        assert_eq!(
            watch.loss().map(|e| e.to_string()).as_deref(),
            Some("cluster: lost process 1 (10.0.0.2:7000): connection closed")
        );
    }
}
