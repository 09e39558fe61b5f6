//! The timeline: alerts per time bucket, stacked by severity, as inline SVG.

use std::fmt::Write as _;

use antimony_dns::time::to_rfc3339;

use super::escape;
use super::stats::BySeverity;
use crate::StoredAlert;
use crate::row::severity_rank;

/// At most this many bars: enough to see a burst, few enough to read.
const MAX_BUCKETS: i64 = 60;

/// Bucket widths to choose from (seconds), with their names.
const WIDTHS: [(i64, &str); 12] = [
    (1, "second"),
    (10, "10 seconds"),
    (60, "minute"),
    (5 * 60, "5 minutes"),
    (15 * 60, "15 minutes"),
    (3_600, "hour"),
    (3 * 3_600, "3 hours"),
    (6 * 3_600, "6 hours"),
    (12 * 3_600, "12 hours"),
    (86_400, "day"),
    (7 * 86_400, "week"),
    (30 * 86_400, "30 days"),
];

/// Colours of the severities, by rank.
pub(super) const COLOURS: [&str; 5] = ["#6b7280", "#2563eb", "#d97706", "#dc2626", "#7c3aed"];
/// Names of the severities, by rank.
pub(super) const NAMES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// The chart of `alerts` (oldest first) as an `<svg>` element.
pub(super) fn timeline(alerts: &[StoredAlert]) -> String {
    let (Some(first), Some(last)) = (
        alerts.iter().map(|a| a.ts).min(),
        alerts.iter().map(|a| a.ts).max(),
    ) else {
        return "<p class=\"muted\">No alerts to chart.</p>".to_owned();
    };
    let span_secs = (last - first) / 1_000_000 + 1;
    let (width_secs, width_name) = WIDTHS
        .iter()
        .copied()
        .find(|(w, _)| span_secs / w < MAX_BUCKETS)
        .unwrap_or((365 * 86_400, "year"));
    let width = width_secs * 1_000_000;
    let start = first.div_euclid(width) * width;
    let count = ((last - start) / width + 1) as usize;
    let mut buckets: Vec<BySeverity> = vec![[0; 5]; count];
    for a in alerts {
        let i = ((a.ts - start) / width) as usize;
        if let Some(bucket) = buckets.get_mut(i) {
            bucket[severity_rank(a.severity) as usize] += 1;
        }
    }
    let peak = buckets
        .iter()
        .map(|b| b.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, h, left, bottom, top) = (960.0_f64, 260.0_f64, 48.0, 40.0, 24.0);
    let plot_w = w - left - 16.0;
    let plot_h = h - bottom - top;
    let bar = plot_w / count as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"alerts per {width_name}, by severity\">"
    );
    let _ = write!(svg, "<title>Alerts per {width_name}, by severity</title>");
    // The axes and the peak's gridline.
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{y0}\" class=\"axis\"/><line x1=\"{left}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" class=\"axis\"/>\
         <text x=\"{lx}\" y=\"{ty}\" class=\"tick\" text-anchor=\"end\">{peak}</text><text x=\"{lx}\" y=\"{y0}\" class=\"tick\" text-anchor=\"end\">0</text>",
        y0 = top + plot_h,
        x1 = left + plot_w,
        lx = left - 6.0,
        ty = top + 4.0,
    );
    for (i, bucket) in buckets.iter().enumerate() {
        let x = left + bar * i as f64;
        let mut y = top + plot_h;
        let from = start + width * i as i64;
        for rank in 0..5 {
            let n = bucket[rank];
            if n == 0 {
                continue;
            }
            let bh = plot_h * n as f64 / peak as f64;
            y -= bh;
            let _ = write!(
                svg,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"{c}\"><title>{t}: {n} {s}</title></rect>",
                bw = (bar - 1.0).max(1.0),
                c = COLOURS[rank],
                t = escape(&to_rfc3339(from)),
                s = NAMES[rank],
            );
        }
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"{ly}\" class=\"tick\">{a}</text><text x=\"{x1}\" y=\"{ly}\" class=\"tick\" text-anchor=\"end\">{b}</text>",
        ly = h - bottom + 18.0,
        x1 = left + plot_w,
        a = escape(&to_rfc3339(start)),
        b = escape(&to_rfc3339(start + width * count as i64)),
    );
    for (rank, (colour, name)) in COLOURS.iter().zip(NAMES).enumerate() {
        let x = left + 90.0 * rank as f64;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{tx}\" y=\"{ty}\" class=\"tick\">{name}</text>",
            y = h - 14.0,
            tx = x + 14.0,
            ty = h - 5.0,
        );
    }
    svg.push_str("</svg>");
    svg
}
