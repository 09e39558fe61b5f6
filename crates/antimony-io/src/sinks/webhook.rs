//! A webhook: each record POSTed as JSON, one request per record, in order.
//!
//! Each request carries the record's id as `Idempotency-Key`, so a receiver that keeps them
//! can drop the repeat a retry after an ambiguous failure (a timeout after it took the
//! request) would make. 2xx is delivered; 408, 429 and 5xx, and failures to connect or
//! answer, are retried with backoff (a `Retry-After`, in seconds or as a date, is
//! honoured); any other status is set aside with the reason.

use std::collections::BTreeMap;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::sinks::delivery::{DeliveryConfig, Encoder, Item, Message, Sent, Transport};
use crate::sinks::http;

/// The header that carries the record's id.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What shape the JSON body has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookKind {
    /// The record's own JSON.
    #[default]
    Json,
    /// A Slack incoming-webhook message (`text` and `blocks`).
    Slack,
    /// A Microsoft Teams message (an Adaptive Card).
    Teams,
}

/// Options of a webhook output.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// The body's shape: `json` (default), `slack` or `teams`.
    #[serde(default)]
    pub kind: WebhookKind,
    /// Records below this severity are not sent, as the record type names severities
    /// (alerts: `info`, `low`, `medium`, `high`, `critical`); default: all are.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// Custom headers sent with each request (a token, say).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A PEM file of certificate authorities to trust besides the public ones.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Milliseconds a request may take (default 10,000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Buffering, retries and spill (one record per request: no batching).
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

fn default_timeout() -> u64 {
    10_000
}

impl WebhookConfig {
    /// Checks the options: `(option, what is wrong)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        http::check_url(&self.url).map_err(|e| ("url", e))?;
        http::headers(&self.headers).map_err(|e| ("headers", e))?;
        if self.timeout_ms == 0 {
            return Err(("timeout_ms", "must be at least 1".to_owned()));
        }
        self.delivery.check()
    }
}

/// POSTs each record; see the module docs.
pub struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
}

impl Webhook {
    /// The transport and its encoder for checked options.
    pub fn new(config: &WebhookConfig) -> Result<(Encoder, Webhook), String> {
        let url = http::check_url(&config.url)?;
        let mut headers = http::headers(&config.headers)?;
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let encoder: Encoder = Box::new(|item: &Item, out: &mut String| out.push_str(&item.body));
        let transport = Webhook {
            client: http::client(config.timeout_ms, config.ca_file.as_deref())?,
            url,
            headers,
        };
        Ok((encoder, transport))
    }
}

impl Transport for Webhook {
    fn describe(&self) -> String {
        format!("webhook {}", http::redact(&self.url))
    }

    fn max_batch(&self) -> usize {
        1
    }

    async fn send(&mut self, batch: &[Message]) -> Sent {
        for message in batch {
            let mut headers = self.headers.clone();
            if let Ok(id) = HeaderValue::try_from(&message.id) {
                headers.insert(HeaderName::from_static(IDEMPOTENCY_KEY), id);
            }
            let request = self
                .client
                .post(self.url.clone())
                .headers(headers)
                .body(message.payload.clone());
            match http::send(request).await {
                Ok(answer) => {
                    if let Some(failure) = answer.failure() {
                        return failure;
                    }
                }
                Err(sent) => return sent,
            }
        }
        Sent::All
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let ok: WebhookConfig =
            serde_json::from_str(r#"{"url": "https://hooks.example/x", "kind": "slack"}"#)
                .expect("config");
        assert!(ok.check().is_ok());
        assert_eq!(ok.kind, WebhookKind::Slack);
        for (text, option) in [
            (r#"{"url": "hooks"}"#, "url"),
            (
                r#"{"url": "http://h", "headers": {"x": "a\nb"}}"#,
                "headers",
            ),
            (r#"{"url": "http://h", "timeout_ms": 0}"#, "timeout_ms"),
        ] {
            let config: WebhookConfig = serde_json::from_str(text).expect(text);
            assert_eq!(config.check().map_err(|e| e.0), Err(option), "{text}");
        }
        assert!(
            serde_json::from_str::<WebhookConfig>(r#"{"url": "http://h", "kind": "irc"}"#).is_err()
        );
    }
}
