//! `antimony run`: a topology file, with command-line overrides, and a summary.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use antimony_core::{Feed, Metrics};
use antimony_engine::declare::Role;
use antimony_engine::{
    ClusterConfig, DeadLetterOutput, RunConfig, RunReport, StopHandle, TopologyDecl,
};
use antimony_io::LineTarget;
use anyhow::{Context as _, bail};

use super::RunArgs;
use super::exit::Ending;
use antimony_components::registry;

/// Paths and settings the command line overrides.
#[derive(Debug, Default)]
pub(super) struct Overrides {
    pub workers: Option<usize>,
    pub input: Option<PathBuf>,
    pub alerts: Option<PathBuf>,
    pub dead_letter: Option<PathBuf>,
    pub cluster: Option<ClusterConfig>,
    /// Where the Topology Master's API listens, if anywhere.
    pub api: Option<antimony_web::ApiConfig>,
    /// Where checkpoints go (over the topology's `[checkpoint] dir`).
    pub checkpoint_dir: Option<PathBuf>,
}

pub(super) fn run(args: RunArgs) -> anyhow::Result<()> {
    let decl = TopologyDecl::from_path(&args.topology)?;
    let overrides = Overrides {
        workers: args.workers.map(usize::from),
        input: args.input,
        alerts: args.alerts,
        dead_letter: args.dead_letter,
        cluster: match args.process {
            Some(process) if process >= args.cluster.len() => bail!(
                "--process {process} is not an index of --cluster, which names {} processes",
                args.cluster.len()
            ),
            Some(process) => Some(ClusterConfig {
                connect_timeout: std::time::Duration::from_secs(args.cluster_timeout),
                ..ClusterConfig::new(process, args.cluster)
            }),
            None => None,
        },
        api: args.api.config(args.api_token),
        checkpoint_dir: args.checkpoint_dir,
    };
    let outcome = execute(decl, &overrides)?;
    if !args.quiet {
        eprint!("{}", summary(&outcome));
    }
    match Ending::of(&outcome.report) {
        Some(ending) => Err(ending.into()),
        None => Ok(()),
    }
}

/// Applies the overrides, validates the topology and runs it.
pub(super) fn execute(mut decl: TopologyDecl, overrides: &Overrides) -> anyhow::Result<Outcome> {
    if let Some(input) = &overrides.input {
        let path = command_line_path(input)?;
        override_path(&mut decl, Role::Spout, "file", "--input", &path)?;
    }
    if let Some(alerts) = &overrides.alerts {
        let path = command_line_path(alerts)?;
        override_path(&mut decl, Role::Bolt, "alert_file", "--alerts", &path)?;
    }
    let base_dir = decl.base_dir();
    let topology = decl.resolve(&registry())?;
    let workers = overrides.workers.or(decl.workers).unwrap_or(1).max(1);
    let dead_letter = match (&overrides.dead_letter, &decl.dead_letter) {
        (Some(path), _) => Some(target(path)),
        (None, Some(path)) => Some(target(&antimony_engine::registry::resolve_path(
            &base_dir, path,
        ))),
        (None, None) => None,
    };
    let checkpoint = checkpoint_config(&decl, overrides.checkpoint_dir.as_deref())?;
    let metrics = Metrics::new();
    let feed = Feed::watching(&[antimony_web::alerts::ALERT]);
    let config = RunConfig {
        workers,
        dead_letter: dead_letter.clone().map(dead_letter_output),
        cluster: overrides.cluster.clone(),
        base_dir,
        metrics: metrics.clone(),
        feed: feed.clone(),
        checkpoint,
        ..RunConfig::default()
    };
    let stop = StopHandle::default();
    let (process, processes) = overrides
        .cluster
        .as_ref()
        .map_or((0, 1), |c| (c.process, c.addresses.len()));
    // Started before the run, so that a port in use fails it before anything is read. In a
    // cluster, process 0 serves and the others report to it (antimony_web::cluster).
    let api = match (&overrides.api, &overrides.cluster) {
        (Some(api), Some(cluster)) if process > 0 => {
            let url = master_url(&cluster.addresses[0], api.addr.port());
            let master = antimony_web::client::Master::new(&url, api.token.clone());
            Api::Reporting(antimony_web::cluster::report_to(
                master,
                process,
                metrics.clone(),
                stop.clone(),
            ))
        }
        (Some(api), _) => {
            let server = antimony_web::serve(
                antimony_io::runtime::handle(),
                api.clone(),
                antimony_web::RunView {
                    plan: topology.plan(),
                    workers,
                    processes,
                    process,
                    metrics: metrics.clone(),
                    feed,
                    control: stop.clone(),
                },
            )?;
            eprintln!(
                "antimony: Topology Master at http://{} (dashboard, API, /metrics)",
                server.addr()
            );
            Api::Serving(server)
        }
        (None, _) => Api::Off,
    };
    super::live::stop_on_signals(stop.clone());
    let parser = decl
        .components_of_type(Role::Bolt, "dns_parse")
        .into_iter()
        .next();
    let progress = super::live::Progress::start(metrics, parser);
    let report = antimony_engine::run_with_stop(topology, config, stop);
    progress.finish();
    drop(api);
    let report = report.with_context(|| format!("topology `{}` stopped", decl.name))?;
    Ok(Outcome {
        report,
        workers,
        dead_letter,
        process: overrides
            .cluster
            .as_ref()
            .map(|c| (c.process, c.addresses.len())),
    })
}

