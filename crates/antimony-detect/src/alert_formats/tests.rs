//! Every format read back by a strict reader of its kind, on alerts whose text is hostile:
//! what was written is exactly what a SIEM or chat client reads.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use super::*;
use crate::alert::{Alert, AlertId, Evidence, Severity};

/// Text no format may let escape: each format's delimiters and escapes, markup, quotes,
/// line breaks, a NUL, non-ASCII.
const HOSTILE: &str = "x|y=z\\w\n\r\tq\"<script>alert(1)</script>&amp;@channel <!here> *b* _i_ [l](http://e.vil) é日本\u{0}";

fn alert(domain: &str, reason: &str, client: Option<&str>) -> Alert {
    let client: Option<IpAddr> = client.and_then(|c| c.parse().ok());
    Alert {
        id: Some(Alert::stable_id(
            "threat_intel",
            client,
            domain,
            1_502_530_532_123_456,
            3_600_000_000,
        )),
        ts: 1_502_530_532_123_456,
        detector: Cow::Borrowed("threat_intel"),
        severity: Severity::High,
        score: 90,
        domain: domain.to_owned(),
        registered_domain: "evil.com".to_owned(),
        client,
        reason: reason.to_owned(),
        evidence: vec![
            ("entry".into(), Evidence::Text("evil.com".into())),
            ("match".into(), Evidence::Text("subdomain".into())),
            (
                "lists".into(),
                Evidence::List(vec![format!("feed{HOSTILE}"), "maltrail".into()]),
            ),
            (
                "categories".into(),
                Evidence::List(vec!["malware".into(), format!("c2 \"{HOSTILE}")]),
            ),
            ("family".into(), Evidence::Text(HOSTILE.into())),
            ("ratio".into(), Evidence::Number(f64::NAN)),
        ],
    }
}

/// The alerts every test runs on: ordinary, hostile in each field, IPv6, no client, no id.
fn alerts() -> Vec<Alert> {
    let hostile_domain = format!("{HOSTILE}.a.evil.com");
    let mut no_id = alert("www.example.co.uk", "plain", None);
    no_id.id = None;
    no_id.registered_domain = "example.co.uk".into();
    no_id.evidence.clear();
    no_id.detector = Cow::Owned(format!("custom{HOSTILE}"));
    no_id.severity = Severity::Info;
    vec![
        alert(
            "a.evil.com",
            "a.evil.com is a subdomain of evil.com",
            Some("10.0.0.1"),
        ),
        alert(&hostile_domain, HOSTILE, Some("2001:db8::1")),
        alert(
            "evil.com",
            &format!("{HOSTILE}{HOSTILE}"),
            Some("192.0.2.7"),
        ),
        no_id,
    ]
}

fn json(format: AlertFormat, alert: &Alert) -> Value {
    let mut line = String::new();
    alert.write_as(format, &mut line);
    assert!(
        !line.contains('\n') && !line.contains('\r'),
        "one line: {line}"
    );
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{format} is not JSON ({e}): {line}"))
}

#[test]
fn names_parse_back() {
    for format in AlertFormat::ALL {
        assert_eq!(format.name().parse::<AlertFormat>(), Ok(format));
        let quoted = format!("\"{}\"", format.name());
        assert_eq!(
            serde_json::from_str::<AlertFormat>(&quoted).ok(),
            Some(format)
        );
        assert!(!format.describe().is_empty());
    }
    for format in ChatFormat::ALL {
        assert_eq!(format.name().parse::<ChatFormat>(), Ok(format));
    }
    assert!("syslog".parse::<AlertFormat>().is_err());
}

#[test]
fn json_is_the_documented_form() {
    for a in alerts() {
        let mut line = String::new();
        a.write_as(AlertFormat::Json, &mut line);
        assert_eq!(line, a.to_json());
    }
}

