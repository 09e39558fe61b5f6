//! `alert_store`: a sink that writes alerts into an alert store (a SQLite file or a
//! PostgreSQL database, `antimony_store`), for `antimony alerts --store` and
//! `antimony report` to read, during the run or after it.
//!
//! Each epoch's alerts go in one transaction at the epoch's end. A checkpoint
//! ([`Bolt::snapshot`]) makes them durable first (SQLite's log is checkpointed into the
//! file), so it never holds an alert the store lacks; a run resumed from it writes again
//! what came after, with the same ids, which the store keeps once. A store that cannot be
//! opened or written fails the run as the JSON-lines sink does ([`Emitter::fail`]): the
//! alerts not stored become dead letters with the reason, counted. Retention (`max_age`,
//! `max_alerts`, `max_bytes`) runs at start, every `retention_secs` and at the end, not per
//! insert; what it removes is counted.
//!
//! Global-only: one instance (on worker 0) writes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use antimony_core::metrics::{Counter, CounterMetric};
use antimony_core::{Bolt, ConfigError, Context, Emitter};
use antimony_engine::{BoltSpec, Options, Registry};
use antimony_store::{Location, Retention, Store, StoredAlert};
use serde::Deserialize;

use crate::record::{ALERTS, Tuple};

/// Alerts newly stored.
pub const STORED: CounterMetric = CounterMetric::new(
    "antimony_store_alerts_written_total",
    "Alerts an alert_store sink wrote into its store.",
);
/// Alerts the store had already.
pub const DUPLICATES: CounterMetric = CounterMetric::new(
    "antimony_store_alerts_duplicate_total",
    "Alerts an alert_store sink found stored already (by id: what a resumed run wrote again).",
);
/// Alerts not stored.
pub const FAILED: CounterMetric = CounterMetric::new(
    "antimony_store_alerts_failed_total",
    "Alerts an alert_store sink could not store: set aside with the reason.",
);
/// Alerts removed for their age.
pub const EXPIRED: CounterMetric = CounterMetric::new(
    "antimony_store_alerts_expired_total",
    "Alerts retention removed for being older than max_age.",
);
/// Alerts removed for the store's size.
pub const TRIMMED: CounterMetric = CounterMetric::new(
    "antimony_store_alerts_trimmed_total",
    "Alerts retention removed, oldest first, to keep the store within max_alerts or max_bytes.",
);
/// Retention passes that failed.
pub const RETENTION_FAILURES: CounterMetric = CounterMetric::new(
    "antimony_store_retention_failures_total",
    "Retention passes that failed (the alerts stay; logged with the reason).",
);

/// Options of an `alert_store` sink.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSinkConfig {
    /// A SQLite file (relative to the topology file), created when missing.
    pub path: Option<String>,
    /// A PostgreSQL URL (`postgres://user:password@host/db`), instead of `path`.
    pub postgres: Option<String>,
    /// Remove alerts older than this before the newest (`30d`, `12h`).
    pub max_age: Option<String>,
    /// Keep at most this many alerts.
    pub max_alerts: Option<u64>,
    /// Keep the SQLite file within about this many bytes.
    pub max_bytes: Option<u64>,
    /// Seconds between retention passes (default 60).
    #[serde(default = "default_retention_secs")]
    pub retention_secs: u64,
}

fn default_retention_secs() -> u64 {
    60
}

/// Registers `alert_store`.
pub fn register(registry: &mut Registry<Tuple>) {
    registry.bolt(
        "alert_store",
        "stores alerts in SQLite (`path`) or PostgreSQL (`postgres` URL) for `antimony alerts --store` and `antimony report`; one transaction per epoch, ids make replays idempotent; retention by `max_age`, `max_alerts`, `max_bytes`",
        |options| {
            let config: StoreSinkConfig = options.parse()?;
            let (location, retention) = check(&config, options)?;
            let interval = Duration::from_secs(config.retention_secs);
            Ok(store_sink_bolt(location, retention, interval))
        },
    );
}

/// The `alert_store` sink writing to `location`, for topologies built in Rust.
pub fn store_sink_bolt(
    location: Location,
    retention: Retention,
    retention_every: Duration,
) -> BoltSpec<Tuple> {
    BoltSpec::new(&[ALERTS.kind], None, move |_| {
        StoreSink::new(location.clone(), retention.clone(), retention_every)
    })
    .global_only()
}

fn check(
    config: &StoreSinkConfig,
    options: &Options<'_>,
) -> Result<(Location, Retention), ConfigError> {
    let location = match (&config.path, &config.postgres) {
        (Some(path), None) => {
            let path: PathBuf = options.resolve_path(path);
            if let Some(dir) = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
            {
                return Err(options.error(
                    "path",
                    format!(
                        "cannot write `{}`: directory {} does not exist",
                        path.display(),
                        dir.display()
                    ),
                ));
            }
            Location::Sqlite(path)
        }
        (None, Some(url)) => match Location::parse(url) {
            location @ Location::Postgres(_) => location,
            Location::Sqlite(_) => {
                return Err(options.error("postgres", "must be a postgres:// or postgresql:// URL"));
            }
        },
        _ => {
            return Err(options.error(
                "path",
                "give exactly one of `path` (a SQLite file) and `postgres` (a URL)",
            ));
        }
    };
    let max_age = config
        .max_age
        .as_deref()
        .map(antimony_store::time::parse_duration)
        .transpose()
        .map_err(|e| options.error("max_age", e))?;
    if config.max_bytes.is_some() && matches!(location, Location::Postgres(_)) {
        return Err(options.error(
            "max_bytes",
            "applies to a SQLite store only (use max_alerts or max_age)",
        ));
    }
    if config.max_alerts == Some(0) || config.max_bytes == Some(0) {
        return Err(options.error(
            if config.max_alerts == Some(0) {
                "max_alerts"
            } else {
                "max_bytes"
            },
            "must be at least 1 (leave it out to keep everything)",
        ));
    }
    Ok((
        location,
        Retention {
            max_age,
            max_alerts: config.max_alerts,
            max_bytes: config.max_bytes,
        },
    ))
}

