//! The alert record: what a detector says about one DNS event.
//!
//! # JSON form
//!
//! Sinks write one alert per line with [`Alert::write_json`]:
//!
//! ```json
//! {"id":"6c1f…","ts":"2017-08-12T09:35:32Z","detector":"threat_intel","severity":"high",
//!  "score":90,"domain":"a.evil.com","registered_domain":"evil.com","client":"10.0.0.1",
//!  "reason":"a.evil.com is a subdomain of evil.com, listed in maltrail",
//!  "evidence":{"lists":["maltrail"],"entry":"evil.com","match":"subdomain"}}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `id` | 32 hex digits, stable: FNV-1a (128 bits) of detector, client, domain and the start of the dedup window holding `ts`, given once, by the [`Deduper`](crate::Deduper) (which knows the window); `null` on an alert that went through none. A replay of the same input gives the same ids. |
//! | `ts` | event time (UTC) of the DNS event that raised the alert, RFC 3339 (`2017-08-12T09:35:32Z`, with six fractional digits when the microseconds are not zero). |
//! | `detector` | which detector: `threat_intel`, `keyword`, `long_name`, `dga`, ... |
//! | `severity` | `info`, `low`, `medium`, `high` or `critical`: how urgently an analyst should look. A weak signal on one name is `low`; `medium` and above need evidence that holds up (a list hit, a brand impersonation). |
//! | `score` | 0-100: how confident the detector is that the name is what it looks for. |
//! | `domain` | the question name, normalised (lower case, punycode, no trailing dot). |
//! | `registered_domain` | its registered domain (eTLD+1), or `""` when it has none. |
//! | `client` | the address that asked, or `null` when the source does not say. |
//! | `reason` | one sentence for a person. |
//! | `evidence` | an object of detector-specific facts (strings, integers, numbers, booleans, lists of strings); each detector's module documents its keys. |
//!
//! The same alert in SIEM and chat shapes (ECS, eve, CEF, LEEF, Slack, Teams):
//! [`Alert::write_as`], [`Alert::write_chat`] and [`alert_formats`](crate::alert_formats).
//!
//! The serde form (derived, for bincode between engine workers) is a different, compact shape:
//! `ts` is an integer and `evidence` a list of pairs. Use `write_json` for people and SIEMs.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::net::IpAddr;

use antimony_core::text::push_json_str;
use antimony_dns::DnsEvent;
use antimony_dns::time::write_rfc3339;
use serde::{Deserialize, Serialize};

use crate::detectors::Finding;

use antimony_core::StableHasher;

/// How urgently an analyst should look at an alert (ordered: `Info < Low < ... < Critical`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording, not worth a look on its own.
    #[default]
    Info,
    /// A weak signal, such as one name that merely looks random.
    Low,
    /// Evidence that holds up: a brand impersonation, corroboration over time.
    Medium,
    /// A strong indicator, such as a threat-intelligence list hit.
    High,
    /// Confirmed compromise or an indicator the operator marked critical.
    Critical,
}

impl Severity {
    /// The lower-case name used in JSON and configuration (`"high"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fact supporting an alert, as a JSON-friendly value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Evidence {
    /// A string.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A real number (written as `null` in JSON when it is not finite).
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A list of strings.
    List(Vec<String>),
}

