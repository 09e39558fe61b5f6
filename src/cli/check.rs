//! `antimony check`: every stateless detector's verdict on names, with reasons.

use std::path::PathBuf;

use antimony_detect::alert::Evidence;
use antimony_detect::config::{DetectConfig, ListConfig};
use antimony_detect::detectors::Explanation;
use antimony_detect::{Detectors, Severity};
use serde_json::{Value, json};

use super::CheckArgs;
use antimony_components::detect as dns_detect;

pub(super) fn check(args: CheckArgs) -> anyhow::Result<()> {
    let config = detect_config(
        &args.blocklists,
        args.no_builtin_lists,
        args.brands.as_ref(),
    );
    let cwd = std::env::current_dir()?;
    let (detectors, _) = Detectors::build(&config, |path| dns_detect::read(&cwd, path))?;
    for name in &args.names {
        let verdict = Verdict::of(&detectors, name)?;
        if args.json {
            println!("{}", verdict.to_json());
        } else {
            print!("{}", verdict.to_text());
        }
    }
    Ok(())
}

/// The detector configuration of `check` and `score`: the bundled maltrail list unless
/// left out, extra block lists named after their files, and protected brands.
pub(super) fn detect_config(
    blocklists: &[PathBuf],
    no_builtin_lists: bool,
    brands: Option<&PathBuf>,
) -> DetectConfig {
    let mut config = DetectConfig::default();
    if !no_builtin_lists {
        config
            .blocklists
            .push(list("maltrail", PathBuf::from("builtin:maltrail")));
    }
    for path in blocklists {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        config.blocklists.push(list(&name, path.clone()));
    }
    config.lookalike.brands_path = brands.cloned();
    config
}

fn list(name: &str, path: PathBuf) -> ListConfig {
    ListConfig::new(name, path)
}

struct Verdict<'a> {
    name: &'a str,
    normalised: String,
    registered_domain: String,
    explanations: Vec<Explanation>,
}

impl<'a> Verdict<'a> {
    fn of(detectors: &Detectors, name: &'a str) -> anyhow::Result<Self> {
        let normalised = antimony_dns::domain::normalise(name.trim())
            .map_err(|e| anyhow::anyhow!("`{name}` is not a domain name: {e}"))?;
        let registered_domain = antimony_dns::domain::registered_domain(&normalised)
            .unwrap_or("")
            .to_owned();
        let explanations = detectors.explain(name)?;
        Ok(Verdict {
            name,
            normalised,
            registered_domain,
            explanations,
        })
    }

    fn fired(&self) -> impl Iterator<Item = &Explanation> {
        self.explanations.iter().filter(|e| e.fired)
    }

    fn score(&self) -> u8 {
        self.fired().map(|e| e.score).max().unwrap_or(0)
    }

    fn severity(&self) -> Option<Severity> {
        self.fired().filter_map(|e| e.severity).max()
    }

    fn to_text(&self) -> String {
        let verdict = match self.severity() {
            Some(severity) => format!("ALERT ({severity}, score {})", self.score()),
            None => "ok".to_owned(),
        };
        let mut out = format!("{}: {verdict}\n", self.normalised);
        if self.normalised != self.name.trim() {
            out.push_str(&format!(
                "  (read as {} from {:?})\n",
                self.normalised, self.name
            ));
        }
        out.push_str(&format!(
            "  registered domain: {}\n",
            if self.registered_domain.is_empty() {
                "(none)"
            } else {
                &self.registered_domain
            }
        ));
        for e in &self.explanations {
            let state = match e.severity {
                Some(severity) if e.fired => format!("FIRED {severity}"),
                _ => "quiet".to_owned(),
            };
            out.push_str(&format!(
                "  {:<13} {:<12} score {:>3}  {}\n",
                e.detector, state, e.score, e.reason
            ));
        }
        out
    }

    fn to_json(&self) -> Value {
        let detectors: Vec<Value> = self
            .explanations
            .iter()
            .map(|e| {
                let evidence: serde_json::Map<String, Value> = e
                    .evidence
                    .iter()
                    .map(|(k, v)| (k.clone(), evidence_json(v)))
                    .collect();
                json!({
                    "detector": e.detector,
                    "fired": e.fired,
                    "score": e.score,
                    "severity": e.severity.map(Severity::as_str),
                    "reason": e.reason,
                    "evidence": evidence,
                })
            })
            .collect();
        json!({
            "name": self.normalised,
            "registered_domain": self.registered_domain,
            "verdict": if self.severity().is_some() { "alert" } else { "ok" },
            "severity": self.severity().map(Severity::as_str),
            "score": self.score(),
            "detectors": detectors,
        })
    }
}

fn evidence_json(value: &Evidence) -> Value {
    match value {
        Evidence::Text(s) => json!(s),
        Evidence::Integer(i) => json!(i),
        Evidence::Number(n) => json!(n),
        Evidence::Bool(b) => json!(b),
        Evidence::List(items) => json!(items),
    }
}
