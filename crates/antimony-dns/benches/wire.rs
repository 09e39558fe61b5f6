//! Binary decoder throughput in packets (or frames, or messages) per second.
//!
//! `cargo bench -p antimony-dns --bench wire`
//!
//! - `pcap/lab`: the lab's UDP packets (queries and responses of four servers), repeated to
//!   about 100,000 packets, decoded from memory in 64 KiB chunks as the engine feeds them;
//! - `dnstap/bind`: bind.dnstap's 1,648 frames repeated 20 times;
//! - `message/response`: `decode_message` alone on one response with two answers.

use std::hint::black_box;

use antimony_dns::DecodeOptions;
use antimony_dns::stream::BinaryFormat;
use antimony_dns::wire::{WireMeta, decode_message};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod common;

const CHUNK: usize = 64 * 1024;

/// Decodes `bytes` in chunks; returns the number of events.
fn decode(format: BinaryFormat, bytes: &[u8]) -> usize {
    let mut decoder = format.decoder(&DecodeOptions::default());
    let mut out = Vec::with_capacity(4096);
    let mut events = 0;
    for chunk in bytes.chunks(CHUNK) {
        decoder.push(chunk, &mut out);
        events += out.iter().filter(|i| i.is_ok()).count();
        out.clear();
    }
    decoder.finish(&mut out);
    events + out.len()
}

fn pcap(c: &mut Criterion) {
    let (file, packets) = common::big_pcap(100_000);
    let mut group = c.benchmark_group("pcap");
    group.throughput(Throughput::Elements(packets));
    group.sample_size(20);
    group.bench_function("lab", |b| {
        b.iter(|| black_box(decode(BinaryFormat::Pcap, black_box(&file))))
    });
    group.finish();
}

fn dnstap(c: &mut Criterion) {
    let (file, frames) = common::big_dnstap(20);
    let mut group = c.benchmark_group("dnstap");
    group.throughput(Throughput::Elements(frames));
    group.sample_size(20);
    group.bench_function("bind", |b| {
        b.iter(|| black_box(decode(BinaryFormat::Dnstap, black_box(&file))))
    });
    group.finish();
}

fn message(c: &mut Criterion) {
    // www.example.com A -> CNAME example.com, A 93.184.216.34.
    let mut msg = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
    msg.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    msg.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x02\xc0\x10");
    msg.extend_from_slice(b"\xc0\x10\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x5d\xb8\xd8\x22");
    let meta = WireMeta::default();
    let mut group = c.benchmark_group("message");
    group.throughput(Throughput::Elements(1));
    group.bench_function("response", |b| {
        b.iter(|| black_box(decode_message(black_box(&msg), &meta).is_ok()))
    });
    group.finish();
}

criterion_group!(benches, pcap, dnstap, message);
criterion_main!(benches);
