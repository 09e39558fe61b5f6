//! Decoders for DNS log formats, one module per format.
//!
//! Parsing is split in two. The caller frames the input (cuts a file or socket stream into
//! lines and numbers them); a decoder turns one line into at most one [`DnsEvent`]:
//!
//! - `Ok(Some(event))`: the line is a record;
//! - `Ok(None)`: the line is not a record and is skipped (blank lines, headers, comments,
//!   other kinds of log lines);
//! - `Err(error)`: the line should be a record but cannot be read; the caller reports it with
//!   its location (`file:line: error`) and, when [`ParseError::can_continue`], goes on.
//!
//! A line is decided on its own content, so a file's lines can be shared among workers
//! with the same result, except in the two formats that are stateful by nature
//! ([`Format::is_stateful`]): Zeek TSV, whose header names the columns, and Windows debug
//! logs in "Details" mode, whose records span lines. Those need one decoder per input,
//! in order, and [`LineDecoder::finish`] at its end. Servers that log a query and its reply
//! on separate lines (dnsmasq, Unbound) give a query event and a response event: joining
//! them would need state, and detection reads either.
//!
//! ```
//! use antimony_dns::formats::{DecodeOptions, Format, LineDecoder};
//!
//! let mut decoder = Format::WindowsDebug.decoder(&DecodeOptions::default());
//! let line = b"8/12/2017 9:35:32 AM 0490 PACKET  000000216EFFC910 UDP Snd 212.77.192.37   \
//!              80a8 R Q [1080       NOERROR] A      (3)ns1(3)ctc(3)gov(2)qa(0)";
//! let event = decoder.decode_line(line).unwrap().unwrap();
//! assert_eq!(event.qname, "ns1.ctc.gov.qa");
//! assert_eq!(event.registered_domain(), "ctc.gov.qa");
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::DnsEvent;

pub mod bind9;
pub mod dnsmasq;
mod error;
pub mod infoblox;
pub mod json_lines;
pub mod powerdns;
mod stamp;
pub mod suricata;
pub mod unbound;
mod util;
pub mod windows_debug;
pub mod windows_debug_details;
pub mod windows_etw;
pub mod windows_etw_xml;
pub mod zeek;
pub mod zeek_json;

pub use error::{ParseError, ParseErrorKind};

/// Decodes one framed line at a time.
///
/// Decoders are cheap to create and own no I/O. Most decide each line on its own content,
/// so that the lines of a file can be shared among workers with the same result; the
/// formats of [`Format::is_stateful`] keep state from line to line and need one decoder
/// per input stream, reading it in order, with [`LineDecoder::finish`] at its end.
pub trait LineDecoder: Send {
    /// Decodes one line, without its line terminator (a trailing `\r` or `\n` is tolerated).
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError>;

    /// Called once the input has ended: returns a record the decoder still holds, because
    /// it spans lines and its end was not seen (Windows "details" mode, see
    /// [`windows_debug`]). Line-at-a-time formats hold nothing; the default returns
    /// `Ok(None)`. The decoder is ready for new input afterwards.
    fn finish(&mut self) -> Result<Option<DnsEvent>, ParseError> {
        Ok(None)
    }
}

