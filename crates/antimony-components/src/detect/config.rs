//! Options of `dns_detect`.

use antimony_detect::config::{
    AllowConfig, DetectConfig, DgaConfig, KeywordsConfig, LengthConfig, ListConfig, ScoringConfig,
};
use antimony_detect::detectors::lookalike::LookalikeConfig;
use antimony_detect::detectors::suspicious::SuspiciousConfig;
use serde::Deserialize;

/// Options of `dns_detect`: the detector settings of [`DetectConfig`] (the dedup window
/// belongs to the `alert_dedup` bolt).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectBoltConfig {
    /// Threat-intelligence lists: `{ name, path, format, category, severity, score }`. A
    /// path of `builtin:maltrail` is the list bundled in the binary.
    pub blocklists: Vec<ListConfig>,
    /// Seconds between checks of the list files for changes (default 5; 0: never). A
    /// changed list set is loaded whole and swapped in while the run goes on; if a file no
    /// longer parses, the lists in force stay and the error is logged.
    pub reload_secs: u64,
    /// Keyword rules.
    pub keywords: KeywordsConfig,
    /// DGA scoring.
    pub dga: DgaConfig,
    /// Long-name detection.
    pub length: LengthConfig,
    /// Lookalikes of protected brands (`brands = [...]` or `brands_path`).
    pub lookalike: LookalikeConfig,
    /// Dynamic-DNS, free-hosting and tunnel-service suffixes.
    pub suspicious: SuspiciousConfig,
    /// Registered domains and suffixes nothing fires on.
    pub allow: AllowConfig,
    /// How findings on one name combine.
    pub scoring: ScoringConfig,
}

impl Default for DetectBoltConfig {
    fn default() -> Self {
        let detect = DetectConfig::default();
        DetectBoltConfig {
            blocklists: detect.blocklists,
            reload_secs: 5,
            keywords: detect.keywords,
            dga: detect.dga,
            length: detect.length,
            lookalike: detect.lookalike,
            suspicious: detect.suspicious,
            allow: detect.allow,
            scoring: detect.scoring,
        }
    }
}

impl From<&DetectBoltConfig> for DetectConfig {
    fn from(config: &DetectBoltConfig) -> Self {
        DetectConfig {
            blocklists: config.blocklists.clone(),
            keywords: config.keywords.clone(),
            dga: config.dga.clone(),
            length: config.length.clone(),
            lookalike: config.lookalike.clone(),
            suspicious: config.suspicious.clone(),
            allow: config.allow.clone(),
            scoring: config.scoring.clone(),
            ..DetectConfig::default()
        }
    }
}
