//! The JSON-lines sink rotating its file, driven as the engine drives it: the rotated files
//! and the live one, concatenated in generation order and decompressed, are exactly the
//! file written without rotation, also across a resume from a checkpoint taken before
//! rotations; `keep` prunes the oldest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use antimony_core::{Bolt, Context, DeadLetter, Emitter, Record, Restored, State};
use antimony_io::sinks::json_lines::{JsonLine, JsonLinesSink};
use antimony_io::sinks::rotation::{
    self, COMPRESSIONS, Compression, ROTATED_DELETED, ROTATIONS, RotationPolicy,
};
use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, BufReader};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Rec(String);

impl Record for Rec {
    fn kind(&self) -> &'static str {
        "line"
    }
    fn key_hash(&self, _fields: &[usize]) -> u64 {
        0
    }
    fn describe(&self) -> String {
        self.0.clone()
    }
}

impl JsonLine for Rec {
    fn write_json_line(&self, out: &mut String) -> bool {
        serde_json::to_string(&self.0)
            .map(|json| out.push_str(&json))
            .is_ok()
    }
}

type Sink = JsonLinesSink<Rec>;

/// `count` epochs of lines of varied lengths.
fn epochs(count: usize) -> Vec<Vec<String>> {
    (0..count)
        .map(|e| {
            (0..1 + e % 5)
                .map(|i| format!("epoch {e} line {i} {}", "x".repeat((e * 7 + i * 13) % 40)))
                .collect()
        })
        .collect()
}

fn start(sink: &mut Sink, ctx: &Context) {
    <Sink as Bolt<Rec>>::on_start(sink, ctx);
}

fn drive(sink: &mut Sink, epochs: &[Vec<String>]) {
    for (n, epoch) in epochs.iter().enumerate() {
        let mut emitted = Vec::new();
        let mut dead: Vec<DeadLetter> = Vec::new();
        let mut out = Emitter::new(&mut emitted, &mut dead, "sink");
        for line in epoch {
            sink.process(&mut Rec(line.clone()), &mut out);
        }
        sink.on_epoch_end(n as u64, &mut out);
        assert!(dead.is_empty(), "{dead:?}");
    }
}

fn close(sink: &mut Sink) {
    let mut emitted = Vec::new();
    let mut dead: Vec<DeadLetter> = Vec::new();
    <Sink as Bolt<Rec>>::on_close(sink, &mut Emitter::new(&mut emitted, &mut dead, "sink"));
    assert!(dead.is_empty(), "{dead:?}");
}

/// The file the sink writes without rotation.
fn unrotated(epochs: &[Vec<String>]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plain.jsonl");
    let mut sink = Sink::new(path.clone());
    start(&mut sink, &Context::new("sink", 0, 1));
    drive(&mut sink, epochs);
    close(&mut sink);
    std::fs::read_to_string(path).expect("read")
}

fn decompress(path: &Path, compression: Compression) -> String {
    antimony_io::runtime::handle().block_on(async {
        let file = BufReader::new(tokio::fs::File::open(path).await.expect("open"));
        let mut text = String::new();
        match compression {
            Compression::None => BufReader::new(file).read_to_string(&mut text).await,
            Compression::Gzip => GzipDecoder::new(file).read_to_string(&mut text).await,
            Compression::Zstd => ZstdDecoder::new(file).read_to_string(&mut text).await,
        }
        .expect("decompresses");
        text
    })
}

/// Every rotated file (in generation order, decompressed) then the live one.
fn concatenated(live: &Path) -> String {
    let mut text = String::new();
    for r in rotation::scan(live).expect("scan") {
        text.push_str(&decompress(&r.path, r.compression));
    }
    text.push_str(&std::fs::read_to_string(live).expect("live file"));
    text
}

fn policy(bytes: u64, compress: Compression, keep: Option<usize>) -> RotationPolicy {
    RotationPolicy {
        max_bytes: Some(bytes),
        max_age: None,
        keep,
        compress,
    }
}

