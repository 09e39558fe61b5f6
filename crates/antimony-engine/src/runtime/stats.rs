//! Per-component counters, shared by all workers of a process.
//!
//! Operators count locally and add to these once per activation, so the hot path touches no
//! shared cache line per record.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one component (summed over this process's workers).
#[derive(Debug, Default)]
pub struct ComponentCounters {
    /// Records the component received (spouts: 0).
    pub received: AtomicU64,
    /// Records it emitted.
    pub emitted: AtomicU64,
    /// Records it set aside.
    pub dead_letters: AtomicU64,
    /// Panics caught in it.
    pub panics: AtomicU64,
}

impl ComponentCounters {
    pub(crate) fn add(&self, local: &mut LocalCounts) {
        if local.received > 0 {
            self.received.fetch_add(local.received, Ordering::Relaxed);
        }
        if local.emitted > 0 {
            self.emitted.fetch_add(local.emitted, Ordering::Relaxed);
        }
        if local.dead_letters > 0 {
            self.dead_letters
                .fetch_add(local.dead_letters, Ordering::Relaxed);
        }
        if local.panics > 0 {
            self.panics.fetch_add(local.panics, Ordering::Relaxed);
        }
        *local = LocalCounts::default();
    }

    /// A snapshot.
    pub fn snapshot(&self, name: &str, type_name: &str, spout: bool) -> ComponentStats {
        ComponentStats {
            spout,
            name: name.to_owned(),
            type_name: type_name.to_owned(),
            received: self.received.load(Ordering::Relaxed),
            emitted: self.emitted.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            panics: self.panics.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct LocalCounts {
    pub(crate) received: u64,
    pub(crate) emitted: u64,
    pub(crate) dead_letters: u64,
    pub(crate) panics: u64,
}

/// What one component did during a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ComponentStats {
    /// The component's name.
    pub name: String,
    /// Its type (`file`, `dns_parse`...).
    pub type_name: String,
    /// Records received.
    pub received: u64,
    /// Records emitted.
    pub emitted: u64,
    /// Records set aside.
    pub dead_letters: u64,
    /// Panics caught.
    pub panics: u64,
    /// Whether the component is a spout.
    pub spout: bool,
}
