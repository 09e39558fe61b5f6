//! The page.

use std::fmt::Write as _;

use antimony_dns::time::to_rfc3339;

use super::chart::{COLOURS, NAMES, timeline};
use super::stats::{BySeverity, Stats};
use super::{MAX_TABLE_ROWS, ReportInput, escape};
use crate::output::evidence_of;
use crate::row::severity_rank;

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111827;background:#f9fafb}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#6b7280}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;background:#fff;border:1px solid #e5e7eb}
th,td{padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.name,td.reason,td.ev{word-break:break-all;max-width:420px}
td.ev{font-family:ui-monospace,monospace;font-size:12px;color:#374151}
.sev{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:24px}
svg{background:#fff;border:1px solid #e5e7eb;max-width:100%}
svg .axis{stroke:#9ca3af}svg .tick{font-size:11px;fill:#4b5563}
";

/// The report page for `input`.
pub fn render(input: &ReportInput<'_>) -> String {
    let stats = Stats::of(input.alerts);
    let mut page = String::with_capacity(4096 + input.alerts.len().min(MAX_TABLE_ROWS) * 400);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Antimony alert report</title><style>{STYLE}</style></head><body>\
         <h1>Antimony alert report</h1><p class=\"muted\">From {source}{filters}; made {made}.</p>",
        source = escape(input.source),
        filters = if input.filters.is_empty() {
            String::new()
        } else {
            format!(", {}", escape(input.filters))
        },
        made = escape(&to_rfc3339(input.generated)),
    );
    summary(&mut page, &stats);
    page.push_str("<h2>Timeline</h2>");
    page.push_str(&timeline(input.alerts));
    page.push_str("<div class=\"grid\"><div><h2>By detector and severity</h2>");
    breakdown(
        &mut page,
        "Detector",
        stats.by_detector.iter().map(|(k, v)| (k.as_str(), v)),
    );
    page.push_str("</div><div><h2>Top clients</h2>");
    breakdown(
        &mut page,
        "Client",
        stats.top_clients.iter().map(|(k, v)| (k.as_str(), v)),
    );
    page.push_str("</div><div><h2>Top domains</h2>");
    breakdown(
        &mut page,
        "Domain",
        stats.top_domains.iter().map(|(k, v)| (k.as_str(), v)),
    );
    page.push_str("</div></div>");
    alert_table(&mut page, input);
    if !input.unreadable.is_empty() {
        let _ = write!(
            page,
            "<h2>Unreadable lines</h2><p class=\"muted\">{} lines of the alerts file are not alerts and are left out:</p><ul id=\"unreadable\">",
            input.unreadable.len()
        );
        for u in input.unreadable.iter().take(100) {
            let _ = write!(
                page,
                "<li>{}: {}</li>",
                escape(&u.location),
                escape(&u.reason)
            );
        }
        page.push_str("</ul>");
    }
    page.push_str("</body></html>\n");
    page
}

fn severity_badge(rank: usize) -> String {
    format!(
        "<span class=\"sev\" style=\"background:{}\">{}</span>",
        COLOURS[rank], NAMES[rank]
    )
}

fn summary(page: &mut String, stats: &Stats) {
    let span = match stats.span {
        Some((first, last)) => format!("{} to {}", to_rfc3339(first), to_rfc3339(last)),
        None => "none".to_owned(),
    };
    let _ = write!(
        page,
        "<h2>Summary</h2><div class=\"cards\" id=\"summary\">\
         <div class=\"card\">Alerts<b id=\"total\">{}</b></div>\
         <div class=\"card\">Clients<b>{}</b></div>\
         <div class=\"card\">Domains<b>{}</b></div>\
         <div class=\"card\">Time span<b style=\"font-size:14px\">{}</b></div>",
        stats.alerts,
        stats.clients,
        stats.domains,
        escape(&span)
    );
    for rank in (0..5).rev() {
        let _ = write!(
            page,
            "<div class=\"card\">{}<b>{}</b></div>",
            severity_badge(rank),
            stats.by_severity[rank]
        );
    }
    page.push_str("</div>");
}

fn breakdown<'a>(
    page: &mut String,
    what: &str,
    rows: impl Iterator<Item = (&'a str, &'a BySeverity)>,
) {
    let _ = write!(page, "<table><tr><th>{what}</th>");
    for rank in (0..5).rev() {
        let _ = write!(page, "<th>{}</th>", NAMES[rank]);
    }
    page.push_str("<th>all</th></tr>");
    for (name, counts) in rows {
        let _ = write!(page, "<tr><td class=\"name\">{}</td>", escape(name));
        for rank in (0..5).rev() {
            let _ = write!(page, "<td class=\"n\">{}</td>", counts[rank]);
        }
        let _ = write!(
            page,
            "<td class=\"n\">{}</td></tr>",
            counts.iter().sum::<u64>()
        );
    }
    page.push_str("</table>");
}

fn alert_table(page: &mut String, input: &ReportInput<'_>) {
    let shown = input.alerts.len().min(MAX_TABLE_ROWS);
    let _ = write!(page, "<h2>Alerts</h2>");
    if shown < input.alerts.len() {
        let _ = write!(
            page,
            "<p class=\"muted\">The newest {shown} of {} alerts (the counts above are of all of them).</p>",
            input.alerts.len()
        );
    }
    page.push_str(
        "<table id=\"alerts\"><thead><tr><th>Time</th><th>Severity</th><th>Detector</th><th>Score</th>\
         <th>Client</th><th>Domain</th><th>Reason</th><th>Evidence</th></tr></thead><tbody>",
    );
    for a in &input.alerts[input.alerts.len() - shown..] {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"name\">{}</td><td class=\"reason\">{}</td><td class=\"ev\">{}</td></tr>",
            escape(&to_rfc3339(a.ts)),
            severity_badge(severity_rank(a.severity) as usize),
            escape(&a.detector),
            a.score,
            escape(a.client.as_deref().unwrap_or("")),
            escape(&a.domain),
            escape(&a.reason),
            escape(&evidence_of(&a.json)),
        );
    }
    page.push_str("</tbody></table>");
}
