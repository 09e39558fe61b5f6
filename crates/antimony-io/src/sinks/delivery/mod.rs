//! Delivery to a network output: what every network sink (syslog, Elasticsearch bulk,
//! Splunk HEC, webhooks, NATS JetStream) shares, generic over the record and over the
//! [`Transport`].
//!
//! # The path of a record
//!
//! The sink is global-only (one instance, on worker 0). It renders each record through the
//! [`Render`] function it was given into an [`Item`] (an id, an ordering key, a time, a
//! severity and a body), which the transport's [`Encoder`] turns into the
//! [`Message`] sent. At the end of each epoch the epoch's messages are sorted by id (the
//! canonical order of alerts, as in the JSON-lines file) and handed to a task on the I/O
//! runtime through a bounded buffer (`buffer` messages). The task sends them in batches
//! (`batch_size`, waiting up to `batch_ms` for a batch to fill) and tries a failed send again
//! with exponential backoff (`backoff_initial_ms` doubling up to `backoff_max_ms`, with a
//! jitter derived from the message's id, so a run's retries are the same from run to run)
//! until it succeeds. A refusal that can never succeed (a 400 on a document, a 401 or 403)
//! is counted, logged with its reason, and the message becomes a dead letter.
//!
//! # A full buffer
//!
//! `on_full = "block"` (the default): the sink waits for room, which holds its epoch and,
//! through the engine's probe, slows the spouts (backpressure). `"spill"`: the message is
//! appended to `spill_path` instead, and so is every message after it until the task has
//! replayed the file in order, so the order holds; the file is fsynced at checkpoints and a
//! file left by an earlier run is replayed first. `"drop"`: the message is dropped, counted
//! and warned about.
//!
//! # Checkpoints and closing
//!
//! [`Bolt::snapshot`] returns once everything handed over before it is delivered, or set
//! aside, or (with `"spill"`, when the output is failing) durably spilled. On close the sink
//! waits for delivery up to `close_timeout_secs`, then spills what is left (`"spill"`) or
//! sets it aside as dead letters, counted as failed.
//!
//! # Exactly once, in order per key
//!
//! Each message carries the record's stable id ([`MessageId`](super::MessageId)), which the
//! transports send as the document `_id`, an idempotency key, a `Nats-Msg-Id` or a field,
//! so a retry after an ambiguous failure (a timeout after the receiver took the message) is
//! recognisable.
//! Messages leave in order, one batch at a time. Where a batch's items can fail alone
//! ([`Transport::partial`], the bulk API), a batch holds at most one message per key and its
//! failed items are retried before anything after them is sent: a later message of a key
//! never overtakes an earlier one.

mod config;
mod spill;
mod task;

use std::cmp::Ordering;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use antimony_core::metrics::{Counter, CounterMetric, Gauge, GaugeMetric};
use antimony_core::{Bolt, Context, Emitter, Record};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};

pub use config::{DeliveryConfig, OnFull};
use spill::Spill;

use crate::sinks::json_lines::{LINES_FAILED, LINES_WRITTEN};

/// Sends tried again.
pub const RETRIES: CounterMetric = CounterMetric::new(
    "antimony_delivery_retries_total",
    "Sends of a network output tried again after a failure (connection refused, timeout, 429, 5xx).",
);
/// Messages dropped because the buffer was full (`on_full = "drop"`).
pub const DROPPED: CounterMetric = CounterMetric::new(
    "antimony_delivery_dropped_total",
    "Messages a network output dropped because its buffer was full (on_full = \"drop\").",
);
/// Messages appended to the spill file.
pub const SPILLED: CounterMetric = CounterMetric::new(
    "antimony_delivery_spilled_total",
    "Messages a network output appended to its spill file (buffer full, or the output down at a checkpoint or at close).",
);
/// Spilled messages delivered from the spill file.
pub const REPLAYED: CounterMetric = CounterMetric::new(
    "antimony_delivery_replayed_total",
    "Messages a network output delivered from its spill file.",
);
/// Messages the receiver refused for good.
pub const REJECTED: CounterMetric = CounterMetric::new(
    "antimony_delivery_rejected_total",
    "Messages a receiver refused in a way no retry can change (400 on a document, 401, 403): set aside as dead letters.",
);
/// Messages waiting in the buffer.
pub const BUFFERED: GaugeMetric = GaugeMetric::new(
    "antimony_delivery_buffer_messages",
    "Messages waiting in a network output's buffer.",
);

