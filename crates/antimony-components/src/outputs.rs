//! The network alert outputs: `alert_syslog`, `alert_elasticsearch`, `alert_splunk`,
//! `alert_webhook` and `alert_nats`. The transports, buffering and retries are antimony-io's
//! ([`antimony_io::sinks::delivery`]); what is here is what knows alerts: how an alert
//! becomes an item (its id, its client as the ordering key, its time, its severity as a
//! syslog severity, its body in the format asked for) and the options naming them.

use std::fmt::Write;
use std::sync::Arc;

use antimony_core::{ConfigError, StableHasher};
use antimony_detect::alert::Severity;
use antimony_detect::{Alert, AlertFormat, ChatFormat};
use antimony_engine::{BoltSpec, Options, Registry};
use antimony_io::sinks::delivery::{
    DeliveryConfig, DeliverySink, Encoder, Item, Render, Transport,
};
use antimony_io::sinks::elasticsearch::{Elasticsearch, ElasticsearchConfig};
use antimony_io::sinks::nats::{Nats, NatsSinkConfig};
use antimony_io::sinks::splunk::{Splunk, SplunkConfig};
use antimony_io::sinks::syslog::{Syslog, SyslogSinkConfig};
use antimony_io::sinks::webhook::{Webhook, WebhookConfig, WebhookKind};

use crate::record::{ALERTS, Tuple};

/// Registers the network alert outputs.
pub fn register(registry: &mut Registry<Tuple>) {
    registry.bolt(
        "alert_syslog",
        // Descriptions are static: the delivery options are spelled out in each.
        "sends alerts to a syslog receiver: `url` udp://, tcp:// (RFC 6587 octet counting) or tls:// (RFC 5425; `ca_file`, `server_name`), `rfc = \"5424\"` (default) or `\"3164\"`, `facility` (local0), `app_name`, `hostname`, `msg_id`, body `format = \"json\"` (default), `\"cef\"` (ArcSight), `\"leef\"` (QRadar), `\"ecs\"` or `\"eve\"`, `max_datagram` (UDP: longer messages are cut, counted), `timeout_ms`; the alert's id in structured data; `delivery = { buffer, on_full = \"block\"|\"spill\"|\"drop\", spill_path, batch_size, batch_ms, backoff_initial_ms, backoff_max_ms, close_timeout_secs }`",
        |options| {
            let mut config: SyslogSinkConfig = options.parse()?;
            let format = body_format(options, config.format.as_deref(), AlertFormat::Json, false)?;
            config.msg_id.get_or_insert_with(|| "alert".to_owned());
            config.ca_file = config.ca_file.map(|p| resolve(options, &p));
            config.delivery = delivery(options, config.delivery);
            config.check().map_err(|(o, e)| options.error(o, e))?;
            let option = if config.ca_file.is_some() { "ca_file" } else { "url" };
            let delivery = config.delivery.clone();
            spec(options, delivery, render(format, None), move || Syslog::new(&config), option)
        },
    );
    registry.bolt(
        "alert_elasticsearch",
        "indexes alerts in Elasticsearch or OpenSearch through `_bulk` (`create` with the alert's id as `_id`: a retry never duplicates): `url`, `index` (`antimony-%Y.%m.%d`: the alert's date), `username`/`password` or `api_key`, `ca_file`, `headers`, documents `format = \"ecs\"` (default, Elastic Common Schema), `\"json\"` or `\"eve\"`, `timeout_ms`; per-item 429/5xx retried in order per client, other refusals set aside; `delivery = { buffer, on_full = \"block\"|\"spill\"|\"drop\", spill_path, batch_size, batch_ms, backoff_initial_ms, backoff_max_ms, close_timeout_secs }`",
        |options| {
            let mut config: ElasticsearchConfig = options.parse()?;
            let format = body_format(options, config.format.as_deref(), AlertFormat::Ecs, true)?;
            config.ca_file = config.ca_file.map(|p| resolve(options, &p));
            config.delivery = delivery(options, config.delivery);
            config.check().map_err(|(o, e)| options.error(o, e))?;
            let option = if config.ca_file.is_some() { "ca_file" } else { "url" };
            let delivery = config.delivery.clone();
            spec(options, delivery, render(format, None), move || Elasticsearch::new(&config), option)
        },
    );
    registry.bolt(
        "alert_splunk",
        "sends alerts to Splunk's HTTP Event Collector (`/services/collector/event`, batched): `url`, `token`, `index`, `source`, `sourcetype` (antimony:alert), `host`, `ca_file`, body `format = \"json\"` (default), `\"ecs\"`, `\"eve\"`, `\"cef\"` or `\"leef\"`, `timeout_ms`; the alert's id as the indexed field `antimony_id`; `delivery = { buffer, on_full = \"block\"|\"spill\"|\"drop\", spill_path, batch_size, batch_ms, backoff_initial_ms, backoff_max_ms, close_timeout_secs }`",
        |options| {
            let mut config: SplunkConfig = options.parse()?;
            let format = body_format(options, config.format.as_deref(), AlertFormat::Json, false)?;
            config.ca_file = config.ca_file.map(|p| resolve(options, &p));
            config.delivery = delivery(options, config.delivery);
            config.check().map_err(|(o, e)| options.error(o, e))?;
            let option = if config.ca_file.is_some() { "ca_file" } else { "url" };
            let delivery = config.delivery.clone();
            spec(options, delivery, render(format, None), move || Splunk::new(&config), option)
        },
    );
    registry.bolt(
        "alert_webhook",
        "POSTs each alert to a webhook, in order, with its id as `Idempotency-Key`: `url`, `kind = \"json\"` (default, the alert's JSON), `\"slack\"` or `\"teams\"` (chat messages, domains defanged), `min_severity` (info, low, medium, high, critical), `headers`, `ca_file`, `timeout_ms`; 408, 429 (Retry-After honoured), 5xx and connection errors retried; `delivery = { buffer, on_full = \"block\"|\"spill\"|\"drop\", spill_path, backoff_initial_ms, backoff_max_ms, close_timeout_secs }`",
        |options| {
            let mut config: WebhookConfig = options.parse()?;
            let format = match config.kind {
                WebhookKind::Json => Body::Line(AlertFormat::Json),
                WebhookKind::Slack => Body::Chat(ChatFormat::Slack),
                WebhookKind::Teams => Body::Chat(ChatFormat::Teams),
            };
            let min_severity = match config.min_severity.as_deref() {
                None => None,
                Some(name) => Some(severity(name).ok_or_else(|| {
                    options.error(
                        "min_severity",
                        format!("`{name}` is not a severity: info, low, medium, high or critical"),
                    )
                })?),
            };
            config.ca_file = config.ca_file.map(|p| resolve(options, &p));
            config.delivery = delivery(options, config.delivery);
            config.check().map_err(|(o, e)| options.error(o, e))?;
            let option = if config.ca_file.is_some() { "ca_file" } else { "url" };
            let delivery = config.delivery.clone();
            spec(options, delivery, render(format, min_severity), move || Webhook::new(&config), option)
        },
    );
    registry.bolt(
        "alert_nats",
        "publishes alerts as JSON lines to a NATS JetStream `subject` (a stream must capture it), each with its id as Nats-Msg-Id (a re-publish after a restart or a retry is dropped by the stream): `url` (nats://user:password@host:port for credentials), `max_in_flight` acks awaited (256), `timeout_ms` per ack; a failed publish or a missing ack retries the batch; `delivery = { buffer, on_full = \"block\"|\"spill\"|\"drop\", spill_path, batch_size, batch_ms, backoff_initial_ms, backoff_max_ms, close_timeout_secs }`",
        |options| {
            let mut config: NatsSinkConfig = options.parse()?;
            config.delivery = delivery(options, config.delivery);
            config.check().map_err(|(o, e)| options.error(o, e))?;
            let delivery = config.delivery.clone();
            let json = render(Body::Line(AlertFormat::Json), None);
            spec(options, delivery, json, move || Nats::new(&config), "url")
        },
    );
}

