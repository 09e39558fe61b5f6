//! The `file` spout: reads files (a path, a glob, or standard input), as chunks of whole lines
//! or of raw bytes, optionally following a file as it grows, is rotated or is truncated. A
//! named pipe or a device (`<(...)`, `/dev/fd/N`) is read like standard input. A gzip or
//! zstd file (told by its first bytes, whatever its name) is read as what it decompresses to
//! ([`compressed`](crate::sources::compressed)).
//!
//! A Tokio task reads ahead into a small bounded queue (so reading overlaps processing, and
//! stops when the dataflow falls behind); the spout hands one chunk per poll to the dataflow.
//! Chunk boundaries depend only on the files' content, so a replay cuts the same epochs and
//! gives the same results.
//!
//! Memory stays bounded on hostile input: a line longer than `max_line_bytes` is never held
//! whole; it is skipped up to its end and reported as a dead letter with its line number.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use antimony_core::{Context, Emitter, Record, Spout, SpoutError, SpoutStatus};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::mpsc;

use crate::chunk::{ByteChunk, TextChunk};
use crate::cutter::{Cut, LineCutter};
use crate::meters::Meters;
use crate::sources::compressed::Compression;
use crate::sources::position::{FilePosition, ResumeAt, resume_in};
use crate::sources::sniff::{ByContent, SNIFF_BYTES, Sniff, SourceKind};
use tokio::io::AsyncSeekExt;

/// How a file is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// As the spout's sniffer decides from the first bytes (by default: binary if the
    /// first 4 KiB hold a NUL byte or invalid UTF-8).
    #[default]
    Auto,
    /// Chunks of whole lines.
    Lines,
    /// Chunks of raw bytes (capture files, Frame Streams).
    Bytes,
}

/// Options of the `file` spout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The file to read: a path, a glob (`/var/log/dns/*.log`, read in name order), or `-` for
    /// standard input. Relative to the topology file. A named pipe or `/dev/fd/N` (what a
    /// shell's `<(...)` gives) is read like standard input.
    pub path: String,
    /// `auto` (default), `lines` or `bytes`.
    #[serde(default)]
    pub mode: Mode,
    /// Keep reading as the file grows, and across rotation (the path names a new file) and
    /// truncation, like `tail -F`; the run then lasts until it is stopped. One file only.
    #[serde(default)]
    pub follow: bool,
    /// Target size of a chunk (one epoch of the dataflow). Default 64 KiB.
    #[serde(default = "default_chunk_bytes")]
    pub chunk_bytes: usize,
    /// Lines longer than this are set aside unread. Default 64 KiB.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// Standard input and pipes only: the longest a whole line waits for its chunk to fill before the
    /// lines at hand are sent anyway (like Kafka's `linger.ms`), in milliseconds. Keeps alert
    /// latency low at any input rate; at high rates chunks fill first. Default 5.
    #[serde(default = "default_linger_ms")]
    pub linger_ms: u64,
}

impl FileConfig {
    /// A configuration reading `path` with the defaults.
    pub fn new(path: impl Into<String>) -> Self {
        FileConfig {
            path: path.into(),
            mode: Mode::Auto,
            follow: false,
            chunk_bytes: default_chunk_bytes(),
            max_line_bytes: default_max_line_bytes(),
            linger_ms: default_linger_ms(),
        }
    }
}

impl FileConfig {
    /// Refuses values that would let the spout start and then set every line aside: a
    /// `chunk_bytes` or `max_line_bytes` of 0. Called when the topology is read, so the
    /// error can point at the option in the file; [`FileSpout`] checks again when it opens.
    pub fn check(&self) -> Result<(), FileConfigError> {
        if self.chunk_bytes == 0 {
            return Err(FileConfigError::ZeroChunkBytes);
        }
        if self.max_line_bytes == 0 {
            return Err(FileConfigError::ZeroMaxLineBytes);
        }
        Ok(())
    }
}

