//! Checkpoints on disk: what each worker writes at an epoch boundary, how a checkpoint is
//! known complete, and which one a run resumes from. No timely here: `dataflow.rs` decides
//! when, this module how.
//!
//! # The protocol (see also ARCHITECTURE.md)
//!
//! Checkpoints are taken at *boundaries*: epochs that are multiples of a spacing. A spout
//! that reaches a boundary (its epochs grow one per batch; it jumps to the next boundary
//! when the time interval has passed, or when it finishes or is stopped) notes its position
//! there; a bolt notes its state when its input frontier passes the boundary, after every
//! earlier epoch and before any later one. Every worker knows the same boundaries without a
//! word exchanged. Once the dataflow's probe has passed a boundary, each worker writes its
//! pieces to `DIR/<boundary>/worker-<w>.bin` (a temporary file, fsync, rename, fsync of the
//! directory; a SHA-256 of the content at its end, so a torn or damaged file is told), then
//! says so on a small commit stream; when every worker has (the commit stream's frontier
//! passes the boundary), worker 0 writes `DIR/<boundary>/COMPLETE` and the boundary is
//! committed: sources acknowledge up to it, and old checkpoints beyond `keep` go.
//!
//! A run resumes from the newest boundary every worker can read (agreed between workers
//! at start); keyed state goes to the worker that now owns its key, so a checkpoint taken
//! on N workers resumes on M.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use antimony_core::{Restored, State};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The format of the files, written in each: a change refuses old files loudly.
const FORMAT: u32 = 2;
/// The name of the file that says a boundary is complete.
const COMPLETE: &str = "COMPLETE";

/// When and where a run checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointConfig {
    /// The directory (one per topology; shared by the processes of a cluster, or one each).
    pub dir: PathBuf,
    /// Take one at least this often (default 10 s): spouts jump to the next boundary.
    pub every: Option<Duration>,
    /// Epochs between boundaries (default 2^20: the time interval decides).
    pub every_epochs: Option<u64>,
    /// Complete checkpoints kept (at least 2, default 3).
    pub keep: usize,
}

impl CheckpointConfig {
    /// A checkpoint every 10 s into `dir`, keeping 3.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CheckpointConfig {
            dir: dir.into(),
            every: Some(Duration::from_secs(10)),
            every_epochs: None,
            keep: 3,
        }
    }

    /// Epochs between two boundaries.
    pub fn spacing(&self) -> u64 {
        self.every_epochs.unwrap_or(1 << 20).max(1)
    }

    /// The first boundary after `epoch`.
    pub fn next_boundary(&self, epoch: u64) -> u64 {
        let spacing = self.spacing();
        (epoch / spacing + 1) * spacing
    }
}

/// One component instance's part of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// The component.
    pub component: String,
    /// A spout's position (`None`: it cannot resume).
    #[serde(with = "serde_bytes")]
    pub position: Option<Vec<u8>>,
    /// A spout that is over (finished or stopped): nothing more to read.
    pub finished: bool,
    /// A bolt's state.
    pub state: Option<State>,
}

/// What one worker writes for one boundary.
#[derive(Debug, Serialize, Deserialize)]
struct WorkerFile {
    format: u32,
    topology: String,
    boundary: u64,
    worker: usize,
    workers: usize,
    pieces: Vec<Piece>,
}

/// What says a boundary is complete.
#[derive(Debug, Serialize, Deserialize)]
struct Complete {
    format: u32,
    topology: String,
    boundary: u64,
    workers: usize,
}

/// Why a checkpoint cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file or directory could not be written or read.
    #[error("checkpoint {path}: {error}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The workers do not agree on a checkpoint to resume from.
    #[error("{0}")]
    Disagree(String),
    /// A file of the agreed checkpoint is missing or damaged.
    #[error("checkpoint {path} cannot be used: {why}")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |error| CheckpointError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn boundary_dir(dir: &Path, boundary: u64) -> PathBuf {
    dir.join(format!("{boundary:020}"))
}

fn worker_path(dir: &Path, boundary: u64, worker: usize) -> PathBuf {
    boundary_dir(dir, boundary).join(format!("worker-{worker:04}.bin"))
}

