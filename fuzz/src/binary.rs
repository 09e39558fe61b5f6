//! What the binary fuzz targets share: the pcap, pcapng and dnstap stream decoders and
//! the DNS wire decoder.
//!
//! A finding is a panic: a decoder panicked, an accepted event breaks the invariants of
//! [`super::check`], or a stream decoded whole differs from the same stream pushed in
//! small chunks (the engine feeds files in chunks, so this must never happen).

use antimony_dns::DecodeOptions;
use antimony_dns::stream::{BinaryFormat, Item};
use antimony_dns::wire::{WireMeta, decode_message};

/// Decodes `data` as a stream of `format`, whole and in chunks of a size taken from its
/// length, and checks both agree and every event is well formed.
pub fn stream(format: BinaryFormat, data: &[u8]) {
    let whole = decode(format, data, data.len().max(1));
    let chunked = decode(format, data, data.len() % 61 + 1);
    assert!(whole == chunked, "chunking changed what was decoded");
    for (_, item) in &whole {
        if let Ok(event) = item {
            super::check(event);
        }
    }
}

/// Decodes `data` as one DNS message.
pub fn message(data: &[u8]) {
    if let Ok(event) = decode_message(data, &WireMeta::default()) {
        super::check(&event);
    }
}

fn decode(format: BinaryFormat, data: &[u8], chunk: usize) -> Vec<(u64, Item)> {
    let mut decoder = format.decoder(&DecodeOptions::default());
    let mut out = Vec::new();
    for piece in data.chunks(chunk) {
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
