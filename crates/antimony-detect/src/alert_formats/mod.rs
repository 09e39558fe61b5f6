//! Alert bodies for the places analysts work: SIEMs (ECS for Elastic, Suricata's eve, CEF
//! for ArcSight, LEEF for QRadar) and chat (Slack and Teams incoming webhooks).
//!
//! Pure text: each format appends one alert to a `String`, one line, no newline, and the
//! sinks that carry them (files, syslog, HTTP) choose by name. Every value that came from
//! the outside (domains, reasons, evidence: chosen by attackers) is escaped as its format
//! requires, so an alert is always one well-formed line, whatever its domain holds.
//!
//! | name | what | escaping |
//! |---|---|---|
//! | `json` | the documented JSON form ([`Alert::write_json`]) | JSON |
//! | `ecs` | Elastic Common Schema 8.x, nested objects ([`ecs`]) | JSON |
//! | `eve` | a Suricata eve.json `alert` event ([`eve`]) | JSON |
//! | `cef` | ArcSight Common Event Format ([`cef`]) | `\|` and `\\` in the header; `\\`, `\=`, `\n`, `\r` in extensions |
//! | `leef` | QRadar LEEF 2.0, tab-delimited ([`leef`]) | `\|` and `\\` in the header; `\\`, `\t`, `\n`, `\r` in attributes |
//! | `slack` | Slack incoming webhook: text and blocks ([`slack`]) | JSON, mrkdwn `&<>`, names defanged |
//! | `teams` | Teams incoming webhook: an Adaptive Card ([`teams`]) | JSON, markdown, names defanged |
//!
//! # Severity scales
//!
//! Formats that want a number get one scale, [`severity_number`] (CEF's 0-10, also LEEF's
//! `sev` and ECS's `event.severity`): info 1, low 3, medium 5, high 8, critical 10. Suricata
//! counts the other way, 1 the most urgent ([`eve`]).

pub mod catalog;
pub mod cef;
pub mod ecs;
pub mod eve;
pub mod leef;
pub mod slack;
pub mod teams;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use antimony_dns::time::CivilDateTime;

use crate::alert::{Alert, Severity};

/// The body formats of a line-oriented alert output (a file, syslog, a broker).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertFormat {
    /// The documented JSON form ([`Alert::write_json`]).
    #[default]
    Json,
    /// Elastic Common Schema 8.x, as nested JSON objects.
    Ecs,
    /// A Suricata eve.json `alert` event.
    Eve,
    /// ArcSight Common Event Format.
    Cef,
    /// QRadar Log Event Extended Format 2.0.
    Leef,
}

impl AlertFormat {
    /// Every line format, in the order `antimony components` lists them.
    pub const ALL: [AlertFormat; 5] = [
        AlertFormat::Json,
        AlertFormat::Ecs,
        AlertFormat::Eve,
        AlertFormat::Cef,
        AlertFormat::Leef,
    ];

    /// The name topology files use (`"ecs"`).
    pub fn name(self) -> &'static str {
        match self {
            AlertFormat::Json => "json",
            AlertFormat::Ecs => "ecs",
            AlertFormat::Eve => "eve",
            AlertFormat::Cef => "cef",
            AlertFormat::Leef => "leef",
        }
    }

    /// One line for `antimony components`.
    pub fn describe(self) -> &'static str {
        match self {
            AlertFormat::Json => {
                "Antimony's documented JSON form: id, ts, detector, severity, score, domain, client, reason, evidence"
            }
            AlertFormat::Ecs => {
                "Elastic Common Schema 8.x JSON (event.*, rule.name, dns.question.*, source.ip, threat.indicator.* on list hits) for Elasticsearch/OpenSearch"
            }
            AlertFormat::Eve => {
                "Suricata eve.json `alert` events (timestamp, src_ip, alert.signature_id/severity, dns) for tools that read eve"
            }
            AlertFormat::Cef => {
                "ArcSight CEF:0 (severity 0-10, rt, src, dhost, msg, externalId = alert id), escaped as CEF requires"
            }
            AlertFormat::Leef => {
                "QRadar LEEF:2.0, tab-delimited attributes (devTime, src, sev, cat), escaped as LEEF requires"
            }
        }
    }

    /// Whether the body is JSON (a JSON-lines file or an HTTP body can carry it as is).
    pub fn is_json(self) -> bool {
        matches!(
            self,
            AlertFormat::Json | AlertFormat::Ecs | AlertFormat::Eve
        )
    }
}

impl fmt::Display for AlertFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name no format has.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown alert format `{0}` (expected {1})")]
pub struct UnknownFormat(pub String, pub &'static str);

impl FromStr for AlertFormat {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        AlertFormat::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| UnknownFormat(name.to_owned(), "json, ecs, eve, cef or leef"))
    }
}

