//! Cutting a byte stream into chunks of whole lines, with bounded memory.
//!
//! Pure and synchronous so it can be tested on its own: the file and socket readers append
//! what they read to [`LineCutter::buffer`] and call [`LineCutter::cut`].

use std::sync::Arc;

use crate::chunk::TextChunk;
use crate::sources::sniff::SourceKind;

/// How much of an over-long line a report keeps.
pub const LONG_LINE_HEAD: usize = 200;

/// What cutting produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Cut {
    /// Whole lines.
    Chunk(TextChunk),
    /// A line over the limit, skipped without being held whole.
    LongLine {
        /// Its number.
        line: u64,
        /// Its length in bytes.
        bytes: u64,
        /// Its first bytes.
        head: Vec<u8>,
    },
}

/// Cuts chunks of whole lines out of a growing buffer.
///
/// Chunk boundaries depend only on content (after the last line ending within `chunk_bytes`),
/// so a replay cuts the same chunks. A line longer than `max_line_bytes` is never held whole:
/// it is skipped up to its end and reported as [`Cut::LongLine`].
#[derive(Debug)]
pub struct LineCutter {
    source: String,
    chunk_bytes: usize,
    max_line_bytes: usize,
    buf: Vec<u8>,
    line: u64,
    /// Inside an over-long line: where it started, its length so far, its first bytes.
    skipping: Option<(u64, u64, Vec<u8>)>,
    ordered: bool,
    format: Option<Arc<str>>,
}

impl LineCutter {
    /// A cutter for `source`.
    pub fn new(source: String, chunk_bytes: usize, max_line_bytes: usize) -> Self {
        LineCutter {
            source,
            chunk_bytes: chunk_bytes.max(1),
            max_line_bytes: max_line_bytes.max(1),
            buf: Vec::with_capacity(chunk_bytes.max(1) * 2),
            line: 1,
            skipping: None,
            ordered: false,
            format: None,
        }
    }

    /// Stamps the chunks cut from now on with how the source is to be read: its format, and
    /// whether they need one reader, in order.
    pub fn set_kind(&mut self, kind: &SourceKind) {
        self.ordered = kind.ordered;
        self.format = kind.format.clone();
    }

    /// Numbers the next line `line` (a source resumed mid-way).
    pub fn number_from(&mut self, line: u64) {
        self.line = line.max(1);
    }

    /// The buffer to append freshly read bytes to.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        self.buf.reserve(self.chunk_bytes);
        &mut self.buf
    }

    /// Whether whole lines are held (less than a chunk of them).
    pub fn holds_whole_lines(&self) -> bool {
        memchr::memchr(b'\n', &self.buf).is_some()
    }

    /// How many bytes are held, waiting for the end of a line.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Starts over on a new source (a rotated or truncated file): line numbers restart at 1.
    /// Bytes still held from the old source are cut first, as its last line.
    pub fn restart(&mut self, source: String, out: &mut Vec<Cut>) {
        self.finish(out);
        self.source = source;
        self.line = 1;
    }

    /// Appends to `out` every whole line held, however few: for live input (a followed file,
    /// a pipe) that has paused, where waiting for a full chunk would delay lines without end.
    pub fn cut_available(&mut self, out: &mut Vec<Cut>) {
        let chunk_bytes = self.chunk_bytes;
        if let Some(last) = memchr::memrchr(b'\n', &self.buf) {
            // Cut as if a chunk were exactly the whole lines held.
            self.chunk_bytes = last + 1;
            self.cut(false, out);
            self.chunk_bytes = chunk_bytes;
        } else {
            self.cut(false, out);
        }
    }

    /// Appends to `out` every chunk (and over-long line) the buffer holds, then a last chunk
    /// (empty if need be) marked [`TextChunk::last`]: the source is over.
    pub fn finish(&mut self, out: &mut Vec<Cut>) {
        let before = out.len();
        self.cut(true, out);
        if out.len() > before
            && let Some(Cut::Chunk(chunk)) = out.last_mut()
        {
            chunk.last = true;
            return;
        }
        out.push(Cut::Chunk(TextChunk {
            source: self.source.clone(),
            first_line: self.line,
            data: Vec::new(),
            ordered: self.ordered,
            format: self.format.clone(),
            last: true,
        }));
    }

    /// Appends to `out` every chunk (and over-long line) the buffer holds. With `end`, the
    /// input is over: a last line without a line ending is cut too.
    pub fn cut(&mut self, end: bool, out: &mut Vec<Cut>) {
        if let Some((start, bytes, head)) = self.skipping.as_mut() {
            match memchr::memchr(b'\n', &self.buf) {
                Some(pos) => {
                    *bytes += pos as u64;
                    self.buf.drain(..=pos);
                    out.push(Cut::LongLine {
                        line: *start,
                        bytes: *bytes,
                        head: std::mem::take(head),
                    });
                    self.skipping = None;
                    self.line += 1;
                }
                None => {
                    *bytes += self.buf.len() as u64;
                    self.buf.clear();
                    if end {
                        out.push(Cut::LongLine {
                            line: *start,
                            bytes: *bytes,
                            head: std::mem::take(head),
                        });
                        self.skipping = None;
                    }
                    return;
                }
            }
        }
        while self.buf.len() >= self.chunk_bytes || (end && !self.buf.is_empty()) {
            let first = memchr::memchr(b'\n', &self.buf);
            let first_len = first.unwrap_or(self.buf.len());
            if first_len > self.max_line_bytes {
                let head = self.buf[..LONG_LINE_HEAD.min(first_len)].to_vec();
                match first {
                    Some(pos) => {
                        self.buf.drain(..=pos);
                        out.push(Cut::LongLine {
                            line: self.line,
                            bytes: pos as u64,
                            head,
                        });
                        self.line += 1;
                        continue;
                    }
                    None => {
                        self.skipping = Some((self.line, self.buf.len() as u64, head));
                        self.buf.clear();
                        if end {
                            self.cut(true, out);
                        }
                        return;
                    }
                }
            }
            // Cut after the last line ending within `chunk_bytes` (or the first after it, for
            // a line longer than a chunk), so boundaries depend on content only.
            let window = self.chunk_bytes.min(self.buf.len());
            let cut = memchr::memrchr(b'\n', &self.buf[..window])
                .or_else(|| memchr::memchr(b'\n', &self.buf[window..]).map(|p| p + window));
            let mut end_at = match cut {
                Some(pos) => pos + 1,
                None if end => self.buf.len(),
                // A line longer than a chunk but within the limit: wait for more of it.
                None => return,
            };
            // Stop before any later line over the limit: it becomes the first line of the
            // next round, and is set aside there.
            if let Some(start) = first_long_line(&self.buf[..end_at], self.max_line_bytes) {
                end_at = start;
            }
            let rest = self.buf.split_off(end_at);
            let data = std::mem::replace(&mut self.buf, rest);
            let chunk = TextChunk {
                source: self.source.clone(),
                first_line: self.line,
                data,
                ordered: self.ordered,
                format: self.format.clone(),
                last: false,
            };
            self.line += chunk.line_count();
            out.push(Cut::Chunk(chunk));
        }
    }
}

