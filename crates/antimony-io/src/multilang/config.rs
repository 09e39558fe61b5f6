//! Options of the `multilang` bolt and spout.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::process::ShellCommand;
use super::protocol::ReadLimits;

/// Options of a multilang component.
///
/// ```toml
/// [bolts.split]
/// type = "multilang"
/// inputs = ["lines"]
/// command = "python3"
/// args = ["split_words.py"]
/// fields = ["word"]
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilangConfig {
    /// The program to run (`python3`, `node`, `./bolt`).
    pub command: String,
    /// Its arguments (`["split_words.py"]`).
    #[serde(default)]
    pub args: Vec<String>,
    /// Its working directory, relative to the topology file (default: the file's directory).
    #[serde(default)]
    pub cwd: Option<String>,
    /// The names of the values it emits (Storm's output fields), which fields groupings of
    /// its readers may name (default `["value"]`).
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// The configuration handed to it in the handshake (Storm's `conf`).
    #[serde(default)]
    pub conf: Map<String, Value>,
    /// Seconds without a word from a process that has tuples to answer (or a spout in its
    /// turn) before it is taken as hung, killed and restarted (default 30).
    #[serde(default = "default_heartbeat_timeout")]
    pub heartbeat_timeout_secs: f64,
    /// Tuples written ahead of the acknowledgements (default 100): Storm's
    /// `topology.max.spout.pending` for one process.
    #[serde(default = "default_max_pending")]
    pub max_pending: usize,
    /// How many times the process may die or hang with a tuple alone in flight (tuples in
    /// flight at a crash are replayed one at a time) before the tuple is set aside as the
    /// cause (default 3); for a spout, failures in a row before it stops.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Seconds between tick tuples (`__system`/`__tick`), for a bolt that flushes
    /// periodically; one last tick is sent when its input ends (default: none).
    #[serde(default)]
    pub tick_freq_secs: Option<f64>,
    /// The longest message it may write, in bytes (default 1 MiB): longer is garbage.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Spouts: the source is finished once its turns have emitted nothing for this many
    /// seconds (default: never; a spout process that exits with status 0 also finishes it).
    #[serde(default)]
    pub idle_end_secs: Option<f64>,
}

fn default_heartbeat_timeout() -> f64 {
    30.0
}
fn default_max_pending() -> usize {
    100
}
fn default_max_attempts() -> u32 {
    3
}
fn default_max_message_bytes() -> usize {
    1 << 20
}

/// The default output field.
pub const DEFAULT_FIELD: &str = "value";

impl MultilangConfig {
    /// Checks the values: `Err((option, reason))`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.command.trim().is_empty() {
            return Err(("command", "must name a program".to_owned()));
        }
        if !(self.heartbeat_timeout_secs.is_finite() && self.heartbeat_timeout_secs > 0.0) {
            return Err((
                "heartbeat_timeout_secs",
                "must be a positive number of seconds".to_owned(),
            ));
        }
        if self.max_pending == 0 {
            return Err(("max_pending", "must be at least 1".to_owned()));
        }
        if self.max_attempts == 0 {
            return Err(("max_attempts", "must be at least 1".to_owned()));
        }
        if let Some(tick) = self.tick_freq_secs
            && !(tick.is_finite() && tick > 0.0)
        {
            return Err((
                "tick_freq_secs",
                "must be a positive number of seconds".to_owned(),
            ));
        }
        if let Some(idle) = self.idle_end_secs
            && !(idle.is_finite() && idle >= 0.0)
        {
            return Err(("idle_end_secs", "must be a number of seconds".to_owned()));
        }
        if self.max_message_bytes < 1024 {
            return Err(("max_message_bytes", "must be at least 1024".to_owned()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for field in self.output_fields() {
            if !seen.insert(field) {
                return Err(("fields", format!("names `{field}` twice")));
            }
        }
        Ok(())
    }

    /// The output fields.
    pub fn output_fields(&self) -> Vec<&str> {
        match &self.fields {
            Some(fields) => fields.iter().map(String::as_str).collect(),
            None => vec![DEFAULT_FIELD],
        }
    }

    /// The command, with its directory resolved against `base_dir`.
    pub fn shell_command(&self, base_dir: &Path) -> ShellCommand {
        // A topology file named without a directory has an empty one: the current directory.
        let base_dir = if base_dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base_dir
        };
        ShellCommand {
            command: self.command.clone(),
            args: self.args.clone(),
            cwd: match &self.cwd {
                Some(cwd) => crate::multilang::config::resolve(base_dir, cwd),
                None => base_dir.to_path_buf(),
            },
        }
    }

    /// Checks that the program and the files among its arguments exist (for `validate`
    /// and before a run starts): an argument that looks like a script (`.py`, `.js`, `.rb`)
    /// must name a file.
    pub fn check_files(&self, base_dir: &Path) -> Result<(), (&'static str, String)> {
        let command = self.shell_command(base_dir);
        command.check().map_err(|e| {
            if e.starts_with("directory") {
                ("cwd", e)
            } else {
                ("command", e)
            }
        })?;
        for arg in &self.args {
            let script = [".py", ".js", ".rb", ".sh", ".pl"]
                .iter()
                .any(|ext| arg.ends_with(ext));
            if script && !command.cwd.join(arg).is_file() {
                return Err((
                    "args",
                    format!("script {} does not exist", command.cwd.join(arg).display()),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn limits(&self) -> ReadLimits {
        ReadLimits {
            max_line_bytes: self.max_message_bytes,
            max_message_bytes: self.max_message_bytes,
        }
    }

    pub(crate) fn heartbeat_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.heartbeat_timeout_secs)
    }

    pub(crate) fn tick(&self) -> Option<Duration> {
        self.tick_freq_secs.map(Duration::from_secs_f64)
    }
}

fn resolve(base_dir: &Path, path: &str) -> std::path::PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}
