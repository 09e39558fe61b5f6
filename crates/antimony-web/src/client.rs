//! The API's own client, behind the lifecycle commands (`antimony status`, `kill`,
//! `alerts`...): blocking calls (ureq: a command makes a few, no runtime needed), and the
//! text a person reads of their answers.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

/// Why a call got no answer to use.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answers at the address.
    #[error(
        "no Topology Master answers at {url}: {error} (is the topology running, with --api at that address?)"
    )]
    Unreachable {
        /// The API's address.
        url: String,
        /// Why.
        error: ureq::Error,
    },
    /// The API refused the call (a missing token, a bad filter).
    #[error("{url} refused ({status}): {why}")]
    Refused {
        /// The call.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The API's reason.
        why: String,
    },
    /// The answer is not the API's JSON.
    #[error("{url} answered {status} with no JSON: {error}")]
    NotJson {
        /// The call.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Why.
        error: ureq::Error,
    },
}

/// A Topology Master, over HTTP.
#[derive(Debug)]
pub struct Master {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Master {
    /// The master at `url` (`http://127.0.0.1:8700`), with its token if it needs one.
    pub fn new(url: &str, token: Option<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            // A refusal's body says why: read it rather than stop at the status.
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Master {
            agent,
            base: url.trim_end_matches('/').to_owned(),
            token: token.filter(|t| !t.is_empty()),
        }
    }

    /// Its address.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET path?query`.
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ClientError> {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (key, value) in query {
            request = request.query(*key, value);
        }
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        self.answer(path, request.call())
    }

    /// `POST path`.
    pub fn post(&self, path: &str) -> Result<Value, ClientError> {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        self.answer(path, request.send_empty())
    }

    /// `POST path` with a JSON body.
    pub fn post_json(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<Value, ClientError> {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        self.answer(path, request.send_json(body))
    }

    fn answer(
        &self,
        path: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, ClientError> {
        let mut response = response.map_err(|error| ClientError::Unreachable {
            url: self.base.clone(),
            error,
        })?;
        let url = format!("{}{path}", self.base);
        let status = response.status().as_u16();
        let body: Value =
            response
                .body_mut()
                .read_json()
                .map_err(|error| ClientError::NotJson {
                    url: url.clone(),
                    status,
                    error,
                })?;
        if !(200..300).contains(&status) {
            let why = body["error"]
                .as_str()
                .unwrap_or("no reason given")
                .to_owned();
            return Err(ClientError::Refused { url, status, why });
        }
        Ok(body)
    }

    /// Whether the master still answers at all.
    pub fn answers(&self) -> bool {
        self.agent
            .get(format!("{}/healthz", self.base))
            .call()
            .is_ok()
    }
}

/// `antimony status`'s table: the plan's components with their counts, rates, processing
/// times and flow, then each one's own series.
pub fn status_table(topology: &Value, stats: &Value) -> String {
    let physical = &topology["physical"];
    let plural =
        |n: &Value, one: &'static str, many: &'static str| if *n == 1 { one } else { many };
    let mut out = format!(
        "{}: {} for {}, {} process{} x {} worker{}\n\n",
        printable(topology["name"].as_str().unwrap_or("?")),
        stats["state"].as_str().unwrap_or("?"),
        duration(stats["uptime_s"].as_f64().unwrap_or(0.0)),
        physical["processes"],
        plural(&physical["processes"], "", "es"),
        physical["workers_per_process"],
        plural(&physical["workers_per_process"], "", "s"),
    );
    let _ = writeln!(
        out,
        "{:<14} {:<14} {:>10} {:>10} {:>12} {:>12} {:>9} {:>9}  flow",
        "component", "type", "in/s", "out/s", "received", "emitted", "set aside", "p99"
    );
    let empty = Vec::new();
    let components = stats["components"].as_array().unwrap_or(&empty);
    for c in components {
        let spout = c["role"] == "spout";
        let flow = if c["backpressured"] == true {
            format!(
                "backpressured for {}",
                duration(c["backpressured_for_s"].as_f64().unwrap_or(0.0))
            )
        } else if spout {
            format!("{} epochs in flight", c["in_flight"])
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:<14} {:<14} {:>10} {:>10} {:>12} {:>12} {:>9} {:>9}  {flow}",
            printable(c["name"].as_str().unwrap_or("?")),
            printable(c["type"].as_str().unwrap_or("?")),
            if spout {
                "-".to_owned()
            } else {
                rate(&c["received_per_s"])
            },
            rate(&c["emitted_per_s"]),
            c["received"].to_string(),
            c["emitted"].to_string(),
            c["dead_letters"].to_string(),
            c["activation_p99_s"]
                .as_f64()
                .map_or_else(|| "-".to_owned(), seconds),
        );
    }
    for c in components {
        let Some(series) = c["series"].as_object().filter(|s| !s.is_empty()) else {
            continue;
        };
        let values: Vec<String> = series
            .iter()
            .map(|(k, v)| format!("{} {v}", printable(k)))
            .collect();
        let _ = writeln!(
            out,
            "  {}: {}",
            printable(c["name"].as_str().unwrap_or("?")),
            values.join(", ")
        );
    }
    out
}

fn rate(value: &Value) -> String {
    let r = value.as_f64().unwrap_or(0.0);
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.1} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} us", s * 1e6)
    }
}

