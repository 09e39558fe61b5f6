//! What the SIEM formats say of each detector: a signature id, a title and a category, in
//! one table, so CEF, LEEF and eve name a detector the same way and a SIEM rule keyed on
//! the id keeps working across releases.

use antimony_core::StableHasher;

/// How the SIEM formats name one detector's alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// A stable number: Suricata's `signature_id`, CEF's Device Event Class ID. Built-in
    /// detectors have fixed ids from 9,100,001 (outside the ranges Suricata's public rule
    /// sets use); a detector not in the table (a user's own bolt) gets 9,200,000 plus a
    /// hash of its name below 100,000, stable too.
    pub id: u32,
    /// A short title for people (CEF's Name, eve's `signature`).
    pub title: &'static str,
    /// The kind of threat, in Suricata's classification words (eve's `category`, CEF's
    /// `cat`, LEEF's `cat`).
    pub category: &'static str,
}

const TROJAN: &str = "A Network Trojan was detected";
const BAD_TRAFFIC: &str = "Potentially Bad Traffic";
const POLICY: &str = "Potential Corporate Privacy Violation";
const SOCIAL: &str = "Possible Social Engineering Attempted";
const UNKNOWN: &str = "Misc activity";

const TABLE: &[(&str, Signature)] = &[
    (
        "threat_intel",
        Signature {
            id: 9_100_001,
            title: "ANTIMONY DNS query for a listed domain",
            category: TROJAN,
        },
    ),
    (
        "keyword",
        Signature {
            id: 9_100_002,
            title: "ANTIMONY DNS query matching a keyword rule",
            category: BAD_TRAFFIC,
        },
    ),
    (
        "long_name",
        Signature {
            id: 9_100_003,
            title: "ANTIMONY DNS query for an unusually long name",
            category: BAD_TRAFFIC,
        },
    ),
    (
        "dga",
        Signature {
            id: 9_100_004,
            title: "ANTIMONY DNS query for an algorithmically generated domain",
            category: TROJAN,
        },
    ),
    (
        "lookalike",
        Signature {
            id: 9_100_005,
            title: "ANTIMONY DNS query for a brand lookalike domain",
            category: SOCIAL,
        },
    ),
    (
        "suspicious",
        Signature {
            id: 9_100_006,
            title: "ANTIMONY DNS query under a suspicious suffix",
            category: BAD_TRAFFIC,
        },
    ),
    (
        "tunnel",
        Signature {
            id: 9_100_007,
            title: "ANTIMONY DNS tunnelling",
            category: POLICY,
        },
    ),
    (
        "nxdomain_burst",
        Signature {
            id: 9_100_008,
            title: "ANTIMONY DNS NXDOMAIN burst",
            category: TROJAN,
        },
    ),
    (
        "beacon",
        Signature {
            id: 9_100_009,
            title: "ANTIMONY DNS beaconing",
            category: TROJAN,
        },
    ),
    (
        "new_domain",
        Signature {
            id: 9_100_010,
            title: "ANTIMONY DNS query for a newly observed domain",
            category: BAD_TRAFFIC,
        },
    ),
    (
        "corroboration",
        Signature {
            id: 9_100_011,
            title: "ANTIMONY DNS weak signals corroborated per client",
            category: TROJAN,
        },
    ),
];

/// How the SIEM formats name `detector`'s alerts.
pub fn signature(detector: &str) -> Signature {
    if let Some((_, s)) = TABLE.iter().find(|(name, _)| *name == detector) {
        return *s;
    }
    let hash = StableHasher::hash64(&[detector.as_bytes()]);
    Signature {
        // Below 100,000 by construction, so the cast keeps every bit.
        id: 9_200_000 + (hash % 100_000) as u32,
        title: "ANTIMONY DNS alert",
        category: UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_stable() {
        let mut ids: Vec<u32> = TABLE.iter().map(|(_, s)| s.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), TABLE.len());
        let custom = signature("my_detector");
        assert_eq!(custom, signature("my_detector"));
        assert!((9_200_000..9_300_000).contains(&custom.id));
        assert_eq!(signature("dga").id, 9_100_004);
    }
}