/// An option of the `file` spout that cannot be used. The message does not name the
/// option: [`FileConfigError::option`] does, for the caller to say where it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileConfigError {
    /// `chunk_bytes` is 0.
    #[error(
        "must be at least 1 (the default is {}): a chunk of 0 bytes holds no line",
        default_chunk_bytes()
    )]
    ZeroChunkBytes,
    /// `max_line_bytes` is 0.
    #[error(
        "must be at least 1 (the default is {}): every line would be over the limit and set aside",
        default_max_line_bytes()
    )]
    ZeroMaxLineBytes,
}

impl FileConfigError {
    /// The option at fault, as a topology file names it.
    pub fn option(&self) -> &'static str {
        match self {
            FileConfigError::ZeroChunkBytes => "chunk_bytes",
            FileConfigError::ZeroMaxLineBytes => "max_line_bytes",
        }
    }
}

fn default_linger_ms() -> u64 {
    5
}

fn default_chunk_bytes() -> usize {
    64 * 1024
}

fn default_max_line_bytes() -> usize {
    antimony_core::limits::MAX_LINE_BYTES
}

/// Chunks read ahead of the dataflow.
const READ_AHEAD: usize = 4;
/// A pipe silent this long has its whole lines sent without waiting for a full chunk.
const LIVE_PAUSE: Duration = Duration::from_millis(50);
/// How often a followed file is checked for growth, rotation and truncation.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Why a path names no file to read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The path is a directory.
    #[error("`{0}` is a directory")]
    Directory(PathBuf),
    /// Nothing is at the path.
    #[error("cannot read `{0}`: no such file")]
    Missing(PathBuf),
    /// Something is at the path, but it cannot be looked at (a directory on the way that
    /// may not be searched).
    #[error("cannot read `{path}`: {error}")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why, as the system says it.
        error: std::io::Error,
    },
    /// The glob does not parse.
    #[error("bad glob `{pattern}`: {error}")]
    BadGlob {
        /// The pattern.
        pattern: String,
        /// Why.
        error: glob::PatternError,
    },
    /// The glob matches no file.
    #[error("no file matches `{0}`")]
    NoMatch(String),
}

/// The files a path names: itself, the files a glob matches (sorted), or standard input.
///
/// A path that names no regular file but something that reads like one (a named pipe, what
/// `<(...)` hands over as `/dev/fd/N`, `/dev/stdin`, a character device) is taken: it is read
/// like standard input. A glob takes regular files only.
pub fn expand(path: &Path) -> Result<Vec<PathBuf>, InputError> {
    let text = path.to_string_lossy();
    if text == "-" {
        return Ok(vec![path.to_path_buf()]);
    }
    if !text.contains(['*', '?', '[']) {
        return match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Err(InputError::Directory(path.to_path_buf())),
            Ok(_) => Ok(vec![path.to_path_buf()]),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(InputError::Missing(path.to_path_buf()))
            }
            Err(error) => Err(InputError::Unreadable {
                path: path.to_path_buf(),
                error,
            }),
        };
    }
    let mut files: Vec<PathBuf> = glob::glob(&text)
        .map_err(|error| InputError::BadGlob {
            pattern: text.to_string(),
            error,
        })?
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(InputError::NoMatch(text.to_string()));
    }
    Ok(files)
}

enum Message {
    /// Whole lines, and where the file is once they are emitted (`None`: a live source).
    Text(TextChunk, Option<FilePosition>),
    Bytes(ByteChunk),
    LongLine {
        source: String,
        line: u64,
        bytes: u64,
        head: Vec<u8>,
        position: Option<FilePosition>,
    },
    Failed {
        location: String,
        error: String,
    },
}

