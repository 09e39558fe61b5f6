//! The `nats` spout: lines of text from a NATS JetStream stream, read through a durable pull
//! consumer, acknowledged only once a committed checkpoint holds them.
//!
//! Each message's payload is one or more lines (a DNS log line, or a batch of them); the
//! spout gathers messages into chunks of whole lines, as the other spouts do, for
//! `dns_parse`. A line over `max_line_bytes` is set aside with its place (the stream
//! sequence of its message), and the run goes on.
//!
//! # Exactly once
//!
//! The spout's position is the stream sequence of the last message it emitted. The engine
//! notes it at each checkpoint boundary and hands it back to [`Spout::committed`] once the
//! checkpoint is complete on every worker: only then is the consumer acknowledged, up to
//! that sequence. After a crash, [`Spout::seek`] gives the spout the position of the
//! checkpoint the run resumed from, and the spout sets its durable consumer to deliver
//! from just after it (see `durable_consumer` for why it recreates it): everything the
//! dead run read after its last committed checkpoint comes again, at once, and nothing
//! before it. A message delivered again at or before the last emitted sequence (past
//! `ack_wait`, or an acknowledgement lost) is skipped and counted. So every message enters
//! the dataflow once on top of the state the run resumed from: records are counted exactly
//! once, and sinks that commit with the checkpoint (the JSON-lines sink, the
//! `alert_nats` sink) write their effects once.
//!
//! The consumer uses `AckPolicy::All`: acknowledging sequence N acknowledges every message
//! before it, which is exactly what a checkpoint says (everything up to its position is
//! durable). The spout thus keeps one acknowledgement handle per checkpoint boundary not
//! yet committed, not one per message: its memory does not grow with the interval between
//! checkpoints. `max_ack_pending` bounds what the server keeps delivered and unacknowledged
//! (it must exceed the messages of one checkpoint interval, or delivery pauses until the
//! next checkpoint), and `ack_wait` should be well over the checkpoint interval (a message
//! delivered again before then is skipped, since the spout has emitted it, but costs a
//! delivery).
//!
//! # Without checkpoints
//!
//! Without `--checkpoint-dir` nothing is ever committed. With `ack = "checkpoint"` (the
//! default), the spout then acknowledges what it emitted when it closes, at the end of the
//! run: a crash delivers everything again (at least once), and a long run stops being fed
//! once `max_ack_pending` messages are outstanding (said once in a warning). `ack = "emit"`
//! acknowledges each batch as it is emitted: the stream keeps flowing, but what was in
//! flight when the process died is lost (at most once). Only checkpoints give exactly once.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use antimony_core::metrics::{Counter, CounterMetric, Gauge, GaugeMetric};
use antimony_core::{Context, Emitter, Record, Spout, SpoutError, SpoutStatus};
use async_nats::Subject;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::context::ConsumerInfoErrorKind;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::chunk::TextChunk;
use crate::meters::Meters;

/// Times a NATS client connected again after losing its server.
pub const RECONNECTS: CounterMetric = CounterMetric::new(
    "antimony_nats_reconnects_total",
    "Times a NATS spout or sink connected again after its connection to the server was lost.",
);
/// Messages delivered again that the spout had already emitted.
pub const REDELIVERED_SKIPPED: CounterMetric = CounterMetric::new(
    "antimony_nats_redelivered_skipped_total",
    "JetStream messages delivered again at or before the last emitted sequence (after a restart, or past ack_wait): skipped, never counted twice.",
);
/// Errors while pulling from the consumer or acknowledging.
pub const CONSUMER_ERRORS: CounterMetric = CounterMetric::new(
    "antimony_nats_consumer_errors_total",
    "Errors pulling from a JetStream consumer or acknowledging it (missed heartbeats, a lost connection): the spout pulls again.",
);
/// Messages emitted and not acknowledged yet.
pub const UNACKNOWLEDGED: GaugeMetric = GaugeMetric::new(
    "antimony_nats_unacknowledged_messages",
    "Messages a NATS spout emitted that wait for a committed checkpoint to be acknowledged.",
);

/// When the spout acknowledges what it read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    /// When a checkpoint holding it is committed (exactly once with `--checkpoint-dir`);
    /// without checkpoints, when the run ends.
    #[default]
    Checkpoint,
    /// As soon as it is emitted: at most once, for runs without checkpoints that must keep
    /// flowing.
    Emit,
}

