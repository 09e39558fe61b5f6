//! Windows DNS Server debug log in "Details" mode: each packet line is followed by a block
//! that dumps the whole message, answer records included.
//!
//! ```text
//! 7/15/2015 11:59:59 PM 11A0 PACKET  0000000003AF57F0 UDP Snd 10.28.2.140     eba7 R Q [8085 A DR  NOERROR] PTR    (3)140(1)2(2)28(2)10(7)in-addr(4)arpa(0)
//! UDP response info at 0000000003AF57F0
//!   Socket = 336
//!   ...
//!     ARCOUNT   0
//!     QUESTION SECTION:
//!     ...
//!     ANSWER SECTION:
//!     Offset = 0x002a, RR count = 0
//!     Name      "[C00C](3)140(1)2(2)28(2)10(7)in-addr(4)arpa(0)"
//!       TYPE   PTR  (12)
//!       CLASS  1
//!       TTL    3600
//!       DLEN   26
//!       DATA   (8)perforce(2)tw(8)trendnet(3)org(0)
//!     AUTHORITY SECTION:
//!       empty
//!     ADDITIONAL SECTION:
//!       empty
//! ```
//!
//! # Why a separate, stateful format
//!
//! A record spans many lines, so its event can only be complete once its block has been
//! read. This decoder reads the packet line as the [`windows_debug`]
//! decoder does, holds the event, adds each record of the answer section to it, and returns
//! it when the block ends: after the last record of the additional section (`ARCOUNT`
//! says how many) or its `empty`, at a blank line, at the next dated line, or at
//! [`LineDecoder::finish`] for the last one of the input. A packet line without a block is
//! still an event, returned one line later.
//!
//! Holding state across lines makes the result depend on how a file is split: a block cut
//! from its packet line would lose its answers. So the format is marked stateful
//! ([`Format::is_stateful`]): the engine gives a file to one decoder, in order, and the
//! events are the same on any number of workers. The plain `windows-debug` format stays
//! line-at-a-time (it skips the blocks and keeps every packet line's event without
//! answers) for logs that have no details; [`detect_format`] picks this one when the
//! sample shows a details block.
//!
//! Answer records get their name from `Name` (length-prefixed, a `[C00C]` compression
//! marker skipped), their type from the number in `TYPE PTR (12)`, `TTL` and `DATA`
//! (length-prefixed names made dotted, other data as written). A malformed detail line is
//! an error that does not lose the held event.
//!
//! [`Format::is_stateful`]: super::Format::is_stateful
//! [`detect_format`]: super::detect_format

use super::util::{Fields, parse_dec, parse_u64, trim_start, utf8};
use super::{DecodeOptions, LineDecoder, ParseError, prepare, windows_debug};
use crate::codes::rtype_code;
use crate::{Answer, DnsEvent, domain};

/// Where in a details block the decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Header,
    Question,
    Answer,
    Authority,
    Additional,
}

/// Decoder for details-mode Windows debug logs; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    packets: windows_debug::Decoder,
    /// The event whose block is being read.
    pending: Option<DnsEvent>,
    section: Section,
    /// `ARCOUNT` of the block, and additional records seen so far.
    additional: (Option<u32>, u32),
    /// The answer record being read.
    record: Answer,
}

