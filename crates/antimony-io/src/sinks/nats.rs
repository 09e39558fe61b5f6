//! A sink that publishes records as JSON lines to a NATS JetStream subject, each with a
//! `Nats-Msg-Id` header: the record's stable id ([`MessageId`]; an alert's id), or a hash
//! of its line for records without one.
//!
//! # Effectively once
//!
//! A checkpoint holds only acknowledged publishes: [`Bolt::snapshot`] waits for the acks of
//! everything published so far. After a crash, the run resumes from the last checkpoint
//! and publishes again what came after it, with the same ids; JetStream drops a message
//! whose id it has seen within the stream's `duplicate_window` (default 2 minutes). So a
//! restart within that window publishes each alert once; one that takes longer may
//! publish again what was published after the last checkpoint. Make the window longer
//! than a restart takes (`nats stream add --dupe-window 1h`, or `duplicate_window`).
//!
//! Publishes go out concurrently, at most `max_in_flight` waiting for their ack, so the
//! order on the subject is not the records' order: each line carries its id. A publish
//! that fails (a timeout, the server gone) is tried again, up to `retries` times, which the
//! ids make harmless. One that still fails fails the run ([`Emitter::fail`]), as the
//! JSON-lines sink does when its file is gone: the lines not published become dead letters
//! with the reason (counted in `antimony_sink_lines_failed_total`).
//!
//! Declare it global-only (one instance, on worker 0, publishes).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use antimony_core::metrics::{Counter, CounterMetric};
use antimony_core::{Bolt, Context, Emitter, Record, Restored, StableHasher, State};
use serde::Deserialize;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;

use crate::sinks::MessageId;
use crate::sinks::json_lines::{JsonLine, LINES_FAILED, LINES_WRITTEN};
use crate::sources::nats::{RECONNECTS, check_url, connect, redact};

/// Publishes JetStream dropped as duplicates.
pub const DUPLICATES: CounterMetric = CounterMetric::new(
    "antimony_nats_duplicates_total",
    "Publishes JetStream dropped as duplicates of a message with the same Nats-Msg-Id (what a restart published again).",
);
/// Publishes tried again.
pub const RETRIES: CounterMetric = CounterMetric::new(
    "antimony_nats_publish_retries_total",
    "Publishes a NATS sink tried again after a failed or unacknowledged attempt.",
);

/// Options of a NATS sink.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSinkConfig {
    /// The server (default `nats://127.0.0.1:4222`).
    #[serde(default = "default_url")]
    pub url: String,
    /// The subject to publish to; a JetStream stream must capture it.
    pub subject: String,
    /// Publishes waiting for their ack at most (default 256).
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
    /// Attempts after the first for a publish that fails (default 3).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Milliseconds to wait for a publish's ack (default 5,000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_url() -> String {
    "nats://127.0.0.1:4222".to_owned()
}
fn default_in_flight() -> usize {
    256
}
fn default_retries() -> u32 {
    3
}
fn default_timeout() -> u64 {
    5_000
}

impl NatsSinkConfig {
    /// Checks the options that can be checked without a server: `(option, what is wrong)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        check_url(&self.url).map_err(|e| ("url", e))?;
        let bad_token = |t: &str| t.is_empty() || t.contains([' ', '\t', '*', '>']);
        if self.subject.split('.').any(bad_token) {
            return Err((
                "subject",
                format!(
                    "`{}` is not a subject to publish to (dot-separated words, no wildcards or spaces)",
                    self.subject
                ),
            ));
        }
        if !(1..=65_536).contains(&self.max_in_flight) {
            return Err(("max_in_flight", "must be between 1 and 65536".to_owned()));
        }
        if self.timeout_ms == 0 {
            return Err(("timeout_ms", "must be at least 1".to_owned()));
        }
        Ok(())
    }
}

/// What the sink asks of its publishing task.
enum Command {
    Publish {
        id: String,
        line: String,
    },
    /// Wait for every publish sent to be acknowledged; answer how many were, in all.
    Flush(oneshot::Sender<Result<u64, String>>),
}

