//! Tests of the list formats, the index, the detector and the reload handle.

use super::*;
use crate::alert::Severity;
use crate::detectors::{Name, NameDetector};

fn intel(lists: &[(&str, &str)]) -> ThreatIntel {
    let mut ti = ThreatIntel::new();
    for (name, text) in lists {
        ti.add_list(name, text, Severity::High, 90).expect("list");
    }
    ti
}

fn check(ti: &ThreatIntel, qname: &str, expected: Option<&str>) {
    let finding = ti.check(&Name::new(qname, 1));
    assert_eq!(
        finding.as_ref().map(|f| f.reason.as_str()),
        expected,
        "{qname}"
    );
}

#[test]
fn matches_exact_and_subdomains() {
    let ti = intel(&[(
        "maltrail",
        "# comment\nevil.com\nbad.co.uk  # inline\n*.wild.net\n",
    )]);
    let cases = [
        ("evil.com", Some("evil.com is listed in maltrail (malware)")),
        (
            "a.b.evil.com",
            Some("a.b.evil.com is a subdomain of evil.com, listed in maltrail (malware)"),
        ),
        (
            "x.bad.co.uk",
            Some("x.bad.co.uk is a subdomain of bad.co.uk, listed in maltrail (malware)"),
        ),
        ("wild.net", Some("wild.net is listed in maltrail (malware)")),
        ("notevil.com", None),
        ("evil.com.example", None),
        ("com", None),
        ("", None),
        ("co.uk", None),
    ];
    for (qname, expected) in cases {
        check(&ti, qname, expected);
    }
}

#[test]
fn most_specific_entry_wins_and_lists_are_named() {
    let ti = intel(&[
        ("a", "evil.com\n"),
        ("b", "evil.com\ncdn.evil.com\n"),
        ("c", "evil.com"),
    ]);
    check(
        &ti,
        "evil.com",
        Some("evil.com is listed in a, b and c (malware)"),
    );
    check(
        &ti,
        "x.cdn.evil.com",
        Some("x.cdn.evil.com is a subdomain of cdn.evil.com, listed in b (malware)"),
    );
}

#[test]
fn hosts_format_and_errors_with_line_numbers() {
    let mut ti = ThreatIntel::new();
    let text = "127.0.0.1 localhost\n::1 ip6-localhost\n0.0.0.0 evil.com other.org\n\
                0.0.0.0\nhttp://x.com/path\n10.1.2.3\nevil.com extra\nsingle\nEVIL.COM\n\
                127.0.0.1\tTabbed.Example.\n";
    let report = ti
        .add_list("hosts", text, Severity::High, 90)
        .expect("list");
    assert_eq!(report.lines, 10);
    assert_eq!(report.entries, 3);
    assert_eq!(report.duplicates, 1);
    assert_eq!(report.error_count, 5);
    let lines: Vec<usize> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [4, 5, 6, 7, 8]);
    assert_eq!(
        report.errors[2].to_string(),
        "line 6: \"10.1.2.3\" is an IP address without a name after it, not a domain"
    );
    check(
        &ti,
        "www.other.org",
        Some("www.other.org is a subdomain of other.org, listed in hosts (malware)"),
    );
    check(
        &ti,
        "tabbed.example",
        Some("tabbed.example is listed in hosts (malware)"),
    );
    check(&ti, "localhost", None);
}

#[test]
fn csv_with_category_and_family() {
    let text = "category,family,domain\nmalware,dyreza,evil.com\nphishing,,phish.net\n\
                malware,x\n";
    let spec = ListSpec::new("labelled");
    let (ti, reports) = ThreatIntel::from_lists([(&spec, text)]).expect("lists");
    assert_eq!(reports[0].entries, 2);
    assert_eq!(reports[0].error_count, 1);
    assert_eq!(reports[0].errors[0].line, 4);
    let f = ti.check(&Name::new("a.evil.com", 1)).expect("hit");
    assert_eq!(
        f.reason,
        "a.evil.com is a subdomain of evil.com, listed in labelled (malware: dyreza)"
    );
    assert_eq!(ti.categories_of("phish.net"), ["phishing"]);
}

#[test]
fn maltrail_trails_skip_addresses_and_urls() {
    let text = "# Reference: x\n1.2.3.4\n10.0.0.0/8\nevil.com/path/x.php\nbad.org\n\
                bad.org:8080\n";
    let spec = ListSpec {
        format: ListFormat::Maltrail,
        category: "dynamic_dns".into(),
        severity: Severity::Low,
        score: 20,
        ..ListSpec::new("trail")
    };
    let (ti, reports) = ThreatIntel::from_lists([(&spec, text)]).expect("lists");
    assert_eq!((reports[0].entries, reports[0].skipped), (1, 3));
    assert_eq!(reports[0].error_count, 1, "{:?}", reports[0].errors);
    assert!(ti.contains("x.bad.org"));
    assert!(!ti.contains("evil.com"));
}

#[test]
fn rpz_exact_and_wildcard() {
    let text = "$TTL 300\n@ IN SOA localhost. root.localhost. 1 3600 600 86400 300\n\
                \tIN NS localhost.\nevil.com CNAME .\n*.evil.com CNAME .\n\
                exact.org 300 IN CNAME .\n*.wild.net CNAME *.\n\
                good.evil.com CNAME rpz-passthru.\n32.1.2.0.10.rpz-ip CNAME .\n\
                abs.example.rpz.local. CNAME .\n";
    let spec = ListSpec::new("rpz");
    let mut ti = ThreatIntel::new();
    let text = format!("$ORIGIN rpz.local.\n{text}");
    let report = ti.add(&spec, &text).expect("list");
    assert_eq!(report.error_count, 0, "{:?}", report.errors);
    assert!(ti.contains("evil.com") && ti.contains("a.evil.com"));
    assert!(ti.contains("exact.org") && !ti.contains("www.exact.org"));
    assert!(!ti.contains("wild.net") && ti.contains("x.wild.net"));
    assert!(ti.contains("abs.example"));
    assert_eq!(report.entries, 4);
}

