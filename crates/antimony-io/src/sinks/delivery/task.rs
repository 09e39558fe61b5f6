//! The delivery task: takes messages from the buffer (and the spill file) in order, sends
//! them in batches and retries with backoff until each is delivered or refused for good.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use antimony_core::StableHasher;
use tokio::sync::mpsc;

use super::{DeliveryConfig, ItemResult, Message, Meters, Request, Sent, Shared, Transport};

/// The longest `Retry-After` honoured: a receiver asking for more is asked again then.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// A message taken for sending, and whether it came from the spill file.
struct Taken {
    message: Message,
    spilled: bool,
}

pub(super) struct Task<T> {
    pub(super) transport: T,
    pub(super) receiver: mpsc::Receiver<Message>,
    pub(super) shared: Arc<Shared>,
    pub(super) config: DeliveryConfig,
    pub(super) output: String,
    pub(super) meters: Meters,
}

/// The batch being sent, and messages taken but kept for the next batch (one of their key
/// is in this one).
#[derive(Default)]
struct Queue {
    batch: Vec<Message>,
    spilled: Vec<bool>,
    held: VecDeque<Taken>,
}

impl Queue {
    /// Everything taken, in order.
    fn drain(&mut self) -> Vec<Taken> {
        let mut all: Vec<Taken> = self
            .batch
            .drain(..)
            .zip(self.spilled.drain(..))
            .map(|(message, spilled)| Taken { message, spilled })
            .collect();
        all.extend(self.held.drain(..));
        all
    }
}

impl<T: Transport> Task<T> {
    fn max_batch(&self) -> usize {
        self.config
            .batch_size
            .min(self.transport.max_batch())
            .max(1)
    }

    /// Adds a message to the batch, or holds it (and all after it) for the next one.
    fn push(&self, queue: &mut Queue, taken: Taken) {
        let fits = queue.held.is_empty()
            && queue.batch.len() < self.max_batch()
            && !(self.transport.partial()
                && queue.batch.iter().any(|m| m.key == taken.message.key));
        if fits {
            queue.batch.push(taken.message);
            queue.spilled.push(taken.spilled);
        } else {
            queue.held.push_back(taken);
        }
    }

    /// Moves held messages into an empty batch.
    fn unhold(&self, queue: &mut Queue) {
        let held = std::mem::take(&mut queue.held);
        for taken in held {
            self.push(queue, taken);
        }
    }

    /// Takes what the buffer has now; false: the sink has closed it.
    fn take_buffered(&mut self, queue: &mut Queue) -> bool {
        let open = loop {
            if !queue.held.is_empty() || queue.batch.len() >= self.max_batch() {
                break true;
            }
            match self.receiver.try_recv() {
                Ok(message) => self.push(
                    queue,
                    Taken {
                        message,
                        spilled: false,
                    },
                ),
                Err(mpsc::error::TryRecvError::Empty) => break true,
                Err(mpsc::error::TryRecvError::Disconnected) => break false,
            }
        };
        self.meters
            .buffered
            .set(i64::try_from(self.receiver.len()).unwrap_or(i64::MAX));
        open
    }

    /// Takes messages from the spill file, once the buffer (whose messages came first) is empty.
    fn take_spilled(&mut self, queue: &mut Queue) {
        let room = self.max_batch().saturating_sub(queue.batch.len());
        if room == 0 {
            return;
        }
        let read = {
            let mut state = self.shared.lock();
            match state.spill.as_mut().map(|s| s.read(room)) {
                Some(Ok(read)) => read,
                Some(Err(e)) => {
                    state.failing = Some(format!("cannot read the spill file: {e}"));
                    Vec::new()
                }
                None => Vec::new(),
            }
        };
        for line in read {
            match line {
                Ok(message) => self.push(
                    queue,
                    Taken {
                        message,
                        spilled: true,
                    },
                ),
                Err((text, reason)) => {
                    self.meters.failed.inc();
                    self.shared.lock().dead.push((text, reason));
                }
            }
        }
    }

    /// Fills an empty batch, waiting for messages; false: nothing more will come.
    async fn fill(&mut self, queue: &mut Queue, open: &mut bool) -> bool {
        loop {
            self.unhold(queue);
            if queue.batch.is_empty() {
                *open = self.take_buffered(queue) && *open;
            }
            if queue.batch.is_empty() {
                self.take_spilled(queue);
            }
            if !queue.batch.is_empty() {
                self.linger(queue, open).await;
                return true;
            }
            if self.shared.lock().request.is_some() {
                return true;
            }
            if !*open {
                return false;
            }
            tokio::select! {
                message = self.receiver.recv() => match message {
                    Some(message) => self.push(queue, Taken { message, spilled: false }),
                    None => *open = false,
                },
                () = self.shared.wake.notified() => {}
                () = self.shared.requested.notified() => {}
            }
        }
    }

