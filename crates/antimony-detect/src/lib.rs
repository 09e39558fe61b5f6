//! Detectors for Antimony: the checks that turn one [`DnsEvent`](antimony_dns::DnsEvent) into
//! [`Alert`]s, and the [`Deduper`] that keeps one alert per detector, client, domain and window.
//!
//! # Main types
//!
//! - [`Detectors`] runs every stateless detector on one event (`run`) and explains, for one
//!   name, why each detector did or did not fire (`explain`, behind `antimony check`).
//!   It is built from a [`DetectConfig`] by [`Detectors::build`], which asks the caller for the
//!   text of every file the configuration names: this crate does no I/O.
//! - The detectors themselves, one module each under [`detectors`]:
//!   [`ThreatIntel`](detectors::threat_intel::ThreatIntel) (named lists in plain, hosts, CSV,
//!   maltrail and RPZ formats, swappable at run time through
//!   [`SharedThreatIntel`](detectors::threat_intel::SharedThreatIntel)),
//!   [`Keywords`](detectors::keywords::Keywords) (Aho-Corasick keyword rules and regex
//!   patterns from TOML), [`Lookalike`](detectors::lookalike::Lookalike) (dnstwist-style
//!   permutations of protected brands, by index), [`LongName`](detectors::length::LongName)
//!   (suspiciously long names), [`Dga`](detectors::dga::Dga) (gradient-boosted trees over
//!   lexical features) and [`Suspicious`](detectors::suspicious::Suspicious) (dynamic-DNS and
//!   free-hosting suffixes, a signal that raises other scores).
//!   Each implements [`NameDetector`]: `check` returns a [`Finding`] without allocating
//!   when nothing fires, `explain` says why in words.
//! - [`Alert`] is the record that leaves the detectors (serde for bincode between workers, and
//!   [`Alert::write_json`] for the documented JSON-lines form).
//! - [`alert_formats`]: the alert as ECS, Suricata eve, CEF, LEEF, Slack and Teams bodies
//!   ([`AlertFormat`], [`ChatFormat`], [`Alert::write_as`]), escaped for each target.
//! - [`QuietNames`] remembers names that raised nothing, so a stream's repeated names are
//!   not scored again (correct because a detector sees the question alone).
//! - [`Deduper`] turns alert candidates of one epoch into a deterministic set of new alerts.
//! - [`stateful`]: detectors with keyed state over sliding windows (tunnelling, NXDOMAIN
//!   bursts, beaconing, newly observed domains); the module docs say what the engine calls.
//! - Training and evaluation of the models (`antimony train`, `antimony eval`) are in the
//!   `antimony-lab` crate, outside what a running topology loads.
//!
//! # Example
//!
//! ```
//! use antimony_detect::{DetectConfig, Detectors};
//! use antimony_dns::DnsEvent;
//!
//! // The default configuration uses the built-in keyword rules and DGA model, and no lists.
//! let config = DetectConfig::default();
//! let (detectors, _report) = Detectors::build(&config, |path| {
//!     Err(std::io::Error::new(std::io::ErrorKind::NotFound, path.display().to_string()))
//! })
//! .unwrap();
//!
//! let mut event = DnsEvent::default();
//! event.set_qname("update-java.net").unwrap();
//! let mut alerts = Vec::new();
//! detectors.run(&event, &mut alerts);
//! assert_eq!(alerts[0].detector, "keyword");
//! ```
//!
//! Architecture invariant: this crate is pure and synchronous. It depends on `antimony-dns`
//! only, knows nothing of timely or Tokio, reads no files (lists, rules and models are parsed
//! from text the caller gives), and never panics on input.

pub mod alert;
pub mod alert_formats;
pub mod config;
pub mod dedup;
pub mod detectors;
mod pipeline;
pub mod quiet;
pub mod stateful;

pub use alert::{Alert, Evidence, Severity};
pub use alert_formats::{AlertFormat, ChatFormat};
pub use config::DetectConfig;
pub use dedup::{DedupStats, Deduper};
pub use detectors::{Explanation, Finding, Name, NameDetector};
pub use pipeline::{BuildError, BuildReport, Detectors, Verdict};
pub use quiet::QuietNames;
