//! Spouts against real peers: files that grow, rotate and shrink; globs; binary files, read
//! as bytes or, when told, as lines; syslog senders over UDP and TCP and Frame Streams
//! senders (this file's own sockets; `tests/live.rs` drives `logger` and `fstrm_replay`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod harness;

use antimony_core::frame_streams::{self as control, ControlType};
use antimony_core::{Record, Spout};
use antimony_io::sources::file::{FileConfig, FileSpout, Mode};
use antimony_io::sources::frame_streams::{FrameStreamsConfig, FrameStreamsSpout};
use antimony_io::sources::syslog::{SyslogConfig, SyslogSpout};
use antimony_io::{ByteChunk, TextChunk};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
enum Rec {
    #[default]
    Empty,
    Text(TextChunk),
    Bytes(ByteChunk),
}

impl From<TextChunk> for Rec {
    fn from(c: TextChunk) -> Self {
        Rec::Text(c)
    }
}

impl From<ByteChunk> for Rec {
    fn from(c: ByteChunk) -> Self {
        Rec::Bytes(c)
    }
}

impl Record for Rec {
    fn kind(&self) -> &'static str {
        "chunk"
    }
    fn key_hash(&self, _: &[usize]) -> u64 {
        0
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

/// What reached the sink: lines with (source, number), and byte streams per source.
#[derive(Default)]
struct Seen {
    lines: Vec<(String, u64, Vec<u8>)>,
    bytes: Vec<(String, u64, Vec<u8>, bool)>,
}

impl Seen {
    fn take(&mut self, record: Rec) {
        match record {
            Rec::Text(c) => {
                for (n, line) in c.lines() {
                    self.lines.push((c.source.clone(), n, line.to_vec()));
                }
            }
            Rec::Bytes(c) => self.bytes.push((c.source, c.offset, c.data, c.last)),
            Rec::Empty => {}
        }
    }
}

/// Drives the spout `make` builds in the background; returns what it emitted so far, a stop
/// handle and its thread.
fn start<S: Spout<Rec>>(
    make: impl FnOnce() -> S + Send + 'static,
) -> (
    Arc<Mutex<Seen>>,
    harness::Stop,
    std::thread::JoinHandle<harness::Report>,
) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let into = Arc::clone(&seen);
    let (stop, run) = harness::drive(make, move |record| {
        into.lock().expect("lock").take(record);
    });
    let run = std::thread::spawn(move || {
        run.join()
            .expect("the spout's thread")
            .expect("the spout opens")
    });
    (seen, stop, run)
}

/// Waits until `done` holds, at most 10 s.
fn wait_for(seen: &Arc<Mutex<Seen>>, what: &str, done: impl Fn(&Seen) -> bool) {
    let start = Instant::now();
    while !done(&seen.lock().expect("lock")) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .expect("open");
    f.write_all(text.as_bytes()).expect("write");
}

fn lines_of(seen: &Seen) -> Vec<String> {
    seen.lines
        .iter()
        .map(|(_, _, l)| String::from_utf8_lossy(l).into_owned())
        .collect()
}

#[test]
fn follow_reads_growth_rotation_and_truncation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dns.log");
    append(&path, "one\ntwo\n");
    let config = FileConfig {
        follow: true,
        ..FileConfig::new(path.display().to_string())
    };
    let p = path.clone();
    let (seen, stop, run) = start(move || FileSpout::<Rec>::new(p.clone(), &config));
    wait_for(&seen, "the first lines", |s| s.lines.len() == 2);

    // Growth, including a line written in two parts: it arrives whole.
    append(&path, "three\nfo");
    std::thread::sleep(Duration::from_millis(300));
    append(&path, "ur\n");
    wait_for(&seen, "appended lines", |s| s.lines.len() == 4);

    // Rotation: the old file is moved away and gets a last line; a new file takes the path.
    let rotated = dir.path().join("dns.log.1");
    std::fs::rename(&path, &rotated).expect("rotate");
    append(&rotated, "five\n");
    append(&path, "new one\n");
    wait_for(&seen, "the rotated file", |s| s.lines.len() == 6);

    // Truncation: the file is emptied and written again.
    std::fs::write(&path, "").expect("truncate");
    std::thread::sleep(Duration::from_millis(500));
    append(&path, "after truncation\n");
    wait_for(&seen, "the truncated file", |s| s.lines.len() == 7);

    stop.stop();
    run.join().expect("run ends when stopped");
    let seen = seen.lock().expect("lock");
    assert_eq!(
        lines_of(&seen),
        [
            "one",
            "two",
            "three",
            "four",
            "five",
            "new one",
            "after truncation"
        ]
    );
    let numbers: Vec<u64> = seen.lines.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(
        numbers,
        [1, 2, 3, 4, 5, 1, 1],
        "line numbers restart with each new file"
    );
}