/// Options of the `nats` spout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    /// The server (default `nats://127.0.0.1:4222`); `nats://user:password@host:port` for
    /// credentials.
    #[serde(default = "default_url")]
    pub url: String,
    /// The JetStream stream to read (it must exist).
    pub stream: String,
    /// Only the stream's messages on this subject (wildcards allowed); default all.
    #[serde(default)]
    pub subject: Option<String>,
    /// The durable consumer's name. The spout owns it: at each start it is set anew, with
    /// the options below, to deliver from just after the checkpoint's position (or after
    /// what it had acknowledged, on a fresh start). One spout per consumer.
    pub durable: String,
    /// Messages asked for per pull request (default 256); also the spout's buffer.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Seconds the server waits for an acknowledgement before delivering again (default
    /// 300; keep it well over the checkpoint interval).
    #[serde(default = "default_ack_wait")]
    pub ack_wait_secs: u64,
    /// Messages delivered and not acknowledged the server allows (default 262,144; keep it
    /// over the messages of one checkpoint interval).
    #[serde(default = "default_max_ack_pending")]
    pub max_ack_pending: i64,
    /// When to acknowledge (`checkpoint`, the default, or `emit`: see the module docs).
    #[serde(default)]
    pub ack: AckMode,
    /// Finish once no message has come for this many milliseconds (default: never; a
    /// replay of a stream, a test).
    #[serde(default)]
    pub finish_idle_ms: Option<u64>,
    /// Longest line accepted; longer ones are set aside. Default 64 KiB.
    #[serde(default = "default_max_line")]
    pub max_line_bytes: usize,
    /// The lines depend on earlier ones (Zeek TSV, Windows "Details" logs): every chunk
    /// goes to one parser, in order. Default false (chunks spread over the workers).
    #[serde(default)]
    pub ordered: bool,
}

fn default_url() -> String {
    "nats://127.0.0.1:4222".to_owned()
}
fn default_batch() -> usize {
    256
}
fn default_ack_wait() -> u64 {
    300
}
fn default_max_ack_pending() -> i64 {
    262_144
}
fn default_max_line() -> usize {
    antimony_core::limits::MAX_LINE_BYTES
}

impl NatsConfig {
    /// Checks the options that can be checked without a server: `(option, what is wrong)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        check_url(&self.url).map_err(|e| ("url", e))?;
        if self.stream.is_empty() || self.stream.contains(['.', '*', '>', ' ']) {
            return Err((
                "stream",
                format!(
                    "`{}` is not a stream name (no dots, wildcards or spaces)",
                    self.stream
                ),
            ));
        }
        if self.durable.is_empty() || self.durable.contains(['.', '*', '>', ' ']) {
            return Err((
                "durable",
                format!(
                    "`{}` is not a consumer name (no dots, wildcards or spaces)",
                    self.durable
                ),
            ));
        }
        if self.batch == 0 {
            return Err(("batch", "must be at least 1".to_owned()));
        }
        if self.ack_wait_secs == 0 {
            return Err(("ack_wait_secs", "must be at least 1".to_owned()));
        }
        if self.max_ack_pending < 1 {
            return Err(("max_ack_pending", "must be at least 1".to_owned()));
        }
        Ok(())
    }
}

/// Checks a server address: `nats://HOST:PORT` (or `tls://`), nothing the client would
/// refuse only once the run has started.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    url.parse::<async_nats::ServerAddr>()
        .map(drop)
        .map_err(|e| format!("`{}` is not a NATS server address: {e}", redact(url)))
}

/// The address without its credentials, for logs and errors.
pub(crate) fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
        _ => url.to_owned(),
    }
}

/// Connects to `url`, counting reconnections; a server that does not answer within 5 s is
/// an error (afterwards the client reconnects on its own, forever).
pub(crate) async fn connect(
    url: &str,
    name: &str,
    reconnects: Counter,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    let connected_once = Arc::new(AtomicBool::new(false));
    async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .event_callback(move |event| {
            let reconnects = reconnects.clone();
            let connected_once = Arc::clone(&connected_once);
            async move {
                match event {
                    async_nats::Event::Connected => {
                        if connected_once.swap(true, Ordering::Relaxed) {
                            reconnects.inc();
                            tracing::info!("reconnected to the NATS server");
                        }
                    }
                    async_nats::Event::Disconnected => {
                        // The first connection is not announced on every client version:
                        // what follows a disconnection is a reconnection either way.
                        connected_once.store(true, Ordering::Relaxed);
                        tracing::warn!("lost the NATS server; reconnecting");
                    }
                    other => tracing::debug!(event = %other, "NATS client event"),
                }
            }
        })
        .connect(url)
        .await
}

