//! The `dns_stateful` bolt: detectors that need evidence over time, per key: tunnelling,
//! NXDOMAIN bursts, beaconing, newly observed domains.
//!
//! Each detector keeps state per key (see [`antimony_detect::stateful`]); the bolt declares
//! the key fields its detectors share, and the topology must group its input by them (the
//! engine refuses it otherwise). NXDOMAIN bursts are per client and the others per registered
//! domain, so a topology runs two `dns_stateful` bolts. Decisions are made when an epoch ends,
//! in a canonical order, so the alerts are the same on any number of workers.
//!
//! The newly-observed-domain detector remembers first-seen times across runs when
//! `state_path` is set: each worker writes its share to `STATE_PATH.w<N>` (atomically, at
//! most once a minute and at the end of the run), and at start reads every `STATE_PATH.w*`
//! file, so the state survives a restart even with another number of workers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use antimony_core::{Bolt, ConfigError, Context, Emitter};
use antimony_detect::Alert;
use antimony_detect::config::DedupConfig;
use antimony_detect::stateful::{
    Beacon, BeaconConfig, KeyBy, NewDomains, NodConfig, NxdomainBurst, NxdomainConfig, Tunnel,
    TunnelConfig,
};
use serde::Deserialize;

use crate::record::Tuple;

/// The stateful detectors by name.
pub const DETECTORS: &[&str] = &["tunnel", "nxdomain_burst", "beacon", "new_domain"];

/// How often the newly-observed-domain state is saved while running.
const SAVE_EVERY: Duration = Duration::from_secs(60);

/// Options of `dns_stateful`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatefulBoltConfig {
    /// Which detectors run: `tunnel`, `nxdomain_burst`, `beacon`, `new_domain`.
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
}

impl StatefulBoltConfig {
    /// The event fields every chosen detector's key contains: what the input must be grouped
    /// by. An error when the detectors have no key field in common.
    pub fn key_fields(&self) -> Result<Vec<&'static str>, ConfigError> {
        if self.detectors.is_empty() {
            return Err(ConfigError::option(
                "detectors",
                format!("names no detectors (detectors: {})", DETECTORS.join(", ")),
            ));
        }
        let mut common: Option<Vec<&'static str>> = None;
        for name in &self.detectors {
            let key: &[&'static str] = match name.as_str() {
                "tunnel" => match self.tunnel.key_by {
                    KeyBy::Domain => &["registered_domain"],
                    KeyBy::ClientDomain => &["client", "registered_domain"],
                },
                "nxdomain_burst" => &["client"],
                "beacon" => &["client", "registered_domain"],
                "new_domain" => &["registered_domain"],
                other => {
                    return Err(ConfigError::option(
                        "detectors",
                        format!(
                            "unknown detector `{other}` (detectors: {})",
                            DETECTORS.join(", ")
                        ),
                    ));
                }
            };
            common = Some(match common {
                None => key.to_vec(),
                Some(c) => c.into_iter().filter(|f| key.contains(f)).collect(),
            });
        }
        match common {
            Some(fields) if !fields.is_empty() => Ok(fields),
            _ => Err(ConfigError::option(
                "detectors",
                format!(
                    "runs detectors with no key in common ({}): nxdomain_burst keeps state per client, the others per registered domain; put them in two dns_stateful bolts",
                    self.detectors.join(", ")
                ),
            )),
        }
    }
}

/// Runs the chosen stateful detectors on the events of its keys.
pub struct StatefulBolt {
    tunnel: Option<Tunnel>,
    nxdomain: Option<NxdomainBurst>,
    beacon: Option<Beacon>,
    new_domain: Option<NewDomains>,
    state_path: Option<PathBuf>,
    last_save: Instant,
    worker: usize,
    alerts: Vec<Alert>,
}

