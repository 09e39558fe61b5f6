//! The alert as an Elastic Common Schema 8.x document: one JSON object of nested objects,
//! what Elasticsearch, OpenSearch and Kibana's security views read without a pipeline.
//!
//! ```json
//! {"@timestamp":"2017-08-12T09:35:32Z","ecs":{"version":"8.11.0"},
//!  "event":{"kind":"alert","category":["network"],"type":["info"],"severity":8,
//!   "risk_score":90,"id":"6c1f…","dataset":"antimony.alert","module":"antimony",
//!   "reason":"a.evil.com is a subdomain of evil.com, listed in maltrail (malware)"},
//!  "message":"a.evil.com is a subdomain of evil.com, listed in maltrail (malware)",
//!  "rule":{"name":"threat_intel","id":"9100001","description":"ANTIMONY DNS query for a listed domain",
//!   "category":"A Network Trojan was detected","ruleset":"antimony"},
//!  "dns":{"type":"query","question":{"name":"a.evil.com","registered_domain":"evil.com",
//!   "subdomain":"a","top_level_domain":"com"}},
//!  "source":{"ip":"10.0.0.1"},"related":{"ip":["10.0.0.1"],"hosts":["a.evil.com"]},
//!  "threat":{"indicator":{"type":"domain-name","name":"evil.com","url":{"domain":"evil.com"},
//!   "provider":"maltrail","description":"malware"},"feed":{"name":"maltrail"}},
//!  "antimony":{"score":90,"severity":"high","evidence":{"entry":"evil.com", …}}}
//! ```
//!
//! - `event.severity` is [`severity_number`] (0-10) and
//!   `event.risk_score` the detector's score (0-100). `event.id` is the alert id (absent
//!   on an alert no deduplicator gave one).
//! - `dns.question.registered_domain`, `subdomain` and `top_level_domain` (the public
//!   suffix) are written when the name has them.
//! - `source.ip` and `related.ip` are the client, when the source said.
//! - `threat.*` only on list hits (alerts whose evidence has `lists`):
//!   `threat.indicator.type` is `domain-name`, `threat.indicator.name` and `url.domain` the
//!   listed entry, `threat.indicator.provider` and `threat.feed.name` the first list that
//!   holds it (every list is in `antimony.evidence.lists`), `threat.indicator.description`
//!   its categories and `threat.software.name` the malware family when the list says.
//! - `antimony.*` keeps what ECS has no field for: the score, the severity's name and the
//!   detector's evidence object as in the JSON form.
//! - `event.dataset` is `antimony.alert`: ECS asks datasets to be `module.name`.

use std::fmt::Write as _;

use antimony_core::text::{push_int, push_ip, push_json_str};
use antimony_dns::domain::public_suffix;
use antimony_dns::time::write_rfc3339;

use super::{catalog, severity_number};
use crate::alert::{Alert, Evidence};

/// The ECS version the documents follow.
pub const ECS_VERSION: &str = "8.11.0";

/// Appends `alert` as one ECS document.
pub fn write(alert: &Alert, out: &mut String) {
    let signature = catalog::signature(&alert.detector);
    out.push_str("{\"@timestamp\":\"");
    write_rfc3339(alert.ts, out);
    out.push_str("\",\"ecs\":{\"version\":\"");
    out.push_str(ECS_VERSION);
    out.push_str(
        "\"},\"event\":{\"kind\":\"alert\",\"category\":[\"network\"],\"type\":[\"info\"],\"severity\":",
    );
    push_int(out, severity_number(alert.severity));
    out.push_str(",\"risk_score\":");
    push_int(out, alert.score);
    if let Some(id) = alert.id {
        let _ = write!(out, ",\"id\":\"{id}\"");
    }
    out.push_str(",\"dataset\":\"antimony.alert\",\"module\":\"antimony\",\"reason\":");
    push_json_str(out, &alert.reason);
    out.push_str("},\"message\":");
    push_json_str(out, &alert.reason);

    out.push_str(",\"rule\":{\"name\":");
    push_json_str(out, &alert.detector);
    out.push_str(",\"id\":\"");
    push_int(out, signature.id);
    out.push_str("\",\"description\":");
    push_json_str(out, signature.title);
    out.push_str(",\"category\":");
    push_json_str(out, signature.category);
    out.push_str(",\"ruleset\":\"antimony\"}");

    write_dns(alert, out);

    if let Some(ip) = alert.client {
        out.push_str(",\"source\":{\"ip\":\"");
        push_ip(out, ip);
        out.push_str("\"}");
    }
    out.push_str(",\"related\":{");
    if let Some(ip) = alert.client {
        out.push_str("\"ip\":[\"");
        push_ip(out, ip);
        out.push_str("\"],");
    }
    out.push_str("\"hosts\":[");
    push_json_str(out, &alert.domain);
    out.push_str("]}");

    write_threat(alert, out);

    out.push_str(",\"antimony\":{\"score\":");
    push_int(out, alert.score);
    out.push_str(",\"severity\":\"");
    out.push_str(alert.severity.as_str());
    out.push_str("\",\"evidence\":");
    alert.write_evidence_json(out);
    out.push_str("}}");
}