/// One record as the sink's [`Render`] function made it, before the transport encodes it.
#[derive(Clone, Debug, Default)]
pub struct Item {
    /// The record's stable id (an alert's); empty: none, and a hash of the body is used.
    pub id: String,
    /// What order is kept per (an alert's client); records of one key arrive in order.
    pub key: u64,
    /// The record's time, microseconds since the Unix epoch.
    pub time_micros: i64,
    /// Syslog severity, 0 (emergency) to 7 (debug).
    pub severity: u8,
    /// The body in the format the output sends (JSON, CEF, ...).
    pub body: String,
}

/// Renders a record into an [`Item`] (cleared before each call); false: the record is not
/// sent (it has no form for this output, or a filter such as a minimum severity left it out).
pub type Render<R> = Arc<dyn Fn(&R, &mut Item) -> bool + Send + Sync>;

/// Turns one rendered item into what its transport sends for it (on the sink's worker, so
/// the task only sends).
pub type Encoder = Box<dyn Fn(&Item, &mut String) + Send>;

/// What travels to the transport: one encoded record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The record's stable id.
    pub id: String,
    /// Its ordering key.
    pub key: u64,
    /// What the transport sends for it (a framed syslog message, a bulk action and
    /// document, an HEC event, a webhook body).
    pub payload: String,
}

/// What became of one message of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemResult {
    /// The receiver has it (or had it already: a duplicate of our id).
    Delivered,
    /// A failure that may pass: try again.
    Retry(String),
    /// A refusal no retry can change: set aside with the reason.
    Reject(String),
}

/// What became of one send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Every message delivered.
    All,
    /// The whole batch failed.
    Failed {
        /// Why, for the log and the dead letters.
        reason: String,
        /// False: no retry can change it (every message is set aside).
        retry: bool,
        /// How long the receiver asked us to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// One result per message, in order (a bulk response).
    Items(Vec<ItemResult>),
}

impl Sent {
    /// A failure worth trying again.
    pub fn retry(reason: impl Into<String>) -> Self {
        Sent::Failed {
            reason: reason.into(),
            retry: true,
            retry_after: None,
        }
    }

    /// A refusal of the whole batch that no retry can change.
    pub fn reject(reason: impl Into<String>) -> Self {
        Sent::Failed {
            reason: reason.into(),
            retry: false,
            retry_after: None,
        }
    }
}

/// A network output: how records are encoded and sent.
pub trait Transport: Send + 'static {
    /// The output, for log lines (no credentials).
    fn describe(&self) -> String;

    /// Registers the transport's own series (called once, on the sink's worker).
    fn on_start(&mut self, _ctx: &Context) {}

    /// The most messages one send takes (1: no batching).
    fn max_batch(&self) -> usize;

    /// Whether a batch's messages can fail one by one ([`Sent::Items`]); such batches hold
    /// at most one message per key, so a retried message is never overtaken by its key's next.
    fn partial(&self) -> bool {
        false
    }

    /// Sends one batch, in order.
    fn send(&mut self, batch: &[Message]) -> impl Future<Output = Sent> + Send;
}

/// The series every network output keeps.
#[derive(Clone, Default)]
struct Meters {
    delivered: Counter,
    failed: Counter,
    retries: Counter,
    dropped: Counter,
    spilled: Counter,
    replayed: Counter,
    rejected: Counter,
    buffered: Gauge,
}

/// What the sink asks of its task beyond delivering.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Request {
    /// Move everything in memory to the front of the spill file (the output is failing and a
    /// checkpoint or the close cannot wait).
    Evacuate,
    /// Give up: everything in memory becomes a dead letter with this reason, and the task ends.
    Abandon(String),
}

/// What the sink and its task share.
#[derive(Default)]
struct State {
    /// Messages taken from the buffer and resolved: delivered, set aside or spilled.
    resolved: u64,
    /// Messages refused or abandoned, with the reason, for the sink to set aside.
    dead: Vec<(String, String)>,
    request: Option<Request>,
    spill: Option<Spill>,
    /// The last send failed (cleared by a success): the output is down or refusing.
    failing: Option<String>,
    /// The task has ended.
    ended: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when `resolved`, `failing`, `ended` or the request change.
    changed: Condvar,
    /// Wakes an idle task: a message spilled.
    wake: Notify,
    /// Wakes the task whatever it does (a backoff too): a request made.
    requested: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn notify(&self) {
        self.changed.notify_all();
    }
}

