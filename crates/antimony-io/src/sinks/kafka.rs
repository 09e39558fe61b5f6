//! The `alert_kafka` sink: each record's JSON line produced to a Kafka topic, keyed by the
//! record's stable id.
//!
//! **Guarantee: at least once, keyed for deduplication.** The producer is idempotent (no
//! duplicate from its own retries, order kept per partition). A checkpoint waits for every
//! line produced so far to be acknowledged by the brokers ([`Bolt::snapshot`] flushes and
//! reads the delivery reports), so a checkpoint covers only delivered lines. After a crash
//! the run replays from that checkpoint and produces again what came after it: those lines
//! may be on the topic twice. Each alert is keyed by its id (the same on a replay), so
//! consumers drop a key already seen, or read the topic compacted. (Kafka transactions
//! would make the replay invisible to `read_committed` consumers; they are left out.)
//!
//! Like the JSON-lines sink, it runs as one instance (global grouping), sorts each epoch's
//! lines (the same input gives the same order on the topic), and when the brokers refuse
//! the lines it fails the run ([`Emitter::fail`]): what it could not deliver is set aside
//! and counted, never dropped without a word.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use antimony_core::metrics::Counter;
use antimony_core::{Bolt, Context, Emitter, Feed, Record, State};
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};
use serde::Deserialize;

use crate::sinks::MessageId;
use crate::sinks::json_lines::{JsonLine, LINES_FAILED, LINES_WRITTEN};
use crate::sources::kafka::{
    KAFKA_ERRORS, KafkaConfigError, check_brokers, check_properties, check_topic,
};

/// Options of the `alert_kafka` sink.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// Brokers to bootstrap from: `host:port`, several separated by commas.
    pub brokers: String,
    /// The topic to produce to (it must exist, or the brokers create it).
    pub topic: String,
    /// How long a line may wait for the brokers' acknowledgement, in milliseconds: past it,
    /// the line is not delivered and the run fails. Also the longest a checkpoint waits.
    /// Default 30,000.
    #[serde(default = "default_delivery_timeout_ms")]
    pub delivery_timeout_ms: u64,
    /// Further librdkafka properties, passed as they are (`"compression.type" = "zstd"`
    /// needs a build with zstd; `"linger.ms" = "20"`); those the sink sets itself are
    /// refused.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_delivery_timeout_ms() -> u64 {
    30_000
}

/// Properties the sink sets itself: the guarantee depends on them.
const SINK_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "transactional.id",
];

/// Bytes of lines the producer holds waiting for the brokers at most, in KiB (librdkafka's
/// default is 1 GiB): past it the sink waits, which slows the run (backpressure).
const QUEUE_KBYTES: &str = "65536";

/// Undelivered lines kept to be set aside one by one; beyond, they are only counted.
const MAX_LOST_KEPT: usize = 1024;

impl KafkaSinkConfig {
    /// A configuration producing to `topic` on `brokers`, with the defaults.
    pub fn new(brokers: &str, topic: &str) -> Self {
        KafkaSinkConfig {
            brokers: brokers.to_owned(),
            topic: topic.to_owned(),
            delivery_timeout_ms: default_delivery_timeout_ms(),
            properties: BTreeMap::new(),
        }
    }

    /// Refuses options the sink could not run with, naming the option.
    pub fn check(&self) -> Result<(), KafkaConfigError> {
        check_brokers(&self.brokers)?;
        check_topic(&self.topic)?;
        // librdkafka takes message.timeout.ms up to 2^31 - 1.
        if self.delivery_timeout_ms == 0 || self.delivery_timeout_ms > i32::MAX as u64 {
            return Err(KafkaConfigError {
                option: "delivery_timeout_ms",
                reason: format!("must be from 1 to {}", i32::MAX),
            });
        }
        check_properties(&self.properties, SINK_PROPERTIES)
    }
}

/// What the delivery reports said, read by the sink after each poll of the producer.
#[derive(Default)]
struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
    /// The first reason a line was not delivered.
    first_error: Mutex<Option<String>>,
    /// Lines not delivered, with the reason, to set aside (bounded).
    lost: Mutex<Vec<(String, String)>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, message)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let reason = format!("Kafka did not take the line: {error}");
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| reason.clone());
                }
                if let Ok(mut lost) = self.lost.lock()
                    && lost.len() < MAX_LOST_KEPT
                {
                    let line = String::from_utf8_lossy(message.payload().unwrap_or_default());
                    lost.push((reason, line.into_owned()));
                }
            }
        }
    }
}

