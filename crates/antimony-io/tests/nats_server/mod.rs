//! A `nats-server` with JetStream for the NATS tests (this crate's and the binary's):
//! started on a free loopback port with a temporary store, killed when dropped.
// Each test binary uses part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server` with JetStream on a free port, killed when dropped.
pub struct NatsServer {
    child: Child,
    port: u16,
    pub url: String,
    store: tempfile::TempDir,
}

impl NatsServer {
    pub fn start() -> Self {
        let store = tempfile::tempdir().expect("tempdir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Self::spawn(port, store.path());
        NatsServer {
            child,
            port,
            url: format!("nats://127.0.0.1:{port}"),
            store,
        }
    }

    fn spawn(port: u16, store: &Path) -> Child {
        // Debian puts it in /usr/sbin, which a user's PATH may lack.
        let binary = if Path::new("/usr/sbin/nats-server").exists() {
            "/usr/sbin/nats-server"
        } else {
            "nats-server"
        };
        let child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server runs (apt-get install nats-server)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Stops the server and starts it again on the same port and store: clients reconnect.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Stops the server (SIGKILL); [`start_again`](Self::start_again) brings it back.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the stopped server again on the same port and store.
    pub fn start_again(&mut self) {
        self.child = Self::spawn(self.port, self.store.path());
    }

    pub fn jetstream(&self) -> async_nats::jetstream::Context {
        // The context starts a task: made on the I/O runtime.
        block_on(async {
            let client = async_nats::connect(&self.url).await.expect("connect");
            async_nats::jetstream::new(client)
        })
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    antimony_io::runtime::handle().block_on(future)
}

pub fn create_stream(js: &async_nats::jetstream::Context, name: &str, subjects: &[&str]) {
    block_on(js.create_stream(async_nats::jetstream::stream::Config {
        name: name.to_owned(),
        subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }))
    .expect("create the stream");
}