/// The body an output sends for an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// One line in a SIEM format (JSON, ECS, eve, CEF, LEEF).
    Line(AlertFormat),
    /// A chat message (Slack, Teams).
    Chat(ChatFormat),
}

/// The `format` option: `default` when left out; `json_only` outputs (a bulk index) take
/// only the JSON forms.
fn body_format(
    options: &Options<'_>,
    name: Option<&str>,
    default: AlertFormat,
    json_only: bool,
) -> Result<Body, ConfigError> {
    let Some(name) = name else {
        return Ok(Body::Line(default));
    };
    let format: AlertFormat =
        name.parse()
            .map_err(|e: antimony_detect::alert_formats::UnknownFormat| {
                options.error("format", e.to_string())
            })?;
    if json_only && !format.is_json() {
        return Err(options.error(
            "format",
            format!("`{name}` is not JSON: documents must be json, ecs or eve"),
        ));
    }
    Ok(Body::Line(format))
}

fn severity(name: &str) -> Option<Severity> {
    [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
}

/// An alert's severity as a syslog severity (RFC 5424 table 2).
fn syslog_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
        Severity::Info => 6,
    }
}

/// An alert's client as the key its order is kept per.
fn client_key(alert: &Alert) -> u64 {
    match alert.client {
        None => StableHasher::hash64(&[b""]),
        Some(std::net::IpAddr::V4(a)) => StableHasher::hash64(&[&a.octets()]),
        Some(std::net::IpAddr::V6(a)) => StableHasher::hash64(&[&a.octets()]),
    }
}

