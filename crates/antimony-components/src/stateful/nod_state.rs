//! The newly-observed-domain memory on disk, so it survives a restart.
//!
//! Each worker writes its share to `STATE_PATH.w<N>` (atomically: a temporary file, then a
//! rename), and at start reads every `STATE_PATH.w*` file: their union is the state, however
//! the domains are spread over workers now, so a restart may use another number of workers.

use std::path::{Path, PathBuf};

use antimony_detect::stateful::NewDomains;

/// Where one run's newly-observed-domain state lives.
#[derive(Clone, Debug)]
pub struct NodState {
    path: PathBuf,
}

impl NodState {
    /// State kept at `path` (each worker's share beside it, `path.w<N>`).
    pub fn new(path: PathBuf) -> Self {
        NodState { path }
    }

    /// The file worker `worker` writes.
    pub fn file(&self, worker: usize) -> Option<PathBuf> {
        let mut name = self.path.file_name()?.to_os_string();
        name.push(format!(".w{worker}"));
        Some(self.path.with_file_name(name))
    }

    /// Writes worker `worker`'s share of `nod`, atomically. The file written on failure.
    pub fn save(&self, nod: &NewDomains, worker: usize) -> Result<(), (PathBuf, std::io::Error)> {
        let Some(file) = self.file(worker) else {
            return Ok(());
        };
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, nod.snapshot())
            .and_then(|()| std::fs::rename(&tmp, &file))
            .map_err(|e| (file, e))
    }

    /// Merges every worker's file of the last run into `nod`. Files that cannot be read or
    /// parsed are skipped with a warning: a new run starts with what it has.
    pub fn load(&self, nod: &mut NewDomains, worker: usize) {
        for file in self.files() {
            match std::fs::read(&file) {
                Ok(bytes) => {
                    if let Err(e) = nod.merge(&bytes) {
                        tracing::warn!(file = %file.display(), error = %e, worker, "newly-observed-domain state not loaded");
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "cannot read the newly-observed-domain state")
                }
            }
        }
    }

    /// Every worker's file, in name order.
    fn files(&self) -> Vec<PathBuf> {
        let prefix = format!(
            "{}.w",
            self.path
                .file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default()
        );
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|f| {
                    let f = f.to_string_lossy();
                    f.starts_with(&prefix) && f[prefix.len()..].bytes().all(|b| b.is_ascii_digit())
                })
            })
            .collect();
        files.sort();
        files
    }
}