fn counted(ctx: &Context, metric: &antimony_core::metrics::CounterMetric) -> u64 {
    ctx.counter(metric, &[]).get()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn rotation_by_size_splits_the_file_and_loses_no_line() {
    let epochs = epochs(60);
    let expected = unrotated(&epochs);
    for compress in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = dir.path().join("alerts.jsonl");
        let ctx = Context::new("sink", 0, 1);
        let mut sink = Sink::new(live.clone()).rotating(policy(400, compress, None));
        start(&mut sink, &ctx);
        drive(&mut sink, &epochs);
        close(&mut sink);

        let rotated = rotation::scan(&live).expect("scan");
        assert!(rotated.len() >= 5, "{compress:?}: {rotated:?}");
        assert_eq!(counted(&ctx, &ROTATIONS), rotated.len() as u64);
        let generations: Vec<u64> = rotated.iter().map(|r| r.generation).collect();
        assert_eq!(generations, (0..rotated.len() as u64).collect::<Vec<_>>());
        for r in &rotated {
            assert_eq!(r.compression, compress, "{}", r.path.display());
            // Whole epochs, at least the size asked for.
            let text = decompress(&r.path, r.compression);
            assert!(text.len() >= 400 && text.ends_with('\n'));
        }
        if compress != Compression::None {
            assert_eq!(counted(&ctx, &COMPRESSIONS), rotated.len() as u64);
            // Nothing but the live file and the compressed ones: no plain copy, no temp.
            assert_eq!(files_in(dir.path()).len(), rotated.len() + 1);
        }
        // Names sort by age.
        let mut names: Vec<PathBuf> = rotated.iter().map(|r| r.path.clone()).collect();
        let by_generation = names.clone();
        names.sort();
        assert_eq!(names, by_generation);
        assert_eq!(concatenated(&live), expected, "{compress:?}");
    }
}

#[test]
fn a_compressed_file_is_what_gzip_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("alerts.jsonl");
    let mut sink = Sink::new(live.clone()).rotating(policy(1, Compression::Gzip, None));
    start(&mut sink, &Context::new("sink", 0, 1));
    drive(&mut sink, &[vec!["one".into(), "two".into()]]);
    close(&mut sink);
    let rotated = rotation::scan(&live).expect("scan");
    assert_eq!(rotated.len(), 1);
    let name = rotated[0].path.to_string_lossy().into_owned();
    assert!(name.ends_with(".000000.gz"), "{name}");
    let bytes = std::fs::read(&rotated[0].path).expect("read");
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip's magic number");
    // The system's gzip, when there is one, reads it too.
    if let Ok(out) = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&rotated[0].path)
        .output()
    {
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "\"one\"\n\"two\"\n");
    }
    assert_eq!(std::fs::read_to_string(&live).expect("live"), "");
}

#[test]
fn keep_deletes_the_oldest_rotated_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("alerts.jsonl");
    let ctx = Context::new("sink", 0, 1);
    let mut sink = Sink::new(live.clone()).rotating(policy(200, Compression::Zstd, Some(2)));
    start(&mut sink, &ctx);
    drive(&mut sink, &epochs(50));
    close(&mut sink);
    let rotations = counted(&ctx, &ROTATIONS);
    assert!(rotations > 4);
    let kept = rotation::scan(&live).expect("scan");
    let generations: Vec<u64> = kept.iter().map(|r| r.generation).collect();
    assert_eq!(
        generations,
        vec![rotations - 2, rotations - 1],
        "the newest two"
    );
    assert_eq!(counted(&ctx, &ROTATED_DELETED), rotations - 2);
    assert_eq!(files_in(dir.path()).len(), 3);
}

/// A checkpoint taken, then rotations past it, then a crash: the resumed sink puts the
/// file back as the checkpoint left it and writes on, and the files hold every line once.
#[test]
fn a_resume_undoes_the_rotations_past_its_checkpoint() {
    let all = epochs(50);
    let expected = unrotated(&all);
    for (compress, checkpoint_at) in [
        (Compression::None, 10),
        (Compression::Gzip, 17),
        (Compression::Zstd, 23),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = dir.path().join("alerts.jsonl");
        let rotate = policy(300, compress, Some(1));

        let mut first = Sink::new(live.clone()).rotating(rotate);
        start(&mut first, &Context::new("sink", 0, 1));
        drive(&mut first, &all[..checkpoint_at]);
        let state: State = <Sink as Bolt<Rec>>::snapshot(&mut first)
            .expect("snapshot")
            .expect("a file has state");
        let before = rotation::live_generation(&live).expect("scan");
        // Past the checkpoint: rotations, then the process dies.
        drive(&mut first, &all[checkpoint_at..checkpoint_at + 15]);
        close(&mut first);
        assert!(
            rotation::live_generation(&live).expect("scan") > before,
            "rotated past the checkpoint"
        );

        let mut second = Sink::new(live.clone()).rotating(rotate);
        <Sink as Bolt<Rec>>::restore(
            &mut second,
            Restored {
                global: vec![state.global],
                same_workers: true,
                keyed: Vec::new(),
            },
        )
        .expect("restore");
        start(&mut second, &Context::new("sink", 0, 1));
        drive(&mut second, &all[checkpoint_at..]);
        close(&mut second);
        // `keep = 1` pruned older generations; what is left ends like the whole file.
        let text = concatenated(&live);
        assert!(expected.ends_with(&text), "{compress:?} at {checkpoint_at}");
        assert!(text.len() > 300);
    }
}

