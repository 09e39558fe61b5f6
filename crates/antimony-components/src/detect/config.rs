//! Options of `dns_detect`.

use antimony_core::ConfigError;
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
    /// Seconds between checks of the list files for changes (default 5; 0: no checks, the
    /// lists are then read again only on request, [`reload_lists_now`](super::reload_lists_now),
    /// which `antimony run` calls on SIGHUP). A changed list set is loaded whole and swapped
    /// in while the run goes on; if a file no longer reads or parses, or a list shrank below
    /// `reload_min_ratio`, the lists in force stay and a warning says why.
    pub reload_secs: u64,
    /// The share of its entries a list must keep for a reload to be taken (default 0.5,
    /// from 0 to 1). A list read again with no entries, or with fewer than this share of the
    /// entries it had, is most likely a failed download or a file caught mid-rewrite: the
    /// whole list set in force stays (no list is swapped), a warning names the list and its
    /// sizes, and the refusal is counted. 0 takes any list, even an empty one; set it when
    /// feeds shrink on purpose (a restart also takes the lists as they are).
    pub reload_min_ratio: f64,
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
            reload_min_ratio: 0.5,
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

impl DetectBoltConfig {
    /// Checks the options the detector configuration does not cover.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.reload_min_ratio) {
            return Err(ConfigError::option(
                "reload_min_ratio",
                format!(
                    "{} is not a share from 0 to 1 (0.5: a reloaded list must keep half its entries; 0: take any list)",
                    self.reload_min_ratio
                ),
            ));
        }
        Ok(())
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