/// Where the spout is: the stream, and the last message emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatsPosition {
    /// The stream read.
    pub stream: String,
    /// The stream sequence of the last message emitted (0: none).
    pub sequence: u64,
    /// The number the next line gets (lines are numbered across the run and its resumptions,
    /// so a set-aside line names the same place every time).
    pub line: u64,
}

impl NatsPosition {
    /// The position as a checkpoint keeps it.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A position a checkpoint gave back.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a position of a nats spout: {e}"))
    }
}

/// A message as the pulling task hands it over.
enum Delivery {
    Message {
        sequence: u64,
        /// The message (boxed: the channel holds `batch` of these). Its reply subject is
        /// taken out: publishing to it acknowledges the message, and with
        /// `AckPolicy::All` every message before it.
        message: Box<async_nats::Message>,
        reply: Subject,
    },
    /// A message whose stream sequence cannot be read (not from JetStream): set aside.
    Unplaced { head: String },
}

/// Bytes gathered into one chunk at most (one epoch).
const CHUNK_BYTES: usize = 64 * 1024;

/// Reads a JetStream stream through a durable pull consumer; see the module docs.
pub struct NatsSpout<R> {
    config: NatsConfig,
    /// The chunks' source name: the stream and consumer (never the address: it may hold a
    /// password).
    source: String,
    client: Option<async_nats::Client>,
    receiver: Option<mpsc::Receiver<Delivery>>,
    task: Option<tokio::task::AbortHandle>,
    /// The last message emitted, and the handle that acknowledges up to it.
    last: u64,
    last_reply: Option<Subject>,
    /// Up to where a committed checkpoint (or the one resumed from) holds the stream.
    committed: u64,
    /// Handles of the positions given to checkpoints not yet committed, by sequence.
    pending: BTreeMap<u64, Subject>,
    next_line: u64,
    /// The engine asked for a position: checkpoints are on.
    checkpointing: bool,
    /// Sought to a checkpoint's position before opening.
    resumed: bool,
    /// Messages emitted since the last acknowledgement sent.
    unacked: u64,
    stall_warned: bool,
    opened: Instant,
    last_message: Instant,
    meters: Option<Meters>,
    skipped: Counter,
    errors: Counter,
    unacked_gauge: Gauge,
    records: PhantomData<fn() -> R>,
}

impl<R> Drop for NatsSpout<R> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Handles of positions kept at most: with `AckPolicy::All` an older one is covered by any
/// newer one, so dropping the oldest loses nothing.
const MAX_PENDING_POSITIONS: usize = 1024;

impl<R: Record> NatsSpout<R> {
    /// A spout for checked options ([`NatsConfig::check`]).
    pub fn new(config: &NatsConfig) -> Self {
        NatsSpout {
            source: format!("nats:{}/{}", config.stream, config.durable),
            config: config.clone(),
            client: None,
            receiver: None,
            task: None,
            last: 0,
            last_reply: None,
            committed: 0,
            pending: BTreeMap::new(),
            next_line: 1,
            checkpointing: false,
            resumed: false,
            unacked: 0,
            stall_warned: false,
            opened: Instant::now(),
            last_message: Instant::now(),
            meters: None,
            skipped: Counter::default(),
            errors: Counter::default(),
            unacked_gauge: Gauge::default(),
            records: PhantomData,
        }
    }

    /// Acknowledges everything up to the message `reply` belongs to.
    fn ack(&mut self, reply: Subject) {
        self.send_ack(reply);
        self.unacked = 0;
        self.unacked_gauge.set(0);
    }

    /// Queues an acknowledgement in the client, whose task sends it. Queued here and now
    /// rather than from a task of its own, so that a flush afterwards (at close) sends it.
    /// A lost one costs only a delivery again, which the spout skips.
    fn send_ack(&self, reply: Subject) {
        let Some(client) = self.client.as_ref() else {
            return;
        };
        // Queueing waits only when the client's buffer is full (its server gone a while).
        // (The timer is made inside the runtime: this thread is not one of its.)
        let queued = crate::runtime::handle().block_on(async {
            tokio::time::timeout(Duration::from_secs(1), client.publish(reply, "".into())).await
        });
        if !matches!(queued, Ok(Ok(()))) {
            self.errors.inc();
            tracing::warn!(
                source = %self.source,
                "cannot acknowledge a JetStream message: it will be delivered again, and skipped"
            );
        }
    }

