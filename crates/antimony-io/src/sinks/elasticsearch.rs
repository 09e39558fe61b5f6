//! Elasticsearch and OpenSearch through the `_bulk` API: each record a `create` action with
//! its stable id as `_id`, then its document.
//!
//! # Exactly once, in order per key
//!
//! `create` with our `_id` makes a retry harmless: a document already indexed answers 409,
//! which counts as delivered. The bulk answer is read item by item: 2xx and 409 are
//! delivered; 429 and 5xx are retried; any other status (a mapping conflict, a document the
//! index refuses) is set aside with the reason the server gave. A batch holds at most one
//! document per key ([`Transport::partial`]), and its retried items are sent again, alone,
//! before anything after them, so a key's documents are created in order.

use std::collections::BTreeMap;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;

use crate::sinks::clock::Civil;
use crate::sinks::delivery::{DeliveryConfig, Encoder, Item, ItemResult, Sent, Transport};
use crate::sinks::http;

/// Options of an Elasticsearch / OpenSearch bulk output.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchConfig {
    /// The cluster (default `http://127.0.0.1:9200`).
    #[serde(default = "default_url")]
    pub url: String,
    /// The index; `%Y`, `%m` and `%d` are the record's UTC date (`antimony-%Y.%m.%d`).
    /// Default `antimony-alerts`.
    #[serde(default = "default_index")]
    pub index: String,
    /// Basic authentication user (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// Basic authentication password.
    #[serde(default)]
    pub password: Option<String>,
    /// An API key (`Authorization: ApiKey ...`), instead of a user.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The documents' format, as the record type names its forms (alerts: `ecs`, the
    /// default, or `json`).
    #[serde(default)]
    pub format: Option<String>,
    /// A PEM file of certificate authorities to trust besides the public ones.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Milliseconds a bulk request may take (default 30,000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Custom headers sent with each request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Buffering, batching, retries and spill.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

fn default_url() -> String {
    "http://127.0.0.1:9200".to_owned()
}
fn default_index() -> String {
    "antimony-alerts".to_owned()
}
fn default_timeout() -> u64 {
    30_000
}

impl ElasticsearchConfig {
    /// Checks the options: `(option, what is wrong)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        http::check_url(&self.url).map_err(|e| ("url", e))?;
        if self.index.is_empty()
            || self.index.starts_with(['_', '-', '+'])
            || self
                .index
                .contains(['"', '\\', '/', '*', '?', '<', '>', '|', ' ', ',', '#', ':'])
        {
            return Err((
                "index",
                format!(
                    "`{}` is not an index name (lower case, no spaces or \\/*?\"<>|,#:, not starting with _ - +)",
                    self.index
                ),
            ));
        }
        match (&self.username, &self.password, &self.api_key) {
            (Some(_), None, _) | (None, Some(_), _) => {
                return Err((
                    "username",
                    "`username` and `password` go together".to_owned(),
                ));
            }
            (Some(_), Some(_), Some(_)) => {
                return Err((
                    "api_key",
                    "give `api_key` or `username`, not both".to_owned(),
                ));
            }
            _ => {}
        }
        if self.timeout_ms == 0 {
            return Err(("timeout_ms", "must be at least 1".to_owned()));
        }
        http::headers(&self.headers).map_err(|e| ("headers", e))?;
        self.delivery.check()
    }
}

/// Sends bulk requests; see the module docs.
pub struct Elasticsearch {
    client: reqwest::Client,
    bulk: reqwest::Url,
    headers: HeaderMap,
    /// Basic authentication (user, password).
    basic: Option<(String, String)>,
    describe: String,
}

