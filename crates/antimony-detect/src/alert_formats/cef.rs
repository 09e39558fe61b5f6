//! The alert in ArcSight's Common Event Format (CEF:0), what ArcSight, Sentinel's CEF
//! connector and most SIEMs parse from syslog.
//!
//! ```text
//! CEF:0|Antimony|antimony|0.1.0|9100001|ANTIMONY DNS query for a listed domain|8|rt=1502530532000 src=10.0.0.1 dhost=a.evil.com destinationDnsDomain=evil.com msg=a.evil.com is … cat=A Network Trojan was detected act=alert externalId=6c1f… cs1Label=detector cs1=threat_intel cs2Label=registeredDomain cs2=evil.com cn1Label=score cn1=90 cs3Label=lists cs3=maltrail
//! ```
//!
//! - Header: Device Event Class ID and Name from the detector
//!   ([`catalog`]), severity 0-10 ([`severity_number`]). `\` and `|` are
//!   escaped (`\\`, `\|`); a line break, which a header cannot hold, becomes a space.
//! - Extensions: `\`, `=`, CR and LF are escaped (`\\`, `\=`, `\r`, `\n`), as CEF requires,
//!   so a domain or reason holding them cannot forge a key or split the line.
//! - `rt` is milliseconds since the epoch; `src` the client (IPv4), or `c6a2` with its
//!   label for an IPv6 client, as ArcSight maps source IPv6 addresses; `dhost` the question
//!   name and `destinationDnsDomain` its registered domain; `msg` the reason; `cat` the
//!   detector's category; `act` `alert` (nothing is blocked); `externalId` the alert id;
//!   `cs1` the detector, `cs2` the registered domain, `cn1` the score, `cs3` the lists of a
//!   list hit, each with its label.

use std::fmt::Write as _;
use std::net::IpAddr;

use antimony_core::text::{push_int, push_ip};

use super::{catalog, severity_number};
use crate::alert::{Alert, Evidence};

/// Appends `alert` as one CEF record.
pub fn write(alert: &Alert, out: &mut String) {
    let signature = catalog::signature(&alert.detector);
    out.push_str("CEF:0|Antimony|antimony|");
    push_header(out, env!("CARGO_PKG_VERSION"));
    out.push('|');
    push_int(out, signature.id);
    out.push('|');
    push_header(out, signature.title);
    out.push('|');
    push_int(out, severity_number(alert.severity));
    out.push_str("|rt=");
    push_int(out, alert.ts.div_euclid(1000));
    match alert.client {
        Some(IpAddr::V4(ip)) => {
            out.push_str(" src=");
            push_ip(out, IpAddr::V4(ip));
        }
        Some(IpAddr::V6(ip)) => {
            out.push_str(" c6a2Label=Source IPv6 Address c6a2=");
            push_ip(out, IpAddr::V6(ip));
        }
        None => {}
    }
    extension(out, "dhost", &alert.domain);
    if !alert.registered_domain.is_empty() {
        extension(out, "destinationDnsDomain", &alert.registered_domain);
    }
    extension(out, "msg", &alert.reason);
    extension(out, "cat", signature.category);
    out.push_str(" act=alert");
    if let Some(id) = alert.id {
        let _ = write!(out, " externalId={id}");
    }
    out.push_str(" cs1Label=detector");
    extension(out, "cs1", &alert.detector);
    out.push_str(" cs2Label=registeredDomain");
    extension(out, "cs2", &alert.registered_domain);
    out.push_str(" cn1Label=score cn1=");
    push_int(out, alert.score);
    if let Some(Evidence::List(lists)) = alert.evidence_value("lists") {
        out.push_str(" cs3Label=lists cs3=");
        for (i, list) in lists.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_escaped(out, list, extension_escape);
        }
    }
}

/// ` key=value`, the value escaped.
fn extension(out: &mut String, key: &str, value: &str) {
    out.push(' ');
    out.push_str(key);
    out.push('=');
    push_escaped(out, value, extension_escape);
}

/// What an extension value escapes: `\`, `=` and line breaks.
fn extension_escape(c: char) -> Option<&'static str> {
    match c {
        '\\' => Some("\\\\"),
        '=' => Some("\\="),
        '\n' => Some("\\n"),
        '\r' => Some("\\r"),
        _ => None,
    }
}

/// A header field: `\` and `|` escaped, line breaks (which CEF cannot escape there) as
/// spaces.
fn push_header(out: &mut String, value: &str) {
    push_escaped(out, value, |c| match c {
        '\\' => Some("\\\\"),
        '|' => Some("\\|"),
        '\n' | '\r' => Some(" "),
        _ => None,
    });
}

/// Appends `value` with each character `escape` names replaced: runs without one are
/// copied whole.
pub(crate) fn push_escaped(
    out: &mut String,
    value: &str,
    escape: impl Fn(char) -> Option<&'static str>,
) {
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if let Some(replacement) = escape(c) {
            out.push_str(&value[start..i]);
            out.push_str(replacement);
            start = i + c.len_utf8();
        }
    }
    out.push_str(&value[start..]);
}
