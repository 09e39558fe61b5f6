//! Windows DNS Server analytical events (ETW) in their XML rendering: what Event Viewer's
//! "XML View", `wevtutil qe Microsoft-Windows-DNSServer/Analytical /f:xml` and PowerShell's
//! `(Get-WinEvent ...).ToXml()` write, one `<Event>` element per event, on one line or
//! indented over many.
//!
//! ```text
//! <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
//!   <System>
//!     <EventID>259</EventID>
//!     <TimeCreated SystemTime="2025-08-13T13:04:51.3550852Z" />
//!     ...
//!   </System>
//!   <EventData>
//!     <Data Name="TCP">0</Data>
//!     <Data Name="Source">192.168.1.101</Data>
//!     <Data Name="QNAME">www.abayoumy.tech.</Data>
//!     ...
//! ```
//!
//! The event id says what the event records (256 to 261, as in the
//! [text rendering](super::windows_etw)), the `Data` elements are the same fields as its
//! `KEY=value` pairs, and `SystemTime` is the time, in UTC. Other events decode to nothing.
//!
//! Stateful: the lines of one event must reach one decoder in order. An event is decoded at
//! its `</Event>` line; an event over 64 KiB is refused (reported once, at its end) without
//! being kept, and an event the input ends inside is reported by `finish`. Several events
//! on one line are not split: only the first is read.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::util::trim_start;
use super::windows_etw::{self, kind_of_id};
use super::{DecodeOptions, LineDecoder, ParseError, ParseErrorKind, prepare};
use crate::DnsEvent;
use crate::time::parse_rfc3339;

/// The largest event kept; real ones are about 1.5 KiB.
const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Decoder for the XML rendering of analytical events; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    etw: windows_etw::Decoder,
    /// The lines of the event being read, from `<Event` on.
    event: Vec<u8>,
    /// Inside an event.
    reading: bool,
    /// The event outgrew [`MAX_EVENT_BYTES`]: its other lines are skipped.
    oversized: bool,
}

impl Decoder {
    /// A decoder with the given sensor name.
    pub fn new(options: &DecodeOptions) -> Self {
        Decoder {
            etw: windows_etw::Decoder::new(options),
            event: Vec::new(),
            reading: false,
            oversized: false,
        }
    }

    fn decode_event(&mut self) -> Result<Option<DnsEvent>, ParseError> {
        let xml = std::str::from_utf8(&self.event)
            .map_err(|_| ParseError::new(ParseErrorKind::NotUtf8, "Event", "UTF-8 XML"))?;
        let fields = EventXml::read(xml)?;
        let Some(kind) = fields.id.and_then(kind_of_id) else {
            return Ok(None);
        };
        let time = fields.time.ok_or(ParseError::missing(
            "SystemTime",
            "<TimeCreated SystemTime=\"...\"/>",
        ))?;
        let ts = parse_rfc3339(&time)
            .map_err(|_| ParseError::invalid("SystemTime", "an RFC 3339 time"))?;
        let pairs = fields
            .data
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()));
        self.etw.event(kind, ts, pairs).map(Some)
    }
}

fn is_event_start(line: &[u8]) -> bool {
    line.strip_prefix(b"<Event")
        .is_some_and(|rest| matches!(rest.first(), None | Some(b' ' | b'\t' | b'>')))
}

impl LineDecoder for Decoder {
    fn decode_line(&mut self, line: &[u8]) -> Result<Option<DnsEvent>, ParseError> {
        let line = prepare(line)?;
        if !self.reading {
            // `<?xml ...?>`, an `<Events>` wrapper, blank lines: nothing to read.
            if !is_event_start(trim_start(line)) {
                return Ok(None);
            }
            self.reading = true;
            self.oversized = false;
            self.event.clear();
        }
        if !self.oversized {
            if self.event.len() + line.len() >= MAX_EVENT_BYTES {
                self.oversized = true;
                self.event = Vec::new();
            } else {
                self.event.extend_from_slice(line);
                self.event.push(b'\n');
            }
        }
        if memchr::memmem::find(line, b"</Event>").is_none() {
            return Ok(None);
        }
        self.reading = false;
        if self.oversized {
            return Err(ParseError::new(
                ParseErrorKind::TooLarge,
                "Event",
                "an event under 64 KiB",
            ));
        }
        self.decode_event()
    }

    fn finish(&mut self) -> Result<Option<DnsEvent>, ParseError> {
        if std::mem::take(&mut self.reading) {
            self.event.clear();
            return Err(ParseError::missing("</Event>", "the end of the last event"));
        }
        Ok(None)
    }
}

/// What an `<Event>` element holds that a DNS event needs.
#[derive(Debug, Default)]
struct EventXml {
    id: Option<u16>,
    time: Option<String>,
    data: Vec<(String, String)>,
}

