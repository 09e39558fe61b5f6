//! Addresses a listening spout binds: `udp://HOST:PORT`, `tcp://HOST:PORT`, `unix:///PATH`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where to listen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// A UDP socket.
    Udp(SocketAddr),
    /// A TCP listener.
    Tcp(SocketAddr),
    /// A Unix stream socket (the file is created, and removed first if it is a stale socket).
    Unix(PathBuf),
}

impl Listen {
    /// Parses `udp://`, `tcp://` or `unix://` addresses.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "bad address `{text}`: {why} (write udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH)"
            )
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let socket = || rest.parse::<SocketAddr>().map_err(|e| bad(&e.to_string()));
        match scheme {
            "udp" => Ok(Listen::Udp(socket()?)),
            "tcp" => Ok(Listen::Tcp(socket()?)),
            "unix" if !rest.is_empty() => Ok(Listen::Unix(PathBuf::from(rest))),
            "unix" => Err(bad("no path")),
            other => Err(bad(&format!("unknown scheme `{other}`"))),
        }
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Udp(a) => write!(f, "udp://{a}"),
            Listen::Tcp(a) => write!(f, "tcp://{a}"),
            Listen::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_schemes_and_says_what_is_wrong() {
        assert_eq!(
            Listen::parse("udp://127.0.0.1:514"),
            Ok(Listen::Udp(
                "127.0.0.1:514".parse().unwrap_or_else(|_| unreachable!())
            ))
        );
        assert!(matches!(
            Listen::parse("tcp://[::1]:6000"),
            Ok(Listen::Tcp(_))
        ));
        assert_eq!(
            Listen::parse("unix:///run/dnstap.sock"),
            Ok(Listen::Unix("/run/dnstap.sock".into()))
        );
        assert!(
            Listen::parse("127.0.0.1:514")
                .err()
                .unwrap_or_default()
                .contains("no scheme")
        );
        assert!(
            Listen::parse("http://x:1")
                .err()
                .unwrap_or_default()
                .contains("unknown scheme")
        );
        assert!(Listen::parse("udp://nohost").is_err());
    }
}