/// The log formats Antimony reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Format {
    /// Windows DNS Server debug log (`dns.log`), packet lines.
    #[serde(rename = "windows-debug", alias = "windows")]
    WindowsDebug,
    /// BIND 9 query log (`category queries`), native or through syslog.
    #[serde(rename = "bind9", alias = "bind")]
    Bind9,
    /// One JSON object per line, with Antimony's field names (the output of `antimony parse`).
    #[serde(rename = "json", alias = "jsonl", alias = "json-lines")]
    JsonLines,
    /// Unbound's query and reply log (`log-queries`, `log-replies`), also through syslog.
    #[serde(rename = "unbound")]
    Unbound,
    /// dnsmasq's query log (`log-queries`), as Pi-hole writes it too.
    #[serde(rename = "dnsmasq", alias = "pihole", alias = "pi-hole")]
    Dnsmasq,
    /// PowerDNS Authoritative Server's query log (`log-dns-queries`).
    #[serde(rename = "powerdns", alias = "pdns")]
    PowerDns,
    /// Infoblox NIOS syslog: response log, BIND query log, query errors, RPZ events.
    #[serde(rename = "infoblox", alias = "nios")]
    Infoblox,
    /// Zeek `dns.log`, tab-separated with its header; stateful (see [`Format::is_stateful`]).
    #[serde(rename = "zeek", alias = "zeek-tsv")]
    Zeek,
    /// Zeek `dns.log` as JSON lines.
    #[serde(rename = "zeek-json")]
    ZeekJson,
    /// Suricata `eve.json` DNS events, versions 2 and 3.
    #[serde(rename = "suricata", alias = "eve")]
    Suricata,
    /// Windows DNS Server debug log with "Details": packet lines with their answer records;
    /// stateful (see [`Format::is_stateful`]).
    #[serde(rename = "windows-debug-details", alias = "windows-details")]
    WindowsDebugDetails,
    /// Windows DNS Server analytical (ETW) events rendered as text, `KEY=value;` pairs.
    #[serde(rename = "windows-etw", alias = "windows-analytical")]
    WindowsEtw,
    /// Windows DNS Server analytical (ETW) events as XML (Event Viewer, `wevtutil /f:xml`);
    /// stateful (see [`Format::is_stateful`]).
    #[serde(rename = "windows-etw-xml")]
    WindowsEtwXml,
}

