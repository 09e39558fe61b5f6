//! `antimony eval`: the detectors measured on labelled data (the reports are the lab's).

use std::path::Path;

use antimony_engine::TopologyDecl;
use antimony_lab::{report, stream as eval_stream};
use anyhow::Context as _;

use super::EvalArgs;
use super::run::{Overrides, execute};
use crate::assets::DEMO_FILES;

pub(super) fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let data = args.data.as_path();
    if args.stream_only {
        let figures = stream(&args)?;
        print!("{}", figures.text);
        anyhow::ensure!(
            figures.broken.is_empty(),
            "the in-stream promise is broken: {}",
            figures.broken.join("; ")
        );
        return Ok(());
    }
    if !args.no_dga {
        eprintln!("DGA: training 22 models per candidate (leave-families-out)...");
        let text = report::dga(data, args.compare, |family| eprint!("{family} "))?;
        eprintln!();
        print!("{text}");
    }
    let config = super::check::detect_config(&[], false, None);
    let cwd = std::env::current_dir()?;
    let (detectors, _) = antimony_detect::Detectors::build(&config, |path| {
        antimony_components::detect::read(&cwd, path)
    })?;
    print!("{}", report::verdict(data, &detectors)?);
    print!("{}", report::lookalikes(data)?);
    print!("{}", report::lists(data)?);
    if !args.no_stream {
        print!("{}", stream(&args)?.text);
    }
    Ok(())
}

fn stream(args: &EvalArgs) -> anyhow::Result<eval_stream::Figures> {
    anyhow::ensure!(
        args.stream_qps.is_finite() && args.stream_qps > 0.0,
        "--stream-qps must be positive"
    );
    eprintln!(
        "in stream: {} minutes of generated traffic through the shipped topology...",
        args.stream_minutes
    );
    let eval = eval_stream::StreamEval {
        minutes: args.stream_minutes,
        clients: args.stream_clients,
        qps: args.stream_qps,
        slow_infections: args.stream_slow,
        seed: args.stream_seed,
        keep_alerts: args.stream_alerts.clone(),
    };
    let workers = usize::from(args.stream_workers).max(1);
    eval_stream::evaluate(&args.data, &eval, |log, alerts| {
        run_shipped(log, alerts, workers)
    })
}

/// Runs `topologies/dns-threats.toml` as shipped (laid out as in the repository, so its
/// relative paths hold) over the Windows DNS log `log`, writing its alerts to `alerts`.
fn run_shipped(log: &Path, alerts: &Path, workers: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    for (path, text) in DEMO_FILES {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let decl = TopologyDecl::from_path(&dir.path().join("topologies/dns-threats.toml"))?;
    let overrides = Overrides {
        workers: Some(workers),
        input: Some(log.to_owned()),
        alerts: Some(alerts.to_owned()),
        ..Overrides::default()
    };
    execute(decl, &overrides)?;
    Ok(())
}
