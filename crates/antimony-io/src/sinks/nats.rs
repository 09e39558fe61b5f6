//! NATS JetStream out: a [`Transport`] of the delivery core ([`super::delivery`]) that
//! publishes each message's body to a subject with a `Nats-Msg-Id` header, the record's
//! stable id ([`MessageId`](super::MessageId); an alert's id, or a hash of the body for
//! records without one).
//!
//! # Sending
//!
//! A batch is published in order on one connection, at most `max_in_flight` publishes
//! waiting for their ack at a time. A publish that fails or whose ack does not come within
//! `timeout_ms` (the server gone, a stream leader moving) fails the whole batch, and the
//! delivery core sends it again after its backoff, for as long as it takes: its buffer,
//! `on_full` (block, spill, drop) and counters (`antimony_delivery_*`) hold for this output
//! as for the others. Publishes of the batch that were acked before the failure are dropped
//! by JetStream when they come again (same `Nats-Msg-Id` within the stream's duplicate
//! window), counted in `antimony_nats_duplicates_total`.
//!
//! A subject no stream captures (the server answers "no responders") is tried again too,
//! with that reason in the log: a stream may be created meanwhile, and a server that has
//! just restarted answers so until it has recovered its streams. A message larger than the
//! server's `max_payload` can never be published: it is refused for good (a dead letter)
//! rather than break the connection.
//!
//! The client connects at the first send (a server not there yet is a retry) and then
//! reconnects on its own, each reconnection counted in `antimony_nats_reconnects_total`.
//!
//! # Effectively once
//!
//! A checkpoint waits for delivery ([`Bolt::snapshot`](antimony_core::Bolt::snapshot) of
//! the delivery sink), so it holds only acked publishes (or, with `on_full = "spill"`,
//! spilled ones, replayed with their ids). After a crash, the run resumes from the last
//! checkpoint and publishes again what came after it, with the same ids; JetStream drops a
//! message whose id it has seen within the stream's `duplicate_window` (default 2
//! minutes). So a restart within that window publishes each alert once; one that takes
//! longer may publish again what was published after the last checkpoint. Make the window
//! longer than a restart or an outage takes (`nats stream add --dupe-window 1h`).
//!
//! Publishes go out in order, but a batch sent again after a failure can put messages
//! after ones published later, so the order on the subject is not guaranteed: each
//! message carries its id.

use std::time::Duration;

use antimony_core::Context;
use antimony_core::metrics::{Counter, CounterMetric};
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio::task::JoinSet;

use crate::sinks::delivery::{DeliveryConfig, Encoder, Item, ItemResult, Message, Sent, Transport};
use crate::sources::nats::{RECONNECTS, check_url, connect, redact};

/// Publishes JetStream dropped as duplicates.
pub const DUPLICATES: CounterMetric = CounterMetric::new(
    "antimony_nats_duplicates_total",
    "Publishes JetStream dropped as duplicates of a message with the same Nats-Msg-Id (what a restart or a retried batch published again).",
);

/// Options of a NATS sink.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSinkConfig {
    /// The server (default `nats://127.0.0.1:4222`; `nats://user:password@host:port` for
    /// credentials, never logged).
    #[serde(default = "default_url")]
    pub url: String,
    /// The subject to publish to; a JetStream stream must capture it.
    pub subject: String,
    /// Publishes waiting for their ack at most (default 256).
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
    /// Milliseconds to wait for a publish's ack (default 5,000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Removed: a failed publish is now retried until it succeeds, with the `delivery`
    /// backoff. Accepted by the parser only to say so.
    #[serde(default)]
    pub retries: Option<IgnoredAny>,
    /// Buffering, batching, retries and spill.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

fn default_url() -> String {
    "nats://127.0.0.1:4222".to_owned()
}
fn default_in_flight() -> usize {
    256
}
fn default_timeout() -> u64 {
    5_000
}

