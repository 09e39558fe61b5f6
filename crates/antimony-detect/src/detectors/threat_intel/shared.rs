//! The reload handle: [`SharedThreatIntel`], the list set in force, swapped atomically when
//! the lists change (see "Reloading" in the [module docs](super)).

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::DETECTOR;
use super::formats::ListReport;
use super::index::{ListSpec, ThreatIntel, ThreatIntelError};
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

    /// The list set in force now.
    pub fn load(&self) -> Arc<ThreatIntel> {
        self.current.load_full()
    }
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
