//! How far the file spouts of this process have read, for a progress display.
//!
//! Process-wide counters (not part of the data path): spouts add the sizes of the files they
//! will read and the bytes they have read; the command line shows them on a terminal.

use std::sync::atomic::{AtomicU64, Ordering};

static TOTAL: AtomicU64 = AtomicU64::new(0);
static READ: AtomicU64 = AtomicU64::new(0);
static UNBOUNDED: AtomicU64 = AtomicU64::new(0);

/// Bytes to read, as known so far.
pub fn total_bytes() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

/// Bytes read so far.
pub fn read_bytes() -> u64 {
    READ.load(Ordering::Relaxed)
}

/// Whether some source has no known end (standard input, a followed file, a socket).
pub fn unbounded() -> bool {
    UNBOUNDED.load(Ordering::Relaxed) > 0
}

pub(crate) fn add_total(bytes: u64) {
    TOTAL.fetch_add(bytes, Ordering::Relaxed);
}

pub(crate) fn add_read(bytes: u64) {
    READ.fetch_add(bytes, Ordering::Relaxed);
}

pub(crate) fn add_unbounded() {
    UNBOUNDED.fetch_add(1, Ordering::Relaxed);
}
