//! The `antimony` binary.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

mod assets;
mod cli;

// mimalloc rather than the system allocator: events are allocated on the worker that parses
// them and freed on the one that runs their keyed detectors, and glibc's malloc spent about a
// fifth of all CPU on the full topology on 2 workers (perf; see bench/NOTES.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ANTIMONY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = cli::Cli::parse();
    match cli::main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("antimony: error: {error:#}");
            ExitCode::from(cli::exit::code(&error))
        }
    }
}