/// The same, keeping every rotated file: the whole output, exactly.
#[test]
fn a_resume_with_every_file_kept_gives_the_whole_output() {
    let all = epochs(40);
    let expected = unrotated(&all);
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("alerts.jsonl");
    let rotate = policy(250, Compression::Gzip, None);
    let mut first = Sink::new(live.clone()).rotating(rotate);
    start(&mut first, &Context::new("sink", 0, 1));
    drive(&mut first, &all[..12]);
    let state = <Sink as Bolt<Rec>>::snapshot(&mut first)
        .expect("snapshot")
        .expect("state");
    drive(&mut first, &all[12..30]);
    close(&mut first);

    let mut second = Sink::new(live.clone()).rotating(rotate);
    <Sink as Bolt<Rec>>::restore(
        &mut second,
        Restored {
            global: vec![state.global],
            same_workers: true,
            keyed: Vec::new(),
        },
    )
    .expect("restore");
    start(&mut second, &Context::new("sink", 0, 1));
    drive(&mut second, &all[12..]);
    close(&mut second);
    assert_eq!(concatenated(&live), expected);
}

/// A state from before rotation existed (8 bytes, the length alone) still resumes.
#[test]
fn an_old_checkpoint_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("alerts.jsonl");
    std::fs::write(&live, "\"a\"\n\"b\"\n").expect("write");
    let mut sink = Sink::new(live.clone());
    <Sink as Bolt<Rec>>::restore(
        &mut sink,
        Restored {
            global: vec![4u64.to_le_bytes().to_vec()],
            same_workers: true,
            keyed: Vec::new(),
        },
    )
    .expect("restore");
    start(&mut sink, &Context::new("sink", 0, 1));
    drive(&mut sink, &[vec!["c".into()]]);
    close(&mut sink);
    assert_eq!(
        std::fs::read_to_string(&live).expect("read"),
        "\"a\"\n\"c\"\n"
    );
}

#[test]
fn rotation_by_age_skips_an_empty_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("alerts.jsonl");
    let rotate = RotationPolicy {
        max_age: Some(Duration::from_millis(1)),
        ..RotationPolicy::default()
    };
    let mut sink = Sink::new(live.clone()).rotating(rotate);
    start(&mut sink, &Context::new("sink", 0, 1));
    std::thread::sleep(Duration::from_millis(5));
    drive(&mut sink, &[vec![], vec!["a".into()]]);
    std::thread::sleep(Duration::from_millis(5));
    drive(&mut sink, &[vec![]]);
    close(&mut sink);
    let rotated = rotation::scan(&live).expect("scan");
    assert_eq!(rotated.len(), 1, "the empty epochs rotated nothing");
    assert_eq!(concatenated(&live), "\"a\"\n");
}

/// A crash while a rotated file was compressed leaves it plain and half compressed: the
/// plain copy is the one read, and a resume to before it clears both.
#[test]
fn a_crash_while_compressing_keeps_the_whole_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("alerts.jsonl");
    let plain = dir.path().join("alerts.jsonl.20261208T011500Z.000000");
    std::fs::write(&plain, "\"a\"\n\"b\"\n").expect("write");
    std::fs::write(plain.with_extension("000000.gz"), b"\x1f\x8b half").expect("write");
    std::fs::write(plain.with_extension("000000.gz.tmp"), b"\x1f\x8b").expect("write");
    std::fs::write(&live, "\"c\"\n").expect("write");
    let found = rotation::scan(&live).expect("scan");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path, plain);
    assert_eq!(rotation::live_generation(&live).expect("scan"), 1);

    antimony_io::runtime::handle()
        .block_on(rotation::restore_generation(&live, 0, 4))
        .expect("restores");
    assert_eq!(std::fs::read_to_string(&live).expect("live"), "\"a\"\n");
    assert!(rotation::scan(&live).expect("scan").is_empty());
    assert_eq!(rotation::live_generation(&live).expect("scan"), 0);
    // A checkpoint of a later generation than the files can give is refused.
    let error = antimony_io::runtime::handle()
        .block_on(rotation::restore_generation(&live, 3, 0))
        .expect_err("refused");
    assert!(error.to_string().contains("generation 3"), "{error}");
}

/// A run killed before its task compressed a rotated file: the next run compresses it.
#[test]
fn a_rotated_file_left_plain_is_compressed_by_the_next_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("alerts.jsonl");
    let plain = dir.path().join("alerts.jsonl.20261208T011500Z.000000");
    std::fs::write(&plain, "\"a\"\n").expect("write");
    let ctx = Context::new("sink", 0, 1);
    let mut sink = Sink::new(live.clone()).rotating(policy(1000, Compression::Zstd, None));
    start(&mut sink, &ctx);
    drive(&mut sink, &[vec!["b".into()]]);
    close(&mut sink);
    let found = rotation::scan(&live).expect("scan");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].compression, Compression::Zstd);
    assert!(!plain.exists());
    assert_eq!(counted(&ctx, &COMPRESSIONS), 1);
    assert_eq!(concatenated(&live), "\"a\"\n\"b\"\n");
}
