use std::path::Path;

use antimony_dns::formats::{DecodeOptions, Format, LineDecoder};
use antimony_dns::wire::{WireMeta, decode_message};
use antimony_dns::{Direction, Transport};

use super::*;

/// A small workload in memory, so that most tests need no data folder.
pub(crate) fn small_workload() -> Workload {
    let benign: Vec<String> = (0..500).map(|i| format!("site{i}.com")).collect();
    let dga: Vec<(String, String)> = (0..200)
        .map(|i| (format!("fam{}", i / 50), format!("qzx{i}vbnmkj.net")))
        .collect();
    Workload::from_lists(
        benign.iter().map(String::as_str),
        dga.iter().map(|(f, n)| (f.as_str(), n.as_str())),
        ["evil.example", "bad.example"],
        ["g00gle.com", "paypa1.com"],
    )
}

fn run(data: &Workload, format: OutputFormat, records: u64, seed: u64) -> Vec<u8> {
    let config = GenConfig {
        format,
        records,
        model: ModelConfig {
            seed,
            ..ModelConfig::default()
        },
        pacing: None,
    };
    let mut out = Vec::new();
    let summary = generate(data, &config, &mut out).expect("writing to memory works");
    assert_eq!(summary.records, records);
    assert_eq!(summary.bytes, out.len() as u64);
    out
}

/// Decodes every line; returns the events, failing on any error.
fn decode_all(format: Format, text: &[u8]) -> Vec<antimony_dns::DnsEvent> {
    let mut decoder = format.decoder(&DecodeOptions::default());
    let mut events = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        match decoder.decode_line(line) {
            Ok(Some(event)) => events.push(event),
            Ok(None) => {}
            Err(e) => panic!("line {}: {e}: {}", i + 1, String::from_utf8_lossy(line)),
        }
    }
    events
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let data = small_workload();
    for format in [
        OutputFormat::WindowsDns,
        OutputFormat::Bind,
        OutputFormat::Pcap,
    ] {
        let a = run(&data, format, 5_000, 7);
        assert_eq!(a, run(&data, format, 5_000, 7), "{format:?}");
        assert_ne!(a, run(&data, format, 5_000, 8), "{format:?}");
    }
}

#[test]
fn a_longer_run_starts_like_a_shorter_one() {
    // Records do not depend on how many are asked for (nor on write buffering).
    let data = small_workload();
    let short = run(&data, OutputFormat::Bind, 1_000, 3);
    let long = run(&data, OutputFormat::Bind, 50_000, 3);
    assert!(long.starts_with(&short));
}

#[test]
fn windows_lines_decode_without_errors() {
    let data = small_workload();
    let text = run(&data, OutputFormat::WindowsDns, 30_000, 1);
    let events = decode_all(Format::WindowsDebug, &text);
    assert_eq!(events.len(), 30_000, "every record line is an event");
    let queries = events
        .iter()
        .filter(|e| e.direction == Direction::Query)
        .count();
    assert!(queries > 13_000 && queries < 17_000, "{queries}");
    let nx = events.iter().filter(|e| e.rcode == Some(3)).count();
    assert!(nx > 0);
    // Upstream lines name the server, not a client.
    assert!(
        events
            .iter()
            .any(|e| e.client.is_none() && e.server.is_some())
    );
    assert!(
        events
            .iter()
            .any(|e| e.qtype == 16 && e.qname.ends_with(model::TUNNEL_ZONE))
    );
}

#[test]
fn bind_lines_decode_without_errors() {
    let data = small_workload();
    let text = run(&data, OutputFormat::Bind, 30_000, 1);
    let events = decode_all(Format::Bind9, &text);
    assert_eq!(events.len(), 30_000);
    let first = &events[0];
    assert_eq!(
        first.server.map(|s| s.to_string()).as_deref(),
        Some("10.20.0.1")
    );
    assert!(
        events.windows(2).all(|w| w[0].ts <= w[1].ts),
        "times advance"
    );
}