/// Reads files in chunks; emits `R::from(chunk)`.
pub struct FileSpout<R> {
    path: PathBuf,
    files: Option<Vec<PathBuf>>,
    sniffer: Arc<dyn Sniff>,
    config: FileConfig,
    receiver: Option<mpsc::Receiver<Message>>,
    /// The reading task, stopped when the spout goes (a read of standard input may block).
    reader: Option<tokio::task::AbortHandle>,
    /// Where to resume (a checkpoint's position), until opened.
    resume: Option<FilePosition>,
    /// Where the files are after what was emitted; `None` once a source without a position
    /// (standard input, a pipe, a binary file) is read.
    position: Option<FilePosition>,
    records: PhantomData<fn() -> R>,
}

impl<R> Drop for FileSpout<R> {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
    }
}

impl<R> FileSpout<R> {
    /// A spout for `path` (already resolved: a file, a glob, or `-`).
    pub fn new(path: PathBuf, config: &FileConfig) -> Self {
        FileSpout {
            path,
            files: None,
            sniffer: Arc::new(ByContent),
            config: config.clone(),
            receiver: None,
            reader: None,
            resume: None,
            position: None,
            records: PhantomData,
        }
    }
}

impl<R> FileSpout<R> {
    /// A spout reading these files one after the other, in this order.
    pub fn files(files: Vec<PathBuf>, config: &FileConfig) -> Self {
        FileSpout {
            path: files.first().cloned().unwrap_or_default(),
            files: Some(files),
            sniffer: Arc::new(ByContent),
            config: config.clone(),
            receiver: None,
            reader: None,
            resume: None,
            position: None,
            records: PhantomData,
        }
    }
}

impl<R> FileSpout<R> {
    /// Sets who decides, from each file's first bytes, how it is read (text or bytes, in
    /// order or not, which format): asked once per file, the answer stamped on its chunks.
    pub fn sniffer(mut self, sniffer: Arc<dyn Sniff>) -> Self {
        self.sniffer = sniffer;
        self
    }
}

impl<R: Record + From<TextChunk> + From<ByteChunk>> Spout<R> for FileSpout<R> {
    fn open(&mut self, ctx: &Context) -> Result<(), SpoutError> {
        self.config
            .check()
            .map_err(|e| SpoutError::new(format!("option `{}`: {e}", e.option())))?;
        let files = match &self.files {
            Some(files) => {
                for file in files {
                    expand(file).map_err(|e| SpoutError::new(e.to_string()))?;
                }
                files.clone()
            }
            None => expand(&self.path).map_err(|e| SpoutError::new(e.to_string()))?,
        };
        if self.config.follow {
            let what = match files.as_slice() {
                [one] if one.as_os_str() == "-" => Some("standard input".to_owned()),
                [one] if !is_regular(one) => Some("a pipe or a device, not a file".to_owned()),
                [_] => None,
                many => Some(format!("{} files", many.len())),
            };
            if let Some(what) = what {
                return Err(SpoutError::new(format!(
                    "`follow` reads one file, and `{}` names {what}",
                    self.path.display(),
                )));
            }
        }
        let resume = match &self.resume {
            Some(position) => {
                Some(resume_in(&files, position, self.config.follow).map_err(SpoutError::new)?)
            }
            None => None,
        };
        self.position = match &resume {
            Some(resume) => Some(resume.position.clone()),
            None => files.first().and_then(|f| FilePosition::start(f)),
        };
        let (sender, receiver) = mpsc::channel(READ_AHEAD);
        let meters = Meters::register(ctx);
        let reader = Reader {
            meters,
            config: self.config.clone(),
            sniffer: Arc::clone(&self.sniffer),
            sender,
        };
        let task = crate::runtime::handle().spawn(reader.run(files, resume));
        self.reader = Some(task.abort_handle());
        self.receiver = Some(receiver);
        Ok(())
    }

