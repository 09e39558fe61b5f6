//! Times and durations as people write them on the command line and in topology files.

use std::time::{SystemTime, UNIX_EPOCH};

use antimony_dns::time::parse_rfc3339;

/// Microseconds in a second.
const SECOND: i64 = 1_000_000;

/// Now, in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Reads a duration: a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`90s`, `30d`),
/// into microseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    antimony_dns::time::parse_duration_secs(text)
        .and_then(|s| s.checked_mul(SECOND))
        .ok_or_else(|| {
            format!("`{text}` is not a duration (a number and s, m, h, d or w: 90s, 10m, 2h, 30d)")
        })
}

/// Reads a point in time: RFC 3339 (`2017-08-12T09:35:00Z`), a duration back from `now`
/// (`1h`: an hour ago), or Unix seconds; into microseconds since the Unix epoch.
pub fn parse_time(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ts) = parse_rfc3339(text) {
        return Ok(ts);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .ok()
            .and_then(|s| s.checked_mul(SECOND))
            .ok_or_else(|| format!("`{text}` is too far in the future"));
    }
    parse_duration(text)
        .map(|ago| now.saturating_sub(ago))
        .map_err(|_| {
            format!(
                "`{text}` is neither an RFC 3339 time (2017-08-12T09:35:00Z), a duration back from now (90s, 10m, 2h, 1d) nor Unix seconds"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("90s"), Ok(90 * SECOND));
        assert_eq!(parse_duration("30d"), Ok(30 * 86_400 * SECOND));
        for bad in ["", "d", "1y", "-1h", "1.5h", "99999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let now = 1_000_000 * SECOND;
        assert_eq!(parse_time("1h", now), Ok(now - 3_600 * SECOND));
        assert_eq!(parse_time("60", now), Ok(60 * SECOND));
        assert_eq!(
            parse_time("2017-08-12T09:35:32Z", now),
            Ok(1_502_530_532 * SECOND)
        );
        assert!(parse_time("yesterday", now).is_err());
    }
}