/// What the task and the sink share: the first failure, and the lines it could not publish.
#[derive(Default)]
struct Failures {
    reason: Option<String>,
    lines: Vec<String>,
}

/// Publishes each record's JSON line to a JetStream subject; see the module docs.
pub struct NatsSink {
    config: NatsSinkConfig,
    sender: Option<mpsc::Sender<Command>>,
    task: Option<tokio::task::AbortHandle>,
    failures: Arc<Mutex<Failures>>,
    /// The failure already told to the engine.
    reported: bool,
    /// This epoch's (line, id) pairs, sorted at its end so the order is the same on any
    /// number of workers.
    epoch: Vec<(String, String)>,
    failed: Counter,
    /// Publishes acknowledged before the checkpoint resumed from.
    resumed_acked: u64,
}

impl Drop for NatsSink {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl NatsSink {
    /// A sink for checked options ([`NatsSinkConfig::check`]).
    pub fn new(config: &NatsSinkConfig) -> Self {
        NatsSink {
            config: config.clone(),
            sender: None,
            task: None,
            failures: Arc::default(),
            reported: false,
            epoch: Vec::new(),
            failed: Counter::default(),
            resumed_acked: 0,
        }
    }

    fn failure(&self) -> Option<String> {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reason
            .clone()
    }

    fn fail(&mut self, reason: String) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.reason.get_or_insert(reason);
    }

    /// Waits for every publish sent to be acknowledged.
    fn flush(&mut self) -> Result<u64, String> {
        if let Some(reason) = self.failure() {
            return Err(reason);
        }
        let Some(sender) = self.sender.as_ref() else {
            return Ok(0);
        };
        let (reply, answer) = oneshot::channel();
        if sender.blocking_send(Command::Flush(reply)).is_err() {
            self.fail("the NATS publishing task ended".to_owned());
            return Err(self.failure().unwrap_or_default());
        }
        match answer.blocking_recv() {
            Ok(result) => result,
            Err(_) => {
                self.fail("the NATS publishing task ended".to_owned());
                Err(self.failure().unwrap_or_default())
            }
        }
    }

    /// Tells the engine, once, that this sink cannot go on, and sets aside the lines the
    /// task could not publish.
    fn report(&mut self, out: &mut Emitter<'_, impl Record>) {
        let (reason, lines) = {
            let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
            (failures.reason.clone(), std::mem::take(&mut failures.lines))
        };
        let Some(reason) = reason else {
            return;
        };
        for line in lines {
            out.dead_letter(None, reason.clone(), line);
        }
        if !self.reported {
            self.reported = true;
            out.fail(reason);
        }
    }
}

impl<R: Record + JsonLine + MessageId> Bolt<R> for NatsSink {
    fn on_start(&mut self, ctx: &Context) {
        // One publisher: the sink's input is read with global grouping, so only worker 0
        // has lines to publish.
        if ctx.worker != 0 {
            return;
        }
        let written = ctx.counter(&LINES_WRITTEN, &[]);
        self.failed = ctx.counter(&LINES_FAILED, &[]);
        let counts = Counts {
            written,
            failed: self.failed.clone(),
            duplicates: ctx.counter(&DUPLICATES, &[]),
            retries: ctx.counter(&RETRIES, &[]),
        };
        let reconnects = ctx.counter(&RECONNECTS, &[]);
        let config = self.config.clone();
        let url = redact(&config.url);
        let name = format!("antimony {}", ctx.component);
        let runtime = crate::runtime::handle();
        let connected = runtime.block_on(async {
            let client = connect(&config.url, &name, reconnects)
                .await
                .map_err(|e| format!("cannot connect to {url}: {e}"))?;
            let jetstream = async_nats::jetstream::context::ContextBuilder::new()
                .timeout(Duration::from_millis(config.timeout_ms))
                .build(client);
            // A subject no stream captures would have every publish refused: say so now.
            let stream = jetstream
                .stream_by_subject(config.subject.clone())
                .await
                .map_err(|e| {
                    format!(
                        "no JetStream stream captures subject `{}` on {url} ({e}): create one (`nats stream add --subjects {}`)",
                        config.subject, config.subject
                    )
                })?;
            Ok::<_, String>((jetstream, stream))
        });
        match connected {
            Ok((jetstream, stream)) => {
                tracing::info!(server = %url, subject = %config.subject, stream = %stream, "publishing to JetStream");
                let (sender, receiver) = mpsc::channel(config.max_in_flight);
                let task = runtime.spawn(publish(
                    jetstream,
                    config,
                    receiver,
                    Arc::clone(&self.failures),
                    counts,
                ));
                self.task = Some(task.abort_handle());
                self.sender = Some(sender);
            }
            Err(reason) => self.fail(reason),
        }
    }

