//! The `antimony` command line.

mod check;
mod cluster;
mod demo;
mod eval;
pub(crate) mod exit;
mod r#gen;
mod live;
mod master;
mod parse;
mod report;
mod run;
mod score;
mod storm;
mod train;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Real-time DNS threat detection on a stream-processing engine.
///
/// Antimony runs topologies of spouts (sources) and bolts (processing steps) on
/// timely-dataflow workers. Its built-in topology reads DNS logs, parses them and raises
/// alerts for threat-intel hits, malware keywords, DGA names and suspicious names.
#[derive(Debug, Parser)]
#[command(name = "antimony", version, propagate_version = true)]
#[command(
    after_help = "Start with `antimony demo`, then `antimony run topologies/dns-threats.toml --input YOUR.log`."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bundled DNS topology over a bundled sample log and print its alerts.
    ///
    /// Needs no configuration: the topology, a Windows DNS debug log with known-bad names
    /// among ordinary traffic, and a threat-intel list are built into the binary. Alerts go
    /// to standard output as JSON lines, a summary to standard error.
    #[command(
        after_help = "Example:\n  antimony demo\n  antimony demo --workers 2 2>/dev/null | jq .domain"
    )]
    Demo(DemoArgs),

    /// Run a topology file until its sources are exhausted.
    ///
    /// The topology declares spouts and bolts (see `topologies/dns-threats.toml`). Bad
    /// records are counted and set aside (`--dead-letter`); the run goes on. A summary
    /// of what each component did goes to standard error.
    #[command(
        after_help = "Examples:\n  antimony run topologies/dns-threats.toml --input /var/log/dns/dns.log\n  antimony run topologies/dns-threats.toml --input query.log --workers 2 \\\n      --alerts alerts.jsonl --dead-letter rejected.jsonl"
    )]
    Run(RunArgs),

    /// Run a topology as a cluster of N processes on this host (for trying clusters out).
    ///
    /// Starts N `antimony run` processes with the topology and options given, each with
    /// `--cluster` (free ports on 127.0.0.1) and its `--process`. Their standard error is
    /// forwarded with a `[process i]` prefix. If one fails or dies, the others notice within
    /// seconds, and this command fails naming it. See docs/deployment.md for real clusters.
    #[command(
        after_help = "Example:\n  antimony cluster --processes 2 topologies/dns-threats.toml --input dns.log \\\n      --alerts alerts.jsonl --checkpoint-dir state/"
    )]
    Cluster(ClusterArgs),

    /// Explain, detector by detector, how domain names score.
    ///
    /// Runs every stateless detector (threat-intel lists, keyword rules, DGA score, long
    /// names) on each name and says why each one fired or not. The bundled maltrail list is
    /// included unless `--no-builtin-lists` is given.
    #[command(
        after_help = "Examples:\n  antimony check update-java.net google.com\n  antimony check --json afadsfasdfsafwerwqerqqiye.cn | jq .verdict"
    )]
    Check(CheckArgs),

    /// Print the DNS events Antimony reads from files, one JSON object per line.
    ///
    /// The way to check that a log is understood before wiring a topology: each file's
    /// format is recognised (or given with `--format`) and said on standard error; every
    /// event goes to standard output, in file order; records that cannot be read are counted
    /// (and shown with `--dead-letter`).
    #[command(
        after_help = "Examples:\n  antimony parse /var/log/named/query.log | head\n  antimony parse --format windows-debug dns.log\n  antimony parse --list-formats"
    )]
    Parse(ParseArgs),

    /// Write a realistic DNS workload (Windows DNS debug log, BIND query log or pcap) to
    /// standard output.
    ///
    /// Popular names by Zipf rank from thousands of clients, with DGA bursts, block-listed
    /// names, lookalikes, a base32 TXT tunnel, NXDOMAIN storms and beaconing clients mixed in,
    /// drawn from the lists in the shared data folder. The same seed gives the same bytes;
    /// memory stays constant however many records are asked for.
    #[command(
        after_help = "Examples:\n  antimony gen --format windows-dns --records 1e6 > dns.log\n  antimony gen --format pcap --records 10M --seed 7 > dns.pcap\n  antimony gen -f bind -n 1e6 --rate 100000 | antimony run topologies/dns-threats.toml --input -"
    )]
    Gen(r#gen::GenArgs),

    /// Score domain names read on standard input, one verdict line per name.
    ///
    /// Writes `name<TAB>verdict<TAB>score<TAB>detectors` per input line: verdict `alert`
    /// (a list hit, keyword rule or lookalike, or a combined score at or above the
    /// threshold), `ok`, or `invalid` (not a domain name); score 0-100; the detectors that
    /// fired, comma-separated, or `-`. For scripts and bulk triage.
    #[command(
        after_help = "Examples:\n  antimony score < names.txt > verdicts.tsv\n  antimony score --brands brands.txt < names.txt | awk -F'\\t' '$2 == \"alert\"'"
    )]
    Score(ScoreArgs),

    /// Measure the detectors on labelled data and print the results.
    ///
    /// Prints per-family DGA recall at benign false-positive rates of 1e-2, 1e-3 and 1e-4,
    /// leave-families-out (each family scored by a model trained without it; thresholds set
    /// on half of the benign long tail, the rate measured on the other half); the default
    /// verdict's recall and false-positive rate (`antimony score`); lookalike recall per
    /// dnstwist permutation kind on brands split in a tuning and a held-out half, with the
    /// false-positive rate on benign lists; threat-intel list detection rates; and in stream,
    /// an hour of generated office traffic through the shipped topology, scored per client
    /// against the generator's ground truth (clean clients alerted medium+, infected and
    /// slowly infected clients caught, time to the first alert). Reads `../shared/data`
    /// unless `--data` says otherwise. Takes a few minutes.
    #[command(
        after_help = "Examples:\n  antimony eval\n  antimony eval --data /srv/antimony-data --compare\n  antimony eval --stream-only --stream-slow 40 --stream-seed 2"
    )]
    Eval(EvalArgs),

    /// Retrain a shipped model from the data, reproducibly.
    ///
    /// `antimony train dga` trains the DGA model from `benign/benign_top.txt` (minus a fixed
    /// held-out fifth) and `dga/dga_train.csv`, and calibrates its score on half of the long
    /// tail (held-out Alexa names ranked past 10,000 and `opendns_random_10k.txt`); the other
    /// half measures it. The same data gives the same file, byte for byte.
    #[command(
        after_help = "Examples:\n  antimony train dga --out crates/antimony-detect/models/dga.txt\n  antimony train dga --data /srv/antimony-data --out dga.txt"
    )]
    Train(TrainArgs),

    /// Show a running topology: its plan, rates, backpressure and processing times.
    ///
    /// Asks the Topology Master of a topology started with `antimony run` (its `--api`,
    /// `127.0.0.1:8700` by default).
    #[command(
        after_help = "Examples:\n  antimony status\n  antimony status --api http://10.0.0.5:8700 --json | jq '.stats.components[].emitted_per_s'"
    )]
    Status(master::StatusArgs),

    /// Pause a running topology's sources (Storm's deactivate); what is in flight finishes.
    #[command(after_help = "Example:
  antimony deactivate && antimony activate")]
    Deactivate(master::MasterArgs),

    /// Resume a deactivated topology's sources.
    Activate(master::MasterArgs),

    /// Stop a running topology cleanly: drain, flush its sinks, save its state, exit 0.
    ///
    /// Waits until the topology has stopped (unless `--no-wait`).
    Kill(master::KillArgs),

    /// Print a running topology's recent alerts, and with `--follow` the ones to come.
    ///
    /// The Topology Master keeps the last 10,000 alerts; filters apply on its side. With
    /// `--follow`, alerts since `--since` (or from now on) are printed as they arrive, until
    /// the topology stops. With `--store`, an alert store's, during a run or after it.
    #[command(
        after_help = "Examples:\n  antimony alerts --since 10m\n  antimony alerts --follow --severity high --json | jq .domain\n  antimony alerts --store alerts.db --client 10.1.2.3 --since 1h --csv"
    )]
    Alerts(master::AlertsArgs),

    /// Write one self-contained HTML page about the alerts of a store or an alerts file.
    ///
    /// A summary, alerts by detector and severity, top clients and domains, a timeline and
    /// the alert table with reasons; no network needed to open it, no script in it.
    #[command(
        after_help = "Examples:\n  antimony report --store alerts.db --out report.html --since 1d\n  antimony report --alerts alerts.jsonl --out report.html --severity high"
    )]
    Report(report::ReportArgs),

    /// List the component types a topology file can use, and the body formats of alert
    /// outputs (json, ecs, eve, cef, leef; slack and teams for webhooks).
    #[command(after_help = "Example:\n  antimony components")]
    Components,

    /// Check a topology file without running it (components, options, groupings,
    /// multilang programs) and print its plan; exit 3 with every error, located.
    Validate(storm::ValidateArgs),

    /// Convert a pyleus or Flux (Storm) YAML topology into an Antimony TOML topology,
    /// with a note for every option that has no equivalent.
    #[command(after_help = "Example:\n  antimony import pyleus_topology.yaml -o topology.toml")]
    Import(storm::ImportArgs),

    /// Show what the newest complete checkpoint in a directory holds.
    ///
    /// Its boundary and number of workers, each spout's position, and for each stateful bolt
    /// how many keyed entries it keeps with a digest of them: two runs that reached the
    /// same state show the same digest, whatever their number of workers.
    #[command(
        after_help = "Examples:\n  antimony checkpoint /var/lib/antimony/checkpoints\n  antimony checkpoint ck --json | jq '.components[].keyed_entries'"
    )]
    Checkpoint(CheckpointArgs),
}

