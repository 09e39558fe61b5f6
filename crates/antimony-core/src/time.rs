//! Civil dates and RFC 3339 timestamps, without a date-time crate.
//!
//! Timestamps are [`TimestampMicros`]: microseconds since the Unix epoch, UTC, proleptic
//! Gregorian calendar, no leap seconds. Conversions use Howard Hinnant's `days_from_civil`
//! algorithm, exact for every date an `i64` of microseconds can hold.
//!
//! [`write_rfc3339`] writes `2017-08-12T09:35:32Z`, and adds exactly six fraction digits
//! (`2017-08-12T09:35:32.907000Z`) only when the microseconds are not zero: whole seconds stay
//! short, fractions keep a fixed width that sorts as text, and [`parse_rfc3339`] reads back
//! every value written.

use std::fmt::Write as _;

use thiserror::Error;

/// Microseconds since the Unix epoch, UTC: how every time in Antimony is kept.
pub type TimestampMicros = i64;

/// Microseconds in one second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Why a date or time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TimeError {
    /// The text does not have the expected shape (`YYYY-MM-DDTHH:MM:SS[.f]Z|±HH:MM`).
    #[error("not an RFC 3339 timestamp (expected YYYY-MM-DDTHH:MM:SS[.ffffff]Z or ±HH:MM)")]
    Syntax,
    /// A field is out of range: month 13, February 30, hour 24...
    #[error("date or time field out of range")]
    OutOfRange,
}

/// A calendar date and time of day, without a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CivilDateTime {
    /// Year, proleptic Gregorian (`2017`).
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute, 0 to 59.
    pub minute: u32,
    /// Second, 0 to 60 (60 is a leap second, counted as the first second of the next minute).
    pub second: u32,
    /// Microseconds, 0 to 999,999.
    pub micros: u32,
}

impl CivilDateTime {
    /// The instant this date and time denotes when read as UTC, after checking every field.
    pub fn to_micros(&self) -> Result<TimestampMicros, TimeError> {
        if !(1..=12).contains(&self.month)
            || self.day == 0
            || self.day > days_in_month(self.year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 60
            || self.micros > 999_999
        {
            return Err(TimeError::OutOfRange);
        }
        let days = days_from_civil(self.year, self.month, self.day);
        let secs =
            i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        // Years beyond +-290,000 overflow i64 microseconds, so the arithmetic is checked.
        days.checked_mul(MICROS_PER_DAY)
            .and_then(|d| d.checked_add(secs * MICROS_PER_SECOND + i64::from(self.micros)))
            .ok_or(TimeError::OutOfRange)
    }

    /// The UTC date and time of an instant.
    pub fn from_micros(ts: TimestampMicros) -> Self {
        let days = ts.div_euclid(MICROS_PER_DAY);
        let in_day = ts.rem_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let secs = in_day / MICROS_PER_SECOND;
        // All of these are bounded by the day length, so the casts cannot truncate.
        CivilDateTime {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: (secs / 60 % 60) as u32,
            second: (secs % 60) as u32,
            micros: (in_day % MICROS_PER_SECOND) as u32,
        }
    }
}

/// True for a Gregorian leap year.
pub fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1 to 12) of `year`; 0 for a month out of range.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to the given date (negative before it). The date is not checked:
/// out-of-range days roll over (`2017-02-30` is `2017-03-02`).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1-12, day 1-31) that is `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    // i64 microseconds span +-292,000 years, which fits an i32 year.
    (year as i32, month, day)
}

/// Appends `ts` to `out` as RFC 3339 UTC: `2017-08-12T09:35:32Z`, or
/// `2017-08-12T09:35:32.907000Z` when the microseconds are not zero.
///
/// Years outside 0000-9999 (which RFC 3339 cannot express) are written with as many digits
/// as they need and a `-` sign when negative; [`parse_rfc3339`] refuses them.
pub fn write_rfc3339(ts: TimestampMicros, out: &mut String) {
    let t = CivilDateTime::from_micros(ts);
    // Every event written as JSON has a timestamp: digits by hand, not `write!`, which
    // costs several times more per field.
    if (0..=9999).contains(&t.year) {
        push_digits(out, t.year as u32, 4);
    } else {
        // Writing to a String cannot fail.
        let _ = write!(out, "{:04}", t.year);
    }
    out.push('-');
    push_digits(out, t.month, 2);
    out.push('-');
    push_digits(out, t.day, 2);
    out.push('T');
    push_digits(out, t.hour, 2);
    out.push(':');
    push_digits(out, t.minute, 2);
    out.push(':');
    push_digits(out, t.second, 2);
    if t.micros != 0 {
        out.push('.');
        push_digits(out, t.micros, 6);
    }
    out.push('Z');
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    while div > 0 {
        out.push(char::from(b'0' + (value / div % 10) as u8));
        div /= 10;
    }
}