impl Decoder {
    /// A decoder with the given date order, UTC offset and sensor name.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            packets: windows_debug::Decoder::new(options),
            pending: None,
            section: Section::Header,
            additional: (None, 0),
            record: Answer::default(),
        }
    }

    fn start_block(&mut self, event: Option<DnsEvent>) -> Option<DnsEvent> {
        self.section = Section::Header;
        self.additional = (None, 0);
        self.record = Answer::default();
        std::mem::replace(&mut self.pending, event)
    }

    /// A length-prefixed name, a `[C00C]` compression marker skipped, as normalised text.
    fn name(&mut self, text: &[u8], field: &'static str) -> Result<String, ParseError> {
        let text = match text {
            [b'[', rest @ ..] => {
                let close = memchr::memchr(b']', rest)
                    .ok_or(ParseError::invalid(field, "[C00C] before the name"))?;
                &rest[close + 1..]
            }
            _ => text,
        };
        let dotted = self
            .packets
            .dotted(text)
            .map_err(|_| ParseError::invalid(field, "a name such as (3)www(7)example(3)com(0)"))?;
        domain::normalise(dotted).map_err(|e| ParseError::name(field, e))
    }

    /// Reads one line of a details block, returning the held event when the block ends.
    fn detail(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let text = trim_start(line);
        let mut fields = Fields::new(text);
        let Some(key) = fields.next() else {
            // A blank line ends the block.
            return Ok(self.start_block(None));
        };
        let value = fields.rest();
        match key {
            b"QUESTION" => self.section = Section::Question,
            b"ANSWER" => self.section = Section::Answer,
            b"AUTHORITY" => self.section = Section::Authority,
            b"ADDITIONAL" => {
                self.section = Section::Additional;
                if self.additional.0 == Some(0) {
                    return Ok(self.start_block(None));
                }
            }
            b"empty" if self.section == Section::Additional => {
                return Ok(self.start_block(None));
            }
            b"ARCOUNT" => {
                let count =
                    parse_dec(value, 5).ok_or(ParseError::invalid("ARCOUNT", "a record count"))?;
                self.additional.0 = Some(count);
            }
            b"Name" if self.section != Section::Header => {
                let quoted = value
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .ok_or(ParseError::invalid("Name", "a quoted name"))?;
                if self.section == Section::Answer {
                    self.record = Answer {
                        name: self.name(quoted, "answers.name")?,
                        ..Answer::default()
                    };
                }
            }
            b"TYPE" if self.section == Section::Answer => {
                // `PTR  (12)`: the number is exact, the mnemonic a convenience.
                let number = value
                    .iter()
                    .rposition(|&b| b == b'(')
                    .and_then(|open| value[open + 1..].strip_suffix(b")"))
                    .and_then(|n| parse_dec(n, 5))
                    .and_then(|n| u16::try_from(n).ok());
                let rtype = match number {
                    Some(n) => Some(n),
                    None => Fields::new(value)
                        .next()
                        .and_then(|m| rtype_code(utf8(m, "answers.rtype").ok()?)),
                };
                self.record.rtype = rtype.ok_or(ParseError::invalid(
                    "answers.rtype",
                    "a record type such as PTR (12)",
                ))?;
            }
            b"TTL" if self.section == Section::Answer => {
                let ttl = parse_u64(value, 10)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(ParseError::invalid("answers.ttl", "a number of seconds"))?;
                self.record.ttl = Some(ttl);
            }
            b"DATA" => match self.section {
                Section::Answer => {
                    let data = if matches!(value.first(), Some(b'(' | b'[')) {
                        self.name(value, "answers.data")?
                    } else {
                        utf8(value, "answers.data")?.to_owned()
                    };
                    let mut record = std::mem::take(&mut self.record);
                    record.data = data;
                    if let Some(event) = &mut self.pending {
                        event.answers.push(record);
                    }
                }
                Section::Additional => {
                    self.additional.1 += 1;
                    if self
                        .additional
                        .0
                        .is_some_and(|count| self.additional.1 >= count)
                    {
                        return Ok(self.start_block(None));
                    }
                }
                _ => {}
            },
            _ => {}
        }
        Ok(None)
    }
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        if line.first().is_some_and(u8::is_ascii_digit) {
            // A dated line ends the block before it. On an error the held event stays
            // held, and comes out with the next dated line or at the end.
            return match self.packets.decode_line(line)? {
                Some(event) => Ok(self.start_block(Some(event))),
                None => Ok(self.start_block(None)),
            };
        }
        if self.pending.is_none() {
            // Headers, the legend, or a block whose packet line could not be read.
            return Ok(None);
        }
        self.detail(line)
    }

    fn finish(&mut self) -> Result<Option<DnsEvent>, ParseError> {
        Ok(self.start_block(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json_lines::to_json_line;

    const BLOCK: &str = r#"7/15/2015 11:59:59 PM 11A0 PACKET  0000000003AF57F0 UDP Snd 10.28.2.140     eba7 R Q [8085 A DR  NOERROR] PTR    (3)140(1)2(2)28(2)10(7)in-addr(4)arpa(0)
UDP response info at 0000000003AF57F0
  Socket = 336
  Remote addr 10.28.2.140, port 49495
  Message:
    XID       0xeba7
    Flags     0x8580
      QR        1 (RESPONSE)
      RCODE     0 (NOERROR)
    QCOUNT    1
    ACOUNT    2
    NSCOUNT   0
    ARCOUNT   1
    QUESTION SECTION:
    Offset = 0x000c, RR count = 0
    Name      "(3)140(1)2(2)28(2)10(7)in-addr(4)arpa(0)"
      QTYPE   PTR (12)
      QCLASS  1
    ANSWER SECTION:
    Offset = 0x002a, RR count = 0
    Name      "[C00C](3)140(1)2(2)28(2)10(7)in-addr(4)arpa(0)"
      TYPE   PTR  (12)
      CLASS  1
      TTL    3600
      DLEN   26
      DATA   (8)perforce(2)tw(8)trendnet(3)org(0)
    Offset = 0x0050, RR count = 1
    Name      "[C00C](3)140(1)2(2)28(2)10(7)in-addr(4)arpa(0)"
      TYPE   A  (1)
      CLASS  1
      TTL    60
      DLEN   4
      DATA   10.28.2.140
    AUTHORITY SECTION:
      empty
    ADDITIONAL SECTION:
    Offset = 0x0060, RR count = 0
    Name      "(0)"
      TYPE   OPT  (41)
      CLASS  4000
      TTL    0
      DLEN   0
      DATA   "#;

    /// Decodes every line, then finishes; returns the events as JSON lines, each with the
    /// number of the line that returned it (0 for `finish`).
    fn run(text: &str) -> Vec<(usize, String)> {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        let mut out = Vec::new();
        let lines = text.lines().enumerate().map(|(n, l)| (n + 1, Some(l)));
        for (n, line) in lines.chain([(0, None)]) {
            let got = match line {
                Some(line) => decoder.decode_line(line.as_bytes()),
                None => decoder.finish(),
            };
            match got {
                Ok(Some(event)) => {
                    let mut json = String::new();
                    to_json_line(&event, &mut json);
                    out.push((n, json));
                }
                Ok(None) => {}
                Err(e) => panic!("line {n}: {e}"),
            }
        }
        out
    }

    #[test]
    fn a_block_gives_one_event_with_its_answers() {
        let got = run(BLOCK);
        assert_eq!(
            got,
            [(
                BLOCK.lines().count(),
                r#"{"ts":"2015-07-15T23:59:59Z","client":"10.28.2.140","transport":"udp","direction":"response","id":60327,"qname":"140.2.28.10.in-addr.arpa","registered_domain":"10.in-addr.arpa","qtype":"PTR","rcode":"NOERROR","flags":34176,"answers":[{"name":"140.2.28.10.in-addr.arpa","rtype":"PTR","ttl":3600,"data":"perforce.tw.trendnet.org"},{"name":"140.2.28.10.in-addr.arpa","rtype":"A","ttl":60,"data":"10.28.2.140"}]}"#
                    .to_owned()
            )]
        );
    }

    #[test]
    fn blocks_end_at_the_next_packet_a_blank_line_or_the_end() {
        let packet = BLOCK.lines().next().unwrap_or_default();
        // Packet lines without blocks: each comes out at the next, the last at the end.
        let two = format!("{packet}\n{packet}");
        let got: Vec<usize> = run(&two).into_iter().map(|(n, _)| n).collect();
        assert_eq!(got, [2, 0]);
        // A block cut short keeps the answers read so far.
        let cut: Vec<&str> = BLOCK.lines().take(28).collect();
        let got = run(&format!("{}\n\n{packet}", cut.join("\n")));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 29);
        assert!(
            got[0].1.contains("perforce.tw.trendnet.org"),
            "{}",
            got[0].1
        );
        assert!(!got[0].1.contains("10.28.2.140\"}"), "{}", got[0].1);
        // With ARCOUNT 0 the block ends at ADDITIONAL SECTION; details without a packet
        // line are skipped.
        let no_additional = BLOCK.replace("ARCOUNT   1", "ARCOUNT   0");
        let end = no_additional
            .lines()
            .position(|l| l.contains("ADDITIONAL"))
            .unwrap_or(0);
        let got = run(&no_additional);
        assert_eq!(got.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [end + 1]);
    }

    #[test]
    fn bad_details_are_errors_that_keep_the_event() {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        let mut errors = Vec::new();
        let mut events = 0;
        for line in BLOCK
            .replace("TTL    3600", "TTL    soon")
            .replace("TYPE   A  (1)", "TYPE   ?")
            .lines()
        {
            match decoder.decode_line(line.as_bytes()) {
                Ok(Some(_)) => events += 1,
                Ok(None) => {}
                Err(e) => errors.push(e.field()),
            }
        }
        assert_eq!(errors, ["answers.ttl", "answers.rtype"]);
        assert_eq!(events, 1);
        assert_eq!(decoder.finish(), Ok(None));
    }
}
