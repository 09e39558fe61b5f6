//! The spill file: messages that found the buffer full, one JSON line each, appended by the
//! sink and read back in order by the delivery task.
//!
//! Both sides use it under the shared lock, so an append and a read never interleave. It is
//! plain blocking file I/O, short and local, done on the sink's worker or the I/O runtime's
//! thread as it comes. A line cut short by a crash is cut off when the file is opened.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::Message;

/// Lines longer than this are not ours (a message is far smaller): read as damaged.
const MAX_LINE: usize = 64 << 20;

/// An open spill file.
pub(super) struct Spill {
    path: PathBuf,
    file: File,
    /// Where the next unread line starts.
    read_at: u64,
    /// Lines not read yet.
    unread: u64,
}

impl Spill {
    /// Opens (or creates) the file; lines left in it are unread, replayed first.
    pub(super) fn open(path: &Path) -> io::Result<Spill> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)?;
        let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < text.len() {
            tracing::warn!(path = %path.display(), bytes = text.len() - complete, "spill file ends with a cut line (a crash while spilling): cut off");
            file.set_len(complete as u64)?;
        }
        let unread = text[..complete].iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(Spill {
            path: path.to_path_buf(),
            file,
            read_at: 0,
            unread,
        })
    }

    /// Whether messages wait in the file: new messages must then go behind them.
    pub(super) fn spilling(&self) -> bool {
        self.unread > 0
    }

    /// Whether the file holds messages not known to be delivered: unread, or read and still
    /// being sent (it is emptied once what was read is delivered).
    pub(super) fn holding(&self) -> bool {
        self.unread > 0 || self.read_at > 0
    }

    /// Messages waiting in the file.
    pub(super) fn unread(&self) -> u64 {
        self.unread
    }

    /// Appends messages at the end.
    pub(super) fn append(&mut self, messages: &[Message]) -> io::Result<()> {
        let mut text = Vec::new();
        for message in messages {
            serde_json::to_writer(&mut text, message)?;
            text.push(b'\n');
        }
        self.file.write_all(&text)?;
        self.unread += messages.len() as u64;
        Ok(())
    }

    /// Reads up to `max` messages in order; a line that does not decode comes back as its
    /// text with the reason.
    pub(super) fn read(
        &mut self,
        max: usize,
    ) -> io::Result<Vec<Result<Message, (String, String)>>> {
        let mut out = Vec::new();
        if self.unread == 0 {
            return Ok(out);
        }
        self.file.seek(SeekFrom::Start(self.read_at))?;
        let mut reader = BufReader::new(&self.file);
        let mut line = Vec::new();
        while out.len() < max && self.unread > 0 {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                // Fewer lines than counted: the file was changed under us.
                self.unread = 0;
                break;
            }
            self.read_at += read as u64;
            self.unread -= 1;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            if text.len() > MAX_LINE {
                out.push(Err((
                    String::from_utf8_lossy(&text[..256]).into_owned(),
                    format!(
                        "spill file {}: a line of {} bytes is not a message",
                        self.path.display(),
                        text.len()
                    ),
                )));
                continue;
            }
            out.push(serde_json::from_slice(text).map_err(|e| {
                (
                    String::from_utf8_lossy(text).into_owned(),
                    format!(
                        "spill file {}: a line does not decode: {e}",
                        self.path.display()
                    ),
                )
            }));
        }
        Ok(out)
    }

    /// Empties the file once everything in it is delivered.
    pub(super) fn reset(&mut self) -> io::Result<()> {
        if self.unread == 0 && self.read_at > 0 {
            self.file.set_len(0)?;
            self.read_at = 0;
        }
        Ok(())
    }

    /// Puts `messages` in front of the unread lines (what was in memory comes before what
    /// was spilled): the file is rewritten through a temporary one, renamed over it.
    pub(super) fn prepend(&mut self, messages: &[Message]) -> io::Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".tmp");
        let temporary = self.path.with_file_name(name);
        let mut next = File::create(&temporary)?;
        let mut text = Vec::new();
        for message in messages {
            serde_json::to_writer(&mut text, message)?;
            text.push(b'\n');
        }
        next.write_all(&text)?;
        self.file.seek(SeekFrom::Start(self.read_at))?;
        io::copy(&mut self.file, &mut next)?;
        next.sync_all()?;
        drop(next);
        std::fs::rename(&temporary, &self.path)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        self.read_at = 0;
        self.unread += messages.len() as u64;
        self.sync_directory();
        Ok(())
    }

    /// Makes what was appended durable.
    pub(super) fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_directory(&self) {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(dir) = File::open(dir)
        {
            // Best effort: a directory that cannot be synced still has the rename.
            let _ = dir.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u64) -> Message {
        Message {
            id: format!("id{n}"),
            key: n % 3,
            payload: format!("line {n}\nwith a newline"),
        }
    }

    fn ids(read: Vec<Result<Message, (String, String)>>) -> Vec<String> {
        read.into_iter()
            .map(|m| m.map(|m| m.id).unwrap_or_else(|(_, e)| e))
            .collect()
    }

    #[test]
    fn messages_come_back_in_order_with_the_in_memory_ones_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("spill.jsonl");
        let mut spill = Spill::open(&path).expect("open");
        spill
            .append(&[message(1), message(2), message(3)])
            .expect("append");
        assert_eq!(ids(spill.read(1).expect("read")), ["id1"]);
        spill.prepend(&[message(0)]).expect("prepend");
        assert_eq!(spill.unread(), 3);
        assert_eq!(ids(spill.read(10).expect("read")), ["id0", "id2", "id3"]);
        assert!(!spill.spilling());
        spill.reset().expect("reset");
        assert_eq!(std::fs::metadata(&path).expect("file").len(), 0);
        spill.append(&[message(4)]).expect("append");
        assert_eq!(spill.read(10).expect("read"), [Ok(message(4))]);
    }

    #[test]
    fn a_file_left_behind_is_replayed_and_a_cut_line_cut_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("spill.jsonl");
        Spill::open(&path)
            .expect("open")
            .append(&[message(1), message(2)])
            .expect("append");
        let mut file = OpenOptions::new().append(true).open(&path).expect("reopen");
        file.write_all(b"{\"id\":\"cut").expect("write");
        file.write_all(b"").expect("write");
        let mut spill = Spill::open(&path).expect("open again");
        assert_eq!(spill.unread(), 2);
        assert_eq!(ids(spill.read(10).expect("read")), ["id1", "id2"]);
    }

    #[test]
    fn a_damaged_line_comes_back_with_the_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("spill.jsonl");
        std::fs::write(&path, "not json\n").expect("write");
        let mut spill = Spill::open(&path).expect("open");
        let read = spill.read(10).expect("read");
        assert!(
            matches!(&read[..], [Err((text, reason))] if text == "not json" && reason.contains("does not decode"))
        );
    }
}
