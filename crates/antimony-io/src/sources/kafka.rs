//! The `kafka` spout: lines of DNS logs read from a Kafka topic, resumable from a checkpoint.
//!
//! Each message's payload is one or more lines (a trailing line feed or not); the lines go
//! downstream as [`TextChunk`]s, one source per partition (`kafka://TOPIC/PARTITION`), for
//! `dns_parse` to read as it reads a file. A line's number is its message's offset (plus its
//! index in a message of several lines), so a dead letter names the message to look at.
//!
//! **Durability.** Auto-commit is off. The spout's position is the next offset of each
//! partition it has read from ([`KafkaPosition`], a few bytes); a resumed spout is assigned
//! its partitions at those offsets, and the offsets go to the consumer group only once a
//! checkpoint holding them is durable ([`Spout::committed`]). So a crash replays from the
//! last checkpoint: nothing is lost, and what comes again is what the checkpoint did not
//! cover. Without a checkpoint, the spout starts at the group's committed offsets (else at
//! `start`).
//!
//! **Why rdkafka.** librdkafka is the Kafka client the other stream processors' Rust
//! bindings use, with explicit assignment, manual commits and the idempotent producer the
//! sink needs; no pure-Rust client had all three. It fetches on threads of its own into a
//! bounded queue (`queued.max.messages.kbytes`), so the spout polls it without waiting, on
//! the worker, with no Tokio task between.
//!
//! **Ending.** A topic has no end: the spout runs until the run is stopped, or, with
//! `idle_finish_ms`, until no message has come for that long (a replay of a topic ends).

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use antimony_core::metrics::{Counter, CounterMetric};
use antimony_core::{Context, Emitter, Record, Spout, SpoutError, SpoutStatus};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;

use crate::chunk::TextChunk;
use crate::meters::Meters;

/// Errors the Kafka client reported.
pub const KAFKA_ERRORS: CounterMetric = CounterMetric::new(
    "antimony_kafka_errors_total",
    "Errors the Kafka client reported to a spout or sink (a broker unreachable, a commit or a delivery refused).",
);

/// Where a partition with no committed offset in the group starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Start {
    /// At its oldest message (the default: a new group reads what the topic holds).
    #[default]
    Earliest,
    /// After its newest message (only what comes from now on).
    Latest,
}

/// Options of the `kafka` spout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Brokers to bootstrap from: `host:port`, several separated by commas.
    pub brokers: String,
    /// The topic to read.
    pub topic: String,
    /// The consumer group whose committed offsets say where to start without a checkpoint,
    /// and to which offsets are committed at each checkpoint.
    pub group: String,
    /// The partitions to read; default every partition of the topic. Partitions are
    /// assigned, not balanced by the group: two spouts of a group must list disjoint ones.
    #[serde(default)]
    pub partitions: Option<Vec<i32>>,
    /// Where a partition without a committed offset starts: `earliest` (default) or `latest`.
    #[serde(default)]
    pub start: Start,
    /// Bytes of lines gathered into one chunk at most (one epoch). Default 64 KiB.
    #[serde(default = "default_chunk_bytes")]
    pub chunk_bytes: usize,
    /// Messages longer than this are set aside whole. Default 1 MiB.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Lines longer than this are set aside. Default 64 KiB.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// Finish when no message has come for this many milliseconds (a replay ends); default:
    /// never, the run lasts until it is stopped.
    #[serde(default)]
    pub idle_finish_ms: Option<u64>,
    /// How long to wait for the brokers when opening (the topic's partitions) and for the
    /// last commit when closing, in milliseconds. Default 10,000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Further librdkafka properties, passed as they are (`"fetch.wait.max.ms" = "100"`);
    /// those the spout sets itself are refused.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_chunk_bytes() -> usize {
    64 * 1024
}

fn default_max_message_bytes() -> usize {
    1024 * 1024
}

fn default_max_line_bytes() -> usize {
    antimony_core::limits::MAX_LINE_BYTES
}

fn default_timeout_ms() -> u64 {
    10_000
}

/// Properties the spout sets itself: durability depends on them.
const SPOUT_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
];