    /// Cuts a message's payload into lines: whole lines go into `data`, lines over the
    /// limit are set aside with their place.
    fn take_lines(
        &mut self,
        sequence: u64,
        payload: &[u8],
        data: &mut Vec<u8>,
        out: &mut Emitter<'_, R>,
    ) {
        if payload.is_empty() {
            return;
        }
        let payload = payload.strip_suffix(b"\n").unwrap_or(payload);
        for line in payload.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > self.config.max_line_bytes {
                out.dead_letter(
                    Some(format!(
                        "{}:{} (stream sequence {sequence})",
                        self.source, self.next_line
                    )),
                    format!(
                        "line is {} bytes, over {} (max_line_bytes)",
                        line.len(),
                        self.config.max_line_bytes
                    ),
                    String::from_utf8_lossy(&line[..line.len().min(200)]),
                );
            } else {
                data.extend_from_slice(line);
                data.push(b'\n');
            }
            self.next_line += 1;
        }
    }
}

impl<R: Record + From<TextChunk>> Spout<R> for NatsSpout<R> {
    fn open(&mut self, ctx: &Context) -> Result<(), SpoutError> {
        let meters = Meters::register_receiver(ctx);
        meters.unbounded();
        self.skipped = ctx.counter(&REDELIVERED_SKIPPED, &[]);
        self.errors = ctx.counter(&CONSUMER_ERRORS, &[]);
        self.unacked_gauge = ctx.gauge(&UNACKNOWLEDGED, &[]);
        let reconnects = ctx.counter(&RECONNECTS, &[]);
        let config = self.config.clone();
        let url = redact(&config.url);
        let runtime = crate::runtime::handle();
        let name = format!("antimony {}", ctx.component);
        let resume_after = self.resumed.then_some(self.last);
        let (client, (consumer, start_after)) = runtime.block_on(async {
            let client = connect(&config.url, &name, reconnects)
                .await
                .map_err(|e| SpoutError::caused_by(format!("cannot connect to {url}"), e))?;
            let placed = durable_consumer(&client, &config, resume_after).await?;
            Ok::<_, SpoutError>((client, placed))
        })?;
        // Nothing at or before it will come again; anything that does is skipped.
        self.last = self.last.max(start_after);
        self.committed = self.committed.max(start_after);
        if config.ack == AckMode::Emit {
            tracing::warn!(
                component = %ctx.component,
                "the nats spout acknowledges messages as it emits them (ack = \"emit\"): a crash loses what was in flight; use --checkpoint-dir and ack = \"checkpoint\" for exactly once"
            );
        }
        tracing::info!(
            server = %url,
            stream = %config.stream,
            durable = %config.durable,
            after = self.last,
            "reading a JetStream stream"
        );
        let (sender, receiver) = mpsc::channel(config.batch);
        let errors = self.errors.clone();
        let task = runtime.spawn(pull(consumer, config.batch, sender, errors));
        self.task = Some(task.abort_handle());
        self.client = Some(client);
        self.receiver = Some(receiver);
        self.meters = Some(meters);
        self.opened = Instant::now();
        self.last_message = self.opened;
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, R>) -> SpoutStatus {
        let Some(mut receiver) = self.receiver.take() else {
            return SpoutStatus::Finished;
        };
        let mut data = Vec::new();
        let first_line = self.next_line;
        let mut disconnected = false;
        let mut received = false;
        while data.len() < CHUNK_BYTES {
            let delivery = match receiver.try_recv() {
                Ok(delivery) => delivery,
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            };
            received = true;
            match delivery {
                Delivery::Message {
                    sequence,
                    message,
                    reply,
                } => {
                    let payload = message.payload;
                    if sequence <= self.last {
                        // Emitted already, in this run or before the checkpoint resumed
                        // from. Held by a committed checkpoint: acknowledge it now, or it
                        // would come back every `ack_wait`.
                        self.skipped.inc();
                        if sequence <= self.committed {
                            self.send_ack(reply);
                        }
                        continue;
                    }
                    if let Some(meters) = &self.meters {
                        meters.read(payload.len() as u64);
                        meters.message();
                    }
                    self.take_lines(sequence, &payload, &mut data, out);
                    self.last = sequence;
                    self.last_reply = Some(reply);
                    self.unacked += 1;
                }
                Delivery::Unplaced { head } => {
                    self.errors.inc();
                    out.dead_letter(
                        Some(self.source.clone()),
                        "a message without a JetStream stream sequence (not delivered by the consumer)",
                        head,
                    );
                }
            }
        }
        self.receiver = Some(receiver);
        if received {
            self.last_message = Instant::now();
        }
        if !data.is_empty() {
            out.emit(R::from(TextChunk {
                source: self.source.clone(),
                first_line,
                data,
                ordered: self.config.ordered,
                format: None,
                last: false,
            }));
        }
        self.unacked_gauge
            .set(i64::try_from(self.unacked).unwrap_or(i64::MAX));
        if self.config.ack == AckMode::Emit {
            if let Some(reply) = self.last_reply.take() {
                self.ack(reply);
            }
        } else if !self.checkpointing
            && !self.stall_warned
            && self.unacked >= self.config.max_ack_pending.unsigned_abs()
            // A run with checkpoints asks for a position at its first one (10 s by
            // default): only a longer silence means there are none.
            && self.opened.elapsed() > Duration::from_secs(60)
        {
            self.stall_warned = true;
            tracing::warn!(
                source = %self.source,
                unacknowledged = self.unacked,
                "the nats spout acknowledges only what a committed checkpoint holds, and no checkpoint was taken: the server stops delivering at max_ack_pending; run with --checkpoint-dir, or set ack = \"emit\""
            );
        }
        if disconnected {
            // The pulling task ended (the consumer was deleted, the client closed): said
            // by the task; what was read is emitted and the source is over.
            return SpoutStatus::Finished;
        }
        if received {
            return SpoutStatus::Emitted;
        }
        match self.config.finish_idle_ms {
            Some(ms) if self.last_message.elapsed() >= Duration::from_millis(ms) => {
                SpoutStatus::Finished
            }
            _ => SpoutStatus::Idle,
        }
    }

