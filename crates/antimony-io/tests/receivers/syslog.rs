//! Real syslog receivers on loopback (UDP, TCP, TLS with a certificate made here) and a
//! strict RFC 5424 parser: what a SIEM's collector would read.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio_rustls::rustls;

/// One RFC 5424 message, its fields as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub pri: u8,
    pub version: u8,
    pub timestamp: String,
    pub hostname: String,
    pub app_name: String,
    pub proc_id: String,
    pub msg_id: String,
    /// (SD-ID, [(name, unescaped value)]).
    pub structured: Vec<(String, Vec<(String, String)>)>,
    pub msg: String,
}

/// Parses one RFC 5424 message strictly (section 6's ABNF), or says what is wrong.
pub fn parse_5424(text: &str) -> Result<Message, String> {
    let mut rest = text;
    let take = |rest: &mut &str, what: &str, max: usize| -> Result<String, String> {
        let end = rest
            .find(' ')
            .ok_or_else(|| format!("{what}: no space after it"))?;
        let field = &rest[..end];
        if field.is_empty() || field.len() > max || !field.bytes().all(|b| (33..=126).contains(&b))
        {
            return Err(format!(
                "{what}: `{field}` is not 1 to {max} printable characters"
            ));
        }
        *rest = &rest[end + 1..];
        Ok(field.to_owned())
    };
    let close = rest.find('>').ok_or("PRI: no `>`")?;
    if !rest.starts_with('<') || !(2..=4).contains(&close) {
        return Err("PRI: not <1 to 3 digits>".to_owned());
    }
    let pri: u8 = rest[1..close]
        .parse()
        .ok()
        .filter(|p| *p <= 191)
        .ok_or("PRI: not 0 to 191")?;
    if rest[1..close].len() > 1 && rest[1..close].starts_with('0') {
        return Err("PRI: a leading zero".to_owned());
    }
    rest = &rest[close + 1..];
    let version = take(&mut rest, "VERSION", 2)?;
    if version != "1" {
        return Err(format!("VERSION: `{version}`"));
    }
    let timestamp = take(&mut rest, "TIMESTAMP", 32)?;
    check_timestamp(&timestamp)?;
    let hostname = take(&mut rest, "HOSTNAME", 255)?;
    let app_name = take(&mut rest, "APP-NAME", 48)?;
    let proc_id = take(&mut rest, "PROCID", 128)?;
    let msg_id = take(&mut rest, "MSGID", 32)?;
    let mut structured = Vec::new();
    if let Some(after) = rest.strip_prefix('-') {
        rest = after;
    } else {
        while let Some(after) = rest.strip_prefix('[') {
            rest = after;
            let end = rest.find([' ', ']']).ok_or("SD-ID: not closed")?;
            let id = rest[..end].to_owned();
            if id.is_empty() || id.len() > 32 || id.contains(['=', '"']) {
                return Err(format!("SD-ID: `{id}`"));
            }
            rest = &rest[end..];
            let mut params = Vec::new();
            while let Some(after) = rest.strip_prefix(' ') {
                let eq = after.find("=\"").ok_or("SD-PARAM: no =\"")?;
                let name = after[..eq].to_owned();
                let mut value = String::new();
                let mut chars = after[eq + 2..].char_indices();
                let end = loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c @ ('"' | '\\' | ']'))) => value.push(c),
                            Some((_, c)) => {
                                value.push('\\');
                                value.push(c);
                            }
                            None => return Err("SD-PARAM: ends in an escape".to_owned()),
                        },
                        Some((i, '"')) => break i,
                        Some((_, ']')) => return Err("SD-PARAM: an unescaped ]".to_owned()),
                        Some((_, c)) => value.push(c),
                        None => return Err("SD-PARAM: not closed".to_owned()),
                    }
                };
                params.push((name, value));
                rest = &after[eq + 2 + end + 1..];
            }
            rest = rest.strip_prefix(']').ok_or("SD-ELEMENT: no ]")?;
            structured.push((id, params));
        }
        if structured.is_empty() {
            return Err("STRUCTURED-DATA: neither - nor [".to_owned());
        }
    }
    let msg = match rest.strip_prefix(' ') {
        Some(msg) => msg.to_owned(),
        None if rest.is_empty() => String::new(),
        None => return Err(format!("MSG: no space before `{rest}`")),
    };
    Ok(Message {
        pri,
        version: 1,
        timestamp,
        hostname,
        app_name,
        proc_id,
        msg_id,
        structured,
        msg,
    })
}

/// FULL-DATE "T" FULL-TIME with at most 6 fraction digits and `Z` or an offset.
fn check_timestamp(t: &str) -> Result<(), String> {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let ok = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    let zone = &t[19..];
    let zone = match zone.strip_prefix('.') {
        Some(after) => {
            let n = after.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=6).contains(&n) {
                return Err(format!("TIMESTAMP: `{t}`: 1 to 6 fraction digits"));
            }
            &after[n..]
        }
        None => zone,
    };
    if ok && (zone == "Z" || (zone.len() == 6 && (zone.starts_with('+') || zone.starts_with('-'))))
    {
        Ok(())
    } else {
        Err(format!("TIMESTAMP: `{t}`"))
    }
}

