//! `GET /api/alerts`: the alerts the run's sinks wrote last (the feed keeps the last
//! [`FEED_LINES`](antimony_core::feed::FEED_LINES)), filtered, newest first, with the
//! clients and domains that raise the most of them.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use antimony_core::Feed;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The record kind the feed keeps for this call.
pub const ALERT: &str = "alert";

/// Alerts answered when no limit is given.
pub const DEFAULT_LIMIT: usize = 100;

/// Alerts answered at most.
pub const MAX_LIMIT: usize = 1000;

/// Entries of `top_clients` and `top_domains`.
const TOP: usize = 10;

/// Severities, least first, as the detectors name them.
const SEVERITIES: &[&str] = &["info", "low", "medium", "high", "critical"];

/// The query, as given (`?since=10m&detector=dga`).
#[derive(Debug, Default, Deserialize)]
pub struct Query {
    /// Arrived within this long (`90s`, `10m`, `2h`, `1d`) or since these Unix seconds.
    pub since: Option<String>,
    /// Only after this sequence number (a follower's cursor: the largest `seq` it saw).
    pub after: Option<u64>,
    /// Raised by this detector.
    pub detector: Option<String>,
    /// About this client address.
    pub client: Option<String>,
    /// About this domain, its registered domain, or a name under it.
    pub domain: Option<String>,
    /// At least this severe.
    pub severity: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<usize>,
    /// `newest` (the default) or `oldest` first: a follower pages forward from its cursor
    /// with `after=N&order=oldest`, and loses nothing however many arrive between calls.
    pub order: Option<String>,
}

/// A query that cannot be answered, and why (a 400).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadQuery(String);

/// The answer.
#[derive(Debug, Serialize)]
pub struct Alerts {
    /// The alerts matching, newest first, each with `seq` and `received_at` (Unix seconds).
    pub alerts: Vec<Value>,
    /// How many matched (before the limit).
    pub matched: usize,
    /// The largest sequence number written so far (a follower's next `after`).
    pub last_seq: u64,
    /// The clients with the most matching alerts.
    pub top_clients: Vec<Count>,
    /// The registered domains with the most matching alerts.
    pub top_domains: Vec<Count>,
}

/// One entry of a top list.
#[derive(Debug, Serialize)]
pub struct Count {
    /// The client or domain.
    pub name: String,
    /// Its matching alerts.
    pub alerts: usize,
}

/// The fields filtered on, read from an alert line.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default)]
    detector: Option<&'a str>,
    #[serde(borrow, default)]
    severity: Option<&'a str>,
    #[serde(borrow, default)]
    client: Option<&'a str>,
    #[serde(borrow, default)]
    domain: Option<&'a str>,
    #[serde(borrow, default)]
    registered_domain: Option<&'a str>,
}

/// Parses `since`: a duration back from `now`, or Unix seconds.
pub fn parse_since(since: &str, now: SystemTime) -> Result<SystemTime, BadQuery> {
    let bad = || {
        BadQuery(format!(
            "since={since:?} is neither a duration (90s, 10m, 2h, 1d) nor Unix seconds"
        ))
    };
    let since = since.trim();
    if !since.is_empty() && since.bytes().all(|b| b.is_ascii_digit()) {
        let unix: u64 = since.parse().map_err(|_| bad())?;
        return Ok(UNIX_EPOCH + Duration::from_secs(unix));
    }
    let back = antimony_core::time::parse_duration_secs(since)
        .and_then(|s| u64::try_from(s).ok())
        .ok_or_else(bad)?;
    Ok(now
        .checked_sub(Duration::from_secs(back))
        .filter(|t| *t >= UNIX_EPOCH)
        .unwrap_or(UNIX_EPOCH))
}

fn severity_rank(severity: &str) -> Option<usize> {
    SEVERITIES.iter().position(|s| *s == severity)
}

/// Whether `name` is `wanted` or a name under it.
fn is_at_or_under(name: &str, wanted: &str) -> bool {
    name.eq_ignore_ascii_case(wanted)
        || (name.len() > wanted.len()
            && name.as_bytes()[name.len() - wanted.len() - 1] == b'.'
            && name[name.len() - wanted.len()..].eq_ignore_ascii_case(wanted))
}

