//! Configuration of the detectors (serde, `deny_unknown_fields`; every field has a default).
//!
//! A configuration names files (lists, rules, a model) but this crate reads none of them:
//! [`Detectors::build`](crate::Detectors::build) asks the caller for each file's text. Relative
//! paths are the caller's to resolve (the binary resolves them against the configuration
//! file's folder).
//!
//! ```toml
//! [[blocklists]]
//! name = "maltrail"                 # shown in alerts
//! path = "lists/maltrail.txt"       # plain or hosts format
//! severity = "high"                 # default high
//! score = 90                        # default 90
//!
//! [keywords]
//! builtin = true                    # the rules compiled in (default true)
//! rules_path = "rules/extra.toml"   # more rules, added to the built-in ones
//!
//! [dga]
//! threshold = 85                    # default: the model's recommended threshold
//!
//! [length]
//! max_name_len = 100
//!
//! [dedup]
//! window_secs = 3600
//!
//! [lookalike]
//! brands_path = "brands.txt"        # one brand per line: main domain, then owned ones
//!
//! [suspicious]
//! boost = 15                        # added to other findings under dynamic-DNS suffixes
//!
//! [allow]
//! domains = ["corp.example"]        # nothing fires on these or names under them
//! suffixes = ["internal", "lan"]
//!
//! [scoring]
//! alert_threshold = 73              # `antimony score`: alert at medium+ or this score
//!
//! [stateful.tunnel]
//! window_secs = 600
//! min_unique = 20
//!
//! [stateful.new_domain]
//! warmup_secs = 604800
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::alert::Severity;
use crate::detectors::lookalike::LookalikeConfig;
use crate::detectors::suspicious::SuspiciousConfig;
use crate::detectors::threat_intel::{ListFormat, ListSpec};

/// All detector settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Threat-intelligence lists (none by default).
    pub blocklists: Vec<ListConfig>,
    /// Keyword rules.
    pub keywords: KeywordsConfig,
    /// DGA scoring.
    pub dga: DgaConfig,
    /// Long-name detection.
    pub length: LengthConfig,
    /// One alert per detector, client, domain and window.
    pub dedup: DedupConfig,
    /// Lookalikes of protected brands.
    pub lookalike: LookalikeConfig,
    /// Dynamic-DNS, free-hosting and tunnel-service suffixes.
    pub suspicious: SuspiciousConfig,
    /// Names no stateless detector fires on.
    pub allow: AllowConfig,
    /// How findings combine into one verdict per name.
    pub scoring: ScoringConfig,
    /// The stateful detectors (tunnelling, NXDOMAIN bursts, beaconing, newly observed
    /// domains), run by keyed bolts.
    pub stateful: crate::stateful::StatefulConfig,
}

/// An allow-list: registered domains and suffixes nothing fires on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllowConfig {
    /// Registered domains (and every name under them), e.g. `corp.example`.
    pub domains: Vec<String>,
    /// Suffixes (any name ending with `.suffix`, or equal to it), e.g. `internal`, `lan`.
    pub suffixes: Vec<String>,
}

/// How findings on one name combine into a verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    /// A name is an `alert` in `antimony score` when a finding of `medium` severity or more
    /// fired (a list hit, a keyword rule, a lookalike), or when its combined score is at
    /// least this (default 73: the DGA score is calibrated so that 0.1% of long-tail benign
    /// names reach 70, but the most random-looking part of that tail, `opendns_random_10k`,
    /// reaches 70 at 0.17% and 73 at 0.09%; `antimony eval` prints the verdict's rates).
    pub alert_threshold: u8,
    /// Points added to each finding when two or more detectors fire on one name (default 10).
    pub corroboration_boost: u8,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            alert_threshold: 73,
            corroboration_boost: 10,
        }
    }
}

fn high() -> Severity {
    Severity::High
}

fn ninety() -> u8 {
    90
}

fn malware() -> String {
    "malware".to_owned()
}

impl ListConfig {
    /// A list called `name` in `path`, format `auto`, category `malware`, rated high, 90.
    pub fn new(name: &str, path: impl Into<PathBuf>) -> Self {
        ListConfig {
            name: name.to_owned(),
            path: path.into(),
            format: ListFormat::Auto,
            category: malware(),
            severity: high(),
            score: ninety(),
        }
    }

