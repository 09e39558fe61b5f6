//! The alert in QRadar's Log Event Extended Format, version 2.0, with tab-delimited
//! attributes (declared in the header as `x09`).
//!
//! ```text
//! LEEF:2.0|Antimony|antimony|0.1.0|threat_intel|x09|devTime=2017-08-12T09:35:32.000+0000<TAB>devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ<TAB>src=10.0.0.1<TAB>sev=8<TAB>cat=A Network Trojan was detected<TAB>…
//! ```
//!
//! - Event ID: the detector (QRadar maps vendor, event ID and category to its QIDs).
//! - Attributes: `devTime` (UTC, milliseconds) with its `devTimeFormat`; `src` the
//!   client; `sev` 0-10 ([`severity_number`]); `cat` the detector's category
//!   ([`catalog`]); then Antimony's own keys: `domain`,
//!   `registeredDomain`, `detector`, `score`, `alertId`, `reason`, `lists` on list hits.
//!   `identHostName` is not written: QRadar's identity keys describe the source host (they
//!   update its asset model), and the queried name is not the client's name.
//! - Escaping: LEEF gives a value no way to hold its delimiter or a line break, so `\`,
//!   tab, LF and CR in a value are written `\\`, `\t`, `\n`, `\r`; in the header, `\` and
//!   `|` are escaped (`\\`, `\|`) and line breaks become spaces, as in CEF.

use std::fmt::Write as _;

use antimony_core::text::{push_int, push_ip};

use super::cef::push_escaped;
use super::{catalog, severity_number};
use crate::alert::{Alert, Evidence};

/// The delimiter of the attributes, as the header declares it.
pub const DELIMITER: char = '\t';

/// Appends `alert` as one LEEF 2.0 record.
pub fn write(alert: &Alert, out: &mut String) {
    let signature = catalog::signature(&alert.detector);
    out.push_str("LEEF:2.0|Antimony|antimony|");
    push_header(out, env!("CARGO_PKG_VERSION"));
    out.push('|');
    push_header(out, &alert.detector);
    out.push_str("|x09|devTime=");
    // What `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (the declared devTimeFormat) reads.
    super::write_time_with_offset(alert.ts, 3, out);
    out.push_str("\tdevTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ");
    if let Some(ip) = alert.client {
        out.push_str("\tsrc=");
        push_ip(out, ip);
    }
    out.push_str("\tsev=");
    push_int(out, severity_number(alert.severity));
    attribute(out, "cat", signature.category);
    attribute(out, "domain", &alert.domain);
    attribute(out, "registeredDomain", &alert.registered_domain);
    attribute(out, "detector", &alert.detector);
    out.push_str("\tscore=");
    push_int(out, alert.score);
    if let Some(id) = alert.id {
        let _ = write!(out, "\talertId={id}");
    }
    attribute(out, "reason", &alert.reason);
    if let Some(Evidence::List(lists)) = alert.evidence_value("lists") {
        out.push_str("\tlists=");
        for (i, list) in lists.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_escaped(out, list, attribute_escape);
        }
    }
}

/// `<TAB>key=value`, the value escaped.
fn attribute(out: &mut String, key: &str, value: &str) {
    out.push(DELIMITER);
    out.push_str(key);
    out.push('=');
    push_escaped(out, value, attribute_escape);
}

/// What an attribute value escapes: `\`, the delimiter and line breaks.
fn attribute_escape(c: char) -> Option<&'static str> {
    match c {
        '\\' => Some("\\\\"),
        '\t' => Some("\\t"),
        '\n' => Some("\\n"),
        '\r' => Some("\\r"),
        _ => None,
    }
}

fn push_header(out: &mut String, value: &str) {
    push_escaped(out, value, |c| match c {
        '\\' => Some("\\\\"),
        '|' => Some("\\|"),
        '\n' | '\r' | '\t' => Some(" "),
        _ => None,
    });
}