/// `dns.question.*`: the name and, when it has them, its parts.
fn write_dns(alert: &Alert, out: &mut String) {
    out.push_str(",\"dns\":{\"type\":\"query\",\"question\":{\"name\":");
    push_json_str(out, &alert.domain);
    let registered = alert.registered_domain.as_str();
    if !registered.is_empty() {
        out.push_str(",\"registered_domain\":");
        push_json_str(out, registered);
        if let Some(sub) = alert
            .domain
            .strip_suffix(registered)
            .and_then(|s| s.strip_suffix('.'))
            .filter(|s| !s.is_empty())
        {
            out.push_str(",\"subdomain\":");
            push_json_str(out, sub);
        }
    }
    if let Some(suffix) = public_suffix(&alert.domain).filter(|s| !s.is_empty()) {
        out.push_str(",\"top_level_domain\":");
        push_json_str(out, suffix);
    }
    out.push_str("}}");
}

fn text<'a>(alert: &'a Alert, key: &str) -> Option<&'a str> {
    match alert.evidence_value(key) {
        Some(Evidence::Text(s)) => Some(s),
        _ => None,
    }
}

fn list<'a>(alert: &'a Alert, key: &str) -> Option<&'a [String]> {
    match alert.evidence_value(key) {
        Some(Evidence::List(items)) => Some(items),
        _ => None,
    }
}

/// `threat.*` for a list hit: the indicator (the listed entry) and the feed that holds it.
fn write_threat(alert: &Alert, out: &mut String) {
    let Some(lists) = list(alert, "lists") else {
        return;
    };
    let entry = text(alert, "entry").unwrap_or(&alert.domain);
    out.push_str(",\"threat\":{\"indicator\":{\"type\":\"domain-name\",\"name\":");
    push_json_str(out, entry);
    out.push_str(",\"url\":{\"domain\":");
    push_json_str(out, entry);
    out.push('}');
    let first = lists.first();
    if let Some(provider) = first {
        out.push_str(",\"provider\":");
        push_json_str(out, provider);
    }
    if let Some(categories) = list(alert, "categories").filter(|c| !c.is_empty()) {
        out.push_str(",\"description\":");
        push_json_joined(out, categories, ", ");
    }
    out.push('}');
    if let Some(feed) = first {
        out.push_str(",\"feed\":{\"name\":");
        push_json_str(out, feed);
        out.push('}');
    }
    if let Some(family) = text(alert, "family") {
        out.push_str(",\"software\":{\"name\":");
        push_json_str(out, family);
        out.push('}');
    }
    out.push('}');
}

/// `items` joined by `separator`, as one JSON string, without building the joined text
/// first (this is on a sink's path, once per alert).
fn push_json_joined(out: &mut String, items: &[String], separator: &str) {
    out.push('"');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        // The item escaped, without the quotes `push_json_str` puts around it.
        let start = out.len();
        push_json_str(out, item);
        out.pop();
        out.remove(start);
    }
    out.push('"');
}
