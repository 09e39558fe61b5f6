//! `antimony cluster`: a cluster of `antimony run` processes on this host.

use antimony_engine::runtime::cluster::local::{LocalCluster, Signaller};
use clap::Parser;

use super::{ClusterArgs, Command};

pub(super) fn cluster(args: ClusterArgs) -> anyhow::Result<()> {
    // The run options are checked once here, rather than refused by every process.
    let run = ["antimony", "run"].map(std::ffi::OsString::from);
    match super::Cli::try_parse_from(run.into_iter().chain(args.run.iter().cloned())) {
        Ok(super::Cli {
            command: Command::Run(run),
        }) if !run.cluster.is_empty() => {
            let message = "`antimony cluster` gives each process its --cluster and --process: leave them out\n";
            clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, message).exit()
        }
        Ok(_) => {}
        Err(error) => error.exit(),
    }
    let program = std::env::current_exe()?;
    let cluster = LocalCluster::start(&program, usize::from(args.processes), &args.run)?;
    eprintln!(
        "antimony: cluster of {} process{} at {}",
        args.processes,
        if args.processes == 1 { "" } else { "es" },
        cluster.addresses().join(",")
    );
    forward_signals(cluster.signaller());
    Ok(cluster.wait(i32::from(super::exit::CLUSTER_LOST))?)
}

/// SIGINT and SIGTERM go on to the processes (which drain and stop); a second one kills them.
fn forward_signals(signaller: Signaller) {
    super::live::on_signal_thread(move || async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::warn!("cannot listen for signals: they end the launcher alone");
            return;
        };
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            signaller.stop();
        }
    });
}