#[test]
fn explains_misses() {
    let ti = intel(&[("maltrail", "evil.com\n")]);
    let e = ti.explain(&Name::new("good.com", 1));
    assert!(!e.fired);
    assert_eq!(
        e.reason,
        "neither good.com nor any domain it is under is in maltrail (1 entry)"
    );
    let e = ThreatIntel::new().explain(&Name::new("good.com", 1));
    assert_eq!(e.reason, "no threat-intelligence list is loaded");
}

#[test]
fn list_severity_is_per_list() {
    let mut ti = ThreatIntel::new();
    ti.add_list("dyndns", "duckdns.org\n", Severity::Low, 30)
        .expect("list");
    let f = ti.check(&Name::new("x.duckdns.org", 1)).expect("hit");
    assert_eq!((f.severity, f.score), (Severity::Low, 30));
}

#[test]
fn shared_handle_swaps() {
    let shared = SharedThreatIntel::new(intel(&[("a", "evil.com\n")]));
    let clone = shared.clone();
    assert!(clone.check(&Name::new("evil.com", 1)).is_some());
    let spec = ListSpec::new("b");
    let reports = shared.reload([(&spec, "other.net\n")]).expect("reload");
    assert_eq!(reports[0].entries, 1);
    assert!(clone.check(&Name::new("evil.com", 1)).is_none());
    assert!(clone.check(&Name::new("www.other.net", 1)).is_some());
}

fn change(name: &str, before: usize, after: usize, added: usize, removed: usize) -> ListChange {
    ListChange {
        name: name.to_owned(),
        before,
        after,
        added,
        removed,
    }
}

#[test]
fn changes_count_entries_added_and_removed_per_list() {
    // `both.net` is in both lists: moving it out of one list is a change to that list only.
    let old = intel(&[
        ("a", "one.com\ntwo.com\nboth.net\n"),
        ("b", "both.net\n"),
        ("gone", "x.org\n"),
    ]);
    let new = intel(&[
        ("b", "both.net\nthree.com\n"),
        ("a", "one.com\nfour.com\nfive.com\n"),
        ("fresh", "y.org\n"),
    ]);
    assert_eq!(
        old.changes(&new),
        [
            change("b", 1, 2, 1, 0),
            change("a", 3, 3, 2, 2),
            change("fresh", 0, 1, 1, 0),
            change("gone", 1, 0, 0, 1),
        ]
    );
    assert_eq!(
        new.changes(&new),
        [
            change("b", 2, 2, 0, 0),
            change("a", 3, 3, 0, 0),
            change("fresh", 1, 1, 0, 0),
        ]
    );
}

#[test]
fn shrinking_is_judged_against_the_ratio() {
    let cases = [
        // (before, after, min_ratio, shrank)
        (10, 0, 0.5, true),
        (10, 4, 0.5, true),
        (10, 5, 0.5, false),
        (10, 20, 0.5, false),
        (1, 0, 0.01, true),
        (10, 9, 1.0, true),
        (10, 0, 0.0, false),
        (0, 0, 0.5, false),
    ];
    for (before, after, ratio, shrank) in cases {
        assert_eq!(
            change("l", before, after, 0, 0).shrank_below(ratio),
            shrank,
            "{before} -> {after} at {ratio}"
        );
    }
}

/// Regression ("Never blind without a word"): a list truncated to empty was swapped in and
/// every hit on it stopped.
#[test]
fn a_guarded_reload_keeps_the_whole_set_when_a_list_is_emptied() {
    let (a, b) = (ListSpec::new("a"), ListSpec::new("b"));
    let shared = SharedThreatIntel::new(intel(&[("a", "evil.com\n"), ("b", "bad.net\n")]));
    let refused = shared
        .reload_guarded([(&a, "evil.com\nnew.com\n"), (&b, "")], 0.5)
        .expect_err("an emptied list is refused");
    assert_eq!(
        refused,
        ReloadError::Shrunk {
            shrunk: vec![change("b", 1, 0, 0, 1)],
            min_ratio: 0.5
        }
    );
    assert_eq!(
        refused.to_string(),
        "list shrank below 0.5 of its entries: `b` from 1 to 0 entries"
    );
    // No half swap: list `a`'s new entry is not taken either.
    assert!(shared.check(&Name::new("bad.net", 1)).is_some());
    assert!(shared.check(&Name::new("new.com", 1)).is_none());

    let grown = shared
        .reload_guarded([(&a, "evil.com\nnew.com\n"), (&b, "bad.net\n")], 0.5)
        .expect("a grown list is taken");
    assert_eq!(
        grown.changes,
        [change("a", 1, 2, 1, 0), change("b", 1, 1, 0, 0)]
    );
    assert!(shared.check(&Name::new("new.com", 1)).is_some());

    // A ratio of 0 takes an emptied list.
    let emptied = shared
        .reload_guarded([(&a, "evil.com\nnew.com\n"), (&b, "")], 0.0)
        .expect("no guard");
    assert_eq!(emptied.changes[1], change("b", 1, 0, 0, 1));
    assert!(shared.check(&Name::new("bad.net", 1)).is_none());
}
