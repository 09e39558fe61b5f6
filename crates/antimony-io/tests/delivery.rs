//! The network outputs against real receivers on loopback: payloads checked field by field,
//! receivers that fail and recover, a full buffer blocking or spilling.

mod receivers;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use antimony_core::{Bolt, Context, DeadLetter, Emitter, Record};
use antimony_io::sinks::delivery::{
    DROPPED, DeliveryConfig, DeliverySink, Item, REJECTED, REPLAYED, RETRIES, Render, SPILLED,
    Transport,
};
use antimony_io::sinks::elasticsearch::{Elasticsearch, ElasticsearchConfig};
use antimony_io::sinks::json_lines::{LINES_FAILED, LINES_WRITTEN};
use antimony_io::sinks::splunk::{Splunk, SplunkConfig};
use antimony_io::sinks::syslog::{SD_ID, Syslog, SyslogSinkConfig, TRUNCATED};
use antimony_io::sinks::webhook::{Webhook, WebhookConfig};
use receivers::http::{HttpReceiver, Request};
use receivers::syslog::{self as syslog_rx, parse_5424};
use serde_json::Value;

/// A small alert-like record: an id (canonical order), a client (the key), a severity.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Rec {
    id: String,
    client: u64,
    severity: u8,
    note: String,
}

impl Record for Rec {
    fn kind(&self) -> &'static str {
        "rec"
    }
    fn key_hash(&self, _fields: &[usize]) -> u64 {
        self.client
    }
    fn describe(&self) -> String {
        self.id.clone()
    }
}

/// 2026-12-08T00:00:00Z, in microseconds.
const TIME: i64 = 1_796_688_000_000_000;

fn render() -> Render<Rec> {
    Arc::new(|r: &Rec, item: &mut Item| {
        item.id.push_str(&r.id);
        item.key = r.client;
        item.severity = r.severity;
        item.time_micros = TIME;
        item.body = serde_json::json!({"id": r.id, "client": r.client, "note": r.note}).to_string();
        true
    })
}

/// Records `from..to`, ids zero-padded so the canonical order is the numeric one, over 5 clients.
fn records(from: usize, to: usize) -> Vec<Rec> {
    (from..to)
        .map(|i| Rec {
            id: format!("{i:04}"),
            client: (i % 5) as u64,
            severity: 3,
            note: format!("alert {i}"),
        })
        .collect()
}

/// Short backoffs, no lingering, so the tests run fast.
fn delivery(extra: &str) -> String {
    format!(
        r#""delivery": {{"backoff_initial_ms": 5, "backoff_max_ms": 40, "batch_ms": 0{extra}}}"#
    )
}

struct Run<T: Transport> {
    sink: DeliverySink<Rec, T>,
    ctx: Context,
    dead: Vec<DeadLetter>,
    failure: Option<String>,
}

impl<T: Transport> Run<T> {
    fn start(
        config: &DeliveryConfig,
        encoder: antimony_io::sinks::delivery::Encoder,
        transport: T,
    ) -> Self {
        let ctx = Context::new("out", 0, 1);
        let mut sink = DeliverySink::new(config, render(), encoder, transport);
        Bolt::<Rec>::on_start(&mut sink, &ctx);
        Run {
            sink,
            ctx,
            dead: Vec::new(),
            failure: None,
        }
    }

    /// One epoch of records, fed as the engine would.
    fn epoch(&mut self, records: Vec<Rec>) {
        let mut out_records = Vec::new();
        let mut out = Emitter::new(&mut out_records, &mut self.dead, "out");
        // Reversed: the sink must put each epoch in canonical order itself.
        for mut record in records.into_iter().rev() {
            Bolt::<Rec>::process(&mut self.sink, &mut record, &mut out);
        }
        Bolt::<Rec>::on_epoch_end(&mut self.sink, 1, &mut out);
        if let Some(failure) = out.take_failure() {
            self.failure.get_or_insert(failure);
        }
    }

    fn snapshot(&mut self) {
        Bolt::<Rec>::snapshot(&mut self.sink).expect("snapshot");
    }

