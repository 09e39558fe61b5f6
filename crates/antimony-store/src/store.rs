//! Opening a store, writing batches, retention and queries, on SQLite or PostgreSQL.
//!
//! Both run the same SQL ([`crate::schema`], the filters' `WHERE` clause): parameters are
//! written `$1`, `$2`... which PostgreSQL numbers and SQLite takes as names bound in order of
//! first use. What differs is how a connection is set up and how rows are read, below.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::OpenFlags;

use crate::filter::{Filter, Param};
use crate::row::{StoredAlert, severity_named, severity_rank};
use crate::schema;

/// How long a SQLite connection waits for another's lock (the writer's transaction) before
/// giving up: queries run while a topology writes.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a store is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user:password@host:port/db`; without a
    /// password, `PGPASSWORD` gives it; `?sslmode=require` for TLS, the certificate verified).
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL names a server; anything else a SQLite file.
    pub fn parse(text: &str) -> Self {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(text.to_owned())
        } else {
            Location::Sqlite(PathBuf::from(text))
        }
    }

    /// The location for messages and logs: a URL's password is never shown.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// A PostgreSQL URL with its password (and any `password=` parameter) replaced by `***`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = tail
        .split('&')
        .map(|part| match part.find("password=") {
            Some(i) => format!("{}password=***", &part[..i]),
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{scheme}://{authority}{tail}")
}

/// What went wrong with a store, and which store (its password never shown).
#[derive(Debug, thiserror::Error)]
#[error("alert store {store}: {what}")]
pub struct StoreError {
    /// The store, as [`Location::display`] shows it.
    pub store: String,
    /// What went wrong.
    pub what: String,
}

/// How many alerts to keep. Applied by [`Store::apply_retention`], oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Alerts older than this (microseconds) before the newest stored alert go. Age counts
    /// in event time, as every window in Antimony does: replaying last year's logs keeps
    /// them, and a quiet network keeps its last alerts.
    pub max_age: Option<i64>,
    /// At most this many alerts.
    pub max_alerts: Option<u64>,
    /// At most about this many bytes of database (SQLite only): pages in use, after which
    /// freed pages are given back to the file system.
    pub max_bytes: Option<u64>,
}

impl Retention {
    /// Whether anything is to be kept from growing.
    pub fn is_set(&self) -> bool {
        self.max_age.is_some() || self.max_alerts.is_some() || self.max_bytes.is_some()
    }
}

/// How many alerts one application of retention removed, by rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Older than `max_age`.
    pub by_age: u64,
    /// Beyond `max_alerts`.
    pub by_count: u64,
    /// To bring the file under `max_bytes`.
    pub by_size: u64,
}

enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

/// An open alert store; see the [crate docs](crate).
pub struct Store {
    backend: Backend,
    name: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("name", &self.name).finish()
    }
}

impl Store {
    /// Opens the store, creating the file (SQLite) and the tables when missing: what a
    /// sink does.
    pub fn open(location: &Location) -> Result<Self, StoreError> {
        Self::connect(location, true)
    }

    /// Opens a store that must exist already, with its tables, to read: what a query does
    /// (a mistyped path is an error, not a new empty store; a SQLite file is opened
    /// read-only).
    pub fn open_existing(location: &Location) -> Result<Self, StoreError> {
        Self::connect(location, false)
    }

    fn connect(location: &Location, create: bool) -> Result<Self, StoreError> {
        let name = location.display();
        let fail = |what: String| StoreError {
            store: name.clone(),
            what,
        };
        let backend = match location {
            Location::Sqlite(path) => Backend::Sqlite(open_sqlite(path, create).map_err(fail)?),
            Location::Postgres(url) => {
                let tls = crate::tls::read_url(url);
                let mut config: postgres::Config = tls
                    .url
                    .parse()
                    .map_err(|e| fail(format!("not a PostgreSQL URL: {}", chain(&e))))?;
                // As libpq does: a password left out of the URL (so out of topology files
                // and command lines) is taken from PGPASSWORD.
                if config.get_password().is_none()
                    && let Some(password) = std::env::var_os("PGPASSWORD")
                {
                    config.password(password.as_encoded_bytes());
                }
                let client = if tls.tls {
                    let connector =
                        crate::tls::connector(tls.root_cert.as_deref()).map_err(&fail)?;
                    config.connect(connector)
                } else {
                    config.connect(postgres::NoTls)
                }
                .map_err(|e| fail(format!("cannot connect: {}", chain(&e))))?;
                Backend::Postgres(Box::new(client))
            }
        };
        let mut store = Store { backend, name };
        if create {
            store.batch(schema::CREATE)?;
        }
        store.check_version(create)?;
        Ok(store)
    }

