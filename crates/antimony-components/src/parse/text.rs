//! One text source's decoding: a named format obeyed; a recognised one re-decided, line by
//! line, when the source's lines stop matching it.
//!
//! A live socket carries whatever its senders write: a stray datagram, a server that starts
//! logging in another format, a relay that mixes two. So a source whose format was only
//! recognised never locks onto "unknown", nor onto the format of its first lines: a line the
//! current format refuses is recognised alone, decoded by the format that reads it, and after
//! [`SWITCH_AFTER`] such lines in a row that format becomes the source's. Lines no format
//! reads are set aside, counted, with their location; they never condemn the lines after
//! them. A format that skips what it does not know (syslog-style logs skip other programs'
//! lines) would hide another format's records as skipped lines, so a run of skipped lines is
//! probed too, at growing intervals so that a log rich in other lines (Suricata's non-DNS
//! events) costs little. Formats whose lines depend on earlier ones (Zeek TSV, Windows
//! details, ETW XML) are not switched away from mid-source: a line of theirs means nothing
//! alone.

use antimony_dns::formats::{DecodeOptions, Decoder, detect_format};
use antimony_dns::{DnsEvent, LineDecoder};

/// Lines in a row that the current format refuses and another reads before the source
/// switches to the other: enough that one odd line does not move a busy source.
pub const SWITCH_AFTER: u32 = 3;

/// What became of one line.
pub enum Line {
    /// It held a DNS record.
    Event(DnsEvent),
    /// It holds no record (a header, a comment, another kind of log line, part of a record
    /// that spans lines).
    Skipped,
    /// It should have been a record and cannot be read: why.
    SetAside(String),
}

/// Skipped lines in a row before the first probe of one (doubling after each probe that
/// finds no other format, up to [`MAX_PROBE_GAP`]).
const FIRST_PROBE: u32 = 8;
/// The longest run of skipped lines between two probes.
const MAX_PROBE_GAP: u32 = 4096;

/// Where a line stops being text (a NUL, a control character, bytes that are not UTF-8), if
/// it does. Real log lines are text: a skipped line that is not hides a damaged record, so
/// it is set aside, not skipped.
fn not_text(line: &[u8]) -> Option<String> {
    if let Some(at) = line
        .iter()
        .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Some(format!(
            "the line is not text (byte 0x{:02x} at column {}) and no format reads it",
            line[at],
            at + 1
        ));
    }
    std::str::from_utf8(line).err().map(|e| {
        format!(
            "the line is not UTF-8 text (from column {}) and no format reads it",
            e.valid_up_to() + 1
        )
    })
}

/// Why a line no format reads is set aside.
pub const NOT_RECOGNISED: &str =
    "no log format reads this line; set `format` on the dns_parse bolt if it should be read";

/// A line the format skips: skipped if it is text, else set aside (see [`not_text`]).
fn skip(line: &[u8]) -> Line {
    match not_text(line) {
        None => Line::Skipped,
        Some(why) => Line::SetAside(why),
    }
}

/// The decoding state of one text source.
pub struct TextSource {
    current: Option<Decoder>,
    /// The format was named in the configuration: obeyed, never switched.
    named: bool,
    /// The format that read the last lines the current one refused, and how many in a row.
    other: Option<(Decoder, u32)>,
    /// Lines skipped in a row, and at which count the next one is probed.
    skipped: u32,
    next_probe: u32,
}

impl TextSource {
    /// A source read with `decoder` (`None`: not recognised yet); `named` when the
    /// configuration named the format.
    pub fn new(decoder: Option<Decoder>, named: bool) -> Self {
        TextSource {
            current: decoder,
            named,
            other: None,
            skipped: 0,
            next_probe: FIRST_PROBE,
        }
    }