#[test]
fn ecs_round_trips() {
    for a in alerts() {
        let v = json(AlertFormat::Ecs, &a);
        assert_eq!(v["@timestamp"], "2017-08-12T09:35:32.123456Z");
        assert_eq!(v["event"]["kind"], "alert");
        assert_eq!(v["event"]["category"][0], "network");
        assert_eq!(v["event"]["module"], "antimony");
        assert_eq!(v["event"]["reason"].as_str(), Some(a.reason.as_str()));
        assert_eq!(v["message"].as_str(), Some(a.reason.as_str()));
        assert_eq!(v["rule"]["name"].as_str(), Some(a.detector.as_ref()));
        assert_eq!(
            v["dns"]["question"]["name"].as_str(),
            Some(a.domain.as_str())
        );
        assert_eq!(
            v["dns"]["question"]["registered_domain"].as_str(),
            Some(a.registered_domain.as_str())
        );
        assert_eq!(
            v["event"]["severity"].as_u64(),
            Some(u64::from(severity_number(a.severity)))
        );
        assert_eq!(v["event"]["risk_score"].as_u64(), Some(u64::from(a.score)));
        assert_eq!(v["antimony"]["score"].as_u64(), Some(u64::from(a.score)));
        assert_eq!(
            v["event"]["id"].as_str(),
            a.id.map(|id| id.to_string()).as_deref()
        );
        assert_eq!(
            v["source"]["ip"].as_str(),
            a.client.map(|c| c.to_string()).as_deref()
        );
        // The evidence object is the JSON form's, key for key.
        let plain: Value = serde_json::from_str(&a.to_json()).expect("json");
        assert_eq!(v["antimony"]["evidence"], plain["evidence"]);
        if let Some(Evidence::List(lists)) = a.evidence_value("lists") {
            assert_eq!(v["threat"]["indicator"]["type"], "domain-name");
            assert_eq!(v["threat"]["indicator"]["name"], "evil.com");
            assert_eq!(
                v["threat"]["indicator"]["provider"].as_str(),
                Some(lists[0].as_str())
            );
            assert_eq!(
                v["threat"]["feed"]["name"].as_str(),
                Some(lists[0].as_str())
            );
            assert_eq!(v["threat"]["software"]["name"].as_str(), Some(HOSTILE));
            assert_eq!(
                v["threat"]["indicator"]["description"].as_str(),
                Some(format!("malware, c2 \"{HOSTILE}").as_str())
            );
        } else {
            assert!(v.get("threat").is_none());
        }
    }
}

#[test]
fn ecs_splits_the_name() {
    let a = alert("a.b.evil.com", "r", Some("10.0.0.1"));
    let q = &json(AlertFormat::Ecs, &a)["dns"]["question"];
    assert_eq!(q["subdomain"], "a.b");
    assert_eq!(q["top_level_domain"], "com");
    let mut apex = alert("evil.com", "r", None);
    apex.registered_domain = "evil.com".into();
    let q = &json(AlertFormat::Ecs, &apex)["dns"]["question"];
    assert!(q.get("subdomain").is_none());
    let v = json(AlertFormat::Ecs, &apex);
    assert!(v.get("source").is_none());
    let mut uk = alert("www.example.co.uk", "r", None);
    uk.registered_domain = "example.co.uk".into();
    let q = &json(AlertFormat::Ecs, &uk)["dns"]["question"];
    assert_eq!(q["top_level_domain"], "co.uk");
    assert_eq!(q["subdomain"], "www");
}

