//! Syslog out: RFC 5424 (default) or RFC 3164 messages over UDP, TCP or TLS (RFC 5425).
//!
//! - RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [antimony@32473 id="..."] BODY`,
//!   the record's id in a structured-data element (32473 is the private enterprise number
//!   RFC 5612 reserves for examples: the SD-ID is ours, not a registered one).
//! - RFC 3164: `<PRI>Mmm dd hh:mm:ss HOSTNAME APP-NAME[PROCID]: BODY`.
//!
//! Framing: a datagram per message over UDP (RFC 5426); over TCP and TLS, octet counting
//! (`LEN SP MSG`, RFC 6587 and 5425) for RFC 5424, a newline after each message for RFC 3164
//! (newlines inside the body become spaces). A message larger than `max_datagram` is cut to
//! it before it is sent over UDP, never refused (the header and id survive, the alert is
//! seen), and counted in `antimony_syslog_truncated_total`.
//!
//! A TCP or TLS connection is made on first use and made again, after the delivery backoff,
//! when a write fails or the receiver has closed it (checked before each batch: a write to a
//! connection the peer closed can seem to succeed and lose the batch). Syslog has no
//! acknowledgements: a batch written when the connection broke is sent again whole, so the
//! receiver can see a message twice (the id in the structured data tells).

use std::sync::Arc;
use std::time::Duration;

use antimony_core::Context;
use antimony_core::metrics::{Counter, CounterMetric};
use futures_util::FutureExt;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::rustls;

use crate::sinks::clock::Civil;
use crate::sinks::delivery::{DeliveryConfig, Encoder, Item, Message, Sent, Transport};

/// Messages cut to fit a datagram.
pub const TRUNCATED: CounterMetric = CounterMetric::new(
    "antimony_syslog_truncated_total",
    "Syslog messages cut to max_datagram bytes to fit a UDP datagram.",
);

/// The structured-data id that carries the record's id.
pub const SD_ID: &str = "antimony@32473";

/// Which syslog protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum Rfc {
    /// RFC 5424, the current protocol.
    #[default]
    #[serde(rename = "5424")]
    Rfc5424,
    /// RFC 3164, the BSD protocol older receivers read.
    #[serde(rename = "3164")]
    Rfc3164,
}

/// Options of a syslog output.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogSinkConfig {
    /// `udp://HOST:PORT`, `tcp://HOST:PORT` or `tls://HOST:PORT` (ports 514, 514, 6514 if left out).
    pub url: String,
    /// `"5424"` (default) or `"3164"`.
    #[serde(default)]
    pub rfc: Rfc,
    /// The facility (default `local0`): `kern`, `user`, `mail`, `daemon`, `auth`, `syslog`,
    /// `lpr`, `news`, `uucp`, `cron`, `authpriv`, `ftp`, `local0` to `local7`.
    #[serde(default = "default_facility")]
    pub facility: String,
    /// The APP-NAME (default `antimony`).
    #[serde(default = "default_app_name")]
    pub app_name: String,
    /// The HOSTNAME (default: this machine's name).
    #[serde(default)]
    pub hostname: Option<String>,
    /// The MSGID of RFC 5424 messages (default `-`, none).
    #[serde(default)]
    pub msg_id: Option<String>,
    /// The body's format, as the record type names its forms (alerts: `json`, the default,
    /// `cef`, `leef`, `ecs`).
    #[serde(default)]
    pub format: Option<String>,
    /// TLS: a PEM file of certificate authorities to trust besides the public ones.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// TLS: the name the server's certificate must carry (default: the URL's host).
    #[serde(default)]
    pub server_name: Option<String>,
    /// UDP: bytes per datagram at most (default 2,048, what RFC 5426 says receivers should
    /// take); longer messages are cut.
    #[serde(default = "default_max_datagram")]
    pub max_datagram: usize,
    /// Milliseconds to connect or write a batch (default 10,000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Buffering, batching, retries and spill.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

fn default_facility() -> String {
    "local0".to_owned()
}
fn default_app_name() -> String {
    "antimony".to_owned()
}
fn default_max_datagram() -> usize {
    2048
}
fn default_timeout() -> u64 {
    10_000
}

