//! Rotation of a file sink's output: the options, the names rotated files get, compressing
//! and pruning them off the worker, and putting a file back as a checkpoint left it.
//!
//! A rotated file is the live file renamed `NAME.YYYYMMDDTHHMMSSZ.GGGGGG` (the UTC time
//! of the rotation and the file's *generation*, which counts rotations from 0), then,
//! when compression is on, compressed to `….gz` or `….zst` by a task on the I/O runtime,
//! which also deletes the oldest rotated files beyond `keep`. Names sort by age; the
//! generation orders them even if the clock went back.
//!
//! The generation of the live file is one more than the newest rotated file's (0 when
//! there is none), so it needs no file of its own: a checkpoint records (generation,
//! length), and on resume [`restore_generation`] puts the live file back as that
//! checkpoint left it, even when rotations happened after it (the lines past it will be
//! written again).

use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use antimony_core::metrics::{Counter, CounterMetric};
use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use async_compression::tokio::write::{GzipEncoder, ZstdEncoder};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Files a sink rotated.
pub const ROTATIONS: CounterMetric = CounterMetric::new(
    "antimony_sink_rotations_total",
    "Files a sink rotated: closed at a line boundary, renamed with the time and generation, and a new one started.",
);
/// Rotated files compressed.
pub const COMPRESSIONS: CounterMetric = CounterMetric::new(
    "antimony_sink_compressions_total",
    "Rotated files a sink compressed (gzip or zstd).",
);
/// Rotated files that could not be compressed.
pub const COMPRESSION_FAILURES: CounterMetric = CounterMetric::new(
    "antimony_sink_compression_failures_total",
    "Rotated files a sink could not compress or prune: they are left as they were, and the error is logged.",
);
/// Rotated files deleted beyond `keep`.
pub const ROTATED_DELETED: CounterMetric = CounterMetric::new(
    "antimony_sink_rotated_files_deleted_total",
    "Rotated files a sink deleted because more than `keep` were kept.",
);

/// How rotated files are compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Left as they are.
    #[default]
    None,
    /// gzip (`.gz`): what every tool reads.
    Gzip,
    /// zstd (`.zst`): smaller and faster.
    Zstd,
}

impl Compression {
    /// The suffix a file compressed this way gets.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gz"),
            Compression::Zstd => Some("zst"),
        }
    }
}

/// A number of bytes, written as an integer or with a unit: `"100MB"`, `"64 KiB"`, `"1G"`.
/// KB, MB, GB (and K, M, G) are powers of 1,000; KiB, MiB, GiB powers of 1,024.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let bad =
            || format!("`{text}` is not a size (an integer, or one with a unit: 100MB, 64KiB)");
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1_000,
            "m" | "mb" => 1_000_000,
            "g" | "gb" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            _ => return Err(bad()),
        };
        n.checked_mul(factor).map(ByteSize).ok_or_else(bad)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// When a sink rotates its file and what becomes of rotated files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Rotate once the file holds this many bytes (at the end of the epoch that passed it).
    pub max_bytes: Option<u64>,
    /// Rotate once the file has been open this long (and holds a line).
    pub max_age: Option<Duration>,
    /// Rotated files kept; older ones are deleted.
    pub keep: Option<usize>,
    /// How rotated files are compressed.
    pub compress: Compression,
}

impl RotationPolicy {
    /// Whether the file rotates at all.
    pub fn is_on(&self) -> bool {
        self.max_bytes.is_some() || self.max_age.is_some()
    }

    /// Whether a file of `bytes`, open for `age`, is due.
    pub fn is_due(&self, bytes: u64, age: Duration) -> bool {
        self.max_bytes.is_some_and(|max| bytes >= max)
            || self.max_age.is_some_and(|max| bytes > 0 && age >= max)
    }
}

/// A rotated file found beside the live one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotated {
    /// Its generation.
    pub generation: u64,
    /// Where it is.
    pub path: PathBuf,
    /// How it is compressed.
    pub compression: Compression,
}

