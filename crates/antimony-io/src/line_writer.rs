//! Writing lines to a file or a standard stream from a worker, through Tokio, with backpressure.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use antimony_core::LineOutput;
use tokio::io::AsyncWriteExt;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Where lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineTarget {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// A file, created or truncated.
    File(PathBuf),
}

impl LineTarget {
    /// `-` means standard output; anything else is a file path.
    pub fn parse(path: &str) -> Self {
        if path == "-" {
            LineTarget::Stdout
        } else {
            LineTarget::File(PathBuf::from(path))
        }
    }

    /// A name for messages.
    pub fn display(&self) -> String {
        match self {
            LineTarget::Stdout => "standard output".to_owned(),
            LineTarget::Stderr => "standard error".to_owned(),
            LineTarget::File(path) => path.display().to_string(),
        }
    }
}

/// Bytes buffered before a batch goes to the writer task.
const BATCH_BYTES: usize = 64 * 1024;
/// Batches queued for the writer task. When the queue is full the worker waits: a slow disk
/// or a blocked pipe slows the whole dataflow down instead of growing memory.
const QUEUE_BATCHES: usize = 16;

/// What the worker thread hands the writer task.
enum Command {
    /// Lines to write, and how many.
    Write(Vec<u8>, u64),
    /// Make what was written durable and say how many bytes the target now holds.
    Sync(oneshot::Sender<io::Result<u64>>),
}

/// Where the task writes: a file can be made durable, a stream only flushed.
enum Out {
    File(tokio::fs::File),
    Stream(Box<dyn tokio::io::AsyncWrite + Unpin + Send>),
}

impl Out {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Out::File(file) => file.write_all(bytes).await,
            Out::Stream(stream) => stream.write_all(bytes).await,
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::File(file) => file.flush().await,
            Out::Stream(stream) => stream.flush().await,
        }
    }

    async fn sync(&mut self) -> io::Result<()> {
        self.flush().await?;
        match self {
            Out::File(file) => file.sync_data().await,
            Out::Stream(_) => Ok(()),
        }
    }
}

/// Buffers lines on a worker thread and hands them in batches to a Tokio task that writes them.
///
/// Call from worker threads only (not from inside the Tokio runtime): a full queue blocks the
/// caller, which is how backpressure reaches the sources.
pub struct LineWriter {
    buffer: Vec<u8>,
    /// Lines in `buffer`.
    buffered: u64,
    sender: Option<mpsc::Sender<Command>>,
    task: Option<JoinHandle<io::Result<()>>>,
    tokio: Handle,
    target: LineTarget,
    /// Lines taken by `write_line`, and lines the task has written: on a failure, the
    /// difference is what was lost, and is said, not guessed.
    accepted: u64,
    written: Arc<AtomicU64>,
}

impl LineWriter {
    /// Opens the target (creating or truncating the file) and starts the writer task on the
    /// I/O runtime.
    pub fn open(target: LineTarget) -> io::Result<Self> {
        Self::open_at(target, None)
    }