impl Format {
    /// Every format, in the order auto-detection tries them.
    pub fn all() -> &'static [Format] {
        &[
            Format::JsonLines,
            Format::Bind9,
            Format::WindowsDebug,
            Format::Unbound,
            Format::Dnsmasq,
            Format::PowerDns,
            Format::Infoblox,
            Format::Zeek,
            Format::ZeekJson,
            Format::Suricata,
            Format::WindowsDebugDetails,
            Format::WindowsEtw,
            Format::WindowsEtwXml,
        ]
    }

    /// The name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::WindowsDebug => "windows-debug",
            Format::Bind9 => "bind9",
            Format::JsonLines => "json",
            Format::Unbound => "unbound",
            Format::Dnsmasq => "dnsmasq",
            Format::PowerDns => "powerdns",
            Format::Infoblox => "infoblox",
            Format::Zeek => "zeek",
            Format::ZeekJson => "zeek-json",
            Format::Suricata => "suricata",
            Format::WindowsDebugDetails => "windows-debug-details",
            Format::WindowsEtw => "windows-etw",
            Format::WindowsEtwXml => "windows-etw-xml",
        }
    }

    /// The format with this name or alias (`windows`, `bind`, `jsonl`, `json-lines`), in any
    /// case.
    pub fn from_name(name: &str) -> Option<Format> {
        let aliases: &[(&str, Format)] = &[
            ("windows-debug", Format::WindowsDebug),
            ("windows", Format::WindowsDebug),
            ("bind9", Format::Bind9),
            ("bind", Format::Bind9),
            ("json", Format::JsonLines),
            ("jsonl", Format::JsonLines),
            ("json-lines", Format::JsonLines),
            ("unbound", Format::Unbound),
            ("dnsmasq", Format::Dnsmasq),
            ("pihole", Format::Dnsmasq),
            ("pi-hole", Format::Dnsmasq),
            ("powerdns", Format::PowerDns),
            ("pdns", Format::PowerDns),
            ("infoblox", Format::Infoblox),
            ("nios", Format::Infoblox),
            ("zeek", Format::Zeek),
            ("zeek-tsv", Format::Zeek),
            ("zeek-json", Format::ZeekJson),
            ("suricata", Format::Suricata),
            ("eve", Format::Suricata),
            ("windows-debug-details", Format::WindowsDebugDetails),
            ("windows-details", Format::WindowsDebugDetails),
            ("windows-etw", Format::WindowsEtw),
            ("windows-analytical", Format::WindowsEtw),
            ("windows-etw-xml", Format::WindowsEtwXml),
        ];
        aliases
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
            .map(|&(_, format)| format)
    }

    /// One sentence saying what the format is, for `--help` and error messages.
    pub fn description(self) -> &'static str {
        match self {
            Format::WindowsDebug => {
                "Windows DNS Server debug log (dns.log): PACKET lines; date order set by \
                 `date_order`, times local unless `utc_offset_minutes` says otherwise"
            }
            Format::Bind9 => {
                "BIND 9 query log (`client ... query: NAME IN TYPE +flags (server)`), with its \
                 own timestamps or a syslog prefix"
            }
            Format::JsonLines => {
                "one JSON object per line with Antimony's field names (ts, client, server, \
                 qname, qtype, rcode, answers...), as printed by `antimony parse`"
            }
            Format::Unbound => {
                "Unbound log-queries and log-replies lines (`info:` or `query:`/`reply:` with \
                 log-tag-queryreply), in its own log file or through syslog (pfSense)"
            }
            Format::Dnsmasq => {
                "dnsmasq and Pi-hole query log: query[TYPE] lines as queries, reply, cached, \
                 config, hosts-file and blocked lines as responses, with log-queries=extra"
            }
            Format::PowerDns => {
                "PowerDNS Authoritative log-dns-queries lines (`Remote ADDR wants 'NAME|TYPE'`)"
            }
            Format::Infoblox => {
                "Infoblox NIOS syslog: DNS response log, BIND query log, query errors and RPZ \
                 CEF events"
            }
            Format::Zeek => {
                "Zeek dns.log in its tab-separated form, columns named by its #fields header; \
                 stateful: one decoder must read a file in order"
            }
            Format::ZeekJson => "Zeek dns.log as JSON lines (LogAscii::use_json)",
            Format::Suricata => {
                "Suricata eve.json DNS events (versions 2 and 3); other event types skipped"
            }
            Format::WindowsDebugDetails => {
                "Windows DNS Server debug log with Details: each PACKET line and the answer \
                 records of its block; stateful: one decoder must read a file in order"
            }
            Format::WindowsEtw => {
                "Windows DNS Server analytical (ETW) events as text (`256 QUERY_RECEIVED: \
                 KEY=value; ...`), answers from PacketData"
            }
            Format::WindowsEtwXml => {
                "Windows DNS Server analytical (ETW) events as XML (Event Viewer, wevtutil \
                 /f:xml), one <Event> per line or indented; stateful: one decoder must read \
                 a file in order"
            }
        }
    }

    /// True for formats whose decoder keeps state from line to line, so that a file must be
    /// decoded by one decoder, in order (Zeek TSV: the header names the columns). Every
    /// other format decodes each line alone, and its lines can be shared among workers.
    pub fn is_stateful(self) -> bool {
        matches!(
            self,
            Format::Zeek | Format::WindowsDebugDetails | Format::WindowsEtwXml
        )
    }

    /// A decoder for this format.
    pub fn decoder(self, options: &DecodeOptions) -> Decoder {
        Decoder(match self {
            Format::WindowsDebug => Inner::WindowsDebug(windows_debug::Decoder::new(options)),
            Format::Bind9 => Inner::Bind9(bind9::Decoder::new(options)),
            Format::JsonLines => Inner::JsonLines(json_lines::Decoder::new(options)),
            Format::Unbound => Inner::Unbound(unbound::Decoder::new(options)),
            Format::Dnsmasq => Inner::Dnsmasq(dnsmasq::Decoder::new(options)),
            Format::PowerDns => Inner::PowerDns(powerdns::Decoder::new(options)),
            Format::Infoblox => Inner::Infoblox(infoblox::Decoder::new(options)),
            Format::Zeek => Inner::Zeek(zeek::Decoder::new(options)),
            Format::ZeekJson => Inner::ZeekJson(zeek_json::Decoder::new(options)),
            Format::Suricata => Inner::Suricata(suricata::Decoder::new(options)),
            Format::WindowsDebugDetails => {
                Inner::WindowsDebugDetails(windows_debug_details::Decoder::new(options))
            }
            Format::WindowsEtw => Inner::WindowsEtw(windows_etw::Decoder::new(options)),
            Format::WindowsEtwXml => Inner::WindowsEtwXml(windows_etw_xml::Decoder::new(options)),
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format {0:?}; known formats: {names}", names = format_names())]
pub struct UnknownFormat(pub String);

/// The names of every format, comma-separated.
fn format_names() -> String {
    let names: Vec<&str> = Format::all().iter().map(|f| f.name()).collect();
    names.join(", ")
}

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::from_name(s).ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// The order of day, month and year in a numeric date (Windows writes the server's locale).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Work it out line by line; see [`windows_debug`] for the rule.
    #[default]
    Auto,
    /// Month, day, year (`8/12/2017` is 12 August), the United States order.
    Mdy,
    /// Day, month, year (`22/12/2021`), most of the world.
    Dmy,
    /// Year, month, day (`2019/12/5`), East Asia and ISO 8601.
    Ymd,
}

/// Settings a decoder needs that the log lines do not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeOptions {
    /// Order of numeric dates in Windows logs.
    pub date_order: DateOrder,
    /// Offset of the local time the log is written in, in minutes east of UTC (`120` for
    /// UTC+2); subtracted from times that carry no zone. Zero reads them as UTC.
    pub utc_offset_minutes: i32,
    /// Sensor name put in every event (a JSON line's own `sensor` field wins).
    pub sensor: Option<Arc<str>>,
    /// Year for timestamps that lack one (classic syslog `Nov 26 06:46:47`). The library
    /// reads no clock: a caller tailing a live log passes the current year. Without it, such
    /// lines are refused with an error that says so.
    pub year: Option<i32>,
}

impl DecodeOptions {
    /// The UTC offset in microseconds.
    pub(crate) fn offset_micros(&self) -> i64 {
        i64::from(self.utc_offset_minutes) * 60 * crate::time::MICROS_PER_SECOND
    }
}

/// A decoder for one of the [`Format`]s, made by [`Format::decoder`].
///
/// Dispatch is a `match` over the formats, not a virtual call: it lets the compiler inline
/// each decoder into the loop, and the decoder needs no allocation. Box it as a
/// `dyn LineDecoder` when a trait object is more convenient.
pub struct Decoder(Inner);

// One decoder lives per input stream, so its size does not matter; boxing the BIND decoder's
// precomputed substring searcher would add a pointer chase per line.
#[allow(clippy::large_enum_variant)]
enum Inner {
    WindowsDebug(windows_debug::Decoder),
    Bind9(bind9::Decoder),
    JsonLines(json_lines::Decoder),
    Unbound(unbound::Decoder),
    Dnsmasq(dnsmasq::Decoder),
    PowerDns(powerdns::Decoder),
    Infoblox(infoblox::Decoder),
    Zeek(zeek::Decoder),
    ZeekJson(zeek_json::Decoder),
    Suricata(suricata::Decoder),
    WindowsDebugDetails(windows_debug_details::Decoder),
    WindowsEtw(windows_etw::Decoder),
    WindowsEtwXml(windows_etw_xml::Decoder),
}

impl Decoder {
    /// The format this decoder reads.
    pub fn format(&self) -> Format {
        match self.0 {
            Inner::WindowsDebug(_) => Format::WindowsDebug,
            Inner::Bind9(_) => Format::Bind9,
            Inner::JsonLines(_) => Format::JsonLines,
            Inner::Unbound(_) => Format::Unbound,
            Inner::Dnsmasq(_) => Format::Dnsmasq,
            Inner::PowerDns(_) => Format::PowerDns,
            Inner::Infoblox(_) => Format::Infoblox,
            Inner::Zeek(_) => Format::Zeek,
            Inner::ZeekJson(_) => Format::ZeekJson,
            Inner::Suricata(_) => Format::Suricata,
            Inner::WindowsDebugDetails(_) => Format::WindowsDebugDetails,
            Inner::WindowsEtw(_) => Format::WindowsEtw,
            Inner::WindowsEtwXml(_) => Format::WindowsEtwXml,
        }
    }
}

impl LineDecoder for Decoder {
    #[inline]
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        match &mut self.0 {
            Inner::WindowsDebug(d) => d.decode_line(line),
            Inner::Bind9(d) => d.decode_line(line),
            Inner::JsonLines(d) => d.decode_line(line),
            Inner::Unbound(d) => d.decode_line(line),
            Inner::Dnsmasq(d) => d.decode_line(line),
            Inner::PowerDns(d) => d.decode_line(line),
            Inner::Infoblox(d) => d.decode_line(line),
            Inner::Zeek(d) => d.decode_line(line),
            Inner::ZeekJson(d) => d.decode_line(line),
            Inner::Suricata(d) => d.decode_line(line),
            Inner::WindowsDebugDetails(d) => d.decode_line(line),
            Inner::WindowsEtw(d) => d.decode_line(line),
            Inner::WindowsEtwXml(d) => d.decode_line(line),
        }
    }

    fn finish(&mut self) -> Result<Option<DnsEvent>, ParseError> {
        match &mut self.0 {
            Inner::WindowsDebugDetails(d) => d.finish(),
            Inner::Zeek(d) => d.finish(),
            Inner::WindowsEtwXml(d) => d.finish(),
            _ => Ok(None),
        }
    }
}