#[derive(Debug, Args)]
struct CheckpointArgs {
    /// The checkpoint directory (`--checkpoint-dir` of the run).
    dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Worker threads.
    #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The topology file (TOML).
    topology: PathBuf,
    /// Worker threads (default: the topology's `workers`, else 1).
    #[arg(long, short, value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    /// Read this file instead of the file spout's `path` (`-` for standard input).
    #[arg(long, short)]
    input: Option<PathBuf>,
    /// Write alerts here instead of the alert sink's `path` (`-` for standard output).
    #[arg(long, short)]
    alerts: Option<PathBuf>,
    /// Write records that were set aside (bad lines, panics) here, as JSON lines.
    #[arg(long)]
    dead_letter: Option<PathBuf>,
    /// Run as one of several processes (timely's cluster mode): `host:port` of every
    /// process, in process order, comma-separated. Start the same command once per entry.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "HOST:PORT,...",
        requires = "process"
    )]
    cluster: Vec<String>,
    /// This process's index in `--cluster`, from 0. Process 0 reads the input and writes
    /// the alerts; the others lend their workers.
    #[arg(long, requires = "cluster")]
    process: Option<usize>,
    /// How long to wait at start-up for every other process of the cluster before giving up
    /// (exit 7, naming the missing one).
    #[arg(long, value_name = "SECS", default_value_t = 60, requires = "cluster")]
    cluster_timeout: u64,
    /// Serve the Topology Master (dashboard, API, Prometheus `/metrics`) here, or `off`.
    /// Beyond loopback it needs a token.
    #[arg(
        long,
        env = "ANTIMONY_API",
        value_name = "HOST:PORT|off",
        default_value = run::ApiListen::DEFAULT,
        value_parser = run::ApiListen::parse
    )]
    api: run::ApiListen,
    /// The token the API requires on every call (required to listen beyond loopback).
    #[arg(
        long,
        env = "ANTIMONY_API_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    api_token: Option<String>,
    /// Checkpoint into this directory, and resume from the last complete checkpoint there:
    /// a run killed and started again with the same directory reads on where it stopped,
    /// with the same detector state, and writes each alert once (the topology's
    /// `[checkpoint]` table sets how often; every 10 s by default).
    #[arg(long, value_name = "DIR")]
    checkpoint_dir: Option<PathBuf>,
    /// Print no summary.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct ClusterArgs {
    /// Processes to start (each runs `--workers` threads).
    #[arg(long, short = 'n', value_parser = clap::value_parser!(u16).range(1..))]
    processes: u16,
    /// The topology file, then any `antimony run` option, given to every process.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "TOPOLOGY [RUN OPTIONS]"
    )]
    run: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
