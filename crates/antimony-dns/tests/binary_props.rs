//! Container variants built in code, and property tests: hostile bytes never panic a
//! decoder, and a stream decodes the same whatever chunks it is pushed in.

use std::path::Path;

use antimony_core::frame_streams as control;
use antimony_dns::dnstap::CONTENT_TYPE;
use antimony_dns::stream::{BinaryFormat, Item};
use antimony_dns::wire::{WireMeta, decode_message};
use antimony_dns::{DecodeOptions, DnsEvent};
use proptest::prelude::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

/// A query for www.example.com/A in IPv4/UDP from 192.0.2.1:40000 to 192.0.2.53:53.
fn ipv4_udp_query() -> Vec<u8> {
    let dns = b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
                \x03www\x07example\x03com\x00\x00\x01\x00\x01";
    let udp_len = 8 + dns.len();
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 53,
    ];
    ip[2..4].copy_from_slice(&((20 + udp_len) as u16).to_be_bytes());
    ip.extend_from_slice(&40000u16.to_be_bytes());
    ip.extend_from_slice(&53u16.to_be_bytes());
    ip.extend_from_slice(&(udp_len as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(dns);
    ip
}

fn ethernet(ip: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(ip);
    frame
}

fn u32b(v: u32, be: bool) -> [u8; 4] {
    if be { v.to_be_bytes() } else { v.to_le_bytes() }
}

fn u16b(v: u16, be: bool) -> [u8; 2] {
    if be { v.to_be_bytes() } else { v.to_le_bytes() }
}

/// A pcap file; `frac` is microseconds, or nanoseconds with `nanos`.
fn pcap(link: u32, be: bool, nanos: bool, packets: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut f = Vec::new();
    f.extend_from_slice(&u32b(magic, be));
    f.extend_from_slice(&u16b(2, be));
    f.extend_from_slice(&u16b(4, be));
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&u32b(65535, be));
    f.extend_from_slice(&u32b(link, be));
    for (secs, frac, data) in packets {
        f.extend_from_slice(&u32b(*secs, be));
        f.extend_from_slice(&u32b(*frac, be));
        f.extend_from_slice(&u32b(data.len() as u32, be));
        f.extend_from_slice(&u32b(data.len() as u32, be));
        f.extend_from_slice(data);
    }
    f
}

fn block(kind: u32, body: &[u8], be: bool) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let len = (12 + padded) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(&u32b(kind, be));
    b.extend_from_slice(&u32b(len, be));
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend_from_slice(&u32b(len, be));
    b
}

/// A pcapng file: one interface per `(link, tsresol)`, then enhanced packet blocks
/// `(interface, timestamp in interface units, frame)`.
fn pcapng(be: bool, interfaces: &[(u16, u8)], packets: &[(u32, u64, Vec<u8>)]) -> Vec<u8> {
    let mut shb = Vec::new();
    shb.extend_from_slice(&u32b(0x1a2b_3c4d, be));
    shb.extend_from_slice(&u16b(1, be));
    shb.extend_from_slice(&u16b(0, be));
    shb.extend_from_slice(&[0xff; 8]);
    let mut f = block(0x0a0d_0d0a, &shb, be);
    for &(link, tsresol) in interfaces {
        let mut idb = Vec::new();
        idb.extend_from_slice(&u16b(link, be));
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&u32b(0, be));
        // if_tsresol option, then the end of options.
        idb.extend_from_slice(&u16b(9, be));
        idb.extend_from_slice(&u16b(1, be));
        idb.extend_from_slice(&[tsresol, 0, 0, 0]);
        idb.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(&block(1, &idb, be));
    }
    for (interface, ts, data) in packets {
        let mut epb = Vec::new();
        epb.extend_from_slice(&u32b(*interface, be));
        epb.extend_from_slice(&u32b((ts >> 32) as u32, be));
        epb.extend_from_slice(&u32b(*ts as u32, be));
        epb.extend_from_slice(&u32b(data.len() as u32, be));
        epb.extend_from_slice(&u32b(data.len() as u32, be));
        epb.extend_from_slice(data);
        f.extend_from_slice(&block(6, &epb, be));
    }
    f
}

