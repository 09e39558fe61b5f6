//! Every record of the real sample logs in `shared/data/logs` decodes.

use std::net::IpAddr;

use antimony_dns::formats::{DecodeOptions, Format, LineDecoder, detect_format, json_lines};
use antimony_dns::time::parse_rfc3339;
use antimony_dns::{Direction, DnsEvent, Transport};

const LOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/logs/");

fn read(name: &str) -> Vec<u8> {
    let path = format!("{LOGS}{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Decodes every line of a file, failing with `file:line: error` on the first error.
fn decode_all(format: Format, name: &str) -> (Vec<DnsEvent>, usize) {
    let data = read(name);
    let mut decoder = format.decoder(&DecodeOptions::default());
    let (mut events, mut skipped) = (Vec::new(), 0);
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        match decoder.decode_line(line) {
            Ok(Some(event)) => events.push(event),
            Ok(None) => skipped += 1,
            Err(e) => panic!("{name}:{}: {e}\n{}", n + 1, String::from_utf8_lossy(line)),
        }
    }
    (events, skipped)
}

fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn windows_debug_log_every_packet_line() {
    let (events, _) = decode_all(Format::WindowsDebug, "windows_dns_debug.log");
    let packets = read("windows_dns_debug.log");
    let packet_lines = lines(&packets)
        .into_iter()
        .filter(|l| l.windows(8).any(|w| w == b" PACKET "))
        .count();
    assert_eq!(events.len(), packet_lines);
    assert_eq!(events.len(), 12);

    // The line from the talk.
    let talk = &events[0];
    assert_eq!(talk.direction, Direction::Response);
    assert_eq!(talk.client, "212.77.192.37".parse::<IpAddr>().ok());
    assert_eq!(talk.server, None);
    assert_eq!(talk.qname, "ns1.ctc.gov.qa");
    assert_eq!(talk.registered_domain(), "ctc.gov.qa");
    assert_eq!(talk.qtype, 1);
    assert_eq!(talk.rcode, Some(0));
    assert_eq!(talk.id, Some(0x80a8));
    assert_eq!(talk.transport, Transport::Udp);
    assert_eq!(talk.flags, 0x8010);
    assert_eq!(Ok(talk.ts), parse_rfc3339("2017-08-12T09:35:32Z"));

    // Each locale's date and both name encodings.
    let ts = |i: usize, text: &str| assert_eq!(Ok(events[i].ts), parse_rfc3339(text), "event {i}");
    ts(3, "2014-04-15T15:16:00Z");
    ts(5, "2021-12-22T21:46:04Z");
    ts(9, "2019-12-05T13:03:50Z");
    ts(10, "2015-07-15T23:59:59Z");
    assert_eq!(events[3].qname, "ns1.offeringsmislead.com");
    assert_eq!(events[10].qname, "140.2.28.10.in-addr.arpa");
    assert_eq!(events[10].qtype, 12);
    assert_eq!(events[11].qtype, 6);
}

#[test]
fn windows_debug_details_log() {
    let (events, skipped) = decode_all(Format::WindowsDebug, "windows_dns_debug_details.log");
    assert_eq!(events.len(), 1);
    assert!(skipped > 30, "the details block is skipped");
    assert_eq!(events[0].flags, 0x8580);
    assert_eq!(events[0].client, "10.28.2.140".parse::<IpAddr>().ok());
}

#[test]
fn bind9_query_log_every_line() {
    let data = read("bind9_querylog.log");
    let (events, skipped) = decode_all(Format::Bind9, "bind9_querylog.log");
    assert_eq!(
        skipped,
        usize::from(data.ends_with(b"\n")),
        "only the empty last split"
    );
    assert_eq!(events.len(), 821);
    let first = &events[0];
    assert_eq!(first.qname, "google.com");
    assert_eq!(first.client, "127.0.0.1".parse::<IpAddr>().ok());
    assert_eq!(first.server, "127.0.0.1".parse::<IpAddr>().ok());
    assert_eq!(Ok(first.ts), parse_rfc3339("2026-11-26T06:46:47.907Z"));
    assert_eq!(first.flags, 0x0100);
    assert!(
        events.iter().any(|e| e.transport == Transport::Tcp),
        "the +E(0)TK line"
    );
    assert!(events.iter().any(|e| e.qtype == 16), "the TXT tunnel");
    assert!(
        events.windows(2).all(|w| w[0].ts <= w[1].ts),
        "timestamps in order"
    );
}

#[test]
fn json_lines_round_trip_of_real_events() {
    let mut all = decode_all(Format::Bind9, "bind9_querylog.log").0;
    all.extend(decode_all(Format::WindowsDebug, "windows_dns_debug.log").0);
    let mut decoder = Format::JsonLines.decoder(&DecodeOptions::default());
    let mut line = String::new();
    for event in &all {
        line.clear();
        json_lines::to_json_line(event, &mut line);
        assert_eq!(
            decoder.decode_line(line.as_bytes()).as_ref(),
            Ok(&Some(event.clone())),
            "{line}"
        );
    }
}

#[test]
fn formats_are_detected() {
    for (name, format) in [
        ("windows_dns_debug.log", Format::WindowsDebug),
        ("windows_dns_debug_details.log", Format::WindowsDebug),
        ("bind9_querylog.log", Format::Bind9),
        ("unbound_log_queries_replies.log", Format::Unbound),
        ("unbound_pfsense_syslog.log", Format::Unbound),
        ("dnsmasq_log_queries_extra.log", Format::Dnsmasq),
        ("dnsmasq_log_queries_forwarding.log", Format::Dnsmasq),
        ("pihole_dnsmasq.log", Format::Dnsmasq),
        ("powerdns_auth_log_dns_queries.log", Format::PowerDns),
        ("infoblox_nios_syslog.log", Format::Infoblox),
    ] {
        let data = read(name);
        let sample: Vec<&[u8]> = lines(&data).into_iter().take(50).collect();
        assert_eq!(detect_format(&sample), Some(format), "{name}");
    }
    // Other formats are not mistaken for ours.
    for name in ["windows_dns_analytical_etw_event.xml"] {
        let data = read(name);
        let sample: Vec<&[u8]> = lines(&data).into_iter().take(50).collect();
        assert_eq!(detect_format(&sample), None, "{name}");
    }
}