/// The messages librdkafka fetches ahead, in KiB: with one poll's chunks, what bounds the
/// spout's memory (librdkafka's default, 64 MiB, is more than a spout needs to keep busy).
const QUEUED_KBYTES: &str = "16384";

/// Messages taken in one poll at most, so a poll of tiny messages ends.
const MAX_MESSAGES_PER_POLL: usize = 8192;

/// How much of a refused message a dead letter shows.
const HEAD: usize = 200;

/// An option of the Kafka spout or sink that cannot be used: which one, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("option `{option}`: {reason}")]
pub struct KafkaConfigError {
    /// The option as a topology file names it.
    pub option: &'static str,
    /// What is wrong, and what to write instead.
    pub reason: String,
}

impl KafkaConfigError {
    fn new(option: &'static str, reason: impl Into<String>) -> Self {
        KafkaConfigError {
            option,
            reason: reason.into(),
        }
    }
}

/// Checks a broker list: at least one `host[:port]`, no blanks.
pub fn check_brokers(brokers: &str) -> Result<(), KafkaConfigError> {
    let bad = |why: String| KafkaConfigError::new("brokers", why);
    if brokers.trim().is_empty() {
        return Err(bad(
            "names no broker: write `host:port`, several separated by commas".into(),
        ));
    }
    for broker in brokers.split(',') {
        let broker = broker.trim();
        if broker.is_empty() || broker.contains(char::is_whitespace) {
            return Err(bad(format!(
                "`{brokers}` is not a list of `host:port` separated by commas"
            )));
        }
        if let Some((_, port)) = broker.rsplit_once(':')
            && !broker.ends_with(']')
            && port.parse::<u16>().is_err()
        {
            return Err(bad(format!("`{broker}` has no port number after `:`")));
        }
    }
    Ok(())
}

/// Checks a topic name as Kafka does: 1 to 249 of `a-z A-Z 0-9 . _ -`.
pub fn check_topic(topic: &str) -> Result<(), KafkaConfigError> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if topic.is_empty() || topic.len() > 249 || !topic.chars().all(legal) || topic == "." {
        return Err(KafkaConfigError::new(
            "topic",
            format!(
                "`{topic}` is not a Kafka topic name (1 to 249 of a-z, A-Z, 0-9, `.`, `_`, `-`)"
            ),
        ));
    }
    Ok(())
}

/// Refuses the librdkafka properties a component sets itself.
pub fn check_properties(
    properties: &BTreeMap<String, String>,
    reserved: &[&str],
) -> Result<(), KafkaConfigError> {
    match properties.keys().find(|k| reserved.contains(&k.as_str())) {
        Some(key) => Err(KafkaConfigError::new(
            "properties",
            format!(
                "sets `{key}`, which this component sets itself (it decides what is delivered or committed when); use the component's own options"
            ),
        )),
        None => Ok(()),
    }
}

impl KafkaConfig {
    /// A configuration reading `topic` from `brokers` in `group`, with the defaults.
    pub fn new(brokers: &str, topic: &str, group: &str) -> Self {
        KafkaConfig {
            brokers: brokers.to_owned(),
            topic: topic.to_owned(),
            group: group.to_owned(),
            partitions: None,
            start: Start::Earliest,
            chunk_bytes: default_chunk_bytes(),
            max_message_bytes: default_max_message_bytes(),
            max_line_bytes: default_max_line_bytes(),
            idle_finish_ms: None,
            timeout_ms: default_timeout_ms(),
            properties: BTreeMap::new(),
        }
    }

