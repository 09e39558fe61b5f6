//! What a run shows while it runs: a progress bar on a terminal, and Ctrl-C to stop.

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

/// Stops the run on the first Ctrl-C (what is in flight drains); exits on the second.
pub(super) fn stop_on_ctrl_c(stop: StopHandle) {
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nantimony: stopping (Ctrl-C again to quit at once)");
                stop.stop();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        });
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
