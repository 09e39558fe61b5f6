//! [`Sources`]: per-source state (a decoder) kept while the source is open, bounded.
//!
//! Live inputs open a source per connection or sender, so the table is capped. A source is
//! dropped when its last chunk is read; beyond the cap the sources idle longest are evicted
//! (and counted): a source still sending keeps its decoder's state.

use std::collections::HashMap;

/// Sources whose state is kept at once, by default.
pub const MAX_SOURCES: usize = 4096;

/// State per open source, least recently used evicted beyond a cap.
#[derive(Debug)]
pub struct Sources<T> {
    entries: HashMap<String, (u64, T)>,
    cap: usize,
    clock: u64,
    evicted: u64,
}

impl<T> Sources<T> {
    /// An empty table holding at most `cap` sources.
    pub fn new(cap: usize) -> Self {
        Sources {
            entries: HashMap::new(),
            cap: cap.max(1),
            clock: 0,
            evicted: 0,
        }
    }

    /// The state of `source`, made by `make` if it has none, marked as just used.
    pub fn get_or_insert_with(&mut self, source: &str, make: impl FnOnce() -> T) -> &mut T {
        self.clock += 1;
        let now = self.clock;
        if !self.entries.contains_key(source) {
            if self.entries.len() >= self.cap {
                self.evict_idle();
            }
            self.entries.insert(source.to_owned(), (now, make()));
        }
        // Present: inserted above if it was not.
        let entry = match self.entries.get_mut(source) {
            Some(entry) => entry,
            None => unreachable!("the source was just inserted"),
        };
        entry.0 = now;
        &mut entry.1
    }

    /// Whether `source` has state.
    pub fn contains(&self, source: &str) -> bool {
        self.entries.contains_key(source)
    }

    /// Forgets a source whose input is over.
    pub fn remove(&mut self, source: &str) -> Option<T> {
        self.entries.remove(source).map(|(_, state)| state)
    }

    /// Evicts the sources idle longest, down to 90% of the cap, so the selection is paid once
    /// per tenth of growth.
    fn evict_idle(&mut self) {
        let keep = self.cap - self.cap / 10 - 1;
        let excess = self.entries.len().saturating_sub(keep);
        if excess == 0 {
            return;
        }
        let mut by_age: Vec<(u64, String)> = self
            .entries
            .iter()
            .map(|(source, (used, _))| (*used, source.clone()))
            .collect();
        by_age.select_nth_unstable(excess - 1);
        for (_, source) in &by_age[..excess] {
            self.entries.remove(source);
        }
        self.evicted += excess as u64;
    }

    /// Sources held now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no source is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sources evicted so far (idle while over the cap).
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sources_idle_longest_go_first() {
        let mut sources = Sources::new(10);
        for i in 0..10 {
            *sources.get_or_insert_with(&format!("s{i}"), || 0) += i;
        }
        // s0 keeps sending: it is not idle.
        sources.get_or_insert_with("s0", || 0);
        sources.get_or_insert_with("new", || 0);
        assert_eq!(sources.evicted(), 2);
        assert_eq!(sources.len(), 9);
        assert!(
            sources.entries.contains_key("s0"),
            "a busy source keeps its state"
        );
        assert!(!sources.entries.contains_key("s1") && !sources.entries.contains_key("s2"));
        assert_eq!(sources.remove("new"), Some(0));
    }
}