    /// Decodes one line (without its line ending).
    pub fn decode(&mut self, line: &[u8], options: &DecodeOptions) -> Line {
        let locked = self.named
            || self
                .current
                .as_ref()
                .is_some_and(|d| d.format().is_stateful());
        let refused = match self.current.as_mut() {
            Some(decoder) => match decoder.decode_line(line) {
                Ok(Some(event)) => {
                    self.other = None;
                    self.skipped = 0;
                    self.next_probe = FIRST_PROBE;
                    return Line::Event(event);
                }
                Ok(None) => {
                    self.skipped = self.skipped.saturating_add(1);
                    let probe =
                        !locked && (self.other.is_some() || self.skipped >= self.next_probe);
                    if !probe {
                        return skip(line);
                    }
                    None
                }
                Err(error) => Some(format!("{} line: {error}", decoder.format().name())),
            },
            None => None,
        };
        if locked {
            return Line::SetAside(refused.unwrap_or_else(|| NOT_RECOGNISED.to_owned()));
        }
        let skipped_here = self.current.is_some() && refused.is_none();
        // Recognised alone: the format that reads this one line, if any.
        let Some(format) = detect_format(&[line]).filter(|f| !f.is_stateful()) else {
            self.other = None;
            if skipped_here {
                // Nothing else reads it either: a line to skip; probe later, less often.
                self.next_probe = self.skipped.saturating_mul(2).min(MAX_PROBE_GAP);
                return skip(line);
            }
            return Line::SetAside(refused.unwrap_or_else(|| NOT_RECOGNISED.to_owned()));
        };
        let (mut decoder, in_a_row) = match self.other.take() {
            Some((decoder, n)) if decoder.format() == format => (decoder, n),
            _ => (format.decoder(options), 0),
        };
        let line = match decoder.decode_line(line) {
            Ok(Some(event)) => Line::Event(event),
            Ok(None) => skip(line),
            Err(error) => Line::SetAside(format!("{} line: {error}", format.name())),
        };
        if self.current.is_none() || in_a_row + 1 >= SWITCH_AFTER {
            self.current = Some(decoder);
            self.skipped = 0;
            self.next_probe = FIRST_PROBE;
        } else {
            self.other = Some((decoder, in_a_row + 1));
        }
        line
    }

    /// The source is over: a record held across lines, if any, and the format's name.
    pub fn finish(&mut self) -> Option<(&'static str, Result<Option<DnsEvent>, String>)> {
        let decoder = self.current.as_mut()?;
        let name = decoder.format().name();
        Some((name, decoder.finish().map_err(|e| e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use antimony_dns::Format;

    const BIND: &[u8] = b"26-Nov-2026 06:46:47.907 queries: info: client @0x7f1703b12098 10.1.2.3#41281 (update-java.net): query: update-java.net IN A +E(0)K (10.0.0.53)";
    const DNSMASQ: &[u8] = b"Nov 26 06:46:47 dnsmasq[1234]: query[A] example.com from 10.0.0.9";

    fn options() -> DecodeOptions {
        DecodeOptions {
            year: Some(2026),
            ..DecodeOptions::default()
        }
    }

    fn event(line: Line) -> DnsEvent {
        match line {
            Line::Event(event) => event,
            Line::Skipped => panic!("skipped"),
            Line::SetAside(why) => panic!("set aside: {why}"),
        }
    }

    #[test]
    fn stray_lines_do_not_lock_a_source_onto_unknown() {
        let mut source = TextSource::new(None, false);
        for _ in 0..3 {
            assert!(matches!(
                source.decode(b"hello", &options()),
                Line::SetAside(_)
            ));
        }
        assert_eq!(
            event(source.decode(BIND, &options())).qname,
            "update-java.net"
        );
    }

    #[test]
    fn a_source_whose_lines_change_format_follows_them() {
        let bind = Format::Bind9.decoder(&options());
        let mut source = TextSource::new(Some(bind), false);
        assert_eq!(
            event(source.decode(BIND, &options())).qname,
            "update-java.net"
        );
        // BIND skips other programs' lines: a run of them is probed, then read.
        let events = (0..40)
            .filter(|_| matches!(source.decode(DNSMASQ, &options()), Line::Event(_)))
            .count();
        assert!(events >= 40 - FIRST_PROBE as usize, "{events} of 40 read");
        assert_eq!(
            source.current.as_ref().map(|d| d.format()),
            Some(Format::Dnsmasq)
        );
    }

    #[test]
    fn a_line_the_current_format_refuses_is_read_by_the_one_that_reads_it() {
        let json = Format::JsonLines.decoder(&options());
        let mut source = TextSource::new(Some(json), false);
        // Not JSON: the JSON decoder refuses it; BIND reads it, from the first line on.
        assert_eq!(
            event(source.decode(BIND, &options())).qname,
            "update-java.net"
        );
        for _ in 1..SWITCH_AFTER {
            event(source.decode(BIND, &options()));
        }
        assert_eq!(
            source.current.as_ref().map(|d| d.format()),
            Some(Format::Bind9)
        );
    }

    #[test]
    fn a_named_format_is_obeyed() {
        let mut source = TextSource::new(Some(Format::Bind9.decoder(&options())), true);
        for _ in 0..100 {
            assert!(matches!(source.decode(DNSMASQ, &options()), Line::Skipped));
        }
        let mut json = TextSource::new(Some(Format::JsonLines.decoder(&options())), true);
        assert!(matches!(json.decode(BIND, &options()), Line::SetAside(_)));
    }
}