impl Elasticsearch {
    /// The transport and its encoder for checked options.
    pub fn new(config: &ElasticsearchConfig) -> Result<(Encoder, Elasticsearch), String> {
        let url = http::check_url(&config.url)?;
        let bulk = reqwest::Url::parse(&format!("{}/_bulk", url.as_str().trim_end_matches('/')))
            .map_err(|e| format!("`{}`: {e}", config.url))?;
        let mut headers = http::headers(&config.headers)?;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        if let Some(key) = &config.api_key {
            let mut value = HeaderValue::try_from(format!("ApiKey {key}"))
                .map_err(|_| "`api_key` is not a header value".to_owned())?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let index = config.index.clone();
        let encoder: Encoder = Box::new(move |item: &Item, out: &mut String| {
            out.push_str(r#"{"create":{"_index":"#);
            let mut name = String::new();
            Civil::from_micros(item.time_micros).expand(&index, &mut name);
            antimony_core::text::push_json_str(out, &name.to_lowercase());
            out.push_str(r#","_id":"#);
            antimony_core::text::push_json_str(out, &item.id);
            out.push_str("}}\n");
            out.push_str(&item.body);
            out.push('\n');
        });
        let transport = Elasticsearch {
            client: http::client(config.timeout_ms, config.ca_file.as_deref())?,
            describe: format!("bulk {}", http::redact(&bulk)),
            bulk,
            headers,
            basic: config.username.clone().zip(config.password.clone()),
        };
        Ok((encoder, transport))
    }
}

/// One item of a bulk answer: `{"create": {"status": 201, "error": {...}}}`.
#[derive(Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct BulkAnswer {
    #[serde(default)]
    items: Vec<BTreeMap<String, BulkItem>>,
}

/// What one item's status says.
fn item_result(item: Option<&BulkItem>) -> ItemResult {
    let Some(item) = item else {
        return ItemResult::Retry("a bulk answer item without an action".to_owned());
    };
    let why = || {
        let error = item.error.as_ref();
        let kind = error
            .and_then(|e| e.get("type"))
            .and_then(|t| t.as_str())
            .unwrap_or("error");
        let reason = error
            .and_then(|e| e.get("reason"))
            .and_then(|t| t.as_str())
            .unwrap_or("");
        format!("bulk item {}: {kind}: {reason}", item.status)
    };
    match item.status {
        // Created, or already there with our id: a retry of something the server had.
        200..=299 | 409 => ItemResult::Delivered,
        429 | 500..=599 => ItemResult::Retry(why()),
        _ => ItemResult::Reject(why()),
    }
}

impl Transport for Elasticsearch {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn max_batch(&self) -> usize {
        usize::MAX
    }

    fn partial(&self) -> bool {
        true
    }

    async fn send(&mut self, batch: &[crate::sinks::delivery::Message]) -> Sent {
        let body: String = batch.iter().map(|m| m.payload.as_str()).collect();
        let mut request = self
            .client
            .post(self.bulk.clone())
            .headers(self.headers.clone())
            .body(body);
        if let Some((user, password)) = &self.basic {
            request = request.basic_auth(user, Some(password));
        }
        let answer = match http::send(request).await {
            Ok(answer) => answer,
            Err(sent) => return sent,
        };
        if let Some(failure) = answer.failure() {
            return failure;
        }
        match serde_json::from_str::<BulkAnswer>(&answer.body) {
            // With `errors: false` every item succeeded, but the items are read anyway:
            // their count is checked against the batch.
            Ok(parsed) => Sent::Items(
                parsed
                    .items
                    .iter()
                    .map(|item| item_result(item.values().next()))
                    .collect(),
            ),
            // An answer we cannot read says nothing of the items: send again (the ids make
            // what was created answer 409).
            Err(e) => Sent::retry(format!("the bulk answer does not read: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<ElasticsearchConfig, String> {
        let config: ElasticsearchConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        config
            .check()
            .map_err(|(option, e)| format!("{option}: {e}"))?;
        Ok(config)
    }

    #[test]
    fn options_are_checked() {
        let ok = check("{}").expect("defaults");
        assert_eq!(ok.index, "antimony-alerts");
        for (text, option) in [
            (r#"{"url": "ftp://x"}"#, "url"),
            (r#"{"index": "a b"}"#, "index"),
            (r#"{"index": "_x"}"#, "index"),
            (r#"{"username": "u"}"#, "username"),
            (
                r#"{"username": "u", "password": "p", "api_key": "k"}"#,
                "api_key",
            ),
            (r#"{"headers": {"bad name": "x"}}"#, "headers"),
            (r#"{"delivery": {"buffer": 0}}"#, "delivery"),
        ] {
            let error = check(text).expect_err(text);
            assert!(error.starts_with(option), "{text}: {error}");
        }
    }

    #[test]
    fn actions_name_the_dated_index_and_the_id() {
        let config = check(r#"{"index": "Antimony-%Y.%m.%d"}"#).expect("valid");
        let (encode, transport) = Elasticsearch::new(&config).expect("transport");
        assert_eq!(transport.bulk.as_str(), "http://127.0.0.1:9200/_bulk");
        let item = Item {
            id: "a1".to_owned(),
            time_micros: 1_502_530_532_907_000,
            body: r#"{"x":1}"#.to_owned(),
            ..Item::default()
        };
        let mut out = String::new();
        encode(&item, &mut out);
        assert_eq!(
            out,
            "{\"create\":{\"_index\":\"antimony-2017.08.12\",\"_id\":\"a1\"}}\n{\"x\":1}\n"
        );
    }

    #[test]
    fn items_are_read_one_by_one() {
        let answer: BulkAnswer = serde_json::from_str(
            r#"{"errors":true,"items":[
                {"create":{"status":201}},
                {"create":{"status":409,"error":{"type":"version_conflict_engine_exception"}}},
                {"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
                {"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad field"}}}]}"#,
        )
        .expect("answer");
        let results: Vec<ItemResult> = answer
            .items
            .iter()
            .map(|i| item_result(i.values().next()))
            .collect();
        assert_eq!(
            results,
            [
                ItemResult::Delivered,
                ItemResult::Delivered,
                ItemResult::Retry(
                    "bulk item 429: es_rejected_execution_exception: queue full".to_owned()
                ),
                ItemResult::Reject("bulk item 400: mapper_parsing_exception: bad field".to_owned()),
            ]
        );
    }
}
