//! The store's schema, one text for SQLite and PostgreSQL.
//!
//! `alerts` holds one row per alert id: the id is stable (a replay of the same input gives
//! the same ids), so inserting with `ON CONFLICT (id) DO NOTHING` makes writing an alert
//! twice harmless. Times are integer microseconds (UTC); the severity is stored as its name
//! and as a rank (`info` 0 to `critical` 4) so "at least high" is one indexed comparison;
//! `json` is the alert's line exactly as the alerts file has it.

/// The version of the schema this code writes and reads.
pub const VERSION: i64 = 1;

/// The tables and indexes, created when missing.
pub const CREATE: &str = "
CREATE TABLE IF NOT EXISTS antimony_schema (
    version BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    ts BIGINT NOT NULL,
    detector TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,
    severity TEXT NOT NULL,
    score BIGINT NOT NULL,
    client TEXT,
    domain TEXT NOT NULL,
    registered_domain TEXT NOT NULL,
    reason TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts);
CREATE INDEX IF NOT EXISTS alerts_detector ON alerts (detector);
CREATE INDEX IF NOT EXISTS alerts_client ON alerts (client);
CREATE INDEX IF NOT EXISTS alerts_domain ON alerts (domain);
CREATE INDEX IF NOT EXISTS alerts_severity ON alerts (severity_rank);
";

/// One alert in, nothing if its id is stored already.
pub const INSERT: &str = "INSERT INTO alerts \
    (id, ts, detector, severity_rank, severity, score, client, domain, registered_domain, reason, json) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING";

/// The columns a query reads, in [`crate::StoredAlert`]'s order.
pub const COLUMNS: &str =
    "id, ts, detector, severity, score, client, domain, registered_domain, reason, json";
