//! The reload handle: [`SharedThreatIntel`], the list set in force, swapped atomically when
//! the lists change (see "Reloading" in the [module docs](super)).

use std::sync::Arc;

use arc_swap::ArcSwap;
use thiserror::Error;

use super::DETECTOR;
use super::formats::ListReport;
use super::index::{ListChange, ListSpec, ThreatIntel, ThreatIntelError};
use crate::detectors::{Explanation, Finding, Name, NameDetector};

/// The handle the pipeline holds: the current [`ThreatIntel`], swappable at run time.
///
/// Cloning the handle shares the list set: a [`store`](SharedThreatIntel::store) through any
/// clone is seen by all. Loading the current set for a check is lock-free and costs a few
/// nanoseconds.
#[derive(Clone, Debug)]
pub struct SharedThreatIntel {
    current: Arc<ArcSwap<ThreatIntel>>,
}

impl Default for SharedThreatIntel {
    fn default() -> Self {
        Self::new(ThreatIntel::new())
    }
}

impl SharedThreatIntel {
    /// A handle holding `intel`.
    pub fn new(intel: ThreatIntel) -> Self {
        SharedThreatIntel {
            current: Arc::new(ArcSwap::from_pointee(intel)),
        }
    }

    /// Replaces the list set; checks after this see the new one.
    pub fn store(&self, intel: ThreatIntel) {
        self.current.store(Arc::new(intel));
    }

    /// Builds a new list set from `(spec, text)` pairs and swaps it in. On an error the old
    /// set stays in force.
    pub fn reload<'a>(
        &self,
        lists: impl IntoIterator<Item = (&'a ListSpec, &'a str)>,
    ) -> Result<Vec<ListReport>, ThreatIntelError> {
        let (intel, reports) = ThreatIntel::from_lists(lists)?;
        self.store(intel);
        Ok(reports)
    }

    /// Builds a new list set from `(spec, text)` pairs, compares each list with the set in
    /// force and swaps the new set in, unless a list shrank below `min_ratio` of its entries
    /// ([`ListChange::shrank_below`]: emptied, or fewer than that share): then nothing is
    /// swapped, not even the lists that did not shrink, and the error names the lists that
    /// did. A `min_ratio` of 0 takes any set.
    ///
    /// Reloads must not run concurrently (the comparison is with the set loaded at the
    /// start); the list watcher runs one at a time.
    pub fn reload_guarded<'a>(
        &self,
        lists: impl IntoIterator<Item = (&'a ListSpec, &'a str)>,
        min_ratio: f64,
    ) -> Result<Reloaded, ReloadError> {
        let (intel, reports) = ThreatIntel::from_lists(lists)?;
        let changes = self.load().changes(&intel);
        let shrunk: Vec<ListChange> = changes
            .iter()
            .filter(|c| c.shrank_below(min_ratio))
            .cloned()
            .collect();
        if !shrunk.is_empty() {
            return Err(ReloadError::Shrunk { shrunk, min_ratio });
        }
        self.store(intel);
        Ok(Reloaded { reports, changes })
    }

    /// The list set in force now.
    pub fn load(&self) -> Arc<ThreatIntel> {
        self.current.load_full()
    }
}

/// A list set [`SharedThreatIntel::reload_guarded`] swapped in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloaded {
    /// What reading each list did, in order.
    pub reports: Vec<ListReport>,
    /// How each list changed from the set it replaced.
    pub changes: Vec<ListChange>,
}

/// Why [`SharedThreatIntel::reload_guarded`] kept the set in force.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum ReloadError {
    /// The new set could not be built.
    #[error(transparent)]
    Build(#[from] ThreatIntelError),
    /// Lists lost more entries than `min_ratio` allows (a truncated download, a file caught
    /// mid-rewrite).
    #[error("{}", shrunk_message(shrunk, *min_ratio))]
    Shrunk {
        /// The lists that shrank, with their sizes before and after.
        shrunk: Vec<ListChange>,
        /// The share of its entries a list had to keep.
        min_ratio: f64,
    },
}

fn shrunk_message(shrunk: &[ListChange], min_ratio: f64) -> String {
    let lists: Vec<String> = shrunk
        .iter()
        .map(|c| format!("`{}` from {} to {} entries", c.name, c.before, c.after))
        .collect();
    format!(
        "list{} shrank below {min_ratio} of {}: {}",
        if shrunk.len() == 1 { "" } else { "s" },
        if shrunk.len() == 1 {
            "its entries"
        } else {
            "their entries"
        },
        lists.join(", ")
    )
}

impl NameDetector for SharedThreatIntel {
    fn name(&self) -> &'static str {
        DETECTOR
    }

    fn check(&self, name: &Name<'_>) -> Option<Finding> {
        self.current.load().check(name)
    }

    fn explain(&self, name: &Name<'_>) -> Explanation {
        self.current.load().explain(name)
    }
}
