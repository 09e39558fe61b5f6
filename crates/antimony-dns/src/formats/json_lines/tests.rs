//! Tests of the decoder, the field maps and the writer: what is written reads back equal.

use std::sync::Arc;

use super::*;
use crate::formats::{DecodeOptions, LineDecoder, ParseError};
use crate::{Answer, Direction, DnsEvent, Transport};

fn decode(line: &str) -> Result<Option<DnsEvent>, ParseError> {
    Decoder::new(&DecodeOptions::default()).decode_line(line.as_bytes())
}

/// Decodes `line` and compares the event with `expected` after writing both as JSON.
fn check(line: &str, expected: &str) {
    let event = match decode(line) {
        Ok(Some(event)) => event,
        other => panic!("{line:?} gave {other:?}"),
    };
    let mut out = String::new();
    to_json_line(&event, &mut out);
    assert_eq!(out, expected, "{line:?}");
}

fn refused(line: &str, field: &str) {
    match decode(line) {
        Err(e) => assert_eq!(e.field(), field, "{line:?}: {e}"),
        other => panic!("{line:?} gave {other:?}, expected an error about {field}"),
    }
}

#[test]
fn canonical_and_aliased_fields() {
    check(
        r#"{"ts":"2017-08-12T09:35:32Z","client":"212.77.192.37","transport":"udp","direction":"response","id":32936,"qname":"ns1.ctc.gov.qa","qtype":"A","rcode":"NOERROR","flags":32784}"#,
        r#"{"ts":"2017-08-12T09:35:32Z","client":"212.77.192.37","transport":"udp","direction":"response","id":32936,"qname":"ns1.ctc.gov.qa","registered_domain":"ctc.gov.qa","qtype":"A","rcode":"NOERROR","flags":32784}"#,
    );
    // Aliases, epoch seconds, numbers for codes, no direction or flags.
    check(
        r#"{"timestamp":1502530532.25,"src_ip":"10.0.0.1","dst_ip":"::1","proto":"TCP","query":"WWW.Example.com.","qtype":28,"rcode":3,"extra":{"ignored":[1,2]}}"#,
        r#"{"ts":"2017-08-12T09:35:32.250000Z","client":"10.0.0.1","server":"::1","transport":"tcp","direction":"response","qname":"www.example.com","registered_domain":"example.com","qtype":"AAAA","rcode":"NXDOMAIN","flags":32771}"#,
    );
    // Answers, a hex flags string, a sensor with characters to escape.
    check(
        r#"{"ts":0,"qname":"example.com","qtype":"TYPE65","flags":"0x8180","sensor":"dc\"1\\","answers":[{"name":"Example.com.","type":"A","ttl":60,"rdata":"93.184.216.34"},{"name":"example.com","rtype":16,"data":"\"v=spf1\tx\u0001\""}]}"#,
        r#"{"ts":"1970-01-01T00:00:00Z","sensor":"dc\"1\\","transport":"unknown","direction":"response","qname":"example.com","registered_domain":"example.com","qtype":"HTTPS","flags":33152,"answers":[{"name":"example.com","rtype":"A","ttl":60,"data":"93.184.216.34"},{"name":"example.com","rtype":"TXT","data":"\"v=spf1\tx\u0001\""}]}"#
            .replace("\tx", "\\tx")
            .as_str(),
    );
}

#[test]
fn blank_lines_are_skipped() {
    assert_eq!(decode(""), Ok(None));
    assert_eq!(decode("  \r\n"), Ok(None));
}

#[test]
fn bad_lines_name_the_field() {
    let ok = r#"{"ts":"2017-08-12T09:35:32Z","qname":"a.com","qtype":"A"}"#;
    assert!(decode(ok).is_ok_and(|e| e.is_some()));
    refused(r#"{"ts":"2017-08-12T09:35:32Z","qname":"a.com""#, "line");
    refused(r#"["not","an","object"]"#, "line");
    refused(
        r#"{"ts":"2017-08-12T09:35:32Z","qname":"a.com","qname":"b.com","qtype":1}"#,
        "line",
    );
    refused(r#"{"qname":"a.com","qtype":"A"}"#, "ts");
    refused(r#"{"ts":"yesterday","qname":"a.com","qtype":"A"}"#, "ts");
    refused(r#"{"ts":1e300,"qname":"a.com","qtype":"A"}"#, "ts");
    refused(
        r#"{"ts":18446744073709551615,"qname":"a.com","qtype":"A"}"#,
        "ts",
    );
    refused(r#"{"ts":0,"qtype":"A"}"#, "qname");
    refused(r#"{"ts":0,"qname":"a..com","qtype":"A"}"#, "qname");
    refused(r#"{"ts":0,"qname":7,"qtype":"A"}"#, "qname");
    refused(r#"{"ts":0,"qname":"a.com"}"#, "qtype");
    refused(r#"{"ts":0,"qname":"a.com","qtype":"BOGUS"}"#, "qtype");
    refused(r#"{"ts":0,"qname":"a.com","qtype":70000}"#, "qtype");
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"client":"1.2.3"}"#,
        "client",
    );
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"server":[]}"#,
        "server",
    );
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"transport":"sctp"}"#,
        "transport",
    );
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"direction":"sideways"}"#,
        "direction",
    );
    refused(r#"{"ts":0,"qname":"a.com","qtype":1,"id":-1}"#, "id");
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"rcode":true}"#,
        "rcode",
    );
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"flags":"0xfffff"}"#,
        "flags",
    );
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"answers":[{"name":"a.com"}]}"#,
        "answers.rtype",
    );
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"answers":[{"rtype":1,"ttl":-5}]}"#,
        "answers.ttl",
    );
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"answers":[{"rtype":1,"data":1}]}"#,
        "answers.data",
    );
    refused(
        r#"{"ts":0,"qname":"a.com","qtype":1,"answers":"none"}"#,
        "line",
    );
}