/// A JSON-lines decoder with a [`json_lines::FieldMap`] (which format detection cannot
/// guess) as a [`Decoder`].
impl From<json_lines::Decoder> for Decoder {
    fn from(decoder: json_lines::Decoder) -> Self {
        Decoder(Inner::JsonLines(decoder))
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Decoder").field(&self.format()).finish()
    }
}

/// Guesses the format of a log from its first lines (say 20 or more, headers included).
///
/// Each format decodes the sample with default options; lines a format skips do not count.
/// A format *claims* the lines it reads as records and the lines it refuses as broken
/// records of its own; among the formats that read at least one record and at least as many
/// as they refuse (a damaged line in a small sample does not hide the format), the one
/// that claims the most lines wins (then the one with more records, then the earlier format
/// of [`Format::all`]). Claimed lines, not records alone, decide: a general format that
/// skips what it does not know (Infoblox's syslog reads plain BIND query lines too) must
/// not win over the specific format that recognises a broken line as its own and reports
/// it. `None` when no format reads a record and at least as many as it rejects. One rule is
/// not a count: a Windows debug log whose sample holds
/// a "details" block (`    ANSWER SECTION:`) is `windows-debug-details`, which reads the
/// same packet lines and their answers too.
pub fn detect_format(sample_lines: &[&[u8]]) -> Option<Format> {
    // Syslog dates have no year; any year will do to recognise them.
    let options = DecodeOptions {
        year: Some(2000),
        ..DecodeOptions::default()
    };
    let mut best: Option<(Format, (i64, i64))> = None;
    for &format in Format::all() {
        let mut decoder = format.decoder(&options);
        let (mut records, mut errors) = (0i64, 0i64);
        let mut results: Vec<_> = sample_lines
            .iter()
            .map(|line| decoder.decode_line(line))
            .collect();
        results.push(decoder.finish());
        for result in results {
            match result {
                Ok(Some(_)) => records += 1,
                Ok(None) => {}
                Err(_) => errors += 1,
            }
        }
        let score = (records + errors, records);
        if records > 0 && records >= errors && best.is_none_or(|(_, s)| score > s) {
            best = Some((format, score));
        }
    }
    let details = || {
        sample_lines
            .iter()
            .any(|line| util::trim_end(line).ends_with(b"    ANSWER SECTION:"))
    };
    match best {
        Some((Format::WindowsDebug, _)) if details() => Some(Format::WindowsDebugDetails),
        Some((Format::WindowsDebugDetails, _)) if !details() => Some(Format::WindowsDebug),
        _ => best.map(|(format, _)| format),
    }
}

/// Strips a UTF-8 byte-order mark and the line terminator; the shared first step of every
/// decoder. (How long a line may be is the framer's decision, taken once where the input is
/// cut into lines: [`antimony_core::limits::MAX_LINE_BYTES`] by default.)
#[inline]
pub(crate) fn prepare(line: &[u8]) -> Result<&[u8], ParseError> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    Ok(util::trim_end(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &format in Format::all() {
            assert_eq!(Format::from_name(format.name()), Some(format));
            assert_eq!(format.name().parse::<Format>(), Ok(format));
            assert!(!format.description().is_empty());
        }
        assert_eq!(Format::from_name("WINDOWS"), Some(Format::WindowsDebug));
        assert!("nope".parse::<Format>().is_err());
    }

    #[test]
    fn options_from_config() {
        let options: DecodeOptions =
            serde_json::from_str(r#"{"date_order":"dmy","utc_offset_minutes":60,"sensor":"dc1"}"#)
                .unwrap_or_default();
        assert_eq!(options.date_order, DateOrder::Dmy);
        assert_eq!(options.sensor.as_deref(), Some("dc1"));
        assert!(serde_json::from_str::<DecodeOptions>(r#"{"typo":1}"#).is_err());
    }
}
