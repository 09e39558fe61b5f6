//! Splunk's HTTP Event Collector (`/services/collector/event`): batches of events, each
//! `{"time", "host", "source", "sourcetype", "index", "fields": {"antimony_id"}, "event"}`,
//! with `Authorization: Splunk TOKEN`.
//!
//! HEC without indexer acknowledgement: a 200 with `{"text":"Success","code":0}` means the
//! batch was taken. HEC keeps no ids, so a retry after an ambiguous failure (a timeout after
//! Splunk took the batch) can index it twice; every event carries the record's id as the
//! indexed field `antimony_id`, so searches can drop repeats (`| dedup antimony_id`). A 400
//! naming an `invalid-event-number` had the events before it taken: those are delivered,
//! that one set aside, and the ones after it sent again.

use antimony_core::text::push_json_str;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;

use crate::sinks::delivery::{DeliveryConfig, Encoder, Item, ItemResult, Message, Sent, Transport};
use crate::sinks::http;

/// Options of a Splunk HEC output.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkConfig {
    /// The collector (default `https://127.0.0.1:8088`); `/services/collector/event` is added.
    #[serde(default = "default_url")]
    pub url: String,
    /// The HEC token.
    pub token: String,
    /// The index (default: the token's).
    #[serde(default)]
    pub index: Option<String>,
    /// The events' source (default `antimony`).
    #[serde(default = "default_source")]
    pub source: String,
    /// The events' sourcetype (default `antimony:alert`).
    #[serde(default = "default_sourcetype")]
    pub sourcetype: String,
    /// The events' host (default: this machine's name).
    #[serde(default)]
    pub host: Option<String>,
    /// The events' format, as the record type names its forms (alerts: `json`, the default,
    /// `ecs`, `eve`, `cef`, `leef`; JSON forms are sent as objects, others as text).
    #[serde(default)]
    pub format: Option<String>,
    /// A PEM file of certificate authorities to trust besides the public ones.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Milliseconds a request may take (default 30,000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Buffering, batching, retries and spill.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

fn default_url() -> String {
    "https://127.0.0.1:8088".to_owned()
}
fn default_source() -> String {
    "antimony".to_owned()
}
fn default_sourcetype() -> String {
    "antimony:alert".to_owned()
}
fn default_timeout() -> u64 {
    30_000
}

impl SplunkConfig {
    /// Checks the options: `(option, what is wrong)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        http::check_url(&self.url).map_err(|e| ("url", e))?;
        if self.token.trim().is_empty() || HeaderValue::try_from(&self.token).is_err() {
            return Err((
                "token",
                "the HEC token is empty or not printable".to_owned(),
            ));
        }
        if self.timeout_ms == 0 {
            return Err(("timeout_ms", "must be at least 1".to_owned()));
        }
        self.delivery.check()
    }
}

/// This machine's name, for syslog headers and HEC events; `None` when it cannot be read.
pub(crate) fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Sends event batches to HEC; see the module docs.
pub struct Splunk {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    headers: HeaderMap,
}

impl Splunk {
    /// The transport and its encoder for checked options.
    pub fn new(config: &SplunkConfig) -> Result<(Encoder, Splunk), String> {
        let url = http::check_url(&config.url)?;
        let endpoint = reqwest::Url::parse(&format!(
            "{}/services/collector/event",
            url.as_str().trim_end_matches('/')
        ))
        .map_err(|e| format!("`{}`: {e}", config.url))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut token = HeaderValue::try_from(format!("Splunk {}", config.token))
            .map_err(|_| "the HEC token is not a header value".to_owned())?;
        token.set_sensitive(true);
        headers.insert(AUTHORIZATION, token);
        // The fields every event shares, written once.
        let mut fixed = String::new();
        fixed.push_str(",\"host\":");
        push_json_str(
            &mut fixed,
            &config.host.clone().or_else(hostname).unwrap_or_default(),
        );
        fixed.push_str(",\"source\":");
        push_json_str(&mut fixed, &config.source);
        fixed.push_str(",\"sourcetype\":");
        push_json_str(&mut fixed, &config.sourcetype);
        if let Some(index) = &config.index {
            fixed.push_str(",\"index\":");
            push_json_str(&mut fixed, index);
        }
        let encoder: Encoder = Box::new(move |item: &Item, out: &mut String| {
            let seconds = item.time_micros.div_euclid(1_000_000);
            let micros = item.time_micros.rem_euclid(1_000_000);
            out.push_str(&format!("{{\"time\":{seconds}.{micros:06}"));
            out.push_str(&fixed);
            out.push_str(",\"fields\":{\"antimony_id\":");
            push_json_str(out, &item.id);
            out.push_str("},\"event\":");
            // The renderer's JSON forms are objects; a text form (CEF, LEEF) is a string.
            if item.body.starts_with('{') {
                out.push_str(&item.body);
            } else {
                push_json_str(out, &item.body);
            }
            out.push('}');
        });
        let transport = Splunk {
            client: http::client(config.timeout_ms, config.ca_file.as_deref())?,
            endpoint,
            headers,
        };
        Ok((encoder, transport))
    }
}