    fn close(&mut self) {
        let mut out_records = Vec::new();
        let mut out = Emitter::new(&mut out_records, &mut self.dead, "out");
        Bolt::<Rec>::on_close(&mut self.sink, &mut out);
        if let Some(failure) = out.take_failure() {
            self.failure.get_or_insert(failure);
        }
    }

    fn total(&self, name: &str) -> u64 {
        self.ctx.metrics.total(name, &[])
    }

    /// Waits (10 s at most) until `metric` reaches `at_least`.
    fn wait_for(&self, name: &str, at_least: u64) {
        let until = Instant::now() + Duration::from_secs(10);
        while self.total(name) < at_least {
            assert!(
                Instant::now() < until,
                "{name} stayed at {}",
                self.total(name)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Ids as they were delivered, checked: each once, and each client's in increasing order.
fn check_once_in_order(delivered: &[(String, u64)], expected: &BTreeSet<String>) {
    let ids: Vec<&String> = delivered.iter().map(|(id, _)| id).collect();
    let unique: BTreeSet<String> = ids.iter().map(|s| (*s).clone()).collect();
    assert_eq!(ids.len(), unique.len(), "an id arrived twice: {ids:?}");
    assert_eq!(&unique, expected, "what arrived is not what was sent");
    let mut last: BTreeMap<u64, &String> = BTreeMap::new();
    for (id, client) in delivered {
        if let Some(previous) = last.insert(*client, id) {
            assert!(
                previous < id,
                "client {client}: {id} arrived after {previous}"
            );
        }
    }
}

fn ids(from: usize, to: usize) -> BTreeSet<String> {
    (from..to).map(|i| format!("{i:04}")).collect()
}

/// What a receiver took: (id, client), in the order it took them.
type Delivered = Arc<Mutex<Vec<(String, u64)>>>;

/// A webhook receiver that keeps each Idempotency-Key once, answers 500 to the first
/// `failures` requests, and checks each body against its key.
fn webhook_receiver(failures: usize) -> (HttpReceiver, Delivered) {
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&delivered);
    let count = Arc::new(Mutex::new(0usize));
    let receiver = HttpReceiver::start(Arc::new(move |request: &Request| {
        let mut count = count.lock().expect("count");
        *count += 1;
        if *count <= failures {
            return (500, vec![], "busy".to_owned());
        }
        assert_eq!(
            request.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        assert_eq!(
            request.headers.get("x-token").map(String::as_str),
            Some("secret")
        );
        let body: Value = serde_json::from_str(&request.body).expect("a JSON body");
        let key = request
            .headers
            .get("idempotency-key")
            .cloned()
            .expect("an Idempotency-Key");
        assert_eq!(
            body["id"].as_str(),
            Some(key.as_str()),
            "the key is the record's id"
        );
        let mut delivered = seen.lock().expect("log");
        if !delivered.iter().any(|(id, _)| *id == key) {
            delivered.push((key, body["client"].as_u64().expect("client")));
        }
        (200, vec![], "ok".to_owned())
    }));
    (receiver, delivered)
}

fn webhook(
    url: &str,
    delivery_options: &str,
) -> (
    DeliveryConfig,
    antimony_io::sinks::delivery::Encoder,
    Webhook,
) {
    let config: WebhookConfig = serde_json::from_str(&format!(
        r#"{{"url": "{url}/hook", "headers": {{"x-token": "secret"}}, {}}}"#,
        delivery(delivery_options)
    ))
    .expect("options");
    config.check().expect("valid");
    let (encoder, transport) = Webhook::new(&config).expect("webhook");
    (config.delivery, encoder, transport)
}

#[test]
fn a_webhook_that_fails_then_goes_down_then_recovers_gets_every_alert_once_in_order() {
    let (mut receiver, delivered) = webhook_receiver(8);
    let (config, encoder, transport) = webhook(&receiver.url(), "");
    let mut run = Run::start(&config, encoder, transport);
    run.epoch(records(0, 20));
    run.snapshot();
    assert!(run.total(RETRIES.name) >= 8, "each 500 is retried");

    // Down: the port refuses connections while the next epoch comes.
    receiver.stop();
    let retried = run.total(RETRIES.name);
    run.epoch(records(20, 40));
    run.wait_for(RETRIES.name, retried + 3);
    receiver.restart();
    run.snapshot();
    run.close();

    check_once_in_order(&delivered.lock().expect("log"), &ids(0, 40));
    assert_eq!(run.total(LINES_WRITTEN.name), 40);
    assert_eq!(run.total(LINES_FAILED.name), 0);
    assert!(
        run.dead.is_empty() && run.failure.is_none(),
        "{:?} {:?}",
        run.dead,
        run.failure
    );
}

#[test]
fn a_full_buffer_blocks_and_loses_nothing() {
    let (receiver, delivered) = webhook_receiver(6);
    let (config, encoder, transport) = webhook(&receiver.url(), r#", "buffer": 2"#);
    let mut run = Run::start(&config, encoder, transport);
    // The epoch's end waits for room in a buffer of 2 while the receiver fails.
    run.epoch(records(0, 25));
    run.close();
    check_once_in_order(&delivered.lock().expect("log"), &ids(0, 25));
    assert_eq!(run.total(DROPPED.name), 0);
    assert_eq!(run.total(SPILLED.name), 0);
    assert_eq!(run.total(LINES_WRITTEN.name), 25);
}

#[test]
fn a_full_buffer_spills_while_the_receiver_is_down_and_the_spill_is_replayed_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spill = dir.path().join("spill.jsonl");
    let (mut receiver, delivered) = webhook_receiver(0);
    receiver.stop();
    let options = format!(
        r#", "buffer": 4, "on_full": "spill", "spill_path": "{}""#,
        spill.display()
    );
    let (config, encoder, transport) = webhook(&receiver.url(), &options);
    let mut run = Run::start(&config, encoder, transport);
    run.epoch(records(0, 10));
    run.epoch(records(10, 20));
    assert!(run.total(SPILLED.name) > 0, "a full buffer spills");
    // A checkpoint with the output down: what is in memory goes to the file, fsynced.
    run.snapshot();
    assert!(std::fs::metadata(&spill).expect("spill file").len() > 0);
    run.epoch(records(20, 30));

    receiver.restart();
    run.wait_for(LINES_WRITTEN.name, 30);
    run.close();
    let delivered = delivered.lock().expect("log");
    check_once_in_order(&delivered, &ids(0, 30));
    // One request at a time: the whole order holds, not only each client's.
    let order: Vec<&str> = delivered.iter().map(|(id, _)| id.as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted);
    assert!(run.total(REPLAYED.name) > 0);
    assert_eq!(run.total(LINES_FAILED.name), 0);
    assert_eq!(
        std::fs::metadata(&spill).expect("spill file").len(),
        0,
        "replayed and emptied"
    );
}

#[test]
fn what_cannot_be_delivered_by_the_close_is_set_aside_and_counted() {
    let (mut receiver, _) = webhook_receiver(0);
    receiver.stop();
    let (mut config, encoder, transport) = webhook(&receiver.url(), "");
    config.close_timeout_secs = 1;
    let mut run = Run::start(&config, encoder, transport);
    run.epoch(records(0, 3));
    run.close();
    assert_eq!(run.dead.len(), 3, "{:?}", run.dead);
    assert!(
        run.dead[0].reason.contains("close_timeout_secs"),
        "{:?}",
        run.dead[0]
    );
    assert_eq!(run.total(LINES_FAILED.name), 3);
}

#[test]
fn bulk_items_that_fail_alone_are_retried_in_order_and_refused_ones_set_aside() {
    // The index: id -> client, in creation order. Each id's first try answers 429 when
    // its number is 3 mod 7; id 0005 is refused; the second request answers 503 whole.
    let created: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let log = Arc::clone(&created);
    let tries: Arc<Mutex<(usize, BTreeMap<String, u32>)>> = Arc::default();
    let receiver = HttpReceiver::start(Arc::new(move |request: &Request| {
        assert_eq!(request.path, "/_bulk");
        assert_eq!(
            request.headers.get("content-type").map(String::as_str),
            Some("application/x-ndjson")
        );
        assert_eq!(
            request.headers.get("authorization").map(String::as_str),
            Some("Basic dXNlcjpwYXNz")
        );
        let mut tries = tries.lock().expect("tries");
        tries.0 += 1;
        if tries.0 == 2 {
            return (
                503,
                vec![("retry-after", "0".to_owned())],
                "unavailable".to_owned(),
            );
        }
        assert!(request.body.ends_with('\n'), "NDJSON ends with a newline");
        let lines: Vec<&str> = request.body.lines().collect();
        assert_eq!(lines.len() % 2, 0, "an action and a document per item");
        let mut items = Vec::new();
        let mut created = log.lock().expect("index");
        for pair in lines.chunks(2) {
            let action: Value = serde_json::from_str(pair[0]).expect("action");
            let create = &action["create"];
            assert_eq!(create["_index"], "antimony-2026.12.08", "{action}");
            let id = create["_id"].as_str().expect("_id").to_owned();
            let document: Value = serde_json::from_str(pair[1]).expect("document");
            assert_eq!(document["id"].as_str(), Some(id.as_str()));
            let number: usize = id.parse().expect("number");
            let attempt = tries.1.entry(id.clone()).or_insert(0);
            *attempt += 1;
            let item = if created.iter().any(|(c, _)| *c == id) {
                serde_json::json!({"status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "exists"}})
            } else if id == "0005" {
                serde_json::json!({"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "failed to parse field [note]"}})
            } else if number % 7 == 3 && *attempt == 1 {
                serde_json::json!({"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}})
            } else {
                created.push((id.clone(), document["client"].as_u64().expect("client")));
                serde_json::json!({"_id": id, "status": 201})
            };
            items.push(serde_json::json!({ "create": item }));
        }
        let errors = items.iter().any(|i| i["create"]["status"] != 201);
        (
            200,
            vec![],
            serde_json::json!({"took": 1, "errors": errors, "items": items}).to_string(),
        )
    }));
    let config: ElasticsearchConfig = serde_json::from_str(&format!(
        r#"{{"url": "{}", "index": "antimony-%Y.%m.%d", "username": "user", "password": "pass", {}}}"#,
        receiver.url(),
        delivery(r#", "batch_size": 8"#)
    ))
    .expect("options");
    config.check().expect("valid");
    let (encoder, transport) = Elasticsearch::new(&config).expect("transport");
    let mut run = Run::start(&config.delivery, encoder, transport);
    run.epoch(records(0, 30));
    run.epoch(records(30, 40));
    run.snapshot();
    run.close();

    let mut expected = ids(0, 40);
    expected.remove("0005");
    check_once_in_order(&created.lock().expect("index"), &expected);
    assert_eq!(run.dead.len(), 1, "{:?}", run.dead);
    assert!(
        run.dead[0].reason.contains("mapper_parsing_exception"),
        "{:?}",
        run.dead[0]
    );
    assert!(run.dead[0].record.contains("\"0005\""), "{:?}", run.dead[0]);
    assert_eq!(run.total(REJECTED.name), 1);
    assert_eq!(run.total(LINES_FAILED.name), 1);
    assert_eq!(run.total(LINES_WRITTEN.name), 39);
    assert!(
        run.total(RETRIES.name) >= 2,
        "the 503 and the 429s are retried"
    );
}

#[test]
fn hec_events_carry_every_field() {
    let events: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = Arc::clone(&events);
    let receiver = HttpReceiver::start(Arc::new(move |request: &Request| {
        assert_eq!(request.path, "/services/collector/event");
        assert_eq!(
            request.headers.get("authorization").map(String::as_str),
            Some("Splunk 00000000-tok")
        );
        let mut log = log.lock().expect("log");
        for event in serde_json::Deserializer::from_str(&request.body).into_iter::<Value>() {
            log.push(event.expect("each event is JSON"));
        }
        (200, vec![], r#"{"text":"Success","code":0}"#.to_owned())
    }));
    let config: SplunkConfig = serde_json::from_str(&format!(
        r#"{{"url": "{}", "token": "00000000-tok", "index": "dns", "host": "sensor-1", {}}}"#,
        receiver.url(),
        delivery(r#", "batch_size": 5"#)
    ))
    .expect("options");
    config.check().expect("valid");
    let (encoder, transport) = Splunk::new(&config).expect("transport");
    let mut run = Run::start(&config.delivery, encoder, transport);
    run.epoch(records(0, 12));
    run.close();
    let events = events.lock().expect("log");
    assert_eq!(events.len(), 12);
    for (i, event) in events.iter().enumerate() {
        let id = format!("{i:04}");
        assert_eq!(event["time"].as_f64(), Some(1_796_688_000.0));
        assert_eq!(event["host"], "sensor-1");
        assert_eq!(event["source"], "antimony");
        assert_eq!(event["sourcetype"], "antimony:alert");
        assert_eq!(event["index"], "dns");
        assert_eq!(event["fields"]["antimony_id"].as_str(), Some(id.as_str()));
        assert_eq!(event["event"]["id"].as_str(), Some(id.as_str()));
        assert_eq!(
            event["event"]["note"].as_str(),
            Some(format!("alert {i}").as_str())
        );
    }
    assert_eq!(run.total(LINES_WRITTEN.name), 12);
}

fn syslog(
    url: &str,
    extra: &str,
) -> (
    DeliveryConfig,
    antimony_io::sinks::delivery::Encoder,
    Syslog,
) {
    let config: SyslogSinkConfig = serde_json::from_str(&format!(
        r#"{{"url": "{url}", "hostname": "sensor-1", "msg_id": "alert", "facility": "local4"{extra}, {}}}"#,
        delivery("")
    ))
    .expect("options");
    config.check().expect("valid");
    let (encoder, transport) = Syslog::new(&config).expect("transport");
    (config.delivery, encoder, transport)
}

/// Sends `records` and reads as many messages back.
fn syslog_round_trip(
    url: &str,
    extra: &str,
    listener: &syslog_rx::Listener,
    records: Vec<Rec>,
) -> (Vec<String>, Run<Syslog>) {
    let n = records.len();
    let (config, encoder, transport) = syslog(url, extra);
    let mut run = Run::start(&config, encoder, transport);
    run.epoch(records);
    run.snapshot();
    let got = (0..n)
        .map(|_| {
            listener
                .messages
                .recv_timeout(Duration::from_secs(10))
                .expect("a message")
        })
        .collect();
    run.close();
    (got, run)
}

fn check_5424(messages: &[String], count: usize) {
    assert_eq!(messages.len(), count);
    for (i, text) in messages.iter().enumerate() {
        let message = parse_5424(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let id = format!("{i:04}");
        assert_eq!(message.pri, 20 * 8 + 3, "local4, severity 3");
        assert_eq!(message.timestamp, "2026-12-08T00:00:00.000000Z");
        assert_eq!(message.hostname, "sensor-1");
        assert_eq!(message.app_name, "antimony");
        assert_eq!(message.proc_id, std::process::id().to_string());
        assert_eq!(message.msg_id, "alert");
        assert_eq!(
            message.structured,
            [(SD_ID.to_owned(), vec![("id".to_owned(), id.clone())])]
        );
        let body: Value = serde_json::from_str(&message.msg).expect("a JSON body");
        assert_eq!(body["id"].as_str(), Some(id.as_str()));
    }
}

#[test]
fn syslog_5424_over_udp_tcp_and_tls_reads_strictly() {
    let udp = syslog_rx::udp();
    let (got, _) = syslog_round_trip(&format!("udp://{}", udp.addr), "", &udp, records(0, 5));
    check_5424(&got, 5);

    let tcp = syslog_rx::tcp(false);
    let (got, _) = syslog_round_trip(&format!("tcp://{}", tcp.addr), "", &tcp, records(0, 5));
    check_5424(&got, 5);

    let (tls, ca) = syslog_rx::tls();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).expect("CA file");
    let extra = format!(
        r#", "ca_file": "{}", "server_name": "localhost""#,
        ca_file.display()
    );
    let (got, run) = syslog_round_trip(&format!("tls://{}", tls.addr), &extra, &tls, records(0, 5));
    check_5424(&got, 5);
    assert_eq!(run.total(RETRIES.name), 0);
}

#[test]
fn syslog_over_udp_cuts_what_a_datagram_cannot_hold_and_counts_it() {
    let udp = syslog_rx::udp();
    let mut long = records(0, 1);
    long[0].note = "x".repeat(3000);
    let (got, run) = syslog_round_trip(
        &format!("udp://{}", udp.addr),
        r#", "max_datagram": 1024"#,
        &udp,
        long,
    );
    assert_eq!(got[0].len(), 1024);
    assert!(got[0].contains(r#"[antimony@32473 id="0000"]"#));
    assert_eq!(run.total(TRUNCATED.name), 1);
}

#[test]
fn syslog_3164_over_tcp_is_newline_framed() {
    let tcp = syslog_rx::tcp(true);
    let (got, _) = syslog_round_trip(
        &format!("tcp://{}", tcp.addr),
        r#", "rfc": "3164""#,
        &tcp,
        records(0, 3),
    );
    let pid = std::process::id();
    for (i, line) in got.iter().enumerate() {
        let prefix = format!("<163>Dec  8 00:00:00 sensor-1 antimony[{pid}]: ");
        let body = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{line}"));
        let body: Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(body["id"].as_str(), Some(format!("{i:04}").as_str()));
    }
}

#[test]
fn a_spill_file_left_by_a_run_that_could_not_deliver_is_replayed_by_the_next() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spill = dir.path().join("spill.jsonl");
    let (mut receiver, delivered) = webhook_receiver(0);
    receiver.stop();
    let options = format!(
        r#", "buffer": 3, "on_full": "spill", "spill_path": "{}""#,
        spill.display()
    );

    // The output is down for the whole run: the close spills what is left, nothing is lost.
    let (mut config, encoder, transport) = webhook(&receiver.url(), &options);
    config.close_timeout_secs = 1;
    let mut first = Run::start(&config, encoder, transport);
    first.epoch(records(0, 12));
    first.close();
    assert!(first.dead.is_empty(), "{:?}", first.dead);
    assert_eq!(first.total(LINES_FAILED.name), 0);
    assert_eq!(
        first.total(SPILLED.name),
        12,
        "the buffer's 3 too, at the close"
    );

    // The next run, the output back: the spill goes first, then the run's own alerts.
    receiver.restart();
    let (config, encoder, transport) = webhook(&receiver.url(), &options);
    let mut second = Run::start(&config, encoder, transport);
    second.epoch(records(12, 15));
    second.wait_for(LINES_WRITTEN.name, 15);
    second.close();
    let delivered = delivered.lock().expect("log");
    let order: Vec<&str> = delivered.iter().map(|(id, _)| id.as_str()).collect();
    let expected: Vec<String> = (0..15).map(|i| format!("{i:04}")).collect();
    assert_eq!(order, expected);
    // The run's own alerts went behind the spill too if it was not replayed yet.
    assert!(second.total(REPLAYED.name) >= 12);
}

#[test]
fn syslog_over_tcp_reconnects_when_the_receiver_closed_the_connection() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let (send, got) = std::sync::mpsc::channel();
    let (closed_send, closed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // The first connection is closed after 2 messages; the second is read to its end.
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let send = send.clone();
            let mut each = |m: String| {
                let _ = send.send(m);
            };
            if n == 0 {
                let mut stream = stream;
                let mut buffer = Vec::new();
                let mut byte = [0u8; 1];
                let mut count = 0;
                while count < 2 && stream.read(&mut byte).unwrap_or(0) == 1 {
                    buffer.push(byte[0]);
                    if let Some(m) = frame(&mut buffer) {
                        count += 1;
                        each(m);
                    }
                }
                drop(stream);
                let _ = closed_send.send(());
            } else {
                receivers::syslog::read_octet_counted(stream, &mut each);
            }
        }
    });
    let (config, encoder, transport) = syslog(&format!("tcp://{addr}"), "");
    let mut run = Run::start(&config, encoder, transport);
    run.epoch(records(0, 2));
    run.snapshot();
    closed
        .recv_timeout(Duration::from_secs(10))
        .expect("the receiver closed");
    // Loopback delivers the close at once; a moment so the sink's check sees it.
    std::thread::sleep(Duration::from_millis(200));
    run.epoch(records(2, 5));
    run.snapshot();
    let ids: Vec<String> = (0..5)
        .map(|_| {
            let text = got
                .recv_timeout(Duration::from_secs(10))
                .expect("a message");
            let message = parse_5424(&text).expect("RFC 5424");
            message.structured[0].1[0].1.clone()
        })
        .collect();
    assert_eq!(ids, ["0000", "0001", "0002", "0003", "0004"]);
    run.close();
}

/// One octet-counted frame off the front of `buffer`, once whole.
fn frame(buffer: &mut Vec<u8>) -> Option<String> {
    let space = buffer.iter().position(|&b| b == b' ')?;
    let n: usize = std::str::from_utf8(&buffer[..space]).ok()?.parse().ok()?;
    if buffer.len() < space + 1 + n {
        return None;
    }
    let message = String::from_utf8_lossy(&buffer[space + 1..space + 1 + n]).into_owned();
    buffer.drain(..space + 1 + n);
    Some(message)
}

#[test]
fn hec_keeps_the_events_before_one_it_refuses_and_sends_the_rest_again() {
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&events);
    let receiver = HttpReceiver::start(Arc::new(move |request: &Request| {
        let ids: Vec<String> = serde_json::Deserializer::from_str(&request.body)
            .into_iter::<Value>()
            .map(|e| {
                e.expect("an event")["fields"]["antimony_id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            })
            .collect();
        let mut log = log.lock().expect("log");
        // 0002 cannot be read: HEC indexes the events before it, and says which it refused.
        if let Some(bad) = ids.iter().position(|id| id == "0002") {
            log.extend(ids.into_iter().take(bad));
            return (
                400,
                vec![],
                format!(
                    r#"{{"text":"Invalid data format","code":6,"invalid-event-number":{bad}}}"#
                ),
            );
        }
        log.extend(ids);
        (200, vec![], r#"{"text":"Success","code":0}"#.to_owned())
    }));
    let config: SplunkConfig = serde_json::from_str(&format!(
        r#"{{"url": "{}", "token": "t", {}}}"#,
        receiver.url(),
        delivery(r#", "batch_size": 5"#)
    ))
    .expect("options");
    let (encoder, transport) = Splunk::new(&config).expect("transport");
    let mut run = Run::start(&config.delivery, encoder, transport);
    run.epoch(records(0, 5));
    run.close();
    assert_eq!(
        *events.lock().expect("log"),
        ["0000", "0001", "0003", "0004"]
    );
    assert_eq!(run.dead.len(), 1);
    assert!(
        run.dead[0].reason.contains("Invalid data format"),
        "{:?}",
        run.dead[0]
    );
    assert_eq!(run.total(REJECTED.name), 1);
}

#[test]
fn a_full_buffer_drops_with_on_full_drop_and_counts_it() {
    let (mut receiver, _) = webhook_receiver(0);
    receiver.stop();
    let (mut config, encoder, transport) =
        webhook(&receiver.url(), r#", "buffer": 1, "on_full": "drop""#);
    config.close_timeout_secs = 1;
    let mut run = Run::start(&config, encoder, transport);
    run.epoch(records(0, 10));
    run.close();
    let dropped = run.total(DROPPED.name);
    // The task holds one message and the buffer one more; every other one is dropped.
    assert!(dropped >= 8, "{dropped}");
    assert_eq!(
        dropped + run.total(LINES_FAILED.name),
        10,
        "dropped or set aside, never lost silently"
    );
}
