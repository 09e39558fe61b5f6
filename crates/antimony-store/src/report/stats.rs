//! What the report counts.

use std::collections::{BTreeMap, BTreeSet};

use crate::row::{StoredAlert, severity_rank};

/// Per severity, indexed by rank (`info` 0 to `critical` 4).
pub type BySeverity = [u64; 5];

/// The counts behind a report.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Alerts.
    pub alerts: u64,
    /// Distinct client addresses.
    pub clients: usize,
    /// Distinct domains.
    pub domains: usize,
    /// The first and last alert's time.
    pub span: Option<(i64, i64)>,
    /// Alerts per severity.
    pub by_severity: BySeverity,
    /// Alerts per detector and severity, by detector name.
    pub by_detector: BTreeMap<String, BySeverity>,
    /// The clients with the most alerts: (client, per severity), most first.
    pub top_clients: Vec<(String, BySeverity)>,
    /// The domains with the most alerts.
    pub top_domains: Vec<(String, BySeverity)>,
}

/// How many top clients and domains a report lists.
pub const TOP: usize = 10;

impl Stats {
    /// Counts `alerts`.
    pub fn of(alerts: &[StoredAlert]) -> Self {
        let mut stats = Stats::default();
        let mut clients: BTreeMap<&str, BySeverity> = BTreeMap::new();
        let mut domains: BTreeMap<&str, BySeverity> = BTreeMap::new();
        for a in alerts {
            let rank = severity_rank(a.severity) as usize;
            stats.alerts += 1;
            stats.by_severity[rank] += 1;
            stats.by_detector.entry(a.detector.clone()).or_default()[rank] += 1;
            clients
                .entry(a.client.as_deref().unwrap_or("(unknown)"))
                .or_default()[rank] += 1;
            domains.entry(&a.domain).or_default()[rank] += 1;
            stats.span = Some(match stats.span {
                None => (a.ts, a.ts),
                Some((first, last)) => (first.min(a.ts), last.max(a.ts)),
            });
        }
        stats.clients = alerts
            .iter()
            .filter_map(|a| a.client.as_deref())
            .collect::<BTreeSet<_>>()
            .len();
        stats.domains = domains.len();
        stats.top_clients = top(clients);
        stats.top_domains = top(domains);
        stats
    }
}

/// The [`TOP`] entries with the most alerts (ties by name, so the page is the same for the
/// same alerts).
fn top(counts: BTreeMap<&str, BySeverity>) -> Vec<(String, BySeverity)> {
    let mut entries: Vec<(&str, BySeverity)> = counts.into_iter().collect();
    entries.sort_by(|a, b| {
        let total = |e: &BySeverity| e.iter().sum::<u64>();
        total(&b.1).cmp(&total(&a.1)).then_with(|| a.0.cmp(b.0))
    });
    entries
        .into_iter()
        .take(TOP)
        .map(|(name, counts)| (name.to_owned(), counts))
        .collect()
}