/// The RFC 3339 form of `ts` as a new string (see [`write_rfc3339`]).
pub fn to_rfc3339(ts: TimestampMicros) -> String {
    let mut out = String::with_capacity(27);
    write_rfc3339(ts, &mut out);
    out
}

/// Reads an RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits
/// (digits past the sixth are dropped), then `Z` or an offset `±HH:MM` (`±HHMM` and `±HH` are
/// accepted too). `t` and a space may stand for `T`, `z` for `Z`.
pub fn parse_rfc3339(text: &str) -> Result<TimestampMicros, TimeError> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return Err(TimeError::Syntax);
    }
    let date_ok = b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b't' | b' ');
    if !date_ok || b[13] != b':' || b[16] != b':' {
        return Err(TimeError::Syntax);
    }
    let mut t = CivilDateTime {
        year: digits(&b[0..4])? as i32,
        month: digits(&b[5..7])?,
        day: digits(&b[8..10])?,
        hour: digits(&b[11..13])?,
        minute: digits(&b[14..16])?,
        second: digits(&b[17..19])?,
        micros: 0,
    };
    let mut rest = &b[19..];
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return Err(TimeError::Syntax);
        }
        t.micros = fraction_micros(&tail[..n]);
        rest = &tail[n..];
    }
    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (h, m) = match zone {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                }
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                _ => return Err(TimeError::Syntax),
            };
            if h > 23 || m > 59 {
                return Err(TimeError::OutOfRange);
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return Err(TimeError::Syntax),
    };
    Ok(t.to_micros()? - offset_minutes * 60 * MICROS_PER_SECOND)
}

/// The value of a run of ASCII digits (at most 9, so it cannot overflow).
pub(crate) fn digits(b: &[u8]) -> Result<u32, TimeError> {
    if b.is_empty() || b.len() > 9 {
        return Err(TimeError::Syntax);
    }
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(TimeError::Syntax);
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

/// Microseconds from the digits after a decimal point (`907` -> 907,000); digits past the
/// sixth are dropped, non-digits count as zero (callers check them).
pub fn fraction_micros(frac: &[u8]) -> u32 {
    let mut v = 0u32;
    for i in 0..6 {
        let d = frac
            .get(i)
            .map_or(0, |c| u32::from(c.wrapping_sub(b'0')).min(9));
        v = v * 10 + d;
    }
    v
}

/// Seconds in a duration as people write one: a whole number and a unit, `s`, `m`, `h`, `d`
/// or `w` (`90s`, `10m`, `30d`); `None` for anything else or what overflows.
pub fn parse_duration_secs(text: &str) -> Option<i64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let per: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let n: i64 = text[..text.len() - 1].parse().ok()?;
    if n < 0 {
        return None;
    }
    n.checked_mul(per)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, micros: TimestampMicros) {
        assert_eq!(parse_rfc3339(text), Ok(micros), "parse {text:?}");
    }

    #[test]
    fn civil_round_trips_over_many_years() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn parses_rfc3339() {
        check("1970-01-01T00:00:00Z", 0);
        check("2017-08-12T09:35:32Z", 1_502_530_532_000_000);
        check("2017-08-12T09:35:32.5Z", 1_502_530_532_500_000);
        check("2017-08-12t09:35:32.123456789z", 1_502_530_532_123_456);
        check("2017-08-12 11:35:32+02:00", 1_502_530_532_000_000);
        check("2017-08-12T04:35:32-0500", 1_502_530_532_000_000);
        check("2016-12-31T23:59:60Z", 1_483_228_800_000_000);
        check("1969-12-31T23:59:59.999999Z", -1);
        for bad in [
            "",
            "2017-08-12",
            "2017-08-12T09:35:32",
            "2017-13-12T09:35:32Z",
            "2017-02-29T09:35:32Z",
            "2017-08-12T24:00:00Z",
            "2017-08-12T09:35:32.Z",
            "2017-08-12T09:35:32+2:00",
            "2017-08-12T09:35:32Zjunk",
            "+017-08-12T09:35:32Z",
            "２017-08-12T09:35:32Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn writes_rfc3339_and_reads_it_back() {
        assert_eq!(to_rfc3339(1_502_530_532_000_000), "2017-08-12T09:35:32Z");
        assert_eq!(
            to_rfc3339(1_502_530_532_907_000),
            "2017-08-12T09:35:32.907000Z"
        );
        assert_eq!(to_rfc3339(-1), "1969-12-31T23:59:59.999999Z");
        for ts in [
            0,
            1,
            -1,
            951_782_400_000_000,
            253_402_300_799_999_999,
            -62_167_219_200_000_000,
        ] {
            assert_eq!(parse_rfc3339(&to_rfc3339(ts)), Ok(ts), "{ts}");
        }
        // Extreme values write something and do not panic.
        let _ = to_rfc3339(i64::MIN);
        let _ = to_rfc3339(i64::MAX);
    }
}
