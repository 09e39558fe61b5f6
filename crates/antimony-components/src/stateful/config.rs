//! Options of `dns_stateful`.

use antimony_core::ConfigError;
use antimony_detect::stateful::{
    Beacon, BeaconConfig, Corroborate, CorroborateConfig, NewDomains, NodConfig, NxdomainBurst,
    NxdomainConfig, Tunnel, TunnelConfig,
};
use antimony_dns::KeyField;
use serde::Deserialize;

/// The stateful detectors by name.
pub const DETECTORS: &[&str] = &[
    "tunnel",
    "nxdomain_burst",
    "beacon",
    "new_domain",
    "corroboration",
];

/// Options of `dns_stateful`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatefulBoltConfig {
    /// Which detectors run: `tunnel`, `nxdomain_burst`, `beacon`, `new_domain`,
    /// `corroboration`.
    pub detectors: Vec<String>,
    /// Where the newly-observed-domain state is kept (relative to the topology file).
    pub state_path: Option<String>,
    /// Tunnelling thresholds.
    #[serde(default)]
    pub tunnel: TunnelConfig,
    /// NXDOMAIN-burst thresholds.
    #[serde(default)]
    pub nxdomain_burst: NxdomainConfig,
    /// Beaconing thresholds.
    #[serde(default)]
    pub beacon: BeaconConfig,
    /// Newly-observed-domain settings.
    #[serde(default)]
    pub new_domain: NodConfig,
    /// Corroboration thresholds.
    #[serde(default)]
    pub corroboration: CorroborateConfig,
}

impl StatefulBoltConfig {
    /// The fields each chosen detector keeps its state per, as the detector declares them.
    fn detector_keys(&self) -> Result<Vec<&'static [KeyField]>, ConfigError> {
        if self.detectors.is_empty() {
            return Err(ConfigError::option(
                "detectors",
                format!("names no detectors (detectors: {})", DETECTORS.join(", ")),
            ));
        }
        self.detectors
            .iter()
            .map(|name| match name.as_str() {
                "tunnel" => Ok(Tunnel::key_fields(&self.tunnel)),
                "nxdomain_burst" => Ok(NxdomainBurst::KEY_FIELDS),
                "beacon" => Ok(Beacon::KEY_FIELDS),
                "new_domain" => Ok(NewDomains::KEY_FIELDS),
                "corroboration" => Ok(Corroborate::KEY_FIELDS),
                other => Err(ConfigError::option(
                    "detectors",
                    format!(
                        "unknown detector `{other}` (detectors: {})",
                        DETECTORS.join(", ")
                    ),
                )),
            })
            .collect()
    }

    /// The event fields every chosen detector's key contains: what the input must be grouped
    /// by. An error when the detectors have no key field in common.
    pub fn key_fields(&self) -> Result<Vec<&'static str>, ConfigError> {
        let keys = self.detector_keys()?;
        let common: Vec<&'static str> = KeyField::ALL
            .iter()
            .filter(|field| keys.iter().all(|key| key.contains(field)))
            .map(|field| field.name())
            .collect();
        if common.is_empty() {
            return Err(ConfigError::option(
                "detectors",
                format!(
                    "runs detectors with no key in common ({}): nxdomain_burst and corroboration keep state per client, the others per registered domain; put them in two dns_stateful bolts",
                    self.detectors.join(", ")
                ),
            ));
        }
        Ok(common)
    }

    /// Whether `name` is among the chosen detectors.
    pub fn runs(&self, name: &str) -> bool {
        self.detectors.iter().any(|d| d == name)
    }
}
