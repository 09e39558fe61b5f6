//! Byte-level helpers shared by the line decoders.

use std::net::{IpAddr, Ipv4Addr};

use super::ParseError;
use crate::{Answer, DnsEvent, domain};

/// Header flag bits, in wire order.
pub(crate) const QR: u16 = 0x8000;
/// Authoritative answer.
pub(crate) const AA: u16 = 0x0400;
/// Truncated.
pub(crate) const TC: u16 = 0x0200;
/// Recursion desired.
pub(crate) const RD: u16 = 0x0100;
/// Recursion available.
pub(crate) const RA: u16 = 0x0080;

/// The earliest time an event can hold: 0000-01-01T00:00:00Z.
pub(crate) const MIN_TS: i64 = -62_167_219_200_000_000;
/// The latest time an event can hold: 9999-12-31T23:59:59.999999Z.
pub(crate) const MAX_TS: i64 = 253_402_300_799_999_999;

/// `ts` when RFC 3339 can write it (years 0000 to 9999), which every event must: JSON
/// lines carry it so, and an event must read back from its own line. Anything else is an
/// error about `field`.
#[inline]
pub(crate) fn checked_ts(ts: i64, field: &'static str) -> Result<i64, ParseError> {
    if (MIN_TS..=MAX_TS).contains(&ts) {
        Ok(ts)
    } else {
        Err(ParseError::invalid(
            field,
            "a time from year 0000 to 9999 (after the UTC offset)",
        ))
    }
}

/// The flags of a response whose log line gives no more than its response code: QR and the
/// code's low four bits, as the JSON decoder assumes when `flags` is absent.
#[inline]
pub(crate) fn response_flags(rcode: u16) -> u16 {
    QR | (rcode & 0x000f)
}

/// Sets the event's question name from raw bytes; errors name the field `qname`.
#[inline]
pub(crate) fn set_qname(event: &mut DnsEvent, raw: &[u8]) -> Result<(), ParseError> {
    event
        .set_qname(utf8(raw, "qname")?)
        .map_err(|e| ParseError::name("qname", e))
}

/// One answer record, its owner name normalised like a question name.
pub(crate) fn answer(
    name: &[u8],
    rtype: u16,
    ttl: Option<u32>,
    data: &[u8],
) -> Result<Answer, ParseError> {
    let name = domain::normalise(utf8(name, "answers.name")?)
        .map_err(|e| ParseError::name("answers.name", e))?;
    Ok(Answer {
        name,
        rtype,
        ttl,
        data: utf8(data, "answers.data")?.to_owned(),
    })
}

/// The record type that answer data suggests when a log does not say: an IPv4 address is
/// A, an IPv6 address AAAA; a name answering a question of a name type (PTR, NS, MX...) is
/// of that type, and any other name a CNAME. Zeek's `TXT 12 text` form is TXT.
pub(crate) fn rtype_of_data(data: &[u8], qtype: u16) -> u16 {
    match parse_ip(data) {
        Some(IpAddr::V4(_)) => return 1,
        Some(IpAddr::V6(_)) => return 28,
        None => {}
    }
    if data.starts_with(b"TXT ") {
        return 16;
    }
    match qtype {
        2 | 5 | 12 | 15 | 33 | 39 => qtype,
        _ => 5,
    }
}

/// True for the field separators of text logs.
#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `line` without trailing spaces, tabs, carriage returns and newlines.
#[inline]
pub(crate) fn trim_end(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    &line[..end]
}

/// `line` without leading spaces and tabs.
#[inline]
pub(crate) fn trim_start(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(line.len());
    &line[start..]
}

/// Splits a line into fields separated by runs of spaces and tabs, without allocating.
#[derive(Clone)]
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Fields { rest: line }
    }

    /// What is left of the line after the fields taken so far, without leading blanks.
    pub(crate) fn rest(&self) -> &'a [u8] {
        trim_start(self.rest)
    }

    /// The next field, or a "missing" error naming it.
    #[inline]
    pub(crate) fn require(
        &mut self,
        field: &'static str,
        expected: &'static str,
    ) -> Result<&'a [u8], ParseError> {
        self.next().ok_or(ParseError::missing(field, expected))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest;
        let mut start = 0;
        while start < rest.len() && is_space(rest[start]) {
            start += 1;
        }
        let mut end = start;
        while end < rest.len() && !is_space(rest[end]) {
            end += 1;
        }
        self.rest = &rest[end..];
        if start == end {
            None
        } else {
            Some(&rest[start..end])
        }
    }
}

