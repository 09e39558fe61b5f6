//! Where the `file` spout is in its files, for checkpoints: which file (by path and by
//! device and inode, so a replaced file is told from the one checkpointed), how many of its
//! bytes the chunks emitted so far hold, and the next line's number.
//!
//! A text file resumes at its offset. Standard input, pipes and binary sources (captures,
//! whose framing depends on everything before) have no position: they start afresh.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cutter::Cut;

/// A position in the spout's files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    /// The file being read (one of the spout's files).
    pub path: PathBuf,
    /// Its device and inode when it was read.
    pub device: u64,
    /// Its inode.
    pub inode: u64,
    /// Bytes of it (decompressed, for a compressed file) emitted so far.
    pub offset: u64,
    /// The number of the next line.
    pub line: u64,
}

impl FilePosition {
    /// The start of `path`, as it is now (`None`: it cannot be looked at).
    pub fn start(path: &Path) -> Option<Self> {
        let (device, inode) = identity(&std::fs::metadata(path).ok()?);
        Some(FilePosition {
            path: path.to_path_buf(),
            device,
            inode,
            offset: 0,
            line: 1,
        })
    }

    /// Moves past what `cut` holds.
    pub fn advance(&mut self, cut: &Cut) {
        match cut {
            Cut::Chunk(chunk) => {
                self.offset += chunk.data.len() as u64;
                self.line = chunk.first_line + chunk.line_count();
            }
            // Skipped up to and with its line ending (at the very end of a source without
            // one, the offset is one past it: nothing is read there anyway).
            Cut::LongLine { line, bytes, .. } => {
                self.offset += bytes + 1;
                self.line = line + 1;
            }
        }
    }

    /// The position as the spout gives it to a checkpoint.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A position a checkpoint gave back.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a position of a file spout: {e}"))
    }
}

/// A file's device and inode.
#[cfg(unix)]
pub fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// A file's device and inode (none here: every file is taken as the same).
#[cfg(not(unix))]
pub fn identity(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Where reading resumes: the index of the file in the spout's list, where in it, and, for
/// a followed file rotated since the checkpoint, the old file's new name (read to its end
/// first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeAt {
    /// The file's index in the list.
    pub index: usize,
    /// The position in it (or in the rotated file).
    pub position: FilePosition,
    /// A followed file renamed by rotation: its name now.
    pub rotated: Option<PathBuf>,
}

/// Finds where to resume `files` from `position`, or says why the files are not the ones
/// checkpointed (a replaced or cut file would otherwise be read from a wrong place, or
/// skipped, without a word).
pub fn resume_in(
    files: &[PathBuf],
    position: &FilePosition,
    follow: bool,
) -> Result<ResumeAt, String> {
    let index = files.iter().position(|f| *f == position.path).ok_or_else(|| {
        format!(
            "the checkpoint was taken reading `{}`, which this spout does not read: its input changed (remove the checkpoint directory to start afresh)",
            position.path.display()
        )
    })?;
    let meta = std::fs::metadata(&position.path)
        .map_err(|e| format!("cannot look at `{}`: {e}", position.path.display()))?;
    let now = identity(&meta);
    if now == (position.device, position.inode) {
        if meta.len() < position.offset && !is_compressed_by_name(&position.path) {
            return Err(format!(
                "`{}` holds {} bytes, fewer than the {} the checkpoint read: it was cut or replaced (remove the checkpoint directory to start afresh)",
                position.path.display(),
                meta.len(),
                position.offset
            ));
        }
        return Ok(ResumeAt {
            index,
            position: position.clone(),
            rotated: None,
        });
    }
    if follow {
        // Rotated since: the old file usually sits beside the new one under another name.
        let rotated = position.path.parent().and_then(|dir| {
            std::fs::read_dir(dir)
                .ok()?
                .filter_map(Result::ok)
                .find_map(|entry| {
                    let meta = entry.metadata().ok()?;
                    (identity(&meta) == (position.device, position.inode)).then(|| entry.path())
                })
        });
        if rotated.is_none() {
            tracing::warn!(
                file = %position.path.display(),
                "the file read at the checkpoint was rotated away: its last lines after the checkpoint are lost; reading the new file from its start"
            );
        }
        return Ok(ResumeAt {
            index,
            position: position.clone(),
            rotated,
        });
    }
    Err(format!(
        "`{}` is not the file the checkpoint was taken on (it was replaced): remove the checkpoint directory to read it afresh",
        position.path.display()
    ))
}

/// A compressed file's size says nothing of its decompressed offset.
fn is_compressed_by_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "gz" || e == "zst" || e == "zstd")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cutter::LineCutter;

    #[test]
    fn offsets_follow_chunks_and_skipped_lines() {
        let mut cutter = LineCutter::new("t".into(), 8, 10);
        cutter
            .buffer()
            .extend_from_slice(b"ab\ncd\nthis line is too long\nef\n");
        let mut cuts = Vec::new();
        cutter.finish(&mut cuts);
        let mut position = FilePosition {
            path: "t".into(),
            device: 0,
            inode: 0,
            offset: 0,
            line: 1,
        };
        let mut offsets = Vec::new();
        for cut in &cuts {
            position.advance(cut);
            offsets.push((position.offset, position.line));
        }
        assert_eq!(offsets.last(), Some(&(31, 5)), "{offsets:?} {cuts:?}");
    }

    #[test]
    fn a_replaced_file_is_refused_and_a_rotated_one_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dns.log");
        std::fs::write(&path, "one\ntwo\n").expect("write");
        let mut position = FilePosition::start(&path).expect("a file");
        position.offset = 4;
        let files = vec![path.clone()];
        assert_eq!(
            resume_in(&files, &position, false).map(|r| r.position.offset),
            Ok(4)
        );
        std::fs::rename(&path, dir.path().join("dns.log.1")).expect("rotate");
        std::fs::write(&path, "three\n").expect("write");
        let error = resume_in(&files, &position, false).expect_err("replaced");
        assert!(error.contains("replaced"), "{error}");
        let rotated = resume_in(&files, &position, true).expect("rotation is followed");
        assert_eq!(rotated.rotated, Some(dir.path().join("dns.log.1")));
        let other = vec![dir.path().join("other.log")];
        assert!(resume_in(&other, &position, false).is_err_and(|e| e.contains("input changed")));
    }
}
