//! The API's token: required on every call but health and readiness when one is set (it must
//! be when the API listens beyond loopback), compared in constant time.

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// Whether `headers` carry `token` (`Authorization: Bearer TOKEN`); `None` needs nothing.
pub fn allowed(token: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(token) = token else {
        return true;
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant time over the bytes: how much of a guess matched is not told by timing.
    // (Lengths differ only for a wrong token, and a token's length is no secret worth
    // hiding.)
    given.len() == token.len() && bool::from(given.as_bytes().ct_eq(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::AUTHORIZATION,
            value.parse().expect("a header value"),
        );
        h
    }

    #[test]
    fn the_token_is_needed_only_when_set() {
        assert!(allowed(None, &HeaderMap::new()));
        assert!(allowed(Some("s3cret"), &headers("Bearer s3cret")));
        assert!(!allowed(Some("s3cret"), &headers("Bearer s3cre")));
        assert!(!allowed(Some("s3cret"), &headers("s3cret")));
        assert!(!allowed(Some("s3cret"), &HeaderMap::new()));
    }
}