/// Produces each record's JSON line to a Kafka topic, keyed by its [`MessageId`].
pub struct KafkaSink {
    config: KafkaSinkConfig,
    producer: Option<BaseProducer<Deliveries>>,
    /// This epoch's lines, back to back: `(key start, line start, line end)` into the text
    /// (the key is written just before its line).
    epoch_text: String,
    epoch_lines: Vec<(usize, usize, usize)>,
    written: Counter,
    failed: Counter,
    errors: Counter,
    delivered_seen: u64,
    failed_seen: u64,
    failure: Option<String>,
    unreported: Option<String>,
    feed: Option<Feed>,
    kind: Option<(&'static str, bool)>,
}

impl KafkaSink {
    /// A sink with these options (checked when the topology is read).
    pub fn new(config: &KafkaSinkConfig) -> Self {
        KafkaSink {
            config: config.clone(),
            producer: None,
            epoch_text: String::new(),
            epoch_lines: Vec::new(),
            written: Counter::default(),
            failed: Counter::default(),
            errors: Counter::default(),
            delivered_seen: 0,
            failed_seen: 0,
            failure: None,
            unreported: None,
            feed: None,
            kind: None,
        }
    }

    fn connect(&self) -> Result<BaseProducer<Deliveries>, KafkaError> {
        let mut client = ClientConfig::new();
        if !self
            .config
            .properties
            .contains_key("queue.buffering.max.kbytes")
        {
            client.set("queue.buffering.max.kbytes", QUEUE_KBYTES);
        }
        for (key, value) in &self.config.properties {
            client.set(key, value);
        }
        client
            .set("bootstrap.servers", &self.config.brokers)
            // No duplicate from the producer's own retries, order kept per partition
            // (implies acks=all).
            .set("enable.idempotence", "true")
            .set(
                "message.timeout.ms",
                self.config.delivery_timeout_ms.to_string(),
            )
            .create_with_context(Deliveries::default())
    }

    fn fail(&mut self, reason: String) {
        if self.failure.is_none() {
            self.unreported = Some(reason.clone());
            self.failure = Some(reason);
        }
    }

    /// Serves the delivery reports waiting; counts what they said.
    fn serve(&mut self, wait: Duration) {
        let Some(producer) = self.producer.as_ref() else {
            return;
        };
        producer.poll(wait);
        let deliveries = producer.context();
        let delivered = deliveries.delivered.load(Ordering::Relaxed);
        let failed = deliveries.failed.load(Ordering::Relaxed);
        self.written.add(delivered - self.delivered_seen);
        self.delivered_seen = delivered;
        if failed > self.failed_seen {
            self.failed.add(failed - self.failed_seen);
            self.errors.add(failed - self.failed_seen);
            self.failed_seen = failed;
            let reason = deliveries
                .first_error
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .unwrap_or_default();
            self.fail(format!(
                "cannot deliver to Kafka topic `{}` ({}): {reason}",
                self.config.topic, self.config.brokers
            ));
        }
    }

    /// Sets aside the lines the brokers refused, and says the failure once.
    fn report(&mut self, out: &mut Emitter<'_, impl Record>) {
        if let Some(producer) = self.producer.as_ref()
            && let Ok(mut lost) = producer.context().lost.lock()
        {
            for (reason, line) in lost.drain(..) {
                out.dead_letter(None, reason, line);
            }
        }
        if let Some(reason) = self.unreported.take() {
            out.fail(reason);
        }
    }

    /// Produces one line, waiting while the producer's queue is full (backpressure), up to
    /// the delivery timeout.
    fn send(&self, key: Option<&str>, line: &str) -> Result<(), String> {
        let Some(producer) = self.producer.as_ref() else {
            return Err(self.failure.clone().unwrap_or_default());
        };
        let deadline = Instant::now() + Duration::from_millis(self.config.delivery_timeout_ms);
        let mut record = BaseRecord::to(&self.config.topic).payload(line);
        if let Some(key) = key {
            record = record.key(key);
        }
        loop {
            match producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < deadline =>
                {
                    record = back;
                    producer.poll(Duration::from_millis(50));
                }
                Err((error, _)) => {
                    return Err(format!(
                        "cannot produce to Kafka topic `{}` ({}): {error}",
                        self.config.topic, self.config.brokers
                    ));
                }
            }
        }
    }
}

impl<R: Record + JsonLine + MessageId> Bolt<R> for KafkaSink {
    fn on_start(&mut self, ctx: &Context) {
        self.feed = Some(ctx.feed.clone());
        self.written = ctx.counter(&LINES_WRITTEN, &[]);
        self.failed = ctx.counter(&LINES_FAILED, &[]);
        self.errors = ctx.counter(&KAFKA_ERRORS, &[]);
        // One producer: the sink's input is read with global grouping, so only worker 0
        // has lines to produce.
        if ctx.worker != 0 {
            return;
        }
        match self.connect() {
            Ok(producer) => self.producer = Some(producer),
            Err(error) => self.fail(format!(
                "cannot make a Kafka producer for {}: {error}",
                self.config.brokers
            )),
        }
    }

