//! The `kafka` spout and `alert_kafka` sink against a real Kafka-protocol broker: tansu, with
//! its in-memory storage, on a free loopback port, stopped by its pid when the test ends.
//!
//! The tests that need it are ignored in CI (tansu takes a quarter of an hour to build);
//! the README says how to install it and run them. The broker is found at `$TANSU`, then
//! `/work/tansu/bin/tansu`, then `tansu` on the PATH. The tests without a broker run always.
#![cfg(feature = "kafka")]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use antimony_core::{Bolt, Context, DeadLetter, Emitter, Record, Spout, SpoutStatus};
use antimony_io::TextChunk;
use antimony_io::sinks::MessageId;
use antimony_io::sinks::json_lines::JsonLine;
use antimony_io::sinks::kafka::{KafkaSink, KafkaSinkConfig};
use antimony_io::sources::kafka::{KafkaConfig, KafkaPosition, KafkaSpout};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

mod tansu;
use tansu::{Broker, free_port};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
enum Rec {
    #[default]
    Empty,
    Chunk(TextChunk),
    Alert {
        id: Option<String>,
        json: String,
    },
}

impl From<TextChunk> for Rec {
    fn from(chunk: TextChunk) -> Self {
        Rec::Chunk(chunk)
    }
}

impl Record for Rec {
    fn kind(&self) -> &'static str {
        match self {
            Rec::Alert { .. } => "alert",
            _ => "chunk",
        }
    }
    fn key_hash(&self, _fields: &[usize]) -> u64 {
        0
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

impl JsonLine for Rec {
    fn write_json_line(&self, out: &mut String) -> bool {
        match self {
            Rec::Alert { json, .. } => {
                out.push_str(json);
                true
            }
            _ => false,
        }
    }
}

impl MessageId for Rec {
    fn write_message_id(&self, out: &mut String) -> bool {
        match self {
            Rec::Alert { id: Some(id), .. } => {
                out.push_str(id);
                true
            }
            _ => false,
        }
    }
}

/// A line as the spout gave it: (source, number, text).
type Line = (String, u64, String);

/// Polls `spout` until it has given `lines` lines (all, until it finishes, when `None`).
fn poll(spout: &mut KafkaSpout<Rec>, lines: Option<usize>) -> (Vec<Line>, Vec<DeadLetter>) {
    let mut got = Vec::new();
    let mut dead_letters = Vec::new();
    let started = Instant::now();
    while lines.is_none_or(|n| got.len() < n) {
        let mut records = Vec::new();
        let mut dead = Vec::new();
        let status = spout.poll(&mut Emitter::new(&mut records, &mut dead, "kafka"));
        for record in records {
            if let Rec::Chunk(chunk) = record {
                for (n, line) in chunk.lines() {
                    let text = String::from_utf8_lossy(line).into_owned();
                    got.push((chunk.source.clone(), n, text));
                }
            }
        }
        dead_letters.extend(dead);
        match status {
            SpoutStatus::Finished => break,
            SpoutStatus::Idle => std::thread::sleep(Duration::from_millis(5)),
            SpoutStatus::Emitted => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "stuck after {} lines",
            got.len()
        );
    }
    (got, dead_letters)
}

fn spout_config(broker: &Broker, topic: &str, group: &str) -> KafkaConfig {
    KafkaConfig {
        chunk_bytes: 200,
        max_message_bytes: 1000,
        idle_finish_ms: Some(3000),
        ..KafkaConfig::new(&broker.brokers(), topic, group)
    }
}

#[test]
#[ignore = "needs a tansu broker (cargo install tansu --locked --features dynostore); see the README's Kafka section"]
fn a_crash_replays_from_the_checkpoint_without_loss_or_duplicates() {
    let broker = Broker::start();
    broker.create_topic("dns", 2);
    // 300 one-line messages over two partitions, two messages of two lines, and one too
    // long, which is set aside with its offset.
    let mut messages: Vec<(i32, Vec<u8>)> = (0..300)
        .map(|i| (i % 2, format!("query {i}\n").into_bytes()))
        .collect();
    messages.push((0, b"first of two\nsecond of two\n".to_vec()));
    messages.push((1, b"first of two\r\nsecond, no line feed".to_vec()));
    messages.push((0, vec![b'x'; 2000]));
    messages.push((0, b"after the long one".to_vec()));
    broker.produce("dns", &messages);
    let config = spout_config(&broker, "dns", "detector");
    let ctx = Context::new("kafka", 0, 1);

    // The first run: a checkpoint after 100 lines, then 50 lines more, then a crash.
    let mut first = KafkaSpout::<Rec>::new(&config);
    first.open(&ctx).expect("opens");
    let (mut lines, mut dead) = poll(&mut first, Some(100));
    let checkpoint = first.position().expect("a position");
    let at_checkpoint = lines.len();
    let (after, _) = poll(&mut first, Some(50));
    assert!(!after.is_empty());
    drop(first); // No close, no commit: what a crash leaves.

    // The second run resumes from the checkpoint.
    let mut second = KafkaSpout::<Rec>::new(&config);
    second.seek(&checkpoint).expect("its own position");
    second.open(&ctx).expect("opens");
    let (rest, more_dead) = poll(&mut second, None);
    lines.truncate(at_checkpoint);
    lines.extend(rest);
    dead.extend(more_dead);

    // Every line once, in offset order per partition, numbered by its offset.
    let mut expected: Vec<Line> = Vec::new();
    for partition in 0..2 {
        let source = format!("kafka://dns/{partition}");
        let mut offset = 0;
        for (p, payload) in &messages {
            if *p != partition {
                continue;
            }
            if payload.len() <= 1000 {
                let text = String::from_utf8_lossy(payload);
                let text = text.strip_suffix('\n').unwrap_or(&text);
                for (i, line) in text.split('\n').enumerate() {
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    expected.push((source.clone(), offset + i as u64, line.to_owned()));
                }
            }
            offset += 1;
        }
    }
    let mut sorted = lines.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted.len(), expected.len(), "lines lost or repeated");
    assert_eq!(sorted, expected);
    for partition in ["kafka://dns/0", "kafka://dns/1"] {
        let numbers: Vec<u64> = lines
            .iter()
            .filter(|l| l.0 == partition)
            .map(|l| l.1)
            .collect();
        assert!(numbers.is_sorted(), "{partition} out of order");
    }
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].location.as_deref(), Some("kafka://dns/0:151"));
    assert!(dead[0].reason.contains("max_message_bytes"), "{dead:?}");

    // The group's offsets move only when a checkpoint is committed.
    assert_eq!(broker.committed("detector", "dns", 2), BTreeMap::new());
    let end = second.position().expect("a position");
    second.committed(&end);
    second.on_close();
    let end = KafkaPosition::decode(&end).expect("decodes");
    assert_eq!(end.offsets, [(0, 153), (1, 151)].into_iter().collect());
    assert_eq!(broker.committed("detector", "dns", 2), end.offsets);

    // A run without a checkpoint starts where the group committed: only what is new.
    broker.produce("dns", &[(1, b"new line".to_vec())]);
    let mut third = KafkaSpout::<Rec>::new(&config);
    third.open(&ctx).expect("opens");
    let (new, _) = poll(&mut third, None);
    assert_eq!(new, vec![("kafka://dns/1".into(), 151, "new line".into())]);
}