/// The run's checkpoints: `--checkpoint-dir` (relative to the current directory) over the
/// topology's `[checkpoint]` table (relative to its file).
fn checkpoint_config(
    decl: &TopologyDecl,
    dir: Option<&Path>,
) -> anyhow::Result<Option<antimony_engine::runtime::checkpoint::CheckpointConfig>> {
    let table = decl.checkpoint.clone();
    let dir = match (dir, table.as_ref().and_then(|t| t.dir.as_deref())) {
        (Some(dir), _) => {
            std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))?
        }
        (None, Some(dir)) => antimony_engine::registry::resolve_path(&decl.base_dir(), dir),
        (None, None) if table.is_some() => {
            let error = antimony_engine::TopologyError::topology(
                "[checkpoint] needs a `dir` (or run with --checkpoint-dir DIR)",
            );
            return Err(match &decl.path {
                Some(path) => error.in_file(path, None).into(),
                None => error.into(),
            });
        }
        (None, None) => return Ok(None),
    };
    let config = table
        .unwrap_or_default()
        .config(dir)
        .map_err(|e| match &decl.path {
            Some(path) => e.in_file(path, None),
            None => e,
        })?;
    Ok(Some(config))
}

/// A finished run.
pub(super) struct Outcome {
    pub report: RunReport,
    pub workers: usize,
    pub dead_letter: Option<LineTarget>,
    /// This process's index and the number of processes, in cluster mode.
    pub process: Option<(usize, usize)>,
}

fn target(path: &Path) -> LineTarget {
    LineTarget::parse(&path.to_string_lossy())
}

/// The engine's dead-letter output, written as JSON lines through the I/O runtime.
pub(super) fn dead_letter_output(target: LineTarget) -> DeadLetterOutput {
    DeadLetterOutput::new(target.display(), move || {
        let writer = antimony_io::LineWriter::open(target.clone())?;
        Ok(Box::new(writer) as Box<dyn antimony_core::LineOutput>)
    })
}

/// A path given on the command line is relative to the current directory, not to the
/// topology file: make it absolute before it goes into the topology.
fn command_line_path(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        return Ok("-".to_owned());
    }
    let absolute =
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    Ok(absolute.to_string_lossy().into_owned())
}

fn override_path(
    decl: &mut TopologyDecl,
    role: Role,
    type_name: &str,
    flag: &str,
    path: &str,
) -> anyhow::Result<()> {
    let names = decl.components_of_type(role, type_name);
    match names.as_slice() {
        [name] => {
            decl.set_option(name, "path", path);
            Ok(())
        }
        [] => bail!(
            "{flag} needs a `{type_name}` component in topology `{}`, and it has none",
            decl.name
        ),
        _ => bail!(
            "{flag} is ambiguous: topology `{}` has {} `{type_name}` components ({}); edit their paths in the file",
            decl.name,
            names.len(),
            names.join(", ")
        ),
    }
}

/// What each component did, for a person.
pub(super) fn summary(outcome: &Outcome) -> String {
    let Outcome {
        report,
        workers,
        dead_letter,
        process,
    } = outcome;
    let workers = *workers;
    let place = match process {
        Some((index, count)) => {
            format!(" of process {index} (of {count}; counts are this process's)")
        }
        None => String::new(),
    };
    let mut out = format!(
        "{}: finished in {:.2} s on {workers} worker{}{place}\n",
        report.topology,
        report.elapsed.as_secs_f64(),
        if workers == 1 { "" } else { "s" }
    );
    out.push_str(&report.summary());
    let set_aside = report.dead_letters();
    if set_aside > 0 {
        match dead_letter {
            Some(target) => out.push_str(&format!(
                "  {set_aside} records set aside, written to {}\n",
                target.display()
            )),
            None => out.push_str(&format!(
                "  {set_aside} records set aside; rerun with --dead-letter FILE to see them and why\n"
            )),
        }
    }
    out
}

/// What this process does for the Topology Master while it runs; the API stops, or a last
/// report is sent, when it is dropped.
#[allow(dead_code, reason = "held for what its drop does, never read")]
enum Api {
    Off,
    Serving(antimony_web::ApiServer),
    Reporting(antimony_web::cluster::Reporter),
}

/// Process 0's API, which the other processes of a cluster report to: the host of the
/// first `--cluster` address, on the `--api` port.
fn master_url(first_process: &str, port: u16) -> String {
    let host = first_process
        .rsplit_once(':')
        .map_or(first_process, |(host, _)| host);
    format!("http://{host}:{port}")
}

/// `--api`: where the Topology Master listens, or `off`.
#[derive(Clone, Debug)]
pub(super) enum ApiListen {
    /// No API.
    Off,
    /// This address.
    At(SocketAddr),
}

impl ApiListen {
    /// The default: loopback only, on the port the lifecycle commands call by default.
    pub(super) const DEFAULT: &str = "127.0.0.1:8700";

    /// Parses `off` or `HOST:PORT` (a name such as `localhost:8700` is resolved).
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(ApiListen::Off);
        }
        text.to_socket_addrs()
            .map_err(|e| {
                format!("`{text}` is not `off` nor an address to listen on (HOST:PORT): {e}")
            })?
            .next()
            .map(ApiListen::At)
            .ok_or_else(|| format!("`{text}` resolves to no address"))
    }

    /// The API's configuration, with the token given (if any).
    pub(super) fn config(&self, token: Option<String>) -> Option<antimony_web::ApiConfig> {
        match self {
            ApiListen::Off => None,
            ApiListen::At(addr) => Some(antimony_web::ApiConfig { addr: *addr, token }),
        }
    }
}