/// The name the live file at `live` gets when generation `generation` is rotated at `now`.
pub fn rotated_path(live: &Path, generation: u64, now: SystemTime) -> PathBuf {
    let mut name = live.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.{generation:06}", utc_stamp(now)));
    live.with_file_name(name)
}

/// `YYYYMMDDTHHMMSSZ` for `now` (UTC).
fn utc_stamp(now: SystemTime) -> String {
    let micros = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let t = antimony_core::time::CivilDateTime::from_micros(micros);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// The rotated files of `live`, one per generation, oldest first. Files being compressed
/// (`.tmp`) and anything else in the directory are left out; a generation found both
/// plain and compressed (a crash between the two) is given by its plain file, which is
/// whole.
pub fn scan(live: &Path) -> io::Result<Vec<Rotated>> {
    let mut found = scan_all(live)?;
    found.dedup_by_key(|r| r.generation);
    Ok(found)
}

/// Every rotated file of `live`, by generation, plain before compressed.
fn scan_all(live: &Path) -> io::Result<Vec<Rotated>> {
    let dir = match live.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(base) = live.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    let cannot = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("cannot list the rotated files in {}: {e}", dir.display()),
        )
    };
    for entry in std::fs::read_dir(&dir).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(base).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        if let Some((generation, compression)) = parse_suffix(rest) {
            found.push(Rotated {
                generation,
                path: entry.path(),
                compression,
            });
        }
    }
    found.sort_by_key(|r| (r.generation, r.compression != Compression::None));
    Ok(found)
}

/// `YYYYMMDDTHHMMSSZ.GGGGGG[.gz|.zst]`: the generation and compression.
fn parse_suffix(rest: &str) -> Option<(u64, Compression)> {
    let (stamp, rest) = rest.split_once('.')?;
    let stamp_ok = stamp.len() == 16
        && stamp.as_bytes()[8] == b'T'
        && stamp.ends_with('Z')
        && stamp[..8].bytes().all(|b| b.is_ascii_digit())
        && stamp[9..15].bytes().all(|b| b.is_ascii_digit());
    if !stamp_ok {
        return None;
    }
    let (generation, compression) = match rest.split_once('.') {
        None => (rest, Compression::None),
        Some((g, "gz")) => (g, Compression::Gzip),
        Some((g, "zst")) => (g, Compression::Zstd),
        Some(_) => return None,
    };
    if generation.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((generation.parse().ok()?, compression))
}

/// The generation of the live file at `live`: one more than the newest rotated file's.
pub fn live_generation(live: &Path) -> io::Result<u64> {
    Ok(scan(live)?.last().map_or(0, |r| r.generation + 1))
}

/// Puts the live file back as a checkpoint of (`generation`, `length`) left it, when the
/// file was rotated after that checkpoint: the first `length` bytes of the rotated file of
/// that generation (decompressed) become the live file again, and the rotated files of it
/// and later generations (lines past the checkpoint, which will be written again) are
/// deleted. Nothing to do when the live file is of that generation; an error when it is of
/// an earlier one, or the rotated file is gone (then the checkpoint cannot be honoured).
pub async fn restore_generation(live: &Path, generation: u64, length: u64) -> io::Result<()> {
    let all = scan_all(live)?;
    let live_generation = all.last().map_or(0, |r| r.generation + 1);
    if live_generation == generation {
        return Ok(());
    }
    let cannot = |why: String| io::Error::other(format!("cannot resume {}: {why}", live.display()));
    if live_generation < generation {
        return Err(cannot(format!(
            "the checkpoint was taken at generation {generation} of the file, and the newest rotated file is of generation {} (were rotated files moved?)",
            live_generation.saturating_sub(1)
        )));
    }
    let Some(source) = all.iter().find(|r| r.generation == generation) else {
        return Err(cannot(format!(
            "the file was rotated after the checkpoint, and its rotated generation {generation} is gone"
        )));
    };
    let file = tokio::fs::File::open(&source.path).await?;
    let reader = BufReader::new(file);
    let mut reader: Box<dyn AsyncRead + Unpin + Send> = match source.compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(GzipDecoder::new(reader)),
        Compression::Zstd => Box::new(ZstdDecoder::new(reader)),
    };
    let mut temp_name = live.file_name().unwrap_or_default().to_os_string();
    temp_name.push(".restore.tmp");
    let temp = live.with_file_name(temp_name);
    let mut out = tokio::fs::File::create(&temp).await?;
    let copied = tokio::io::copy(&mut (&mut reader).take(length), &mut out).await?;
    if copied < length {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(cannot(format!(
            "its rotated generation {generation} holds {copied} bytes, and the checkpoint says {length} were written"
        )));
    }
    out.sync_all().await?;
    drop(out);
    tokio::fs::rename(&temp, live).await?;
    for r in all.iter().filter(|r| r.generation >= generation) {
        tokio::fs::remove_file(&r.path).await?;
    }
    sync_dir(live).await;
    tracing::warn!(
        file = %live.display(),
        generation,
        length,
        "the file was rotated after the checkpoint resumed from: its generation {generation} is the live file again"
    );
    Ok(())
}