    /// The store's name for messages (password hidden).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn error(&self, what: impl std::fmt::Display) -> StoreError {
        StoreError {
            store: self.name.clone(),
            what: what.to_string(),
        }
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let result = match &mut self.backend {
            Backend::Sqlite(c) => c.execute_batch(sql).map_err(|e| e.to_string()),
            Backend::Postgres(c) => c.batch_execute(sql).map_err(|e| chain(&e)),
        };
        result.map_err(|e| self.error(e))
    }

    /// Checks (and on a new store, writes) the schema version.
    fn check_version(&mut self, create: bool) -> Result<(), StoreError> {
        let version = self
            .scalar("SELECT MAX(version) FROM antimony_schema", &[])
            .map_err(|e| {
                self.error(format!(
                    "not an Antimony alert store ({}); a topology's `alert_store` sink creates one",
                    e.what
                ))
            })?;
        match version {
            None if create => {
                self.execute(
                    "INSERT INTO antimony_schema (version) VALUES ($1)",
                    &[Param::Int(schema::VERSION)],
                )?;
                Ok(())
            }
            None => Err(self.error("not an Antimony alert store (no schema version)")),
            Some(v) if v == schema::VERSION => Ok(()),
            Some(v) => Err(self.error(format!(
                "schema version {v}, this Antimony reads version {}: use the Antimony that wrote it",
                schema::VERSION
            ))),
        }
    }

    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, StoreError> {
        let result = match &mut self.backend {
            Backend::Sqlite(c) => c
                .execute(
                    sql,
                    rusqlite::params_from_iter(params.iter().map(sqlite_value)),
                )
                .map(|n| n as u64)
                .map_err(|e| e.to_string()),
            Backend::Postgres(c) => c.execute(sql, &pg_params(params)).map_err(|e| chain(&e)),
        };
        result.map_err(|e| self.error(e))
    }

    /// The first column of the first row, `None` when it is NULL or there is no row.
    fn scalar(&mut self, sql: &str, params: &[Param]) -> Result<Option<i64>, StoreError> {
        let result = match &mut self.backend {
            Backend::Sqlite(c) => c
                .query_row(
                    sql,
                    rusqlite::params_from_iter(params.iter().map(sqlite_value)),
                    |row| row.get::<_, Option<i64>>(0),
                )
                .map_err(|e| e.to_string()),
            Backend::Postgres(c) => c
                .query_opt(sql, &pg_params(params))
                .map_err(|e| chain(&e))
                .and_then(|row| match row {
                    Some(row) => row.try_get::<_, Option<i64>>(0).map_err(|e| chain(&e)),
                    None => Ok(None),
                }),
        };
        result.map_err(|e| self.error(e))
    }

    /// Writes a batch of alerts in one transaction; returns how many were new (an id
    /// stored already is left as it is).
    pub fn insert(&mut self, alerts: &[StoredAlert]) -> Result<u64, StoreError> {
        if alerts.is_empty() {
            return Ok(0);
        }
        let result = match &mut self.backend {
            Backend::Sqlite(c) => insert_sqlite(c, alerts).map_err(|e| e.to_string()),
            Backend::Postgres(c) => insert_postgres(c, alerts).map_err(|e| chain(&e)),
        };
        result.map_err(|e| self.error(format!("cannot store alerts: {e}")))
    }

    /// Makes what was written durable beyond a power cut (SQLite: the write-ahead log is
    /// checkpointed into the database; a PostgreSQL commit already is).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        let result = match &mut self.backend {
            Backend::Sqlite(c) => c
                .query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))
                .map_err(|e| e.to_string()),
            Backend::Postgres(_) => Ok(()),
        };
        result.map_err(|e| self.error(format!("cannot make the store durable: {e}")))
    }

    /// How many alerts pass the filter (its `limit` aside).
    pub fn count(&mut self, filter: &Filter) -> Result<u64, StoreError> {
        let (clause, params) = filter.where_clause();
        let n = self.scalar(&format!("SELECT COUNT(*) FROM alerts{clause}"), &params)?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    /// The alerts that pass the filter, oldest first (by time, then id); with a `limit`,
    /// the newest that many.
    pub fn query(&mut self, filter: &Filter) -> Result<Vec<StoredAlert>, StoreError> {
        let (clause, mut params) = filter.where_clause();
        let cols = schema::COLUMNS;
        let sql = match filter.limit {
            Some(limit) => {
                params.push(Param::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
                format!(
                    "SELECT {cols} FROM (SELECT {cols} FROM alerts{clause} ORDER BY ts DESC, id DESC LIMIT ${}) AS newest ORDER BY ts, id",
                    params.len()
                )
            }
            None => format!("SELECT {cols} FROM alerts{clause} ORDER BY ts, id"),
        };
        let rows = match &mut self.backend {
            Backend::Sqlite(c) => query_sqlite(c, &sql, &params).map_err(|e| e.to_string()),
            Backend::Postgres(c) => query_postgres(c, &sql, &params),
        };
        let rows = rows.map_err(|e| self.error(format!("cannot read alerts: {e}")))?;
        rows.into_iter()
            .map(|row| row.map_err(|e| self.error(e)))
            .collect()
    }

    /// Removes the oldest alerts beyond the retention's limits (age first, then count,
    /// then size); says how many each rule removed. Meant to run now and then, not per
    /// insert: each rule is a query over the store.
    pub fn apply_retention(&mut self, retention: &Retention) -> Result<Removed, StoreError> {
        let mut removed = Removed::default();
        if let Some(age) = retention.max_age {
            removed.by_age = self.execute(
                "DELETE FROM alerts WHERE ts < (SELECT MAX(ts) FROM alerts) - $1",
                &[Param::Int(age)],
            )?;
        }
        if let Some(max) = retention.max_alerts {
            let rows = self.count(&Filter::default())?;
            if rows > max {
                removed.by_count = self.remove_oldest(rows - max)?;
            }
        }
        if let Some(max) = retention.max_bytes {
            removed.by_size = self.shrink_to(max)?;
        }
        Ok(removed)
    }

    fn remove_oldest(&mut self, n: u64) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts ORDER BY ts, id LIMIT $1)",
            &[Param::Int(i64::try_from(n).unwrap_or(i64::MAX))],
        )
    }

    /// The bytes of database pages in use (SQLite).
    fn bytes_used(&mut self) -> Result<u64, StoreError> {
        let pages = self.scalar("PRAGMA page_count", &[])?.unwrap_or(0);
        let free = self.scalar("PRAGMA freelist_count", &[])?.unwrap_or(0);
        let size = self.scalar("PRAGMA page_size", &[])?.unwrap_or(0);
        Ok((pages - free).max(0) as u64 * size.max(0) as u64)
    }

    /// Removes the oldest alerts until the pages in use fit in `max` bytes, then gives the
    /// freed pages back (the file shrinks). Rows per page vary, so each round removes the
    /// share of rows by which the store is over 90% of `max`, and looks again.
    fn shrink_to(&mut self, max: u64) -> Result<u64, StoreError> {
        if !matches!(self.backend, Backend::Sqlite(_)) {
            return Err(self.error("`max_bytes` applies to a SQLite store only"));
        }
        let mut removed = 0;
        for _ in 0..32 {
            let used = self.bytes_used()?;
            if used <= max {
                break;
            }
            let rows = self.count(&Filter::default())?;
            if rows == 0 {
                break;
            }
            let target = max / 10 * 9;
            let share = (used - target) as f64 / used as f64;
            let n = ((rows as f64 * share).ceil() as u64).clamp(1, rows);
            removed += self.remove_oldest(n)?;
        }
        if removed > 0
            && let Backend::Sqlite(c) = &self.backend
        {
            incremental_vacuum(c)
                .map_err(|e| self.error(format!("cannot give freed pages back: {e}")))?;
        }
        Ok(removed)
    }
}