    fn process(&mut self, record: &mut R, _out: &mut Emitter<'_, R>) {
        let mut line = String::new();
        if !record.write_json_line(&mut line) {
            return;
        }
        // A record without an id goes by a hash of its line.
        let mut id = String::new();
        if !record.write_message_id(&mut id) {
            id = format!("{:016x}", StableHasher::hash64(&[line.as_bytes()]));
        }
        self.epoch.push((line, id));
    }

    fn on_epoch_end(&mut self, _epoch: u64, out: &mut Emitter<'_, R>) {
        let mut lines = std::mem::take(&mut self.epoch);
        lines.sort_unstable();
        for (line, id) in lines.drain(..) {
            if let Some(reason) = self.failure() {
                self.failed.inc();
                out.dead_letter(None, reason, line);
                continue;
            }
            let Some(sender) = self.sender.as_ref() else {
                continue;
            };
            // Blocks when `max_in_flight` publishes wait: backpressure on the dataflow.
            if let Err(mpsc::error::SendError(Command::Publish { line, .. })) =
                sender.blocking_send(Command::Publish { id, line })
            {
                self.fail("the NATS publishing task ended".to_owned());
                self.failed.inc();
                out.dead_letter(None, self.failure().unwrap_or_default(), line);
            }
        }
        self.epoch = lines;
        self.report(out);
    }

    /// Waits for the acks of everything published: a checkpoint holds only what the stream
    /// has. The state is the count of acknowledged publishes (for the log of a resumed run).
    fn snapshot(&mut self) -> Result<Option<State>, String> {
        if self.sender.is_none() && self.failure().is_none() {
            return Ok(None);
        }
        let acked = self.flush()?;
        Ok(Some(State {
            global: (self.resumed_acked + acked).to_le_bytes().to_vec(),
            keyed: Vec::new(),
        }))
    }

    fn restore(&mut self, state: Restored) -> Result<(), String> {
        let counts = state
            .global
            .iter()
            .map(|g| <[u8; 8]>::try_from(g.as_slice()).map(u64::from_le_bytes))
            .collect::<Result<Vec<u64>, _>>()
            .map_err(|_| "the count of publishes does not decode".to_owned())?;
        self.resumed_acked = counts.into_iter().max().unwrap_or(0);
        tracing::info!(
            subject = %self.config.subject,
            acknowledged = self.resumed_acked,
            "resuming publishing: what follows the checkpoint is published again with the same ids"
        );
        Ok(())
    }

    fn on_close(&mut self, out: &mut Emitter<'_, R>) {
        if self.sender.is_some() {
            // Errors are kept in `failures`, reported below.
            let _ = self.flush();
        }
        self.sender = None;
        self.report(out);
    }
}

/// The publishing task's counters.
struct Counts {
    written: Counter,
    failed: Counter,
    duplicates: Counter,
    retries: Counter,
}