/// Writes what `write` writes to `path` atomically, followed by its SHA-256: a temporary
/// file beside it, fsync, rename, fsync of the directory. A crash leaves the old file or the
/// new one, never half of one. The content streams through the digest into the file, never
/// whole in memory (a checkpoint of a large state is tens of megabytes).
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), CheckpointError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_error(parent))?;
    let temporary = path.with_extension("tmp");
    let file = fs::File::create(&temporary).map_err(io_error(&temporary))?;
    let mut sealing = Sealing {
        out: io::BufWriter::with_capacity(1 << 20, file),
        digest: Sha256::new(),
    };
    write(&mut sealing).map_err(io_error(&temporary))?;
    let Sealing { mut out, digest } = sealing;
    out.write_all(&digest.finalize())
        .map_err(io_error(&temporary))?;
    let file = out
        .into_inner()
        .map_err(|e| io_error(&temporary)(e.into_error()))?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))?;
    // The rename itself is durable once the directory is.
    fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io_error(parent))
}

/// A writer that digests what goes through it.
struct Sealing<W: Write> {
    out: W,
    digest: Sha256,
}

impl<W: Write> Write for Sealing<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.out.write(bytes)?;
        self.digest.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The content of a sealed file, if its digest holds.
fn unsealed(bytes: &[u8]) -> Option<&[u8]> {
    let split = bytes.len().checked_sub(32)?;
    let (content, digest) = bytes.split_at(split);
    (Sha256::digest(content).as_slice() == digest).then_some(content)
}

/// Writes worker `worker`'s pieces for `boundary`.
pub fn write_worker(
    dir: &Path,
    topology: &str,
    boundary: u64,
    worker: usize,
    workers: usize,
    pieces: Vec<Piece>,
) -> Result<(), CheckpointError> {
    let file = WorkerFile {
        format: FORMAT,
        topology: topology.to_owned(),
        boundary,
        worker,
        workers,
        pieces,
    };
    let path = worker_path(dir, boundary, worker);
    write_atomically(&path, |out| {
        bincode::serialize_into(out, &file).map_err(io::Error::other)
    })
}

/// Says `boundary` is complete: every worker's file is written.
pub fn write_complete(
    dir: &Path,
    topology: &str,
    boundary: u64,
    workers: usize,
) -> Result<(), CheckpointError> {
    let complete = Complete {
        format: FORMAT,
        topology: topology.to_owned(),
        boundary,
        workers,
    };
    let path = boundary_dir(dir, boundary).join(COMPLETE);
    write_atomically(&path, |out| {
        serde_json::to_writer(out, &complete).map_err(io::Error::other)
    })
}

/// The boundaries with a directory in `dir`, newest first.
fn boundaries(dir: &Path) -> Vec<u64> {
    let mut found: Vec<u64> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    found
}

fn read_complete(dir: &Path, boundary: u64) -> Option<Complete> {
    let bytes = fs::read(boundary_dir(dir, boundary).join(COMPLETE)).ok()?;
    let complete: Complete = serde_json::from_slice(unsealed(&bytes)?).ok()?;
    (complete.format == FORMAT && complete.boundary == boundary).then_some(complete)
}

fn read_worker(dir: &Path, boundary: u64, worker: usize) -> Result<WorkerFile, String> {
    let path = worker_path(dir, boundary, worker);
    let bytes = fs::read(&path).map_err(|e| e.to_string())?;
    let content = unsealed(&bytes).ok_or("its checksum does not match: torn or damaged")?;
    let file: WorkerFile = bincode::deserialize(content).map_err(|e| e.to_string())?;
    if file.format != FORMAT {
        return Err(format!(
            "written in format {}, this binary reads {FORMAT}",
            file.format
        ));
    }
    if file.boundary != boundary || file.worker != worker {
        return Err("it names another boundary or worker".to_owned());
    }
    Ok(file)
}

/// What one worker can resume from: the newest boundary it can read its part of, or
/// `None`. Process 0's workers require the boundary to be complete; another process's
/// workers, whose directory may be their own, trust their files (the agreement takes the
/// oldest of all proposals, which is complete).
pub fn proposal(dir: &Path, worker: usize, workers: usize, first_process: bool) -> Option<u64> {
    for boundary in boundaries(dir) {
        let complete = read_complete(dir, boundary);
        if first_process && complete.is_none() {
            continue;
        }
        let old_workers = match &complete {
            Some(c) => c.workers,
            None => match read_worker(dir, boundary, worker) {
                Ok(file) => file.workers,
                Err(_) => continue,
            },
        };
        let needed: Vec<usize> = if old_workers == workers {
            vec![worker]
        } else {
            // Resuming on another number of workers: every old worker's keyed state may
            // belong here now.
            (0..old_workers).collect()
        };
        if needed
            .iter()
            .all(|&w| read_worker(dir, boundary, w).is_ok())
        {
            return Some(boundary);
        }
    }
    None
}

