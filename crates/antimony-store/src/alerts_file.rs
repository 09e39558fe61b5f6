//! Reading an alerts file (JSON lines, as the `alert_file` sink writes them) into rows, with
//! every line that does not read said by `file:line` and counted, never skipped silently.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::row::StoredAlert;

/// A line longer than this is not an alert (one is a few hundred bytes): it is reported,
/// and never held whole.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A line of an alerts file that is not an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// `file:line`.
    pub location: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What an alerts file holds.
#[derive(Clone, Debug, Default)]
pub struct AlertsFile {
    /// The alerts, in file order.
    pub alerts: Vec<StoredAlert>,
    /// The lines that are not alerts (blank lines are neither).
    pub unreadable: Vec<Unreadable>,
}

/// Reads the alerts file at `path`.
pub fn read(path: &Path) -> io::Result<AlertsFile> {
    let file = File::open(path)?;
    read_from(BufReader::new(file), &path.display().to_string())
}

/// Reads alerts from `reader`, naming lines `name:line`.
pub fn read_from(mut reader: impl BufRead, name: &str) -> io::Result<AlertsFile> {
    let mut out = AlertsFile::default();
    let mut buf = Vec::new();
    let mut number = 0usize;
    loop {
        buf.clear();
        let n = reader
            .by_ref()
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        number += 1;
        let unreadable = |reason: String| Unreadable {
            location: format!("{name}:{number}"),
            reason,
        };
        if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            // Skip the rest of the line without keeping it.
            let mut rest = Vec::new();
            while reader
                .by_ref()
                .take(64 * 1024)
                .read_until(b'\n', &mut rest)?
                > 0
            {
                if rest.last() == Some(&b'\n') {
                    break;
                }
                rest.clear();
            }
            out.unreadable.push(unreadable(format!(
                "longer than {MAX_LINE_BYTES} bytes: not an alert"
            )));
            continue;
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            out.unreadable.push(unreadable("not UTF-8 text".to_owned()));
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        match StoredAlert::from_json_line(line) {
            Ok(alert) => out.alerts.push(alert),
            Err(reason) => out.unreadable.push(unreadable(reason)),
        }
    }
    Ok(out)
}