    /// Waits up to `batch_ms` for a batch of buffered messages to fill.
    async fn linger(&mut self, queue: &mut Queue, open: &mut bool) {
        *open = self.take_buffered(queue) && *open;
        let spilled = queue.spilled.iter().any(|&s| s);
        if spilled || !*open || self.config.batch_ms == 0 {
            return;
        }
        let until = tokio::time::Instant::now() + Duration::from_millis(self.config.batch_ms);
        while queue.held.is_empty() && queue.batch.len() < self.max_batch() {
            tokio::select! {
                message = self.receiver.recv() => match message {
                    Some(message) => self.push(queue, Taken { message, spilled: false }),
                    None => {
                        *open = false;
                        return;
                    }
                },
                () = tokio::time::sleep_until(until) => return,
                () = self.shared.requested.notified() => {
                    // Kept for the main loop, which answers requests.
                    self.shared.requested.notify_one();
                    return;
                }
            }
        }
    }

    /// Carries out the sink's request; true: the task must end.
    fn answer(&mut self, queue: &mut Queue) -> bool {
        let Some(request) = self.shared.lock().request.clone() else {
            return false;
        };
        let mut taken = queue.drain();
        while let Ok(message) = self.receiver.try_recv() {
            taken.push(Taken {
                message,
                spilled: false,
            });
        }
        let from_buffer = taken.iter().filter(|t| !t.spilled).count() as u64;
        let mut end = false;
        let mut state = self.shared.lock();
        match request {
            Request::Evacuate => {
                let messages: Vec<Message> = taken.iter().map(|t| t.message.clone()).collect();
                match state.spill.as_mut().map(|s| s.prepend(&messages)) {
                    Some(Ok(())) => {
                        state.resolved += from_buffer;
                        self.meters.spilled.add(from_buffer);
                        tracing::warn!(output = %self.output, messages = from_buffer, "output failing: buffered messages spilled");
                    }
                    failed => {
                        let why = match failed {
                            Some(Err(e)) => e.to_string(),
                            _ => "no spill file".to_owned(),
                        };
                        let reason = format!("{}: cannot spill: {why}", self.output);
                        tracing::error!("{reason}");
                        self.meters.failed.add(taken.len() as u64);
                        state.resolved += from_buffer;
                        state.dead.extend(
                            taken
                                .into_iter()
                                .map(|t| (t.message.payload, reason.clone())),
                        );
                    }
                }
            }
            Request::Abandon(reason) => {
                self.meters.failed.add(taken.len() as u64);
                if !taken.is_empty() {
                    tracing::error!(output = %self.output, messages = taken.len(), "{reason}");
                }
                state.resolved += from_buffer;
                state.dead.extend(
                    taken
                        .into_iter()
                        .map(|t| (t.message.payload, reason.clone())),
                );
                state.ended = true;
                end = true;
            }
        }
        state.request = None;
        drop(state);
        self.meters.buffered.set(0);
        self.shared.notify();
        end
    }

