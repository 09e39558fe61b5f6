//! Antimony's alert store: where alerts stay after a run, for analysts to ask "what did
//! 10.1.2.3 do in the last hour".
//!
//! - [`Store`] opens a store at a [`Location`] (a SQLite file, or a PostgreSQL URL), with the
//!   same schema and queries on both ([`schema`]): one `alerts` table keyed by the alert's
//!   stable id, so writing the same alert twice (a run resumed from a checkpoint) stores it
//!   once; indexes on time, detector, client, domain and severity. [`Store::insert`] writes a
//!   batch in one transaction, [`Store::apply_retention`] removes the oldest alerts beyond a
//!   [`Retention`] (age, rows, bytes), [`Store::query`] reads them back through a [`Filter`].
//! - [`StoredAlert`]: one row, built from an [`Alert`](antimony_detect::Alert) or read back
//!   from the alerts file's JSON form ([`alerts_file`]).
//! - [`output`]: a query's answer as a table for people, JSON lines (exactly the alerts
//!   file's lines) or CSV.
//! - [`command`]: what `antimony alerts --store` and `antimony report` do.
//! - [`report`]: one self-contained HTML page (summary, breakdowns, a timeline chart, the
//!   alert table), every attacker-chosen text escaped.
//!
//! Architecture invariant: this crate knows alerts and databases, not the engine: the
//! `alert_store` sink that writes a running topology's alerts here lives in
//! antimony-components.

pub mod alerts_file;
pub mod command;
pub mod filter;
pub mod output;
pub mod report;
mod row;
pub mod schema;
mod store;
pub mod time;
mod tls;

pub use filter::{DomainMatch, Filter, FilterText};
pub use row::StoredAlert;
pub use store::{Location, Removed, Retention, Store, StoreError};