/// The alerts of `feed` matching `query`.
pub fn alerts(feed: &Feed, query: &Query, now: SystemTime) -> Result<Alerts, BadQuery> {
    let since = query
        .since
        .as_deref()
        .map(|s| parse_since(s, now))
        .transpose()?;
    let least = query
        .severity
        .as_deref()
        .map(|s| {
            severity_rank(s).ok_or_else(|| {
                BadQuery(format!(
                    "severity={s:?} is not one of {}",
                    SEVERITIES.join(", ")
                ))
            })
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(BadQuery(format!(
            "limit={limit} is not between 1 and {MAX_LIMIT}"
        )));
    }
    let oldest_first = match query.order.as_deref() {
        None | Some("newest") => false,
        Some("oldest") => true,
        Some(other) => {
            return Err(BadQuery(format!(
                "order={other:?} is neither newest nor oldest"
            )));
        }
    };
    let domain = query.domain.as_deref().map(|d| d.trim_end_matches('.'));
    let lines = feed.lines(ALERT);
    let last_seq = lines.last().map_or(0, |l| l.seq);
    let mut clients: HashMap<&str, usize> = HashMap::new();
    let mut domains: HashMap<&str, usize> = HashMap::new();
    let mut matching = Vec::new();
    for fed in lines.iter().rev() {
        if query.after.is_some_and(|after| fed.seq <= after) || since.is_some_and(|t| fed.at < t) {
            break;
        }
        // The sinks wrote these lines; one that is not an alert is skipped, not fatal.
        let Ok(fields) = serde_json::from_str::<Fields<'_>>(&fed.line) else {
            continue;
        };
        let keep = query
            .detector
            .as_deref()
            .is_none_or(|d| fields.detector == Some(d))
            && query
                .client
                .as_deref()
                .is_none_or(|c| fields.client == Some(c))
            && domain.is_none_or(|d| {
                fields.domain.is_some_and(|n| is_at_or_under(n, d))
                    || fields
                        .registered_domain
                        .is_some_and(|n| is_at_or_under(n, d))
            })
            && least.is_none_or(|least| {
                fields
                    .severity
                    .and_then(severity_rank)
                    .is_some_and(|rank| rank >= least)
            });
        if !keep {
            continue;
        }
        if let Some(client) = fields.client {
            *clients.entry(client).or_default() += 1;
        }
        if let Some(name) = fields.registered_domain.or(fields.domain) {
            *domains.entry(name).or_default() += 1;
        }
        matching.push(fed);
    }
    if oldest_first {
        matching.reverse();
    }
    let alerts = matching
        .iter()
        .take(limit)
        .filter_map(|fed| {
            let Ok(Value::Object(mut alert)) = serde_json::from_str::<Value>(&fed.line) else {
                return None;
            };
            let received_at = fed
                .at
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0);
            let mut with = Map::with_capacity(alert.len() + 2);
            with.insert("seq".into(), fed.seq.into());
            with.insert("received_at".into(), received_at.into());
            with.append(&mut alert);
            Some(Value::Object(with))
        })
        .collect();
    Ok(Alerts {
        alerts,
        matched: matching.len(),
        last_seq,
        top_clients: top(clients),
        top_domains: top(domains),
    })
}