/// A network sink: renders, orders and buffers records, and hands them to a [`Transport`] on
/// the I/O runtime; see the module docs.
pub struct DeliverySink<R, T: Transport> {
    config: DeliveryConfig,
    render: Render<R>,
    encoder: Encoder,
    transport: Option<T>,
    /// The output, for log lines.
    output: String,
    shared: Arc<Shared>,
    sender: Option<mpsc::Sender<Message>>,
    task: Option<tokio::task::AbortHandle>,
    /// Messages put in the buffer.
    handed: u64,
    /// This epoch's messages, sorted at its end.
    epoch: Vec<Message>,
    item: Item,
    meters: Meters,
    /// The failure already told to the engine.
    reported: bool,
    _record: PhantomData<fn(&R)>,
}

impl<R, T: Transport> Drop for DeliverySink<R, T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl<R, T: Transport> DeliverySink<R, T> {
    /// A sink for checked options ([`DeliveryConfig::check`]), encoding with `encoder` and
    /// sending through `transport`.
    pub fn new(config: &DeliveryConfig, render: Render<R>, encoder: Encoder, transport: T) -> Self {
        DeliverySink {
            config: config.clone(),
            render,
            encoder,
            output: transport.describe(),
            transport: Some(transport),
            shared: Arc::default(),
            sender: None,
            task: None,
            handed: 0,
            epoch: Vec::new(),
            item: Item::default(),
            meters: Meters::default(),
            reported: false,
            _record: PhantomData,
        }
    }

    /// A sink whose output could not be made (a CA file gone since the topology was
    /// checked): it fails the run at its first epoch, its records set aside with `reason`.
    pub fn unavailable(config: &DeliveryConfig, render: Render<R>, reason: String) -> Self {
        let sink = DeliverySink {
            config: config.clone(),
            render,
            encoder: Box::new(|_: &Item, _: &mut String| {}),
            output: "output".to_owned(),
            transport: None,
            shared: Arc::default(),
            sender: None,
            task: None,
            handed: 0,
            epoch: Vec::new(),
            item: Item::default(),
            meters: Meters::default(),
            reported: false,
            _record: PhantomData,
        };
        sink.shared.lock().failing = Some(reason);
        sink
    }