    fn poll(&mut self, out: &mut Emitter<'_, R>) -> SpoutStatus {
        let Some(receiver) = self.receiver.as_mut() else {
            return SpoutStatus::Finished;
        };
        match receiver.try_recv() {
            Ok(Message::Text(chunk, position)) => {
                self.position = position;
                out.emit(R::from(chunk));
            }
            Ok(Message::Bytes(chunk)) => {
                // A capture's framing depends on everything before: it cannot resume.
                self.position = None;
                out.emit(R::from(chunk));
            }
            Ok(Message::LongLine {
                source,
                line,
                bytes,
                head,
                position,
            }) => {
                self.position = position;
                out.dead_letter(
                Some(format!("{source}:{line}")),
                format!(
                    "line is {bytes} bytes long, over the {} byte limit (max_line_bytes); skipped",
                    self.config.max_line_bytes
                ),
                String::from_utf8_lossy(&head).into_owned(),
                );
            }
            Ok(Message::Failed { location, error }) => out.dead_letter(
                Some(location),
                format!("reading stopped: {error}"),
                String::new(),
            ),
            Err(mpsc::error::TryRecvError::Empty) => return SpoutStatus::Idle,
            Err(mpsc::error::TryRecvError::Disconnected) => return SpoutStatus::Finished,
        }
        SpoutStatus::Emitted
    }

    fn position(&mut self) -> Option<Vec<u8>> {
        self.position.as_ref().map(FilePosition::encode)
    }

    fn seek(&mut self, position: &[u8]) -> Result<(), SpoutError> {
        self.resume = Some(FilePosition::decode(position).map_err(SpoutError::new)?);
        Ok(())
    }
}

/// The reading task.
struct Reader {
    meters: Meters,
    config: FileConfig,
    sniffer: Arc<dyn Sniff>,
    sender: mpsc::Sender<Message>,
}

type Input = Box<dyn AsyncRead + Unpin + Send>;

