//! The `dns_parse` bolt: chunks of logs, captures and dnstap in, DNS events out, bad records
//! set aside with `file:line` (or packet, or byte offset) and the reason.
//!
//! One decoder per source, made on the source's first chunk for the format the source was
//! recognised as ([`sniff`]: once per source, by the spout that opened it, or here for
//! sources no spout sniffed) unless `format` names one, and kept while the source is open
//! ([`sources`]: bounded, idle sources evicted and counted, never a source still sending).

pub mod config;
pub mod sniff;
pub mod sources;
pub mod text;

use std::sync::Arc;

use antimony_core::metrics::{Counter, CounterMetric, Gauge, GaugeMetric};
use antimony_core::{Bolt, Context, Emitter};
use antimony_dns::formats::DecodeOptions;
use antimony_dns::formats::json_lines;
use antimony_dns::stream::{BinaryFormat, StreamDecoder, StreamError};
use antimony_dns::{DnsEvent, Format};
use antimony_io::sources::sniff::describe_binary;
use antimony_io::{ByteChunk, TextChunk};

pub use self::config::ParseConfig;
use self::sources::{MAX_SOURCES, Sources};
use self::text::{Line, TextSource};
use crate::record::Tuple;

/// Lines the parser read.
pub const LINES: CounterMetric =
    CounterMetric::new("antimony_parse_lines_total", "Text lines the parser read.");
/// Lines read as a DNS event.
pub const LINE_EVENTS: CounterMetric = CounterMetric::new(
    "antimony_parse_line_events_total",
    "Text lines read as a DNS event (lines = line events + lines set aside + lines skipped).",
);
/// Lines set aside.
pub const LINES_SET_ASIDE: CounterMetric = CounterMetric::new(
    "antimony_parse_lines_set_aside_total",
    "Text lines set aside: no format reads them, or they are damaged records.",
);
/// Lines that hold no record (headers, comments, other kinds of log lines).
pub const LINES_SKIPPED: CounterMetric = CounterMetric::new(
    "antimony_parse_lines_skipped_total",
    "Text lines that hold no DNS record (headers, comments, other kinds of log line).",
);
/// Sources forgotten while idle because too many were open.
pub const SOURCES_EVICTED: CounterMetric = CounterMetric::new(
    "antimony_parse_sources_evicted_total",
    "Sources whose decoder was dropped while idle, because too many sources were open.",
);
/// Sources open now.
pub const SOURCES_OPEN: GaugeMetric = GaugeMetric::new(
    "antimony_parse_sources_open",
    "Sources with a decoder held now (a source shared by several workers is held by each until its end or its eviction).",
);

/// The parser's own series.
struct Series {
    lines: Counter,
    line_events: Counter,
    set_aside: Counter,
    skipped: Counter,
    evicted: Counter,
    open: Gauge,
}

/// Decodes each source with its own decoder: line decoders for text, stateful stream
/// decoders (fed their chunks in order) for binary sources.
pub struct ParseBolt {
    format: Option<Format>,
    fields: Option<json_lines::FieldMap>,
    binary_format: Option<BinaryFormat>,
    options: DecodeOptions,
    /// Text sources: how each is decoded.
    decoders: Sources<TextSource>,
    /// Binary sources: their decoder, `None` when the format was not recognised.
    streams: Sources<Option<Box<dyn StreamDecoder>>>,
    decoded: Vec<Result<DnsEvent, StreamError>>,
    series: Option<Series>,
    evicted_seen: u64,
}

impl ParseBolt {
    /// A parser with these options (checked by [`ParseConfig::check`]).
    pub fn new(config: &ParseConfig) -> Self {
        ParseBolt {
            fields: config.fields.clone(),
            format: config.text_format(),
            binary_format: config.binary_format(),
            options: DecodeOptions {
                date_order: config.date_order,
                utc_offset_minutes: config.utc_offset_minutes,
                sensor: config.sensor.as_deref().map(Arc::from),
                year: Some(config.year.unwrap_or_else(current_year)),
            },
            decoders: Sources::new(MAX_SOURCES),
            streams: Sources::new(MAX_SOURCES),
            decoded: Vec::new(),
            series: None,
            evicted_seen: 0,
        }
    }

    /// How a new text source is decoded: the configured format (obeyed), else the one the
    /// source was recognised as, else recognised here from this (its first) chunk.
    fn text_source(&self, chunk: &TextChunk) -> TextSource {
        if let Some(fields) = &self.fields {
            let decoder = json_lines::Decoder::with_fields(&self.options, fields.clone());
            return TextSource::new(Some(decoder.into()), true);
        }
        if let Some(format) = self.format {
            return TextSource::new(Some(format.decoder(&self.options)), true);
        }
        let format = match &chunk.format {
            Some(name) => Format::from_name(name),
            None => {
                let sample: Vec<&[u8]> = chunk
                    .lines()
                    .map(|(_, line)| line)
                    .take(sniff::SAMPLE_LINES)
                    .collect();
                sniff::text_format(&sample)
            }
        };
        TextSource::new(format.map(|f| f.decoder(&self.options)), false)
    }