#[test]
fn eve_round_trips() {
    for a in alerts() {
        let v = json(AlertFormat::Eve, &a);
        assert_eq!(v["event_type"], "alert");
        assert_eq!(v["timestamp"], "2017-08-12T09:35:32.123456+0000");
        assert_eq!(
            v["src_ip"].as_str(),
            a.client.map(|c| c.to_string()).as_deref()
        );
        assert_eq!(v["alert"]["gid"], 1);
        assert_eq!(
            v["alert"]["signature_id"].as_u64(),
            Some(u64::from(catalog::signature(&a.detector).id))
        );
        assert_eq!(
            v["alert"]["severity"].as_u64(),
            Some(u64::from(eve::suricata_severity(a.severity)))
        );
        assert_eq!(
            v["alert"]["metadata"]["reason"][0].as_str(),
            Some(a.reason.as_str())
        );
        assert_eq!(
            v["alert"]["metadata"]["detector"][0].as_str(),
            Some(a.detector.as_ref())
        );
        assert_eq!(
            v["dns"]["query"][0]["rrname"].as_str(),
            Some(a.domain.as_str())
        );
    }
    assert_eq!(eve::suricata_severity(Severity::Critical), 1);
    assert_eq!(eve::suricata_severity(Severity::Medium), 2);
    assert_eq!(eve::suricata_severity(Severity::Info), 3);
}

/// A strict reader of one escaped field: `escapes` maps the character after a backslash
/// to what it stands for; anything else after a backslash is an error.
fn unescape(text: &str, escapes: &[(char, char)]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let next = chars.next().ok_or("a trailing backslash")?;
        let (_, meaning) = escapes
            .iter()
            .find(|(e, _)| *e == next)
            .ok_or_else(|| format!("an unknown escape \\{next}"))?;
        out.push(*meaning);
    }
    Ok(out)
}

/// Splits a header of `count` fields on unescaped `|`; returns them (still escaped) and
/// the rest after the last one.
fn split_header(line: &str, count: usize) -> (Vec<&str>, &str) {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '|' {
            fields.push(&line[start..i]);
            start = i + 1;
            if fields.len() == count {
                return (fields, &line[start..]);
            }
        }
    }
    panic!("a header of fewer than {count} fields: {line}");
}

const HEADER_ESCAPES: &[(char, char)] = &[('\\', '\\'), ('|', '|')];

/// The CEF reader: header fields, then `key=value` extensions where every unescaped `=`
/// ends a key (the word before it) and the value before that key.
fn parse_cef(line: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let (header, extension) = split_header(line, 7);
    let header = header
        .iter()
        .map(|f| unescape(f, HEADER_ESCAPES).expect("header escapes"))
        .collect();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in extension.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' {
            pieces.push(&extension[start..i]);
            start = i + 1;
        }
    }
    pieces.push(&extension[start..]);
    let escapes = [('\\', '\\'), ('=', '='), ('n', '\n'), ('r', '\r')];
    let mut map = BTreeMap::new();
    let mut key = pieces[0].to_owned();
    for (i, piece) in pieces.iter().enumerate().skip(1) {
        let (value, next) = if i + 1 == pieces.len() {
            (*piece, "")
        } else {
            piece.rsplit_once(' ').expect("a key after each value")
        };
        assert!(!key.is_empty() && !key.contains(' '), "key {key:?}");
        let value = unescape(value, &escapes).expect("extension escapes");
        assert!(map.insert(key.clone(), value).is_none(), "repeated {key}");
        key = next.to_owned();
    }
    (header, map)
}

#[test]
fn cef_round_trips() {
    for a in alerts() {
        let mut line = String::new();
        a.write_as(AlertFormat::Cef, &mut line);
        assert!(!line.contains('\n') && !line.contains('\r'));
        assert!(line.starts_with("CEF:0|Antimony|antimony|"));
        let (header, ext) = parse_cef(&line);
        let sig = catalog::signature(&a.detector);
        assert_eq!(header[4], sig.id.to_string());
        assert_eq!(header[5], sig.title);
        assert_eq!(header[6], severity_number(a.severity).to_string());
        assert_eq!(ext["rt"], (a.ts / 1000).to_string());
        assert_eq!(ext["dhost"], a.domain);
        assert_eq!(ext["msg"], a.reason);
        assert_eq!(ext["cs1"], a.detector);
        assert_eq!(ext["cs1Label"], "detector");
        assert_eq!(ext["cs2"], a.registered_domain);
        assert_eq!(ext["cn1"], a.score.to_string());
        assert_eq!(ext["act"], "alert");
        assert_eq!(
            ext.get("externalId").cloned(),
            a.id.map(|id| id.to_string())
        );
        match a.client {
            Some(IpAddr::V4(ip)) => assert_eq!(ext["src"], ip.to_string()),
            Some(IpAddr::V6(ip)) => assert_eq!(ext["c6a2"], ip.to_string()),
            None => assert!(!ext.contains_key("src") && !ext.contains_key("c6a2")),
        }
        if let Some(Evidence::List(lists)) = a.evidence_value("lists") {
            assert_eq!(ext["cs3"], lists.join(","));
        }
    }
}

