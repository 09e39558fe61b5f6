//! What the HTTP outputs share: the client, the URL check, and how an answer is read
//! (which failures a retry can change).

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{RequestBuilder, StatusCode};

use crate::sinks::delivery::Sent;

/// The most of an answer read: a bulk answer is about 200 bytes a document.
const MAX_ANSWER: usize = 32 << 20;

/// Checks an `http://` or `https://` URL.
pub fn check_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("`{url}` is not an http:// or https:// URL"));
    }
    Ok(parsed)
}

/// The URL without credentials, for log lines.
pub fn redact(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.set_query(None);
    url.to_string()
}

/// Checks custom headers and makes them a header map.
pub fn headers(headers: &BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|_| format!("`{name}` is not a header name"))?;
        let value = HeaderValue::try_from(value.as_str())
            .map_err(|_| format!("the value of header `{name}` is not a header value"))?;
        map.insert(name, value);
    }
    Ok(map)
}

/// One client per sink: `timeout_ms` for a whole request, `ca_file` (PEM) trusted beside the
/// public roots.
pub fn client(timeout_ms: u64, ca_file: Option<&str>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .connect_timeout(Duration::from_millis(timeout_ms.min(10_000)))
        .user_agent(concat!("antimony/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("`{path}` holds no PEM certificate: {e}"))?;
        if certificates.is_empty() {
            return Err(format!("`{path}` holds no PEM certificate"));
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))
}

/// An answer: its status, the wait it asked for, and its body (cut at 32 MiB).
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// `Retry-After`: seconds, or an HTTP date.
    pub retry_after: Option<Duration>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// What the status alone says of the whole request: `None` for a success.
    pub fn failure(&self) -> Option<Sent> {
        let status = self.status;
        if status.is_success() {
            return None;
        }
        let mut reason = format!("HTTP {status}");
        let body = self.body.trim();
        if !body.is_empty() {
            reason.push_str(": ");
            reason.extend(body.chars().take(300));
        }
        // A timeout, too many requests or a server error may pass; other refusals (400
        // bad request, 401, 403, 404, 413) stay whatever we try.
        let retry = status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error();
        Some(Sent::Failed {
            reason,
            retry,
            retry_after: self.retry_after,
        })
    }
}

/// Sends a request and reads its answer; an error before an answer (refused, reset, timed
/// out) is a failure worth retrying.
pub async fn send(request: RequestBuilder) -> Result<Answer, Sent> {
    let mut response = request.send().await.map_err(|e| Sent::retry(describe(e)))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(retry_after);
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ANSWER.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(e) => return Err(Sent::retry(format!("reading the answer: {}", describe(e)))),
        }
    }
    Ok(Answer {
        status,
        retry_after,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A `Retry-After` value: delay seconds, or an HTTP date (a date past is no wait).
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A request error with its causes (reqwest's own message names only the top one).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
        assert!(retry_after(&later).is_some_and(|d| d > Duration::from_secs(3000)));
        assert_eq!(retry_after("soon"), None);
    }
}