impl Evidence {
    /// A total order (numbers by `f64::total_cmp`), so alerts can be ordered deterministically.
    pub fn total_cmp(&self, other: &Self) -> Ordering {
        fn rank(e: &Evidence) -> u8 {
            match e {
                Evidence::Text(_) => 0,
                Evidence::Integer(_) => 1,
                Evidence::Number(_) => 2,
                Evidence::Bool(_) => 3,
                Evidence::List(_) => 4,
            }
        }
        match (self, other) {
            (Evidence::Text(a), Evidence::Text(b)) => a.cmp(b),
            (Evidence::Integer(a), Evidence::Integer(b)) => a.cmp(b),
            (Evidence::Number(a), Evidence::Number(b)) => a.total_cmp(b),
            (Evidence::Bool(a), Evidence::Bool(b)) => a.cmp(b),
            (Evidence::List(a), Evidence::List(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }

    pub(crate) fn write_json(&self, out: &mut String) {
        match self {
            Evidence::Text(s) => push_json_str(out, s),
            Evidence::Integer(i) => {
                let _ = write!(out, "{i}");
            }
            Evidence::Number(x) if x.is_finite() => {
                let _ = write!(out, "{x}");
            }
            Evidence::Number(_) => out.push_str("null"),
            Evidence::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Evidence::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_json_str(out, item);
                }
                out.push(']');
            }
        }
    }
}

impl From<&str> for Evidence {
    fn from(s: &str) -> Self {
        Evidence::Text(s.to_owned())
    }
}

impl From<String> for Evidence {
    fn from(s: String) -> Self {
        Evidence::Text(s)
    }
}

impl From<i64> for Evidence {
    fn from(i: i64) -> Self {
        Evidence::Integer(i)
    }
}

impl From<usize> for Evidence {
    fn from(i: usize) -> Self {
        Evidence::Integer(i64::try_from(i).unwrap_or(i64::MAX))
    }
}

impl From<f64> for Evidence {
    fn from(x: f64) -> Self {
        Evidence::Number(x)
    }
}

impl From<bool> for Evidence {
    fn from(b: bool) -> Self {
        Evidence::Bool(b)
    }
}

impl From<Vec<String>> for Evidence {
    fn from(items: Vec<String>) -> Self {
        Evidence::List(items)
    }
}

/// An alert's stable id: FNV-1a 128 of (detector, client, domain, start of its dedup window),
/// written as 32 lower-case hex digits. It names the key the deduplicator keeps one alert of,
/// and depends on nothing else, so a replay gives the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AlertId(pub u128);

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// An alert: one detector's verdict on one DNS event. See the [module docs](self) for fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable id, given by the deduplicator ([`Alert::stable_id`]); `None` until then.
    pub id: Option<AlertId>,
    /// Event time, microseconds since the Unix epoch (UTC).
    pub ts: i64,
    /// Which detector raised it (`threat_intel`, `keyword`, `long_name`, `dga`...).
    pub detector: Cow<'static, str>,
    /// How urgently an analyst should look.
    pub severity: Severity,
    /// How confident the detector is, 0-100.
    pub score: u8,
    /// The question name, normalised.
    pub domain: String,
    /// Its registered domain (eTLD+1), `""` when it has none.
    pub registered_domain: String,
    /// The address that asked, when known.
    pub client: Option<IpAddr>,
    /// One sentence for a person.
    pub reason: String,
    /// Detector-specific facts, in the order the detector gave them.
    pub evidence: Vec<(String, Evidence)>,
}

/// The start (microseconds) of the tumbling window of length `window_micros` that holds `ts`.
/// A non-positive window puts everything in one window starting at 0.
pub fn window_start(ts: i64, window_micros: i64) -> i64 {
    if window_micros <= 0 {
        return 0;
    }
    ts.div_euclid(window_micros) * window_micros
}

/// The dedup key of (detector, client, domain, window start): the alert id.
pub(crate) fn dedup_key(
    detector: &str,
    client: Option<IpAddr>,
    domain: &str,
    window_start: i64,
) -> AlertId {
    let mut h = StableHasher::new();
    h.field(detector.as_bytes());
    match client {
        None => h.field(&[]),
        Some(IpAddr::V4(a)) => h.field(&a.octets()),
        Some(IpAddr::V6(a)) => h.field(&a.octets()),
    };
    h.field(domain.as_bytes());
    h.field(&window_start.to_le_bytes());
    AlertId(h.finish())
}

impl Alert {
    /// The stable id of an alert of `detector` about `domain` asked by `client`, in the dedup
    /// window (of `window_micros`) holding `ts`: FNV-1a 128 over the length-prefixed fields.
    /// Depends on nothing else, so a replay gives the same id.
    pub fn stable_id(
        detector: &str,
        client: Option<IpAddr>,
        domain: &str,
        ts: i64,
        window_micros: i64,
    ) -> AlertId {
        dedup_key(detector, client, domain, window_start(ts, window_micros))
    }

