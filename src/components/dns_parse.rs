//! The `dns_parse` bolt: chunks of log lines in, DNS events out, bad lines set aside with
//! `file:line` and the reason.

use std::collections::HashMap;
use std::sync::Arc;

use antimony_core::{Bolt, ConfigError, Emitter};
use antimony_dns::formats::json_lines::{self, FieldMap};
use antimony_dns::formats::{DateOrder, DecodeOptions, Decoder, MAX_LINE_LEN, detect_format};
use antimony_dns::stream::{BinaryFormat, StreamDecoder, StreamError};
use antimony_dns::{DnsEvent, Format, LineDecoder};
use antimony_io::{ByteChunk, TextChunk};
use serde::Deserialize;

use crate::record::Tuple;

/// Sources whose decoder is remembered at once.
const MAX_SOURCES: usize = 4096;
/// Lines looked at to recognise a log's format.
const DETECT_SAMPLE_LINES: usize = 64;

/// Options of `dns_parse`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseConfig {
    /// `auto` (default) recognises each source's format from its first lines or bytes; or a
    /// format name (`antimony parse --list-formats` lists them).
    #[serde(default = "auto")]
    pub format: String,
    /// Order of numeric dates in Windows logs: `auto` (default), `mdy`, `dmy`, `ymd`.
    #[serde(default)]
    pub date_order: DateOrder,
    /// Minutes east of UTC of the local time logs are written in (default 0: UTC).
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// A name for the sensor or server, put in every event.
    pub sensor: Option<String>,
    /// Year for syslog timestamps that have none (default: the current year).
    pub year: Option<i32>,
    /// Reads JSON lines of any shape: where each field is (`qname = "dns.question.name"`,
    /// dotted paths). Implies `format = "json"`.
    pub fields: Option<FieldMap>,
}

fn auto() -> String {
    "auto".to_owned()
}

impl Default for ParseConfig {
    fn default() -> Self {
        ParseConfig {
            format: auto(),
            date_order: DateOrder::Auto,
            utc_offset_minutes: 0,
            sensor: None,
            year: None,
            fields: None,
        }
    }
}