/// A decimal number of at most `max_digits` digits (no sign), or `None`.
#[inline]
pub(crate) fn parse_dec(b: &[u8], max_digits: usize) -> Option<u32> {
    if b.is_empty() || b.len() > max_digits.min(9) {
        return None;
    }
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// A decimal number of at most `max_digits` digits (no more than 19), or `None`.
#[inline]
pub(crate) fn parse_u64(b: &[u8], max_digits: usize) -> Option<u64> {
    if b.is_empty() || b.len() > max_digits.min(19) {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
    }
    Some(v)
}

/// A hexadecimal `u16` of 1 to 4 digits, either case, no prefix.
#[inline]
pub(crate) fn parse_hex_u16(b: &[u8]) -> Option<u16> {
    if b.is_empty() || b.len() > 4 {
        return None;
    }
    let mut v = 0u16;
    for &c in b {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u16::from(d);
    }
    Some(v)
}

/// An IPv4 or IPv6 address; an IPv6 zone (`fe80::1%eth0`) is dropped.
#[inline]
pub(crate) fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4(b) {
        return Some(IpAddr::V4(v4));
    }
    // The longest textual address (IPv4-mapped IPv6) is 45 bytes; refuse more before parsing.
    let b = match memchr::memchr(b'%', b) {
        Some(i) => &b[..i],
        None => b,
    };
    if b.len() > 45 {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// A dotted-quad IPv4 address, as strict as the standard library's parser (no leading zeros,
/// no more than 3 digits per octet) but several times faster: most log lines carry two.
#[inline]
fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut parts = b.split(|&c| c == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.len() > 1 && part[0] == b'0' {
            return None;
        }
        *octet = u8::try_from(parse_dec(part, 3)?).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// `b` as text, or a "not UTF-8" error naming the field.
#[inline]
pub(crate) fn utf8<'a>(b: &'a [u8], field: &'static str) -> Result<&'a str, ParseError> {
    std::str::from_utf8(b).map_err(|_| ParseError::not_utf8(field))
}

/// Month number (1-12) of an English three-letter abbreviation, in any case.
pub(crate) fn month_abbr(b: &[u8]) -> Option<u32> {
    let [a, b, c] = b else { return None };
    let key = [
        a.to_ascii_lowercase(),
        b.to_ascii_lowercase(),
        c.to_ascii_lowercase(),
    ];
    let month = match &key {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    };
    Some(month)
}

/// Reads `H:MM:SS` or `HH:MM:SS`, optionally followed by `.` and 1 to 9 fraction digits, into
/// (hour, minute, second, microseconds). Ranges are checked later, by `CivilDateTime`.
pub(crate) fn parse_clock(b: &[u8]) -> Option<(u32, u32, u32, u32)> {
    let (clock, frac) = match memchr::memchr(b'.', b) {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let mut parts = clock.split(|&c| c == b':');
    let hour = parse_dec(parts.next()?, 2)?;
    let minute = parse_dec(parts.next()?, 2)?;
    let second = parse_dec(parts.next()?, 2)?;
    if parts.next().is_some() {
        return None;
    }
    let micros = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.iter().all(u8::is_ascii_digit) => {
            crate::time::fraction_micros(f)
        }
        Some(_) => return None,
    };
    Some((hour, minute, second, micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_on_runs_of_blanks() {
        let mut f = Fields::new(b"  a \tbb   c ");
        assert_eq!(f.next(), Some(&b"a"[..]));
        assert_eq!(f.rest(), b"bb   c ");
        assert_eq!(f.next(), Some(&b"bb"[..]));
        assert_eq!(f.next(), Some(&b"c"[..]));
        assert_eq!(f.next(), None);
        assert_eq!(f.next(), None);
    }

    #[test]
    fn numbers_and_clocks() {
        assert_eq!(parse_hex_u16(b"80a8"), Some(0x80a8));
        assert_eq!(parse_hex_u16(b"80a8f"), None);
        assert_eq!(parse_hex_u16(b"g"), None);
        assert_eq!(parse_dec(b"2017", 4), Some(2017));
        assert_eq!(parse_dec(b"99999999999999", 20), None);
        assert_eq!(parse_clock(b"9:35:32"), Some((9, 35, 32, 0)));
        assert_eq!(parse_clock(b"06:46:47.907"), Some((6, 46, 47, 907_000)));
        assert_eq!(parse_clock(b"06:46:47."), None);
        assert_eq!(parse_clock(b"06:46"), None);
        assert_eq!(parse_ip(b"fe80::1%eth0"), "fe80::1".parse().ok());
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "212.77.192.37",
            "256.1.1.1",
            "01.1.1.1",
            "1.1.1",
            "1.1.1.1.",
            "1..1.1",
            "1.1.1.1.1",
            "::ffff:1.2.3.4",
            "1.2.3.-4",
            "1.2.3.+4",
            "",
        ] {
            let expected: Option<IpAddr> = text.parse().ok();
            assert_eq!(parse_ip(text.as_bytes()), expected, "{text}");
        }
        assert_eq!(trim_end(b"ab \r\n"), b"ab");
        assert_eq!(trim_end(b" \r\n"), b"");
    }
}
