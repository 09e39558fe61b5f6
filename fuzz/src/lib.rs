//! What the fuzz targets share: decode every line of the input and check what comes out.
//!
//! A finding is a panic: either a decoder panicked, or it accepted an event that breaks an
//! invariant (a name not normalised, a registered domain that is not a suffix of the name,
//! an event that does not read back equal from its own JSON line).

pub mod binary;

use antimony_dns::DnsEvent;
use antimony_dns::domain::MAX_NAME_LEN;
use antimony_dns::formats::json_lines::{self, FieldMap};
use antimony_dns::formats::{DecodeOptions, Format, LineDecoder, detect_format};

/// Options that reach every code path: a year for syslog dates, an offset, a sensor.
fn options() -> DecodeOptions {
    DecodeOptions {
        year: Some(2026),
        utc_offset_minutes: 90,
        sensor: Some("fuzz".into()),
        ..DecodeOptions::default()
    }
}

/// Decodes each line of `data` with the decoder of the format named `name`.
///
/// # Panics
///
/// When no format has that name: a misspelt target would otherwise fuzz nothing and report
/// no findings, so the first input stops it with a message instead.
pub fn decode_lines(name: &str, data: &[u8]) {
    let format = Format::from_name(name).unwrap_or_else(|| {
        panic!("fuzz target names an unknown format {name:?}; see Format::from_name")
    });
    let mut decoder = format.decoder(&options());
    run(&mut decoder, data);
}

/// Decodes each line of `data` as JSON with a field map.
pub fn decode_mapped_json(data: &[u8]) {
    let fields = FieldMap {
        ts: Some("@timestamp".into()),
        client: Some("source.ip".into()),
        server: Some("id.resp_h".into()),
        qname: Some("dns.question.name".into()),
        qtype: Some("dns.question.type".into()),
        rcode: Some("dns.response_code".into()),
        answers: Some("dns.answers".into()),
        ..FieldMap::default()
    };
    let mut decoder = json_lines::Decoder::with_fields(&options(), fields);
    run(&mut decoder, data);
}

/// Detects the format from the input's first lines, then decodes them all with it.
pub fn detect_and_decode(data: &[u8]) {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').take(64).collect();
    if let Some(format) = detect_format(&lines) {
        let mut decoder = format.decoder(&options());
        run(&mut decoder, data);
    }
}

fn run(decoder: &mut impl LineDecoder, data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        if let Ok(Some(event)) = decoder.decode_line(line) {
            check(&event);
        }
    }
    if let Ok(Some(event)) = decoder.finish() {
        check(&event);
    }
}

/// The invariants of an accepted event.
fn check(event: &DnsEvent) {
    assert!(event.qname.len() <= MAX_NAME_LEN, "{event:?}");
    assert!(
        !event
            .qname
            .bytes()
            .any(|b| b.is_ascii_uppercase() || b <= b' '),
        "{event:?}"
    );
    assert!(
        event.qname.ends_with(event.registered_domain()),
        "{event:?}"
    );
    let mut line = String::new();
    json_lines::to_json_line(event, &mut line);
    let mut json = Format::JsonLines.decoder(&DecodeOptions::default());
    let back = json.decode_line(line.as_bytes());
    assert_eq!(back.as_ref(), Ok(&Some(event.clone())), "{line}");
}
