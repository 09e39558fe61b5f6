//! `dns_detect`'s list reload driven by hand: the shared detectors, their watcher on the I/O
//! runtime, and [`reload_lists_now`] in place of waiting for `reload_secs`.
//!
//! Every watcher of this test process answers `reload_lists_now`, so a test may see reloads
//! another test asked for: the assertions hold whatever the number of reloads of unchanged
//! files (they add and remove nothing).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use antimony_components::detect::shared::{
    LIST_ENTRIES_ADDED, LIST_ENTRIES_REMOVED, LIST_RELOADS, LIST_RELOADS_REFUSED,
};
use antimony_components::detect::{DetectBoltConfig, SharedDetectors, build, reload_lists_now};
use antimony_core::Context;
use antimony_detect::config::ListConfig;

/// Detectors over one list file `feed.txt` in `dir`, watched, with their context.
fn watched(dir: &Path, reload_secs: u64) -> (Arc<SharedDetectors>, Context) {
    let config = DetectBoltConfig {
        blocklists: vec![ListConfig::new("feed", "feed.txt")],
        reload_secs,
        ..DetectBoltConfig::default()
    };
    let shared = build(&config, dir).expect("detectors");
    let ctx = Context::new("detect", 0, 1);
    shared.watch(&ctx);
    (shared, ctx)
}

fn listed(shared: &SharedDetectors, name: &str) -> bool {
    shared.detectors().threat_intel().load().contains(name)
}

fn count(ctx: &Context, metric: &str) -> u64 {
    ctx.metrics.total(metric, &[])
}

/// Waits (a few seconds at most) until `done` holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A changed list takes effect at once on request, whether the files are polled rarely or not
/// at all (`reload_secs = 0`).
#[test]
fn reload_now_takes_a_changed_list_without_waiting_for_the_period() {
    for reload_secs in [3600, 0] {
        let dir = tempfile::tempdir().expect("tempdir");
        let list = dir.path().join("feed.txt");
        std::fs::write(&list, "known-bad.example\n").expect("list");
        let (shared, ctx) = watched(dir.path(), reload_secs);
        std::fs::write(&list, "known-bad.example\nfresh-threat.example\n").expect("list");
        assert!(reload_lists_now() >= 1, "no watcher answered");
        wait_until("the fresh entry is listed", || {
            listed(&shared, "fresh-threat.example")
        });
        assert!(listed(&shared, "known-bad.example"));
        assert!(count(&ctx, LIST_RELOADS.name) >= 1);
        assert_eq!(count(&ctx, LIST_ENTRIES_ADDED.name), 1, "{reload_secs}");
    }
}

/// Regression ("Never blind without a word"): a list truncated to empty was swapped in, and
/// every hit on it stopped without a warning. Now an emptied or much-shrunk list is refused
/// and counted, the lists in force stay, and a grown list is taken with its entries counted.
#[test]
fn an_emptied_or_shrunk_list_is_refused_and_a_grown_one_taken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("feed.txt");
    std::fs::write(&list, "a.example\nb.example\nc.example\nd.example\n").expect("list");
    let (shared, ctx) = watched(dir.path(), 0);

    std::fs::write(&list, "").expect("truncate");
    reload_lists_now();
    wait_until("the emptied list is refused", || {
        count(&ctx, LIST_RELOADS_REFUSED.name) >= 1
    });
    assert!(listed(&shared, "a.example"), "the emptied list was taken");

    // One entry of four left: below the default ratio of one half.
    std::fs::write(&list, "a.example\n").expect("shrink");
    let refused = count(&ctx, LIST_RELOADS_REFUSED.name);
    reload_lists_now();
    wait_until("the shrunk list is refused", || {
        count(&ctx, LIST_RELOADS_REFUSED.name) > refused
    });
    assert!(listed(&shared, "d.example"), "the shrunk list was taken");
    assert_eq!(count(&ctx, LIST_ENTRIES_REMOVED.name), 0);

    // Two of four removed, three added: half kept, so taken.
    std::fs::write(
        &list,
        "a.example\nb.example\ne.example\nf.example\ng.example\n",
    )
    .expect("grow");
    reload_lists_now();
    wait_until("the grown list is taken", || listed(&shared, "g.example"));
    assert!(!listed(&shared, "d.example"));
    assert_eq!(count(&ctx, LIST_ENTRIES_ADDED.name), 3);
    assert_eq!(count(&ctx, LIST_ENTRIES_REMOVED.name), 2);
}

/// `reload_min_ratio = 0` is the explicit way to take lists that shrink, even to nothing.
#[test]
fn a_ratio_of_zero_takes_an_emptied_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("feed.txt");
    std::fs::write(&list, "a.example\n").expect("list");
    let config = DetectBoltConfig {
        blocklists: vec![ListConfig::new("feed", "feed.txt")],
        reload_secs: 0,
        reload_min_ratio: 0.0,
        ..DetectBoltConfig::default()
    };
    let shared = build(&config, dir.path()).expect("detectors");
    shared.watch(&Context::new("detect", 0, 1));
    std::fs::write(&list, "").expect("truncate");
    reload_lists_now();
    wait_until("the emptied list is taken", || {
        !listed(&shared, "a.example")
    });
}

#[test]
fn the_ratio_must_be_a_share() {
    for ratio in [-0.1, 1.5, f64::NAN] {
        let config = DetectBoltConfig {
            reload_min_ratio: ratio,
            ..DetectBoltConfig::default()
        };
        let error = config.validate().expect_err("out of range");
        assert!(
            error.to_string().starts_with("option `reload_min_ratio`: "),
            "{error}"
        );
    }
}