    /// Refuses options the spout could not run with, naming the option: called when the
    /// topology is read, and again when the spout opens.
    pub fn check(&self) -> Result<(), KafkaConfigError> {
        check_brokers(&self.brokers)?;
        check_topic(&self.topic)?;
        if self.group.trim().is_empty() {
            return Err(KafkaConfigError::new(
                "group",
                "is empty: name the consumer group the offsets are committed to",
            ));
        }
        if let Some(partitions) = &self.partitions {
            if partitions.is_empty() {
                return Err(KafkaConfigError::new(
                    "partitions",
                    "lists no partition (leave it out to read every partition)",
                ));
            }
            let mut seen = BTreeSet::new();
            for &p in partitions {
                if p < 0 {
                    return Err(KafkaConfigError::new(
                        "partitions",
                        format!("{p} is not a partition (they are numbered from 0)"),
                    ));
                }
                if !seen.insert(p) {
                    return Err(KafkaConfigError::new(
                        "partitions",
                        format!("lists partition {p} twice"),
                    ));
                }
            }
        }
        for (option, value) in [
            ("chunk_bytes", self.chunk_bytes),
            ("max_message_bytes", self.max_message_bytes),
            ("max_line_bytes", self.max_line_bytes),
        ] {
            if value == 0 {
                return Err(KafkaConfigError::new(option, "must be at least 1"));
            }
        }
        if self.idle_finish_ms == Some(0) {
            return Err(KafkaConfigError::new(
                "idle_finish_ms",
                "must be at least 1 (leave it out to read until the run is stopped)",
            ));
        }
        if self.timeout_ms == 0 {
            return Err(KafkaConfigError::new("timeout_ms", "must be at least 1"));
        }
        check_properties(&self.properties, SPOUT_PROPERTIES)
    }
}

/// Where the spout is in its topic: per partition read from, the offset of the next message.
///
/// Encoded compactly for checkpoints: a format byte, the topic (so a checkpoint of another
/// topic is refused rather than applied), then each partition and offset as LEB128 varints,
/// partitions increasing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KafkaPosition {
    /// The topic.
    pub topic: String,
    /// Partition to the offset of the next message to read.
    pub offsets: BTreeMap<i32, i64>,
}

/// The format byte of an encoded position.
const POSITION_FORMAT: u8 = 1;

impl KafkaPosition {
    /// The position as the spout gives it to a checkpoint.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.topic.len() + self.offsets.len() * 6);
        out.push(POSITION_FORMAT);
        put_varint(&mut out, self.topic.len() as u64);
        out.extend_from_slice(self.topic.as_bytes());
        put_varint(&mut out, self.offsets.len() as u64);
        for (&partition, &offset) in &self.offsets {
            // Both are never negative: a partition number and a real offset.
            put_varint(&mut out, u64::from(partition.unsigned_abs()));
            put_varint(&mut out, offset.unsigned_abs());
        }
        out
    }

    /// A position a checkpoint gave back; damaged or foreign bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let bad = |why: &str| format!("not a position of a kafka spout: {why}");
        let mut rest = bytes;
        match rest.split_first() {
            Some((&POSITION_FORMAT, tail)) => rest = tail,
            Some((other, _)) => return Err(bad(&format!("format {other}, expected 1"))),
            None => return Err(bad("empty")),
        }
        let len = take_varint(&mut rest).ok_or_else(|| bad("the topic's length is cut"))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= rest.len())
            .ok_or_else(|| bad("the topic is cut"))?;
        let (topic, tail) = rest.split_at(len);
        rest = tail;
        let topic = std::str::from_utf8(topic)
            .map_err(|_| bad("the topic is not UTF-8"))?
            .to_owned();
        let count = take_varint(&mut rest).ok_or_else(|| bad("the count is cut"))?;
        let mut offsets = BTreeMap::new();
        let mut last = None;
        for _ in 0..count {
            let partition = take_varint(&mut rest)
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| bad("a partition is cut or out of range"))?;
            let offset = take_varint(&mut rest)
                .and_then(|o| i64::try_from(o).ok())
                .ok_or_else(|| bad("an offset is cut or out of range"))?;
            if last.is_some_and(|l| l >= partition) {
                return Err(bad("partitions out of order"));
            }
            last = Some(partition);
            offsets.insert(partition, offset);
        }
        if !rest.is_empty() {
            return Err(bad("bytes after the last offset"));
        }
        Ok(KafkaPosition { topic, offsets })
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if shift == 63 && part > 1 {
            return None; // Over 64 bits.
        }
        value |= part << shift;
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

/// Reads a Kafka topic; emits `R::from(chunk)`, one chunk of lines per partition and poll.
pub struct KafkaSpout<R> {
    config: KafkaConfig,
    consumer: Option<BaseConsumer>,
    /// The next offset of every partition read from (or resumed at).
    next: BTreeMap<i32, i64>,
    /// The source name of each partition's chunks.
    sources: BTreeMap<i32, String>,
    /// The newest offsets committed, committed again, waiting, when the spout closes.
    last_commit: Option<TopicPartitionList>,
    idle_since: Instant,
    meters: Option<Meters>,
    errors: Counter,
    records: PhantomData<fn() -> R>,
}

