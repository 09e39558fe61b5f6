//! The `alert_store` sink driven by hand: each epoch's alerts stored at its end, a replay
//! stored once, a checkpoint only after they are durable, and a store that cannot be opened
//! failing the sink with every alert set aside and counted.

use std::borrow::Cow;
use std::time::Duration;

use antimony_components::Tuple;
use antimony_components::store_sink::{FAILED, STORED, StoreSink};
use antimony_core::{Bolt, Context, Emitter};
use antimony_detect::{Alert, Severity};
use antimony_store::{Filter, Location, Retention, Store};

fn alert(i: i64) -> Tuple {
    let client = "10.0.0.1".parse().ok();
    let domain = format!("n{i}.evil.com");
    let ts = 1_502_528_400_000_000 + i * 1_000_000;
    Tuple::Alert(Box::new(Alert {
        id: Some(Alert::stable_id(
            "threat_intel",
            client,
            &domain,
            ts,
            3_600_000_000,
        )),
        ts,
        detector: Cow::Borrowed("threat_intel"),
        severity: Severity::High,
        score: 90,
        registered_domain: "evil.com".into(),
        domain,
        client,
        reason: "listed".into(),
        evidence: Vec::new(),
    }))
}

/// Feeds `alerts` to `sink` as one epoch; the dead letters and the failure it reported.
fn epoch(sink: &mut StoreSink, alerts: impl Iterator<Item = Tuple>) -> (usize, Option<String>) {
    let (mut out, mut dead) = (Vec::new(), Vec::new());
    let mut emitter = Emitter::new(&mut out, &mut dead, "store");
    for mut a in alerts {
        sink.process(&mut a, &mut emitter);
    }
    sink.on_epoch_end(1, &mut emitter);
    let failure = emitter.take_failure();
    (dead.len(), failure)
}

#[test]
fn epochs_are_stored_once_and_durable_before_a_checkpoint() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let location = Location::Sqlite(dir.path().join("alerts.db"));
    let retention = Retention {
        max_alerts: Some(15),
        ..Default::default()
    };
    let ctx = Context::new("store", 0, 1);
    let mut sink = StoreSink::new(location.clone(), retention, Duration::ZERO);
    sink.on_start(&ctx);
    assert_eq!(epoch(&mut sink, (0..10).map(alert)), (0, None));
    // A replay of the same alerts and ten new ones: only the new are stored, and retention
    // (every epoch here) keeps the newest 15.
    assert_eq!(epoch(&mut sink, (0..20).map(alert)), (0, None));
    assert!(sink.snapshot().expect("a checkpoint").is_none());
    let mut reader = Store::open_existing(&location).expect("the store");
    assert_eq!(reader.count(&Filter::default()).expect("count"), 15);
    assert_eq!(ctx.metrics.total(STORED.name, &[]), 20);
}

#[test]
fn a_store_that_cannot_open_fails_with_every_alert_set_aside() {
    let dir = tempfile::tempdir().expect("a temp dir");
    // A directory where the file should be.
    let location = Location::Sqlite(dir.path().to_path_buf());
    let ctx = Context::new("store", 0, 1);
    let mut sink = StoreSink::new(location, Retention::default(), Duration::from_secs(60));
    sink.on_start(&ctx);
    let (dead, failure) = epoch(&mut sink, (0..4).map(alert));
    assert_eq!(dead, 4);
    assert!(failure.is_some_and(|f| f.contains("alert store")));
    assert!(sink.snapshot().is_err(), "no checkpoint without the alerts");
    assert_eq!(ctx.metrics.total(FAILED.name, &[]), 4);
}