    /// The list's specification, for [`ThreatIntel::add`](crate::detectors::threat_intel::ThreatIntel::add).
    pub fn spec(&self) -> ListSpec {
        ListSpec {
            name: self.name.clone(),
            format: self.format,
            category: self.category.clone(),
            severity: self.severity,
            score: self.score,
        }
    }
}

/// One threat-intelligence list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListConfig {
    /// Name shown in alerts (`maltrail`).
    pub name: String,
    /// File holding the list.
    pub path: PathBuf,
    /// How the file is written: `auto` (default), `plain`, `hosts`, `csv`, `maltrail`, `rpz`.
    #[serde(default)]
    pub format: ListFormat,
    /// Category of the list's entries (default `malware`; a CSV `category` column wins).
    /// Use `dynamic_dns`, `free_hosting` and the like, with severity `low`, for lists of
    /// merely suspicious services.
    #[serde(default = "malware")]
    pub category: String,
    /// Severity of a hit; default `high`. Use `low` for lists of merely suspicious services
    /// (dynamic DNS, free hosting).
    #[serde(default = "high")]
    pub severity: Severity,
    /// Score of a hit; default 90.
    #[serde(default = "ninety")]
    pub score: u8,
}

/// Keyword rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeywordsConfig {
    /// Run the keyword detector (default true).
    pub enabled: bool,
    /// Use the built-in rules (default true).
    pub builtin: bool,
    /// A rule file to add (default none).
    pub rules_path: Option<PathBuf>,
}

impl Default for KeywordsConfig {
    fn default() -> Self {
        KeywordsConfig {
            enabled: true,
            builtin: true,
            rules_path: None,
        }
    }
}

/// DGA scoring.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DgaConfig {
    /// Run the DGA detector (default true).
    pub enabled: bool,
    /// Alert when the DGA score (0-100) is at least this; default the model's recommended
    /// threshold (70: the top 0.1% of held-out popular names; 85 is the top 0.01%).
    pub threshold: Option<u8>,
    /// A model file (`antimony train dga` output) instead of the built-in model.
    pub model_path: Option<PathBuf>,
    /// Severity of a hit, `low` by default and at most `medium`: one random-looking name is a
    /// weak signal (corroboration over time is the stateful detectors' job).
    pub severity: Severity,
    /// Names under these suffixes are not scored: their labels are machine-assigned IDs
    /// (default: CloudFront, Azure CDN and Front Door, Akamai, AWS load balancers).
    pub ignore_suffixes: Vec<String>,
}

impl Default for DgaConfig {
    fn default() -> Self {
        DgaConfig {
            enabled: true,
            threshold: None,
            model_path: None,
            severity: Severity::Low,
            ignore_suffixes: crate::detectors::dga::DEFAULT_IGNORE_SUFFIXES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

/// Long-name thresholds; a name fires when it exceeds any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LengthConfig {
    /// Run the long-name detector (default true).
    pub enabled: bool,
    /// Longest ordinary name, in characters (default 100; DNS allows 253).
    pub max_name_len: usize,
    /// Longest ordinary label (default 50; DNS allows 63, a hex SHA-1 is 40).
    pub max_label_len: usize,
    /// Most labels in an ordinary name (default 10; Active Directory SRV names have 7).
    pub max_labels: usize,
    /// Names under these suffixes never fire (default `in-addr.arpa`, `ip6.arpa`).
    pub ignore_suffixes: Vec<String>,
    /// Severity of a hit (default `low`).
    pub severity: Severity,
    /// Score of a hit with one limit exceeded (default 30; +10 per further limit).
    pub score: u8,
}

impl Default for LengthConfig {
    fn default() -> Self {
        LengthConfig {
            enabled: true,
            max_name_len: 100,
            max_label_len: 50,
            max_labels: 10,
            ignore_suffixes: vec!["in-addr.arpa".to_owned(), "ip6.arpa".to_owned()],
            severity: Severity::Low,
            score: 30,
        }
    }
}

/// Alert de-duplication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Tumbling window on event time, in seconds (default 3600): one alert per detector,
    /// client and domain per window. Also part of every alert id.
    pub window_secs: u64,
    /// How many windows before the newest one are remembered (default 2); older alert keys
    /// are forgotten.
    pub retention_windows: u32,
    /// Most remembered alert keys (default 1,000,000, about 50 MB); beyond it the oldest
    /// windows' keys are forgotten first, and counted.
    pub max_keys: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            window_secs: 3600,
            retention_windows: 2,
            max_keys: 1_000_000,
        }
    }
}

