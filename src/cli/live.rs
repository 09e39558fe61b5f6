//! What a run shows while it runs, and how it stops: a progress bar on a terminal; SIGINT
//! and SIGTERM drain and stop, SIGHUP reloads lists.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use antimony_core::Metrics;
use antimony_core::metrics::Label;
use antimony_engine::StopHandle;
use antimony_engine::runtime::EMITTED;
use antimony_io::meters::{BYTES_EXPECTED, BYTES_READ, UNBOUNDED};
use indicatif::{ProgressBar, ProgressStyle};

/// How long a run may take to drain after it was asked to stop before it is ended at once.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// Stops the run on the first SIGINT (Ctrl-C) or SIGTERM (what systemd, Docker and
/// Kubernetes send): the sources stop, what is in flight drains through every component,
/// sinks flush, state is saved, the summary is printed and the process exits 0. A second
/// signal, or a drain longer than [`DRAIN_LIMIT`], ends it at once with code 130. SIGHUP
/// reloads the threat-intel lists.
pub(super) fn stop_on_signals(stop: StopHandle) {
    on_signal_thread(move || async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::warn!("cannot listen for signals: SIGINT and SIGTERM end the run at once");
            return;
        };
        let mut stopping = false;
        loop {
            let name = tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
                _ = hangup.recv() => {
                    let watchers = antimony_components::detect::reload_lists_now();
                    eprintln!(
                        "antimony: SIGHUP: {watchers} dns_detect component{} re-reading {} threat-intel lists",
                        if watchers == 1 { "" } else { "s" },
                        if watchers == 1 { "its" } else { "their" }
                    );
                    continue;
                }
            };
            if stopping {
                eprintln!("antimony: {name} again: stopping at once");
                std::process::exit(130);
            }
            stopping = true;
            eprintln!(
                "\nantimony: {name}: stopping; draining what is in flight (a second signal quits at once)"
            );
            stop.stop();
            std::thread::spawn(|| {
                std::thread::sleep(DRAIN_LIMIT);
                eprintln!(
                    "antimony: the run did not drain in {} s: stopping at once",
                    DRAIN_LIMIT.as_secs()
                );
                std::process::exit(130);
            });
        }
    });
}

/// Runs `listen` on a thread of its own, on a small Tokio runtime (signal streams need one).
pub(super) fn on_signal_thread<F: std::future::Future<Output = ()>>(
    listen: impl FnOnce() -> F + Send + 'static,
) {
    std::thread::spawn(move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            runtime.block_on(listen());
        }
    });
}

/// A progress bar (bytes read, records/s, ETA) while the run lasts, on a terminal only;
/// nothing when standard error is not a terminal.
pub(super) struct Progress {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts showing progress of the run whose registry is `metrics`; `events_from` names the
    /// component whose output counts as records (the parser).
    pub(super) fn start(metrics: Metrics, events_from: Option<String>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Progress { done, thread: None };
        }
        let finished = Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} [{bar:30}] {msg} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            let started = Instant::now();
            while !finished.load(Ordering::Relaxed) {
                let read = metrics.total(BYTES_READ.name, &[]);
                let total = match metrics.total(UNBOUNDED.name, &[]) {
                    0 => metrics.total(BYTES_EXPECTED.name, &[]),
                    _ => 0,
                };
                bar.set_length(total.max(read));
                bar.set_position(read);
                let labels: Vec<Label> = events_from.iter().map(|c| Label::component(c)).collect();
                let records = metrics.total(EMITTED.name, &labels);
                let rate = records as f64 / started.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("{records} records, {rate:.0}/s"));
                std::thread::sleep(Duration::from_millis(200));
            }
            bar.finish_and_clear();
        });
        Progress {
            done,
            thread: Some(thread),
        }
    }

    /// Removes the bar.
    pub(super) fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