    fn on_close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.receiver = None;
        // Without checkpoints, what was emitted is acknowledged at the end of the run. With
        // them, only `committed` acknowledges (a checkpoint that failed acknowledges
        // nothing, so the messages come again).
        if !self.checkpointing
            && let Some(reply) = self.last_reply.take()
        {
            self.ack(reply);
        }
        if let Some(client) = self.client.take() {
            // Acknowledgements are queued in the client: send them before the run ends.
            let flushed = crate::runtime::handle().block_on(async move {
                tokio::time::timeout(Duration::from_secs(5), client.flush()).await
            });
            if !matches!(flushed, Ok(Ok(()))) {
                tracing::warn!(
                    source = %self.source,
                    "could not send the last acknowledgements: those messages will be delivered again (and skipped after a checkpoint)"
                );
            }
        }
    }

    fn position(&mut self) -> Option<Vec<u8>> {
        self.checkpointing = true;
        if let Some(reply) = self.last_reply.take() {
            self.pending.insert(self.last, reply);
            while self.pending.len() > MAX_PENDING_POSITIONS {
                self.pending.pop_first();
            }
        }
        Some(
            NatsPosition {
                stream: self.config.stream.clone(),
                sequence: self.last,
                line: self.next_line,
            }
            .encode(),
        )
    }

    fn seek(&mut self, position: &[u8]) -> Result<(), SpoutError> {
        let position = NatsPosition::decode(position).map_err(SpoutError::new)?;
        if position.stream != self.config.stream {
            return Err(SpoutError::new(format!(
                "the checkpoint was taken reading stream `{}`, and this spout reads `{}`: its input changed (remove the checkpoint directory to start afresh)",
                position.stream, self.config.stream
            )));
        }
        self.last = position.sequence;
        self.committed = position.sequence;
        self.next_line = position.line.max(1);
        self.checkpointing = true;
        self.resumed = true;
        Ok(())
    }

    fn committed(&mut self, position: &[u8]) {
        let Ok(position) = NatsPosition::decode(position) else {
            return;
        };
        self.committed = self.committed.max(position.sequence);
        let mut newest = None;
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > position.sequence {
                break;
            }
            newest = Some(entry.remove());
        }
        if let Some(reply) = newest {
            self.ack(reply);
            self.unacked = self.last.saturating_sub(position.sequence);
        }
    }
}