impl<R> KafkaSpout<R> {
    /// A spout with these options (checked when it opens).
    pub fn new(config: &KafkaConfig) -> Self {
        KafkaSpout {
            config: config.clone(),
            consumer: None,
            next: BTreeMap::new(),
            sources: BTreeMap::new(),
            last_commit: None,
            idle_since: Instant::now(),
            meters: None,
            errors: Counter::default(),
            records: PhantomData,
        }
    }

    fn position_now(&self) -> KafkaPosition {
        KafkaPosition {
            topic: self.config.topic.clone(),
            offsets: self.next.clone(),
        }
    }

    fn connect(&self) -> Result<BaseConsumer, SpoutError> {
        let mut client = ClientConfig::new();
        for (key, value) in &self.config.properties {
            client.set(key, value);
        }
        client
            .set("bootstrap.servers", &self.config.brokers)
            .set("group.id", &self.config.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set(
                "auto.offset.reset",
                match self.config.start {
                    Start::Earliest => "earliest",
                    Start::Latest => "latest",
                },
            );
        if !self
            .config
            .properties
            .contains_key("queued.max.messages.kbytes")
        {
            client.set("queued.max.messages.kbytes", QUEUED_KBYTES);
        }
        client.create().map_err(|e| {
            SpoutError::caused_by(
                format!("cannot make a Kafka consumer for {}", self.config.brokers),
                e,
            )
        })
    }

    /// The partitions to read: those listed (each checked to exist) or every one.
    fn partitions(&self, consumer: &BaseConsumer) -> Result<Vec<i32>, SpoutError> {
        let topic = &self.config.topic;
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_millis(self.config.timeout_ms))
            .map_err(|e| {
                SpoutError::caused_by(
                    format!(
                        "cannot ask brokers `{}` about topic `{topic}` (timeout_ms: {})",
                        self.config.brokers, self.config.timeout_ms
                    ),
                    e,
                )
            })?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Err(SpoutError::new(format!(
                "brokers `{}` have no topic `{topic}`",
                self.config.brokers
            )));
        };
        if let Some(error) = found.error() {
            return Err(SpoutError::new(format!(
                "brokers `{}` cannot serve topic `{topic}`: {:?}",
                self.config.brokers,
                rdkafka::types::RDKafkaErrorCode::from(error)
            )));
        }
        let existing: BTreeSet<i32> = found.partitions().iter().map(|p| p.id()).collect();
        match &self.config.partitions {
            None if existing.is_empty() => {
                Err(SpoutError::new(format!("topic `{topic}` has no partition")))
            }
            None => Ok(existing.into_iter().collect()),
            Some(listed) => match listed.iter().find(|p| !existing.contains(p)) {
                Some(missing) => Err(SpoutError::new(format!(
                    "option `partitions`: topic `{topic}` has no partition {missing} (it has {})",
                    existing.len()
                ))),
                None => Ok(listed.clone()),
            },
        }
    }
}

/// One poll's chunks, per partition in the order read; a partition's chunk is cut where the
/// line numbers (offsets) stop following each other.
struct Batch {
    done: Vec<TextChunk>,
    open: BTreeMap<i32, TextChunk>,
}

