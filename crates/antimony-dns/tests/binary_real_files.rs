//! The binary decoders on every real capture and dnstap file in `../shared/data`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use antimony_dns::stream::{BinaryFormat, CaptureOptions, Item, StreamStats};
use antimony_dns::{DecodeOptions, DnsEvent, codes};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(DATA).join(dir))
        .unwrap_or_else(|e| panic!("{DATA}/{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

fn all_files() -> Vec<PathBuf> {
    let mut all = files("pcaps/tcpdump", "pcap");
    all.extend(files("pcaps/zeek", "pcap"));
    all.extend(files("pcaps/lab", "pcap"));
    all.extend(files("dnstap", "dnstap"));
    let pcapng = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pcapng");
    let mut more: Vec<PathBuf> = std::fs::read_dir(&pcapng)
        .expect("tests/fixtures/pcapng")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    more.sort();
    all.extend(more);
    all
}

/// Decodes `bytes` pushed in chunks of the given sizes (cycled).
fn decode(
    format: BinaryFormat,
    capture: &CaptureOptions,
    bytes: &[u8],
    chunks: &[usize],
) -> (Vec<(u64, Item)>, StreamStats) {
    let mut decoder = format.decoder_with(&DecodeOptions::default(), capture);
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut sizes = chunks.iter().cycle();
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
    (out, decoder.stats())
}

fn format_of(bytes: &[u8], path: &Path) -> BinaryFormat {
    BinaryFormat::detect(bytes).unwrap_or_else(|| panic!("{}: format not detected", path.display()))
}

#[test]
fn every_file_decodes_the_same_in_any_chunks() {
    let capture = CaptureOptions::default();
    let mut total_messages = 0;
    for path in all_files() {
        let bytes = std::fs::read(&path).expect("readable data file");
        let format = format_of(&bytes, &path);
        let (whole, stats) = decode(format, &capture, &bytes, &[bytes.len()]);
        let name = path.display();
        for chunks in [&[1usize][..], &[7], &[3, 1000, 17], &[4096]] {
            let (chunked, chunked_stats) = decode(format, &capture, &bytes, chunks);
            assert!(
                chunked == whole,
                "{name}: chunks {chunks:?} decode differently"
            );
            assert_eq!(chunked_stats, stats, "{name}: chunks {chunks:?}");
        }
        let events = whole.iter().filter(|(_, i)| i.is_ok()).count() as u64;
        let errors = whole.len() as u64 - events;
        assert_eq!(stats.messages, events, "{name}");
        assert_eq!(stats.errors, errors, "{name}");
        assert_eq!(stats.bytes, bytes.len() as u64, "{name}");
        assert_eq!(
            stats.records,
            stats.records_decoded + stats.skipped_total(),
            "{name}: every record is decoded or skipped under a reason: {stats:?}"
        );
        // Every error is located, and none of these files is cut short.
        for (_, item) in &whole {
            if let Err(e) = item {
                assert!(
                    e.location.starts_with("packet ") || e.location.starts_with("frame "),
                    "{name}: {e}"
                );
                assert!(e.can_continue(), "{name}: {e}");
            }
        }
        total_messages += stats.messages;
    }
    assert!(total_messages > 10_000, "{total_messages} messages in all");
}

#[test]
fn corrupt_captures_yield_counted_errors() {
    // (file, errors by reason) for every capture where we report errors; the others have
    // none (checked per packet against tshark in pcap_vs_tshark.rs).
    let expected: [(&str, &[(&str, u64)]); 4] = [
        (
            "pcaps/tcpdump/dns-badlabel.pcap",
            &[("dns_impossible_count", 1)],
        ),
        (
            "pcaps/tcpdump/dns_fwdptr.pcap",
            &[("dns_impossible_count", 1)],
        ),
        (
            "pcaps/zeek/dns__dns-invalid-names.pcap",
            &[("dns_impossible_count", 2), ("dns_pointer_forward", 1)],
        ),
        (
            "pcaps/zeek/ipv6-fragmented-dns.pcap",
            &[("fragment_incomplete", 1)],
        ),
    ];
    for (file, reasons) in expected {
        let bytes = std::fs::read(Path::new(DATA).join(file)).expect("readable capture");
        let (_, stats) = decode(BinaryFormat::Pcap, &CaptureOptions::default(), &bytes, &[]);
        let want: BTreeMap<&str, u64> = reasons.iter().copied().collect();
        assert_eq!(stats.errors_by_reason, want, "{file}");
    }
    // Answers the decoder could not read are counted, the questions kept.
    let bytes = std::fs::read(Path::new(DATA).join("pcaps/zeek/dns__loc-invalid-length.pcap"))
        .expect("readable capture");
    let (out, stats) = decode(BinaryFormat::Pcap, &CaptureOptions::default(), &bytes, &[]);
    assert_eq!(stats.errors, 0);
    assert!(
        out.iter()
            .all(|(_, i)| i.as_ref().is_ok_and(|e| e.qname == "example.com"))
    );
}

#[test]
fn truncated_and_foreign_streams_are_reported() {
    let lab = std::fs::read(Path::new(DATA).join("pcaps/lab/lab_dns.pcap")).expect("lab pcap");
    let cut = &lab[..lab.len() - 10];
    let (out, stats) = decode(BinaryFormat::Pcap, &CaptureOptions::default(), cut, &[]);
    let (_, last) = out.last().expect("items");
    let error = last.as_ref().expect_err("the cut is reported last");
    assert_eq!(error.kind.reason(), "truncated_stream");
    assert_eq!(stats.errors, 1);

    let bind = std::fs::read(Path::new(DATA).join("dnstap/bind.dnstap")).expect("dnstap");
    let (out, _) = decode(BinaryFormat::Pcap, &CaptureOptions::default(), &bind, &[]);
    assert_eq!(out.len(), 1);
    assert!(out[0].1.as_ref().is_err_and(|e| !e.can_continue()));
    let (out, _) = decode(BinaryFormat::Dnstap, &CaptureOptions::default(), &lab, &[]);
    assert_eq!(out.len(), 1);
    assert!(
        out[0]
            .1
            .as_ref()
            .is_err_and(|e| e.kind.reason() == "bad_file_header")
    );
}

type Questions = BTreeMap<(String, u16), i64>;

fn lab_queries() -> Questions {
    let text = std::fs::read_to_string(Path::new(DATA).join("pcaps/lab/queries.txt"))
        .expect("queries.txt");
    let mut queries = Questions::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split_whitespace();
        let name = fields
            .next()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_lowercase();
        let qtype = fields
            .next()
            .and_then(codes::rtype_code)
            .expect("a type on every line");
        *queries.entry((name, qtype)).or_default() += 1;
    }
    queries
}

fn asked(events: impl Iterator<Item = DnsEvent>) -> Questions {
    let mut asked = Questions::new();
    for e in events.filter(|e| !e.is_response()) {
        *asked.entry((e.qname, e.qtype)).or_default() += 1;
    }
    asked
}

/// `got - want`, as signed counts, without the zeros.
fn difference(got: &Questions, want: &Questions) -> Vec<(String, u16, i64)> {
    let mut diff = BTreeMap::new();
    for (k, v) in got {
        *diff.entry(k.clone()).or_insert(0) += v;
    }
    for (k, v) in want {
        *diff.entry(k.clone()).or_insert(0) -= v;
    }
    diff.into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|((n, t), v)| (n, t, v))
        .collect()
}