/// Publishes what the sink sends, at most `max_in_flight` unacknowledged at a time.
async fn publish(
    jetstream: async_nats::jetstream::Context,
    config: NatsSinkConfig,
    mut receiver: mpsc::Receiver<Command>,
    failures: Arc<Mutex<Failures>>,
    counts: Counts,
) {
    let permits = Arc::new(Semaphore::new(config.max_in_flight));
    let mut in_flight: JoinSet<Result<bool, (String, String)>> = JoinSet::new();
    let mut acked = 0u64;
    let done = |result, acked: &mut u64| match result {
        Ok(Ok(duplicate)) => {
            *acked += 1;
            counts.written.inc();
            if duplicate {
                counts.duplicates.inc();
            }
        }
        Ok(Err((reason, line))) => {
            counts.failed.inc();
            let mut failures = failures.lock().unwrap_or_else(PoisonError::into_inner);
            failures.reason.get_or_insert(reason);
            failures.lines.push(line);
        }
        Err(join) => {
            counts.failed.inc();
            let mut failures = failures.lock().unwrap_or_else(PoisonError::into_inner);
            failures
                .reason
                .get_or_insert(format!("a NATS publish stopped: {join}"));
        }
    };
    while let Some(command) = receiver.recv().await {
        match command {
            Command::Publish { id, line } => {
                let failed = failures
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .reason
                    .clone();
                if let Some(reason) = failed {
                    // After a failure nothing more is published: set aside, with the reason.
                    counts.failed.inc();
                    let mut failures = failures.lock().unwrap_or_else(PoisonError::into_inner);
                    failures.reason.get_or_insert(reason);
                    failures.lines.push(line);
                    continue;
                }
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    return;
                };
                let jetstream = jetstream.clone();
                let subject = config.subject.clone();
                let retries = config.retries;
                let retried = counts.retries.clone();
                in_flight.spawn(async move {
                    let result =
                        publish_one(&jetstream, subject, id, line, retries, &retried).await;
                    drop(permit);
                    result
                });
                while let Some(result) = in_flight.try_join_next() {
                    done(result, &mut acked);
                }
            }
            Command::Flush(reply) => {
                while let Some(result) = in_flight.join_next().await {
                    done(result, &mut acked);
                }
                let failed = failures
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .reason
                    .clone();
                let _ = reply.send(match failed {
                    Some(reason) => Err(reason),
                    None => Ok(acked),
                });
            }
        }
    }
}

/// Publishes one line with its id and waits for the ack, trying again on failure: the id
/// makes a second copy harmless. `Ok(true)`: the stream had it already.
async fn publish_one(
    jetstream: &async_nats::jetstream::Context,
    subject: String,
    id: String,
    line: String,
    retries: u32,
    retried: &Counter,
) -> Result<bool, (String, String)> {
    let mut attempt = 0;
    loop {
        let message = async_nats::jetstream::message::PublishMessage::build()
            .payload(line.clone().into())
            .message_id(&id);
        let result = match jetstream.send_publish(subject.clone(), message).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match result {
            Ok(ack) => return Ok(ack.duplicate),
            Err(e) if attempt < retries => {
                attempt += 1;
                retried.inc();
                tracing::debug!(error = %e, attempt, "publishing to JetStream failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => {
                return Err((
                    format!(
                        "cannot publish to NATS subject `{subject}` after {} attempts: {e}",
                        retries + 1
                    ),
                    line,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<NatsSinkConfig, String> {
        let config: NatsSinkConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        config
            .check()
            .map_err(|(option, e)| format!("{option}: {e}"))?;
        Ok(config)
    }

    #[test]
    fn options_are_checked_before_any_server_is_asked() {
        let ok = check(r#"{"subject": "alerts.dns"}"#).expect("valid");
        assert_eq!(ok.max_in_flight, 256);
        for (text, option) in [
            (r#"{"subject": "alerts.*"}"#, "subject"),
            (r#"{"subject": "alerts..dns"}"#, "subject"),
            (r#"{"subject": ""}"#, "subject"),
            (r#"{"subject": "a", "max_in_flight": 0}"#, "max_in_flight"),
            (r#"{"subject": "a", "timeout_ms": 0}"#, "timeout_ms"),
        ] {
            let error = check(text).expect_err(text);
            assert!(error.starts_with(option), "{text}: {error}");
        }
        assert!(check(r#"{"subject": "a", "typo": 1}"#).is_err());
    }
}