impl EventXml {
    /// Reads the event with quick-xml: a real XML reader, so entities, attribute quoting
    /// and self-closing elements are read as Windows writes them, and malformed XML is an
    /// error rather than a guess.
    fn read(xml: &str) -> Result<EventXml, ParseError> {
        let malformed = || ParseError::invalid("Event", "well-formed XML");
        let mut reader = Reader::from_str(xml);
        let mut out = EventXml::default();
        // The element whose text is being read, and (for `Data`) its `Name`.
        let mut text_of: Option<(Element, String)> = None;
        let mut text = String::new();
        loop {
            match reader.read_event().map_err(|_| malformed())? {
                Event::Start(e) => {
                    text.clear();
                    text_of = match e.local_name().as_ref() {
                        "EventID" => Some((Element::EventId, String::new())),
                        "Data" => {
                            let name = e
                                .try_get_attribute("Name")
                                .map_err(|_| malformed())?
                                .map(|a| {
                                    a.normalized_value(XmlVersion::Implicit1_0)
                                        .map(Cow::into_owned)
                                })
                                .transpose()
                                .map_err(|_| malformed())?;
                            name.map(|n| (Element::Data, n))
                        }
                        "TimeCreated" => {
                            out.time = system_time(&e).map_err(|_| malformed())?;
                            None
                        }
                        _ => None,
                    };
                }
                Event::Empty(e) if e.local_name().as_ref() == "TimeCreated" => {
                    out.time = system_time(&e).map_err(|_| malformed())?;
                }
                Event::Text(t) if text_of.is_some() => text.push_str(&t.xml10_content()),
                Event::CData(t) if text_of.is_some() => {
                    text.push_str(&t);
                }
                Event::GeneralRef(r) if text_of.is_some() => {
                    let c = match r.resolve_char_ref().map_err(|_| malformed())? {
                        Some(c) => c,
                        None => predefined_entity(&r).ok_or_else(malformed)?,
                    };
                    text.push(c);
                }
                Event::End(_) => match text_of.take() {
                    Some((Element::EventId, _)) => {
                        out.id = Some(text.trim().parse().map_err(|_| {
                            ParseError::invalid("EventID", "an event id (a number)")
                        })?);
                    }
                    Some((Element::Data, name)) => {
                        out.data.push((name, text.trim().to_owned()));
                    }
                    None => {}
                },
                Event::Eof => break,
                _ => {}
            }
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy)]
enum Element {
    EventId,
    Data,
}

fn system_time(e: &quick_xml::events::BytesStart<'_>) -> Result<Option<String>, ()> {
    match e.try_get_attribute("SystemTime").map_err(|_| ())? {
        Some(a) => Ok(Some(
            a.normalized_value(XmlVersion::Implicit1_0)
                .map_err(|_| ())?
                .into_owned(),
        )),
        None => Ok(None),
    }
}

/// The five entities XML predefines.
fn predefined_entity(r: &quick_xml::events::BytesRef<'_>) -> Option<char> {
    Some(match &**r {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json_lines::to_json_line;

    fn decode_all(text: &str) -> Vec<Result<DnsEvent, ParseError>> {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        let mut out: Vec<_> = text
            .lines()
            .filter_map(|l| decoder.decode_line(l.as_bytes()).transpose())
            .collect();
        out.extend(decoder.finish().transpose());
        out
    }

    fn json(event: &DnsEvent) -> String {
        let mut line = String::new();
        to_json_line(event, &mut line);
        line
    }

    const QUERY: &str = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-DNSServer" /><EventID>256</EventID><TimeCreated SystemTime="2025-08-13T13:04:51.3550852Z" /></System><EventData><Data Name="TCP">1</Data><Data Name="InterfaceIP">192.168.51.11</Data><Data Name="Source">192.168.1.101</Data><Data Name="QNAME">Www.Example.com.</Data><Data Name="QTYPE">28</Data><Data Name="XID">30291</Data><Data Name="Flags">256</Data><Data Name="Note">a &amp; b &#x41;</Data></EventData></Event>"#;

    #[test]
    fn one_event_per_line() {
        let events = decode_all(QUERY);
        let [Ok(event)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(
            json(event),
            r#"{"ts":"2025-08-13T13:04:51.355085Z","client":"192.168.1.101","server":"192.168.51.11","transport":"tcp","direction":"query","id":30291,"qname":"www.example.com","registered_domain":"example.com","qtype":"AAAA","flags":256}"#
        );
    }

    #[test]
    fn an_indented_event_over_many_lines_and_a_wrapper() {
        let indented = QUERY.replace("><", ">\n  <");
        let text = format!("<?xml version=\"1.0\"?>\n<Events>\n{indented}\n{QUERY}\n</Events>\n");
        let events = decode_all(&text);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(events.iter().all(Result::is_ok), "{events:?}");
    }

    #[test]
    fn other_events_are_skipped_and_bad_ones_reported() {
        assert!(decode_all(&QUERY.replace(">256<", ">270<")).is_empty());
        let cases = [
            (QUERY.replace("<EventID>256", "<EventID>x256"), "EventID"),
            (
                QUERY.replace(" SystemTime=\"2025", " SystemTime=\"x2025"),
                "SystemTime",
            ),
            (
                QUERY.replace("</Data><Data Name=\"QTYPE\"", "</Dta><Data Name=\"QTYPE\""),
                "Event",
            ),
            (QUERY.replace("</Event>", ""), "</Event>"),
            (QUERY.replace("Www.Example.com.", "a..b"), "qname"),
        ];
        for (text, field) in cases {
            let events = decode_all(&text);
            let [Err(error)] = &events[..] else {
                panic!("{text}: {events:?}")
            };
            assert!(error.to_string().contains(field), "{text}: {error}");
        }
    }

    #[test]
    fn an_oversized_event_is_refused_without_being_kept() {
        let mut decoder = Decoder::new(&DecodeOptions::default());
        assert!(matches!(decoder.decode_line(b"<Event>"), Ok(None)));
        let filler = vec![b'x'; 60_000];
        for _ in 0..1000 {
            assert!(matches!(decoder.decode_line(&filler), Ok(None)));
        }
        assert!(decoder.event.capacity() < MAX_EVENT_BYTES);
        assert!(decoder.decode_line(b"</Event>").is_err());
        // The next event is read normally.
        assert!(matches!(decoder.decode_line(QUERY.as_bytes()), Ok(Some(_))));
    }
}
