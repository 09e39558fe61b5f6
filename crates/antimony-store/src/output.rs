//! A query's answer for people (a table), for programs (the alerts' JSON lines, exactly as
//! the alerts file has them) and for spreadsheets (CSV, RFC 4180).

use std::fmt::Write as _;
use std::io;

use antimony_dns::time::to_rfc3339;

use crate::row::StoredAlert;

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 10] = [
    "id",
    "ts",
    "detector",
    "severity",
    "score",
    "client",
    "domain",
    "registered_domain",
    "reason",
    "evidence",
];

/// One JSON line per alert, each ending in a newline.
pub fn write_json(alerts: &[StoredAlert], out: &mut impl io::Write) -> io::Result<()> {
    for alert in alerts {
        out.write_all(alert.json.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// CSV with a header row ([`CSV_HEADER`]), quoted as RFC 4180 says (by the `csv` crate);
/// `evidence` is the alert's evidence object as JSON text. A text cell that a spreadsheet
/// would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return:
/// domains and reasons are chosen by attackers) is written with a `'` in front, as OWASP
/// advises; `--json` gives the values untouched.
pub fn write_csv(alerts: &[StoredAlert], out: impl io::Write) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let csv_error = |e: csv::Error| io::Error::other(e.to_string());
    writer.write_record(CSV_HEADER).map_err(csv_error)?;
    for a in alerts {
        let score = a.score.to_string();
        let evidence = evidence_of(&a.json);
        writer
            .write_record([
                a.id.as_str(),
                &to_rfc3339(a.ts),
                &formula_safe(&a.detector),
                a.severity.as_str(),
                &score,
                a.client.as_deref().unwrap_or(""),
                &formula_safe(&a.domain),
                &formula_safe(&a.registered_domain),
                &formula_safe(&a.reason),
                &evidence,
            ])
            .map_err(csv_error)?;
    }
    writer.flush()
}

/// `text`, with a `'` in front if a spreadsheet would take it for a formula.
pub fn formula_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The `evidence` object of an alert's JSON line, as JSON text (`{}` when there is none).
pub fn evidence_of(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("evidence").map(ToString::to_string))
        .unwrap_or_else(|| "{}".to_owned())
}

/// A table for a terminal: time, severity, detector, client, domain, reason. Control
/// characters in the text (a domain is chosen by an attacker) are shown escaped, so none
/// can move the cursor or recolour the terminal.
pub fn table(alerts: &[StoredAlert]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<27} {:<8} {:<14} {:<39} {:<40} REASON",
        "TIME", "SEVERITY", "DETECTOR", "CLIENT", "DOMAIN"
    );
    for a in alerts {
        let _ = writeln!(
            out,
            "{:<27} {:<8} {:<14} {:<39} {:<40} {}",
            to_rfc3339(a.ts),
            a.severity.as_str(),
            printable(&a.detector),
            printable(a.client.as_deref().unwrap_or("-")),
            printable(&a.domain),
            printable(&a.reason)
        );
    }
    out
}

/// `text` with control characters written as `\u{..}`.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}
