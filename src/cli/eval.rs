//! `antimony eval`: the detectors measured on labelled data (the reports are the lab's).

use antimony_lab::report;

use super::{EvalArgs, eval_stream};

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
        workers: usize::from(args.stream_workers),
        keep_alerts: args.stream_alerts.clone(),
    };
    eval_stream::evaluate(&args.data, &eval)
}
