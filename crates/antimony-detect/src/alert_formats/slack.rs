//! The alert as a Slack incoming-webhook message: a `text` fallback (notifications,
//! clients without blocks) and blocks with the severity, detector, domain, client and
//! reason.
//!
//! Domains are chosen by attackers, and Slack reads message text as mrkdwn: `&`, `<` and
//! `>` are escaped (`&amp;`, `&lt;`, `&gt;`), so no text becomes a `<link|label>`, a
//! `<@user>` or a `<!channel>` mention; names are defanged (`evil[.]com`) so Slack does not
//! turn them into links, and the domain and client are shown in code spans (a backtick in
//! them becomes `'`, so they cannot leave the span). Texts are cut to fit Slack's limits
//! (150 characters for a header, 2,000 for a field, 3,000 for a section), on a character.

use antimony_dns::time::write_rfc3339;

use super::{catalog, push_defanged};
use crate::alert::Alert;
use antimony_core::text::{push_int, push_json_str};

/// Appends `alert` as one Slack message body (a JSON object).
pub fn write(alert: &Alert, out: &mut String) {
    let signature = catalog::signature(&alert.detector);
    let severity = alert.severity.as_str().to_ascii_uppercase();
    let domain = defanged(&alert.domain);
    let client = alert
        .client
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());

    let mut fallback = format!(
        "[{severity}] {}: {domain} asked by {client}: ",
        alert.detector
    );
    push_defanged(&mut fallback, &alert.reason);
    out.push_str("{\"text\":");
    push_json_str(out, &mrkdwn(&fallback, 3000));

    out.push_str(",\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":");
    push_json_str(out, &cut(&format!("{severity}: {}", signature.title), 150));
    out.push_str(",\"emoji\":false}},{\"type\":\"section\",\"fields\":[");
    let mut severity_field = format!("*Severity*\n{} (score ", alert.severity.as_str());
    push_int(&mut severity_field, alert.score);
    severity_field.push(')');
    field(out, &severity_field);
    out.push(',');
    field(out, &format!("*Detector*\n{}", code(&alert.detector)));
    out.push(',');
    field(out, &format!("*Domain*\n{}", code(&domain)));
    out.push(',');
    field(out, &format!("*Client*\n{}", code(&client)));
    out.push_str("]},{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");
    let mut reason = "*Reason*\n".to_owned();
    push_defanged(&mut reason, &alert.reason);
    push_json_str(out, &mrkdwn(&reason, 3000));
    out.push_str("}},{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":");
    let mut context = String::from("Antimony alert ");
    match alert.id {
        Some(id) => context.push_str(&id.to_string()),
        None => context.push_str("(no id)"),
    }
    context.push_str(" at ");
    write_rfc3339(alert.ts, &mut context);
    push_json_str(out, &mrkdwn(&context, 3000));
    out.push_str("}]}]}");
}

fn field(out: &mut String, text: &str) {
    out.push_str("{\"type\":\"mrkdwn\",\"text\":");
    push_json_str(out, &mrkdwn(text, 2000));
    out.push('}');
}

fn defanged(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    push_defanged(&mut out, name);
    out
}

/// `` `text` ``, with backticks inside made `'` so the span cannot be closed early.
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

/// `text` with `&`, `<` and `>` escaped as Slack asks, cut to `max` characters.
pub(crate) fn mrkdwn(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    cut(&out, max)
}

/// The first `max` characters of `text` (the last one `…` when something was cut), never
/// splitting an escape such as `&amp;`: a cut one is dropped whole.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    if let Some(amp) = out.rfind('&')
        && !out[amp..].contains(';')
    {
        out.truncate(amp);
    }
    out.push('…');
    out
}