impl Batch {
    /// Adds a message's lines, or sets it aside (too long): a line too long is set aside
    /// alone. Returns the bytes taken.
    fn add_message<R: Record>(
        &mut self,
        config: &KafkaConfig,
        source: &str,
        (partition, offset): (i32, i64),
        payload: &[u8],
        out: &mut Emitter<'_, R>,
    ) -> usize {
        let first = u64::try_from(offset).unwrap_or(0);
        if payload.len() > config.max_message_bytes {
            out.dead_letter(
                Some(format!("{source}:{first}")),
                format!(
                    "message at offset {offset} is {} bytes, over the {} byte limit (max_message_bytes); set aside",
                    payload.len(),
                    config.max_message_bytes
                ),
                String::from_utf8_lossy(&payload[..payload.len().min(HEAD)]).into_owned(),
            );
            return 0;
        }
        // A null or empty payload (a tombstone) holds no line.
        if payload.is_empty() {
            return 0;
        }
        let text = payload.strip_suffix(b"\n").unwrap_or(payload);
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let number = first + i as u64;
            if line.len() > config.max_line_bytes {
                out.dead_letter(
                    Some(format!("{source}:{number}")),
                    format!(
                        "line is {} bytes long, over the {} byte limit (max_line_bytes); skipped",
                        line.len(),
                        config.max_line_bytes
                    ),
                    String::from_utf8_lossy(&line[..line.len().min(HEAD)]).into_owned(),
                );
                continue;
            }
            self.add_line(partition, source, number, line);
        }
        payload.len()
    }

    fn add_line(&mut self, partition: i32, source: &str, number: u64, line: &[u8]) {
        let chunk = self.open.entry(partition).or_insert_with(|| TextChunk {
            source: source.to_owned(),
            first_line: number,
            ..TextChunk::default()
        });
        if !chunk.data.is_empty() && chunk.first_line + chunk.line_count() != number {
            let next = TextChunk {
                source: source.to_owned(),
                first_line: number,
                ..TextChunk::default()
            };
            self.done.push(std::mem::replace(chunk, next));
        } else if chunk.data.is_empty() {
            chunk.first_line = number;
        }
        chunk.data.extend_from_slice(line);
        chunk.data.push(b'\n');
    }
}

impl<R: Record + From<TextChunk>> Spout<R> for KafkaSpout<R> {
    fn open(&mut self, ctx: &Context) -> Result<(), SpoutError> {
        self.config
            .check()
            .map_err(|e| SpoutError::new(e.to_string()))?;
        let meters = Meters::register_receiver(ctx);
        meters.unbounded();
        self.meters = Some(meters);
        self.errors = ctx.counter(&KAFKA_ERRORS, &[]);
        let consumer = self.connect()?;
        let partitions = self.partitions(&consumer)?;
        let mut assignment = TopicPartitionList::new();
        for &partition in &partitions {
            // Resumed: where the checkpoint was. Else where the group committed (the last
            // checkpoint of an earlier run), else `start`.
            let offset = match self.next.get(&partition) {
                Some(&next) => Offset::Offset(next),
                None => Offset::Stored,
            };
            assignment
                .add_partition_offset(&self.config.topic, partition, offset)
                .map_err(|e| SpoutError::caused_by("cannot assign the partitions", e))?;
            self.sources.insert(
                partition,
                format!("kafka://{}/{partition}", self.config.topic),
            );
        }
        let dropped: Vec<i32> = self
            .next
            .keys()
            .filter(|p| !partitions.contains(p))
            .copied()
            .collect();
        if !dropped.is_empty() {
            tracing::warn!(topic = %self.config.topic, ?dropped, "the checkpoint read partitions this spout no longer reads: they are left where the group committed them");
            self.next.retain(|p, _| partitions.contains(p));
        }
        consumer
            .assign(&assignment)
            .map_err(|e| SpoutError::caused_by("cannot assign the partitions", e))?;
        tracing::info!(topic = %self.config.topic, partitions = partitions.len(), group = %self.config.group, "reading Kafka");
        self.consumer = Some(consumer);
        self.idle_since = Instant::now();
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, R>) -> SpoutStatus {
        let Some(consumer) = self.consumer.as_ref() else {
            return SpoutStatus::Finished;
        };
        let mut batch = Batch {
            done: Vec::new(),
            open: BTreeMap::new(),
        };
        let mut bytes = 0;
        let mut taken = 0;
        while bytes < self.config.chunk_bytes && taken < MAX_MESSAGES_PER_POLL {
            let message = match consumer.poll(Duration::ZERO) {
                None => break,
                Some(Err(error)) => {
                    // The client retries on its own (a broker away, a leader moving): count
                    // and say it, and let the next poll try.
                    self.errors.inc();
                    tracing::warn!(topic = %self.config.topic, %error, "Kafka consumer error");
                    break;
                }
                Some(Ok(message)) => message,
            };
            taken += 1;
            let (partition, offset) = (message.partition(), message.offset());
            self.next.insert(partition, offset + 1);
            let payload = message.payload().unwrap_or_default();
            if let Some(meters) = &self.meters {
                meters.read(payload.len() as u64);
                meters.message();
            }
            let source = self
                .sources
                .entry(partition)
                .or_insert_with(|| format!("kafka://{}/{partition}", self.config.topic));
            bytes += batch.add_message(&self.config, source, (partition, offset), payload, out);
        }
        if taken == 0 {
            if let Some(idle) = self.config.idle_finish_ms
                && self.idle_since.elapsed() >= Duration::from_millis(idle)
            {
                tracing::info!(topic = %self.config.topic, idle_ms = idle, "no Kafka message for idle_finish_ms: finished");
                return SpoutStatus::Finished;
            }
            return SpoutStatus::Idle;
        }
        self.idle_since = Instant::now();
        for chunk in batch.done.into_iter().chain(batch.open.into_values()) {
            out.emit(R::from(chunk));
        }
        SpoutStatus::Emitted
    }

