//! Alerts to store, and the checks every backend must pass: SQLite and PostgreSQL run the
//! same ones.

#![allow(dead_code)]

pub mod postgres_server;

use std::borrow::Cow;
use std::net::IpAddr;

use antimony_detect::{Alert, Evidence, Severity};
use antimony_store::{Filter, FilterText, Retention, Store, StoredAlert};

/// 2017-08-12T09:00:00Z.
pub const T0: i64 = 1_502_528_400_000_000;
pub const MINUTE: i64 = 60_000_000;

/// An alert at `T0 + minutes`, with a stable id.
pub fn alert(
    minutes: i64,
    detector: &'static str,
    severity: Severity,
    client: &str,
    domain: &str,
) -> Alert {
    let client: Option<IpAddr> = client.parse().ok();
    let ts = T0 + minutes * MINUTE;
    Alert {
        id: Some(Alert::stable_id(
            detector,
            client,
            domain,
            ts,
            3_600_000_000,
        )),
        ts,
        detector: Cow::Borrowed(detector),
        severity,
        score: 80,
        registered_domain: domain
            .rsplitn(3, '.')
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("."),
        domain: domain.to_owned(),
        client,
        reason: format!("{domain} looks bad, \"quoted\", with a comma\nand a newline"),
        evidence: vec![("lists".into(), Evidence::List(vec!["maltrail".into()]))],
    }
}

/// Twelve alerts over two hours, from three clients, about names under two domains.
pub fn sample() -> Vec<StoredAlert> {
    let mut alerts = Vec::new();
    for i in 0..12 {
        let (detector, severity) = match i % 3 {
            0 => ("threat_intel", Severity::High),
            1 => ("dga", Severity::Low),
            _ => ("keyword", Severity::Medium),
        };
        let client = format!("10.0.0.{}", i % 3 + 1);
        let domain = if i % 2 == 0 {
            format!("a{i}.evil.com")
        } else {
            format!("x{i}.notevil.com")
        };
        alerts.push(StoredAlert::from_alert(&alert(
            i * 10,
            detector,
            severity,
            &client,
            &domain,
        )));
    }
    alerts
}

pub fn filter(text: FilterText<'_>) -> Filter {
    Filter::parse(&text, T0 + 10 * 60 * MINUTE).expect("filters parse")
}

fn ids(alerts: &[StoredAlert]) -> Vec<&str> {
    alerts.iter().map(|a| a.id.as_str()).collect()
}

/// Insert, replay, every filter, limits and retention by age and count, on `store`.
pub fn exercise(mut store: Store) {
    let sample = sample();
    assert_eq!(store.insert(&sample).expect("insert"), 12);
    // A replay (a run resumed from a checkpoint) writes the same ids: nothing new.
    assert_eq!(store.insert(&sample).expect("replay"), 0);
    assert_eq!(store.insert(&sample[3..5]).expect("replay"), 0);
    let all = store.query(&Filter::default()).expect("query");
    assert_eq!(all, sample, "rows read back as written, oldest first");

    let check = |store: &mut Store, text: FilterText<'_>, expected: Vec<&StoredAlert>| {
        let f = filter(text.clone());
        let got = store.query(&f).expect("query");
        assert_eq!(
            ids(&got),
            expected.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            "{text:?}"
        );
        assert_eq!(
            store
                .count(&Filter {
                    limit: None,
                    ..f.clone()
                })
                .expect("count") as usize,
            sample.iter().filter(|a| f.matches(a)).count(),
            "{text:?}"
        );
        // The in-memory filter (report --alerts) selects the same alerts.
        if f.limit.is_none() {
            let mine: Vec<&StoredAlert> = sample.iter().filter(|a| f.matches(a)).collect();
            assert_eq!(
                ids(&got),
                mine.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    };
    check(
        &mut store,
        FilterText {
            client: Some("10.0.0.1"),
            ..Default::default()
        },
        sample.iter().step_by(3).collect(),
    );
    check(
        &mut store,
        FilterText {
            domain: Some("evil.com"),
            ..Default::default()
        },
        sample.iter().step_by(2).collect(),
    );
    check(
        &mut store,
        FilterText {
            domain: Some("=a4.evil.com"),
            ..Default::default()
        },
        vec![&sample[4]],
    );
    check(
        &mut store,
        FilterText {
            domain: Some("=evil.com"),
            ..Default::default()
        },
        vec![],
    );
    // `_` and `%` in a domain filter are letters, not wildcards.
    check(
        &mut store,
        FilterText {
            domain: Some("_vil.com"),
            ..Default::default()
        },
        vec![],
    );
    check(
        &mut store,
        FilterText {
            detector: Some("dga"),
            ..Default::default()
        },
        sample.iter().skip(1).step_by(3).collect(),
    );
    check(
        &mut store,
        FilterText {
            min_severity: Some("medium"),
            ..Default::default()
        },
        sample
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 1)
            .map(|(_, a)| a)
            .collect(),
    );
    check(
        &mut store,
        FilterText {
            since: Some("2017-08-12T09:30:00Z"),
            until: Some("2017-08-12T10:00:00Z"),
            ..Default::default()
        },
        sample[3..6].iter().collect(),
    );
    // Relative: 10 hours after T0, "9h" is T0 + 1h.
    check(
        &mut store,
        FilterText {
            since: Some("9h"),
            ..Default::default()
        },
        sample[6..].iter().collect(),
    );
    check(
        &mut store,
        FilterText {
            limit: Some(2),
            ..Default::default()
        },
        sample[10..].iter().collect(),
    );
    check(
        &mut store,
        FilterText {
            client: Some("10.0.0.2"),
            min_severity: Some("low"),
            domain: Some("notevil.com"),
            ..Default::default()
        },
        vec![&sample[1], &sample[7]],
    );

    // Retention by age counts back from the newest alert (110 minutes): 60 minutes keeps
    // the alerts at 50 minutes and later.
    let removed = store
        .apply_retention(&Retention {
            max_age: Some(60 * MINUTE),
            ..Default::default()
        })
        .expect("retention");
    assert_eq!(removed.by_age, 5);
    assert_eq!(store.query(&Filter::default()).expect("query"), sample[5..]);
    // By count: the oldest go first.
    let removed = store
        .apply_retention(&Retention {
            max_alerts: Some(3),
            ..Default::default()
        })
        .expect("retention");
    assert_eq!((removed.by_age, removed.by_count), (0, 4));
    assert_eq!(store.query(&Filter::default()).expect("query"), sample[9..]);
    // Nothing more to remove.
    let removed = store
        .apply_retention(&Retention {
            max_age: Some(60 * MINUTE),
            max_alerts: Some(3),
            max_bytes: None,
        })
        .expect("retention");
    assert_eq!(removed, Default::default());
}
