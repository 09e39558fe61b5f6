//! Which alerts a query asks for: the same filters for a store (as SQL) and for an alerts
//! file read into memory ([`Filter::matches`]), so `report --store` and `report --alerts`
//! select alike.

use std::net::IpAddr;

use antimony_detect::Severity;

use crate::row::{StoredAlert, severity_named, severity_rank};
use crate::time::parse_time;

/// A domain filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainMatch {
    /// This name only (written `=evil.com`).
    Exact(String),
    /// This name and every name under it (written `evil.com`).
    Suffix(String),
}

/// The filters of a query, parsed. Every filter given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// At or after this time (microseconds, UTC).
    pub since: Option<i64>,
    /// Before this time.
    pub until: Option<i64>,
    /// About this client address (compared in its canonical form).
    pub client: Option<String>,
    /// About this domain.
    pub domain: Option<DomainMatch>,
    /// Raised by this detector.
    pub detector: Option<String>,
    /// At least this severe.
    pub min_severity: Option<Severity>,
    /// The newest this many only (still printed oldest first).
    pub limit: Option<usize>,
}

/// The filters as given on a command line, to be parsed by [`Filter::parse`].
#[derive(Clone, Debug, Default)]
pub struct FilterText<'a> {
    /// RFC 3339, a duration back from now (`1h`) or Unix seconds.
    pub since: Option<&'a str>,
    /// Same forms as `since`.
    pub until: Option<&'a str>,
    /// An address.
    pub client: Option<&'a str>,
    /// `evil.com` (and names under it) or `=evil.com` (that name only).
    pub domain: Option<&'a str>,
    /// A detector's name.
    pub detector: Option<&'a str>,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub min_severity: Option<&'a str>,
    /// How many at most.
    pub limit: Option<usize>,
}

/// A parameter of a query, bound in order (`$1`, `$2`...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

impl Filter {
    /// Parses the filters; relative times count back from `now` (microseconds). The error
    /// names the filter and says what it takes.
    pub fn parse(text: &FilterText<'_>, now: i64) -> Result<Self, String> {
        let time = |name: &str, value: Option<&str>| {
            value
                .map(|v| parse_time(v, now).map_err(|e| format!("--{name}: {e}")))
                .transpose()
        };
        let client = text
            .client
            .map(|c| {
                c.trim()
                    .parse::<IpAddr>()
                    .map(|ip| ip.to_string())
                    .map_err(|_| format!("--client: `{c}` is not an IP address"))
            })
            .transpose()?;
        let domain = text.domain.map(|d| {
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            match d.strip_prefix('=') {
                Some(exact) => DomainMatch::Exact(exact.to_owned()),
                None => DomainMatch::Suffix(d.trim_start_matches("*.").to_owned()),
            }
        });
        let min_severity = text
            .min_severity
            .map(|s| {
                severity_named(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
                    format!("--severity: `{s}` is not one of info, low, medium, high, critical")
                })
            })
            .transpose()?;
        Ok(Filter {
            since: time("since", text.since)?,
            until: time("until", text.until)?,
            client,
            domain,
            detector: text.detector.map(|d| d.trim().to_owned()),
            min_severity,
            limit: text.limit,
        })
    }

    /// Whether an alert passes every filter but `limit`.
    pub fn matches(&self, alert: &StoredAlert) -> bool {
        self.since.is_none_or(|t| alert.ts >= t)
            && self.until.is_none_or(|t| alert.ts < t)
            && self
                .client
                .as_ref()
                .is_none_or(|c| alert.client.as_deref() == Some(c.as_str()))
            && self.domain.as_ref().is_none_or(|d| match d {
                DomainMatch::Exact(name) => alert.domain == *name,
                DomainMatch::Suffix(name) => {
                    alert.domain == *name
                        || alert
                            .domain
                            .strip_suffix(name.as_str())
                            .is_some_and(|head| head.ends_with('.'))
                }
            })
            && self.detector.as_ref().is_none_or(|d| alert.detector == *d)
            && self
                .min_severity
                .is_none_or(|s| severity_rank(alert.severity) >= severity_rank(s))
    }

    /// The `WHERE` clause (empty, or starting with ` WHERE`) and its parameters, numbered
    /// from `$1`: the same text for SQLite and PostgreSQL.
    pub(crate) fn where_clause(&self) -> (String, Vec<Param>) {
        let mut terms: Vec<String> = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        let bind = |params: &mut Vec<Param>, p: Param| {
            params.push(p);
            format!("${}", params.len())
        };
        if let Some(t) = self.since {
            terms.push(format!("ts >= {}", bind(&mut params, Param::Int(t))));
        }
        if let Some(t) = self.until {
            terms.push(format!("ts < {}", bind(&mut params, Param::Int(t))));
        }
        if let Some(c) = &self.client {
            terms.push(format!(
                "client = {}",
                bind(&mut params, Param::Text(c.clone()))
            ));
        }
        match &self.domain {
            Some(DomainMatch::Exact(name)) => {
                terms.push(format!(
                    "domain = {}",
                    bind(&mut params, Param::Text(name.clone()))
                ));
            }
            Some(DomainMatch::Suffix(name)) => {
                let exact = bind(&mut params, Param::Text(name.clone()));
                // LIKE's wildcards in a name are taken literally.
                let pattern = format!(
                    "%.{}",
                    name.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                );
                let under = bind(&mut params, Param::Text(pattern));
                terms.push(format!(
                    "(domain = {exact} OR domain LIKE {under} ESCAPE '\\')"
                ));
            }
            None => {}
        }
        if let Some(d) = &self.detector {
            terms.push(format!(
                "detector = {}",
                bind(&mut params, Param::Text(d.clone()))
            ));
        }
        if let Some(s) = self.min_severity {
            terms.push(format!(
                "severity_rank >= {}",
                bind(&mut params, Param::Int(severity_rank(s)))
            ));
        }
        if terms.is_empty() {
            (String::new(), params)
        } else {
            (format!(" WHERE {}", terms.join(" AND ")), params)
        }
    }
}