#[derive(Clone, Default)]
struct Counts {
    stored: Counter,
    duplicates: Counter,
    failed: Counter,
    expired: Counter,
    trimmed: Counter,
    retention_failures: Counter,
}

/// Writes each epoch's alerts into the store; see the module docs.
pub struct StoreSink {
    location: Location,
    retention: Retention,
    retention_every: Duration,
    store: Option<Store>,
    /// This epoch's alerts.
    epoch: Vec<StoredAlert>,
    /// Why the store cannot be written, once it cannot.
    failure: Option<String>,
    reported: bool,
    last_retention: Instant,
    counts: Counts,
}

impl StoreSink {
    /// A sink writing to `location`.
    pub fn new(location: Location, retention: Retention, retention_every: Duration) -> Self {
        StoreSink {
            location,
            retention,
            retention_every,
            store: None,
            epoch: Vec::new(),
            failure: None,
            reported: false,
            last_retention: Instant::now(),
            counts: Counts::default(),
        }
    }

    fn apply_retention(&mut self) {
        self.last_retention = Instant::now();
        let Some(store) = self.store.as_mut().filter(|_| self.retention.is_set()) else {
            return;
        };
        match store.apply_retention(&self.retention) {
            Ok(removed) => {
                self.counts.expired.add(removed.by_age);
                self.counts.trimmed.add(removed.by_count + removed.by_size);
                if removed != Default::default() {
                    tracing::info!(store = %store.name(), expired = removed.by_age, trimmed = removed.by_count + removed.by_size, "alert store retention");
                }
            }
            Err(e) => {
                // The alerts stay and the store still takes new ones: said and counted,
                // and tried again at the next pass.
                self.counts.retention_failures.inc();
                tracing::warn!("{e}");
            }
        }
    }

    /// Sets aside `alerts` with the failure, and tells the engine once.
    fn set_aside(&mut self, alerts: Vec<StoredAlert>, out: &mut Emitter<'_, Tuple>) {
        let Some(reason) = self.failure.clone() else {
            return;
        };
        for alert in alerts {
            self.counts.failed.inc();
            out.dead_letter(None, reason.clone(), alert.json);
        }
        if !self.reported {
            self.reported = true;
            out.fail(reason);
        }
    }
}

impl Bolt<Tuple> for StoreSink {
    fn on_start(&mut self, ctx: &Context) {
        // Global grouping: only worker 0 receives alerts, so only it opens the store.
        if ctx.worker != 0 {
            return;
        }
        self.counts = Counts {
            stored: ctx.counter(&STORED, &[]),
            duplicates: ctx.counter(&DUPLICATES, &[]),
            failed: ctx.counter(&FAILED, &[]),
            expired: ctx.counter(&EXPIRED, &[]),
            trimmed: ctx.counter(&TRIMMED, &[]),
            retention_failures: ctx.counter(&RETENTION_FAILURES, &[]),
        };
        match Store::open(&self.location) {
            Ok(store) => {
                tracing::info!(store = %store.name(), "storing alerts");
                self.store = Some(store);
                self.apply_retention();
            }
            Err(e) => self.failure = Some(e.to_string()),
        }
    }

    fn process(&mut self, record: &mut Tuple, _out: &mut Emitter<'_, Tuple>) {
        if let Tuple::Alert(alert) = record {
            self.epoch.push(StoredAlert::from_alert(alert));
        }
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, Tuple>) {
        let alerts = std::mem::take(&mut self.epoch);
        if alerts.is_empty() {
            if self.failure.is_some() {
                self.set_aside(alerts, out);
            }
            return;
        }
        match (self.failure.is_some(), self.store.as_mut()) {
            (false, Some(store)) => match store.insert(&alerts) {
                Ok(new) => {
                    self.counts.stored.add(new);
                    self.counts.duplicates.add(alerts.len() as u64 - new);
                }
                Err(e) => {
                    // The transaction rolled back: none of this epoch is stored.
                    self.failure = Some(e.to_string());
                    self.set_aside(alerts, out);
                }
            },
            _ => {
                self.failure
                    .get_or_insert_with(|| "the alert store is not open".to_owned());
                self.set_aside(alerts, out);
            }
        }
        if self.last_retention.elapsed() >= self.retention_every {
            self.apply_retention();
        }
    }

    /// Every epoch before the checkpoint is committed already; this makes it durable, so
    /// the checkpoint holds only alerts the store has. No state: ids make what a resumed
    /// run writes again harmless.
    fn snapshot(&mut self) -> Result<Option<antimony_core::State>, String> {
        if let Some(reason) = &self.failure {
            return Err(reason.clone());
        }
        if let Some(store) = self.store.as_mut() {
            store.sync().map_err(|e| e.to_string())?;
        }
        Ok(None)
    }

    fn on_close(&mut self, out: &mut Emitter<'_, Tuple>) {
        if self.failure.is_some() {
            let alerts = std::mem::take(&mut self.epoch);
            self.set_aside(alerts, out);
            return;
        }
        self.apply_retention();
        if let Some(store) = self.store.as_mut()
            && let Err(e) = store.sync()
        {
            self.failure = Some(e.to_string());
            self.set_aside(Vec::new(), out);
        }
    }
}