/// The chat message styles of a webhook output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatFormat {
    /// A Slack incoming-webhook message.
    Slack,
    /// A Microsoft Teams incoming-webhook message carrying an Adaptive Card.
    Teams,
}

impl ChatFormat {
    /// Both styles, in the order `antimony components` lists them.
    pub const ALL: [ChatFormat; 2] = [ChatFormat::Slack, ChatFormat::Teams];

    /// The name topology files use (`"slack"`).
    pub fn name(self) -> &'static str {
        match self {
            ChatFormat::Slack => "slack",
            ChatFormat::Teams => "teams",
        }
    }

    /// One line for `antimony components`.
    pub fn describe(self) -> &'static str {
        match self {
            ChatFormat::Slack => {
                "Slack incoming-webhook JSON: a text fallback and blocks (severity, detector, domain, client, reason); domains defanged, mrkdwn escaped"
            }
            ChatFormat::Teams => {
                "Teams incoming-webhook JSON: an Adaptive Card with the same facts; domains defanged, markdown escaped"
            }
        }
    }
}

impl fmt::Display for ChatFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChatFormat {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ChatFormat::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| UnknownFormat(name.to_owned(), "slack or teams"))
    }
}

/// The 0-10 scale of CEF's severity, LEEF's `sev` and ECS's `event.severity`: info 1,
/// low 3, medium 5, high 8, critical 10 (CEF reads 0-3 low, 4-6 medium, 7-8 high, 9-10
/// very high).
pub fn severity_number(severity: Severity) -> u8 {
    match severity {
        Severity::Info => 1,
        Severity::Low => 3,
        Severity::Medium => 5,
        Severity::High => 8,
        Severity::Critical => 10,
    }
}

impl Alert {
    /// Appends the alert in `format` (one line, no newline) to `out`.
    pub fn write_as(&self, format: AlertFormat, out: &mut String) {
        match format {
            AlertFormat::Json => self.write_json(out),
            AlertFormat::Ecs => ecs::write(self, out),
            AlertFormat::Eve => eve::write(self, out),
            AlertFormat::Cef => cef::write(self, out),
            AlertFormat::Leef => leef::write(self, out),
        }
    }

    /// Appends a chat message body for `format` (one JSON object, no newline) to `out`.
    pub fn write_chat(&self, format: ChatFormat, out: &mut String) {
        match format {
            ChatFormat::Slack => self.write_slack(out),
            ChatFormat::Teams => self.write_teams(out),
        }
    }

    /// Appends a Slack incoming-webhook body ([`slack`]).
    pub fn write_slack(&self, out: &mut String) {
        slack::write(self, out);
    }

    /// Appends a Teams incoming-webhook body ([`teams`]).
    pub fn write_teams(&self, out: &mut String) {
        teams::write(self, out);
    }

    /// The evidence value under `key`, if the detector gave one.
    pub fn evidence_value(&self, key: &str) -> Option<&crate::alert::Evidence> {
        self.evidence.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Appends `name` with every `.` that starts a label (a letter, digit or `-` before it, a
/// letter after it) written `[.]`: `evil[.]com`. The analysts' habit for names shown in
/// chat: no client turns a defanged name into a link, so nobody clicks through to it.
/// Numbers (`0.97`) and addresses keep their dots.
/// `2017-08-12T09:35:32.000+0000`: UTC with `digits` fractional digits (3: milliseconds,
/// otherwise 6: microseconds) and a numeric offset, as eve and LEEF readers parse it.
pub(crate) fn write_time_with_offset(ts: i64, digits: u8, out: &mut String) {
    let t = CivilDateTime::from_micros(ts);
    let pad = |out: &mut String, n: u64, width: usize| {
        antimony_core::text::push_int_padded(out, n, width);
    };
    if t.year < 0 {
        // Before year 0: no reader expects it, but the text stays well formed.
        out.push('-');
    }
    pad(out, u64::from(t.year.unsigned_abs()), 4);
    for (separator, n) in [
        ('-', t.month),
        ('-', t.day),
        ('T', t.hour),
        (':', t.minute),
        (':', t.second),
    ] {
        out.push(separator);
        pad(out, u64::from(n), 2);
    }
    out.push('.');
    let micros = u64::from(t.micros);
    if digits == 3 {
        pad(out, micros / 1000, 3);
    } else {
        pad(out, micros, 6);
    }
    out.push_str("+0000");
}

pub(crate) fn push_defanged(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'.'
            && i > 0
            && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-')
            && bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic)
        {
            out.push_str(&text[start..i]);
            out.push_str("[.]");
            start = i + 1;
        }
    }
    out.push_str(&text[start..]);
}