fn decode_in(format: BinaryFormat, bytes: &[u8], cuts: &[usize]) -> Vec<(u64, Item)> {
    let mut decoder = format.decoder(&DecodeOptions::default());
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut sizes = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = sizes
            .next()
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        decoder.push_numbered(&rest[..n], &mut out);
        rest = &rest[n..];
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

fn events(items: Vec<(u64, Item)>) -> Vec<DnsEvent> {
    items
        .into_iter()
        .map(|(n, i)| i.unwrap_or_else(|e| panic!("packet {n}: {e}")))
        .collect()
}

#[test]
fn every_pcap_variant_reads_the_same_packet() {
    let ip = ipv4_udp_query();
    let frame = ethernet(&ip);
    let ts = 1_700_000_000_123_456i64;
    let files = [
        (
            "pcap little-endian",
            pcap(1, false, false, &[(1_700_000_000, 123_456, frame.clone())]),
        ),
        (
            "pcap big-endian",
            pcap(1, true, false, &[(1_700_000_000, 123_456, frame.clone())]),
        ),
        (
            "pcap nanoseconds",
            pcap(
                1,
                false,
                true,
                &[(1_700_000_000, 123_456_789, frame.clone())],
            ),
        ),
        (
            "pcap raw IP",
            pcap(101, true, false, &[(1_700_000_000, 123_456, ip.clone())]),
        ),
        (
            "pcapng little-endian",
            pcapng(false, &[(1, 6)], &[(0, ts as u64, frame.clone())]),
        ),
        (
            "pcapng big-endian, nanoseconds, second interface",
            pcapng(
                true,
                &[(1, 6), (228, 9)],
                &[(1, ts as u64 * 1000 + 789, ip.clone())],
            ),
        ),
    ];
    for (what, file) in files {
        let format = BinaryFormat::detect(&file).expect("magic");
        let got = events(decode_in(format, &file, &[]));
        assert_eq!(got.len(), 1, "{what}");
        let e = &got[0];
        assert_eq!(e.qname, "www.example.com", "{what}");
        assert_eq!(e.ts, ts, "{what}");
        assert_eq!(e.client, Some("192.0.2.1".parse().expect("ip")), "{what}");
        assert_eq!(e.server, Some("192.0.2.53".parse().expect("ip")), "{what}");
        assert_eq!(e.id, Some(0xabcd), "{what}");
        // Cut anywhere, it reads the same.
        for cut in [1, 2, 5, 16, 23, 24, 25, 31] {
            assert_eq!(
                events(decode_in(format, &file, &[cut])),
                got,
                "{what}, chunks of {cut}"
            );
        }
    }
}

#[test]
fn oversized_records() {
    let frame = ethernet(&ipv4_udp_query());
    // A pcapng block over the cap is skipped; the next packet is read.
    let mut big = pcapng(false, &[(1, 6)], &[]);
    let mut huge = vec![0u8; 20];
    huge.resize(antimony_dns::pcap::MAX_BLOCK_LEN + 100, 0);
    big.extend_from_slice(&block(6, &huge, false));
    big.extend_from_slice(&pcapng(false, &[], &[(0, 1, frame.clone())])[28..]);
    for cuts in [&[][..], &[1000], &[7, 65536]] {
        let out = decode_in(BinaryFormat::PcapNg, &big, cuts);
        assert_eq!(out.len(), 2, "{cuts:?}");
        assert!(
            out[0]
                .1
                .as_ref()
                .is_err_and(|e| e.kind.reason() == "record_too_large" && e.can_continue())
        );
        assert!(
            out[1]
                .1
                .as_ref()
                .is_ok_and(|e| e.qname == "www.example.com")
        );
    }
    // A pcap record over the cap ends the stream: nothing after it can be framed.
    let mut file = pcap(1, false, false, &[(1, 0, frame.clone())]);
    file.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
    file.extend_from_slice(&pcap(1, false, false, &[(1, 0, frame)])[24..]);
    let out = decode_in(BinaryFormat::Pcap, &file, &[]);
    assert_eq!(out.len(), 2);
    assert!(
        out[1]
            .1
            .as_ref()
            .is_err_and(|e| !e.can_continue() && e.location == "packet 2")
    );
}

/// A stream that ends inside the header of a record over the size cap frames alike whole
/// and in any chunks (found by fuzzing: the pcapng framer waited for more bytes than it
/// needed to see the length).
#[test]
fn streams_ending_inside_an_oversized_header() {
    let cases = [
        (
            BinaryFormat::Pcap,
            pcap(1, false, false, &[]),
            vec![1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0],
        ),
        (
            BinaryFormat::PcapNg,
            pcapng(false, &[(1, 6)], &[]),
            vec![6, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 1, 2, 3, 4],
        ),
        (
            BinaryFormat::Dnstap,
            control::encode_start(CONTENT_TYPE.as_bytes()),
            vec![0x10, 0, 0, 0, 1, 2, 3, 4],
        ),
    ];
    for (format, head, record) in cases {
        for end in 1..=record.len() {
            let mut bytes = head.clone();
            bytes.extend_from_slice(&record[..end]);
            let whole = decode_in(format, &bytes, &[]);
            for chunk in 1..=9 {
                assert!(
                    decode_in(format, &bytes, &[chunk]) == whole,
                    "{format}: {end} bytes of the record, chunks of {chunk}"
                );
            }
        }
    }
}

#[test]
fn dnstap_stream_with_handshake_frames() {
    let bytes = std::fs::read(Path::new(DATA).join("dnstap/unbound.dnstap")).expect("dnstap");
    let plain = events(decode_in(BinaryFormat::Dnstap, &bytes, &[]));
    // The bytes a bidirectional sender writes: READY before START, then the same.
    let mut socket = control::encode(control::ControlType::Ready, &[CONTENT_TYPE.as_bytes()]);
    socket.extend_from_slice(&bytes);
    assert_eq!(
        events(decode_in(BinaryFormat::Dnstap, &socket, &[3])),
        plain
    );
    // Another content type is refused whole.
    let mut other = control::encode(control::ControlType::Start, &[b"protobuf:other"]);
    other.extend_from_slice(&bytes[42..]);
    let out = decode_in(BinaryFormat::Dnstap, &other, &[]);
    assert_eq!(out.len(), 1);
    assert!(out[0].1.as_ref().is_err_and(|e| !e.can_continue()));
}

fn real_files() -> Vec<(BinaryFormat, Vec<u8>)> {
    [
        "pcaps/lab/lab_dns.pcap",
        "pcaps/zeek/dns__long-connection.pcap",
        "pcaps/zeek/ipv6-fragmented-dns.pcap",
        "pcaps/tcpdump/dns_tcp.pcap",
        "pcaps/zeek/dns-edns-ecs.pcap",
        "dnstap/bind.dnstap",
    ]
    .iter()
    .map(|f| {
        let bytes = std::fs::read(Path::new(DATA).join(f)).expect("data file");
        // Keep the property tests quick: the head of the big files is plenty.
        let bytes = bytes[..bytes.len().min(60_000)].to_vec();
        (BinaryFormat::detect(&bytes).expect("magic"), bytes)
    })
    .collect()
}

fn headers() -> [(BinaryFormat, Vec<u8>); 3] {
    [
        (BinaryFormat::Pcap, pcap(1, false, false, &[])),
        (
            BinaryFormat::PcapNg,
            pcapng(false, &[(1, 6), (101, 9)], &[]),
        ),
        (
            BinaryFormat::Dnstap,
            control::encode_start(CONTENT_TYPE.as_bytes()),
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random bytes behind each format's header, in random chunks: no panic, and the same
    /// items whole or chunked.
    #[test]
    fn random_bytes_after_a_header(
        which in 0usize..3,
        body in proptest::collection::vec(any::<u8>(), 0..4000),
        cuts in proptest::collection::vec(1usize..600, 1..8),
    ) {
        let (format, mut bytes) = headers()[which].clone();
        bytes.extend_from_slice(&body);
        let whole = decode_in(format, &bytes, &[]);
        let chunked = decode_in(format, &bytes, &cuts);
        prop_assert!(whole == chunked);
    }

    /// Real files with bytes changed, inserted or cut off, in random chunks: no panic, and
    /// the same items whole or chunked.
    #[test]
    fn mutated_real_files(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..12),
        keep in any::<prop::sample::Index>(),
        cuts in proptest::collection::vec(1usize..3000, 1..6),
    ) {
        let (format, mut bytes) = real_files().swap_remove(which);
        for (at, value, kind) in edits {
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = value,
                1 => bytes.insert(i, value),
                _ => bytes[i] ^= 1 << (value % 8),
            }
        }
        let len = bytes.len();
        bytes.truncate(len - keep.index(len / 10 + 1));
        let whole = decode_in(format, &bytes, &[]);
        let chunked = decode_in(format, &bytes, &cuts);
        prop_assert!(whole == chunked);
    }

    /// Any bytes as a DNS message: no panic, and a decoded name is normalised.
    #[test]
    fn random_dns_messages(msg in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(event) = decode_message(&msg, &WireMeta::default()) {
            prop_assert!(event.qname.len() <= 253 * 4);
            prop_assert!(!event.qname.bytes().any(|b| b.is_ascii_uppercase() || b <= b' '));
        }
    }
}
