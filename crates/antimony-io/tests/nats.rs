//! The NATS JetStream spout and sink against a real `nats-server` (each test starts its own
//! on a free port with a temporary store, and stops it when done): the spout reads every
//! published line once across a crash and a resume from a checkpoint's position; the sink
//! publishes with `Nats-Msg-Id`, the server drops a second publish of the same id, and
//! alerts handed over while the server is down reach the stream once when it is back.
//!
//! Needs `nats-server` on the PATH (`apt-get install nats-server`; `.ci/run` installs it).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use antimony_core::{Bolt, Context, DeadLetter, Emitter, Record, Spout, SpoutStatus};
use antimony_io::TextChunk;
use antimony_io::sinks::MessageId;
use antimony_io::sinks::delivery::{DeliverySink, Item, REPLAYED, RETRIES, Render, SPILLED};
use antimony_io::sinks::json_lines::JsonLine;
use antimony_io::sinks::json_lines::LINES_WRITTEN;
use antimony_io::sinks::nats::{DUPLICATES, Nats, NatsSinkConfig};
use antimony_io::sources::nats::{
    NatsConfig, NatsPosition, NatsSpout, RECONNECTS, REDELIVERED_SKIPPED,
};
use serde::{Deserialize, Serialize};

mod nats_server;
use nats_server::{NatsServer, block_on, create_stream};

fn publish(js: &async_nats::jetstream::Context, subject: &str, payload: Vec<u8>) {
    let ack = block_on(js.publish(subject.to_owned(), payload.into())).expect("publish");
    block_on(ack.into_future()).expect("publish ack");
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
enum Rec {
    #[default]
    Empty,
    Chunk(TextChunk),
    Alert {
        id: String,
        domain: String,
    },
}

impl From<TextChunk> for Rec {
    fn from(chunk: TextChunk) -> Self {
        Rec::Chunk(chunk)
    }
}

impl Record for Rec {
    fn kind(&self) -> &'static str {
        "rec"
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
            Rec::Alert { id, domain } => {
                out.push_str(&format!(r#"{{"id":"{id}","domain":"{domain}"}}"#));
                true
            }
            _ => false,
        }
    }
}

impl MessageId for Rec {
    fn write_message_id(&self, out: &mut String) -> bool {
        match self {
            Rec::Alert { id, .. } => {
                out.push_str(id);
                true
            }
            _ => false,
        }
    }
}

fn spout_config(url: &str, extra: &str) -> NatsConfig {
    let text = format!(
        r#"{{"url": "{url}", "stream": "DNS", "durable": "antimony", "batch": 16, "max_line_bytes": 100 {extra}}}"#
    );
    let config: NatsConfig = serde_json::from_str(&text).expect("options");
    config.check().expect("valid options");
    config
}

/// What a spout read: its lines with their numbers, and its dead letters.
#[derive(Default)]
struct Read {
    lines: Vec<(u64, String)>,
    dead: Vec<DeadLetter>,
}

/// Polls until `until` holds for what was read, or the spout finishes; fails after 20 s.
fn poll_until(spout: &mut NatsSpout<Rec>, read: &mut Read, until: impl Fn(&Read) -> bool) {
    let started = Instant::now();
    while !until(read) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "gave up after reading {} lines",
            read.lines.len()
        );
        let mut records = Vec::new();
        let mut dead = Vec::new();
        let status = spout.poll(&mut Emitter::new(&mut records, &mut dead, "nats"));
        read.dead.extend(dead);
        for record in records {
            if let Rec::Chunk(chunk) = record {
                for (number, line) in chunk.lines() {
                    read.lines
                        .push((number, String::from_utf8_lossy(line).into_owned()));
                }
            }
        }
        match status {
            SpoutStatus::Finished => return,
            SpoutStatus::Idle => std::thread::sleep(Duration::from_millis(10)),
            SpoutStatus::Emitted => {}
        }
    }
}

