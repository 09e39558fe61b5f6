//! Options of `dns_parse`.

use antimony_core::ConfigError;
use antimony_dns::Format;
use antimony_dns::formats::DateOrder;
use antimony_dns::formats::json_lines::FieldMap;
use antimony_dns::stream::BinaryFormat;
use serde::Deserialize;

/// Options of `dns_parse`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseConfig {
    /// `auto` (default) recognises each source's format from its first lines or bytes; or a
    /// format name (`antimony parse --list-formats` lists them), always obeyed.
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

    /// The text format named, if one is (`fields` implies JSON lines).
    pub fn text_format(&self) -> Option<Format> {
        match self.fields {
            Some(_) => Some(Format::JsonLines),
            None => Format::from_name(&self.format),
        }
    }

    /// The binary format named, if one is.
    pub fn binary_format(&self) -> Option<BinaryFormat> {
        BinaryFormat::from_name(&self.format)
    }
}

/// Every format with its description, text then binary, for `--list-formats`.
pub fn formats() -> Vec<(&'static str, &'static str)> {
    Format::all()
        .iter()
        .map(|f| (f.name(), f.description()))
        .chain(
            BinaryFormat::all()
                .iter()
                .map(|f| (f.name(), f.description())),
        )
        .collect()
}