#[test]
fn a_glob_reads_every_match_in_name_order_and_binary_files_as_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("b.log"), "b1\nb2\n").expect("write");
    std::fs::write(dir.path().join("a.log"), "a1\n").expect("write");
    let binary: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("c.log"), &binary).expect("write");
    let pattern = dir.path().join("*.log").display().to_string();
    let config = FileConfig::new(pattern.clone());
    let (seen, _stop, run) = start(move || FileSpout::<Rec>::new(PathBuf::from(&pattern), &config));
    run.join().expect("finishes");
    let seen = seen.lock().expect("lock");
    assert_eq!(lines_of(&seen), ["a1", "b1", "b2"]);
    // The binary file arrives whole, in order, its last chunk marked.
    let mut joined = Vec::new();
    let mut offset = 0;
    for (source, at, data, _) in &seen.bytes {
        assert!(source.ends_with("c.log"));
        assert_eq!(*at, offset);
        offset += data.len() as u64;
        joined.extend_from_slice(data);
    }
    assert_eq!(joined, binary);
    assert!(seen.bytes.last().is_some_and(|b| b.3));
    assert!(seen.bytes.iter().rev().skip(1).all(|b| !b.3));
}

#[test]
fn mode_lines_reads_a_binary_looking_file_as_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("odd.log");
    // NUL bytes and invalid UTF-8 in the first 4 KiB: what `Mode::Auto` takes for binary.
    let content: &[u8] = b"first\n\0nul\0inside\n\xff\xfe not UTF-8\r\nlast, no newline";
    std::fs::write(&path, content).expect("write");
    let read = |mode: Mode| {
        let config = FileConfig {
            mode,
            ..FileConfig::new(path.display().to_string())
        };
        let p = path.clone();
        let (seen, _stop, run) = start(move || FileSpout::<Rec>::new(p, &config));
        run.join().expect("finishes");
        std::mem::take(&mut *seen.lock().expect("lock"))
    };

    // The control: by default the file is binary and arrives as bytes.
    let auto = read(Mode::Auto);
    assert!(auto.lines.is_empty(), "{:?}", auto.lines);
    let joined: Vec<u8> = auto.bytes.iter().flat_map(|b| b.2.clone()).collect();
    assert_eq!(joined, content);

    // `mode = "lines"`: the same file arrives as text chunks, line by line, each with its
    // number, its bytes as they are in the file (line endings removed).
    let lines = read(Mode::Lines);
    assert!(lines.bytes.is_empty(), "no byte chunks: {:?}", lines.bytes);
    assert!(
        lines
            .lines
            .iter()
            .all(|(source, _, _)| source.ends_with("odd.log"))
    );
    let got: Vec<(u64, &[u8])> = lines
        .lines
        .iter()
        .map(|(_, n, l)| (*n, l.as_slice()))
        .collect();
    assert_eq!(
        got,
        [
            (1, &b"first"[..]),
            (2, &b"\0nul\0inside"[..]),
            (3, &b"\xff\xfe not UTF-8"[..]),
            (4, &b"last, no newline"[..]),
        ]
    );
}

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