    /// Applies a send's outcome to the batch: what is delivered or refused leaves it, what
    /// may pass stays. Returns why the rest failed, and how long the receiver asked to wait.
    fn settle(&mut self, queue: &mut Queue, sent: Sent) -> Option<(String, Option<Duration>)> {
        let n = queue.batch.len();
        let results = match sent {
            Sent::All => vec![ItemResult::Delivered; n],
            Sent::Failed {
                reason,
                retry: true,
                retry_after,
            } => return Some((reason, retry_after)),
            Sent::Failed {
                reason,
                retry: false,
                ..
            } => vec![ItemResult::Reject(reason); n],
            Sent::Items(results) if results.len() == n => results,
            Sent::Items(results) => {
                return Some((
                    format!("the answer has {} results for {n} messages", results.len()),
                    None,
                ));
            }
        };
        let mut kept = Vec::new();
        let mut kept_spilled = Vec::new();
        let mut retry = None;
        let (mut resolved, mut delivered, mut replayed) = (0, 0, 0);
        let mut dead = Vec::new();
        for ((message, spilled), result) in queue
            .batch
            .drain(..)
            .zip(queue.spilled.drain(..))
            .zip(results)
        {
            match result {
                ItemResult::Delivered => {
                    delivered += 1;
                    if spilled {
                        replayed += 1;
                    } else {
                        resolved += 1;
                    }
                }
                ItemResult::Reject(reason) => {
                    tracing::warn!(output = %self.output, id = %message.id, "refused for good: {reason}");
                    if !spilled {
                        resolved += 1;
                    }
                    dead.push((message.payload, format!("{}: {reason}", self.output)));
                }
                ItemResult::Retry(reason) => {
                    retry.get_or_insert((reason, None));
                    kept.push(message);
                    kept_spilled.push(spilled);
                }
            }
        }
        queue.batch = kept;
        queue.spilled = kept_spilled;
        self.meters.delivered.add(delivered);
        self.meters.replayed.add(replayed);
        self.meters.rejected.add(dead.len() as u64);
        self.meters.failed.add(dead.len() as u64);
        let mut state = self.shared.lock();
        state.resolved += resolved;
        state.dead.extend(dead);
        if queue.batch.is_empty() {
            if state.failing.take().is_some() {
                tracing::info!(output = %self.output, "output reached again");
            }
            // Everything read from the spill file is delivered: empty it once nothing waits.
            if let Some(spill) = state.spill.as_mut()
                && queue.held.iter().all(|t| !t.spilled)
                && let Err(e) = spill.reset()
            {
                tracing::warn!(output = %self.output, error = %e, "cannot empty the spill file");
            }
        }
        drop(state);
        self.shared.notify();
        retry
    }

    /// Delivers until the buffer is closed and empty, or the sink gives up.
    pub(super) async fn run(mut self) {
        let mut queue = Queue::default();
        let mut open = true;
        let mut attempt = 0u32;
        loop {
            if self.answer(&mut queue) {
                break;
            }
            if queue.batch.is_empty() {
                if !self.fill(&mut queue, &mut open).await {
                    break;
                }
                continue;
            }
            let sent = self.transport.send(&queue.batch).await;
            let Some((reason, retry_after)) = self.settle(&mut queue, sent) else {
                attempt = 0;
                continue;
            };
            attempt = attempt.saturating_add(1);
            self.meters.retries.inc();
            if attempt.is_power_of_two() {
                tracing::warn!(output = %self.output, attempt, messages = queue.batch.len(), "cannot deliver, trying again: {reason}");
            }
            self.shared.lock().failing = Some(reason);
            self.shared.notify();
            let first = queue.batch.first().map_or("", |m| m.id.as_str());
            let delay = backoff(&self.config, first, attempt, retry_after);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.shared.requested.notified() => {}
            }
        }
        self.shared.lock().ended = true;
        self.meters.buffered.set(0);
        self.shared.notify();
    }
}

/// How long to wait before retry `attempt` (from 1) of a batch starting with `id`:
/// exponential, capped, with a jitter derived from the id and the attempt (the same from run
/// to run), and at least what the receiver asked for (`Retry-After`, up to 10 minutes).
fn backoff(
    config: &DeliveryConfig,
    id: &str,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let base = config
        .backoff_initial_ms
        .saturating_mul(
            1u64.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u64::MAX),
        )
        .min(config.backoff_max_ms);
    let hash = StableHasher::hash64(&[id.as_bytes(), &attempt.to_le_bytes()]);
    // Between half the delay and the whole of it.
    let jittered = base / 2 + hash % (base / 2 + 1);
    let delay = Duration::from_millis(jittered.max(1));
    retry_after.map_or(delay, |asked| delay.max(asked.min(MAX_RETRY_AFTER)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_and_honours_retry_after() {
        let config = DeliveryConfig {
            backoff_initial_ms: 100,
            backoff_max_ms: 1_000,
            ..DeliveryConfig::default()
        };
        for attempt in 1..=40 {
            let base = (100u64 << (attempt - 1).min(20)).min(1_000);
            let delay = backoff(&config, "id", attempt, None).as_millis() as u64;
            assert!(
                (base / 2..=base).contains(&delay),
                "attempt {attempt}: {delay} ms"
            );
            assert_eq!(
                backoff(&config, "id", attempt, None).as_millis() as u64,
                delay,
                "the same each time"
            );
        }
        assert_ne!(
            backoff(&config, "a", 3, None),
            backoff(&config, "b", 3, None),
            "ids spread retries"
        );
        let asked = Some(Duration::from_secs(5));
        assert_eq!(backoff(&config, "id", 1, asked), Duration::from_secs(5));
        assert_eq!(
            backoff(&config, "id", 1, Some(Duration::from_secs(86_400))),
            MAX_RETRY_AFTER
        );
    }
}
