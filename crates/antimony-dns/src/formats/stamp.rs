//! Timestamps at the start of a log line, shared by the syslog-style formats (BIND,
//! Unbound, dnsmasq, PowerDNS, Infoblox).
//!
//! Servers write their own timestamps or let syslog write one, so one reader accepts every
//! form these logs use, each with an optional syslog `<PRI>` and RFC 5424 version (`<30>1 `):
//!
//! | form | example | written by |
//! |---|---|---|
//! | RFC 3339, zone optional | `2026-11-26T06:46:47.907+01:00` | rsyslog, RFC 5424, journald |
//! | ISO date, space, clock | `2026-11-26 06:46:47.907` | some syslog daemons |
//! | BIND | `26-Nov-2026 06:46:47.907` | `print-time yes` |
//! | classic syslog | `Nov 26 06:46:47` (`Nov  6`, `Nov 6`) | syslog, dnsmasq, PowerDNS |
//! | epoch seconds in brackets | `[1764139607]` | Unbound's own log file |
//!
//! Times without a zone are local and moved to UTC by the configured offset; classic syslog
//! dates have no year and take [`DecodeOptions::year`], or are refused with an error that
//! says to set it.

use super::util::{
    Fields, checked_ts, month_abbr, parse_clock, parse_dec, parse_u64, trim_start, utf8,
};
use super::{DecodeOptions, ParseError};
use crate::time::{CivilDateTime, MICROS_PER_SECOND, parse_rfc3339};

pub(crate) const TIMESTAMP: &str =
    "a timestamp such as Nov 26 06:46:47, 26-Nov-2026 06:46:47.907 or 2026-11-26T06:46:47Z";

/// Reads leading timestamps with a decoder's year and UTC offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    year: Option<i32>,
    offset_micros: i64,
}

impl Clock {
    pub(crate) fn new(options: &DecodeOptions) -> Self {
        Clock {
            year: options.year,
            offset_micros: options.offset_micros(),
        }
    }

    /// Reads the timestamp at the start of `line`; returns it in UTC microseconds with the
    /// rest of the line, leading blanks removed.
    pub(crate) fn leading<'a>(&self, line: &'a [u8]) -> Result<(i64, &'a [u8]), ParseError> {
        let (ts, rest) = self.leading_unchecked(line)?;
        Ok((checked_ts(ts, "timestamp")?, rest))
    }

    fn leading_unchecked<'a>(&self, line: &'a [u8]) -> Result<(i64, &'a [u8]), ParseError> {
        let line = skip_syslog_priority(line);
        let invalid = || ParseError::invalid("timestamp", TIMESTAMP);
        let mut fields = Fields::new(line);
        let first = fields.require("timestamp", TIMESTAMP)?;

        // `[1764139607]`: Unbound's own log file without `log-time-ascii`.
        if let [b'[', inner @ .., b']'] = first {
            let (secs, frac) = match memchr::memchr(b'.', inner) {
                Some(i) => (&inner[..i], Some(&inner[i + 1..])),
                None => (inner, None),
            };
            // Ten digits reach the year 2286; eleven would overflow nothing but are no date.
            let secs = parse_u64(secs, 10).ok_or_else(invalid)?;
            let micros = match frac {
                None => 0,
                Some(f) if !f.is_empty() && f.len() <= 9 && f.iter().all(u8::is_ascii_digit) => {
                    crate::time::fraction_micros(f)
                }
                Some(_) => return Err(invalid()),
            };
            let ts = secs as i64 * MICROS_PER_SECOND + i64::from(micros);
            return Ok((ts, fields.rest()));
        }

        // RFC 3339 (the zone may be absent: local time).
        if first.len() >= 19 && first[4] == b'-' && matches!(first[10], b'T' | b't') {
            let text = utf8(first, "timestamp")?;
            if let Ok(ts) = parse_rfc3339(text) {
                return Ok((ts, fields.rest()));
            }
            let (date, clock) = first.split_at(10);
            let civil =
                civil(&date[..4], &date[5..7], &date[8..10], &clock[1..]).ok_or_else(invalid)?;
            return Ok((self.local(civil)?, fields.rest()));
        }

        let second = fields.require("timestamp", TIMESTAMP)?;
        // `2026-11-26 06:46:47.907`.
        if let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = first {
            let civil = civil(&[*y1, *y2, *y3, *y4], &[*m1, *m2], &[*d1, *d2], second)
                .ok_or_else(invalid)?;
            return Ok((self.local(civil)?, fields.rest()));
        }
        // BIND's `26-Nov-2026 06:46:47.907`.
        if let [d1, d2, b'-', m1, m2, m3, b'-', year @ ..] = first {
            let month = month_abbr(&[*m1, *m2, *m3]).ok_or_else(invalid)?;
            let mut civil = civil(year, b"1", &[*d1, *d2], second).ok_or_else(invalid)?;
            civil.month = month;
            return Ok((self.local(civil)?, fields.rest()));
        }
        // Classic syslog `Nov 26 06:46:47` (the day may be padded: `Nov  6`).
        if let Some(month) = month_abbr(first) {
            let clock = fields.require("timestamp", TIMESTAMP)?;
            let day = parse_dec(second, 2).ok_or_else(invalid)?;
            let (hour, minute, second, micros) = parse_clock(clock).ok_or_else(invalid)?;
            let year = self.year.ok_or(ParseError::invalid(
                "timestamp",
                "a year: syslog dates have none, so set the decoder's `year` option",
            ))?;
            let civil = CivilDateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                micros,
            };
            return Ok((self.local(civil)?, fields.rest()));
        }
        Err(invalid())
    }

    /// Local civil time to UTC microseconds.
    pub(crate) fn local(&self, civil: CivilDateTime) -> Result<i64, ParseError> {
        civil
            .to_micros()
            .map(|ts| ts - self.offset_micros)
            .map_err(|_| ParseError::invalid("timestamp", "a real date and time"))
    }
}

