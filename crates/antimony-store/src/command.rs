//! What `antimony alerts --store` and `antimony report` do, for the binary, which only
//! parses their arguments.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use crate::alerts_file::{self, Unreadable};
use crate::report::{ReportInput, render};
use crate::time::now_micros;
use crate::{Filter, FilterText, Location, Store, StoreError, output};

/// How `alerts --store` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A table for people.
    Table,
    /// The alerts' JSON lines, as the alerts file has them.
    Json,
    /// CSV (RFC 4180) with a header row.
    Csv,
}

/// Where a report's alerts come from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A store: a SQLite file or a PostgreSQL URL.
    Store(&'a str),
    /// An alerts file (JSON lines).
    AlertsFile(&'a Path),
}

/// Why a command failed, for a person.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A filter does not parse.
    #[error("{0}")]
    Filter(String),
    /// The store cannot be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
}

/// `antimony alerts --store`: the alerts that pass `filters`, oldest first, to `out`.
/// Returns a line for standard error with the table (how many shown, of how many), or
/// `None`.
pub fn alerts(
    store: &str,
    filters: &FilterText<'_>,
    format: Format,
    out: &mut impl Write,
) -> Result<Option<String>, CommandError> {
    let filter = Filter::parse(filters, now_micros()).map_err(CommandError::Filter)?;
    let location = Location::parse(store);
    let mut store = Store::open_existing(&location)?;
    let alerts = store.query(&filter)?;
    let io_error = |source| CommandError::Io {
        path: "standard output".to_owned(),
        source,
    };
    match format {
        Format::Json => output::write_json(&alerts, out).map_err(io_error)?,
        Format::Csv => output::write_csv(&alerts, &mut *out).map_err(io_error)?,
        Format::Table => {
            out.write_all(output::table(&alerts).as_bytes())
                .map_err(io_error)?;
            let matching = store.count(&filter)?;
            return Ok(Some(format!(
                "{} of {matching} matching alerts in {}{}",
                alerts.len(),
                location.display(),
                if (alerts.len() as u64) < matching {
                    " (the newest; --limit shows more)"
                } else {
                    ""
                }
            )));
        }
    }
    Ok(None)
}

/// `antimony report`: writes the page for the alerts of `source` that pass `filters` to
/// `out`; returns what it did, for standard error (with the unreadable lines of an alerts
/// file, if any).
pub fn report(
    source: Source<'_>,
    filters: &FilterText<'_>,
    out: &Path,
) -> Result<String, CommandError> {
    let now = now_micros();
    let filter = Filter {
        limit: None,
        ..Filter::parse(filters, now).map_err(CommandError::Filter)?
    };
    let (name, alerts, unreadable): (String, _, Vec<Unreadable>) = match source {
        Source::Store(store) => {
            let location = Location::parse(store);
            let alerts = Store::open_existing(&location)?.query(&filter)?;
            (format!("store {}", location.display()), alerts, Vec::new())
        }
        Source::AlertsFile(path) => {
            let read = alerts_file::read(path).map_err(|source| CommandError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let mut alerts: Vec<_> = read
                .alerts
                .into_iter()
                .filter(|a| filter.matches(a))
                .collect();
            alerts.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.id.cmp(&b.id)));
            (
                format!("alerts file {}", path.display()),
                alerts,
                read.unreadable,
            )
        }
    };
    let page = render(&ReportInput {
        source: &name,
        filters: &describe(filters),
        generated: now,
        alerts: &alerts,
        unreadable: &unreadable,
    });
    std::fs::write(out, page).map_err(|source| CommandError::Io {
        path: out.display().to_string(),
        source,
    })?;
    let mut said = format!(
        "wrote {} ({} alerts from {name})",
        out.display(),
        alerts.len()
    );
    if let Some(first) = unreadable.first() {
        let _ = write!(
            said,
            "; {} lines are not alerts and were left out, the first {}: {}",
            unreadable.len(),
            first.location,
            first.reason
        );
    }
    Ok(said)
}

/// The filters for the page's header (`since 2h, severity high`).
fn describe(filters: &FilterText<'_>) -> String {
    [
        ("since", filters.since),
        ("until", filters.until),
        ("client", filters.client),
        ("domain", filters.domain),
        ("detector", filters.detector),
        ("severity at least", filters.min_severity),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| format!("{name} {v}")))
    .collect::<Vec<_>>()
    .join(", ")
}