    fn process(&mut self, record: &mut R, _out: &mut Emitter<'_, R>) {
        if self.kind.is_none() {
            let kind = record.kind();
            self.kind = Some((kind, self.feed.as_ref().is_some_and(|f| f.claim(kind))));
        }
        let key_start = self.epoch_text.len();
        // The key: the record's id, or none.
        if !record.write_message_id(&mut self.epoch_text) {
            self.epoch_text.truncate(key_start);
        }
        let line_start = self.epoch_text.len();
        if record.write_json_line(&mut self.epoch_text) {
            self.epoch_lines
                .push((key_start, line_start, self.epoch_text.len()));
        } else {
            self.epoch_text.truncate(key_start);
        }
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, R>) {
        let text = std::mem::take(&mut self.epoch_text);
        let mut lines = std::mem::take(&mut self.epoch_lines);
        lines.sort_unstable_by(|a, b| text[a.1..a.2].cmp(&text[b.1..b.2]));
        let mut failed = 0;
        for &(key_start, line_start, end) in &lines {
            let key = (key_start < line_start).then(|| &text[key_start..line_start]);
            let line = &text[line_start..end];
            if self.failure.is_none()
                && let Err(reason) = self.send(key, line)
            {
                self.fail(reason);
            }
            if let Some(reason) = &self.failure {
                failed += 1;
                out.dead_letter(None, reason.clone(), line);
            }
        }
        self.failed.add(failed);
        self.serve(Duration::ZERO);
        if let (Some((kind, true)), Some(feed), None) = (self.kind, &self.feed, &self.failure) {
            feed.push(kind, lines.iter().map(|&(_, start, end)| &text[start..end]));
        }
        self.report(out);
        self.epoch_text = text;
        self.epoch_text.clear();
        self.epoch_lines = lines;
        self.epoch_lines.clear();
    }

    /// Waits until every line produced so far is acknowledged, so the checkpoint covers
    /// only delivered lines. Keeps no state: what comes after the checkpoint is produced
    /// again on a replay (at least once).
    fn snapshot(&mut self) -> Result<Option<State>, String> {
        if let Some(producer) = self.producer.as_ref()
            && let Err(error) =
                producer.flush(Duration::from_millis(self.config.delivery_timeout_ms))
        {
            self.fail(format!(
                "Kafka topic `{}` ({}) did not acknowledge every alert within {} ms (delivery_timeout_ms): {error}",
                self.config.topic, self.config.brokers, self.config.delivery_timeout_ms
            ));
        }
        self.serve(Duration::ZERO);
        match &self.failure {
            Some(reason) => Err(reason.clone()),
            None => Ok(None),
        }
    }

    fn on_close(&mut self, out: &mut Emitter<'_, R>) {
        if Bolt::<R>::snapshot(self).is_err()
            && let Some(producer) = self.producer.as_ref()
        {
            // What the brokers have not acknowledged by now never will be: purged, its
            // delivery reports (failed) served, so each line is set aside below.
            producer.purge(PurgeConfig::default().queue().inflight());
            self.serve(Duration::from_millis(100));
        }
        self.report(out);
        self.producer = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(change: impl FnOnce(&mut KafkaSinkConfig)) -> &'static str {
        let mut config = KafkaSinkConfig::new("127.0.0.1:9092", "alerts");
        change(&mut config);
        config.check().err().map_or("accepted", |e| e.option)
    }

    #[test]
    fn bad_options_are_refused_by_name() {
        assert_eq!(refused(|_| {}), "accepted");
        assert_eq!(refused(|c| c.brokers = String::new()), "brokers");
        assert_eq!(refused(|c| c.topic = "alerts/high".into()), "topic");
        assert_eq!(
            refused(|c| c.delivery_timeout_ms = 0),
            "delivery_timeout_ms"
        );
        assert_eq!(
            refused(|c| c.delivery_timeout_ms = 1 << 40),
            "delivery_timeout_ms"
        );
        for key in ["enable.idempotence", "acks", "transactional.id"] {
            assert_eq!(
                refused(|c| {
                    c.properties.insert(key.into(), "x".into());
                }),
                "properties",
                "{key}"
            );
        }
        assert_eq!(
            refused(|c| {
                c.properties.insert("linger.ms".into(), "20".into());
            }),
            "accepted"
        );
    }
}