    fn on_close(&mut self) {
        // The last checkpoint's offsets, committed and waited for: an asynchronous commit
        // still in flight would otherwise go with the consumer.
        if let (Some(consumer), Some(offsets)) = (self.consumer.as_ref(), self.last_commit.take())
            && let Err(error) = consumer.commit(&offsets, CommitMode::Sync)
        {
            self.errors.inc();
            tracing::warn!(topic = %self.config.topic, %error, "the last Kafka commit failed: a restart without the checkpoint directory reads again from the commit before");
        }
        self.consumer = None;
    }

    fn position(&mut self) -> Option<Vec<u8>> {
        Some(self.position_now().encode())
    }

    fn seek(&mut self, position: &[u8]) -> Result<(), SpoutError> {
        let position = KafkaPosition::decode(position).map_err(SpoutError::new)?;
        if position.topic != self.config.topic {
            return Err(SpoutError::new(format!(
                "the checkpoint was taken reading topic `{}`, not `{}`: its input changed (remove the checkpoint directory to start from the group's offsets)",
                position.topic, self.config.topic
            )));
        }
        self.next = position.offsets;
        Ok(())
    }

    fn committed(&mut self, position: &[u8]) {
        let Some(consumer) = self.consumer.as_ref() else {
            return;
        };
        let position = match KafkaPosition::decode(position) {
            Ok(position) if position.topic == self.config.topic => position,
            _ => return, // Not one this spout gave.
        };
        if position.offsets.is_empty() {
            return;
        }
        let mut offsets = TopicPartitionList::new();
        for (&partition, &next) in &position.offsets {
            if let Err(error) =
                offsets.add_partition_offset(&self.config.topic, partition, Offset::Offset(next))
            {
                self.errors.inc();
                tracing::warn!(%error, partition, "cannot commit this offset");
            }
        }
        // Asynchronous: the worker does not wait for the broker. A commit that fails is
        // counted; the next checkpoint's commit covers it.
        if let Err(error) = consumer.commit(&offsets, CommitMode::Async) {
            self.errors.inc();
            tracing::warn!(topic = %self.config.topic, %error, "Kafka commit failed");
        }
        self.last_commit = Some(offsets);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_position(offsets: &[(i32, i64)]) {
        let position = KafkaPosition {
            topic: "dns.logs".into(),
            offsets: offsets.iter().copied().collect(),
        };
        let bytes = position.encode();
        assert_eq!(
            KafkaPosition::decode(&bytes),
            Ok(position.clone()),
            "{bytes:?}"
        );
        // Every cut of it is refused, never misread.
        for cut in 0..bytes.len() {
            assert!(
                KafkaPosition::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn positions_round_trip_compactly() {
        check_position(&[]);
        check_position(&[(0, 0)]);
        check_position(&[(0, 1), (1, 127), (2, 128), (7, 1 << 40)]);
        check_position(&[(i32::MAX, i64::MAX)]);
        let small = KafkaPosition {
            topic: "dns".into(),
            offsets: [(0, 100), (1, 200), (2, 300)].into_iter().collect(),
        };
        // Format, topic length and name, count, then a byte a partition and one or two an
        // offset (100 < 128 <= 200).
        assert_eq!(small.encode().len(), 1 + 1 + 3 + 1 + (1 + 1) + 2 * (1 + 2));
    }

    #[test]
    fn damaged_positions_are_refused() {
        let good = KafkaPosition {
            topic: "t".into(),
            offsets: [(0, 5), (3, 9)].into_iter().collect(),
        }
        .encode();
        let refuse = |bytes: &[u8], why: &str| {
            let error = KafkaPosition::decode(bytes).expect_err("refused");
            assert!(error.contains(why), "{error} does not say {why}");
        };
        refuse(b"", "empty");
        refuse(b"{\"path\":\"x\"}", "format");
        let mut trailing = good.clone();
        trailing.push(0);
        refuse(&trailing, "after the last offset");
        // Partitions swapped: 3 then 0.
        refuse(&[1, 1, b't', 2, 3, 9, 0, 5], "out of order");
        // An offset over i64.
        let mut huge = vec![1, 1, b't', 1, 0];
        huge.extend_from_slice(&[0xff; 9]);
        huge.push(0x01);
        refuse(&huge, "out of range");
        // A topic length beyond the bytes.
        refuse(&[1, 200, b't'], "topic is cut");
    }

    fn config() -> KafkaConfig {
        KafkaConfig::new("127.0.0.1:9092", "dns", "antimony")
    }

    /// The option a bad configuration is refused for.
    fn refused(change: impl FnOnce(&mut KafkaConfig)) -> &'static str {
        let mut config = config();
        change(&mut config);
        match config.check() {
            Err(e) => {
                assert!(e.to_string().starts_with(&format!("option `{}`", e.option)));
                e.option
            }
            Ok(()) => "accepted",
        }
    }

    #[test]
    fn bad_options_are_refused_by_name() {
        assert_eq!(refused(|_| {}), "accepted");
        assert_eq!(
            refused(|c| c.brokers = "a:1, b:2,c".into()),
            "accepted",
            "a port may be left out"
        );
        assert_eq!(refused(|c| c.brokers = " ".into()), "brokers");
        assert_eq!(refused(|c| c.brokers = "a:1,,b:2".into()), "brokers");
        assert_eq!(refused(|c| c.brokers = "host:port".into()), "brokers");
        assert_eq!(refused(|c| c.topic = String::new()), "topic");
        assert_eq!(refused(|c| c.topic = "dns logs".into()), "topic");
        assert_eq!(refused(|c| c.topic = "x".repeat(250)), "topic");
        assert_eq!(refused(|c| c.group = String::new()), "group");
        assert_eq!(refused(|c| c.partitions = Some(vec![])), "partitions");
        assert_eq!(refused(|c| c.partitions = Some(vec![0, -1])), "partitions");
        assert_eq!(refused(|c| c.partitions = Some(vec![1, 1])), "partitions");
        assert_eq!(refused(|c| c.partitions = Some(vec![2, 0])), "accepted");
        assert_eq!(refused(|c| c.chunk_bytes = 0), "chunk_bytes");
        assert_eq!(refused(|c| c.max_message_bytes = 0), "max_message_bytes");
        assert_eq!(refused(|c| c.max_line_bytes = 0), "max_line_bytes");
        assert_eq!(refused(|c| c.idle_finish_ms = Some(0)), "idle_finish_ms");
        assert_eq!(refused(|c| c.timeout_ms = 0), "timeout_ms");
        let property = |key: &str| {
            refused(|c| {
                c.properties.insert(key.into(), "x".into());
            })
        };
        assert_eq!(property("enable.auto.commit"), "properties");
        assert_eq!(property("group.id"), "properties");
        assert_eq!(property("fetch.wait.max.ms"), "accepted");
    }

    #[test]
    fn options_read_from_a_table_refuse_unknown_keys() {
        let config: KafkaConfig = serde_json::from_str(
            r#"{"brokers":"b:9092","topic":"dns","group":"g","partitions":[0,2],"start":"latest","idle_finish_ms":500}"#,
        )
        .expect("options");
        assert_eq!(config.partitions, Some(vec![0, 2]));
        assert_eq!(config.start, Start::Latest);
        assert_eq!(config.idle_finish_ms, Some(500));
        let error = serde_json::from_str::<KafkaConfig>(
            r#"{"brokers":"b:9092","topic":"dns","group":"g","offset":"latest"}"#,
        )
        .expect_err("unknown option");
        assert!(error.to_string().contains("offset"), "{error}");
    }

    #[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
    struct Lines(Vec<(String, u64, String)>);

    impl From<TextChunk> for Lines {
        fn from(chunk: TextChunk) -> Self {
            Lines(
                chunk
                    .lines()
                    .map(|(n, l)| (chunk.source.clone(), n, String::from_utf8_lossy(l).into()))
                    .collect(),
            )
        }
    }

    impl Record for Lines {
        fn kind(&self) -> &'static str {
            "chunk"
        }
        fn key_hash(&self, _fields: &[usize]) -> u64 {
            0
        }
        fn describe(&self) -> String {
            format!("{self:?}")
        }
    }

    #[test]
    fn hostile_messages_and_lines_are_set_aside_with_their_offset() {
        let config = KafkaConfig {
            max_message_bytes: 40,
            max_line_bytes: 10,
            ..config()
        };
        let mut batch = Batch {
            done: Vec::new(),
            open: BTreeMap::new(),
        };
        let mut records: Vec<Lines> = Vec::new();
        let mut dead = Vec::new();
        let mut out = Emitter::new(&mut records, &mut dead, "kafka");
        let messages: &[&[u8]] = &[
            b"one\n",
            b"two\r\nthree",
            b"",
            &[b'x'; 41],
            b"a line too long\nfour\n",
            b"\xff\x00 bytes\n",
        ];
        let mut taken = 0;
        for (offset, payload) in messages.iter().enumerate() {
            taken += batch.add_message(&config, "k/0", (0, offset as i64 + 10), payload, &mut out);
        }
        assert_eq!(
            taken,
            4 + 10 + 21 + 9,
            "what was taken, not what was set aside"
        );
        let lines: Vec<(String, u64, String)> = batch
            .done
            .into_iter()
            .chain(batch.open.into_values())
            .flat_map(|c| Lines::from(c).0)
            .map(|(_, n, l)| ("k/0".to_owned(), n, l))
            .collect();
        let expected = [
            (10, "one"),
            (11, "two"),
            (12, "three"),
            (15, "four"),
            (15, "\u{fffd}\0 bytes"),
        ];
        // The line after the long one is numbered by its message's offset and index (14 + 1);
        // the next message starts at 15 too, in a chunk of its own.
        let expected: Vec<(String, u64, String)> = expected
            .iter()
            .map(|&(n, l)| ("k/0".to_owned(), n, l.to_owned()))
            .collect();
        assert_eq!(lines, expected);
        let located: Vec<(Option<&str>, &str)> = dead
            .iter()
            .map(|d| {
                (
                    d.location.as_deref(),
                    d.reason.split(',').next().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(located.len(), 2, "{dead:?}");
        assert_eq!(located[0].0, Some("k/0:13"));
        assert!(dead[0].reason.contains("max_message_bytes"), "{dead:?}");
        assert_eq!(located[1].0, Some("k/0:14"));
        assert!(dead[1].reason.contains("max_line_bytes"), "{dead:?}");
    }

    #[test]
    fn chunks_are_cut_where_offsets_stop_following() {
        let mut batch = Batch {
            done: Vec::new(),
            open: BTreeMap::new(),
        };
        // Offsets 5 and 6, one line each; offset 7 holds two lines; offset 9 after a gap.
        batch.add_line(0, "k/0", 5, b"a");
        batch.add_line(0, "k/0", 6, b"b");
        batch.add_line(0, "k/0", 7, b"c1");
        batch.add_line(0, "k/0", 8, b"c2");
        batch.add_line(0, "k/0", 8, b"d");
        batch.add_line(1, "k/1", 0, b"e");
        let chunks: Vec<(String, u64, Vec<u8>)> = batch
            .done
            .into_iter()
            .chain(batch.open.into_values())
            .map(|c| (c.source, c.first_line, c.data))
            .collect();
        assert_eq!(
            chunks,
            vec![
                ("k/0".into(), 5, b"a\nb\nc1\nc2\n".to_vec()),
                ("k/0".into(), 8, b"d\n".to_vec()),
                ("k/1".into(), 0, b"e\n".to_vec()),
            ]
        );
    }
}
