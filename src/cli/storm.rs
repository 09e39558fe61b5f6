//! `antimony validate` and `antimony import` (the work is in `antimony_components`).

use std::path::PathBuf;

use antimony_engine::TopologyError;

#[derive(Debug, clap::Args)]
pub(super) struct ValidateArgs {
    /// The topology file (TOML).
    topology: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(super) struct ImportArgs {
    /// The pyleus or Flux topology (YAML).
    yaml: PathBuf,
    /// Where to write the TOML topology (`-`: standard output).
    #[arg(long, short, default_value = "-")]
    output: PathBuf,
}

pub(super) fn validate(args: &ValidateArgs) -> anyhow::Result<()> {
    let plan = antimony_components::validate::validate(&args.topology).map_err(|errors| {
        for error in &errors[..errors.len().saturating_sub(1)] {
            eprintln!("antimony: error: {error}");
        }
        errors
            .into_iter()
            .last()
            .unwrap_or(TopologyError::topology("not valid"))
    })?;
    print!("{plan}");
    Ok(())
}

pub(super) fn import(args: ImportArgs) -> anyhow::Result<()> {
    let imported = antimony_components::import::import_file(&args.yaml)?;
    imported
        .notes
        .iter()
        .for_each(|n| eprintln!("antimony: note: {n}"));
    match args.output.as_os_str() == "-" {
        true => print!("{}", imported.toml),
        false => std::fs::write(&args.output, &imported.toml)?,
    }
    Ok(())
}