/// Sets the durable consumer to deliver from just after `resume_after` (the checkpoint's
/// position), or, on a fresh start, just after what it had acknowledged; returns it and
/// the sequence it starts after.
///
/// Why recreate it rather than take it as it is: messages delivered to a run that died
/// stay pending on the server until their `ack_wait` runs out, and the consumer meanwhile
/// goes on with later ones. A resumed run would then read past a gap and find the gap's
/// messages only minutes later (after a run told to finish when idle has ended). Placing
/// the consumer at the checkpoint's position delivers the gap first, at once. The spout
/// therefore owns its durable consumer: one spout instance per `durable`.
async fn durable_consumer(
    client: &async_nats::Client,
    config: &NatsConfig,
    resume_after: Option<u64>,
) -> Result<(async_nats::jetstream::consumer::PullConsumer, u64), SpoutError> {
    let jetstream = async_nats::jetstream::new(client.clone());
    let mut stream = jetstream.get_stream(&config.stream).await.map_err(|e| {
        SpoutError::caused_by(
            format!(
                "cannot read JetStream stream `{}` (does it exist? `nats stream add`)",
                config.stream
            ),
            e,
        )
    })?;
    let cannot = |what: &str, e: &dyn std::fmt::Display| {
        SpoutError::new(format!(
            "cannot {what} consumer `{}` on stream `{}`: {e}",
            config.durable, config.stream
        ))
    };
    let existing = match stream.consumer_info(&config.durable).await {
        Ok(info) => Some(info),
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => None,
        Err(e) => return Err(cannot("look at", &e)),
    };
    let start_after = match (resume_after, &existing) {
        (Some(position), _) => position,
        // Fresh start: what earlier runs acknowledged is done (with checkpoints, only what
        // a committed checkpoint held was).
        (None, Some(info)) => info.ack_floor.stream_sequence,
        (None, None) => 0,
    };
    if existing.is_some() {
        stream
            .delete_consumer(&config.durable)
            .await
            .map_err(|e| cannot("reset", &e))?;
    }
    let first = stream
        .info()
        .await
        .map(|info| info.state.first_sequence)
        .unwrap_or(0);
    if start_after > 0 && first > start_after + 1 {
        tracing::warn!(
            stream = %config.stream,
            from = start_after + 1,
            to = first - 1,
            "messages after the spout's position were removed from the stream (its limits or retention) before they were read: they are lost"
        );
    }
    let config = pull::Config {
        durable_name: Some(config.durable.clone()),
        deliver_policy: match start_after {
            0 => DeliverPolicy::All,
            after => DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            },
        },
        ack_policy: AckPolicy::All,
        ack_wait: Duration::from_secs(config.ack_wait_secs),
        max_ack_pending: config.max_ack_pending,
        filter_subject: config.subject.clone().unwrap_or_default(),
        ..Default::default()
    };
    let consumer = stream
        .create_consumer(config)
        .await
        .map_err(|e| cannot("create", &e))?;
    Ok((consumer, start_after))
}

