//! The `dns_parse` bolt: chunks of log lines in, DNS events out, bad lines set aside with
//! `file:line` and the reason.

use std::collections::HashMap;
use std::sync::Arc;

use antimony_dns::formats::{DateOrder, DecodeOptions, Decoder, MAX_LINE_LEN, detect_format};
use antimony_dns::{Format, LineDecoder};
use antimony_engine::{Bolt, Emitter};
use antimony_io::TextChunk;
use serde::Deserialize;

use crate::record::Tuple;

/// Lines looked at to recognise a log's format.
const DETECT_SAMPLE_LINES: usize = 64;

/// Options of `dns_parse`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseConfig {
    /// `auto` (default) recognises each source's format from its first lines; or a format
    /// name (`windows-debug`, `bind9`, `json`).
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
        }
    }
}

impl ParseConfig {
    /// Checks the options that serde cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.format != "auto" && Format::from_name(&self.format).is_none() {
            let names: Vec<&str> = Format::all().iter().map(|f| f.name()).collect();
            return Err(format!(
                "unknown format `{}` (formats: auto, {})",
                self.format,
                names.join(", ")
            ));
        }
        Ok(())
    }
}

/// Decodes lines with one decoder per source (file).
pub struct ParseBolt {
    format: Option<Format>,
    options: DecodeOptions,
    decoders: HashMap<String, Option<Decoder>>,
}

impl ParseBolt {
    /// A parser with these options (checked by [`ParseConfig::check`]).
    pub fn new(config: &ParseConfig) -> Self {
        ParseBolt {
            format: Format::from_name(&config.format),
            options: DecodeOptions {
                date_order: config.date_order,
                utc_offset_minutes: config.utc_offset_minutes,
                sensor: config.sensor.as_deref().map(Arc::from),
                year: Some(config.year.unwrap_or_else(current_year)),
            },
            decoders: HashMap::new(),
        }
    }

    fn decoder_for(&mut self, chunk: &TextChunk) -> Option<&mut Decoder> {
        if !self.decoders.contains_key(&chunk.source) {
            let format = self.format.or_else(|| {
                let sample: Vec<&[u8]> = chunk
                    .lines()
                    .map(|(_, line)| line)
                    .take(DETECT_SAMPLE_LINES)
                    .collect();
                detect_format(&sample)
            });
            let decoder = format.map(|f| f.decoder(&self.options));
            self.decoders.insert(chunk.source.clone(), decoder);
        }
        self.decoders.get_mut(&chunk.source)?.as_mut()
    }
}

impl Bolt<Tuple> for ParseBolt {
    fn process(&mut self, record: &mut Tuple, out: &mut Emitter<'_, Tuple>) {
        let Tuple::Chunk(chunk) = record else { return };
        let source = chunk.source.clone();
        let Some(decoder) = self.decoder_for(chunk) else {
            for (number, line) in chunk.lines() {
                out.dead_letter(
                    Some(format!("{source}:{number}")),
                    "the log format was not recognised; set `format` on the dns_parse bolt",
                    String::from_utf8_lossy(line),
                );
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
                Ok(Some(event)) => out.emit(Tuple::Dns(Box::new(event))),
                Ok(None) => {}
                Err(error) => out.dead_letter(
                    Some(format!("{source}:{number}")),
                    format!("{} line: {error}", decoder.format().name()),
                    String::from_utf8_lossy(line),
                ),
            }
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
