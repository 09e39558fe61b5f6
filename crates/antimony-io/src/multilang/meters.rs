//! The series a multilang component keeps.

use antimony_core::Context;
use antimony_core::metrics::{Counter, CounterMetric};

/// Tuples a subprocess acknowledged.
pub const ACKED: CounterMetric = CounterMetric::new(
    "antimony_multilang_acks_total",
    "Tuples a multilang subprocess acknowledged (a bolt's inputs, a spout's emits processed downstream).",
);
/// Tuples a subprocess failed.
pub const FAILED: CounterMetric = CounterMetric::new(
    "antimony_multilang_fails_total",
    "Tuples a multilang bolt failed: set aside with its last error.",
);
/// Subprocesses restarted.
pub const RESTARTS: CounterMetric = CounterMetric::new(
    "antimony_multilang_restarts_total",
    "Multilang subprocesses killed or lost and started again (hung, garbage, exited, or could not start).",
);
/// Heartbeat timeouts.
pub const TIMEOUTS: CounterMetric = CounterMetric::new(
    "antimony_multilang_timeouts_total",
    "Multilang subprocesses taken as hung: no word within heartbeat_timeout_secs.",
);
/// Garbage read.
pub const GARBAGE: CounterMetric = CounterMetric::new(
    "antimony_multilang_garbage_total",
    "Output of a multilang subprocess that is no message (not JSON, too long, unknown command).",
);
/// Unexpected exits.
pub const EXITS: CounterMetric = CounterMetric::new(
    "antimony_multilang_exits_total",
    "Multilang subprocesses that ended or could not start.",
);
/// Tuples sent again to a new process.
pub const REPLAYED: CounterMetric = CounterMetric::new(
    "antimony_multilang_replays_total",
    "Tuples sent again to a restarted multilang subprocess because the last one did not acknowledge them.",
);
/// `error` commands.
pub const ERRORS: CounterMetric = CounterMetric::new(
    "antimony_multilang_errors_total",
    "Errors a multilang subprocess reported (the error command: a traceback).",
);

/// One instance's counters.
#[derive(Clone)]
pub(crate) struct Meters {
    pub acked: Counter,
    pub failed: Counter,
    pub restarts: Counter,
    pub timeouts: Counter,
    pub garbage: Counter,
    pub exits: Counter,
    pub replayed: Counter,
    pub errors: Counter,
}

impl Meters {
    pub(crate) fn register(ctx: &Context) -> Self {
        Meters {
            acked: ctx.counter(&ACKED, &[]),
            failed: ctx.counter(&FAILED, &[]),
            restarts: ctx.counter(&RESTARTS, &[]),
            timeouts: ctx.counter(&TIMEOUTS, &[]),
            garbage: ctx.counter(&GARBAGE, &[]),
            exits: ctx.counter(&EXITS, &[]),
            replayed: ctx.counter(&REPLAYED, &[]),
            errors: ctx.counter(&ERRORS, &[]),
        }
    }

    /// Counters of a component never started (unit tests that drive one by hand).
    pub(crate) fn detached() -> Self {
        Self::register(&Context::new("multilang", 0, 1))
    }
}
