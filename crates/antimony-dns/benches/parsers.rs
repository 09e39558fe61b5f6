//! Decoder throughput in lines per second, on the real sample logs repeated to a few MB.
//!
//! `cargo bench -p antimony-dns --bench parsers`

use std::hint::black_box;

use antimony_dns::formats::json_lines::FieldMap;
use antimony_dns::formats::{DecodeOptions, Format, LineDecoder, bind9, json_lines};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/logs/");
/// About this many bytes of lines per benchmark input.
const TARGET_BYTES: usize = 4 << 20;

/// The lines of `name` that `keep` selects, repeated to about [`TARGET_BYTES`].
fn corpus(name: &str, keep: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let data = std::fs::read(format!("{LOGS}{name}")).unwrap_or_default();
    let sample: Vec<&[u8]> = data.split(|&b| b == b'\n').filter(|l| keep(l)).collect();
    repeat(&sample)
}

fn repeat(sample: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut bytes = 0;
    while bytes < TARGET_BYTES && !sample.is_empty() {
        for line in sample {
            bytes += line.len() + 1;
            lines.push(line.to_vec());
        }
    }
    lines
}

/// Decodes every line, counting records so the work cannot be optimised away.
fn run(decoder: &mut dyn FnMut(&[u8]) -> bool, lines: &[Vec<u8>]) -> usize {
    lines.iter().filter(|line| decoder(black_box(line))).count()
}

fn bench_format(c: &mut Criterion, format: Format, lines: &[Vec<u8>]) {
    bench_decoder(c, format.name(), lines, || format.decoder(&options()));
}

/// Benchmarks a decoder made by `make` on `lines`; each iteration uses a fresh decoder, so
/// stateful formats read their header again (it is part of `lines`).
fn bench_decoder<D: LineDecoder>(
    c: &mut Criterion,
    name: &str,
    lines: &[Vec<u8>],
    make: impl Fn() -> D,
) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            let mut decoder = make();
            let mut decode = |line: &[u8]| matches!(decoder.decode_line(line), Ok(Some(_)));
            run(&mut decode, lines)
        });
    });
    group.finish();
}

/// Syslog dates need a year.
fn options() -> DecodeOptions {
    DecodeOptions {
        year: Some(2026),
        ..DecodeOptions::default()
    }
}

/// Every line that is not blank.
fn not_blank(line: &[u8]) -> bool {
    !line.is_empty()
}

fn decoders(c: &mut Criterion) {
    let windows = corpus("windows_dns_debug.log", |l| {
        l.windows(8).any(|w| w == b" PACKET ")
    });
    let bind = corpus("bind9_querylog.log", |l| !l.is_empty());

    // JSON lines as `antimony parse` writes them, from the BIND events.
    let mut decoder = Format::Bind9.decoder(&DecodeOptions::default());
    let json: Vec<String> = bind
        .iter()
        .take(821)
        .filter_map(|line| decoder.decode_line(line).ok().flatten())
        .map(|event| {
            let mut out = String::new();
            json_lines::to_json_line(&event, &mut out);
            out
        })
        .collect();
    let json = repeat(&json.iter().map(|s| s.as_bytes()).collect::<Vec<_>>());

    bench_format(c, Format::WindowsDebug, &windows);
    bench_format(c, Format::Bind9, &bind);
    bench_format(c, Format::JsonLines, &json);

    // The newer formats, each on its real sample (all lines: headers and other messages
    // are part of the work).
    for (format, name) in [
        (Format::Unbound, "unbound_log_queries_replies.log"),
        (Format::Dnsmasq, "dnsmasq_log_queries_extra.log"),
        (Format::PowerDns, "powerdns_auth_log_dns_queries.log"),
        (Format::Infoblox, "infoblox_nios_syslog.log"),
        (Format::ZeekJson, "zeek_dns_json.log"),
        (Format::Suricata, "suricata_eve_dns_v2.json"),
        (Format::WindowsEtw, "windows_dns_analytical_etw.log"),
        (Format::WindowsDebugDetails, "windows_dns_debug_details.log"),
    ] {
        bench_format(c, format, &corpus(name, not_blank));
    }
    // Zeek TSV: the header once, then its data lines repeated.
    let tsv = std::fs::read(format!("{LOGS}zeek_dns_tsv_txt.log")).unwrap_or_default();
    let (header, data): (Vec<&[u8]>, Vec<&[u8]>) = tsv
        .split(|&b| b == b'\n')
        .filter(|l| not_blank(l))
        .partition(|l| l.starts_with(b"#"));
    let mut zeek: Vec<Vec<u8>> = header.iter().map(|l| l.to_vec()).collect();
    zeek.extend(repeat(&data));
    bench_format(c, Format::Zeek, &zeek);

    // JSON with a field map, on Antimony's own lines read through paths.
    let fields: FieldMap =
        serde_json::from_str(r#"{"ts":"ts","qname":"qname","qtype":"qtype","client":"client"}"#)
            .unwrap_or_default();
    bench_decoder(c, "json-mapped", &json, || {
        json_lines::Decoder::with_fields(&DecodeOptions::default(), fields.clone())
    });

    // Enum dispatch (what `Format::decoder` returns) against a boxed trait object.
    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(bind.len() as u64));
    group.bench_function("bind9-dyn", |b| {
        let mut decoder: Box<dyn LineDecoder> =
            Box::new(bind9::Decoder::new(&DecodeOptions::default()));
        let mut decode = |line: &[u8]| matches!(decoder.decode_line(line), Ok(Some(_)));
        b.iter(|| run(&mut decode, &bind));
    });
    group.finish();

    // Writing JSON, for `antimony parse`.
    let mut decoder = Format::Bind9.decoder(&DecodeOptions::default());
    let events: Vec<_> = bind
        .iter()
        .filter_map(|line| decoder.decode_line(line).ok().flatten())
        .collect();
    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("json", |b| {
        let mut out = String::with_capacity(512);
        b.iter(|| {
            let mut total = 0;
            for event in &events {
                out.clear();
                json_lines::to_json_line(black_box(event), &mut out);
                total += out.len();
            }
            total
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = decoders
}
criterion_main!(benches);