/// A named pipe, made with `mkfifo` (what `<(...)` and `/dev/fd/N` name is a pipe too).
fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
    path
}

/// Regression ("Never blind without a word"): a FIFO was refused with a false "no such
/// file". It is read like standard input: its first lines arrive while the writer is still
/// writing (a pause sends them), and all of them once it closes.
#[test]
fn a_fifo_is_read_like_standard_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = fifo(dir.path(), "dns.pipe");
    assert_eq!(
        antimony_io::sources::file::expand(&path).expect("a FIFO is accepted"),
        std::slice::from_ref(&path)
    );
    let log = std::fs::read_to_string(format!("{DATA}/logs/bind9_querylog.log")).expect("log");
    let expected: Vec<String> = log.lines().map(str::to_owned).collect();
    let (first, rest) = log.split_at(log.match_indices('\n').nth(9).expect("10 lines").0 + 1);
    let (first, rest) = (first.to_owned(), rest.to_owned());
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let pipe = path.clone();
    // Opening a FIFO to write waits for a reader: the writer has a thread of its own.
    let writer = std::thread::spawn(move || {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(&pipe)
            .expect("open the FIFO");
        out.write_all(first.as_bytes()).expect("write");
        out.flush().expect("flush");
        wait.recv().expect("go on");
        out.write_all(rest.as_bytes()).expect("write");
    });
    let config = FileConfig::new(path.display().to_string());
    let p = path.clone();
    let (seen, _stop, run) = start(move || FileSpout::<Rec>::new(p, &config));
    wait_for(&seen, "the lines before the pause", |s| s.lines.len() == 10);
    go.send(()).expect("the writer waits");
    writer.join().expect("the writer");
    run.join().expect("finishes when the writer closes");
    let seen = seen.lock().expect("lock");
    assert_eq!(lines_of(&seen), expected);
    assert!(
        seen.lines
            .iter()
            .all(|(source, _, _)| *source == path.display().to_string())
    );
    let numbers: Vec<u64> = seen.lines.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(numbers, (1..=expected.len() as u64).collect::<Vec<_>>());
}