    /// Puts one message in the buffer, or spills or drops it as `on_full` says.
    fn hand_over(&mut self, message: Message, out: &mut Emitter<'_, impl Record>) {
        let Some(sender) = self.sender.as_ref() else {
            self.meters.failed.inc();
            let why = self.shared.lock().failing.clone();
            let why = why.unwrap_or_else(|| "the delivery task is not running".to_owned());
            out.dead_letter(None, format!("{}: {why}", self.output), message.payload);
            return;
        };
        let closed = |sink: &mut Self, message: Message, out: &mut Emitter<'_, _>| {
            sink.meters.failed.inc();
            let reason = format!("{}: the delivery task ended", sink.output);
            out.dead_letter(None, reason.clone(), message.payload);
            if !sink.reported {
                sink.reported = true;
                out.fail(reason);
            }
        };
        match self.config.on_full {
            OnFull::Block => match sender.blocking_send(message) {
                Ok(()) => self.handed += 1,
                Err(mpsc::error::SendError(message)) => closed(self, message, out),
            },
            OnFull::Drop => match sender.try_send(message) {
                Ok(()) => self.handed += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.meters.dropped.inc();
                    let dropped = self.meters.dropped.get();
                    // Warned at the first drop and then at every power of two, so a long
                    // outage neither floods the log nor goes unsaid.
                    if dropped.is_power_of_two() {
                        tracing::warn!(output = %self.output, dropped, "buffer full: dropping alerts (on_full = \"drop\")");
                    }
                }
                Err(mpsc::error::TrySendError::Closed(message)) => closed(self, message, out),
            },
            OnFull::Spill => {
                let mut state = self.shared.lock();
                let spilling = state.spill.as_ref().is_some_and(Spill::spilling);
                let message = if spilling {
                    message
                } else {
                    match sender.try_send(message) {
                        Ok(()) => {
                            self.handed += 1;
                            self.meters.buffered.set(self.buffered());
                            return;
                        }
                        Err(mpsc::error::TrySendError::Full(message)) => message,
                        Err(mpsc::error::TrySendError::Closed(message)) => {
                            drop(state);
                            closed(self, message, out);
                            return;
                        }
                    }
                };
                let appended = match state.spill.as_mut() {
                    Some(spill) => spill.append(std::slice::from_ref(&message)),
                    None => Err(std::io::Error::other("no spill file")),
                };
                drop(state);
                match appended {
                    Ok(()) => {
                        self.meters.spilled.inc();
                        self.shared.wake.notify_one();
                    }
                    Err(e) => {
                        self.meters.failed.inc();
                        let reason = format!(
                            "{}: buffer full and cannot spill to {}: {e}",
                            self.output,
                            self.config.spill_path.as_deref().unwrap_or("?")
                        );
                        out.dead_letter(None, reason.clone(), message.payload);
                        if !self.reported {
                            self.reported = true;
                            out.fail(reason);
                        }
                    }
                }
            }
        }
        self.meters.buffered.set(self.buffered());
    }

    fn buffered(&self) -> i64 {
        self.sender.as_ref().map_or(0, |s| {
            i64::try_from(s.max_capacity() - s.capacity()).unwrap_or(i64::MAX)
        })
    }

    /// Sets aside what the task could not deliver.
    fn set_aside(&mut self, out: &mut Emitter<'_, impl Record>) {
        let dead = std::mem::take(&mut self.shared.lock().dead);
        for (payload, reason) in dead {
            out.dead_letter(None, reason, payload);
        }
    }

    /// Waits until every message handed over is resolved, or `until` passes, or the
    /// output is failing while `give_up_when_failing`; true: all resolved.
    fn wait(&self, until: Option<Instant>, give_up_when_failing: bool) -> bool {
        let mut state = self.shared.lock();
        loop {
            if state.resolved >= self.handed || state.ended || !self.task_alive() {
                return state.resolved >= self.handed;
            }
            if give_up_when_failing && state.failing.is_some() {
                return false;
            }
            let timeout = match until {
                Some(until) => match until.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return false,
                },
                // Woken at least once a second, so a lost notification costs a second.
                None => Duration::from_secs(1),
            };
            state = self
                .shared
                .changed
                .wait_timeout(state, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Whether the delivery task still runs (it ends when told to, or if it panicked).
    fn task_alive(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Asks the task for `request` and waits until it has been carried out.
    fn request(&self, request: Request) {
        self.shared.lock().request = Some(request);
        self.shared.requested.notify_one();
        let mut state = self.shared.lock();
        while state.request.is_some() && !state.ended && self.task_alive() {
            state = self
                .shared
                .changed
                .wait_timeout(state, Duration::from_secs(1))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Fsyncs the spill file.
    fn sync_spill(&self) -> Result<(), String> {
        match self.shared.lock().spill.as_mut().map(Spill::sync) {
            Some(Err(e)) => Err(format!(
                "{}: cannot sync spill file {}: {e}",
                self.output,
                self.config.spill_path.as_deref().unwrap_or("?")
            )),
            _ => Ok(()),
        }
    }
}

/// Orders an epoch's messages as the JSON-lines sink orders lines: by id (the canonical
/// order of alerts), then by what is sent.
fn canonical(a: &Message, b: &Message) -> Ordering {
    a.id.cmp(&b.id).then_with(|| a.payload.cmp(&b.payload))
}

impl<R: Record, T: Transport> Bolt<R> for DeliverySink<R, T> {
    fn on_start(&mut self, ctx: &Context) {
        // One sender: the sink's input is read with global grouping, so only worker 0 has
        // records to deliver.
        if ctx.worker != 0 {
            return;
        }
        self.meters = Meters {
            delivered: ctx.counter(&LINES_WRITTEN, &[]),
            failed: ctx.counter(&LINES_FAILED, &[]),
            retries: ctx.counter(&RETRIES, &[]),
            dropped: ctx.counter(&DROPPED, &[]),
            spilled: ctx.counter(&SPILLED, &[]),
            replayed: ctx.counter(&REPLAYED, &[]),
            rejected: ctx.counter(&REJECTED, &[]),
            buffered: ctx.gauge(&BUFFERED, &[]),
        };
        let Some(mut transport) = self.transport.take() else {
            return;
        };
        transport.on_start(ctx);
        if let (OnFull::Spill, Some(path)) = (self.config.on_full, &self.config.spill_path) {
            match Spill::open(path.as_ref()) {
                Ok(spill) => {
                    if spill.spilling() {
                        tracing::info!(output = %self.output, path = %path, messages = spill.unread(), "replaying the spill file an earlier run left");
                    }
                    self.shared.lock().spill = Some(spill);
                }
                Err(e) => {
                    // Said at the first record: no emitter here.
                    let mut state = self.shared.lock();
                    state.ended = true;
                    state.failing = Some(format!("cannot open spill file {path}: {e}"));
                    return;
                }
            }
        }
        let (sender, receiver) = mpsc::channel(self.config.buffer);
        let task = task::Task {
            transport,
            receiver,
            shared: Arc::clone(&self.shared),
            config: self.config.clone(),
            output: self.output.clone(),
            meters: self.meters.clone(),
        };
        self.task = Some(crate::runtime::handle().spawn(task.run()).abort_handle());
        self.sender = Some(sender);
        tracing::info!(output = %self.output, "delivering");
    }

    fn process(&mut self, record: &mut R, _out: &mut Emitter<'_, R>) {
        let item = &mut self.item;
        item.id.clear();
        item.body.clear();
        item.key = 0;
        item.time_micros = 0;
        item.severity = 6;
        if !(self.render)(record, item) {
            return;
        }
        if item.id.is_empty() {
            let hash = antimony_core::StableHasher::hash64(&[item.body.as_bytes()]);
            item.id = format!("{hash:016x}");
        }
        let mut payload = String::new();
        (self.encoder)(item, &mut payload);
        self.epoch.push(Message {
            id: item.id.clone(),
            key: item.key,
            payload,
        });
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, R>) {
        if !self.reported
            && self.sender.is_none()
            && let Some(reason) = self.shared.lock().failing.clone()
        {
            self.reported = true;
            out.fail(format!("{}: {reason}", self.output));
        }
        let mut messages = std::mem::take(&mut self.epoch);
        messages.sort_unstable_by(canonical);
        for message in messages.drain(..) {
            self.hand_over(message, out);
        }
        self.epoch = messages;
        self.set_aside(out);
    }

    /// Waits until everything handed over is delivered or set aside; with `"spill"`, an
    /// output that is failing has what is in memory spilled instead, and the file fsynced.
    fn snapshot(&mut self) -> Result<Option<antimony_core::State>, String> {
        if self.sender.is_none() {
            return Ok(None);
        }
        if self.config.on_full == OnFull::Spill {
            if !self.wait(None, true) {
                self.request(Request::Evacuate);
            }
            self.sync_spill()?;
        } else {
            self.wait(None, false);
        }
        // Only a task that stopped (it cannot while the sink runs, short of a panic) leaves
        // messages unresolved here: no checkpoint may claim them.
        let resolved = self.shared.lock().resolved;
        if resolved < self.handed {
            return Err(format!(
                "{}: the delivery task stopped with {} messages not delivered",
                self.output,
                self.handed - resolved
            ));
        }
        Ok(None)
    }

    fn on_close(&mut self, out: &mut Emitter<'_, R>) {
        let Some(sender) = self.sender.take() else {
            self.set_aside(out);
            return;
        };
        drop(sender);
        let until = Instant::now() + Duration::from_secs(self.config.close_timeout_secs);
        let spill = self.config.on_full == OnFull::Spill;
        let done = self.wait(Some(until), false) && {
            // The spill file replayed too (the last messages read from it delivered, not
            // only read: the task is stopped below), or what is left of it kept for the next
            // run.
            let mut state = self.shared.lock();
            while state.spill.as_ref().is_some_and(Spill::holding)
                && !state.ended
                && Instant::now() < until
            {
                state = self
                    .shared
                    .changed
                    .wait_timeout(state, Duration::from_millis(100))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            true
        };
        if !done {
            let why = self
                .shared
                .lock()
                .failing
                .clone()
                .unwrap_or_else(|| "no answer".to_owned());
            if spill {
                self.request(Request::Evacuate);
            } else {
                self.request(Request::Abandon(format!(
                    "{}: not delivered within close_timeout_secs ({}s): {why}",
                    self.output, self.config.close_timeout_secs
                )));
            }
        }
        if let Err(reason) = self.sync_spill() {
            tracing::error!("{reason}");
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let left = self.shared.lock().spill.as_ref().map_or(0, Spill::unread);
        if left > 0 {
            tracing::warn!(output = %self.output, path = self.config.spill_path.as_deref().unwrap_or("?"), messages = left, "output not reached: messages kept in the spill file, replayed by the next run");
        }
        self.meters.buffered.set(0);
        self.set_aside(out);
    }
}