const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// How messages travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Udp,
    Tcp,
    Tls,
}

/// The URL's scheme, host and port.
fn endpoint(url: &str) -> Result<(Scheme, String, u16), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let (scheme, port) = match parsed.scheme() {
        "udp" => (Scheme::Udp, 514),
        "tcp" => (Scheme::Tcp, 514),
        "tls" => (Scheme::Tls, 6514),
        other => {
            return Err(format!(
                "`{other}://` is not a syslog transport: use udp://, tcp:// or tls://"
            ));
        }
    };
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("`{url}` names no host"))?
        .trim_matches(['[', ']'])
        .to_owned();
    Ok((scheme, host, parsed.port().unwrap_or(port)))
}

impl SyslogSinkConfig {
    /// Checks the options: `(option, what is wrong)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let (scheme, _, _) = endpoint(&self.url).map_err(|e| ("url", e))?;
        if !FACILITIES.contains(&self.facility.as_str()) {
            return Err((
                "facility",
                format!(
                    "`{}` is not a facility: one of {}",
                    self.facility,
                    FACILITIES.join(", ")
                ),
            ));
        }
        if scheme != Scheme::Tls && (self.ca_file.is_some() || self.server_name.is_some()) {
            return Err((
                "ca_file",
                "`ca_file` and `server_name` are for tls:// only".to_owned(),
            ));
        }
        if !(480..=65_507).contains(&self.max_datagram) {
            return Err((
                "max_datagram",
                "must be between 480 (what every receiver takes) and 65507".to_owned(),
            ));
        }
        if self.timeout_ms == 0 {
            return Err(("timeout_ms", "must be at least 1".to_owned()));
        }
        self.delivery.check()
    }
}

/// `text` as a header field: printable US-ASCII only (others become `_`), at most `max`
/// characters, `-` (the nil value) when empty.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if field.is_empty() {
        "-".to_owned()
    } else {
        field
    }
}

/// Appends an SD-PARAM value with `"`, `\` and `]` escaped (RFC 5424 section 6.3.3).
fn push_param_value(out: &mut String, value: &str) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An open stream, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

/// Whether the receiver has closed the connection (or broken it). Checked before each batch:
/// a write to a connection the peer closed can seem to succeed and lose the batch. The read
/// goes through TLS, so what a TLS server sends unasked (session tickets) is taken in and
/// is not mistaken for a closed connection; a syslog receiver sends nothing else.
fn closed(stream: &mut Box<dyn Stream>) -> bool {
    let mut buffer = [0u8; 512];
    match stream.read(&mut buffer).now_or_never() {
        None => false,
        Some(Ok(0) | Err(_)) => true,
        Some(Ok(_)) => false,
    }
}

/// Sends syslog messages; see the module docs.
pub struct Syslog {
    scheme: Scheme,
    host: String,
    port: u16,
    url: String,
    timeout: Duration,
    max_datagram: usize,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
    udp: Option<UdpSocket>,
    stream: Option<Box<dyn Stream>>,
    truncated: Counter,
}

/// The TLS client: the public roots and the `ca_file`'s.
fn tls_connector(
    config: &SyslogSinkConfig,
    host: &str,
) -> Result<
    (
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    ),
    String,
> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &config.ca_file {
        let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read `{path}`: {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("`{path}` does not read as PEM certificates: {e}"))?;
        if certificates.is_empty() {
            return Err(format!("`{path}` holds no PEM certificate"));
        }
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|e| format!("`{path}`: a certificate is refused: {e}"))?;
        }
    }
    // ring, the provider async-nats and reqwest already build here; aws-lc-rs (rustls's
    // post-quantum default) would add a C and cmake build for the same classical suites.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = config
        .server_name
        .clone()
        .unwrap_or_else(|| host.to_owned());
    let server_name = rustls::pki_types::ServerName::try_from(name.clone())
        .map_err(|_| format!("`{name}` is not a server name"))?;
    Ok((
        tokio_rustls::TlsConnector::from(Arc::new(client)),
        server_name,
    ))
}