/// Renders alerts (and nothing else) as items, leaving out those below `min_severity`.
fn render(format: Body, min_severity: Option<Severity>) -> Render<Tuple> {
    Arc::new(move |record: &Tuple, item: &mut Item| {
        let Tuple::Alert(alert) = record else {
            return false;
        };
        if min_severity.is_some_and(|min| alert.severity < min) {
            return false;
        }
        if let Some(id) = alert.id {
            let _ = write!(item.id, "{id}");
        }
        item.key = client_key(alert);
        item.time_micros = alert.ts;
        item.severity = syslog_severity(alert.severity);
        match format {
            Body::Line(format) => alert.write_as(format, &mut item.body),
            Body::Chat(ChatFormat::Slack) => alert.write_slack(&mut item.body),
            Body::Chat(ChatFormat::Teams) => alert.write_teams(&mut item.body),
        }
        true
    })
}

fn resolve(options: &Options<'_>, path: &str) -> String {
    options.resolve_path(path).to_string_lossy().into_owned()
}

/// The delivery options with the spill file relative to the topology file.
fn delivery(options: &Options<'_>, mut delivery: DeliveryConfig) -> DeliveryConfig {
    delivery.spill_path = delivery.spill_path.map(|p| resolve(options, &p));
    delivery
}

/// One global-only sink; `make` builds its encoder and transport on each worker (only
/// worker 0's sends), and once here so a topology that cannot make them is refused.
fn spec<T: Transport>(
    options: &Options<'_>,
    delivery: DeliveryConfig,
    render: Render<Tuple>,
    make: impl Fn() -> Result<(Encoder, T), String> + Send + Sync + 'static,
    option: &str,
) -> Result<BoltSpec<Tuple>, ConfigError> {
    let _checked = make().map_err(|e| options.error(option, e))?;
    Ok(BoltSpec::new(&[ALERTS.kind], None, move |_| match make() {
        Ok((encoder, transport)) => {
            DeliverySink::new(&delivery, Arc::clone(&render), encoder, transport)
        }
        Err(reason) => DeliverySink::unavailable(&delivery, Arc::clone(&render), reason),
    })
    .global_only())
}

#[cfg(test)]
mod tests {
    use super::*;
    use antimony_detect::alert::AlertId;

    fn alert(severity: Severity) -> Tuple {
        Tuple::Alert(Box::new(Alert {
            id: Some(AlertId(0xabc)),
            ts: 1_502_530_532_907_000,
            detector: "threat_intel".into(),
            severity,
            score: 90,
            domain: "a.evil.com".to_owned(),
            registered_domain: "evil.com".to_owned(),
            client: "10.0.0.1".parse().ok(),
            reason: "listed".to_owned(),
            evidence: Vec::new(),
        }))
    }

    fn item(render: &Render<Tuple>, record: &Tuple) -> Option<Item> {
        let mut item = Item::default();
        render(record, &mut item).then_some(item)
    }

    #[test]
    fn alerts_become_items_with_their_id_client_time_and_syslog_severity() {
        let json = render(Body::Line(AlertFormat::Json), None);
        let high = item(&json, &alert(Severity::High)).expect("an alert renders");
        let Tuple::Alert(a) = alert(Severity::High) else {
            unreachable!()
        };
        assert_eq!(high.id, a.id.map(|id| id.to_string()).unwrap_or_default());
        assert_eq!(high.time_micros, a.ts);
        assert_eq!(high.severity, 3, "high is err");
        assert_eq!(high.body, a.to_json());
        assert_eq!(high.key, client_key(&a));
        assert_eq!(
            item(&json, &alert(Severity::Critical)).map(|i| i.severity),
            Some(2)
        );
        assert_eq!(
            item(&json, &alert(Severity::Info)).map(|i| i.severity),
            Some(6)
        );
        assert!(item(&json, &Tuple::Empty).is_none(), "only alerts are sent");

        let cef = render(Body::Line(AlertFormat::Cef), None);
        assert!(
            item(&cef, &alert(Severity::Low))
                .expect("cef")
                .body
                .starts_with("CEF:0|")
        );
        let slack = render(Body::Chat(ChatFormat::Slack), Some(Severity::High));
        assert!(
            item(&slack, &alert(Severity::Medium)).is_none(),
            "below min_severity"
        );
        let body = item(&slack, &alert(Severity::Critical))
            .expect("slack")
            .body;
        assert!(
            body.starts_with('{') && body.contains("\"blocks\""),
            "{body}"
        );
    }

    #[test]
    fn severities_are_named_as_in_alerts() {
        assert_eq!(severity("high"), Some(Severity::High));
        assert_eq!(severity("urgent"), None);
    }
}