/// The offset of the first line of `data` after the first that is longer than `max` bytes.
fn first_long_line(data: &[u8], max: usize) -> Option<usize> {
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len())) {
        if newline.saturating_sub(start) > max && start > 0 {
            return Some(start);
        }
        start = newline + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines with their numbers, and over-long lines with (number, length).
    type Cuts = (Vec<(u64, String)>, Vec<(u64, u64)>);

    /// Feeds `input` in pieces of `step` bytes; returns (line number, line) pairs and long lines.
    fn cut_all(input: &[u8], step: usize, chunk: usize, max: usize) -> Cuts {
        let mut cutter = LineCutter::new("s".into(), chunk, max);
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            cutter.buffer().extend_from_slice(piece);
            cutter.cut(false, &mut out);
        }
        cutter.cut(true, &mut out);
        let mut lines = Vec::new();
        let mut long = Vec::new();
        for cut in out {
            match cut {
                Cut::Chunk(c) => lines.extend(
                    c.lines()
                        .map(|(n, l)| (n, String::from_utf8_lossy(l).into_owned())),
                ),
                Cut::LongLine { line, bytes, .. } => long.push((line, bytes)),
            }
        }
        (lines, long)
    }

    #[test]
    fn same_lines_whatever_the_read_sizes() {
        let input: String = (1..=300).map(|n| format!("line {n}\n")).collect::<String>() + "tail";
        let expected: Vec<(u64, String)> = (1..=300)
            .map(|n| (n, format!("line {n}")))
            .chain(std::iter::once((301, "tail".to_owned())))
            .collect();
        for step in [1, 7, 64, 4096] {
            for chunk in [1, 10, 100, 100_000] {
                let (lines, long) = cut_all(input.as_bytes(), step, chunk, 1000);
                assert_eq!(lines, expected, "step {step} chunk {chunk}");
                assert!(long.is_empty());
            }
        }
    }

    #[test]
    fn long_lines_are_skipped_with_their_numbers() {
        let long = "x".repeat(5000);
        let input = format!("a\n{long}\nb\n{long}");
        for step in [1, 100, 10_000] {
            for chunk in [16, 100_000] {
                let (lines, skipped) = cut_all(input.as_bytes(), step, chunk, 100);
                assert_eq!(
                    lines,
                    vec![(1, "a".into()), (3, "b".into())],
                    "step {step} chunk {chunk}"
                );
                assert_eq!(
                    skipped,
                    vec![(2, 5000), (4, 5000)],
                    "step {step} chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn available_lines_are_cut_without_a_full_chunk() {
        let mut cutter = LineCutter::new("s".into(), 1000, 100);
        let mut out = Vec::new();
        cutter.buffer().extend_from_slice(b"one\ntwo\nthr");
        cutter.cut(false, &mut out);
        assert!(out.is_empty(), "less than a chunk");
        cutter.cut_available(&mut out);
        assert!(matches!(&out[..], [Cut::Chunk(c)] if c.data == b"one\ntwo\n"));
        assert_eq!(cutter.pending(), 3, "the partial line waits");
    }

    #[test]
    fn finishing_marks_the_last_chunk() {
        let mut cutter = LineCutter::new("s".into(), 4, 100);
        cutter.set_kind(&SourceKind {
            ordered: true,
            format: Some("zeek".into()),
            ..SourceKind::default()
        });
        let mut out = Vec::new();
        cutter.buffer().extend_from_slice(b"#fields a b\nx y\n");
        cutter.finish(&mut out);
        assert!(out.iter().all(
            |c| matches!(c, Cut::Chunk(c) if c.ordered && c.format.as_deref() == Some("zeek"))
        ));
        let lasts: Vec<bool> = out
            .iter()
            .map(|c| matches!(c, Cut::Chunk(c) if c.last))
            .collect();
        assert_eq!(lasts.iter().filter(|l| **l).count(), 1);
        assert_eq!(lasts.last(), Some(&true));
        // Nothing held: an empty last chunk still says the source is over.
        let mut out = Vec::new();
        cutter.finish(&mut out);
        assert!(matches!(&out[..], [Cut::Chunk(c)] if c.last && c.data.is_empty()));
    }
}
