//! `antimony report`: one self-contained HTML page about a set of alerts, for a person to
//! open or mail: a summary, alerts by detector and severity, the top clients and domains, a
//! timeline chart (inline SVG) and the alert table with reasons.
//!
//! The page needs no network and runs no script: inline CSS, inline SVG, and a
//! Content-Security-Policy that forbids scripts, as a second guard behind the first: every
//! piece of text that comes from an alert (domains, reasons, evidence are chosen by whoever
//! sends DNS queries) goes through [`escape`].

mod chart;
mod html;
mod stats;

pub use html::render;
pub use stats::Stats;

use crate::alerts_file::Unreadable;
use crate::row::StoredAlert;

/// The alert table shows at most this many rows (the newest): the summary, breakdowns and
/// chart count every alert; a page of millions of rows opens in no browser.
pub const MAX_TABLE_ROWS: usize = 10_000;

/// What a report is made of.
#[derive(Clone, Copy, Debug)]
pub struct ReportInput<'a> {
    /// Where the alerts came from, for the page's header (`store alerts.db`).
    pub source: &'a str,
    /// The filters applied, for people (`since 2h, severity >= high`), or `""`.
    pub filters: &'a str,
    /// When the report was made (microseconds, UTC).
    pub generated: i64,
    /// The alerts, oldest first.
    pub alerts: &'a [StoredAlert],
    /// Lines of an alerts file that did not read.
    pub unreadable: &'a [Unreadable],
}

/// `text` safe to put in HTML, between tags or in a double- or single-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