impl NatsSinkConfig {
    /// Checks the options that can be checked without a server: `(option, what is wrong)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.retries.is_some() {
            return Err((
                "retries",
                "is gone: a failed publish is tried again until it succeeds, with the backoff of the `delivery` table (`backoff_initial_ms`, `backoff_max_ms`); remove `retries`".to_owned(),
            ));
        }
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
        self.delivery.check()
    }
}

/// Bytes a message's headers take on the wire besides its id, at most (`NATS/1.0`, the
/// header name, separators), for the `max_payload` check.
const HEADER_OVERHEAD: usize = 64;

/// Publishes to a JetStream subject; see the module docs.
pub struct Nats {
    /// With credentials: only for connecting.
    url: String,
    subject: String,
    max_in_flight: usize,
    timeout: Duration,
    /// The client's name on the server.
    name: String,
    connection: Option<(async_nats::Client, async_nats::jetstream::Context)>,
    reconnects: Counter,
    duplicates: Counter,
}

impl Nats {
    /// The transport and its encoder (the body as it is) for checked options.
    pub fn new(config: &NatsSinkConfig) -> Result<(Encoder, Nats), String> {
        check_url(&config.url)?;
        let encoder: Encoder = Box::new(|item: &Item, out: &mut String| out.push_str(&item.body));
        let transport = Nats {
            url: config.url.clone(),
            subject: config.subject.clone(),
            max_in_flight: config.max_in_flight,
            timeout: Duration::from_millis(config.timeout_ms),
            name: "antimony".to_owned(),
            connection: None,
            reconnects: Counter::default(),
            duplicates: Counter::default(),
        };
        Ok((encoder, transport))
    }

    /// Connects, once: afterwards the client reconnects on its own.
    async fn connected(
        &mut self,
    ) -> Result<(async_nats::Client, async_nats::jetstream::Context), String> {
        if let Some((client, jetstream)) = &self.connection {
            return Ok((client.clone(), jetstream.clone()));
        }
        let client = connect(&self.url, &self.name, self.reconnects.clone())
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let jetstream = async_nats::jetstream::context::ContextBuilder::new()
            .timeout(self.timeout)
            // Our own bound is `max_in_flight`; the client's must not refuse before it.
            .max_ack_inflight(self.max_in_flight.saturating_mul(2).max(5_000))
            .build(client.clone());
        // Said once, so an operator sees at start what the retries would only hint at.
        match jetstream.stream_by_subject(self.subject.clone()).await {
            Ok(stream) => {
                tracing::info!(server = %redact(&self.url), subject = %self.subject, stream = %stream, "publishing to JetStream");
            }
            Err(e) => {
                tracing::warn!(server = %redact(&self.url), subject = %self.subject, error = %e, "no JetStream stream captures the subject yet: publishes are retried until one does (`nats stream add --subjects {}`)", self.subject);
            }
        }
        self.connection = Some((client.clone(), jetstream.clone()));
        Ok((client, jetstream))
    }

    /// Publishes the batch's messages not refused (`refused[i]`), at most `max_in_flight`
    /// waiting for their ack; the first failure, if any.
    async fn publish(
        &self,
        jetstream: &async_nats::jetstream::Context,
        batch: &[Message],
        refused: &[bool],
    ) -> Result<(), String> {
        let mut acks: JoinSet<Result<bool, String>> = JoinSet::new();
        let mut failure: Option<String> = None;
        let duplicates = self.duplicates.clone();
        let settle = |result, failure: &mut Option<String>| match result {
            Ok(Ok(duplicate)) => {
                if duplicate {
                    duplicates.inc();
                }
            }
            Ok(Err(reason)) => {
                failure.get_or_insert(reason);
            }
            Err(e) => {
                failure.get_or_insert(format!("waiting for an ack stopped: {e}"));
            }
        };
        for (message, _) in batch.iter().zip(refused).filter(|(_, r)| !**r) {
            while acks.len() >= self.max_in_flight {
                match acks.join_next().await {
                    Some(result) => settle(result, &mut failure),
                    None => break,
                }
            }
            if failure.is_some() {
                // The batch goes again whole: publishing more of it now gains nothing.
                break;
            }
            let publish = PublishMessage::build()
                .payload(message.payload.clone().into())
                .message_id(&message.id);
            match jetstream.send_publish(self.subject.clone(), publish).await {
                Ok(ack) => {
                    let (subject, timeout) = (self.subject.clone(), self.timeout);
                    // The ack's own timeout (timeout_ms) bounds the wait.
                    acks.spawn(async move {
                        ack.await
                            .map(|ack| ack.duplicate)
                            .map_err(|e| why(&subject, timeout, &e))
                    });
                }
                Err(e) => {
                    failure.get_or_insert(why(&self.subject, self.timeout, &e));
                }
            }
        }
        // The acks of what went out, so the duplicates are counted and nothing is left
        // waiting when the batch is sent again.
        while let Some(result) = acks.join_next().await {
            settle(result, &mut failure);
        }
        match failure {
            None => Ok(()),
            Some(reason) => Err(reason),
        }
    }
}