/// The [`TOP`] largest counts, largest first, ties by name.
fn top(counts: HashMap<&str, usize>) -> Vec<Count> {
    let mut counts: Vec<Count> = counts
        .into_iter()
        .map(|(name, alerts)| Count {
            name: name.to_owned(),
            alerts,
        })
        .collect();
    counts.sort_by(|a, b| b.alerts.cmp(&a.alerts).then_with(|| a.name.cmp(&b.name)));
    counts.truncate(TOP);
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(
        detector: &str,
        severity: &str,
        client: &str,
        domain: &str,
        registered: &str,
    ) -> String {
        format!(
            r#"{{"id":"x","detector":"{detector}","severity":"{severity}","client":"{client}","domain":"{domain}","registered_domain":"{registered}"}}"#
        )
    }

    fn feed() -> Feed {
        let feed = Feed::watching(&[ALERT]);
        let lines = [
            alert("dga", "low", "10.0.0.1", "qxzv.example.com", "example.com"),
            alert("threat_intel", "high", "10.0.0.2", "cdn.bad.net", "bad.net"),
            alert("dga", "medium", "10.0.0.1", "kkq.bad.net", "bad.net"),
            "not json".to_owned(),
        ];
        feed.push(ALERT, lines.iter().map(String::as_str));
        feed
    }

    fn ask(query: Query) -> Alerts {
        alerts(&feed(), &query, SystemTime::now()).expect("a good query")
    }

    fn details(answer: &Alerts, field: &str) -> Vec<String> {
        answer
            .alerts
            .iter()
            .map(|a| a[field].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn newest_first_with_sequence_and_arrival() {
        let answer = ask(Query::default());
        assert_eq!(
            details(&answer, "domain"),
            ["kkq.bad.net", "cdn.bad.net", "qxzv.example.com"]
        );
        assert_eq!(answer.alerts[0]["seq"], 3);
        assert!(
            answer.alerts[0]["received_at"]
                .as_f64()
                .is_some_and(|t| t > 1.7e9)
        );
        assert_eq!(answer.last_seq, 4);
        assert_eq!(answer.top_domains[0].name, "bad.net");
        assert_eq!(answer.top_domains[0].alerts, 2);
        assert_eq!(answer.top_clients[0].name, "10.0.0.1");
    }

    #[test]
    fn filters_combine() {
        let by_domain = ask(Query {
            domain: Some("bad.net".into()),
            ..Query::default()
        });
        assert_eq!(by_domain.matched, 2);
        let severe = ask(Query {
            severity: Some("medium".into()),
            client: Some("10.0.0.1".into()),
            ..Query::default()
        });
        assert_eq!(details(&severe, "domain"), ["kkq.bad.net"]);
        let under = ask(Query {
            domain: Some("example.com".into()),
            detector: Some("dga".into()),
            ..Query::default()
        });
        assert_eq!(details(&under, "domain"), ["qxzv.example.com"]);
        let none = ask(Query {
            domain: Some("ad.net".into()),
            ..Query::default()
        });
        assert_eq!(
            none.matched, 0,
            "a suffix that is not a whole label matches nothing"
        );
        let after = ask(Query {
            after: Some(2),
            ..Query::default()
        });
        assert_eq!(details(&after, "domain"), ["kkq.bad.net"]);
        let limited = ask(Query {
            limit: Some(1),
            ..Query::default()
        });
        assert_eq!((limited.alerts.len(), limited.matched), (1, 3));
        assert_eq!(details(&limited, "domain"), ["kkq.bad.net"]);
        let forward = ask(Query {
            after: Some(1),
            limit: Some(1),
            order: Some("oldest".into()),
            ..Query::default()
        });
        assert_eq!(details(&forward, "domain"), ["cdn.bad.net"]);
    }

    #[test]
    fn since_reads_durations_and_unix_seconds() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        let at = |s: &str| {
            parse_since(s, now).map(|t| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).ok())
        };
        assert_eq!(at("90s").ok(), Some(Some(9_910)));
        assert_eq!(at("10m").ok(), Some(Some(9_400)));
        assert_eq!(at("2h").ok(), Some(Some(2_800)));
        assert_eq!(at("1d").ok(), Some(Some(0)));
        assert_eq!(at("1234").ok(), Some(Some(1_234)));
        for bad in ["", "m", "10x", "-5m", "99999999999999999999d"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_queries_say_what_is_wrong() {
        let bad = |query: Query| {
            alerts(&feed(), &query, SystemTime::now())
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(
            bad(Query {
                severity: Some("urgent".into()),
                ..Query::default()
            })
            .is_err_and(|e| e.contains("urgent") && e.contains("critical"))
        );
        assert!(
            bad(Query {
                limit: Some(5000),
                ..Query::default()
            })
            .is_err_and(|e| e.contains("1000"))
        );
        assert!(
            bad(Query {
                since: Some("soon".into()),
                ..Query::default()
            })
            .is_err_and(|e| e.contains("soon"))
        );
    }
}