/// Found by fuzzing (`json` target): a timestamp past year 9999, or before year 0000
/// once the zone was applied, was accepted, and its JSON line could not be read back.
#[test]
fn regression_fuzz_timestamp_outside_years_0000_to_9999() {
    for ts in [
        "1567095388061.004544",
        "999999999999",
        "-62167219201",
        r#""0000-01-01T00:00:00+01:00""#,
    ] {
        refused(&format!(r#"{{"ts":{ts},"qname":"a.com","qtype":1}}"#), "ts");
    }
    for ts in [
        "253402300799",
        "-62167219200",
        r#""9999-12-31T23:59:59.999999Z""#,
    ] {
        let line = format!(r#"{{"ts":{ts},"qname":"a.com","qtype":1}}"#);
        assert!(decode(&line).is_ok_and(|e| e.is_some()), "{line}");
    }
}

#[test]
fn field_maps() {
    let map = |json: &str| -> Decoder {
        let fields: FieldMap = serde_json::from_str(json).unwrap_or_default();
        Decoder::with_fields(&DecodeOptions::default(), fields)
    };
    let write = |event: DnsEvent| {
        let mut out = String::new();
        to_json_line(&event, &mut out);
        out
    };
    // Nested paths (ECS), answers as strings, unmapped fields under their own names.
    let mut ecs = map(
        r#"{"ts":"@timestamp","client":"source.ip","qname":"dns.question.name",
            "qtype":"dns.question.type","rcode":"dns.response_code","answers":"dns.answers"}"#,
    );
    let line = r#"{"@timestamp":"2026-11-26T06:46:47Z","source":{"ip":"10.0.0.7"},"id":7,"dns":{"question":{"name":"Example.com","type":"AAAA"},"response_code":"NXDOMAIN","answers":["2001:db8::1","alias.example"]}}"#;
    let event = ecs.decode_line(line.as_bytes()).ok().flatten();
    assert_eq!(
        event.map(write).as_deref(),
        Some(
            r#"{"ts":"2026-11-26T06:46:47Z","client":"10.0.0.7","transport":"unknown","direction":"response","id":7,"qname":"example.com","registered_domain":"example.com","qtype":"AAAA","rcode":"NXDOMAIN","flags":32771,"answers":[{"name":"","rtype":"AAAA","data":"2001:db8::1"},{"name":"","rtype":"CNAME","data":"alias.example"}]}"#
        )
    );
    // Keys with dots (Zeek), the longest key first.
    let mut zeek = map(r#"{"client":"id.orig_h","qname":"a.b.c"}"#);
    let line = r#"{"ts":1,"id.orig_h":"::1","a":{"b.c":"short.example"},"a.b":{"c":"long.example"},"qtype":1}"#;
    let event = zeek.decode_line(line.as_bytes()).ok().flatten();
    assert_eq!(
        event.map(|e| (e.client, e.qname)),
        Some(("::1".parse().ok(), "long.example".to_owned()))
    );
    // Errors name our field, whatever the path.
    let mut bad = map(r#"{"qname":"q.name"}"#);
    for (line, field) in [
        (r#"{"ts":1,"qtype":1}"#, "qname"),
        (r#"{"ts":1,"qtype":1,"q":{"name":5}}"#, "qname"),
        (
            r#"{"ts":1,"qtype":1,"q":{"name":"a.b"},"answers":[7]}"#,
            "answers",
        ),
        (
            r#"{"ts":1,"qtype":1,"q":{"name":"a.b"},"answers":{}}"#,
            "answers",
        ),
        (r#"{"ts":1,"q":{"name":"a.b"}}"#, "qtype"),
        ("[1]", "line"),
        ("{", "line"),
    ] {
        match bad.decode_line(line.as_bytes()) {
            Err(e) => assert_eq!(e.field(), field, "{line}: {e}"),
            other => panic!("{line} gave {other:?}"),
        }
    }
    assert!(serde_json::from_str::<FieldMap>(r#"{"query":"x"}"#).is_err());
}

#[test]
fn written_lines_read_back_equal() {
    let mut event = DnsEvent {
        ts: 1_502_530_532_907_001,
        client: "2001:db8::1".parse().ok(),
        server: "10.1.2.3".parse().ok(),
        transport: Transport::Tcp,
        direction: Direction::Response,
        id: Some(65_535),
        qtype: 65_280,
        rcode: Some(23),
        flags: 0x8580,
        answers: vec![Answer {
            name: "xn--mnchen-3ya.de".into(),
            rtype: 5,
            ttl: Some(u32::MAX),
            data: "ünïcode \"quoted\" \\ \u{7f}".into(),
        }],
        sensor: Some(Arc::from("dc-1")),
        ..DnsEvent::default()
    };
    assert!(event.set_qname("München.de").is_ok());
    let mut line = String::new();
    to_json_line(&event, &mut line);
    assert_eq!(decode(&line), Ok(Some(event)), "{line}");
}
