//! The delivery options every network output shares (its `delivery` table).

use serde::Deserialize;

/// What a sink does with a message when its buffer is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFull {
    /// Wait for room: the run slows down (backpressure), nothing is lost.
    #[default]
    Block,
    /// Append to `spill_path`, replayed in order once the output is back.
    Spill,
    /// Drop the message, counted and warned about.
    Drop,
}

/// How a network output buffers, batches, retries and closes (the sink's `delivery` table).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Messages waiting to be sent at most (default 10,000).
    #[serde(default = "default_buffer")]
    pub buffer: usize,
    /// What to do when the buffer is full: `block` (default), `spill` or `drop`.
    #[serde(default)]
    pub on_full: OnFull,
    /// The spill file (`on_full = "spill"`): messages appended while the buffer is full,
    /// replayed in order; a file left by an earlier run is replayed first.
    #[serde(default)]
    pub spill_path: Option<String>,
    /// Messages per send at most, where the transport batches (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Milliseconds a batch waits to fill once its first message is there (default 200).
    #[serde(default = "default_batch_ms")]
    pub batch_ms: u64,
    /// Milliseconds before the first retry of a failed send (default 250); doubled per
    /// retry, with jitter.
    #[serde(default = "default_backoff_initial")]
    pub backoff_initial_ms: u64,
    /// Milliseconds between retries at most (default 30,000).
    #[serde(default = "default_backoff_max")]
    pub backoff_max_ms: u64,
    /// Seconds the close waits for delivery before spilling or setting aside what is left
    /// (default 30).
    #[serde(default = "default_close_timeout")]
    pub close_timeout_secs: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            buffer: default_buffer(),
            on_full: OnFull::default(),
            spill_path: None,
            batch_size: default_batch_size(),
            batch_ms: default_batch_ms(),
            backoff_initial_ms: default_backoff_initial(),
            backoff_max_ms: default_backoff_max(),
            close_timeout_secs: default_close_timeout(),
        }
    }
}

fn default_buffer() -> usize {
    10_000
}
fn default_batch_size() -> usize {
    500
}
fn default_batch_ms() -> u64 {
    200
}
fn default_backoff_initial() -> u64 {
    250
}
fn default_backoff_max() -> u64 {
    30_000
}
fn default_close_timeout() -> u64 {
    30
}

impl DeliveryConfig {
    /// Checks the options: `(option, what is wrong)`, the option named as in the topology
    /// file (`delivery.buffer`).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(1..=10_000_000).contains(&self.buffer) {
            return Err((
                "delivery",
                "`buffer` must be between 1 and 10000000".to_owned(),
            ));
        }
        if !(1..=100_000).contains(&self.batch_size) {
            return Err((
                "delivery",
                "`batch_size` must be between 1 and 100000".to_owned(),
            ));
        }
        if self.backoff_initial_ms == 0 || self.backoff_max_ms < self.backoff_initial_ms {
            return Err((
                "delivery",
                "`backoff_initial_ms` must be at least 1 and at most `backoff_max_ms`".to_owned(),
            ));
        }
        match (self.on_full, &self.spill_path) {
            (OnFull::Spill, None) => Err((
                "delivery",
                "`on_full = \"spill\"` needs `spill_path`, the file to spill to".to_owned(),
            )),
            (OnFull::Spill, Some(path)) if path.is_empty() => {
                Err(("delivery", "`spill_path` is empty".to_owned()))
            }
            (OnFull::Block | OnFull::Drop, Some(_)) => Err((
                "delivery",
                "`spill_path` is only used with `on_full = \"spill\"`".to_owned(),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<DeliveryConfig, String> {
        let config: DeliveryConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        config.check().map_err(|(_, e)| e)?;
        Ok(config)
    }

    #[test]
    fn options_are_checked() {
        let ok = check("{}").expect("defaults");
        assert_eq!((ok.buffer, ok.on_full), (10_000, OnFull::Block));
        assert!(check(r#"{"on_full": "spill", "spill_path": "s.jsonl"}"#).is_ok());
        for (text, wrong) in [
            (r#"{"buffer": 0}"#, "buffer"),
            (r#"{"batch_size": 0}"#, "batch_size"),
            (
                r#"{"backoff_initial_ms": 10, "backoff_max_ms": 5}"#,
                "backoff",
            ),
            (r#"{"on_full": "spill"}"#, "spill_path"),
            (r#"{"spill_path": "x"}"#, "spill_path"),
            (r#"{"on_full": "later"}"#, "variant"),
            (r#"{"typo": 1}"#, "unknown field"),
        ] {
            let error = check(text).expect_err(text);
            assert!(error.contains(wrong), "{text}: {error}");
        }
    }
}