    fn text(&mut self, chunk: &TextChunk, out: &mut Emitter<'_, Tuple>) {
        let source = &chunk.source;
        let fresh = (!self.decoders.contains(source)).then(|| self.text_source(chunk));
        let options = &self.options;
        let state = self.decoders.get_or_insert_with(source, || {
            fresh.unwrap_or_else(|| TextSource::new(None, false))
        });
        let (mut lines, mut events, mut set_aside, mut skipped) = (0u64, 0u64, 0u64, 0u64);
        for (number, line) in chunk.lines() {
            lines += 1;
            match state.decode(line, options) {
                Line::Event(event) => {
                    events += 1;
                    out.emit(Tuple::Dns(Arc::new(event)));
                }
                Line::Skipped => skipped += 1,
                Line::SetAside(reason) => {
                    set_aside += 1;
                    out.dead_letter(
                        Some(format!("{source}:{number}")),
                        reason,
                        String::from_utf8_lossy(line),
                    );
                }
            }
        }
        if chunk.last {
            // The source is over: a record held across lines comes out now.
            let next_line = chunk.first_line + chunk.line_count();
            match state.finish() {
                Some((_, Ok(Some(event)))) => out.emit(Tuple::Dns(Arc::new(event))),
                Some((name, Err(error))) => out.dead_letter(
                    Some(format!("{source}:{next_line}")),
                    format!("{name} record cut short at the end: {error}"),
                    String::new(),
                ),
                Some((_, Ok(None))) | None => {}
            }
            self.decoders.remove(source);
        }
        if let Some(series) = &self.series {
            series.lines.add(lines);
            series.line_events.add(events);
            series.set_aside.add(set_aside);
            series.skipped.add(skipped);
        }
    }

    /// The decoder for a binary source: the configured format, else the one the source was
    /// recognised as, else recognised here from its first bytes.
    fn stream_decoder(&self, chunk: &ByteChunk) -> Option<Box<dyn StreamDecoder>> {
        let format = self
            .binary_format
            .or_else(|| match (&chunk.format, self.format) {
                (Some(name), _) => BinaryFormat::from_name(name),
                (None, None) if chunk.offset == 0 => sniff::binary_format(&chunk.data),
                _ => None,
            });
        format.map(|f| f.decoder(&self.options))
    }

    /// Feeds a binary chunk to its source's decoder; emits what it decodes.
    fn bytes(&mut self, chunk: &ByteChunk, out: &mut Emitter<'_, Tuple>) {
        let source = &chunk.source;
        let fresh = (!self.streams.contains(source)).then(|| self.stream_decoder(chunk));
        if matches!(fresh, Some(None)) {
            let looks_like = match (chunk.offset, describe_binary(&chunk.data)) {
                (0, Some(what)) => format!("it looks like {what}; or "),
                _ => String::new(),
            };
            out.dead_letter(
                Some(format!("{source}, byte {}", chunk.offset)),
                format!(
                    "binary input in no known format (pcap, pcapng, dnstap): {looks_like}set `format` on the dns_parse bolt"
                ),
                String::new(),
            );
        }
        let slot = self.streams.get_or_insert_with(source, || fresh.flatten());
        if let Some(decoder) = slot.as_mut() {
            decoder.push(&chunk.data, &mut self.decoded);
            if chunk.last {
                decoder.finish(&mut self.decoded);
            }
        }
        if chunk.last {
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

    fn publish(&mut self) {
        let Some(series) = &self.series else { return };
        let evicted = self.decoders.evicted() + self.streams.evicted();
        series.evicted.add(evicted - self.evicted_seen);
        self.evicted_seen = evicted;
        series
            .open
            .set((self.decoders.len() + self.streams.len()) as i64);
    }
}

impl Bolt<Tuple> for ParseBolt {
    fn on_start(&mut self, ctx: &Context) {
        self.series = Some(Series {
            lines: ctx.counter(&LINES, &[]),
            line_events: ctx.counter(&LINE_EVENTS, &[]),
            set_aside: ctx.counter(&LINES_SET_ASIDE, &[]),
            skipped: ctx.counter(&LINES_SKIPPED, &[]),
            evicted: ctx.counter(&SOURCES_EVICTED, &[]),
            open: ctx.gauge(&SOURCES_OPEN, &[]),
        });
    }

    fn process(&mut self, record: &mut Tuple, out: &mut Emitter<'_, Tuple>) {
        match record {
            Tuple::Chunk(chunk) => self.text(chunk, out),
            Tuple::Bytes(bytes) => self.bytes(bytes, out),
            _ => {}
        }
        self.publish();
    }
}

fn current_year() -> i32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    antimony_dns::time::civil_from_days(now.div_euclid(86_400)).0
}
