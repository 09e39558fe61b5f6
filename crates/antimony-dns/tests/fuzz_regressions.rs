//! Inputs the fuzz targets of `fuzz/` (pcap, dnstap, dns_message) once failed on, each
//! named after its bug, replayed with the targets' checks: no panic, whole and chunked
//! decoding agree, and every event is well formed and reads back equal from its JSON line.
//! Each input also has its expected outcome in [`EXPECTED`] (how many events, which errors),
//! so an input that stops decoding cannot pass by leaving nothing to check.
//!
//! - `dns_message/owner-name-too-long-when-escaped`: an answer whose owner name, in its
//!   escaped presentation form, is longer than a name may be; it was kept unnormalised and
//!   did not read back. Such answers are now walked but not kept.
//! - `pcap/pcapng-time-beyond-9999`, `dnstap/time-beyond-9999`: records dated after the
//!   year 9999, which RFC 3339 cannot write. Such records are now errors (`bad_timestamp`).
//! - `pcap/oversize-block-header-at-the-end`: a stream ending with the first 11 bytes of a
//!   pcapng block over the size cap. Whole, the 8 bytes giving its length were enough to
//!   call it oversized; in chunks, the decoder waited for 12 and called it cut short. The
//!   framer now asks for no more bytes than its next decision needs.

use std::collections::BTreeSet;
use std::path::Path;

use antimony_dns::DnsEvent;
use antimony_dns::formats::{DecodeOptions, Format, LineDecoder, json_lines};
use antimony_dns::stream::{BinaryFormat, Item};
use antimony_dns::wire::{WireMeta, decode_message};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fuzz");

/// What one input must decode to: `events` events (each passing [`check`]) holding
/// `answers` answers in all, and at least the errors named in `errors` (by their `reason()`),
/// the ones its bug is about.
struct Expected {
    input: &'static str,
    events: usize,
    answers: usize,
    errors: &'static [&'static str],
}

const EXPECTED: &[Expected] = &[
    // The message decodes; the answer whose owner name is too long once escaped is walked
    // but not kept.
    Expected {
        input: "dns_message/owner-name-too-long-when-escaped",
        events: 1,
        answers: 0,
        errors: &[],
    },
    // No packet decodes; the block over the size cap is called oversized (not cut short)
    // however the stream is chunked, then the capture is cut short inside it.
    Expected {
        input: "pcap/oversize-block-header-at-the-end",
        events: 0,
        answers: 0,
        errors: &["record_too_large", "truncated_stream"],
    },
    // Packet 6 decodes; packet 7, dated past 9999, is refused.
    Expected {
        input: "pcap/pcapng-time-beyond-9999",
        events: 1,
        answers: 1,
        errors: &["bad_timestamp"],
    },
    // Frames 2 and 4 decode; frame 5, dated past 9999, is refused.
    Expected {
        input: "dnstap/time-beyond-9999",
        events: 2,
        answers: 1,
        errors: &["bad_timestamp"],
    },
];

fn expected(name: &str) -> &'static Expected {
    EXPECTED
        .iter()
        .find(|e| name.ends_with(&format!("/{}", e.input)))
        .unwrap_or_else(|| panic!("{name}: no expected outcome in EXPECTED"))
}

/// The fuzz targets' checks on an accepted event (`fuzz/src/lib.rs`).
fn check(event: &DnsEvent, what: &str) {
    assert!(
        event.qname.len() <= antimony_dns::domain::MAX_NAME_LEN,
        "{what}"
    );
    assert!(
        !event
            .qname
            .bytes()
            .any(|b| b.is_ascii_uppercase() || b <= b' '),
        "{what}: {event:?}"
    );
    assert!(event.qname.ends_with(event.registered_domain()), "{what}");
    let mut line = String::new();
    json_lines::to_json_line(event, &mut line);
    let back = Format::JsonLines
        .decoder(&DecodeOptions::default())
        .decode_line(line.as_bytes());
    assert_eq!(back, Ok(Some(event.clone())), "{what}: {line}");
}

fn inputs(dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(Path::new(FIXTURES).join(dir))
        .expect("fixture directory")
        .map(|e| e.expect("directory entry").path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("fixture")))
        .collect();
    all.sort();
    assert!(!all.is_empty(), "{dir}");
    all
}

#[test]
fn every_expected_input_is_there() {
    let present: BTreeSet<String> = ["dns_message", "pcap", "dnstap"]
        .into_iter()
        .flat_map(|dir| {
            inputs(dir)
                .into_iter()
                .map(move |(name, _)| format!("{dir}/{}", name.rsplit('/').next().unwrap_or("")))
        })
        .collect();
    let listed: BTreeSet<String> = EXPECTED.iter().map(|e| e.input.to_owned()).collect();
    assert_eq!(present, listed);
}

/// Counts the events (checking each) and answers of decoded items, and collects the
/// errors' reasons; then compares with what `name` must give.
fn outcome<'a>(name: &str, items: impl IntoIterator<Item = Result<&'a DnsEvent, &'static str>>) {
    let expect = expected(name);
    let (mut events, mut answers) = (0, 0);
    let mut errors = BTreeSet::new();
    for item in items {
        match item {
            Ok(event) => {
                check(event, name);
                events += 1;
                answers += event.answers.len();
            }
            Err(reason) => {
                errors.insert(reason);
            }
        }
    }
    assert_eq!(
        events, expect.events,
        "{name}: events decoded (errors {errors:?})"
    );
    assert_eq!(answers, expect.answers, "{name}: answers kept");
    for reason in expect.errors {
        assert!(
            errors.contains(reason),
            "{name}: no `{reason}` error among {errors:?}"
        );
    }
}

#[test]
fn dns_messages() {
    for (name, bytes) in inputs("dns_message") {
        let decoded = decode_message(&bytes, &WireMeta::default());
        outcome(&name, [decoded.as_ref().map_err(|e| e.reason())]);
    }
}

/// Decodes `bytes` pushed in pieces of `chunk` bytes, and checks the decoder's counts as
/// the fuzz target does.
fn decode(format: BinaryFormat, bytes: &[u8], chunk: usize) -> Vec<(u64, Item)> {
    let mut decoder = format.decoder(&DecodeOptions::default());
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        decoder.push_numbered(piece, &mut out);
    }
    decoder.finish_numbered(&mut out);
    let stats = decoder.stats();
    assert_eq!(
        stats.records,
        stats.records_decoded + stats.skipped_total(),
        "{stats:?}"
    );
    out
}

#[test]
fn streams() {
    for (dir, format) in [
        ("pcap", BinaryFormat::Pcap),
        ("dnstap", BinaryFormat::Dnstap),
    ] {
        for (name, bytes) in inputs(dir) {
            let whole = decode(format, &bytes, bytes.len());
            // The fuzz target's chunk size, and the smallest.
            for chunk in [bytes.len() % 61 + 1, 1] {
                assert!(
                    whole == decode(format, &bytes, chunk),
                    "{name}: chunks of {chunk} bytes decode differently"
                );
            }
            outcome(
                &name,
                whole
                    .iter()
                    .map(|(_, item)| item.as_ref().map_err(|e| e.kind.reason())),
            );
        }
    }
}