/// A directory and a missing path are still refused, each with its true reason.
#[test]
fn a_directory_or_a_missing_path_is_refused_with_its_reason() {
    use antimony_io::sources::file::{InputError, expand};
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(expand(dir.path()), Err(InputError::Directory(_))));
    let missing = dir.path().join("missing.log");
    let error = expand(&missing).expect_err("missing");
    assert!(matches!(error, InputError::Missing(_)), "{error}");
    assert!(error.to_string().contains("no such file"), "{error}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

#[test]
fn syslog_over_udp_and_tcp_with_both_framings() {
    let port = free_port();
    let udp = SyslogConfig {
        listen: format!("udp://127.0.0.1:{port}"),
        max_message_bytes: 100,
    };
    let (seen, stop, run) = start(move || SyslogSpout::<Rec>::new(&udp).expect("config"));
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    std::thread::sleep(Duration::from_millis(200));
    socket
        .send_to(
            b"<30>Nov 26 06:46:47 ns1 named[1]: first\n",
            ("127.0.0.1", port),
        )
        .expect("send");
    socket
        .send_to(&[b'x'; 150], ("127.0.0.1", port))
        .expect("send");
    socket
        .send_to(
            b"<30>1 2026-11-26T06:46:47Z ns1 named 1 - - second",
            ("127.0.0.1", port),
        )
        .expect("send");
    wait_for(&seen, "two UDP messages", |s| s.lines.len() == 2);
    stop.stop();
    let report = run.join().expect("run");
    assert_eq!(
        lines_of(&seen.lock().expect("lock")),
        [
            "<30>Nov 26 06:46:47 ns1 named[1]: first",
            "<30>1 2026-11-26T06:46:47Z ns1 named 1 - - second"
        ]
    );
    assert_eq!(
        report.dead_letters(),
        1,
        "the over-long datagram is set aside"
    );

    let port = free_port();
    let tcp = SyslogConfig {
        listen: format!("tcp://127.0.0.1:{port}"),
        max_message_bytes: 100,
    };
    let (seen, stop, run) = start(move || SyslogSpout::<Rec>::new(&tcp).expect("config"));
    std::thread::sleep(Duration::from_millis(200));
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    // Octet counting (with a line break inside the message), then a line-framed message.
    let (first, second) = ("<30>a\nb c d", "<30>second");
    stream
        .write_all(format!("{} {first}{} {second}", first.len(), second.len()).as_bytes())
        .expect("write");
    stream.write_all(b"<30>third\n").expect("write");
    drop(stream);
    wait_for(&seen, "three TCP messages", |s| s.lines.len() == 3);
    stop.stop();
    run.join().expect("run");
    assert_eq!(
        lines_of(&seen.lock().expect("lock")),
        ["<30>a b c d", "<30>second", "<30>third"]
    );
}

/// A bidirectional Frame Streams sender, as dnstap senders behave.
fn send_frames(stream: &mut (impl std::io::Read + Write), frames: &[&[u8]]) -> Vec<u8> {
    stream
        .write_all(&control::encode(
            ControlType::Ready,
            &[b"protobuf:dnstap.Dnstap"],
        ))
        .expect("ready");
    let mut accept = [0u8; 8 + 4 + 8 + 22];
    stream.read_exact(&mut accept).expect("accept");
    assert_eq!(
        u32::from_be_bytes([accept[8], accept[9], accept[10], accept[11]]),
        ControlType::Accept.code()
    );
    let mut sent = control::encode_start(b"protobuf:dnstap.Dnstap");
    for frame in frames {
        sent.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        sent.extend_from_slice(frame);
    }
    sent.extend_from_slice(&control::encode_stop());
    stream.write_all(&sent).expect("frames");
    let mut finish = [0u8; 12];
    stream.read_exact(&mut finish).expect("finish");
    assert_eq!(
        u32::from_be_bytes([finish[8], finish[9], finish[10], finish[11]]),
        ControlType::Finish.code()
    );
    sent
}

#[test]
fn frame_streams_handshake_and_forwarding_on_unix_and_tcp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("dnstap.sock");
    let unix = FrameStreamsConfig {
        listen: format!("unix://{}", socket.display()),
        content_type: Some("protobuf:dnstap.Dnstap".into()),
        max_frame_bytes: 1000,
    };
    let (seen, stop, run) = start(move || FrameStreamsSpout::<Rec>::new(&unix).expect("config"));
    let start_wait = Instant::now();
    while !socket.exists() {
        assert!(start_wait.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    let sent = send_frames(&mut stream, &[b"first frame", b"second", &[7u8; 900]]);
    wait_for(&seen, "the stream's last chunk", |s| {
        s.bytes.iter().any(|b| b.3)
    });

    let port = free_port();
    let tcp = FrameStreamsConfig {
        listen: format!("tcp://127.0.0.1:{port}"),
        content_type: Some("protobuf:dnstap.Dnstap".into()),
        max_frame_bytes: 1000,
    };
    let (tcp_seen, tcp_stop, tcp_run) =
        start(move || FrameStreamsSpout::<Rec>::new(&tcp).expect("config"));
    std::thread::sleep(Duration::from_millis(200));
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let tcp_sent = send_frames(&mut stream, &[b"over tcp"]);
    wait_for(&tcp_seen, "the TCP stream", |s| s.bytes.iter().any(|b| b.3));

    stop.stop();
    tcp_stop.stop();
    run.join().expect("run");
    tcp_run.join().expect("run");
    for (seen, sent) in [(seen, sent), (tcp_seen, tcp_sent)] {
        let seen = seen.lock().expect("lock");
        let received: Vec<u8> = seen.bytes.iter().flat_map(|b| b.2.clone()).collect();
        assert_eq!(received, sent, "the stream from START to STOP, unchanged");
    }
}
