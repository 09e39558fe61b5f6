//! [`Detectors`]: every stateless detector, run on each event in one pass.

use std::io;
use std::path::{Path, PathBuf};

use antimony_dns::DnsEvent;
use antimony_dns::domain::NameError;
use thiserror::Error;

use std::fmt::Write as _;

use ahash::AHashSet;

use crate::alert::{Alert, Severity};
use crate::config::{AllowConfig, ConfigError, DetectConfig, ScoringConfig};
use crate::detectors::dga::{Dga, Model, ModelError};
use crate::detectors::keywords::{KeywordError, Keywords, RuleSet};
use crate::detectors::length::LongName;
use crate::detectors::lookalike::{BrandError, Brands, Lookalike};
use crate::detectors::suspicious::{Suspicious, SuspiciousConfig};
use crate::detectors::threat_intel::{
    ListReport, SharedThreatIntel, ThreatIntel, ThreatIntelError,
};
use crate::detectors::{Explanation, Finding, Name, NameDetector, ev};

/// Why the detectors could not be built.
#[derive(Debug, Error)]
pub enum BuildError {
    /// A setting is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The caller could not read a file the configuration names.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file, as configured.
        path: PathBuf,
        /// Why (in the message: not chained as a source, so it is said once).
        error: io::Error,
    },
    /// A keyword rule file is invalid (`None`: the built-in rules).
    #[error("{}: {source}", path.as_ref().map_or("built-in keyword rules".into(), |p| p.display().to_string()))]
    Keywords {
        /// The rule file.
        path: Option<PathBuf>,
        /// What is wrong.
        source: KeywordError,
    },
    /// A DGA model file is invalid (`None`: the built-in model).
    #[error("{}: {source}", path.as_ref().map_or("built-in DGA model".into(), |p| p.display().to_string()))]
    Model {
        /// The model file.
        path: Option<PathBuf>,
        /// What is wrong.
        source: ModelError,
    },
    /// The lists cannot be loaded.
    #[error(transparent)]
    ThreatIntel(#[from] ThreatIntelError),
    /// The brands list is invalid (`None`: brands given inline).
    #[error("{}: {source}", path.as_ref().map_or("lookalike.brands".into(), |p| p.display().to_string()))]
    Brands {
        /// The brands file.
        path: Option<PathBuf>,
        /// What is wrong.
        source: BrandError,
    },
}

/// What building did, for the binary to log: list line errors are not fatal but are reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildReport {
    /// One report per block list, in configuration order.
    pub lists: Vec<ListReport>,
    /// Keyword rules loaded.
    pub keyword_rules: usize,
    /// The DGA threshold in use, when the DGA detector is on.
    pub dga_threshold: Option<u8>,
    /// Protected brands loaded.
    pub brands: usize,
    /// The detectors that run, in order.
    pub detectors: Vec<&'static str>,
}

/// Every stateless detector, run in one pass over each event.
pub struct Detectors {
    detectors: Vec<Box<dyn NameDetector>>,
    intel: SharedThreatIntel,
    suspicious: Option<Suspicious>,
    suspicious_config: SuspiciousConfig,
    allow: Allow,
    scoring: ScoringConfig,
}

impl Default for Detectors {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Detectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detectors")
            .field("detectors", &self.names())
            .finish()
    }
}

/// The allow-list, as built.
#[derive(Clone, Debug, Default)]
struct Allow {
    domains: AHashSet<String>,
    suffixes: Vec<String>,
}

impl Allow {
    fn new(config: &AllowConfig) -> Self {
        let norm = |d: &String| {
            antimony_dns::domain::normalise(d.trim().trim_start_matches("*."))
                .unwrap_or_else(|_| d.to_ascii_lowercase())
        };
        Allow {
            domains: config.domains.iter().map(norm).collect(),
            suffixes: config.suffixes.iter().map(norm).collect(),
        }
    }

    /// The allow-list entry that covers `name`, if any.
    fn covering<'a>(&'a self, name: &Name<'_>) -> Option<&'a str> {
        if !self.domains.is_empty() {
            let mut rest = name.qname;
            loop {
                if let Some(d) = self.domains.get(rest) {
                    return Some(d);
                }
                match rest.split_once('.') {
                    Some((_, r)) => rest = r,
                    None => break,
                }
            }
        }
        self.suffixes
            .iter()
            .find(|s| {
                name.qname == s.as_str()
                    || name
                        .qname
                        .strip_suffix(s.as_str())
                        .is_some_and(|r| r.ends_with('.'))
            })
            .map(String::as_str)
    }
}

