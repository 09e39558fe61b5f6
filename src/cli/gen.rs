//! `antimony gen`: a realistic DNS workload on standard output (see [`antimony_gen`]).

use std::io::{self, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use antimony_gen::{self as generator, GenConfig, ModelConfig, OutputFormat, Pacing, Workload};

/// Options of `antimony gen`.
#[derive(Debug, Args)]
pub(super) struct GenArgs {
    /// Output format: windows-dns, bind or pcap.
    #[arg(long, short)]
    format: OutputFormat,
    /// Records to write (lines, or packets for pcap): 100000, 1e6, 10M, 2_000_000.
    #[arg(long, short = 'n', value_parser = generator::parse_count)]
    records: u64,
    /// Seed of every random choice: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The shared data folder holding the name lists (benign/, dga/, threatintel/,
    /// lookalikes/); default ../shared/data.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Number of clients.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    clients: u32,
    /// Queries per second of simulated time (how fast timestamps advance).
    #[arg(long, default_value_t = 5000.0)]
    qps: f64,
    /// Write at this many records per second, stamped with the wall clock, instead of as
    /// fast as possible (to feed a live pipeline).
    #[arg(long, value_name = "RECORDS_PER_SEC")]
    rate: Option<f64>,
    /// With --rate: latency probes per second, lookups of `t<ns>.update-java.net` whose first
    /// label is the wall-clock time the line was written (nanoseconds since 1970).
    #[arg(long, default_value_t = 0.0, requires = "rate")]
    probes: f64,
    /// Print no summary on standard error.
    #[arg(long, short)]
    quiet: bool,
}

pub(super) fn generate(args: GenArgs) -> anyhow::Result<()> {
    let dir = args
        .data
        .clone()
        .unwrap_or_else(generator::data::default_data_dir);
    let data = Workload::load(&dir)?;
    if let Some(rate) = args.rate {
        anyhow::ensure!(rate > 0.0, "--rate must be positive");
    }
    anyhow::ensure!(args.qps > 0.0, "--qps must be positive");
    let config = GenConfig {
        format: args.format,
        records: args.records,
        model: ModelConfig {
            seed: args.seed,
            clients: args.clients,
            qps: args.qps,
            ..ModelConfig::default()
        },
        pacing: args.rate.map(|rate| Pacing {
            rate,
            probes: args.probes,
        }),
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let summary = match generator::generate(&data, &config, &mut out) {
        Ok(summary) => summary,
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(e).context("cannot write to standard output"),
    };
    if !args.quiet {
        let secs = summary.elapsed.as_secs_f64().max(1e-9);
        let exchanges: u64 = summary.kinds.iter().map(|(_, n)| n).sum();
        let mut kinds = summary.kinds.clone();
        kinds.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        let mix: Vec<String> = kinds
            .iter()
            .map(|(kind, n)| {
                format!(
                    "{kind:?} {:.2}%",
                    100.0 * *n as f64 / exchanges.max(1) as f64
                )
            })
            .collect();
        let _ = writeln!(
            io::stderr(),
            "gen: {} records ({}), {:.1} MB in {:.2} s: {:.2}M records/s; {} exchanges: {}",
            summary.records,
            args.format.name(),
            summary.bytes as f64 / 1e6,
            secs,
            summary.records as f64 / secs / 1e6,
            exchanges,
            mix.join(", ")
        );
    }
    Ok(())
}