/// True when `line` starts with BIND's own `DD-Mon-YYYY` date.
pub(crate) fn starts_with_bind_date(line: &[u8]) -> bool {
    matches!(line, [d1, d2, b'-', m1, m2, m3, b'-', ..]
        if d1.is_ascii_digit() && d2.is_ascii_digit() && month_abbr(&[*m1, *m2, *m3]).is_some())
}

/// Skips `<PRI>` and an RFC 5424 version (`<30>1 `) at the start of a syslog line.
pub(crate) fn skip_syslog_priority(line: &[u8]) -> &[u8] {
    let [b'<', rest @ ..] = line else { return line };
    let Some(close) = rest.iter().take(4).position(|&b| b == b'>') else {
        return line;
    };
    let rest = &rest[close + 1..];
    trim_start(rest.strip_prefix(b"1 ").unwrap_or(rest))
}

/// A civil date-time from year, month and day digits and a clock (`06:46:47.907`), unchecked.
fn civil(year: &[u8], month: &[u8], day: &[u8], clock: &[u8]) -> Option<CivilDateTime> {
    let (hour, minute, second, micros) = parse_clock(clock)?;
    Some(CivilDateTime {
        year: i32::try_from(parse_dec(year, 4)?).ok()?,
        month: parse_dec(month, 2)?,
        day: parse_dec(day, 2)?,
        hour,
        minute,
        second,
        micros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, ts: &str, rest: &str) {
        let clock = Clock::new(&DecodeOptions {
            year: Some(2026),
            utc_offset_minutes: 60,
            ..DecodeOptions::default()
        });
        let got = clock.leading(line.as_bytes());
        let want = parse_rfc3339(ts).map(|ts| (ts, rest.as_bytes()));
        assert_eq!(got.ok(), want.ok(), "{line:?}");
    }

    #[test]
    fn every_form() {
        // Local forms are one hour ahead of UTC here; RFC 3339 with a zone is not moved.
        check("Nov 26 07:46:47 host x", "2026-11-26T06:46:47Z", "host x");
        check("<30>Nov  6 07:46:47 x", "2026-11-06T06:46:47Z", "x");
        check("<30>Oct 4 10:18:07 x", "2026-10-04T09:18:07Z", "x");
        check(
            "26-Nov-2026 07:46:47.907 q",
            "2026-11-26T06:46:47.907Z",
            "q",
        );
        check("2026-11-26 07:46:47.5 q", "2026-11-26T06:46:47.5Z", "q");
        check(
            "<30>1 2026-11-26T07:46:47+01:00 h",
            "2026-11-26T06:46:47Z",
            "h",
        );
        check("2026-11-26T07:46:47 h", "2026-11-26T06:46:47Z", "h");
        check("[1764139607] unbound", "2025-11-26T06:46:47Z", "unbound");
        check("[1764139607.25] u", "2025-11-26T06:46:47.25Z", "u");
        check("[7] u", "1970-01-01T00:00:07Z", "u");
    }

    /// The timestamp bound the fuzzers found missing in the Zeek and JSON decoders, for the
    /// syslog-style forms: the UTC offset can move year 0000 to year -1.
    #[test]
    fn regression_timestamp_before_year_0000() {
        let clock = Clock::new(&DecodeOptions {
            utc_offset_minutes: 60,
            ..DecodeOptions::default()
        });
        for line in ["01-Jan-0000 00:00:00.000 x", "0000-01-01T00:00:00+01:00 x"] {
            let error = clock.leading(line.as_bytes()).err();
            assert_eq!(error.map(|e| e.field()), Some("timestamp"), "{line}");
        }
        assert!(clock.leading(b"01-Jan-0000 01:00:00.000 x").is_ok());
    }

    #[test]
    fn refusals() {
        let clock = Clock::new(&DecodeOptions::default());
        for bad in [
            "",
            "Nov 26 06:46:47 no year given",
            "[] x",
            "[12345678901] x",
            "[1.] x",
            "Nox 26 06:46:47",
            "32-Nov-2026 06:46:47.907",
            "2026-13-26 06:46:47",
            "hello world",
        ] {
            assert!(clock.leading(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(starts_with_bind_date(b"07-Apr-2022 08:08:10.043"));
        assert!(!starts_with_bind_date(b"07-Apx-2022"));
    }
}