    /// Opens the target and writes on from `length` bytes into it: a file resumed from a
    /// checkpoint is cut back to what the checkpoint holds (what came after it will be
    /// written again), then appended to. `None` creates or truncates, like [`open`].
    ///
    /// [`open`]: LineWriter::open
    pub fn open_at(target: LineTarget, length: Option<u64>) -> io::Result<Self> {
        let runtime = crate::runtime::handle();
        let (sender, mut receiver) = mpsc::channel::<Command>(QUEUE_BATCHES);
        let mut bytes = 0;
        let writer = match &target {
            LineTarget::Stdout => Out::Stream(Box::new(tokio::io::stdout())),
            LineTarget::Stderr => Out::Stream(Box::new(tokio::io::stderr())),
            LineTarget::File(path) => match length {
                None => Out::File(runtime.block_on(create_file(path))?),
                Some(length) => {
                    bytes = length;
                    Out::File(runtime.block_on(resume_file(path, length))?)
                }
            },
        };
        let written = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&written);
        let task = runtime.spawn(async move {
            let mut writer = writer;
            while let Some(command) = receiver.recv().await {
                match command {
                    Command::Write(batch, lines) => {
                        writer.write_all(&batch).await?;
                        // Written through to the target (a file, a pipe): counted.
                        writer.flush().await?;
                        bytes += batch.len() as u64;
                        counted.fetch_add(lines, Ordering::Relaxed);
                    }
                    Command::Sync(reply) => {
                        let synced = writer.sync().await.map(|()| bytes);
                        let failed = synced
                            .as_ref()
                            .err()
                            .map(|e| io::Error::new(e.kind(), e.to_string()));
                        let _ = reply.send(synced);
                        if let Some(error) = failed {
                            return Err(error);
                        }
                    }
                }
            }
            writer.flush().await?;
            Ok(())
        });
        Ok(LineWriter {
            buffer: Vec::with_capacity(BATCH_BYTES),
            buffered: 0,
            sender: Some(sender),
            task: Some(task),
            tokio: runtime.clone(),
            target,
            accepted: 0,
            written,
        })
    }

    /// Appends one line (a newline is added).
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.buffer.extend_from_slice(line);
        self.buffer.push(b'\n');
        self.buffered += 1;
        self.accepted += 1;
        if self.buffer.len() >= BATCH_BYTES
            && let Err(e) = self.send_buffer()
        {
            // This line is handed back with the error (the caller still has it); the
            // lines taken before it are the ones lost.
            self.accepted -= 1;
            return Err(e);
        }
        Ok(())
    }

    /// Hands what is buffered to the writer task (it is written soon, not synchronously).
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.send_buffer()
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        let batch = std::mem::replace(&mut self.buffer, Vec::with_capacity(BATCH_BYTES));
        let lines = std::mem::take(&mut self.buffered);
        let Some(sender) = &self.sender else {
            return Err(io::Error::other("the writer is closed"));
        };
        if sender.blocking_send(Command::Write(batch, lines)).is_err() {
            // The task ended early: it failed. Collect its error.
            return Err(self.finish().err().unwrap_or_else(|| {
                io::Error::other(format!("writing to {} stopped", self.target.display()))
            }));
        }
        Ok(())
    }

    /// Writes everything taken so far, makes it durable (fsync, for a file) and returns how
    /// many bytes the target holds: what a checkpoint commits. Blocks the calling worker.
    pub fn sync(&mut self) -> io::Result<u64> {
        self.flush()?;
        let (reply, answer) = oneshot::channel();
        let sent = match &self.sender {
            Some(sender) => sender.blocking_send(Command::Sync(reply)).is_ok(),
            None => false,
        };
        let answer = if sent {
            answer.blocking_recv().ok()
        } else {
            None
        };
        match answer {
            Some(result) => result,
            None => Err(self.finish().err().unwrap_or_else(|| {
                io::Error::other(format!("writing to {} stopped", self.target.display()))
            })),
        }
    }

    /// Writes everything buffered and waits until it is written.
    pub fn close(&mut self) -> io::Result<()> {
        self.flush()?;
        self.finish()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.sender = None;
        match self.task.take() {
            Some(task) => match self.tokio.block_on(task) {
                Ok(result) => result,
                Err(join) => Err(io::Error::other(join.to_string())),
            },
            None => Ok(()),
        }
    }

    /// Where this writer writes.
    pub fn target(&self) -> &LineTarget {
        &self.target
    }

    /// Lines taken that are not known to be written yet: after a failure, the lines lost.
    pub fn unwritten(&self) -> u64 {
        self.accepted.saturating_sub(self.written())
    }

    /// Lines written through to the target so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

impl LineOutput for LineWriter {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        LineWriter::write_line(self, line)
    }

    fn flush(&mut self) -> io::Result<()> {
        LineWriter::flush(self)
    }

    fn close(&mut self) -> io::Result<()> {
        LineWriter::close(self)
    }
}

/// Opens `path` to write on from `length`: what is beyond is cut off (it was written after
/// the checkpoint and will be written again); a file shorter than that is refused, since
/// lines the checkpoint counts as written would be missing.
async fn resume_file(path: &Path, length: u64) -> io::Result<tokio::fs::File> {
    use tokio::io::AsyncSeekExt;
    let cannot =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot resume {}: {e}", path.display()));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .await
        .map_err(cannot)?;
    let found = file.metadata().await.map_err(cannot)?.len();
    if found < length {
        return Err(io::Error::other(format!(
            "cannot resume {}: it holds {found} bytes, and the checkpoint says {length} were written (was it replaced or cut?)",
            path.display()
        )));
    }
    file.set_len(length).await.map_err(cannot)?;
    file.seek(io::SeekFrom::Start(length))
        .await
        .map_err(cannot)?;
    Ok(file)
}

async fn create_file(path: &Path) -> io::Result<tokio::fs::File> {
    tokio::fs::File::create(path)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))
}
