//! The process's I/O runtime: one Tokio runtime, started on first use, that every spout and
//! sink of the process shares.
//!
//! Why one per process rather than one per run: the engine runs no async code and knows
//! nothing of Tokio (the component context is runtime-neutral), so the edges bring their
//! own. One thread is enough for files and sockets at the rates the dataflow takes (a
//! second one, on two cores, only moved tasks between threads and cost wall time); a
//! task belongs to the spout or sink that started it and ends with it (its channel closes,
//! or it is aborted when the component is dropped), so nothing outlives the run that
//! started it.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// A handle on the I/O runtime, starting it on first use.
///
/// # Panics
///
/// If the operating system refuses the runtime's threads on first use: nothing of the
/// process's I/O could run then.
pub fn handle() -> &'static Handle {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("antimony-io")
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("cannot start the I/O runtime: {e}"))
        })
        .handle()
}
