//! The series every source keeps in the run's metrics registry: bytes read, bytes expected
//! (for a progress display), whether it has a known end, and messages taken.

use antimony_core::Context;
use antimony_core::metrics::{Counter, CounterMetric, Gauge, GaugeMetric};

/// Bytes a source read.
pub const BYTES_READ: CounterMetric = CounterMetric::new(
    "antimony_source_bytes_read_total",
    "Bytes a source read (files as stored, compressed or not; standard input, sockets).",
);
/// Bytes the files a source will read hold, when known.
pub const BYTES_EXPECTED: GaugeMetric = GaugeMetric::new(
    "antimony_source_bytes_expected",
    "Bytes the files a source reads hold, when known (0 for standard input, followed files and sockets).",
);
/// 1 for a source with no known end.
pub const UNBOUNDED: GaugeMetric = GaugeMetric::new(
    "antimony_source_unbounded",
    "1 when a source has no known end (standard input, a followed file, a socket), else 0.",
);
/// Messages or frames a receiver took.
pub const MESSAGES: CounterMetric = CounterMetric::new(
    "antimony_source_messages_total",
    "Syslog messages or Frame Streams data frames a receiver took.",
);
/// Connections a receiver accepted.
pub const CONNECTIONS: CounterMetric = CounterMetric::new(
    "antimony_source_connections_total",
    "Connections a receiver accepted.",
);

/// One source instance's series; clones share them, so the tasks that read can count.
#[derive(Clone, Debug)]
pub(crate) struct Meters {
    read: Counter,
    expected: Gauge,
    unbounded: Gauge,
    /// Receivers only.
    messages: Option<Counter>,
    connections: Option<Counter>,
}

impl Meters {
    /// A file reader's series.
    pub(crate) fn register(ctx: &Context) -> Self {
        Meters {
            read: ctx.counter(&BYTES_READ, &[]),
            expected: ctx.gauge(&BYTES_EXPECTED, &[]),
            unbounded: ctx.gauge(&UNBOUNDED, &[]),
            messages: None,
            connections: None,
        }
    }

    /// A receiver's series: a file reader's, and messages and connections.
    pub(crate) fn register_receiver(ctx: &Context) -> Self {
        Meters {
            messages: Some(ctx.counter(&MESSAGES, &[])),
            connections: Some(ctx.counter(&CONNECTIONS, &[])),
            ..Self::register(ctx)
        }
    }

    pub(crate) fn read(&self, bytes: u64) {
        self.read.add(bytes);
    }

    pub(crate) fn expect(&self, bytes: u64) {
        self.expected.add(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    pub(crate) fn unbounded(&self) {
        self.unbounded.set(1);
    }

    pub(crate) fn message(&self) {
        if let Some(messages) = &self.messages {
            messages.inc();
        }
    }

    pub(crate) fn connection(&self) {
        if let Some(connections) = &self.connections {
            connections.inc();
        }
    }
}
