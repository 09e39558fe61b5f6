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

/// An address that cannot be listened on, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad address `{address}`: {reason} (write {expected})")]
pub struct ListenError {
    /// The address as written.
    pub address: String,
    /// What is wrong with it.
    pub reason: String,
    /// The forms the listener takes.
    pub expected: &'static str,
}

impl Listen {
    /// Parses `udp://`, `tcp://` or `unix://` addresses.
    pub fn parse(text: &str) -> Result<Self, ListenError> {
        let bad = |why: &str| ListenError {
            address: text.to_owned(),
            reason: why.to_owned(),
            expected: "udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH",
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

    /// Parses an address, refusing the schemes a listener does not take.
    pub fn parse_for(
        text: &str,
        takes: &[&str],
        expected: &'static str,
    ) -> Result<Self, ListenError> {
        let listen = Self::parse(text)?;
        let scheme = match listen {
            Listen::Udp(_) => "udp",
            Listen::Tcp(_) => "tcp",
            Listen::Unix(_) => "unix",
        };
        if !takes.contains(&scheme) {
            return Err(ListenError {
                address: text.to_owned(),
                reason: format!("this receiver does not listen on {scheme}://"),
                expected,
            });
        }
        Ok(listen)
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
        let reason = |text: &str| Listen::parse(text).err().map(|e| e.reason);
        assert_eq!(reason("127.0.0.1:514").as_deref(), Some("no scheme"));
        assert!(reason("http://x:1").is_some_and(|r| r.contains("unknown scheme")));
        assert!(Listen::parse("udp://nohost").is_err());
        assert!(Listen::parse_for("unix:///x", &["udp", "tcp"], "udp:// or tcp://").is_err());
        assert!(
            Listen::parse_for("udp://127.0.0.1:1", &["udp", "tcp"], "udp:// or tcp://").is_ok()
        );
    }
}
