//! One stored alert: the columns the store indexes, and the alert's JSON line as the
//! alerts file has it.

use antimony_core::StableHasher;
use antimony_detect::{Alert, Severity};
use antimony_dns::time::parse_rfc3339;
use serde::Deserialize;

/// One alert as the store keeps it: the fields queries filter and sort on, and `json`, the
/// alert's line in the documented JSON form (`Alert::write_json`), which `--json` prints
/// back unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAlert {
    /// The alert's stable id (32 hex digits), or for an alert without one (no deduplicator
    /// in the topology), a hash of its JSON line: either way the same alert has the same id.
    pub id: String,
    /// Event time, microseconds since the Unix epoch (UTC).
    pub ts: i64,
    /// Which detector raised it.
    pub detector: String,
    /// How urgently an analyst should look.
    pub severity: Severity,
    /// The detector's confidence, 0-100.
    pub score: i64,
    /// The address that asked, when known.
    pub client: Option<String>,
    /// The question name.
    pub domain: String,
    /// Its registered domain, `""` when it has none.
    pub registered_domain: String,
    /// One sentence for a person.
    pub reason: String,
    /// The alert's JSON line (no newline).
    pub json: String,
}

/// The documented JSON form, as far as the store reads it (`evidence` stays in the line).
#[derive(Deserialize)]
struct JsonForm {
    id: Option<String>,
    ts: String,
    detector: String,
    severity: Severity,
    score: u8,
    domain: String,
    #[serde(default)]
    registered_domain: String,
    client: Option<String>,
    reason: String,
    evidence: serde_json::Map<String, serde_json::Value>,
}

impl StoredAlert {
    /// The row of an alert a topology raised.
    pub fn from_alert(alert: &Alert) -> Self {
        let json = alert.to_json();
        StoredAlert {
            id: alert
                .id
                .map_or_else(|| id_of_line(&json), |id| id.to_string()),
            ts: alert.ts,
            detector: alert.detector.to_string(),
            severity: alert.severity,
            score: i64::from(alert.score),
            client: alert.client.map(|ip| ip.to_string()),
            domain: alert.domain.clone(),
            registered_domain: alert.registered_domain.clone(),
            reason: alert.reason.clone(),
            json,
        }
    }

    /// Reads one line of an alerts file (the JSON form documented in
    /// `antimony_detect::alert`); the error says what is wrong with it.
    pub fn from_json_line(line: &str) -> Result<Self, String> {
        let line = line.trim_end_matches(['\r', '\n']);
        let form: JsonForm = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let ts = parse_rfc3339(&form.ts)
            .map_err(|e| format!("`ts` {:?} is not an RFC 3339 time: {e}", form.ts))?;
        // The form keeps evidence for people; the store only checks it is an object.
        let _ = form.evidence;
        Ok(StoredAlert {
            id: form.id.unwrap_or_else(|| id_of_line(line)),
            ts,
            detector: form.detector,
            severity: form.severity,
            score: i64::from(form.score),
            client: form.client,
            domain: form.domain,
            registered_domain: form.registered_domain,
            reason: form.reason,
            json: line.to_owned(),
        })
    }
}

/// The id of an alert that has none: FNV-1a 128 of its line, so it is stable too.
fn id_of_line(line: &str) -> String {
    format!(
        "{:032x}",
        StableHasher::new().field(line.as_bytes()).finish()
    )
}

/// The rank stored beside a severity's name, so `min_severity` is one comparison.
pub(crate) fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// The severity of a stored name; `None` for a name this version does not know.
pub(crate) fn severity_named(name: &str) -> Option<Severity> {
    Some(match name {
        "info" => Severity::Info,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => return None,
    })
}
