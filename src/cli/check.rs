//! `antimony check`: every stateless detector's verdict on names, with reasons.

use std::path::PathBuf;

use antimony_components::detect::explain::NameVerdict;
use antimony_detect::Detectors;
use antimony_detect::config::{DetectConfig, ListConfig};

use super::CheckArgs;
use antimony_components::detect as dns_detect;

pub(super) fn check(args: CheckArgs) -> anyhow::Result<()> {
    let config = detect_config(
        &args.blocklists,
        args.no_builtin_lists,
        args.brands.as_ref(),
    );
    let cwd = std::env::current_dir()?;
    let (detectors, _) = Detectors::build(&config, |path| dns_detect::read(&cwd, path))?;
    for name in &args.names {
        let verdict = NameVerdict::of(&detectors, name)
            .map_err(|e| anyhow::anyhow!("`{name}` is not a domain name: {e}"))?;
        if args.json {
            println!("{}", verdict.to_json());
        } else {
            print!("{}", verdict.to_text());
        }
    }
    Ok(())
}

/// The detector configuration of `check` and `score`: the bundled maltrail list unless
/// left out, extra block lists named after their files, and protected brands.
pub(super) fn detect_config(
    blocklists: &[PathBuf],
    no_builtin_lists: bool,
    brands: Option<&PathBuf>,
) -> DetectConfig {
    let mut config = DetectConfig::default();
    if !no_builtin_lists {
        config
            .blocklists
            .push(list("maltrail", PathBuf::from("builtin:maltrail")));
    }
    for path in blocklists {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        config.blocklists.push(list(&name, path.clone()));
    }
    config.lookalike.brands_path = brands.cloned();
    config
}

fn list(name: &str, path: PathBuf) -> ListConfig {
    ListConfig::new(name, path)
}