impl Reader {
    async fn run(self, files: Vec<PathBuf>, resume: Option<ResumeAt>) {
        if !self.config.follow {
            let total = files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len())
                .sum();
            self.meters.expect(total);
        }
        let first = resume.as_ref().map_or(0, |r| r.index);
        for (index, path) in files.into_iter().enumerate() {
            let resume_here = resume.as_ref().filter(|r| r.index == index);
            if index < first {
                // Read before the checkpoint.
                if let Ok(meta) = std::fs::metadata(&path) {
                    self.meters.read(meta.len());
                }
                continue;
            }
            let source = path.display().to_string();
            let Some((input, live)) = self.open(&path, &source).await else {
                continue;
            };
            if live {
                self.meters.unbounded();
            }
            let (head, input, compression) = decoded_head(input, live).await;
            // The one decision on how this source is read.
            let mut kind = self.sniffer.sniff(&source, &head);
            match self.config.mode {
                Mode::Lines if kind.binary => kind = SourceKind::default(),
                Mode::Bytes if !kind.binary => {
                    kind = SourceKind {
                        binary: true,
                        ..SourceKind::default()
                    }
                }
                _ => {}
            }
            if let (Some(compression), true) = (compression, self.config.follow) {
                // Its growth could not be told from its decompressed length: read it once.
                tracing::warn!(
                    source = %source,
                    "`follow` reads plain text, and this file is {}-compressed: read to its end, not followed",
                    compression.name()
                );
            }
            let follow = self.config.follow && !live && compression.is_none();
            // Where this file is read from, for checkpoints: text files only.
            let mut at = (!live && !kind.binary)
                .then(|| FilePosition::start(&path))
                .flatten();
            let (head, input) = match (resume_here, kind.binary) {
                (Some(resume), false) => {
                    if let Some(rotated) = &resume.rotated {
                        // Followed and rotated since the checkpoint: the old file's rest
                        // first, then the new one from its start.
                        if !self
                            .rest_of_rotated(rotated, &source, &kind, &resume.position)
                            .await
                        {
                            return;
                        }
                        (head, input)
                    } else {
                        at = Some(resume.position.clone());
                        match self
                            .skip_to(
                                &path,
                                &source,
                                resume.position.offset,
                                head,
                                input,
                                compression,
                            )
                            .await
                        {
                            Some(resumed) => resumed,
                            None => return,
                        }
                    }
                }
                _ => (head, input),
            };
            let ok = match (kind.binary, follow) {
                (true, _) => self.bytes(&source, &kind, head, input).await,
                (false, true) => self.follow(&path, &source, &kind, head, input, at).await,
                (false, false) => self.lines(&source, &kind, head, input, live, at).await,
            };
            if !ok {
                return;
            }
        }
    }

    /// Moves `input` (the decoded stream after `head`) to `offset` bytes into the source:
    /// a plain file is opened again and seeked, a compressed one decoded and the bytes
    /// dropped. What remains of the head past `offset` comes back as the new head. `None`
    /// when the source cannot be read to there (said as a dead letter).
    async fn skip_to(
        &self,
        path: &Path,
        source: &str,
        offset: u64,
        head: Vec<u8>,
        mut input: Input,
        compression: Option<Compression>,
    ) -> Option<(Vec<u8>, Input)> {
        if (offset as usize) < head.len() {
            return Some((head[offset as usize..].to_vec(), input));
        }
        if compression.is_none() {
            let mut file = match tokio::fs::File::open(path).await {
                Ok(file) => file,
                Err(e) => {
                    self.fail(source, e).await;
                    return None;
                }
            };
            if let Err(e) = file.seek(std::io::SeekFrom::Start(offset)).await {
                self.fail(source, e).await;
                return None;
            }
            self.meters.read(offset.saturating_sub(head.len() as u64));
            return Some((Vec::new(), self.counted(Box::new(file))));
        }
        let rest = offset - head.len() as u64;
        let mut skipped = (&mut input).take(rest);
        match tokio::io::copy(&mut skipped, &mut tokio::io::sink()).await {
            Ok(n) if n == rest => Some((Vec::new(), input)),
            Ok(n) => {
                self.fail(
                    source,
                    std::io::Error::other(format!(
                        "it decompresses to {} bytes, fewer than the {offset} the checkpoint read",
                        head.len() as u64 + n
                    )),
                )
                .await;
                None
            }
            Err(e) => {
                self.fail(source, e).await;
                None
            }
        }
    }

    /// Reads a rotated file (the one a checkpoint was reading, renamed since) from the
    /// checkpoint's position to its end. False when the spout is gone.
    async fn rest_of_rotated(
        &self,
        rotated: &Path,
        source: &str,
        kind: &SourceKind,
        position: &FilePosition,
    ) -> bool {
        let Ok(mut file) = tokio::fs::File::open(rotated).await else {
            return true;
        };
        if file
            .seek(std::io::SeekFrom::Start(position.offset))
            .await
            .is_err()
        {
            return true;
        }
        let input = self.counted(Box::new(file));
        self.lines(
            source,
            kind,
            Vec::new(),
            input,
            false,
            Some(position.clone()),
        )
        .await
    }

    /// Opens a source; with it, whether it is live (standard input, a pipe, a device: no
    /// known size, and a writer that may pause) rather than a regular file. `None` when it
    /// cannot be opened (said as a dead letter).
    async fn open(&self, path: &Path, source: &str) -> Option<(Input, bool)> {
        if path.as_os_str() == "-" {
            return Some((self.counted(Box::new(tokio::io::stdin())), true));
        }
        // Opening a FIFO waits for its writer: the I/O runtime's blocking pool does.
        let file = match tokio::fs::File::open(path).await {
            Ok(file) => file,
            Err(e) => {
                self.fail(source, e).await;
                return None;
            }
        };
        // What was opened, not what the path names now (`/dev/fd/N` names the opener's).
        let live = file.metadata().await.is_ok_and(|meta| !meta.is_file());
        Some((self.counted(Box::new(file)), live))
    }

    /// `input`, its bytes counted as read as they come from it (before any decompression,
    /// so a file's bytes read reach its size, the bytes expected).
    fn counted(&self, input: Input) -> Input {
        Box::new(Counted {
            inner: input,
            meters: self.meters.clone(),
        })
    }

    async fn fail(&self, location: &str, error: std::io::Error) {
        let _ = self
            .sender
            .send(Message::Failed {
                location: location.to_owned(),
                error: error.to_string(),
            })
            .await;
    }

    /// Sends cut pieces, each with the position after it; false when the spout is gone.
    async fn send_cuts(
        &self,
        cuts: &mut Vec<Cut>,
        source: &str,
        at: &mut Option<FilePosition>,
    ) -> bool {
        for cut in cuts.drain(..) {
            if let Some(at) = at.as_mut() {
                at.advance(&cut);
            }
            let message = match cut {
                Cut::Chunk(chunk) => Message::Text(chunk, at.clone()),
                Cut::LongLine { line, bytes, head } => Message::LongLine {
                    source: source.to_owned(),
                    line,
                    bytes,
                    head,
                    position: at.clone(),
                },
            };
            if self.sender.send(message).await.is_err() {
                return false;
            }
        }
        true
    }

    /// A cutter for a text source read as `kind` says, numbering lines from where `at`
    /// is (a resumed file) or from 1.
    fn cutter(&self, source: &str, kind: &SourceKind, at: Option<&FilePosition>) -> LineCutter {
        let mut cutter = LineCutter::new(
            source.to_owned(),
            self.config.chunk_bytes,
            self.config.max_line_bytes,
        );
        cutter.set_kind(kind);
        if let Some(at) = at {
            cutter.number_from(at.line);
        }
        cutter
    }

    /// Reads text to its end. On a live source (standard input, a pipe), whole lines are sent
    /// once they have waited `linger_ms` for their chunk to fill (or after a pause), so a slow
    /// writer's lines do not wait for 64 KiB; a file is cut by content alone.
    async fn lines(
        &self,
        source: &str,
        kind: &SourceKind,
        head: Vec<u8>,
        mut input: Input,
        live: bool,
        mut at: Option<FilePosition>,
    ) -> bool {
        let linger = Duration::from_millis(self.config.linger_ms);
        let mut cutter = self.cutter(source, kind, at.as_ref());
        let mut cuts = Vec::new();
        cutter.buffer().extend_from_slice(&head);
        // Since when whole lines have been waiting (live sources only).
        let mut waiting_since: Option<Instant> = None;
        loop {
            let read = if live {
                let wait = waiting_since
                    .map_or(LIVE_PAUSE, |since| linger.saturating_sub(since.elapsed()));
                match tokio::time::timeout(wait, input.read_buf(cutter.buffer())).await {
                    Ok(read) => read,
                    Err(_) => {
                        cutter.cut_available(&mut cuts);
                        waiting_since = None;
                        if !self.send_cuts(&mut cuts, source, &mut at).await {
                            return false;
                        }
                        continue;
                    }
                }
            } else {
                input.read_buf(cutter.buffer()).await
            };
            let n = match read {
                Ok(n) => n,
                Err(e) => {
                    cutter.finish(&mut cuts);
                    let sent = self.send_cuts(&mut cuts, source, &mut at).await;
                    self.fail(source, e).await;
                    return sent;
                }
            };
            match n {
                0 => cutter.finish(&mut cuts),
                _ => cutter.cut(false, &mut cuts),
            }
            if live {
                waiting_since = match (cutter.holds_whole_lines(), waiting_since) {
                    (false, _) => None,
                    (true, None) => Some(Instant::now()),
                    // A steady writer never lets the read time out: cut here once the
                    // oldest whole line has waited long enough.
                    (true, Some(since)) if since.elapsed() >= linger => {
                        cutter.cut_available(&mut cuts);
                        None
                    }
                    (true, since) => since,
                };
            }
            if !self.send_cuts(&mut cuts, source, &mut at).await {
                return false;
            }
            if n == 0 {
                return true;
            }
        }
    }

    async fn bytes(
        &self,
        source: &str,
        kind: &SourceKind,
        head: Vec<u8>,
        mut input: Input,
    ) -> bool {
        let format = kind.format.clone();
        let size = self.config.chunk_bytes.max(4096) * 4;
        let mut offset = 0u64;
        let mut data = head;
        loop {
            if data.len() < size {
                data.reserve(size - data.len());
                match input.read_buf(&mut data).await {
                    Ok(0) => {
                        let last = ByteChunk {
                            source: source.to_owned(),
                            offset,
                            format: format.clone(),
                            data,
                            last: true,
                        };
                        return self.sender.send(Message::Bytes(last)).await.is_ok();
                    }
                    Ok(_) if data.len() < size => continue,
                    Ok(_) => {}
                    Err(e) => {
                        let chunk = ByteChunk {
                            source: source.to_owned(),
                            offset,
                            format: format.clone(),
                            data,
                            last: true,
                        };
                        let sent = self.sender.send(Message::Bytes(chunk)).await.is_ok();
                        self.fail(&format!("{source}, byte {offset}"), e).await;
                        return sent;
                    }
                }
            }
            let len = data.len() as u64;
            let chunk = ByteChunk {
                source: source.to_owned(),
                offset,
                format: format.clone(),
                data: std::mem::take(&mut data),
                last: false,
            };
            offset += len;
            if self.sender.send(Message::Bytes(chunk)).await.is_err() {
                return false;
            }
        }
    }

    /// Reads a text file like `tail -F`: to its end, then as it grows; when the path names a
    /// new file (rotation) the old one is read to its end first; when the file shrinks
    /// (truncation) reading starts again from its beginning. Line numbers restart with each
    /// new file. Ends when the spout is gone (the run was stopped).
    async fn follow(
        &self,
        path: &Path,
        source: &str,
        kind: &SourceKind,
        head: Vec<u8>,
        mut file: Input,
        mut at: Option<FilePosition>,
    ) -> bool {
        self.meters.unbounded();
        let mut cutter = self.cutter(source, kind, at.as_ref());
        let mut cuts = Vec::new();
        // Where the file is read to: the head follows what the position holds.
        let mut position = at.as_ref().map_or(0, |at| at.offset) + head.len() as u64;
        cutter.buffer().extend_from_slice(&head);
        // The file's identity, to notice when the path names another file.
        let mut identity = match tokio::fs::metadata(path).await {
            Ok(meta) => meta,
            Err(e) => {
                self.fail(source, e).await;
                return true;
            }
        };
        loop {
            match file.read_buf(cutter.buffer()).await {
                Ok(0) => {
                    // At the end for now: send the whole lines there are.
                    cutter.cut_available(&mut cuts);
                    if !self.send_cuts(&mut cuts, source, &mut at).await {
                        return false;
                    }
                }
                Ok(n) => {
                    position += n as u64;
                    cutter.cut(false, &mut cuts);
                    if !self.send_cuts(&mut cuts, source, &mut at).await {
                        return false;
                    }
                    continue;
                }
                Err(e) => {
                    self.fail(source, e).await;
                }
            }
            // At the end of what is there: wait, then look at what the path names now.
            tokio::time::sleep(FOLLOW_POLL).await;
            if self.sender.is_closed() {
                return false;
            }
            let Ok(now) = tokio::fs::metadata(path).await else {
                continue; // Mid-rotation: the path is gone for a moment.
            };
            if !same_file(&now, &identity) {
                // Rotated: finish the old file, then start on the new one.
                let mut rest = Vec::new();
                if file.read_to_end(&mut rest).await.is_ok() {
                    cutter.buffer().extend_from_slice(&rest);
                }
                cutter.restart(source.to_owned(), &mut cuts);
                // The old file's last lines go with its position; then the new file's.
                if !self.send_cuts(&mut cuts, source, &mut at).await {
                    return false;
                }
                match tokio::fs::File::open(path).await {
                    Ok(new) => file = self.counted(Box::new(new)),
                    Err(e) => self.fail(source, e).await,
                }
                identity = now;
                position = 0;
                at = FilePosition::start(path);
            } else if now.len() < position {
                // Truncated: the lines held are the old content's last; start over from
                // the beginning, on a fresh handle.
                cutter.restart(source.to_owned(), &mut cuts);
                // The old content's last lines go with its position; then the new.
                if !self.send_cuts(&mut cuts, source, &mut at).await {
                    return false;
                }
                match tokio::fs::File::open(path).await {
                    Ok(new) => file = self.counted(Box::new(new)),
                    Err(e) => self.fail(source, e).await,
                }
                identity = now;
                position = 0;
                at = FilePosition::start(path);
            }
            if !self.send_cuts(&mut cuts, source, &mut at).await {
                return false;
            }
        }
    }
}