/// The combined verdict on one name (see [`Detectors::verdict`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The highest score of any finding, after boosts (0 when nothing fired).
    pub score: u8,
    /// The highest severity of any finding, `None` when nothing fired.
    pub severity: Option<Severity>,
    /// True when a finding of `medium` severity or more fired, or `score` reaches the alert
    /// threshold ([`ScoringConfig::alert_threshold`]).
    pub alert: bool,
}

impl Detectors {
    /// No detectors.
    pub fn new() -> Self {
        Detectors {
            detectors: Vec::new(),
            intel: SharedThreatIntel::default(),
            suspicious: None,
            suspicious_config: SuspiciousConfig::default(),
            allow: Allow::default(),
            scoring: ScoringConfig::default(),
        }
    }

    /// Builds the detectors a configuration asks for. `load` returns the text of a file the
    /// configuration names (this crate does no I/O): the binary passes
    /// `|path| std::fs::read_to_string(base.join(path))`, tests pass text they hold.
    pub fn build(
        config: &DetectConfig,
        mut load: impl FnMut(&Path) -> io::Result<String>,
    ) -> Result<(Self, BuildReport), BuildError> {
        config.validate()?;
        let mut read = |path: &Path| {
            load(path).map_err(|error| BuildError::Read {
                path: path.to_owned(),
                error,
            })
        };
        let mut detectors = Detectors::new();
        detectors.allow = Allow::new(&config.allow);
        detectors.scoring = config.scoring.clone();
        let mut report = BuildReport::default();

        let mut texts = Vec::with_capacity(config.blocklists.len());
        for list in &config.blocklists {
            texts.push((list.spec(), read(&list.path)?));
        }
        let (intel, reports) =
            ThreatIntel::from_lists(texts.iter().map(|(spec, text)| (spec, text.as_str())))?;
        report.lists = reports;
        detectors.intel.store(intel);
        detectors.push(Box::new(detectors.intel.clone()));

        if config.keywords.enabled {
            let mut rules = RuleSet::default();
            if config.keywords.builtin {
                rules = RuleSet::builtin()
                    .map_err(|source| BuildError::Keywords { path: None, source })?;
            }
            if let Some(path) = &config.keywords.rules_path {
                let text = read(path)?;
                let extra = RuleSet::parse(&text).map_err(|source| BuildError::Keywords {
                    path: Some(path.clone()),
                    source,
                })?;
                rules.merge(extra);
            }
            let keywords = Keywords::new(rules).map_err(|source| BuildError::Keywords {
                path: config.keywords.rules_path.clone(),
                source,
            })?;
            report.keyword_rules = keywords.rules().len();
            if !keywords.rules().is_empty() {
                detectors.push(Box::new(keywords));
            }
        }

        if config.lookalike.enabled {
            let mut text = config.lookalike.brands.join("\n");
            if let Some(path) = &config.lookalike.brands_path {
                text.push('\n');
                text.push_str(&read(path)?);
            }
            let brands = Brands::parse(&text).map_err(|source| BuildError::Brands {
                path: config.lookalike.brands_path.clone(),
                source,
            })?;
            report.brands = brands.0.len();
            if !brands.0.is_empty() {
                detectors.push(Box::new(Lookalike::new(brands, config.lookalike.clone())));
            }
        }

        if config.length.enabled {
            detectors.push(Box::new(LongName::new(config.length.clone())));
        }

        if config.dga.enabled {
            let model = match &config.dga.model_path {
                Some(path) => Model::parse(&read(path)?).map_err(|source| BuildError::Model {
                    path: Some(path.clone()),
                    source,
                })?,
                None => {
                    Model::builtin().map_err(|source| BuildError::Model { path: None, source })?
                }
            };
            let dga = Dga::new(model, config.dga.threshold, config.dga.severity)
                .with_ignore_suffixes(config.dga.ignore_suffixes.clone());
            report.dga_threshold = Some(dga.threshold());
            detectors.push(Box::new(dga));
        }

        if config.suspicious.enabled {
            detectors.suspicious = Some(Suspicious::new(
                config.suspicious.builtin,
                [],
                config.suspicious.score,
            )?);
            detectors.suspicious_config = config.suspicious.clone();
        }

        report.detectors = detectors.names();
        Ok((detectors, report))
    }