impl ParseConfig {
    /// Checks the options that serde cannot.
    pub fn check(&self) -> Result<(), ConfigError> {
        let known = self.format == "auto"
            || Format::from_name(&self.format).is_some()
            || BinaryFormat::from_name(&self.format).is_some();
        if !known {
            let names: Vec<&str> = Format::all()
                .iter()
                .map(|f| f.name())
                .chain(BinaryFormat::all().iter().map(|f| f.name()))
                .collect();
            return Err(ConfigError::option(
                "format",
                format!(
                    "unknown format `{}` (formats: auto, {})",
                    self.format,
                    names.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

/// The binary formats, with descriptions, for `--list-formats`.
pub fn binary_formats() -> Vec<(&'static str, &'static str)> {
    BinaryFormat::all()
        .iter()
        .map(|f| (f.name(), f.description()))
        .collect()
}

/// Whether a text source whose first bytes are `head` is in a format whose lines depend on
/// earlier ones (a header naming the columns, a record spanning lines): its chunks must then
/// reach one decoder, in order.
pub fn is_stateful_text(head: &[u8]) -> bool {
    let lines: Vec<&[u8]> = head
        .split(|&b| b == b'\n')
        .take(DETECT_SAMPLE_LINES)
        .collect();
    detect_format(&lines).is_some_and(Format::is_stateful)
}

/// The binary format the first bytes of a source are in, by its magic number.
pub fn detect_binary(head: &[u8]) -> Option<&'static str> {
    BinaryFormat::detect(head).map(|f| f.name())
}

/// Decodes lines with one decoder per source (file), and binary sources with one stateful
/// decoder each, fed their chunks in order.
pub struct ParseBolt {
    format: Option<Format>,
    fields: Option<FieldMap>,
    binary_format: Option<BinaryFormat>,
    options: DecodeOptions,
    decoders: HashMap<String, Option<Decoder>>,
    /// First chunks of ordered sources whose format is not recognised yet.
    waiting: HashMap<String, Vec<TextChunk>>,
    streams: HashMap<String, Option<Box<dyn StreamDecoder>>>,
    decoded: Vec<Result<DnsEvent, StreamError>>,
}

impl ParseBolt {
    /// A parser with these options (checked by [`ParseConfig::check`]).
    pub fn new(config: &ParseConfig) -> Self {
        ParseBolt {
            fields: config.fields.clone(),
            format: match config.fields {
                Some(_) => Some(Format::JsonLines),
                None => Format::from_name(&config.format),
            },
            binary_format: BinaryFormat::from_name(&config.format),
            streams: HashMap::new(),
            decoded: Vec::new(),
            options: DecodeOptions {
                date_order: config.date_order,
                utc_offset_minutes: config.utc_offset_minutes,
                sensor: config.sensor.as_deref().map(Arc::from),
                year: Some(config.year.unwrap_or_else(current_year)),
            },
            decoders: HashMap::new(),
            waiting: HashMap::new(),
        }
    }

    /// A decoder for a source, recognising its format from `sample` unless it is configured.
    fn new_decoder(&self, sample: &[&[u8]]) -> Option<Decoder> {
        if let Some(fields) = &self.fields {
            return Some(json_lines::Decoder::with_fields(&self.options, fields.clone()).into());
        }
        self.format
            .or_else(|| detect_format(sample))
            .map(|f| f.decoder(&self.options))
    }

    /// Decodes a text chunk with its source's decoder, made on the source's first chunk.
    ///
    /// An ordered source (a format whose lines depend on earlier ones) reaches this instance
    /// alone and in order; its first chunks are gathered until there are enough lines to
    /// recognise the format, since its first chunk may hold little more than a header.
    fn text(&mut self, chunk: TextChunk, out: &mut Emitter<'_, Tuple>) {
        if self.decoders.contains_key(&chunk.source) {
            return self.decode(&chunk, out);
        }
        let recognised = self.format.is_some() || self.fields.is_some();
        let source = chunk.source.clone();
        let waiting = self.waiting.entry(source.clone()).or_default();
        let ordered = chunk.ordered;
        waiting.push(chunk);
        let lines: u64 = waiting.iter().map(TextChunk::line_count).sum();
        let over = waiting.last().is_some_and(|c| c.last);
        if ordered && !recognised && !over && lines < DETECT_SAMPLE_LINES as u64 {
            return;
        }
        self.start_source(source, out);
    }

    /// Recognises the format of a waiting source from its first lines, then decodes what it
    /// gathered.
    fn start_source(&mut self, source: String, out: &mut Emitter<'_, Tuple>) {
        let chunks = self.waiting.remove(&source).unwrap_or_default();
        let sample: Vec<&[u8]> = chunks
            .iter()
            .flat_map(|c| c.lines().map(|(_, line)| line))
            .take(DETECT_SAMPLE_LINES)
            .collect();
        let decoder = self.new_decoder(&sample);
        // Live sources open a source per connection: keep the map bounded. Forgetting a
        // source only costs recognising its format again.
        if self.decoders.len() >= MAX_SOURCES {
            self.decoders.clear();
        }
        self.decoders.insert(source, decoder);
        for chunk in &chunks {
            self.decode(chunk, out);
        }
    }

    fn decode(&mut self, chunk: &TextChunk, out: &mut Emitter<'_, Tuple>) {
        let source = &chunk.source;
        let Some(Some(decoder)) = self.decoders.get_mut(source) else {
            for (number, line) in chunk.lines() {
                out.dead_letter(
                    Some(format!("{source}:{number}")),
                    "the log format was not recognised; set `format` on the dns_parse bolt",
                    String::from_utf8_lossy(line),
                );
            }
            if chunk.last {
                self.decoders.remove(source);
            }
            return;
        };
        for (number, line) in chunk.lines() {
            if line.len() > MAX_LINE_LEN {
                out.dead_letter(
                    Some(format!("{source}:{number}")),
                    format!(
                        "line is {} bytes long, over the {MAX_LINE_LEN} byte limit",
                        line.len()
                    ),
                    String::from_utf8_lossy(&line[..256]),
                );
                continue;
            }
            match decoder.decode_line(line) {
                Ok(Some(event)) => out.emit(Tuple::Dns(Arc::new(event))),
                Ok(None) => {}
                Err(error) => out.dead_letter(
                    Some(format!("{source}:{number}")),
                    format!("{} line: {error}", decoder.format().name()),
                    String::from_utf8_lossy(line),
                ),
            }
        }
        if chunk.last {
            // The source is over: a record held across lines comes out now.
            let next_line = chunk.first_line + chunk.line_count();
            match decoder.finish() {
                Ok(Some(event)) => out.emit(Tuple::Dns(Arc::new(event))),
                Ok(None) => {}
                Err(error) => out.dead_letter(
                    Some(format!("{source}:{next_line}")),
                    format!(
                        "{} record cut short at the end: {error}",
                        decoder.format().name()
                    ),
                    String::new(),
                ),
            }
            self.decoders.remove(source);
        }
    }
}

impl ParseBolt {
    /// Feeds a binary chunk to its source's decoder; emits what it decodes.
    fn bytes(&mut self, chunk: &ByteChunk, out: &mut Emitter<'_, Tuple>) {
        let source = &chunk.source;
        if !self.streams.contains_key(source) {
            // A source's first chunk names its format (or the configured one does).
            let format = self
                .binary_format
                .or_else(|| match (self.format, chunk.offset) {
                    (None, 0) => BinaryFormat::detect(&chunk.data),
                    _ => None,
                });
            let decoder = format.map(|f| f.decoder(&self.options));
            if decoder.is_none() {
                out.dead_letter(
                    Some(format!("{source}, byte {}", chunk.offset)),
                    "binary input in no known format (pcap, pcapng, dnstap); set `format` on the dns_parse bolt",
                    String::new(),
                );
            }
            self.streams.insert(source.clone(), decoder);
        }
        let Some(Some(decoder)) = self.streams.get_mut(source) else {
            if chunk.last {
                self.streams.remove(source);
            }
            return;
        };
        decoder.push(&chunk.data, &mut self.decoded);
        if chunk.last {
            decoder.finish(&mut self.decoded);
            self.streams.remove(source);
        }
        for result in self.decoded.drain(..) {
            match result {
                Ok(event) => out.emit(Tuple::Dns(Arc::new(event))),
                Err(error) => out.dead_letter(
                    Some(format!("{source}, {}", error.location)),
                    error.reason.to_string(),
                    String::new(),
                ),
            }
        }
    }
}

impl Bolt<Tuple> for ParseBolt {
    fn process(&mut self, record: &mut Tuple, out: &mut Emitter<'_, Tuple>) {
        match record {
            Tuple::Chunk(chunk) => self.text(std::mem::take(chunk), out),
            Tuple::Bytes(bytes) => self.bytes(bytes, out),
            _ => {}
        }
    }

    fn on_close(&mut self, out: &mut Emitter<'_, Tuple>) {
        // Sources still being recognised when the input ended (never the case for a file,
        // whose last chunk ends the wait): decode what they hold.
        let waiting: Vec<String> = self.waiting.keys().cloned().collect();
        for source in waiting {
            self.start_source(source, out);
        }
    }
}

fn current_year() -> i32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    antimony_dns::time::civil_from_days(now.div_euclid(86_400)).0
}