/// Whether `path` names a regular file (not a pipe, a device or standard input).
fn is_regular(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_a: &std::fs::Metadata, _b: &std::fs::Metadata) -> bool {
    true
}

/// A source's first bytes, for its sniffer, and the reader of what follows them.
///
/// When the first bytes are the magic number of a compression read here (gzip, zstd), the
/// source is read through its decoder from its first byte on, and the head is the first
/// decompressed bytes: the sniffer, and every reader after it, sees what the file holds.
/// An error while the head was read comes back from the reader's first read, after the
/// bytes read before it, so they are cut into lines like any others.
async fn decoded_head(mut input: Input, live: bool) -> (Vec<u8>, Input, Option<Compression>) {
    let (head, error) = read_head(&mut input, live).await;
    let Some(compression) = Compression::detect(&head) else {
        return (head, then_fail(input, error), None);
    };
    // The compressed head goes back in front of the rest, into the decoder.
    let compressed: Input = Box::new(std::io::Cursor::new(head).chain(then_fail(input, error)));
    let mut decoded = compression.decoder(compressed);
    let (head, error) = read_head(&mut decoded, live).await;
    (head, then_fail(decoded, error), Some(compression))
}

/// The first bytes of a source, for its sniffer: up to [`SNIFF_BYTES`] of a file; of a live
/// source (standard input, a pipe), what arrives before the writer pauses (a live pipe is not
/// held back to fill a sample). With them, the error that stopped reading, if one did.
async fn read_head(input: &mut Input, live: bool) -> (Vec<u8>, Option<std::io::Error>) {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    while head.len() < SNIFF_BYTES {
        let room = (SNIFF_BYTES - head.len()) as u64;
        let waiting = live && !head.is_empty();
        let mut limited = (&mut *input).take(room);
        let read = limited.read_buf(&mut head);
        let n = match waiting {
            true => match tokio::time::timeout(LIVE_PAUSE, read).await {
                Ok(n) => n,
                Err(_) => break,
            },
            false => read.await,
        };
        match n {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return (head, Some(e)),
        }
    }
    (head, None)
}

/// `input`, or, when reading it failed, a reader that gives that error on its first read.
fn then_fail(input: Input, error: Option<std::io::Error>) -> Input {
    match error {
        Some(error) => Box::new(Failed(Some(error))),
        None => input,
    }
}

/// A source whose reading has failed: its error once, then its end.
struct Failed(Option<std::io::Error>);

impl AsyncRead for Failed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.0.take().map_or(Ok(()), Err))
    }
}

/// A source whose bytes are counted as they are read.
struct Counted {
    inner: Input,
    meters: Meters,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            self.meters.read((buf.filled().len() - before) as u64);
        }
        poll
    }
}