impl Syslog {
    /// The transport and its encoder for checked options.
    pub fn new(config: &SyslogSinkConfig) -> Result<(Encoder, Syslog), String> {
        let (scheme, host, port) = endpoint(&config.url)?;
        let tls = match scheme {
            Scheme::Tls => Some(tls_connector(config, &host)?),
            _ => None,
        };
        let facility = FACILITIES
            .iter()
            .position(|f| *f == config.facility)
            .unwrap_or(16) as u32;
        let hostname = header_field(
            &config
                .hostname
                .clone()
                .or_else(crate::sinks::splunk::hostname)
                .unwrap_or_default(),
            255,
        );
        let rfc = config.rfc;
        let app_name = header_field(&config.app_name, if rfc == Rfc::Rfc5424 { 48 } else { 32 });
        let msg_id = header_field(config.msg_id.as_deref().unwrap_or("-"), 32);
        let pid = std::process::id();
        let stream = scheme != Scheme::Udp;
        let encoder: Encoder = Box::new(move |item: &Item, out: &mut String| {
            let mut message = String::with_capacity(item.body.len() + 128);
            let pri = facility * 8 + u32::from(item.severity.min(7));
            let time = Civil::from_micros(item.time_micros);
            message.push_str(&format!("<{pri}>"));
            match rfc {
                Rfc::Rfc5424 => {
                    message.push_str("1 ");
                    time.write_rfc3339(&mut message);
                    message.push_str(&format!(
                        " {hostname} {app_name} {pid} {msg_id} [{SD_ID} id=\""
                    ));
                    push_param_value(&mut message, &item.id);
                    message.push_str("\"] ");
                    message.push_str(&item.body);
                }
                Rfc::Rfc3164 => {
                    time.write_rfc3164(&mut message);
                    message.push_str(&format!(" {hostname} {app_name}[{pid}]: "));
                    // Newline framing: a newline in the body would end the message.
                    message.extend(
                        item.body
                            .chars()
                            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
                    );
                }
            }
            match (stream, rfc) {
                (true, Rfc::Rfc5424) => {
                    out.push_str(&format!("{} ", message.len()));
                    out.push_str(&message);
                }
                (true, Rfc::Rfc3164) => {
                    out.push_str(&message);
                    out.push('\n');
                }
                (false, _) => out.push_str(&message),
            }
        });
        let transport = Syslog {
            scheme,
            url: format!("syslog {}", config.url),
            host,
            port,
            timeout: Duration::from_millis(config.timeout_ms),
            max_datagram: config.max_datagram,
            tls,
            udp: None,
            stream: None,
            truncated: Counter::default(),
        };
        Ok((encoder, transport))
    }

    async fn connect(&mut self) -> Result<(), String> {
        let address = (self.host.as_str(), self.port);
        match self.scheme {
            Scheme::Udp => {
                let target = tokio::net::lookup_host(address)
                    .await
                    .map_err(|e| format!("cannot resolve {}: {e}", self.host))?
                    .next()
                    .ok_or_else(|| format!("{} has no address", self.host))?;
                let local = if target.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let socket = UdpSocket::bind(local)
                    .await
                    .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
                socket
                    .connect(target)
                    .await
                    .map_err(|e| format!("cannot reach {target}: {e}"))?;
                self.udp = Some(socket);
            }
            Scheme::Tcp | Scheme::Tls => {
                let tcp = TcpStream::connect(address)
                    .await
                    .map_err(|e| format!("cannot connect to {}:{}: {e}", self.host, self.port))?;
                let _ = tcp.set_nodelay(true);
                self.stream = Some(match &self.tls {
                    None => Box::new(tcp),
                    Some((connector, name)) => Box::new(
                        connector
                            .connect(name.clone(), tcp)
                            .await
                            .map_err(|e| format!("TLS with {}:{}: {e}", self.host, self.port))?,
                    ),
                });
            }
        }
        Ok(())
    }