/// Why a publish to `subject` failed, for the log and the dead letters.
fn why(subject: &str, timeout: Duration, error: &PublishError) -> String {
    match error.kind() {
        PublishErrorKind::StreamNotFound => format!(
            "no JetStream stream captures subject `{subject}` (no responders): create one (`nats stream add --subjects {subject}`)"
        ),
        PublishErrorKind::TimedOut => {
            format!("no ack within timeout_ms ({} ms)", timeout.as_millis())
        }
        _ => format!("cannot publish to subject `{subject}`: {error}"),
    }
}

impl Transport for Nats {
    fn describe(&self) -> String {
        format!("NATS {} subject {}", redact(&self.url), self.subject)
    }

    fn on_start(&mut self, ctx: &Context) {
        self.name = format!("antimony {}", ctx.component);
        self.reconnects = ctx.counter(&RECONNECTS, &[]);
        self.duplicates = ctx.counter(&DUPLICATES, &[]);
    }

    /// Any number: `delivery.batch_size` bounds a batch, `max_in_flight` the acks awaited.
    fn max_batch(&self) -> usize {
        usize::MAX
    }

    async fn send(&mut self, batch: &[Message]) -> Sent {
        let (client, jetstream) = match self.connected().await {
            Ok(connection) => connection,
            Err(reason) => return Sent::retry(reason),
        };
        // What the server can never take is refused before it breaks the connection (0:
        // not told yet, no limit known).
        let max_payload = match client.server_info().max_payload {
            0 => usize::MAX,
            max => max,
        };
        let refused: Vec<bool> = batch
            .iter()
            .map(|m| m.payload.len() + m.id.len() + HEADER_OVERHEAD > max_payload)
            .collect();
        let published = self.publish(&jetstream, batch, &refused).await;
        if !refused.contains(&true) {
            return match published {
                Ok(()) => Sent::All,
                Err(reason) => Sent::retry(reason),
            };
        }
        let results = batch
            .iter()
            .zip(&refused)
            .map(|(m, &refused)| match (&published, refused) {
                (_, true) => ItemResult::Reject(format!(
                    "{} bytes: more than the server's max_payload ({max_payload} bytes)",
                    m.payload.len()
                )),
                (Ok(()), false) => ItemResult::Delivered,
                (Err(reason), false) => ItemResult::Retry(reason.clone()),
            })
            .collect();
        Sent::Items(results)
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
            (r#"{"subject": "a", "retries": 3}"#, "retries"),
            (r#"{"subject": "a", "delivery": {"buffer": 0}}"#, "delivery"),
        ] {
            let error = check(text).expect_err(text);
            assert!(error.starts_with(option), "{text}: {error}");
        }
        let gone = check(r#"{"subject": "a", "retries": 3}"#).expect_err("retries");
        assert!(gone.contains("backoff_initial_ms"), "{gone}");
        assert!(check(r#"{"subject": "a", "typo": 1}"#).is_err());
    }
}
