//! The alert as a Suricata eve.json `alert` event, for the tools that read eve (Elastic's
//! and Splunk's Suricata inputs, EveBox, Wazuh, Security Onion).
//!
//! ```json
//! {"timestamp":"2017-08-12T09:35:32.000000+0000","event_type":"alert","src_ip":"10.0.0.1",
//!  "dest_port":53,"proto":"UDP","app_proto":"dns",
//!  "alert":{"action":"allowed","gid":1,"signature_id":9100001,"rev":1,
//!   "signature":"ANTIMONY DNS query for a listed domain","category":"A Network Trojan was detected",
//!   "severity":1,"metadata":{"alert_id":["6c1f…"],"detector":["threat_intel"],"score":["90"],
//!   "reason":["a.evil.com is a subdomain of evil.com, listed in maltrail (malware)"]}},
//!  "dns":{"query":[{"type":"query","rrname":"a.evil.com"}]}}
//! ```
//!
//! - `timestamp` in Suricata's form: six fractional digits and a `+0000` offset.
//! - `alert.severity` counts as Suricata does, 1 the most urgent: critical and high 1,
//!   medium 2, low and info 3. `action` is `allowed`: Antimony watches, it blocks nothing.
//! - `signature_id`, `signature` and `category` come from the detector
//!   ([`catalog`]); `gid` 1 and `rev` 1.
//! - An alert does not carry the transport of the query it came from: `dest_port` 53 and
//!   `proto` `UDP` say what DNS nearly always is. `src_ip` is absent when the source did
//!   not say the client.
//! - `alert.metadata` (lists of strings, as Suricata writes rule metadata) carries the
//!   alert id, detector, score and reason; `dns.query[].rrname` the question name.

use std::fmt::Write as _;

use antimony_core::text::{push_int, push_ip, push_json_str};

use super::catalog;
use crate::alert::{Alert, Severity};

/// Suricata's severity: 1 (high) to 3 (low).
pub fn suricata_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Critical | Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low | Severity::Info => 3,
    }
}

/// Appends `alert` as one eve `alert` event.
pub fn write(alert: &Alert, out: &mut String) {
    let signature = catalog::signature(&alert.detector);
    out.push_str("{\"timestamp\":\"");
    // What Suricata writes: always six fractional digits and a numeric offset (UTC).
    super::write_time_with_offset(alert.ts, 6, out);
    out.push_str("\",\"event_type\":\"alert\"");
    if let Some(ip) = alert.client {
        out.push_str(",\"src_ip\":\"");
        push_ip(out, ip);
        out.push('"');
    }
    out.push_str(",\"dest_port\":53,\"proto\":\"UDP\",\"app_proto\":\"dns\"");
    out.push_str(",\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":");
    push_int(out, signature.id);
    out.push_str(",\"rev\":1,\"signature\":");
    push_json_str(out, signature.title);
    out.push_str(",\"category\":");
    push_json_str(out, signature.category);
    out.push_str(",\"severity\":");
    push_int(out, suricata_severity(alert.severity));
    out.push_str(",\"metadata\":{");
    if let Some(id) = alert.id {
        let _ = write!(out, "\"alert_id\":[\"{id}\"],");
    }
    out.push_str("\"detector\":[");
    push_json_str(out, &alert.detector);
    out.push_str("],\"score\":[\"");
    push_int(out, alert.score);
    out.push_str("\"],\"reason\":[");
    push_json_str(out, &alert.reason);
    out.push_str("]}},\"dns\":{\"query\":[{\"type\":\"query\",\"rrname\":");
    push_json_str(out, &alert.domain);
    out.push_str("}]}}");
}
