//! [`QuietNames`]: names that raised nothing, so they are not scored again.
//!
//! Correct because of an invariant of this crate: every stateless detector decides on the
//! question alone (a [`Name`](crate::Name): the name, its registered domain, its type; never
//! the client or the time), so a name that raised nothing raises nothing again, for as long
//! as the detectors do not change. When they do (a list reloaded), [`QuietNames::clear`].
//! DNS traffic repeats the same names over and over, which is what makes this pay.

use antimony_dns::DnsEvent;

use crate::alert::Alert;
use crate::pipeline::Detectors;

/// Slots in the cache (a power of two): about 4 MB at typical name lengths.
const SLOTS: usize = 1 << 16;

/// Names (with their question type) that raised nothing: a direct-mapped table, a name per
/// slot, the newest winning. Slots are chosen with a per-process random hash key, and a hit
/// compares the whole name, so no crafted name can pass for a cached one.
pub struct QuietNames {
    hasher: ahash::RandomState,
    slots: Vec<Option<(u16, Box<str>)>>,
}

impl Default for QuietNames {
    fn default() -> Self {
        Self::new()
    }
}

impl QuietNames {
    /// An empty cache.
    pub fn new() -> Self {
        QuietNames {
            hasher: ahash::RandomState::new(),
            slots: vec![None; SLOTS],
        }
    }

    /// Runs `detectors` on `event` unless its name is known to raise nothing; appends the
    /// alerts to `out` and returns how many. Names that alert are always run (their alerts
    /// need the event's time and client), and are rare.
    pub fn run(&mut self, detectors: &Detectors, event: &DnsEvent, out: &mut Vec<Alert>) -> usize {
        let slot = (self.hasher.hash_one((&*event.qname, event.qtype)) as usize) & (SLOTS - 1);
        if matches!(&self.slots[slot], Some((t, n)) if *t == event.qtype && **n == *event.qname) {
            return 0;
        }
        let raised = detectors.run(event, out);
        if raised == 0 {
            self.slots[slot] = Some((event.qtype, event.qname.as_str().into()));
        }
        raised
    }

    /// Forgets every name: the detectors changed.
    pub fn clear(&mut self) {
        self.slots.fill(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DetectConfig;

    fn detectors() -> Detectors {
        let (detectors, _) = Detectors::build(&DetectConfig::default(), |path| {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                path.display().to_string(),
            ))
        })
        .expect("the default detectors");
        detectors
    }

    fn event(qname: &str, client: &str, ts: i64) -> DnsEvent {
        let mut event = DnsEvent::default();
        event.set_qname(qname).expect("a name");
        event.client = client.parse().ok();
        event.ts = ts;
        event
    }

    #[test]
    fn a_quiet_name_stays_quiet_whatever_the_client_and_time() {
        let detectors = detectors();
        let mut quiet = QuietNames::new();
        let mut out = Vec::new();
        assert_eq!(
            quiet.run(
                &detectors,
                &event("www.google.com", "10.0.0.1", 1),
                &mut out
            ),
            0
        );
        // The invariant the cache rests on: the same question raises the same nothing for
        // another client at another time.
        for (client, ts) in [("10.0.0.2", 5), ("192.168.1.9", 1_000_000_000)] {
            let other = event("www.google.com", client, ts);
            assert_eq!(detectors.run(&other, &mut out), 0);
            assert_eq!(quiet.run(&detectors, &other, &mut out), 0);
        }
        // Names that alert are run every time.
        let bad = event("update-java.net", "10.0.0.1", 1);
        assert!(quiet.run(&detectors, &bad, &mut out) > 0);
        assert!(quiet.run(&detectors, &bad, &mut out) > 0);
    }
}