    /// Adds a detector (custom detectors from a topology, or ones built by hand).
    pub fn push(&mut self, detector: Box<dyn NameDetector>) {
        self.detectors.push(detector);
    }

    /// The threat-intelligence handle: [`SharedThreatIntel::reload`] on it swaps the lists
    /// every clone of these detectors uses, at once, without a restart.
    pub fn threat_intel(&self) -> &SharedThreatIntel {
        &self.intel
    }

    /// The detectors' names, in the order they run.
    pub fn names(&self) -> Vec<&'static str> {
        self.detectors.iter().map(|d| d.name()).collect()
    }

    /// The score at which a name's verdict is an alert.
    pub fn alert_threshold(&self) -> u8 {
        self.scoring.alert_threshold
    }

    /// Changes the score at which a name's verdict is an alert.
    pub fn set_alert_threshold(&mut self, threshold: u8) {
        self.scoring.alert_threshold = threshold.min(100);
    }

    /// Every detector's finding on `name`, boosted: calls `visit` once per finding. A
    /// suspicious-service hit raises the others' scores (and stands alone only when so
    /// configured); two or more detectors firing raise each other's. Allocates only for
    /// findings.
    fn findings(&self, name: &Name<'_>, mut visit: impl FnMut(Finding)) {
        if name.qname.is_empty() || self.allow.covering(name).is_some() {
            return;
        }
        let mut found: [Option<Finding>; 8] = Default::default();
        let mut extra: Vec<Finding> = Vec::new();
        let (mut n, mut alerts) = (0usize, 0usize);
        for detector in &self.detectors {
            if let Some(f) = detector.check(name) {
                alerts += usize::from(f.severity > Severity::Info);
                match found.get_mut(n) {
                    Some(slot) => *slot = Some(f),
                    None => extra.push(f),
                }
                n += 1;
            }
        }
        let suspicious = self.suspicious.as_ref();
        if alerts == 0 {
            // Only signals (or nothing): they raise scores, they are no alert alone.
            if self.suspicious_config.alert_alone
                && let Some(f) = suspicious.and_then(|s| s.check(name))
            {
                visit(f);
            }
            return;
        }
        let mut signals: Vec<(String, Finding)> = Vec::new();
        if let Some(s) = suspicious.and_then(|s| s.check(name)) {
            let entry = match s.evidence.first() {
                Some((_, crate::Evidence::Text(entry))) => entry.clone(),
                _ => String::new(),
            };
            signals.push((format!("it is under {entry}, a suspicious service"), s));
        }
        let mut kept: Vec<Finding> = Vec::with_capacity(n);
        for f in found.into_iter().flatten().chain(extra) {
            if f.severity == Severity::Info {
                let what = format!("{} also noted: {}", f.detector, f.reason);
                signals.push((what, f));
            } else {
                kept.push(f);
            }
        }
        let corroborated = kept.len() >= 2;
        for mut f in kept {
            for (what, signal) in &signals {
                f.score = f
                    .score
                    .saturating_add(self.suspicious_config.boost)
                    .min(100);
                let _ = write!(f.reason, "; {what}");
                f.evidence.push(ev("signal", signal.detector));
            }
            if corroborated {
                f.score = f
                    .score
                    .saturating_add(self.scoring.corroboration_boost)
                    .min(100);
                f.evidence.push(ev("detectors_fired", alerts));
            }
            visit(f);
        }
    }

    /// Runs every detector on one event and appends an alert per finding to `out`; returns
    /// how many were added. Allocates nothing when nothing fires.
    pub fn run(&self, event: &DnsEvent, out: &mut Vec<Alert>) -> usize {
        if event.qname.is_empty() {
            return 0;
        }
        let name = Name::from_event(event);
        let before = out.len();
        self.findings(&name, |f| {
            out.push(Alert::from_finding(f, event));
        });
        out.len() - before
    }

    /// The combined verdict on a normalised name, and the detectors that fired (passed to
    /// `fired`, in order). Allocates only when something fires.
    pub fn verdict(&self, name: &Name<'_>, mut fired: impl FnMut(&'static str)) -> Verdict {
        let mut v = Verdict::default();
        self.findings(name, |f| {
            v.score = v.score.max(f.score);
            v.severity = v.severity.max(Some(f.severity));
            fired(f.detector);
        });
        // Medium and above hold up on their own (a list hit, a keyword rule, a lookalike);
        // weaker signals must score high enough.
        v.alert = v.severity >= Some(Severity::Medium) || v.score >= self.scoring.alert_threshold;
        v
    }

    /// Every detector's verdict on a name typed by a person (normalised first), fired or not,
    /// for `antimony check`. Scores of fired detectors include the boosts [`run`] applies.
    ///
    /// [`run`]: Detectors::run
    pub fn explain(&self, raw: &str) -> Result<Vec<Explanation>, NameError> {
        let qname = antimony_dns::domain::normalise(raw.trim())?;
        let name = Name::new(&qname, 1);
        if let Some(entry) = self.allow.covering(&name) {
            return Ok(vec![Explanation::quiet(
                "allow_list",
                0,
                format!("{qname} is allow-listed ({entry}): no detector runs on it"),
            )]);
        }
        let mut boosted: Vec<Finding> = Vec::new();
        self.findings(&name, |f| boosted.push(f));
        let mut out: Vec<Explanation> = self
            .detectors
            .iter()
            .map(
                |d| match boosted.iter().position(|f| f.detector == d.name()) {
                    Some(i) => Explanation::fired(boosted.swap_remove(i)),
                    None => d.explain(&name),
                },
            )
            .collect();
        if let Some(s) = &self.suspicious {
            let mut e = s.explain(&name);
            if e.fired && !self.suspicious_config.alert_alone {
                e.fired = false;
                e.severity = None;
                e.reason
                    .push_str("; it raises other detectors' scores, no alert alone");
            }
            out.push(e);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ListConfig;

    fn no_files(path: &Path) -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            path.display().to_string(),
        ))
    }

    fn event(qname: &str) -> DnsEvent {
        let mut e = DnsEvent {
            ts: 1_502_530_532_000_000,
            client: "10.1.2.3".parse().ok(),
            ..DnsEvent::default()
        };
        e.set_qname(qname).expect("valid name");
        e
    }

    #[test]
    fn runs_every_detector() {
        let mut config = DetectConfig::default();
        config
            .blocklists
            .push(ListConfig::new("maltrail", "lists/maltrail.txt"));
        let (d, report) = Detectors::build(&config, |p| {
            assert_eq!(p, Path::new("lists/maltrail.txt"));
            Ok("update-java.net\nbad line here\n".into())
        })
        .expect("build");
        assert_eq!(
            report.detectors,
            ["threat_intel", "keyword", "long_name", "dga"]
        );
        assert_eq!(report.lists[0].error_count, 1);

        let mut out = Vec::new();
        assert_eq!(d.run(&event("www.google.com"), &mut out), 0);
        assert_eq!(out.capacity(), 0, "no allocation when nothing fires");
        assert_eq!(d.run(&event("cdn.update-java.net"), &mut out), 2);
        assert_eq!(out[0].detector, "threat_intel");
        assert_eq!(out[0].severity, Severity::High);
        assert_eq!(out[1].detector, "keyword");
        assert_eq!(out[1].registered_domain, "update-java.net");
        assert_eq!(out[1].client, "10.1.2.3".parse().ok());
        assert_eq!(d.run(&event("afadsfasdfsafwerwqerqqiye.cn"), &mut out), 1);
        assert_eq!(out[2].detector, "dga");
        assert_eq!(d.run(&DnsEvent::default(), &mut out), 0);
    }

    #[test]
    fn explains_every_detector() {
        let (d, _) = Detectors::build(&DetectConfig::default(), no_files).expect("build");
        let e = d.explain("Update-Java.NET.").expect("valid");
        let names: Vec<_> = e.iter().map(|e| (e.detector, e.fired)).collect();
        assert_eq!(
            names,
            [
                ("threat_intel", false),
                ("keyword", true),
                ("long_name", false),
                ("dga", false),
                ("suspicious", false)
            ]
        );
        assert!(d.explain("a b").is_err());
    }

    #[test]
    fn build_errors_name_the_file() {
        let mut config = DetectConfig::default();
        config.keywords.rules_path = Some("extra.toml".into());
        let err = Detectors::build(&config, |_| Ok("[[rule]]\nname = 1\n".into()))
            .expect_err("bad rules");
        assert!(
            err.to_string()
                .starts_with("extra.toml: invalid keyword rules"),
            "{err}"
        );
        let err = Detectors::build(&config, no_files).expect_err("missing file");
        assert!(
            err.to_string().starts_with("cannot read extra.toml"),
            "{err}"
        );
    }
}
