//! Headless Chromium driven through chromedriver (WebDriver), for the tests that look at
//! pages in a real browser (the dashboard, the report). Needs Debian's `chromium` and
//! `chromium-driver`; fails, never skips, when they are missing.

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "chromedriver";
/// How long the page may take to show what the test waits for.
pub const PAGE_WAIT: Duration = Duration::from_secs(20);

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// A child process in its own process group, killed with its whole group when dropped: the
/// browser chromedriver starts goes with it, even if the test fails half-way.
pub struct Group(pub Child);

impl Group {
    pub fn spawn(command: &mut Command) -> std::io::Result<Self> {
        command.process_group(0).spawn().map(Group)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Says loudly what is missing: this test never skips.
pub fn require_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium and chromium-driver \
         (`apt-get install -y chromium chromium-driver`; .ci/run does it)"
    );
    let found = Command::new(CHROMEDRIVER)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "{CHROMEDRIVER} is missing: install Debian's chromium-driver \
         (`apt-get install -y chromium chromium-driver`; .ci/run does it)"
    );
}

/// Starts chromedriver and opens a headless Chromium session through it.
pub async fn start_browser(profile: &Path) -> (Group, Client) {
    let port = free_port();
    let driver = Group::spawn(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("chromedriver starts");
    let args = [
        "--headless".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--disable-quic".to_string(),
        "--no-first-run".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--window-size=1400,1200".to_string(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_string(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(error) => assert!(
                start.elapsed() < PAGE_WAIT,
                "no WebDriver session from chromedriver on port {port} within {PAGE_WAIT:?}: {error}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs `script` (which returns a value) until `done` accepts its value, for up to
/// [`PAGE_WAIT`]; the last value in the error otherwise.
pub async fn wait_for(
    client: &Client,
    what: &str,
    script: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> Result<serde_json::Value, String> {
    let start = Instant::now();
    loop {
        let value = client
            .execute(script, vec![])
            .await
            .map_err(|e| format!("{what}: the page did not answer: {e}"))?;
        if done(&value) {
            return Ok(value);
        }
        if start.elapsed() > PAGE_WAIT {
            return Err(format!(
                "{what}: not seen within {PAGE_WAIT:?} (last: {value})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