#[test]
#[ignore = "needs a tansu broker (cargo install tansu --locked --features dynostore); see the README's Kafka section"]
fn listed_partitions_are_the_only_ones_read_and_a_missing_one_is_refused() {
    let broker = Broker::start();
    broker.create_topic("dns", 3);
    broker.produce(
        "dns",
        &[
            (0, b"zero".to_vec()),
            (1, b"one".to_vec()),
            (2, b"two".to_vec()),
        ],
    );
    let ctx = Context::new("kafka", 0, 1);
    let mut config = spout_config(&broker, "dns", "some");
    config.partitions = Some(vec![2, 0]);
    let mut spout = KafkaSpout::<Rec>::new(&config);
    spout.open(&ctx).expect("opens");
    let (mut lines, _) = poll(&mut spout, None);
    lines.sort();
    assert_eq!(
        lines,
        vec![
            ("kafka://dns/0".into(), 0, "zero".into()),
            ("kafka://dns/2".into(), 0, "two".into())
        ]
    );
    config.partitions = Some(vec![5]);
    let error = KafkaSpout::<Rec>::new(&config)
        .open(&ctx)
        .expect_err("no partition 5");
    assert!(error.to_string().contains("no partition 5"), "{error}");
    let error = KafkaSpout::<Rec>::new(&spout_config(&broker, "absent", "some"))
        .open(&ctx)
        .expect_err("no such topic");
    assert!(error.to_string().contains("absent"), "{error}");
}