fn duration(s: f64) -> String {
    let s = s as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// Text from a log (a domain is chosen by whoever registered it) made safe for a
/// terminal: control characters, escape sequences among them, are shown escaped.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// One alert as a line of text: event time, severity, detector, domain, client, reason.
pub fn alert_line(alert: &Value) -> String {
    let field = |name: &str| printable(alert[name].as_str().unwrap_or("-")).into_owned();
    format!(
        "{}  {:<8} {:<13} {:<40} {:<16} {}",
        field("ts"),
        field("severity"),
        field("detector"),
        field("domain"),
        field("client"),
        field("reason"),
    )
}

/// What matched, and the top clients and domains, after a list of alerts.
pub fn alerts_footer(answer: &Value, shown: usize) -> String {
    let top = |key: &str| {
        answer[key]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .take(5)
                    .map(|e| {
                        format!(
                            "{} ({})",
                            printable(e["name"].as_str().unwrap_or("?")),
                            e["alerts"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    format!(
        "\n{} alerts matched, {shown} shown\n  top clients: {}\n  top domains: {}\n",
        answer["matched"],
        top("top_clients"),
        top("top_domains")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_output_escapes_control_characters() {
        assert_eq!(printable("example.com"), "example.com");
        assert_eq!(printable("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(printable("x\ny"), "x\\ny");
        let alert = serde_json::json!({"domain": "\u{1b}]0;owned\u{7}.example", "reason": "r"});
        assert!(!alert_line(&alert).contains('\u{1b}'));
    }

    #[test]
    fn the_status_table_shows_each_component() {
        let topology = serde_json::json!({
            "name": "t",
            "physical": {"processes": 1, "workers_per_process": 2}
        });
        let stats = serde_json::json!({
            "state": "running", "uptime_s": 75.0,
            "components": [
                {"name": "logs", "type": "file", "role": "spout", "received": 0, "emitted": 9,
                 "dead_letters": 0, "emitted_per_s": 1234.0, "backpressured": true,
                 "backpressured_for_s": 3, "in_flight": 4, "series": {"bytes read": 100}},
                {"name": "parse", "type": "dns_parse", "role": "bolt", "received": 9,
                 "emitted": 90, "dead_letters": 1, "received_per_s": 2.5, "emitted_per_s": 25.0,
                 "activation_p99_s": 0.002, "series": {}}
            ]
        });
        let table = status_table(&topology, &stats);
        assert!(
            table.starts_with("t: running for 1 min 15 s, 1 process x 2 workers"),
            "{table}"
        );
        assert!(table.contains("backpressured for 3 s"), "{table}");
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("parse") && l.contains("2.0 ms") && l.contains("25.0")),
            "{table}"
        );
        assert!(table.contains("  logs: bytes read 100"), "{table}");
    }
}