    async fn write(&mut self, batch: &[Message]) -> Result<(), String> {
        if self.stream.as_mut().is_some_and(closed) {
            self.stream = None;
        }
        if self.udp.is_none() && self.stream.is_none() {
            self.connect().await?;
        }
        if let Some(socket) = &self.udp {
            for message in batch {
                let datagram = cut(&message.payload, self.max_datagram);
                if datagram.len() < message.payload.len() {
                    self.truncated.inc();
                }
                socket
                    .send(datagram.as_bytes())
                    .await
                    .map_err(|e| format!("cannot send a datagram: {e}"))?;
            }
            return Ok(());
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err("not connected".to_owned());
        };
        let mut bytes = Vec::new();
        for message in batch {
            bytes.extend_from_slice(message.payload.as_bytes());
        }
        stream
            .write_all(&bytes)
            .await
            .map_err(|e| format!("cannot write: {e}"))?;
        stream
            .flush()
            .await
            .map_err(|e| format!("cannot write: {e}"))
    }
}

impl Transport for Syslog {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn on_start(&mut self, ctx: &Context) {
        self.truncated = ctx.counter(&TRUNCATED, &[]);
    }

    fn max_batch(&self) -> usize {
        usize::MAX
    }

    async fn send(&mut self, batch: &[Message]) -> Sent {
        match tokio::time::timeout(self.timeout, self.write(batch)).await {
            Ok(Ok(())) => Sent::All,
            Ok(Err(reason)) => {
                self.stream = None;
                self.udp = None;
                Sent::retry(reason)
            }
            Err(_) => {
                self.stream = None;
                Sent::retry(format!(
                    "no progress within {} ms",
                    self.timeout.as_millis()
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> SyslogSinkConfig {
        serde_json::from_str(text).expect(text)
    }

    fn encode(text: &str, item: &Item) -> String {
        let config = config(text);
        config.check().expect("valid");
        let (encode, _) = Syslog::new(&config).expect("transport");
        let mut out = String::new();
        encode(item, &mut out);
        out
    }

    #[test]
    fn messages_are_written_and_framed() {
        let item = Item {
            id: "a\"]1".to_owned(),
            time_micros: 1_502_530_532_907_000,
            severity: 3,
            body: "{\"x\":\n1}".to_owned(),
            ..Item::default()
        };
        let pid = std::process::id();
        let udp = encode(
            r#"{"url": "udp://127.0.0.1", "hostname": "sensor 1", "msg_id": "alert"}"#,
            &item,
        );
        let expected = format!(
            "<131>1 2017-08-12T09:35:32.907000Z sensor_1 antimony {pid} alert [antimony@32473 id=\"a\\\"\\]1\"] {{\"x\":\n1}}"
        );
        assert_eq!(udp, expected);
        let tcp = encode(
            r#"{"url": "tcp://127.0.0.1", "hostname": "sensor 1", "msg_id": "alert"}"#,
            &item,
        );
        assert_eq!(tcp, format!("{} {expected}", expected.len()));
        let bsd = encode(
            r#"{"url": "tcp://127.0.0.1:1514", "rfc": "3164", "facility": "auth", "hostname": "h"}"#,
            &item,
        );
        assert_eq!(
            bsd,
            format!("<35>Aug 12 09:35:32 h antimony[{pid}]: {{\"x\": 1}}\n")
        );
    }

    #[test]
    fn options_are_checked() {
        for (text, option) in [
            (r#"{"url": "http://h"}"#, "url"),
            (r#"{"url": "udp://"}"#, "url"),
            (r#"{"url": "udp://h", "facility": "local9"}"#, "facility"),
            (r#"{"url": "udp://h", "ca_file": "x"}"#, "ca_file"),
            (r#"{"url": "udp://h", "max_datagram": 100}"#, "max_datagram"),
        ] {
            assert_eq!(config(text).check().map_err(|e| e.0), Err(option), "{text}");
        }
        assert!(
            serde_json::from_str::<SyslogSinkConfig>(r#"{"url": "udp://h", "rfc": "5425"}"#)
                .is_err()
        );
        assert_eq!(
            endpoint("tls://[::1]").expect("endpoint"),
            (Scheme::Tls, "::1".to_owned(), 6514)
        );
    }

    #[test]
    fn cuts_fall_on_characters() {
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(cut("abc", 5), "abc");
    }
}
