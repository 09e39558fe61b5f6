//! `antimony report`, and the alert filters it shares with `antimony alerts`.

use std::path::PathBuf;

use antimony_store::FilterText;
use antimony_store::command::{self, Source};
use clap::Args;

/// Which alerts (every filter given must hold).
#[derive(Debug, Args)]
pub(super) struct Filters {
    /// Only since this time: a duration back from now (`90s`, `10m`, `2h`, `1d`), Unix
    /// seconds, or RFC 3339 (a store's event time; a running topology's is arrival).
    #[arg(long)]
    pub since: Option<String>,
    /// Only before this time (as --since; not from a running topology).
    #[arg(long)]
    pub until: Option<String>,
    /// Only this detector's.
    #[arg(long)]
    pub detector: Option<String>,
    /// Only about this client address.
    #[arg(long)]
    pub client: Option<String>,
    /// Only about this domain or names under it; `=NAME`: that name only (not from a topology).
    #[arg(long)]
    pub domain: Option<String>,
    /// Only at least this severe (info, low, medium, high, critical).
    #[arg(long)]
    pub severity: Option<String>,
}

impl Filters {
    pub(super) fn text(&self, limit: Option<usize>) -> FilterText<'_> {
        FilterText {
            since: self.since.as_deref(),
            until: self.until.as_deref(),
            client: self.client.as_deref(),
            domain: self.domain.as_deref(),
            detector: self.detector.as_deref(),
            min_severity: self.severity.as_deref(),
            limit,
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct ReportArgs {
    /// The alert store: a SQLite file or a postgres:// URL.
    #[arg(long, value_name = "FILE|URL", required_unless_present = "alerts")]
    store: Option<String>,
    /// An alerts file (JSON lines, as `alert_file` writes them), instead of a store.
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    alerts: Option<PathBuf>,
    /// Where to write the page.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    filters: Filters,
}

pub(super) fn report(args: ReportArgs) -> anyhow::Result<()> {
    let source = match (&args.store, &args.alerts) {
        (Some(store), _) => Source::Store(store),
        (None, Some(file)) => Source::AlertsFile(file),
        (None, None) => anyhow::bail!("give --store or --alerts"),
    };
    eprintln!(
        "antimony: {}",
        command::report(source, &args.filters.text(None), &args.out)?
    );
    Ok(())
}
