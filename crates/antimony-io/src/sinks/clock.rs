//! Dates the outputs write from a record's time: syslog timestamps (RFC 5424 and 3164) and
//! date-named indices, from antimony-core's calendar ([`CivilDateTime`]).

use std::fmt::Write;

pub use antimony_core::time::CivilDateTime;

/// A record's UTC time, as the outputs write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil(pub CivilDateTime);

impl Civil {
    /// The calendar fields of `micros` since the Unix epoch.
    pub fn from_micros(micros: i64) -> Civil {
        Civil(CivilDateTime::from_micros(micros))
    }

    /// Appends RFC 3339 with microseconds, UTC (`2026-12-08T00:27:54.123456Z`), as RFC 5424
    /// timestamps are written.
    pub fn write_rfc3339(&self, out: &mut String) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            self.0.year,
            self.0.month,
            self.0.day,
            self.0.hour,
            self.0.minute,
            self.0.second,
            self.0.micros
        );
    }

    /// Appends the RFC 3164 timestamp (`Dec  8 00:27:54`: no year, day padded with a space).
    pub fn write_rfc3164(&self, out: &mut String) {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS[(self.0.month as usize).clamp(1, 12) - 1];
        let _ = write!(
            out,
            "{month} {:>2} {:02}:{:02}:{:02}",
            self.0.day, self.0.hour, self.0.minute, self.0.second
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
                Some('Y') => write!(out, "{:04}", self.0.year),
                Some('m') => write!(out, "{:02}", self.0.month),
                Some('d') => write!(out, "{:02}", self.0.day),
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
        assert_eq!(Civil::from_micros(-1).0.year, 1969);
        assert_eq!(Civil::from_micros(0).0.day, 1);
    }
}