/// HEC's answer: `{"text":"Success","code":0}`, or an error with its code.
#[derive(Deserialize)]
struct HecAnswer {
    #[serde(default)]
    text: String,
    #[serde(default)]
    code: i64,
    #[serde(default, rename = "invalid-event-number")]
    invalid_event: Option<usize>,
}

impl Transport for Splunk {
    fn describe(&self) -> String {
        format!("HEC {}", http::redact(&self.endpoint))
    }

    fn max_batch(&self) -> usize {
        usize::MAX
    }

    async fn send(&mut self, batch: &[Message]) -> Sent {
        let mut body = String::new();
        for message in batch {
            body.push_str(&message.payload);
            body.push('\n');
        }
        let request = self
            .client
            .post(self.endpoint.clone())
            .headers(self.headers.clone())
            .body(body);
        let answer = match http::send(request).await {
            Ok(answer) => answer,
            Err(sent) => return sent,
        };
        let parsed = serde_json::from_str::<HecAnswer>(&answer.body).ok();
        if answer.status.is_success() {
            return match parsed {
                Some(hec) if hec.code == 0 => Sent::All,
                Some(hec) => Sent::retry(format!("HEC answered code {}: {}", hec.code, hec.text)),
                None => Sent::retry("HEC's answer does not read"),
            };
        }
        if let Some(HecAnswer {
            invalid_event: Some(bad),
            text,
            code,
        }) = parsed
            && answer.status == reqwest::StatusCode::BAD_REQUEST
            && bad < batch.len()
        {
            let reason = format!("HEC refused the event (code {code}): {text}");
            return Sent::Items(
                (0..batch.len())
                    .map(|i| match i.cmp(&bad) {
                        std::cmp::Ordering::Less => ItemResult::Delivered,
                        std::cmp::Ordering::Equal => ItemResult::Reject(reason.clone()),
                        std::cmp::Ordering::Greater => {
                            ItemResult::Retry("sent after an event HEC refused".to_owned())
                        }
                    })
                    .collect(),
            );
        }
        answer.failure().unwrap_or(Sent::All)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_the_time_the_fixed_fields_and_the_id() {
        let config: SplunkConfig = serde_json::from_str(
            r#"{"url": "http://h:8088/", "token": "t", "host": "sensor1", "index": "dns"}"#,
        )
        .expect("config");
        config.check().expect("valid");
        let (encode, transport) = Splunk::new(&config).expect("transport");
        assert_eq!(
            transport.endpoint.as_str(),
            "http://h:8088/services/collector/event"
        );
        let mut out = String::new();
        let mut item = Item {
            id: "7".to_owned(),
            time_micros: 1_500_000_000_000_001,
            body: "{\"a\":1}".to_owned(),
            ..Item::default()
        };
        encode(&item, &mut out);
        out.push('|');
        item.body = "CEF:0|x".to_owned();
        encode(&item, &mut out);
        assert_eq!(
            out,
            concat!(
                r#"{"time":1500000000.000001,"host":"sensor1","source":"antimony","sourcetype":"antimony:alert","index":"dns","fields":{"antimony_id":"7"},"event":{"a":1}}|"#,
                r#"{"time":1500000000.000001,"host":"sensor1","source":"antimony","sourcetype":"antimony:alert","index":"dns","fields":{"antimony_id":"7"},"event":"CEF:0|x"}"#
            )
        );
        let bad: SplunkConfig = serde_json::from_str(r#"{"token": " "}"#).expect("config");
        assert_eq!(bad.check().map_err(|e| e.0), Err("token"));
    }
}