    /// The alert for a detector's finding on `event`, without an id yet (the deduplicator
    /// gives it, for its window).
    pub fn from_finding(finding: Finding, event: &DnsEvent) -> Self {
        Alert {
            id: None,
            ts: event.ts,
            detector: Cow::Borrowed(finding.detector),
            severity: finding.severity,
            score: finding.score,
            domain: event.qname.clone(),
            registered_domain: event.registered_domain().to_owned(),
            client: event.client,
            reason: finding.reason,
            evidence: finding.evidence,
        }
    }

    /// Appends the documented JSON form (one object, no newline) to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"id\":");
        match self.id {
            Some(id) => {
                let _ = write!(out, "\"{id}\"");
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"ts\":\"");
        write_rfc3339(self.ts, out);
        out.push_str("\",\"detector\":");
        push_json_str(out, &self.detector);
        out.push_str(",\"severity\":\"");
        out.push_str(self.severity.as_str());
        let _ = write!(out, "\",\"score\":{},\"domain\":", self.score);
        push_json_str(out, &self.domain);
        out.push_str(",\"registered_domain\":");
        push_json_str(out, &self.registered_domain);
        out.push_str(",\"client\":");
        match self.client {
            Some(ip) => {
                let _ = write!(out, "\"{ip}\"");
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"reason\":");
        push_json_str(out, &self.reason);
        out.push_str(",\"evidence\":");
        self.write_evidence_json(out);
        out.push('}');
    }

    /// Appends the evidence as one JSON object (keys in the detector's order).
    pub(crate) fn write_evidence_json(&self, out: &mut String) {
        out.push('{');
        for (i, (key, value)) in self.evidence.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_str(out, key);
            out.push(':');
            value.write_json(out);
        }
        out.push('}');
    }