/// Makes renames in `path`'s directory durable (best effort: not every platform can).
async fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = tokio::fs::File::open(dir).await
    {
        let _ = dir.sync_all().await;
    }
}

/// What the housekeeping task is asked to do after a rotation.
struct Job {
    /// The rotated file (not compressed yet).
    rotated: PathBuf,
    /// Rotated files of this generation and later are never deleted: a checkpoint not yet
    /// known to be committed may need them.
    protect_from: u64,
}

/// The counters the housekeeping task updates.
#[derive(Clone, Debug, Default)]
pub struct HousekeepingCounters {
    /// Files compressed.
    pub compressed: Counter,
    /// Files that could not be compressed or deleted.
    pub failed: Counter,
    /// Rotated files deleted beyond `keep`.
    pub deleted: Counter,
}

/// Compresses and prunes rotated files on the I/O runtime, one job after the other, so the
/// worker that rotated goes on writing.
pub struct Housekeeper {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    task: Option<JoinHandle<()>>,
}

impl Housekeeper {
    /// Starts the task for the rotated files of `live`.
    pub fn start(live: PathBuf, policy: RotationPolicy, counters: HousekeepingCounters) -> Self {
        let (jobs, mut receiver) = mpsc::unbounded_channel::<Job>();
        let task = crate::runtime::handle().spawn(async move {
            while let Some(job) = receiver.recv().await {
                if let Some(extension) = policy.compress.extension() {
                    match compress(&job.rotated, policy.compress, extension).await {
                        Ok(()) => counters.compressed.inc(),
                        Err(e) => {
                            counters.failed.inc();
                            tracing::error!(file = %job.rotated.display(), "cannot compress a rotated file (left as it is): {e}");
                        }
                    }
                }
                if let Some(keep) = policy.keep
                    && let Err(e) = prune(&live, keep, job.protect_from, &counters.deleted).await
                {
                    counters.failed.inc();
                    tracing::error!(file = %live.display(), "cannot delete old rotated files: {e}");
                }
            }
        });
        Housekeeper {
            jobs: Some(jobs),
            task: Some(task),
        }
    }

    /// Asks for `rotated` to be compressed and old files pruned. The jobs are few (one per
    /// rotation) and each small to hold, so the queue needs no bound.
    pub fn rotated(&self, rotated: PathBuf, protect_from: u64) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Job {
                rotated,
                protect_from,
            });
        }
    }

    /// Waits until every job asked for is done. Call from a worker thread, not the runtime.
    pub fn finish(&mut self) {
        self.jobs = None;
        if let Some(task) = self.task.take() {
            let _ = crate::runtime::handle().block_on(task);
        }
    }
}

