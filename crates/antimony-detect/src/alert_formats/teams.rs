//! The alert as a Microsoft Teams incoming-webhook message: one Adaptive Card (1.4)
//! attachment with a title, a fact set (severity, detector, domain, client, alert id, time)
//! and the reason.
//!
//! Adaptive Card text is markdown: every character markdown gives a meaning to
//! (`\ * _ [ ] ( ) ~ `` ` `` < > # + - ! |`) is escaped with a backslash, so a domain cannot
//! become a link, emphasis or a list; names are defanged (`evil[.]com`) so Teams does not
//! link them either. Texts are cut to 2,000 characters.

use antimony_dns::time::write_rfc3339;

use super::slack::cut;
use super::{catalog, push_defanged};
use crate::alert::Alert;
use antimony_core::text::push_json_str;

/// Appends `alert` as one Teams message body (a JSON object).
pub fn write(alert: &Alert, out: &mut String) {
    let signature = catalog::signature(&alert.detector);
    let severity = alert.severity.as_str().to_ascii_uppercase();
    out.push_str(
        "{\"type\":\"message\",\"attachments\":[{\"contentType\":\"application/vnd.microsoft.card.adaptive\",\"content\":{\"$schema\":\"http://adaptivecards.io/schemas/adaptive-card.json\",\"type\":\"AdaptiveCard\",\"version\":\"1.4\",\"body\":[",
    );
    out.push_str("{\"type\":\"TextBlock\",\"size\":\"Medium\",\"weight\":\"Bolder\",\"wrap\":true,\"color\":\"");
    out.push_str(if alert.severity >= crate::Severity::High {
        "Attention"
    } else {
        "Warning"
    });
    out.push_str("\",\"text\":");
    push_json_str(out, &markdown(&format!("{severity}: {}", signature.title)));
    out.push_str("},{\"type\":\"FactSet\",\"facts\":[");
    fact(
        out,
        "Severity",
        &format!("{} (score {})", alert.severity.as_str(), alert.score),
    );
    out.push(',');
    fact(out, "Detector", &alert.detector);
    out.push(',');
    let mut domain = String::new();
    push_defanged(&mut domain, &alert.domain);
    fact(out, "Domain", &domain);
    out.push(',');
    let client = alert
        .client
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    fact(out, "Client", &client);
    out.push(',');
    let id = alert
        .id
        .map_or_else(|| "(no id)".to_owned(), |id| id.to_string());
    fact(out, "Alert id", &id);
    out.push(',');
    let mut time = String::new();
    write_rfc3339(alert.ts, &mut time);
    fact(out, "Time", &time);
    out.push_str("]},{\"type\":\"TextBlock\",\"wrap\":true,\"text\":");
    let mut reason = String::new();
    push_defanged(&mut reason, &alert.reason);
    push_json_str(out, &markdown(&reason));
    out.push_str("}]}}]}");
}

fn fact(out: &mut String, title: &str, value: &str) {
    out.push_str("{\"title\":");
    push_json_str(out, title);
    out.push_str(",\"value\":");
    push_json_str(out, &markdown(value));
    out.push('}');
}

/// `text` with markdown's characters escaped, cut to 2,000 characters (never between a
/// backslash and what it escapes).
pub(crate) fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in cut(text, 2000).chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '['
                | ']'
                | '('
                | ')'
                | '~'
                | '`'
                | '<'
                | '>'
                | '#'
                | '+'
                | '-'
                | '!'
                | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