impl StatefulBolt {
    /// A bolt with these settings (checked by [`StatefulBoltConfig::key_fields`]); relative
    /// state paths are resolved against `base_dir`.
    pub fn new(config: &StatefulBoltConfig, base_dir: &Path) -> Self {
        let window = DedupConfig::default().window_micros();
        let on = |name: &str| config.detectors.iter().any(|d| d == name);
        StatefulBolt {
            tunnel: on("tunnel").then(|| Tunnel::new(config.tunnel.clone(), window)),
            nxdomain: on("nxdomain_burst")
                .then(|| NxdomainBurst::new(config.nxdomain_burst.clone(), window)),
            beacon: on("beacon").then(|| Beacon::new(config.beacon.clone(), window)),
            new_domain: on("new_domain")
                .then(|| NewDomains::new(config.new_domain.clone(), window)),
            state_path: config
                .state_path
                .as_deref()
                .map(|p| antimony_engine::registry::resolve_path(base_dir, p)),
            last_save: Instant::now(),
            worker: 0,
            alerts: Vec::new(),
        }
    }

    /// This worker's state file.
    fn state_file(&self, worker: usize) -> Option<PathBuf> {
        let path = self.state_path.as_ref()?;
        let mut name = path.file_name()?.to_os_string();
        name.push(format!(".w{worker}"));
        Some(path.with_file_name(name))
    }

    /// Writes the newly-observed-domain state (atomically: a temporary file, then a rename).
    fn save(&mut self, out: &mut Emitter<'_, Tuple>) {
        let (Some(nod), Some(file)) = (&self.new_domain, self.state_file(self.worker)) else {
            return;
        };
        let tmp = file.with_extension("tmp");
        let written =
            std::fs::write(&tmp, nod.snapshot()).and_then(|()| std::fs::rename(&tmp, &file));
        if let Err(e) = written {
            out.dead_letter(
                Some(file.display().to_string()),
                format!("cannot save the newly-observed-domain state: {e}"),
                String::new(),
            );
        }
        self.last_save = Instant::now();
    }
}

impl Bolt<Tuple> for StatefulBolt {
    fn on_start(&mut self, ctx: &Context) {
        self.worker = ctx.worker;
        let (Some(nod), Some(path)) = (self.new_domain.as_mut(), self.state_path.as_ref()) else {
            return;
        };
        // Every worker's file from the last run: their union is the state, however the
        // domains are spread over workers now.
        let prefix = format!(
            "{}.w",
            path.file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default()
        );
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|f| {
                    let f = f.to_string_lossy();
                    f.starts_with(&prefix) && f[prefix.len()..].bytes().all(|b| b.is_ascii_digit())
                })
            })
            .collect();
        files.sort();
        for file in files {
            match std::fs::read(&file) {
                Ok(bytes) => {
                    if let Err(e) = nod.merge(&bytes) {
                        tracing::warn!(file = %file.display(), error = %e, worker = ctx.worker, "newly-observed-domain state not loaded");
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "cannot read the newly-observed-domain state")
                }
            }
        }
    }

    fn process(&mut self, record: &mut Tuple, _out: &mut Emitter<'_, Tuple>) {
        let Tuple::Dns(event) = record else { return };
        if let Some(d) = self.tunnel.as_mut() {
            d.observe(event);
        }
        if let Some(d) = self.nxdomain.as_mut() {
            d.observe(event);
        }
        if let Some(d) = self.beacon.as_mut() {
            d.observe(event);
        }
        if let Some(d) = self.new_domain.as_mut() {
            d.observe(event);
        }
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, Tuple>) {
        if let Some(d) = self.tunnel.as_mut() {
            d.end_epoch(&mut self.alerts);
        }
        if let Some(d) = self.nxdomain.as_mut() {
            d.end_epoch(&mut self.alerts);
        }
        if let Some(d) = self.beacon.as_mut() {
            d.end_epoch(&mut self.alerts);
        }
        if let Some(d) = self.new_domain.as_mut() {
            d.end_epoch(&mut self.alerts);
        }
        for alert in self.alerts.drain(..) {
            out.emit(Tuple::Alert(Box::new(alert)));
        }
        if self.last_save.elapsed() >= SAVE_EVERY {
            self.save(out);
        }
    }

    fn on_close(&mut self, out: &mut Emitter<'_, Tuple>) {
        self.save(out);
    }
}