/// Reads octet-counted frames (`LEN SP MSG`, RFC 6587 section 3.4.1) until the stream ends.
pub fn read_octet_counted(stream: impl Read, each: &mut impl FnMut(String)) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = Vec::new();
        match reader.read_until(b' ', &mut length) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&length);
        let Ok(n) = text.trim_end().parse::<usize>() else {
            each(format!("BAD FRAME: `{text}`"));
            return;
        };
        let mut message = vec![0; n];
        if reader.read_exact(&mut message).is_err() {
            return;
        }
        each(String::from_utf8_lossy(&message).into_owned());
    }
}

/// A listener handing every message it reads to a channel.
pub struct Listener {
    pub addr: SocketAddr,
    pub messages: mpsc::Receiver<String>,
}

pub fn udp() -> Listener {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = socket.local_addr().expect("address");
    let (send, messages) = mpsc::channel();
    thread::spawn(move || {
        let mut buffer = vec![0; 65_536];
        while let Ok(n) = socket.recv(&mut buffer) {
            if send
                .send(String::from_utf8_lossy(&buffer[..n]).into_owned())
                .is_err()
            {
                return;
            }
        }
    });
    Listener { addr, messages }
}

/// A TCP listener; `newline`: RFC 3164 framing, else octet counting.
pub fn tcp(newline: bool) -> Listener {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let (send, messages) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let send = send.clone();
            thread::spawn(move || {
                let mut each = |m: String| {
                    let _ = send.send(m);
                };
                if newline {
                    for line in BufReader::new(stream).lines() {
                        let Ok(line) = line else { return };
                        each(line);
                    }
                } else {
                    read_octet_counted(stream, &mut each);
                }
            });
        }
    });
    Listener { addr, messages }
}

/// A TLS listener (octet counting) with a certificate for `localhost` signed by a CA made
/// here; returns the CA's PEM, for the sink's `ca_file`.
pub fn tls() -> (Listener, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("certificate");
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let (send, messages) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let send = send.clone();
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let Ok(connection) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let tls = rustls::StreamOwned::new(connection, stream);
                read_octet_counted(tls, &mut |m| {
                    let _ = send.send(m);
                });
            });
        }
    });
    (Listener { addr, messages }, ca.pem())
}

/// A CEF or LEEF record: its header fields after the version, and its key=value pairs.
pub type Record = (Vec<String>, Vec<(String, String)>);

/// Splits `text` at each `|` not escaped by `\`, `n` fields at most (the last one keeps the
/// rest), unescaping `\|` and `\\` in all but the last.
fn split_header(text: &str, n: usize) -> Result<Vec<String>, String> {
    let mut fields = vec![String::new()];
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if fields.len() == n {
            fields[n - 1] = text[i..].to_owned();
            return Ok(fields);
        }
        let last = fields.len() - 1;
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('\\' | '|'))) => fields[last].push(e),
                other => return Err(format!("header: a bad escape `\\{other:?}`")),
            },
            '|' => fields.push(String::new()),
            '\n' | '\r' => return Err("header: a line break".to_owned()),
            c => fields[last].push(c),
        }
    }
    if fields.len() < n {
        return Err(format!("header: {} fields, not {n}", fields.len()));
    }
    Ok(fields)
}

/// A CEF record: `CEF:0`, 6 header fields, then the extension's key=value pairs, unescaped.
pub fn parse_cef(text: &str) -> Result<Record, String> {
    let fields = split_header(text, 8)?;
    if fields[0] != "CEF:0" {
        return Err(format!("not CEF:0: `{}`", fields[0]));
    }
    let extension = fields[7].clone();
    if extension.contains(['\n', '\r']) {
        return Err("extension: a raw line break".to_owned());
    }
    // Each unescaped `=` ends a key that starts after a space (or at the start).
    let bytes = extension.as_bytes();
    let mut keys = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' => {
                let start = extension[..i].rfind(' ').map_or(0, |s| s + 1);
                let key = &extension[start..i];
                if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(format!("extension: `{key}` is not a key"));
                }
                keys.push((start, i));
                i += 1;
            }
            _ => i += 1,
        }
    }
    let mut pairs = Vec::new();
    for (k, &(start, eq)) in keys.iter().enumerate() {
        let end = keys
            .get(k + 1)
            .map_or(extension.len(), |&(next, _)| next - 1);
        let mut value = String::new();
        let mut chars = extension[eq + 1..end].chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('\\') => value.push('\\'),
                    Some('=') => value.push('='),
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    other => return Err(format!("extension: a bad escape `\\{other:?}`")),
                }
            } else {
                value.push(c);
            }
        }
        pairs.push((extension[start..eq].to_owned(), value));
    }
    Ok((fields[1..7].to_vec(), pairs))
}

/// A LEEF 2.0 record with tab-delimited attributes: 5 header fields, then the attributes.
pub fn parse_leef(text: &str) -> Result<Record, String> {
    let fields = split_header(text, 7)?;
    if fields[0] != "LEEF:2.0" {
        return Err(format!("not LEEF:2.0: `{}`", fields[0]));
    }
    if fields[5] != "x09" {
        return Err(format!("delimiter `{}`, not x09 (tab)", fields[5]));
    }
    let mut attributes = Vec::new();
    for attribute in fields[6].split('\t') {
        if attribute.contains(['\n', '\r']) {
            return Err("attribute: a raw line break".to_owned());
        }
        let (key, value) = attribute
            .split_once('=')
            .ok_or_else(|| format!("attribute `{attribute}` has no ="))?;
        attributes.push((
            key.to_owned(),
            value.replace("\\t", "\t").replace("\\\\", "\\"),
        ));
    }
    Ok((fields[1..6].to_vec(), attributes))
}