/// `rotated` compressed into `rotated.EXT` (through a temporary file, made durable before
/// the plain file is deleted: a crash leaves one whole copy at least).
async fn compress(rotated: &Path, compression: Compression, extension: &str) -> io::Result<()> {
    let mut name = rotated.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{extension}"));
    let target = rotated.with_file_name(&name);
    name.push(".tmp");
    let temp = rotated.with_file_name(name);
    let result = async {
        let mut input = BufReader::new(tokio::fs::File::open(rotated).await?);
        let output = tokio::fs::File::create(&temp).await?;
        let output = match compression {
            Compression::Gzip => {
                let mut encoder = GzipEncoder::new(output);
                tokio::io::copy_buf(&mut input, &mut encoder).await?;
                encoder.shutdown().await?;
                encoder.into_inner()
            }
            Compression::Zstd => {
                let mut encoder = ZstdEncoder::new(output);
                tokio::io::copy_buf(&mut input, &mut encoder).await?;
                encoder.shutdown().await?;
                encoder.into_inner()
            }
            Compression::None => return Ok(()),
        };
        output.sync_all().await?;
        drop(output);
        tokio::fs::rename(&temp, &target).await?;
        sync_dir(&target).await;
        tokio::fs::remove_file(rotated).await
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

/// Deletes the oldest rotated files of `live` beyond `keep`, sparing generations from
/// `protect_from` on.
async fn prune(live: &Path, keep: usize, protect_from: u64, deleted: &Counter) -> io::Result<()> {
    let owned = live.to_path_buf();
    let all = tokio::task::spawn_blocking(move || scan_all(&owned))
        .await
        .map_err(io::Error::other)??;
    let mut generations: Vec<u64> = all.iter().map(|r| r.generation).collect();
    generations.dedup();
    let excess = generations.len().saturating_sub(keep);
    let doomed: Vec<u64> = generations
        .into_iter()
        .take(excess)
        .filter(|g| *g < protect_from)
        .collect();
    for generation in doomed {
        // Every file of the generation (plain and compressed, after a crash between them).
        for r in all.iter().filter(|r| r.generation == generation) {
            tokio::fs::remove_file(&r.path).await?;
        }
        deleted.inc();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_units() {
        for (text, bytes) in [
            ("100", 100),
            ("100MB", 100_000_000),
            ("64 KiB", 65_536),
            ("1G", 1_000_000_000),
            ("2gib", 2 << 30),
        ] {
            assert_eq!(text.parse::<ByteSize>(), Ok(ByteSize(bytes)), "{text}");
        }
        for bad in ["", "MB", "12 parsecs", "-1", "99999999999999999999GB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rotated_names_sort_by_age_and_read_back() {
        let live = Path::new("/var/log/alerts.jsonl");
        let at = UNIX_EPOCH + Duration::from_secs(1_796_692_500);
        let path = rotated_path(live, 7, at);
        assert_eq!(
            path,
            Path::new("/var/log/alerts.jsonl.20261208T011500Z.000007")
        );
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let rest = name.strip_prefix("alerts.jsonl.").unwrap_or_default();
        assert_eq!(parse_suffix(rest), Some((7, Compression::None)));
        assert_eq!(
            parse_suffix(&format!("{rest}.gz")),
            Some((7, Compression::Gzip))
        );
        assert_eq!(parse_suffix(&format!("{rest}.gz.tmp")), None);
        assert_eq!(parse_suffix("restore.tmp"), None);
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
    }

    #[test]
    fn due_by_size_or_age() {
        let policy = RotationPolicy {
            max_bytes: Some(100),
            max_age: Some(Duration::from_secs(60)),
            ..RotationPolicy::default()
        };
        assert!(!policy.is_due(99, Duration::from_secs(1)));
        assert!(policy.is_due(100, Duration::ZERO));
        assert!(policy.is_due(1, Duration::from_secs(60)));
        assert!(
            !policy.is_due(0, Duration::from_secs(600)),
            "nothing to rotate"
        );
    }
}