/// Message `i` holds `1 + i % 3` lines, so messages and lines do not line up.
fn lines_of(i: usize) -> Vec<String> {
    (0..=i % 3).map(|j| format!("query {i}.{j}")).collect()
}

#[test]
fn the_spout_reads_every_line_once_across_a_crash_and_a_resume() {
    let server = NatsServer::start();
    let js = server.jetstream();
    create_stream(&js, "DNS", &["dns.>"]);
    let mut expected = Vec::new();
    for i in 0..300 {
        let lines = lines_of(i);
        expected.extend(lines.iter().cloned());
        publish(&js, "dns.logs", (lines.join("\n") + "\n").into_bytes());
        if i == 100 {
            // Hostile input: a line over max_line_bytes, and bytes of no text at all.
            publish(&js, "dns.logs", vec![b'x'; 500]);
            publish(&js, "dns.logs", vec![0, 159, 146, 150, b'\n']);
        }
    }
    let ctx = Context::new("nats", 0, 1);

    // The first run reads some, a checkpoint is taken and committed, it reads on, and dies
    // (dropped without closing: nothing more is acknowledged).
    let mut first = NatsSpout::<Rec>::new(&spout_config(&server.url, ""));
    first.open(&ctx).expect("open");
    let mut before = Read::default();
    poll_until(&mut first, &mut before, |r| r.lines.len() >= 200);
    let position = first.position().expect("a position");
    first.committed(&position);
    let committed_lines = before.lines.len();
    // What the dead run set aside after the checkpoint is lost with it (the resumed run
    // sets it aside again), as its lines are.
    let committed_dead = before.dead.len();
    poll_until(&mut first, &mut before, |r| {
        r.lines.len() >= committed_lines + 150
    });
    drop(first);
    let decoded = NatsPosition::decode(&position).expect("decodes");
    assert!(decoded.sequence > 0);

    // The acknowledgement reached the server: its floor is the checkpoint's sequence.
    let started = Instant::now();
    loop {
        let stream = block_on(js.get_stream("DNS")).expect("stream");
        let info = block_on(stream.consumer_info("antimony")).expect("consumer");
        if info.ack_floor.stream_sequence == decoded.sequence {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "ack floor {} is not the checkpoint's {}",
            info.ack_floor.stream_sequence,
            decoded.sequence
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Resumed from the checkpoint, as the engine does after a crash: what the dead run read
    // after it comes again at once, and nothing before it.
    let mut second =
        NatsSpout::<Rec>::new(&spout_config(&server.url, r#", "finish_idle_ms": 500"#));
    second.seek(&position).expect("seek");
    second.open(&ctx).expect("open");
    let mut after = Read::default();
    poll_until(&mut second, &mut after, |_| false);
    second.on_close();

    let mut read: Vec<(u64, String)> = before.lines[..committed_lines].to_vec();
    read.extend(after.lines.iter().cloned());
    let texts: Vec<&str> = read
        .iter()
        .map(|(_, l)| l.as_str())
        .filter(|l| l.starts_with("query"))
        .collect();
    assert_eq!(texts.len(), expected.len(), "every line once");
    assert_eq!(texts, expected, "in order, none twice, none lost");
    // Line numbers run on across the resume, so a set-aside line has one place.
    let numbers: Vec<u64> = read.iter().map(|(n, _)| *n).collect();
    let mut sorted = numbers.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), numbers.len(), "line numbers are unique");

    // The long line is set aside once, located, and the run went on; the binary junk is
    // passed on as a line for the parser to set aside.
    let dead: Vec<&DeadLetter> = before.dead[..committed_dead]
        .iter()
        .chain(&after.dead)
        .filter(|d| d.reason.contains("max_line_bytes"))
        .collect();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let location = dead[0].location.as_deref().unwrap_or_default();
    assert!(
        location.starts_with("nats:DNS/antimony:") && location.contains("stream sequence 102"),
        "{location}"
    );
}

#[test]
fn messages_delivered_again_in_a_run_are_skipped_and_counted() {
    let server = NatsServer::start();
    let js = server.jetstream();
    create_stream(&js, "DNS", &["dns.>"]);
    for i in 0..20 {
        publish(&js, "dns.logs", format!("query {i}\n").into_bytes());
    }
    // One second to acknowledge: nothing is committed, so all twenty come again.
    let config = spout_config(&server.url, r#", "ack_wait_secs": 1"#);
    let ctx = Context::new("nats", 0, 1);
    let mut spout = NatsSpout::<Rec>::new(&config);
    spout.open(&ctx).expect("open");
    let mut read = Read::default();
    let started = Instant::now();
    poll_until(&mut spout, &mut read, |_| {
        started.elapsed() > Duration::from_millis(2500)
    });
    let skipped = ctx.metrics.total(REDELIVERED_SKIPPED.name, &[]);
    assert_eq!(read.lines.len(), 20, "each line once");
    assert!(skipped >= 20, "redeliveries skipped: {skipped}");
    // No checkpoint was asked for: what was emitted is acknowledged when the spout closes.
    spout.on_close();
    let stream = block_on(js.get_stream("DNS")).expect("stream");
    let info = block_on(stream.consumer_info("antimony")).expect("consumer");
    assert_eq!(info.ack_floor.stream_sequence, 20);
}

#[test]
fn with_ack_emit_what_is_read_is_acknowledged_at_once() {
    let server = NatsServer::start();
    let js = server.jetstream();
    create_stream(&js, "DNS", &["dns.>"]);
    for i in 0..5 {
        publish(&js, "dns.logs", format!("query {i}\n").into_bytes());
    }
    let ctx = Context::new("nats", 0, 1);
    let mut spout = NatsSpout::<Rec>::new(&spout_config(&server.url, r#", "ack": "emit""#));
    spout.open(&ctx).expect("open");
    let mut read = Read::default();
    poll_until(&mut spout, &mut read, |r| r.lines.len() >= 5);
    // Not closed, no checkpoint: acknowledged all the same.
    let started = Instant::now();
    let stream = block_on(js.get_stream("DNS")).expect("stream");
    while block_on(stream.consumer_info("antimony"))
        .expect("consumer")
        .ack_floor
        .stream_sequence
        < 5
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not acknowledged"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(spout);
}

#[test]
fn a_missing_stream_or_server_is_an_open_error_that_says_so() {
    let server = NatsServer::start();
    let ctx = Context::new("nats", 0, 1);
    let mut spout = NatsSpout::<Rec>::new(&spout_config(&server.url, ""));
    let error = spout.open(&ctx).expect_err("no stream DNS");
    assert!(error.to_string().contains("DNS"), "{error}");
    let url = server.url.clone();
    drop(server);
    let mut spout = NatsSpout::<Rec>::new(&spout_config(&url, ""));
    let error = spout.open(&ctx).expect_err("no server");
    assert!(error.to_string().contains("cannot connect"), "{error}");
}

#[test]
fn the_spout_reads_on_after_the_server_restarts_and_counts_the_reconnection() {
    let mut server = NatsServer::start();
    let js = server.jetstream();
    create_stream(&js, "DNS", &["dns.>"]);
    for i in 0..5 {
        publish(&js, "dns.logs", format!("query {i}\n").into_bytes());
    }
    let ctx = Context::new("nats", 0, 1);
    let mut spout = NatsSpout::<Rec>::new(&spout_config(&server.url, ""));
    spout.open(&ctx).expect("open");
    let mut read = Read::default();
    poll_until(&mut spout, &mut read, |r| r.lines.len() >= 5);
    server.restart();
    // The test's own client reconnects too; it publishes once it has.
    let started = Instant::now();
    let mut i = 5;
    while i < 10 {
        let sent = block_on(async {
            match js.publish("dns.logs", format!("query {i}\n").into()).await {
                Ok(ack) => ack.await.is_ok(),
                Err(_) => false,
            }
        });
        if sent {
            i += 1;
        } else {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "cannot publish again"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    poll_until(&mut spout, &mut read, |r| r.lines.len() >= 10);
    let lines: Vec<&str> = read.lines.iter().map(|(_, l)| l.as_str()).collect();
    let expected: Vec<String> = (0..10).map(|i| format!("query {i}")).collect();
    assert_eq!(lines, expected);
    assert!(
        ctx.metrics.total(RECONNECTS.name, &[]) >= 1,
        "the reconnection is counted"
    );
    spout.on_close();
}

fn alert(id: &str, domain: &str) -> Rec {
    Rec::Alert {
        id: id.to_owned(),
        domain: domain.to_owned(),
    }
}

fn sink_config(url: &str, subject: &str) -> NatsSinkConfig {
    // Short waits, so an outage is retried often while the test waits.
    let config: NatsSinkConfig = serde_json::from_str(&format!(
        r#"{{"url": "{url}", "subject": "{subject}", "max_in_flight": 16, "timeout_ms": 1000,
            "delivery": {{"batch_size": 20, "batch_ms": 10, "backoff_initial_ms": 50, "backoff_max_ms": 500}}}}"#
    ))
    .expect("options");
    config.check().expect("valid options");
    config
}

/// The sink as the alert outputs make it: each alert's JSON line, with its id.
fn sink(config: &NatsSinkConfig) -> DeliverySink<Rec, Nats> {
    let render: Render<Rec> = Arc::new(|record: &Rec, item: &mut Item| {
        record.write_message_id(&mut item.id) && record.write_json_line(&mut item.body)
    });
    let (encoder, transport) = Nats::new(config).expect("a transport");
    DeliverySink::new(&config.delivery, render, encoder, transport)
}

/// Feeds one epoch of `records` to `sink`, hands them over; returns the dead letters and
/// the failure reported.
fn hand_over(
    sink: &mut DeliverySink<Rec, Nats>,
    records: Vec<Rec>,
) -> (Vec<DeadLetter>, Option<String>) {
    let mut out_records = Vec::new();
    let mut dead = Vec::new();
    let mut out = Emitter::new(&mut out_records, &mut dead, "alerts");
    for mut record in records {
        Bolt::<Rec>::process(sink, &mut record, &mut out);
    }
    Bolt::<Rec>::on_epoch_end(sink, 1, &mut out);
    let failure = out.take_failure();
    (dead, failure)
}

/// Feeds one epoch of `records` to `sink`, then takes a snapshot (which waits for
/// delivery); returns the dead letters and the failure reported.
fn publish_epoch(
    sink: &mut DeliverySink<Rec, Nats>,
    records: Vec<Rec>,
) -> (Vec<DeadLetter>, Option<String>, Result<(), String>) {
    let (dead, failure) = hand_over(sink, records);
    let snapshot = Bolt::<Rec>::snapshot(sink).map(drop);
    (dead, failure, snapshot)
}

fn close(sink: &mut DeliverySink<Rec, Nats>) -> Vec<DeadLetter> {
    let mut dead = Vec::new();
    Bolt::<Rec>::on_close(
        sink,
        &mut Emitter::new(&mut Vec::new(), &mut dead, "alerts"),
    );
    dead
}

/// The stream's messages by `Nats-Msg-Id`, failing on an id stored twice.
fn stored_by_id(js: &async_nats::jetstream::Context, name: &str) -> BTreeMap<String, String> {
    let mut stream = block_on(js.get_stream(name)).expect("stream");
    let info = block_on(stream.info()).expect("info");
    let mut by_id = BTreeMap::new();
    for sequence in info.state.first_sequence..=info.state.last_sequence {
        let message = block_on(stream.get_raw_message(sequence)).expect("message");
        let id = message
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|v| v.as_str().to_owned())
            .expect("a Nats-Msg-Id header");
        let payload = String::from_utf8(message.payload.to_vec()).expect("text");
        assert!(payload.contains(&id), "{payload} has id {id}");
        assert!(
            by_id.insert(id.clone(), payload).is_none(),
            "id {id} stored twice"
        );
    }
    by_id
}

/// Waits until `ready` holds; fails after `secs` seconds with `what`.
fn wait_for(secs: u64, what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < Duration::from_secs(secs), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn alerts(range: std::ops::Range<usize>) -> Vec<Rec> {
    range
        .map(|i| alert(&format!("{i:032x}"), &format!("evil{i}.example")))
        .collect()
}

#[test]
fn the_sink_publishes_with_ids_and_a_republish_is_dropped_by_the_server() {
    let server = NatsServer::start();
    let js = server.jetstream();
    create_stream(&js, "ALERTS", &["alerts.>"]);
    let ctx = Context::new("alerts", 0, 1);
    let mut first = sink(&sink_config(&server.url, "alerts.dns"));
    Bolt::<Rec>::on_start(&mut first, &ctx);
    let (dead, failure, snapshot) = publish_epoch(&mut first, alerts(0..50));
    assert_eq!((dead.len(), failure, snapshot), (0, None, Ok(())));
    assert!(close(&mut first).is_empty());
    assert_eq!(ctx.metrics.total(LINES_WRITTEN.name, &[]), 50);

    // A restarted run publishes the same alerts again: the stream keeps one of each.
    let again = Context::new("alerts", 0, 1);
    let mut resumed = sink(&sink_config(&server.url, "alerts.dns"));
    Bolt::<Rec>::on_start(&mut resumed, &again);
    let (dead, failure, snapshot) = publish_epoch(&mut resumed, alerts(0..50));
    assert_eq!((dead.len(), failure, snapshot), (0, None, Ok(())));
    assert_eq!(again.metrics.total(DUPLICATES.name, &[]), 50);
    assert!(close(&mut resumed).is_empty());

    // Each message carries its alert's id as Nats-Msg-Id, and the line as its payload.
    let by_id = stored_by_id(&js, "ALERTS");
    assert_eq!(by_id.len(), 50, "one message per alert id");
}

#[test]
fn a_subject_no_stream_captures_is_retried_until_a_stream_does() {
    let server = NatsServer::start();
    let js = server.jetstream();
    let ctx = Context::new("alerts", 0, 1);
    let mut sink = sink(&sink_config(&server.url, "nowhere"));
    Bolt::<Rec>::on_start(&mut sink, &ctx);
    let (dead, failure) = hand_over(&mut sink, vec![alert("1", "a.example")]);
    assert_eq!((dead.len(), failure), (0, None), "nothing given up");
    wait_for(20, "the publish is retried", || {
        ctx.metrics.total(RETRIES.name, &[]) >= 1
    });
    create_stream(&js, "LATE", &["nowhere"]);
    assert_eq!(Bolt::<Rec>::snapshot(&mut sink).map(drop), Ok(()));
    assert!(close(&mut sink).is_empty());
    assert_eq!(stored_by_id(&js, "LATE").len(), 1);
    assert_eq!(ctx.metrics.total(LINES_WRITTEN.name, &[]), 1);
}

#[test]
fn alerts_published_while_the_server_is_down_reach_the_stream_once_when_it_is_back() {
    let mut server = NatsServer::start();
    let js = server.jetstream();
    create_stream(&js, "ALERTS", &["alerts.>"]);
    let ctx = Context::new("alerts", 0, 1);
    let mut sink = sink(&sink_config(&server.url, "alerts.dns"));
    Bolt::<Rec>::on_start(&mut sink, &ctx);
    // Epochs handed over while the server runs, which is stopped once publishing has begun
    // (part of what was handed over may be in flight), then more epochs while it is down.
    for epoch in 0..5 {
        let (dead, failure) = hand_over(&mut sink, alerts(epoch * 100..(epoch + 1) * 100));
        assert_eq!((dead.len(), failure), (0, None));
    }
    wait_for(20, "publishing has begun", || {
        ctx.metrics.total(LINES_WRITTEN.name, &[]) >= 1
    });
    server.stop();
    for epoch in 5..10 {
        let (dead, failure) = hand_over(&mut sink, alerts(epoch * 100..(epoch + 1) * 100));
        assert_eq!((dead.len(), failure), (0, None));
    }
    wait_for(30, "publishes to a stopped server are retried", || {
        ctx.metrics.total(RETRIES.name, &[]) >= 1
    });
    server.start_again();
    // The snapshot waits for delivery: it returns once every alert is acked.
    assert_eq!(Bolt::<Rec>::snapshot(&mut sink).map(drop), Ok(()));
    assert!(close(&mut sink).is_empty());

    let by_id = stored_by_id(&js, "ALERTS");
    let expected: BTreeMap<String, String> = alerts(0..1000)
        .iter()
        .map(|a| {
            let (mut id, mut line) = (String::new(), String::new());
            a.write_message_id(&mut id);
            a.write_json_line(&mut line);
            (id, line)
        })
        .collect();
    assert_eq!(by_id.len(), 1000, "every alert once");
    assert!(by_id == expected, "the alerts handed over");
    assert!(ctx.metrics.total(RETRIES.name, &[]) >= 1);
    assert_eq!(ctx.metrics.total(LINES_WRITTEN.name, &[]), 1000);
    assert!(
        ctx.metrics.total(RECONNECTS.name, &[]) >= 1,
        "the reconnection is counted"
    );
}

#[test]
fn with_on_full_spill_an_outage_spills_and_the_file_is_replayed_once_the_server_is_back() {
    let mut server = NatsServer::start();
    let js = server.jetstream();
    create_stream(&js, "ALERTS", &["alerts.>"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let spill = dir.path().join("alerts.spill");
    let mut config = sink_config(&server.url, "alerts.dns");
    config.delivery = serde_json::from_str(&format!(
        r#"{{"buffer": 10, "on_full": "spill", "spill_path": "{}", "batch_size": 5, "batch_ms": 10,
            "backoff_initial_ms": 50, "backoff_max_ms": 500, "close_timeout_secs": 60}}"#,
        spill.display()
    ))
    .expect("delivery options");
    config.check().expect("valid options");
    let ctx = Context::new("alerts", 0, 1);
    let mut sink = sink(&config);
    Bolt::<Rec>::on_start(&mut sink, &ctx);
    let (dead, failure, snapshot) = publish_epoch(&mut sink, alerts(0..20));
    assert_eq!((dead.len(), failure, snapshot), (0, None, Ok(())));

    // Down: a buffer of ten cannot hold the epoch, the rest goes to the file, and the
    // checkpoint spills what is in memory rather than wait for the server.
    server.stop();
    let (dead, failure, snapshot) = publish_epoch(&mut sink, alerts(20..200));
    assert_eq!((dead.len(), failure, snapshot), (0, None, Ok(())));
    assert!(ctx.metrics.total(SPILLED.name, &[]) >= 1);

    server.start_again();
    // The close waits for the file to be replayed.
    assert!(close(&mut sink).is_empty());
    let by_id = stored_by_id(&js, "ALERTS");
    assert_eq!(by_id.len(), 200, "every alert once");
    assert!(ctx.metrics.total(REPLAYED.name, &[]) >= 1);
    assert!(ctx.metrics.total(RETRIES.name, &[]) >= 1);
    assert_eq!(
        std::fs::metadata(&spill).map(|m| m.len()).unwrap_or(0),
        0,
        "nothing left to replay"
    );
}