fn alert(id: &str, n: u32) -> Rec {
    Rec::Alert {
        id: Some(id.to_owned()),
        json: format!(r#"{{"id":"{id}","n":{n}}}"#),
    }
}

/// Runs `records` through a sink, one epoch, then a checkpoint; the sink's dead letters,
/// failure, and what the checkpoint said.
fn sink_epoch(
    sink: &mut KafkaSink,
    records: Vec<Rec>,
) -> (Vec<DeadLetter>, Option<String>, Result<(), String>) {
    let mut out = Vec::new();
    let mut dead = Vec::new();
    let mut emitter = Emitter::new(&mut out, &mut dead, "alerts");
    for mut record in records {
        Bolt::<Rec>::process(sink, &mut record, &mut emitter);
    }
    Bolt::<Rec>::on_epoch_end(sink, 1, &mut emitter);
    let checkpoint = Bolt::<Rec>::snapshot(sink).map(|_| ());
    Bolt::<Rec>::on_close(sink, &mut emitter);
    let failure = emitter.take_failure();
    (dead, failure, checkpoint)
}

#[test]
#[ignore = "needs a tansu broker (cargo install tansu --locked --features dynostore); see the README's Kafka section"]
fn alerts_are_delivered_before_the_checkpoint_keyed_by_id() {
    let broker = Broker::start();
    broker.create_topic("alerts", 2);
    let mut sink = KafkaSink::new(&KafkaSinkConfig::new(&broker.brokers(), "alerts"));
    Bolt::<Rec>::on_start(&mut sink, &Context::new("alerts", 0, 1));
    let records: Vec<Rec> = (0..50).map(|n| alert(&format!("{n:032x}"), n)).collect();
    let (dead, failure, checkpoint) = sink_epoch(&mut sink, records);
    assert_eq!((dead.len(), failure, checkpoint), (0, None, Ok(())));

    // Everything is on the topic already: read it back.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.brokers())
        .set("group.id", "reader")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for p in 0..2 {
        assignment
            .add_partition_offset("alerts", p, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&assignment).expect("assigned");
    let mut got = BTreeMap::new();
    let started = Instant::now();
    while got.len() < 50 && started.elapsed() < Duration::from_secs(30) {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
            let payload =
                String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
            assert!(got.insert(key, payload).is_none(), "a key twice");
        }
    }
    let expected: BTreeMap<String, String> = (0..50)
        .map(|n| {
            let id = format!("{n:032x}");
            (id.clone(), format!(r#"{{"id":"{id}","n":{n}}}"#))
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn a_sink_whose_brokers_are_away_fails_the_checkpoint_and_sets_alerts_aside() {
    // Nothing listens there: no alert can be delivered.
    let brokers = format!("127.0.0.1:{}", free_port());
    let config = KafkaSinkConfig {
        delivery_timeout_ms: 500,
        ..KafkaSinkConfig::new(&brokers, "alerts")
    };
    let mut sink = KafkaSink::new(&config);
    Bolt::<Rec>::on_start(&mut sink, &Context::new("alerts", 0, 1));
    let records: Vec<Rec> = (0..3).map(|n| alert(&format!("{n}"), n)).collect();
    let (dead, failure, checkpoint) = sink_epoch(&mut sink, records);
    let checkpoint = checkpoint.expect_err("nothing was delivered");
    assert!(checkpoint.contains("alerts"), "{checkpoint}");
    assert!(failure.is_some_and(|f| f.contains(&brokers)));
    // Each undelivered alert is set aside, with the line.
    assert_eq!(dead.len(), 3, "{dead:?}");
    assert!(
        dead.iter().all(|d| d.record.starts_with(r#"{"id":"#)),
        "{dead:?}"
    );
}

#[test]
fn a_spout_whose_brokers_are_away_says_so_when_it_opens() {
    let brokers = format!("127.0.0.1:{}", free_port());
    let config = KafkaConfig {
        timeout_ms: 500,
        ..KafkaConfig::new(&brokers, "dns", "detector")
    };
    let error = KafkaSpout::<Rec>::new(&config)
        .open(&Context::new("kafka", 0, 1))
        .expect_err("no broker");
    let error = error.to_string();
    assert!(error.contains(&brokers) && error.contains("dns"), "{error}");
    // A position of another topic is refused before anything is read.
    let other = KafkaPosition {
        topic: "other".into(),
        offsets: BTreeMap::new(),
    };
    let error = KafkaSpout::<Rec>::new(&config)
        .seek(&other.encode())
        .expect_err("another topic");
    assert!(error.to_string().contains("other"), "{error}");
}