#[test]
fn pcap_is_well_formed() {
    let data = small_workload();
    let bytes = run(&data, OutputFormat::Pcap, 4_001, 2);
    assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_le_bytes());
    assert_eq!(
        u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes")),
        1,
        "Ethernet"
    );
    let mut at = 24;
    let mut packets = 0;
    let mut responses = 0;
    while at < bytes.len() {
        let field =
            |o: usize| u32::from_le_bytes(bytes[at + o..at + o + 4].try_into().expect("4 bytes"));
        let (usec, incl, orig) = (field(4), field(8) as usize, field(12) as usize);
        assert!(usec < 1_000_000);
        assert_eq!(incl, orig);
        let frame = &bytes[at + 16..at + 16 + incl];
        assert_eq!(&frame[12..14], &[0x08, 0x00], "IPv4");
        let ip = &frame[14..34];
        assert_eq!(usize::from(u16::from_be_bytes([ip[2], ip[3]])), incl - 14);
        assert_eq!(
            formats::tests_support::ipv4_checksum(ip),
            0,
            "IPv4 checksum"
        );
        let udp = &frame[34..];
        assert_eq!(usize::from(u16::from_be_bytes([udp[4], udp[5]])), udp.len());
        assert_eq!(
            formats::tests_support::udp_checksum(ip, udp),
            0,
            "UDP checksum"
        );
        let meta = WireMeta {
            transport: Transport::Udp,
            ..WireMeta::default()
        };
        let event =
            decode_message(&udp[8..], &meta).unwrap_or_else(|e| panic!("packet {packets}: {e}"));
        if event.direction == Direction::Response {
            responses += 1;
            if event.rcode == Some(0) && event.qtype == 1 {
                assert!(!event.answers.is_empty());
            }
        }
        packets += 1;
        at += 16 + incl;
    }
    assert_eq!(at, bytes.len(), "no trailing bytes");
    assert_eq!(packets, 4_001);
    assert_eq!(responses, 2_000);
}

#[test]
fn probes_carry_their_birth_time() {
    let data = small_workload();
    let config = GenConfig {
        format: OutputFormat::WindowsDns,
        records: 400,
        model: ModelConfig::default(),
        pacing: Some(Pacing {
            rate: 20_000.0,
            probes: 1_000.0,
        }),
    };
    let before = wall_nanos();
    let mut out = Vec::new();
    let summary = generate(&data, &config, &mut out).expect("writing to memory works");
    let events = decode_all(Format::WindowsDebug, &out);
    assert_eq!(events.len(), 400);
    let probes: Vec<u64> = events
        .iter()
        .filter_map(|e| e.qname.strip_suffix(".update-java.net"))
        .filter_map(|label| label.strip_prefix('t')?.parse().ok())
        .collect();
    assert!(!probes.is_empty(), "{:?}", summary.kinds);
    assert!(probes.iter().all(|&p| p >= before && p <= wall_nanos()));
    // Paced records carry the wall clock (to the second in this format).
    let now_us = (wall_nanos() / 1000) as i64;
    assert!(events.iter().all(|e| (now_us - e.ts).abs() < 5_000_000));
}

#[test]
fn a_paced_run_is_ordinary_traffic_from_the_first_record() {
    let data = small_workload();
    let config = GenConfig {
        format: OutputFormat::Bind,
        records: 2_000,
        model: ModelConfig::default(),
        pacing: Some(Pacing {
            rate: 200_000.0,
            probes: 0.0,
        }),
    };
    let mut out = Vec::new();
    let summary = generate(&data, &config, &mut out).expect("writing to memory works");
    let beacons = summary
        .kinds
        .iter()
        .find(|(kind, _)| *kind == Kind::Beacon)
        .map_or(0, |(_, n)| *n);
    assert!(
        beacons < 20,
        "beacons crowd the start out: {:?}",
        summary.kinds
    );
}

#[test]
fn real_data_loads_and_decodes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let data = Workload::load(&dir).expect("../shared/data holds the lists");
    assert!(data.benign.len() > 90_000 && data.families.len() >= 20);
    let text = run(&data, OutputFormat::WindowsDns, 20_000, 1);
    assert_eq!(decode_all(Format::WindowsDebug, &text).len(), 20_000);
    let text = run(&data, OutputFormat::Bind, 20_000, 1);
    assert_eq!(decode_all(Format::Bind9, &text).len(), 20_000);
}

#[test]
fn a_missing_data_folder_is_explained() {
    let error = Workload::load(Path::new("/nonexistent/data")).expect_err("no such folder");
    assert!(error.to_string().contains("--data"), "{error}");
}