/// The boundary every worker resumes from, given each worker's proposal: the oldest of
/// them (each worker can read it: it keeps `keep` committed checkpoints), none when no
/// worker has one, and an error when some have one and others none.
pub fn agree(proposals: &[Option<u64>]) -> Result<Option<u64>, CheckpointError> {
    let with: Vec<u64> = proposals.iter().flatten().copied().collect();
    match (with.len(), proposals.len()) {
        (0, _) => Ok(None),
        (n, all) if n == all => Ok(with.into_iter().min()),
        _ => {
            let without: Vec<String> = proposals
                .iter()
                .enumerate()
                .filter(|(_, p)| p.is_none())
                .map(|(w, _)| w.to_string())
                .collect();
            Err(CheckpointError::Disagree(format!(
                "workers {} find no checkpoint to resume from while the others do: restore their checkpoint directory, or empty every one to start afresh",
                without.join(", ")
            )))
        }
    }
}

/// What a worker resumes with: the boundary, and per component a spout's position or a
/// bolt's state.
#[derive(Debug, Default)]
pub struct Resume {
    /// The boundary: spouts start their epochs there.
    pub boundary: u64,
    /// Spout positions of this worker's instances, by component (`None`: cannot resume).
    pub positions: BTreeMap<String, Option<Vec<u8>>>,
    /// Spouts that were over when the checkpoint was taken.
    pub finished: Vec<String>,
    /// Bolt states for this worker's instances, by component.
    pub states: BTreeMap<String, Restored>,
}

/// Reads what worker `worker` of `workers` resumes with from `boundary`, routing keyed
/// state by `hash % workers`, as the fields groupings do. A checkpoint of another topology
/// (by name) is refused: its components' state would go to whichever bear the same names.
pub fn load(
    dir: &Path,
    topology: &str,
    boundary: u64,
    worker: usize,
    workers: usize,
) -> Result<Resume, CheckpointError> {
    let old_workers = match read_complete(dir, boundary) {
        Some(c) => c.workers,
        None => read_worker(dir, boundary, worker)
            .map(|f| f.workers)
            .map_err(|why| CheckpointError::Unusable {
                path: worker_path(dir, boundary, worker),
                why,
            })?,
    };
    let same = old_workers == workers;
    let sources: Vec<usize> = if same {
        vec![worker]
    } else {
        (0..old_workers).collect()
    };
    let mut resume = Resume {
        boundary,
        ..Resume::default()
    };
    for old in sources {
        let path = worker_path(dir, boundary, old);
        let file = read_worker(dir, boundary, old).map_err(|why| CheckpointError::Unusable {
            path: path.clone(),
            why,
        })?;
        if file.topology != topology {
            return Err(CheckpointError::Unusable {
                path,
                why: format!(
                    "it was taken by topology `{}`, this is `{topology}`: give this topology its own checkpoint directory",
                    file.topology
                ),
            });
        }
        for piece in file.pieces {
            // A spout resumes on the worker of the same index (a spout of one instance
            // runs on worker 0 whatever the count).
            if old == worker && (piece.position.is_some() || piece.finished) {
                if piece.finished {
                    resume.finished.push(piece.component.clone());
                }
                resume
                    .positions
                    .insert(piece.component.clone(), piece.position.clone());
            }
            if let Some(state) = piece.state {
                let restored = resume.states.entry(piece.component).or_default();
                restored.same_workers = same;
                restored.global.push(state.global);
                restored.keyed.extend(
                    state
                        .keyed
                        .into_iter()
                        .filter(|(hash, _)| (*hash % workers as u64) as usize == worker)
                        .map(|(_, entry)| entry),
                );
            }
        }
    }
    Ok(resume)
}

/// Deletes this worker's files (and worker 0 the markers) of committed boundaries older
/// than the `keep` newest committed ones. A directory goes once empty.
pub fn prune(dir: &Path, committed: &[u64], keep: usize, worker: usize) {
    let keep = keep.max(2);
    let mut committed = committed.to_vec();
    committed.sort_unstable();
    if committed.len() <= keep {
        return;
    }
    let oldest_kept = committed[committed.len() - keep];
    for boundary in boundaries(dir).into_iter().filter(|&b| b < oldest_kept) {
        let _ = fs::remove_file(worker_path(dir, boundary, worker));
        if worker == 0 {
            let _ = fs::remove_file(boundary_dir(dir, boundary).join(COMPLETE));
        }
        let _ = fs::remove_dir(boundary_dir(dir, boundary));
    }
}

/// What a checkpoint holds, per component, for a person or a test: spout positions, and
/// for each bolt how many keyed entries it keeps with a digest of them that does not depend
/// on the number of workers (two runs that reached the same state have the same digest).
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The topology's name.
    pub topology: String,
    /// The boundary (the epoch) of the checkpoint.
    pub boundary: u64,
    /// Workers of the run that took it.
    pub workers: usize,
    /// Every component with something in it, by name.
    pub components: BTreeMap<String, ComponentSummary>,
}