fn extra(list: &[(&str, &str, i64)]) -> Vec<(String, u16, i64)> {
    list.iter()
        .map(|&(n, t, v)| (n.to_owned(), codes::rtype_code(t).expect("type"), v))
        .collect()
}

/// The lab run seen in the capture and in both dnstap files asked what queries.txt says,
/// server by server, plus the few queries the lab made outside the dnsperf replay.
#[test]
fn lab_questions_match_queries_txt() {
    let want = lab_queries();
    assert_eq!(want.values().sum::<i64>(), 817);

    // The capture holds the four servers, one port each (5301-5304), each asked the 817
    // questions over UDP, plus a check of www.corp.qa over UDP and corp.qa MX over TCP.
    let pcap = std::fs::read(Path::new(DATA).join("pcaps/lab/lab_dns.pcap")).expect("lab pcap");
    for port in 5301..=5304 {
        let capture = CaptureOptions {
            dns_ports: vec![port],
            other_ports: false,
        };
        let (out, stats) = decode(BinaryFormat::Pcap, &capture, &pcap, &[]);
        assert_eq!(stats.errors, 0, "port {port}");
        let events: Vec<DnsEvent> = out.into_iter().filter_map(|(_, i)| i.ok()).collect();
        let responses = events.iter().filter(|e| e.is_response()).count();
        assert_eq!(responses, 819, "port {port}: a response to every query");
        assert_eq!(
            difference(&asked(events.into_iter()), &want),
            extra(&[("corp.qa", "MX", 1), ("www.corp.qa", "A", 1)]),
            "port {port}"
        );
    }
    // On the default ports nothing of the lab is DNS-by-port, and all of it looks like DNS.
    let (out, stats) = decode(BinaryFormat::Pcap, &CaptureOptions::default(), &pcap, &[]);
    assert_eq!(stats.errors, 0);
    assert_eq!(out.len(), 4 * 2 * 819);

    // dnstap recorded a little more of the run: a warm-up google.com and a test name
    // before dnsperf started; BIND also logged its own priming queries for the root DNSKEY.
    for (file, extras) in [
        (
            "bind",
            &[
                ("", "DNSKEY", 6),
                ("afadsfasdfsafwerwqerqqiye.cn", "A", 1),
                ("corp.qa", "MX", 1),
                ("google.com", "A", 1),
                ("www.corp.qa", "A", 1),
            ][..],
        ),
        (
            "unbound",
            &[
                ("afadsfasdfsafwerwqerqqiye.cn", "A", 1),
                ("corp.qa", "MX", 1),
                ("google.com", "A", 1),
                ("www.corp.qa", "A", 1),
            ][..],
        ),
    ] {
        let bytes = std::fs::read(Path::new(DATA).join(format!("dnstap/{file}.dnstap")))
            .expect("dnstap file");
        let (out, stats) = decode(
            BinaryFormat::Dnstap,
            &CaptureOptions::default(),
            &bytes,
            &[],
        );
        assert_eq!(stats.errors, 0, "{file}");
        assert_eq!(stats.control_frames, 2, "{file}: START and STOP");
        let events = out.into_iter().filter_map(|(_, i)| i.ok());
        assert_eq!(difference(&asked(events), &want), extra(extras), "{file}");
    }
}

#[test]
fn dnstap_events_carry_the_exchange() {
    let bytes = std::fs::read(Path::new(DATA).join("dnstap/unbound.dnstap")).expect("dnstap");
    let (out, _) = decode(
        BinaryFormat::Dnstap,
        &CaptureOptions::default(),
        &bytes,
        &[],
    );
    let events: Vec<DnsEvent> = out.into_iter().filter_map(|(_, i)| i.ok()).collect();
    // The first exchange of unbound.dnstap.yaml: google.com A at 06:46:47.955056.
    let query = &events[0];
    assert_eq!(query.qname, "google.com");
    assert!(!query.is_response());
    assert_eq!(query.ts, 1_795_675_607_955_056);
    assert_eq!(query.id, Some(35235));
    assert_eq!(query.client, Some("127.0.0.1".parse().expect("address")));
    assert_eq!(query.transport, antimony_dns::Transport::Udp);
    let response = &events[1];
    assert!(response.is_response());
    assert_eq!(response.id, Some(35235));
    assert_eq!(response.ts, 1_795_675_607_955_124);
    assert_eq!(response.answers.len(), 1);
    assert_eq!(response.answers[0].data, "93.184.0.2");
}