/// Opens a SQLite store: write-ahead log, so queries run while a topology writes; freed
/// pages given back on `incremental_vacuum`; commits synced at checkpoints
/// (`synchronous=NORMAL`: a crashed process loses nothing committed, [`Store::sync`] makes
/// it survive a power cut).
fn open_sqlite(path: &Path, create: bool) -> Result<rusqlite::Connection, String> {
    if !create {
        // A query only reads: read-only, so an analyst needs no write access to the file,
        // and WAL lets it read while a topology writes.
        if !path.is_file() {
            return Err("no such file".to_owned());
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(|e| e.to_string())?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
        return Ok(conn);
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(|e| e.to_string())?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
    // auto_vacuum takes effect only before the first table is made (a new file).
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL")
        .map_err(|e| e.to_string())?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!(
            "cannot use a write-ahead log (journal mode {mode}): is it on a network file system?"
        ));
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Gives the free pages back to the file system. The pragma frees pages as it is stepped,
/// so it is stepped to its end.
fn incremental_vacuum(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let mut statement = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut rows = statement.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

fn sqlite_value(param: &Param) -> rusqlite::types::Value {
    match param {
        Param::Int(i) => rusqlite::types::Value::Integer(*i),
        Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

fn pg_params(params: &[Param]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Param::Int(i) => i as &(dyn postgres::types::ToSql + Sync),
            Param::Text(s) => s as &(dyn postgres::types::ToSql + Sync),
        })
        .collect()
}

/// An error and its causes in one line (PostgreSQL's own message is a cause of `db error`).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn insert_sqlite(conn: &mut rusqlite::Connection, alerts: &[StoredAlert]) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let mut new = 0;
    {
        let mut insert = tx.prepare_cached(schema::INSERT)?;
        for a in alerts {
            new += insert.execute(rusqlite::params![
                a.id,
                a.ts,
                a.detector,
                severity_rank(a.severity),
                a.severity.as_str(),
                a.score,
                a.client,
                a.domain,
                a.registered_domain,
                a.reason,
                a.json
            ])? as u64;
        }
    }
    tx.commit()?;
    Ok(new)
}

fn insert_postgres(
    client: &mut postgres::Client,
    alerts: &[StoredAlert],
) -> Result<u64, postgres::Error> {
    let mut tx = client.transaction()?;
    let insert = tx.prepare(schema::INSERT)?;
    let mut new = 0;
    for a in alerts {
        new += tx.execute(
            &insert,
            &[
                &a.id,
                &a.ts,
                &a.detector,
                &severity_rank(a.severity),
                &a.severity.as_str(),
                &a.score,
                &a.client,
                &a.domain,
                &a.registered_domain,
                &a.reason,
                &a.json,
            ],
        )?;
    }
    tx.commit()?;
    Ok(new)
}

/// A row read back: an alert, or what is wrong with it.
type Row = Result<StoredAlert, String>;

fn stored(
    id: String,
    ts: i64,
    detector: String,
    severity: &str,
    score: i64,
    client: Option<String>,
    [domain, registered_domain, reason, json]: [String; 4],
) -> Row {
    let severity = severity_named(severity)
        .ok_or_else(|| format!("alert {id} has an unknown severity {severity:?}"))?;
    Ok(StoredAlert {
        id,
        ts,
        detector,
        severity,
        score,
        client,
        domain,
        registered_domain,
        reason,
        json,
    })
}

fn query_sqlite(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Param],
) -> rusqlite::Result<Vec<Row>> {
    let mut statement = conn.prepare(sql)?;
    let rows = statement.query_map(
        rusqlite::params_from_iter(params.iter().map(sqlite_value)),
        |r| {
            let severity: String = r.get(3)?;
            Ok(stored(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                &severity,
                r.get(4)?,
                r.get(5)?,
                [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?],
            ))
        },
    )?;
    rows.collect()
}

fn query_postgres(
    client: &mut postgres::Client,
    sql: &str,
    params: &[Param],
) -> Result<Vec<Row>, String> {
    let rows = client
        .query(sql, &pg_params(params))
        .map_err(|e| chain(&e))?;
    rows.iter()
        .map(|r| {
            let read = || -> Result<Row, postgres::Error> {
                let severity: String = r.try_get(3)?;
                Ok(stored(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    &severity,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    [r.try_get(6)?, r.try_get(7)?, r.try_get(8)?, r.try_get(9)?],
                ))
            };
            read().map_err(|e| chain(&e))
        })
        .collect()
}