/// One component's part of a [`Summary`].
#[derive(Debug, Default, Serialize)]
pub struct ComponentSummary {
    /// Spout positions, one per instance that has one, as text when they are UTF-8 (the
    /// file spout's are JSON), else hexadecimal.
    pub positions: Vec<String>,
    /// Instances of a spout that were over.
    pub finished: usize,
    /// Instances with global state.
    pub global_states: usize,
    /// Keyed entries, over every instance.
    pub keyed_entries: usize,
    /// SHA-256 of the keyed entries sorted by (routing hash, bytes): equal state, equal digest.
    pub keyed_digest: String,
}

/// Summarises the newest complete checkpoint in `dir`, or says why there is none.
pub fn summary(dir: &Path) -> Result<Summary, CheckpointError> {
    let unusable = |why: &str| CheckpointError::Unusable {
        path: dir.to_path_buf(),
        why: why.to_owned(),
    };
    let (boundary, complete) = boundaries(dir)
        .into_iter()
        .find_map(|b| Some((b, read_complete(dir, b)?)))
        .ok_or_else(|| unusable("no complete checkpoint in it"))?;
    let mut components: BTreeMap<String, ComponentSummary> = BTreeMap::new();
    let mut keyed: BTreeMap<String, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
    for worker in 0..complete.workers {
        let file = read_worker(dir, boundary, worker).map_err(|why| CheckpointError::Unusable {
            path: worker_path(dir, boundary, worker),
            why,
        })?;
        for piece in file.pieces {
            let entry = components.entry(piece.component.clone()).or_default();
            if let Some(position) = piece.position {
                entry.positions.push(match String::from_utf8(position) {
                    Ok(text) => text,
                    Err(bytes) => hex(bytes.as_bytes()),
                });
            }
            entry.finished += usize::from(piece.finished);
            if let Some(state) = piece.state {
                entry.global_states += usize::from(!state.global.is_empty());
                keyed
                    .entry(piece.component)
                    .or_default()
                    .extend(state.keyed);
            }
        }
    }
    for (component, mut entries) in keyed {
        entries.sort_unstable();
        let mut digest = Sha256::new();
        for (hash, bytes) in &entries {
            digest.update(hash.to_le_bytes());
            digest.update((bytes.len() as u64).to_le_bytes());
            digest.update(bytes);
        }
        let entry = components.entry(component).or_default();
        entry.keyed_entries = entries.len();
        entry.keyed_digest = hex(&digest.finalize());
    }
    Ok(Summary {
        topology: complete.topology,
        boundary,
        workers: complete.workers,
        components,
    })
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "checkpoint at epoch {} of topology {:?}, {} workers",
            self.boundary, self.topology, self.workers
        )?;
        for (name, c) in &self.components {
            for position in &c.positions {
                writeln!(f, "  {name:<14} position {position}")?;
            }
            if c.finished > 0 {
                writeln!(f, "  {name:<14} finished ({} instances)", c.finished)?;
            }
            if c.keyed_entries > 0 {
                let digest = c.keyed_digest.get(..16).unwrap_or_default();
                writeln!(
                    f,
                    "  {name:<14} {} keyed entries, digest {digest}",
                    c.keyed_entries
                )?;
            }
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(component: &str, keyed: Vec<(u64, Vec<u8>)>) -> Piece {
        Piece {
            component: component.to_owned(),
            position: None,
            finished: false,
            state: Some(State {
                global: vec![component.len() as u8],
                keyed,
            }),
        }
    }

    #[test]
    fn a_complete_checkpoint_resumes_on_as_many_workers_or_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for w in 0..2 {
            let mut spout = piece("logs", Vec::new());
            spout.state = None;
            spout.position = (w == 0).then(|| b"offset 42".to_vec());
            let keyed = vec![(w as u64, vec![w as u8]), (w as u64 + 2, vec![w as u8 + 2])];
            write_worker(d, "t", 64, w, 2, vec![spout, piece("count", keyed)]).expect("written");
        }
        assert_eq!(proposal(d, 0, 2, true), None, "not complete yet");
        write_complete(d, "t", 64, 2).expect("written");
        assert_eq!(proposal(d, 0, 2, true), Some(64));
        let same = load(d, "t", 64, 1, 2).expect("loads");
        assert_eq!(same.states["count"].keyed, vec![vec![1], vec![3]]);
        assert!(same.states["count"].same_workers);
        let zero = load(d, "t", 64, 0, 2).expect("loads");
        assert_eq!(zero.positions["logs"].as_deref(), Some(&b"offset 42"[..]));

        // On one worker: every key, both old globals.
        let one = load(d, "t", 64, 0, 1).expect("loads");
        let mut keyed = one.states["count"].keyed.clone();
        keyed.sort();
        assert_eq!(keyed, vec![vec![0], vec![1], vec![2], vec![3]]);
        assert_eq!(one.states["count"].global.len(), 2);
        assert!(!one.states["count"].same_workers);
        // On four: each key where hash % 4 sends it.
        let three = load(d, "t", 64, 3, 4).expect("loads");
        assert_eq!(three.states["count"].keyed, vec![vec![3]]);
    }

    #[test]
    fn a_torn_file_is_told_and_the_previous_checkpoint_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for boundary in [64, 128] {
            write_worker(d, "t", boundary, 0, 1, vec![piece("count", Vec::new())])
                .expect("written");
            write_complete(d, "t", boundary, 1).expect("written");
        }
        let path = worker_path(d, 128, 0);
        let bytes = fs::read(&path).expect("read");
        fs::write(&path, &bytes[..bytes.len() / 2]).expect("torn");
        assert_eq!(proposal(d, 0, 1, true), Some(64));
        let mut flipped = bytes.clone();
        flipped[3] ^= 1;
        fs::write(&path, &flipped).expect("damaged");
        assert_eq!(proposal(d, 0, 1, true), Some(64));
        assert!(load(d, "t", 128, 0, 1).is_err_and(|e| e.to_string().contains("checksum")));
        assert!(load(d, "other", 64, 0, 1).is_err_and(|e| e.to_string().contains("topology `t`")));
    }

    #[test]
    fn workers_agree_on_the_oldest_proposal_or_say_who_has_none() {
        assert_eq!(agree(&[None, None]).ok(), Some(None));
        assert_eq!(agree(&[Some(128), Some(64)]).ok(), Some(Some(64)));
        let error = agree(&[Some(64), None])
            .map(|_| ())
            .expect_err("some have none")
            .to_string();
        assert!(error.contains("workers 1"), "{error}");
    }

    #[test]
    fn a_summary_digests_keyed_state_whatever_the_number_of_workers() {
        let two = tempfile::tempdir().expect("tempdir");
        for w in 0..2u64 {
            let keyed = vec![(w, vec![w as u8]), (w + 2, vec![w as u8 + 2])];
            write_worker(
                two.path(),
                "t",
                64,
                w as usize,
                2,
                vec![piece("count", keyed)],
            )
            .expect("written");
        }
        assert!(summary(two.path()).is_err(), "not complete yet");
        write_complete(two.path(), "t", 64, 2).expect("written");
        let one = tempfile::tempdir().expect("tempdir");
        let keyed = (0..4u64).rev().map(|k| (k, vec![k as u8])).collect();
        write_worker(one.path(), "t", 128, 0, 1, vec![piece("count", keyed)]).expect("written");
        write_complete(one.path(), "t", 128, 1).expect("written");

        let (on_two, on_one) = (
            summary(two.path()).expect("two"),
            summary(one.path()).expect("one"),
        );
        assert_eq!(on_two.components["count"].keyed_entries, 4);
        assert_eq!(
            on_two.components["count"].keyed_digest,
            on_one.components["count"].keyed_digest
        );

        let other = tempfile::tempdir().expect("tempdir");
        let keyed = vec![(0, vec![0]), (1, vec![1]), (2, vec![2]), (3, vec![9])];
        write_worker(other.path(), "t", 64, 0, 1, vec![piece("count", keyed)]).expect("written");
        write_complete(other.path(), "t", 64, 1).expect("written");
        let differs = summary(other.path()).expect("other");
        assert_ne!(
            differs.components["count"].keyed_digest,
            on_one.components["count"].keyed_digest
        );
    }

    #[test]
    fn pruning_keeps_the_newest_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for boundary in [1, 2, 3, 4] {
            write_worker(d, "t", boundary, 0, 1, Vec::new()).expect("written");
            write_complete(d, "t", boundary, 1).expect("written");
        }
        prune(d, &[1, 2, 3, 4], 2, 0);
        assert_eq!(boundaries(d), vec![4, 3]);
    }

    #[test]
    fn boundaries_are_multiples_of_the_spacing() {
        let mut config = CheckpointConfig::new("x");
        config.every_epochs = Some(16);
        assert_eq!(config.next_boundary(0), 16);
        assert_eq!(config.next_boundary(15), 16);
        assert_eq!(config.next_boundary(16), 32);
    }
}
