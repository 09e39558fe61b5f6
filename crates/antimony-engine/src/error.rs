//! Errors a user sees: what is wrong, and where.

use std::fmt;
use std::path::PathBuf;

/// A topology that cannot run, refused before anything starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyError {
    /// The topology file, when the topology was declared in one.
    pub file: Option<PathBuf>,
    /// The line in that file, when known.
    pub line: Option<usize>,
    /// The column on that line, when known (an option's value).
    pub column: Option<usize>,
    /// The component at fault, when one is.
    pub component: Option<String>,
    /// What is wrong, for a person.
    pub message: String,
}

impl TopologyError {
    /// An error about the topology as a whole.
    pub fn topology(message: impl Into<String>) -> Self {
        TopologyError {
            file: None,
            line: None,
            column: None,
            component: None,
            message: message.into(),
        }
    }

    /// An error about one component.
    pub fn at(component: &str, message: impl Into<String>) -> Self {
        TopologyError {
            file: None,
            line: None,
            column: None,
            component: Some(component.to_owned()),
            message: message.into(),
        }
    }

    /// Adds the file (and line) the error was found in.
    pub fn in_file(mut self, file: impl Into<PathBuf>, line: Option<usize>) -> Self {
        self.file = Some(file.into());
        if self.line.is_none() {
            self.line = line;
        }
        self
    }
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line, self.column) {
            (Some(file), Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: ", file.display())?
            }
            (Some(file), Some(line), None) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None, _) => write!(f, "{}: ", file.display())?,
            (None, Some(line), Some(column)) => write!(f, "line {line}, column {column}: ")?,
            (None, Some(line), None) => write!(f, "line {line}: ")?,
            _ => {}
        }
        match &self.component {
            Some(component) => write!(f, "component `{component}` {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for TopologyError {}

/// A run that could not start or was stopped by an error (not by bad records: those are set
/// aside and counted, and the run goes on).
///
/// Each message says its cause itself, so no variant also reports it as its
/// [`source`](std::error::Error::source): a printer that walks the chain of causes (anyhow's
/// `{:#}`) would say it twice.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A spout could not open its source.
    #[error("spout `{component}` could not start: {error}")]
    SpoutOpen {
        /// The spout's name.
        component: String,
        /// Why.
        error: antimony_core::SpoutError,
    },
    /// A spout panicked while opening its source.
    #[error("spout `{component}` could not start: it {panic}")]
    SpoutPanic {
        /// The spout's name.
        component: String,
        /// The panic message and location.
        panic: String,
    },
    /// The dataflow could not be started (worker threads, cluster connections).
    #[error("could not start the workers: {0}")]
    Start(String),
    /// A worker stopped abnormally.
    #[error("a worker failed: {0}")]
    Worker(String),
    /// The processes of a cluster could not connect, did not match, or one was lost.
    #[error(transparent)]
    Cluster(#[from] crate::runtime::ClusterError),
    /// A checkpoint could not be written, or the run cannot resume from the ones there.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The dead-letter output could not be written.
    #[error("cannot write the dead-letter output {output}: {error}")]
    DeadLetter {
        /// The output, as its opener names it.
        output: String,
        /// The I/O error.
        error: std::io::Error,
    },
}
