//! `antimony eval`: the detectors measured on labelled data (the reports are the lab's).

use antimony_lab::report;

use super::EvalArgs;

pub(super) fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let data = args.data.as_path();
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
    Ok(())
}
