//! Writing lines to a file or a standard stream from a worker, through Tokio, with backpressure.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use antimony_core::LineOutput;
use tokio::io::AsyncWriteExt;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
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

/// Buffers lines on a worker thread and hands them in batches to a Tokio task that writes them.
///
/// Call from worker threads only (not from inside the Tokio runtime): a full queue blocks the
/// caller, which is how backpressure reaches the sources.
pub struct LineWriter {
    buffer: Vec<u8>,
    /// Lines in `buffer`.
    buffered: u64,
    sender: Option<mpsc::Sender<(Vec<u8>, u64)>>,
    task: Option<JoinHandle<io::Result<()>>>,
    tokio: Handle,
    target: LineTarget,
    /// Lines taken by `write_line`, and lines the task has written: on a failure, the
    /// difference is what was lost, and is said, not guessed.
    accepted: u64,
    written: Arc<AtomicU64>,
}

impl LineWriter {
    /// Opens the target (creating the file) and starts the writer task on the I/O runtime.
    pub fn open(target: LineTarget) -> io::Result<Self> {
        let runtime = crate::runtime::handle();
        let (sender, mut receiver) = mpsc::channel::<(Vec<u8>, u64)>(QUEUE_BATCHES);
        let writer: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match &target {
            LineTarget::Stdout => Box::new(tokio::io::stdout()),
            LineTarget::Stderr => Box::new(tokio::io::stderr()),
            LineTarget::File(path) => Box::new(runtime.block_on(create_file(path))?),
        };
        let written = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&written);
        let task = runtime.spawn(async move {
            let mut writer = writer;
            while let Some((batch, lines)) = receiver.recv().await {
                writer.write_all(&batch).await?;
                // Written through to the target (a file, a pipe): counted.
                writer.flush().await?;
                counted.fetch_add(lines, Ordering::Relaxed);
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
        if sender.blocking_send((batch, lines)).is_err() {
            // The task ended early: it failed. Collect its error.
            return Err(self.finish().err().unwrap_or_else(|| {
                io::Error::other(format!("writing to {} stopped", self.target.display()))
            }));
        }
        Ok(())
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

async fn create_file(path: &Path) -> io::Result<tokio::fs::File> {
    tokio::fs::File::create(path)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))
}
