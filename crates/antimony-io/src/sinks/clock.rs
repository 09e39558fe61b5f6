//! UTC calendar fields of a record's time, for the outputs that write dates (syslog
//! timestamps, date-named indices). antimony-io builds on antimony-core alone, so the
//! conversion (Howard Hinnant's `civil_from_days`) is here rather than taken from the DNS crate.

use std::fmt::Write;

/// A UTC time split into calendar fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// The year (four digits from 0 to 9999).
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    /// 0 to 23.
    pub hour: u32,
    /// 0 to 59.
    pub minute: u32,
    /// 0 to 59.
    pub second: u32,
    /// 0 to 999,999.
    pub micros: u32,
}

impl Civil {
    /// The calendar fields of `micros` since the Unix epoch.
    pub fn from_micros(micros: i64) -> Civil {
        let seconds = micros.div_euclid(1_000_000);
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
            micros: micros.rem_euclid(1_000_000) as u32,
        }
    }

    /// Appends RFC 3339 with microseconds, UTC (`2026-12-08T00:27:54.123456Z`), as RFC 5424
    /// timestamps are written.
    pub fn write_rfc3339(&self, out: &mut String) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.micros
        );
    }

    /// Appends the RFC 3164 timestamp (`Dec  8 00:27:54`: no year, day padded with a space).
    pub fn write_rfc3164(&self, out: &mut String) {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS[(self.month as usize).clamp(1, 12) - 1];
        let _ = write!(
            out,
            "{month} {:>2} {:02}:{:02}:{:02}",
            self.day, self.hour, self.minute, self.second
        );
    }

    /// Expands `%Y`, `%m` and `%d` in `pattern` (`%%` is a `%`); other text is kept.
    pub fn expand(&self, pattern: &str, out: &mut String) {
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let _ = match chars.next() {
                Some('Y') => write!(out, "{:04}", self.year),
                Some('m') => write!(out, "{:02}", self.month),
                Some('d') => write!(out, "{:02}", self.day),
                Some('%') => write!(out, "%"),
                Some(other) => write!(out, "%{other}"),
                None => write!(out, "%"),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_split_and_written() {
        // 2017-08-12T09:35:32.907Z
        let t = Civil::from_micros(1_502_530_532_907_000);
        let mut out = String::new();
        t.write_rfc3339(&mut out);
        out.push('|');
        t.write_rfc3164(&mut out);
        out.push('|');
        t.expand("antimony-%Y.%m.%d-%%-%x", &mut out);
        assert_eq!(
            out,
            "2017-08-12T09:35:32.907000Z|Aug 12 09:35:32|antimony-2017.08.12-%-%x"
        );
        assert_eq!(Civil::from_micros(-1).year, 1969);
        assert_eq!(Civil::from_micros(0).day, 1);
    }
}
