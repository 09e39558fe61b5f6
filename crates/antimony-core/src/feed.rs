//! [`Feed`]: the last lines a run's sinks wrote, of the kinds someone watches (the alerts,
//! for the Topology Master), in a bounded ring per kind. Shared by the run like its metrics
//! registry: sinks push, an API reads.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Lines kept per kind, at most: the oldest go first.
pub const FEED_LINES: usize = 10_000;

/// One line a sink wrote, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FedLine {
    /// Its place among the lines of its kind ever pushed, from 1: a reader that saw up to
    /// `n` asks for the lines after `n`.
    pub seq: u64,
    /// When the sink wrote it.
    pub at: SystemTime,
    /// The line (JSON for the built-in sinks), without its line ending.
    pub line: String,
}

#[derive(Debug, Default)]
struct Rings {
    /// The kinds watched, each with its ring.
    kinds: Vec<(&'static str, VecDeque<FedLine>)>,
    /// Lines pushed so far, per kind watched (a reader's cursor).
    pushed: Vec<u64>,
    /// Whether a sink feeds the kind already.
    claimed: Vec<bool>,
}

/// The last lines written, per watched record kind. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Feed(Arc<Mutex<Rings>>);

impl Feed {
    /// A feed keeping the last [`FEED_LINES`] lines of each of `kinds` (others are not kept).
    pub fn watching(kinds: &[&'static str]) -> Self {
        let rings = Rings {
            kinds: kinds.iter().map(|k| (*k, VecDeque::new())).collect(),
            pushed: vec![0; kinds.len()],
            claimed: vec![false; kinds.len()],
        };
        Feed(Arc::new(Mutex::new(rings)))
    }

    /// Whether the sink asking should push its lines of `kind`: true for the first sink
    /// that asks of a watched kind, so that two sinks writing the same records (a file and
    /// stdout) do not feed each alert twice. A sink asks once, not per line.
    pub fn claim(&self, kind: &str) -> bool {
        let mut rings = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match rings.kinds.iter().position(|(k, _)| *k == kind) {
            Some(i) if !rings.claimed[i] => {
                rings.claimed[i] = true;
                true
            }
            _ => false,
        }
    }

    /// Keeps `lines` of `kind`, written now (one lock for the batch).
    pub fn push<'a>(&self, kind: &str, lines: impl IntoIterator<Item = &'a str>) {
        let at = SystemTime::now();
        let mut rings = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(i) = rings.kinds.iter().position(|(k, _)| *k == kind) else {
            return;
        };
        let Rings { kinds, pushed, .. } = &mut *rings;
        let ring = &mut kinds[i].1;
        for line in lines {
            if ring.len() == FEED_LINES {
                ring.pop_front();
            }
            pushed[i] += 1;
            ring.push_back(FedLine {
                seq: pushed[i],
                at,
                line: line.to_owned(),
            });
        }
    }

    /// The lines of `kind` kept now, oldest first.
    pub fn lines(&self, kind: &str) -> Vec<FedLine> {
        let rings = self.0.lock().unwrap_or_else(|e| e.into_inner());
        rings
            .kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, ring)| ring.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many lines of `kind` were ever pushed (kept or not).
    pub fn pushed(&self, kind: &str) -> u64 {
        let rings = self.0.lock().unwrap_or_else(|e| e.into_inner());
        rings
            .kinds
            .iter()
            .position(|(k, _)| *k == kind)
            .map_or(0, |i| rings.pushed[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_of_the_kinds_watched() {
        let feed = Feed::watching(&["alert"]);
        assert!(feed.claim("alert") && !feed.claim("dns"));
        assert!(
            !feed.claim("alert"),
            "a second sink of alerts does not feed them again"
        );
        let lines: Vec<String> = (0..FEED_LINES + 5).map(|i| i.to_string()).collect();
        feed.push("alert", lines.iter().map(String::as_str));
        feed.push("dns", ["ignored"]);
        let kept = feed.lines("alert");
        assert_eq!(kept.len(), FEED_LINES);
        assert_eq!(kept[0].line, "5");
        assert_eq!(kept[0].seq, 6);
        assert_eq!(kept[FEED_LINES - 1].seq, (FEED_LINES + 5) as u64);
        assert_eq!(feed.pushed("alert"), (FEED_LINES + 5) as u64);
        assert!(feed.lines("dns").is_empty());
    }
}