struct ParseArgs {
    /// Files to read (`-` for standard input).
    #[arg(required_unless_present = "list_formats")]
    files: Vec<PathBuf>,
    /// The format, instead of recognising it (see --list-formats).
    #[arg(long, short)]
    format: Option<String>,
    /// Name every format Antimony reads, and stop.
    #[arg(long)]
    list_formats: bool,
    /// Write records that could not be read here, as JSON lines.
    #[arg(long)]
    dead_letter: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Domain names to check.
    #[arg(required = true)]
    names: Vec<String>,
    /// Also match this block list (plain or hosts format); repeatable.
    #[arg(long = "blocklist", value_name = "FILE")]
    blocklists: Vec<PathBuf>,
    /// Leave out the bundled maltrail list.
    #[arg(long)]
    no_builtin_lists: bool,
    /// One JSON object per name instead of text.
    #[arg(long)]
    json: bool,
    /// Protected brands for the lookalike detector, one per line (`paypal.com paypal.me`).
    #[arg(long, value_name = "FILE")]
    brands: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ScoreArgs {
    /// Protected brands for the lookalike detector, one per line (`paypal.com paypal.me`).
    #[arg(long, value_name = "FILE")]
    brands: Option<PathBuf>,
    /// Also match this block list; repeatable.
    #[arg(long = "blocklist", value_name = "FILE")]
    blocklists: Vec<PathBuf>,
    /// Leave out the bundled maltrail list.
    #[arg(long)]
    no_builtin_lists: bool,
    /// Score at or above which a name is an alert even without a medium finding
    /// (default 90).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    threshold: Option<u8>,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// The data folder (the layout of `shared/data`).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// Also evaluate the trigram+logistic DGA candidate, for comparison.
    #[arg(long)]
    compare: bool,
    /// Leave out the DGA evaluation (the slow part).
    #[arg(long)]
    no_dga: bool,
    /// Leave out the in-stream evaluation (generated office traffic through the shipped
    /// topology).
    #[arg(long, conflicts_with = "stream_only")]
    no_stream: bool,
    /// Run the in-stream evaluation alone; exit with an error when its promise is broken
    /// (clean clients alerted medium+ above 0.1%, an infected client never alerted, a DGA
    /// burst alerted later than 5 minutes).
    #[arg(long)]
    stream_only: bool,
    /// Minutes of generated traffic for the in-stream evaluation.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1440))]
    stream_minutes: u32,
    /// Clients of the generated traffic.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    stream_clients: u32,
    /// Queries per second of the generated traffic (all clients together).
    #[arg(long, default_value_t = 200.0)]
    stream_qps: f64,
    /// Slow infections in the generated traffic (a few DGA look-ups every 15-30 minutes).
    #[arg(long, default_value_t = 6)]
    stream_slow: u32,
    /// Seed of the generated traffic.
    #[arg(long, default_value_t = 1)]
    stream_seed: u64,
    /// Keep the in-stream run's alerts in this file (JSON lines).
    #[arg(long, value_name = "FILE")]
    stream_alerts: Option<PathBuf>,
    /// Workers of the in-stream run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    stream_workers: u16,
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// The model to train.
    #[arg(value_enum)]
    model: TrainModel,
    /// The data folder (the layout of `shared/data`).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// Where to write the model (`-` for standard output).
    #[arg(long, default_value = "dga-model.txt")]
    out: PathBuf,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum TrainModel {
    /// The DGA classifier.
    Dga,
}

/// Runs the command line; returns the process exit code.
pub fn main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => demo::demo(usize::from(args.workers)),
        Command::Run(args) => run::run(args),
        Command::Cluster(args) => cluster::cluster(args),
        Command::Check(args) => check::check(args),
        Command::Score(args) => score::score(args),
        Command::Eval(args) => eval::eval(args),
        Command::Train(args) => train::train(args),
        Command::Parse(args) => parse::parse(args),
        Command::Gen(args) => r#gen::generate(args),
        Command::Status(args) => master::status(args),
        Command::Deactivate(args) => master::control(args, "/api/deactivate"),
        Command::Activate(args) => master::control(args, "/api/activate"),
        Command::Kill(args) => master::kill(args),
        Command::Alerts(args) => master::alerts(args),
        Command::Report(args) => report::report(args),
        Command::Components => {
            print!("{}", antimony_components::catalogue::components_text());
            Ok(())
        }
        Command::Validate(args) => storm::validate(&args),
        Command::Import(args) => storm::import(args),
        Command::Checkpoint(args) => {
            let summary = antimony_engine::runtime::checkpoint::summary(&args.dir)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
                return Ok(());
            }
            print!("{}: {summary}", args.dir.display());
            Ok(())
        }
    }
}
