//! Text writers for the hot output paths (event and alert JSON, generated logs): they do
//! what `write!` would, several times cheaper, into a `String` or a byte buffer alike.

use std::net::{IpAddr, Ipv4Addr};

/// Somewhere text is appended: a `String`, or a `Vec<u8>` of UTF-8.
pub trait TextBuf {
    /// Appends `text`.
    fn push_text(&mut self, text: &str);
}

impl TextBuf for String {
    #[inline]
    fn push_text(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl TextBuf for Vec<u8> {
    #[inline]
    fn push_text(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }
}

/// Appends `n` in decimal.
#[inline]
pub fn push_int(out: &mut impl TextBuf, n: impl itoa::Integer) {
    out.push_text(itoa::Buffer::new().format(n));
}

/// Appends `n` in decimal, at least `width` digits (zeros in front).
pub fn push_int_padded(out: &mut impl TextBuf, n: u64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(n);
    for _ in digits.len()..width {
        out.push_text("0");
    }
    out.push_text(digits);
}

/// Appends an IPv4 address in dotted-quad form.
pub fn push_ipv4(out: &mut impl TextBuf, ip: Ipv4Addr) {
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push_text(".");
        }
        push_int(out, octet);
    }
}

/// Appends an address as `Display` would write it (IPv6 in its RFC 5952 form).
pub fn push_ip(out: &mut impl TextBuf, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => push_ipv4(out, v4),
        IpAddr::V6(v6) => out.push_text(&v6.to_string()),
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `text` as a JSON string, quoted and escaped: `"`, `\` and control characters
/// (U+0000 to U+001F, and DEL) escaped; everything else, non-ASCII included, as it is.
pub fn push_json_str(out: &mut impl TextBuf, text: &str) {
    out.push_text("\"");
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f | 0x7f => "",
            _ => continue,
        };
        out.push_text(&text[start..i]);
        if escape.is_empty() {
            let code = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ];
            // Six ASCII bytes.
            out.push_text(std::str::from_utf8(&code).unwrap_or_default());
        } else {
            out.push_text(escape);
        }
        start = i + 1;
    }
    out.push_text(&text[start..]);
    out.push_text("\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "10.20.3.212",
            "255.255.255.255",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: IpAddr = ip.parse().expect("address");
            let mut out = String::new();
            push_ip(&mut out, ip);
            assert_eq!(out, ip.to_string());
            let mut bytes = Vec::new();
            push_ip(&mut bytes, ip);
            assert_eq!(bytes, ip.to_string().into_bytes());
        }
    }

    #[test]
    fn json_strings_read_back() {
        for text in [
            "plain",
            "quote \" back \\ slash",
            "\u{1}\u{1f}\u{7f}é\n\r\t",
            "",
        ] {
            let mut out = String::new();
            push_json_str(&mut out, text);
            let back: String = serde_json::from_str(&out).expect("valid JSON");
            assert_eq!(back, text);
        }
        let mut out = String::new();
        push_json_str(&mut out, "\u{1}");
        assert_eq!(out, r#""\u0001""#);
    }

    #[test]
    fn padded_numbers() {
        let mut out = Vec::new();
        push_int_padded(&mut out, 7, 3);
        push_int_padded(&mut out, 1234, 2);
        assert_eq!(out, b"0071234");
    }
}