/// Pulls messages as they come and hands them over; the channel's bound holds the server
/// back when the dataflow is slow.
async fn pull(
    consumer: async_nats::jetstream::consumer::PullConsumer,
    batch: usize,
    sender: mpsc::Sender<Delivery>,
    errors: Counter,
) {
    loop {
        let mut messages = match consumer
            .stream()
            .max_messages_per_batch(batch)
            .heartbeat(Duration::from_secs(5))
            .messages()
            .await
        {
            Ok(messages) => messages,
            Err(e) => {
                errors.inc();
                tracing::warn!(error = %e, "cannot pull from the JetStream consumer; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        while let Some(message) = messages.next().await {
            let message = match message {
                Ok(message) => message,
                Err(e) => {
                    // Missed heartbeats, a reconnection: the stream of messages goes on.
                    errors.inc();
                    tracing::warn!(error = %e, "pulling from the JetStream consumer");
                    continue;
                }
            };
            let sequence = message.info().map(|info| info.stream_sequence);
            let mut message = async_nats::Message::from(message);
            let delivery = match (sequence, message.reply.take()) {
                (Ok(sequence), Some(reply)) => Delivery::Message {
                    sequence,
                    message: Box::new(message),
                    reply,
                },
                _ => Delivery::Unplaced {
                    head: String::from_utf8_lossy(
                        &message.payload[..message.payload.len().min(200)],
                    )
                    .into_owned(),
                },
            };
            if sender.send(delivery).await.is_err() {
                return;
            }
        }
        if sender.is_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<NatsConfig, String> {
        let config: NatsConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        config
            .check()
            .map_err(|(option, e)| format!("{option}: {e}"))?;
        Ok(config)
    }

    #[test]
    fn options_are_checked_before_any_server_is_asked() {
        let ok = config(r#"{"stream": "DNS", "durable": "antimony"}"#).expect("valid");
        assert_eq!(ok.url, "nats://127.0.0.1:4222");
        assert_eq!(ok.ack, AckMode::Checkpoint);
        for (text, option) in [
            (r#"{"stream": "DNS.x", "durable": "a"}"#, "stream"),
            (r#"{"stream": "DNS", "durable": "a b"}"#, "durable"),
            (r#"{"stream": "DNS", "durable": "a", "batch": 0}"#, "batch"),
            (
                r#"{"stream": "DNS", "durable": "a", "url": "http://x:y:z"}"#,
                "url",
            ),
        ] {
            let error = config(text).expect_err(text);
            assert!(error.starts_with(option), "{text}: {error}");
        }
        assert!(config(r#"{"stream": "DNS", "durable": "a", "ack": "never"}"#).is_err());
        assert!(config(r#"{"stream": "DNS", "durable": "a", "typo": 1}"#).is_err());
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(redact("nats://u:secret@host:4222"), "nats://***@host:4222");
        assert_eq!(redact("nats://host:4222"), "nats://host:4222");
    }

    #[test]
    fn positions_round_trip_and_refuse_garbage() {
        let position = NatsPosition {
            stream: "DNS".into(),
            sequence: 42,
            line: 99,
        };
        assert_eq!(NatsPosition::decode(&position.encode()), Ok(position));
        assert!(NatsPosition::decode(b"\x00garbage").is_err());
    }

    #[test]
    fn a_checkpoint_of_another_stream_is_refused() {
        let config = config(r#"{"stream": "DNS", "durable": "a"}"#).expect("valid");
        let mut spout = NatsSpout::<TextChunkRecord>::new(&config);
        let other = NatsPosition {
            stream: "OTHER".into(),
            sequence: 1,
            line: 1,
        };
        let error = spout.seek(&other.encode()).expect_err("another stream");
        assert!(error.to_string().contains("OTHER"), "{error}");
        assert!(spout.seek(b"not json").is_err());
    }

    #[test]
    fn payloads_are_cut_into_lines_and_long_lines_set_aside_with_their_place() {
        let config =
            config(r#"{"stream": "DNS", "durable": "a", "max_line_bytes": 8}"#).expect("valid");
        // (payload, lines taken, lines set aside)
        let cases: &[(&[u8], &[u8], usize)] = &[
            (b"", b"", 0),
            (b"a", b"a\n", 0),
            (b"a\n", b"a\n", 0),
            (b"a\r\nb\r\n", b"a\nb\n", 0),
            (b"\n", b"\n", 0),
            (b"a\n\nb", b"a\n\nb\n", 0),
            (b"toolongline\nok", b"ok\n", 1),
            (b"\x00\xff\xfe", b"\x00\xff\xfe\n", 0),
            (&[b'x'; 100], b"", 1),
        ];
        for &(payload, taken, set_aside) in cases {
            let mut spout = NatsSpout::<TextChunkRecord>::new(&config);
            let mut data = Vec::new();
            let (mut records, mut dead) = (Vec::new(), Vec::new());
            let mut out = Emitter::new(&mut records, &mut dead, "nats");
            spout.take_lines(7, payload, &mut data, &mut out);
            assert_eq!(data, taken, "{payload:?}");
            assert_eq!(dead.len(), set_aside, "{payload:?}");
            for letter in &dead {
                let location = letter.location.as_deref().unwrap_or_default();
                assert!(location.contains("stream sequence 7"), "{location}");
            }
            let lines = taken.iter().filter(|&&b| b == b'\n').count() + set_aside;
            assert_eq!(spout.next_line, 1 + lines as u64, "{payload:?}");
        }
    }

    /// The smallest record a spout can emit, for these tests.
    #[derive(Clone, Debug, Default, Serialize, Deserialize)]
    struct TextChunkRecord(TextChunk);

    impl From<TextChunk> for TextChunkRecord {
        fn from(chunk: TextChunk) -> Self {
            TextChunkRecord(chunk)
        }
    }

    impl Record for TextChunkRecord {
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
}
