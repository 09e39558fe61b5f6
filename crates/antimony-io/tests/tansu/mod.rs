//! A tansu broker for the Kafka tests (this crate's and the binary's): started on a free
//! loopback port with its in-memory storage, killed by its pid when dropped.
// Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

/// Why the tests that need it are ignored.
pub const NEEDS_TANSU: &str = "needs a tansu broker (cargo install tansu --locked --features dynostore); see the README's Kafka section";

/// A tansu broker on a free loopback port, killed (by its pid) when dropped.
pub struct Broker {
    child: Child,
    binary: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

/// The broker's binary: `$TANSU`, `/work/tansu/bin/tansu`, or `tansu` on the PATH.
pub fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU") {
        return path.into();
    }
    let installed = PathBuf::from("/work/tansu/bin/tansu");
    if installed.exists() {
        return installed;
    }
    "tansu".into()
}

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Broker {
    /// Starts one and waits until it listens.
    pub fn start() -> Broker {
        let binary = tansu();
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("tansu.log")).expect("log file");
        let child = Command::new(&binary)
            .arg("broker")
            .args(["--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e} ({NEEDS_TANSU})", binary.display()));
        let broker = Broker {
            child,
            binary,
            port,
            _dir: dir,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "tansu did not listen on {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        broker
    }

    /// Its address, as clients take it.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Creates `name` with `partitions` partitions.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        let status = Command::new(&self.binary)
            .args(["topic", "create", name, "--partitions"])
            .arg(partitions.to_string())
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .stdout(Stdio::null())
            .status()
            .expect("tansu topic create");
        assert!(status.success(), "cannot create topic {name}");
    }

    /// Produces each payload to its partition, and waits until they are all delivered.
    ///
    /// One message per record batch: tansu 0.6 answers a fetch from the first batch that
    /// starts at or after the offset asked, where Kafka answers from the batch holding it,
    /// so a seek into the middle of a batch would skip the batch's rest. With a batch per
    /// message every offset starts one.
    pub fn produce(&self, topic: &str, messages: &[(i32, Vec<u8>)]) {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", self.brokers())
            .set("batch.num.messages", "1")
            .create()
            .expect("producer");
        for (partition, payload) in messages {
            producer
                .send(
                    BaseRecord::<(), _>::to(topic)
                        .partition(*partition)
                        .payload(payload),
                )
                .map_err(|(e, _)| e)
                .expect("queued");
        }
        producer.flush(Duration::from_secs(30)).expect("delivered");
    }

    /// The offsets `group` committed on `partitions` of `topic`.
    pub fn committed(&self, group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.brokers())
            .set("group.id", group)
            .create()
            .expect("consumer");
        let mut asked = TopicPartitionList::new();
        for p in 0..partitions {
            asked.add_partition(topic, p);
        }
        let committed = consumer
            .committed_offsets(asked, Duration::from_secs(10))
            .expect("committed offsets");
        committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Broker {
    /// The messages of `topic` (partitions `0..partitions`) as (key, payload): until `count`
    /// are read or none has come for 3 s.
    pub fn read_all(&self, topic: &str, partitions: i32, count: usize) -> Vec<(String, String)> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.brokers())
            .set("group.id", "test-reader")
            .create()
            .expect("consumer");
        let mut assignment = TopicPartitionList::new();
        for p in 0..partitions {
            assignment
                .add_partition_offset(topic, p, Offset::Beginning)
                .expect("partition");
        }
        consumer.assign(&assignment).expect("assigned");
        let mut got = Vec::new();
        let mut last = Instant::now();
        while got.len() < count && last.elapsed() < Duration::from_secs(3) {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
                last = Instant::now();
                let text =
                    |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
                got.push((text(message.key()), text(message.payload())));
            }
        }
        got
    }
}