fn parse_leef(line: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let (header, attributes) = split_header(line, 6);
    let header: Vec<String> = header
        .iter()
        .map(|f| unescape(f, HEADER_ESCAPES).expect("header escapes"))
        .collect();
    assert_eq!(header[5], "x09", "the declared delimiter");
    let escapes = [('\\', '\\'), ('t', '\t'), ('n', '\n'), ('r', '\r')];
    let mut map = BTreeMap::new();
    for attribute in attributes.split('\t') {
        let (key, value) = attribute.split_once('=').expect("key=value");
        let value = unescape(value, &escapes).expect("attribute escapes");
        assert!(
            map.insert(key.to_owned(), value).is_none(),
            "repeated {key}"
        );
    }
    (header, map)
}

#[test]
fn leef_round_trips() {
    for a in alerts() {
        let mut line = String::new();
        a.write_as(AlertFormat::Leef, &mut line);
        assert!(!line.contains('\n') && !line.contains('\r'));
        let (header, attr) = parse_leef(&line);
        assert_eq!(header[0], "LEEF:2.0");
        assert_eq!(header[1], "Antimony");
        // The header cannot hold a line break or a tab: they became spaces.
        assert_eq!(header[4], a.detector.replace(['\n', '\r', '\t'], " "));
        assert_eq!(attr["devTime"], "2017-08-12T09:35:32.123+0000");
        assert_eq!(attr["devTimeFormat"], "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        assert_eq!(attr["sev"], severity_number(a.severity).to_string());
        assert_eq!(attr["domain"], a.domain);
        assert_eq!(attr["registeredDomain"], a.registered_domain);
        assert_eq!(attr["detector"], a.detector);
        assert_eq!(attr["reason"], a.reason);
        assert_eq!(attr["score"], a.score.to_string());
        assert_eq!(attr.get("alertId").cloned(), a.id.map(|id| id.to_string()));
        assert_eq!(attr.get("src").cloned(), a.client.map(|c| c.to_string()));
        if let Some(Evidence::List(lists)) = a.evidence_value("lists") {
            assert_eq!(attr["lists"], lists.join(","));
        }
    }
}

fn undefang(text: &str) -> String {
    text.replace("[.]", ".")
}

fn slack_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// No `<` nor `>` is left that Slack could read as a link or mention, and every `&` starts
/// an escape.
fn assert_slack_safe(text: &str) {
    assert!(!text.contains('<') && !text.contains('>'), "{text}");
    for (i, _) in text.match_indices('&') {
        let rest = &text[i..];
        assert!(
            rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;"),
            "{text}"
        );
    }
}

#[test]
fn slack_escapes_and_round_trips() {
    for a in alerts() {
        let mut body = String::new();
        a.write_slack(&mut body);
        let v: Value = serde_json::from_str(&body).expect("Slack body is JSON");
        let text = v["text"].as_str().expect("fallback");
        assert_slack_safe(text);
        let blocks = v["blocks"].as_array().expect("blocks");
        let fields = blocks[1]["fields"].as_array().expect("fields");
        let mut shown = BTreeMap::new();
        for f in fields {
            assert_eq!(f["type"], "mrkdwn");
            let t = f["text"].as_str().expect("text");
            assert_slack_safe(t);
            let (title, value) = t.split_once('\n').expect("title and value");
            shown.insert(title.to_owned(), slack_unescape(value));
        }
        let domain = shown["*Domain*"]
            .strip_prefix('`')
            .and_then(|d| d.strip_suffix('`'))
            .expect("a code span");
        assert!(!domain.contains('`'));
        assert_eq!(undefang(domain), a.domain.replace('`', "'"));
        // Defanged: no dot before a letter is left for Slack to link.
        assert!(!domain.contains(".com"));
        assert_eq!(
            shown["*Client*"],
            format!("`{}`", a.client.map_or("unknown".into(), |c| c.to_string()))
        );
        let reason = blocks[2]["text"]["text"].as_str().expect("reason");
        assert_slack_safe(reason);
        let reason = reason.strip_prefix("*Reason*\n").expect("title");
        let expected: String = undefang(&slack_unescape(reason));
        if !reason.ends_with('…') {
            assert_eq!(expected, a.reason);
        }
        assert!(reason.chars().count() <= 3000);
    }
}

#[test]
fn slack_cuts_long_text_on_a_character() {
    let long = "é&".repeat(4000);
    let a = alert("a.evil.com", &long, None);
    let mut body = String::new();
    a.write_slack(&mut body);
    let v: Value = serde_json::from_str(&body).expect("JSON");
    let reason = v["blocks"][2]["text"]["text"].as_str().expect("reason");
    assert!(reason.chars().count() <= 3000);
    assert!(reason.ends_with('…'));
    assert_slack_safe(reason);
}

fn teams_unescape(text: &str) -> String {
    unescape(
        text,
        &"\\*_[]()~`<>#+-!|"
            .chars()
            .map(|c| (c, c))
            .collect::<Vec<_>>(),
    )
    .expect("markdown escapes")
}

#[test]
fn teams_escapes_and_round_trips() {
    for a in alerts() {
        let mut body = String::new();
        a.write_teams(&mut body);
        let v: Value = serde_json::from_str(&body).expect("Teams body is JSON");
        assert_eq!(v["type"], "message");
        let card = &v["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let body = card["content"]["body"].as_array().expect("card body");
        let facts: BTreeMap<String, String> = body[1]["facts"]
            .as_array()
            .expect("facts")
            .iter()
            .map(|f| {
                let value = f["value"].as_str().expect("value");
                (
                    f["title"].as_str().expect("title").to_owned(),
                    teams_unescape(value),
                )
            })
            .collect();
        assert_eq!(undefang(&facts["Domain"]), a.domain);
        assert_eq!(facts["Detector"], a.detector);
        assert_eq!(
            facts["Alert id"],
            a.id.map_or("(no id)".into(), |id| id.to_string())
        );
        let reason = teams_unescape(body[2]["text"].as_str().expect("reason"));
        if !reason.ends_with('…') {
            assert_eq!(undefang(&reason), a.reason);
        }
        // Nothing markdown reads is left unescaped: no link syntax survives.
        let raw = body[2]["text"].as_str().expect("reason");
        assert!(!raw.contains("](") && !raw.contains("<script>"));
    }
}

#[test]
fn defanging_spares_numbers_and_addresses() {
    let mut out = String::new();
    push_defanged(
        &mut out,
        "a.evil.com scored 0.97 from 10.0.0.1, xn--80ak6aa92e.com.",
    );
    assert_eq!(
        out,
        "a[.]evil[.]com scored 0.97 from 10.0.0.1, xn--80ak6aa92e[.]com."
    );
}

#[test]
fn severity_scales_are_ordered() {
    let all = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    for pair in all.windows(2) {
        assert!(severity_number(pair[0]) < severity_number(pair[1]));
        assert!(eve::suricata_severity(pair[0]) >= eve::suricata_severity(pair[1]));
    }
    assert!(all.iter().all(|s| severity_number(*s) <= 10));
    let _ = AlertId(0);
}