impl DedupConfig {
    /// The window in microseconds (at least 1).
    pub fn window_micros(&self) -> i64 {
        i64::try_from(self.window_secs.saturating_mul(1_000_000))
            .unwrap_or(i64::MAX)
            .max(1)
    }
}

/// A setting out of range.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A score or threshold above 100.
    #[error("{field} is {value}, scores run from 0 to 100")]
    ScoreOutOfRange {
        /// The setting, as written in TOML.
        field: String,
        /// Its value.
        value: u8,
    },
    /// Two lists with one name.
    #[error("two blocklists are called {0:?}; give each a distinct name")]
    DuplicateList(String),
    /// A zero-length dedup window.
    #[error("dedup.window_secs must be at least 1")]
    ZeroWindow,
}

impl DetectConfig {
    /// Checks ranges and names.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let score = |field: &str, value: u8| {
            if value > 100 {
                Err(ConfigError::ScoreOutOfRange {
                    field: field.to_owned(),
                    value,
                })
            } else {
                Ok(())
            }
        };
        for (i, list) in self.blocklists.iter().enumerate() {
            score(&format!("blocklists[{i}].score"), list.score)?;
            if self.blocklists[..i].iter().any(|l| l.name == list.name) {
                return Err(ConfigError::DuplicateList(list.name.clone()));
            }
        }
        if let Some(t) = self.dga.threshold {
            score("dga.threshold", t)?;
        }
        score("length.score", self.length.score)?;
        score("lookalike.score", self.lookalike.score)?;
        score("scoring.alert_threshold", self.scoring.alert_threshold)?;
        if self.dedup.window_secs == 0 {
            return Err(ConfigError::ZeroWindow);
        }
        Ok(())
    }

    /// Every file this configuration refers to, in the order `build` asks for them.
    pub fn files(&self) -> Vec<&Path> {
        let mut files: Vec<&Path> = self.blocklists.iter().map(|l| l.path.as_path()).collect();
        if self.keywords.enabled
            && let Some(p) = &self.keywords.rules_path
        {
            files.push(p);
        }
        if self.dga.enabled
            && let Some(p) = &self.dga.model_path
        {
            files.push(p);
        }
        if self.lookalike.enabled
            && let Some(p) = &self.lookalike.brands_path
        {
            files.push(p);
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_documented_example_and_defaults() {
        let text = r#"
            [stateful.tunnel]
            min_unique = 30
            [[blocklists]]
            name = "maltrail"
            path = "lists/maltrail.txt"
            [[blocklists]]
            name = "dyndns"
            path = "lists/dyndns.txt"
            severity = "low"
            score = 30
            [keywords]
            rules_path = "rules/extra.toml"
            [dga]
            threshold = 85
            [dedup]
            window_secs = 600
        "#;
        let c: DetectConfig = toml::from_str(text).expect("parse");
        assert_eq!(c.blocklists[0].severity, Severity::High);
        assert_eq!(c.blocklists[0].score, 90);
        assert_eq!(c.blocklists[1].severity, Severity::Low);
        assert!(c.keywords.builtin);
        assert_eq!(c.dga.threshold, Some(85));
        assert_eq!(c.length, LengthConfig::default());
        assert_eq!(c.dedup.window_micros(), 600_000_000);
        assert_eq!(c.files().len(), 3);
        assert_eq!(c.blocklists[0].category, "malware");
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.stateful.tunnel.min_unique, 30);

        let c: DetectConfig = toml::from_str("").expect("parse");
        assert_eq!(c, DetectConfig::default());
    }

    #[test]
    fn refuses_unknown_fields_and_bad_values() {
        assert!(toml::from_str::<DetectConfig>("[dga]\nthreshhold = 3\n").is_err());
        let c: DetectConfig = toml::from_str("[dga]\nthreshold = 130\n").expect("parse");
        assert!(matches!(
            c.validate(),
            Err(ConfigError::ScoreOutOfRange { .. })
        ));
        let c: DetectConfig = toml::from_str("[dedup]\nwindow_secs = 0\n").expect("parse");
        assert_eq!(c.validate(), Err(ConfigError::ZeroWindow));
    }
}
