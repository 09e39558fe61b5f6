//! The Topology Master: what a running topology serves over HTTP (axum, on the process's
//! I/O runtime). The calls are listed in `API.md`:
//!
//! - the plan ([`plan`]), live statistics with rates, backpressure and percentiles
//!   ([`stats`]), recent alerts with filters ([`alerts`]), every series of the run's
//!   registry in Prometheus' text format ([`prometheus`]), health and readiness;
//! - control: deactivate and activate (pause and resume the sources), kill (drain and stop);
//! - the dashboard at `/` ([`assets`]), every asset compiled in;
//! - a token, compared in constant time ([`auth`]), required when the API listens beyond
//!   loopback;
//! - in a cluster, the other processes' reports ([`cluster`]): process 0 serves them all;
//! - the API's own client and the text of its answers ([`client`]), behind the lifecycle
//!   commands.
//!
//! Architecture invariant: it reads the run through the engine's plan, metrics registry,
//! feed and control handle only; it knows no component, and the page never puts a value it
//! shows anywhere but in text.

pub mod alerts;
pub mod assets;
pub mod auth;
pub mod client;
pub mod cluster;
pub mod plan;
pub mod prometheus;
mod routes;
pub mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use antimony_core::{Feed, Metrics};
use antimony_engine::{Plan, StopHandle};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// Where the API listens, and its token.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// The token every call but health and readiness must carry, if any. Required when
    /// `addr` is not a loopback address.
    pub token: Option<String>,
}

/// What the API shows and drives: a running topology.
#[derive(Clone, Debug)]
pub struct RunView {
    /// Its logical plan.
    pub plan: Plan,
    /// Worker threads per process.
    pub workers: usize,
    /// Processes (1 unless in cluster mode).
    pub processes: usize,
    /// This process's index.
    pub process: usize,
    /// The run's metrics registry.
    pub metrics: Metrics,
    /// The last lines its sinks wrote (the alerts).
    pub feed: Feed,
    /// Its control handle: pause, resume, stop.
    pub control: StopHandle,
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Listening beyond loopback needs a token.
    #[error(
        "the API would listen on {0}, beyond loopback, without a token: give one with --api-token or ANTIMONY_API_TOKEN, or listen on 127.0.0.1"
    )]
    NeedsToken(SocketAddr),
    /// The address cannot be listened on (a port in use).
    #[error("cannot listen on {addr} for the API: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
}

/// The state every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) view: RunView,
    pub(crate) token: Option<String>,
    pub(crate) started: Instant,
    pub(crate) sampler: stats::Sampler,
    /// The other processes' last reports (in a cluster).
    pub(crate) reports: cluster::Reports,
}

impl Shared {
    /// Every series of the run: this process's, and the others' as last reported.
    pub(crate) fn snapshot(&self) -> Vec<antimony_core::metrics::Sample> {
        let mut samples = self.view.metrics.snapshot();
        samples.extend(self.reports.samples());
        samples
    }
}

/// A running API; it stops when dropped.
#[derive(Debug)]
pub struct ApiServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl ApiServer {
    /// The address it listens on (the port chosen when asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Starts the API on `runtime` (the process's I/O runtime) for the run `view` describes.
pub fn serve(runtime: &Handle, config: ApiConfig, view: RunView) -> Result<ApiServer, ApiError> {
    let token = config.token.filter(|t| !t.is_empty());
    if !config.addr.ip().is_loopback() && token.is_none() {
        return Err(ApiError::NeedsToken(config.addr));
    }
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(config.addr))
        .map_err(|error| ApiError::Bind {
            addr: config.addr,
            error,
        })?;
    let addr = listener.local_addr().map_err(|error| ApiError::Bind {
        addr: config.addr,
        error,
    })?;
    let shared = Arc::new(Shared {
        sampler: stats::Sampler::default(),
        reports: cluster::Reports::default(),
        view,
        token,
        started: Instant::now(),
    });
    runtime.spawn(stats::sample_every_second(Arc::downgrade(&shared)));
    let (shutdown, stopped) = oneshot::channel::<()>();
    let app = routes::router(shared);
    runtime.spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "the API stopped");
        }
    });
    tracing::info!(%addr, "Topology Master API listening");
    Ok(ApiServer {
        addr,
        shutdown: Some(shutdown),
    })
}