    /// The JSON form as a new string (see [`Alert::write_json`]).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_json(&mut out);
        out
    }

    /// The canonical order of alerts, a total order over every field: id first, then time,
    /// then the rest. The [`Deduper`] keeps the smallest alert of each key (its id is the
    /// key, so the earliest), so the choice never depends on arrival order, and emits in
    /// this order; it is also the order of the alerts file, whose lines start with the id.
    ///
    /// [`Deduper`]: crate::Deduper
    pub fn canonical_cmp(&self, other: &Self) -> Ordering {
        self.id
            .cmp(&other.id)
            .then_with(|| self.ts.cmp(&other.ts))
            .then_with(|| self.detector.cmp(&other.detector))
            .then_with(|| self.client.cmp(&other.client))
            .then_with(|| self.domain.cmp(&other.domain))
            .then_with(|| self.registered_domain.cmp(&other.registered_domain))
            .then_with(|| other.severity.cmp(&self.severity))
            .then_with(|| other.score.cmp(&self.score))
            .then_with(|| self.reason.cmp(&other.reason))
            .then_with(|| {
                let mut a = self.evidence.iter();
                let mut b = other.evidence.iter();
                loop {
                    match (a.next(), b.next()) {
                        (None, None) => return Ordering::Equal,
                        (None, Some(_)) => return Ordering::Less,
                        (Some(_), None) => return Ordering::Greater,
                        (Some((ka, va)), Some((kb, vb))) => {
                            let o = ka.cmp(kb).then_with(|| va.total_cmp(vb));
                            if o != Ordering::Equal {
                                return o;
                            }
                        }
                    }
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Alert {
        let client: Option<IpAddr> = "10.0.0.1".parse().ok();
        Alert {
            id: Some(Alert::stable_id(
                "threat_intel",
                client,
                "a.evil.com",
                1_502_530_532_000_000,
                3_600_000_000,
            )),
            ts: 1_502_530_532_000_000,
            detector: Cow::Borrowed("threat_intel"),
            severity: Severity::High,
            score: 90,
            domain: "a.evil.com".into(),
            registered_domain: "evil.com".into(),
            client,
            reason: "a.evil.com is a subdomain of evil.com, listed in \"maltrail\"\n".into(),
            evidence: vec![
                ("lists".into(), Evidence::List(vec!["maltrail".into()])),
                ("labels".into(), Evidence::Integer(3)),
                ("ratio".into(), Evidence::Number(0.25)),
                ("nan".into(), Evidence::Number(f64::NAN)),
                ("exact".into(), Evidence::Bool(false)),
                ("ctl".into(), Evidence::Text("\u{1}é".into())),
            ],
        }
    }

    #[test]
    fn json_form_is_documented_shape() {
        let json = sample().to_json();
        let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(v["ts"], "2017-08-12T09:35:32Z");
        assert_eq!(v["severity"], "high");
        assert_eq!(v["score"], 90);
        assert_eq!(v["client"], "10.0.0.1");
        assert_eq!(
            v["reason"],
            "a.evil.com is a subdomain of evil.com, listed in \"maltrail\"\n"
        );
        assert_eq!(v["evidence"]["lists"][0], "maltrail");
        assert_eq!(v["evidence"]["labels"], 3);
        assert_eq!(v["evidence"]["ratio"], 0.25);
        assert!(v["evidence"]["nan"].is_null());
        assert_eq!(v["evidence"]["exact"], false);
        assert_eq!(v["evidence"]["ctl"], "\u{1}é");
        assert_eq!(v["id"].as_str().map(str::len), Some(32));

        let mut no_client = sample();
        no_client.client = None;
        no_client.id = None;
        let v: serde_json::Value = serde_json::from_str(&no_client.to_json()).expect("valid JSON");
        assert!(v["client"].is_null());
        assert!(v["id"].is_null(), "no deduplicator gave it an id");
    }

    #[test]
    fn bincode_round_trip() {
        let alert = sample();
        let bytes = bincode::serialize(&alert).expect("serialise");
        let back: Alert = bincode::deserialize(&bytes).expect("deserialise");
        // NaN != NaN, so compare through the canonical order.
        assert_eq!(alert.canonical_cmp(&back), Ordering::Equal);
        assert_eq!(back.to_json(), alert.to_json());
    }

    #[test]
    fn ids_are_stable_and_windowed() {
        let c: Option<IpAddr> = "10.0.0.1".parse().ok();
        let hour = 3_600_000_000;
        let a = Alert::stable_id("dga", c, "x.com", 10, hour);
        assert_eq!(a, Alert::stable_id("dga", c, "x.com", hour - 1, hour));
        assert_ne!(a, Alert::stable_id("dga", c, "x.com", hour, hour));
        assert_ne!(a, Alert::stable_id("dga", None, "x.com", 10, hour));
        assert_ne!(a, Alert::stable_id("keyword", c, "x.com", 10, hour));
        // Pinned (computed independently from the FNV-1a 128 definition): a change here
        // changes every alert id users have stored.
        assert_eq!(
            Alert::stable_id("dga", None, "x.com", 0, hour).to_string(),
            "f59f5044a09f74d3617d20d59f7131f6"
        );
        assert_eq!(
            Alert::stable_id("dga", c, "x.com", hour + 5, hour).to_string(),
            "96df721a26e40e0d3c96b24fe7915854"
        );
    }

    /// The deduplicator emits in canonical order and the alerts file sorts each epoch's lines
    /// by their bytes: the two orders must be one, or a file would depend on which sorted
    /// last. Ids lead both.
    #[test]
    fn the_canonical_order_is_the_order_of_the_alerts_file() {
        let mut alerts: Vec<Alert> = (0..200)
            .map(|i| {
                let mut a = sample();
                a.ts += i64::from(i % 7);
                a.domain = format!("d{}.example", i % 13);
                a.id = Some(Alert::stable_id(
                    "dga", a.client, &a.domain, a.ts, 60_000_000,
                ));
                a.id = a.id.map(|id| AlertId(id.0 ^ u128::from(i as u8)));
                a
            })
            .collect();
        alerts.sort_by(Alert::canonical_cmp);
        let lines: Vec<String> = alerts.iter().map(Alert::to_json).collect();
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted);
    }

    #[test]
    fn window_start_handles_negative_times() {
        assert_eq!(window_start(-1, 10), -10);
        assert_eq!(window_start(19, 10), 10);
        assert_eq!(window_start(19, 0), 0);
    }
}
