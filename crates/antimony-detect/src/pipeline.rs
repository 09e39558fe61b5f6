//! [`Detectors`]: every stateless detector, run on each event in one pass.

use std::io;
use std::path::{Path, PathBuf};

use antimony_dns::DnsEvent;
use antimony_dns::domain::NameError;
use thiserror::Error;

use crate::alert::Alert;
use crate::config::{ConfigError, DetectConfig};
use crate::detectors::dga::{Dga, Model, ModelError};
use crate::detectors::keywords::{KeywordError, Keywords, RuleSet};
use crate::detectors::length::LongName;
use crate::detectors::threat_intel::{ListReport, ThreatIntel, ThreatIntelError};
use crate::detectors::{Explanation, Name, NameDetector};

/// Why the detectors could not be built.
#[derive(Debug, Error)]
pub enum BuildError {
    /// A setting is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The caller could not read a file the configuration names.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file, as configured.
        path: PathBuf,
        /// Why.
        source: io::Error,
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
    /// The detectors that run, in order.
    pub detectors: Vec<&'static str>,
}

/// Every stateless detector, run in one pass over each event.
pub struct Detectors {
    detectors: Vec<Box<dyn NameDetector>>,
    window_micros: i64,
}

impl std::fmt::Debug for Detectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detectors")
            .field("detectors", &self.names())
            .field("window_micros", &self.window_micros)
            .finish()
    }
}

impl Detectors {
    /// No detectors; alert ids use dedup windows of `window_micros`.
    pub fn new(window_micros: i64) -> Self {
        Detectors {
            detectors: Vec::new(),
            window_micros: window_micros.max(1),
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
            load(path).map_err(|source| BuildError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let mut detectors = Detectors::new(config.dedup.window_micros());
        let mut report = BuildReport::default();

        if !config.blocklists.is_empty() {
            let mut intel = ThreatIntel::new();
            for list in &config.blocklists {
                let text = read(&list.path)?;
                report
                    .lists
                    .push(intel.add_list(&list.name, &text, list.severity, list.score)?);
            }
            detectors.push(Box::new(intel));
        }

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

        report.detectors = detectors.names();
        Ok((detectors, report))
    }

    /// Adds a detector (custom detectors from a topology, or ones built by hand).
    pub fn push(&mut self, detector: Box<dyn NameDetector>) {
        self.detectors.push(detector);
    }

    /// The detectors' names, in the order they run.
    pub fn names(&self) -> Vec<&'static str> {
        self.detectors.iter().map(|d| d.name()).collect()
    }

    /// The dedup window alert ids are computed for, in microseconds.
    pub fn window_micros(&self) -> i64 {
        self.window_micros
    }

    /// Runs every detector on one event and appends an alert per finding to `out`; returns
    /// how many were added. Allocates nothing when nothing fires.
    pub fn run(&self, event: &DnsEvent, out: &mut Vec<Alert>) -> usize {
        if event.qname.is_empty() {
            return 0;
        }
        let name = Name::from_event(event);
        let before = out.len();
        for detector in &self.detectors {
            if let Some(finding) = detector.check(&name) {
                out.push(Alert::from_finding(finding, event, self.window_micros));
            }
        }
        out.len() - before
    }

    /// Every detector's verdict on a name typed by a person (normalised first), fired or not,
    /// for `antimony check`.
    pub fn explain(&self, raw: &str) -> Result<Vec<Explanation>, NameError> {
        let qname = antimony_dns::domain::normalise(raw.trim())?;
        let name = Name::new(&qname, 1);
        Ok(self.detectors.iter().map(|d| d.explain(&name)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Severity;
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
        config.blocklists.push(ListConfig {
            name: "maltrail".into(),
            path: "lists/maltrail.txt".into(),
            severity: Severity::High,
            score: 90,
        });
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
            [("keyword", true), ("long_name", false), ("dga", false)]
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
