//! The dashboard in a real browser: headless Chromium, driven through chromedriver (WebDriver),
//! opens the page of a running topology, sees the graph and an alert row appear, opens an alert
//! and reads its reason; and a DNS name that is HTML (`<img/src=x/onerror=alert(1)>`, a valid
//! label in a log) shows as text, never as markup.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); fails, never
//! skips, when they are missing. The slow end-to-end test: one, with generous waits.

mod browser;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use browser::{Group, PAGE_WAIT, free_port, require_browser, start_browser, wait_for};
use fantoccini::{Client, Locator};
use serde_json::json;

/// The hostile label: valid in a DNS log (no blank), markup if a page ever parsed it.
const HOSTILE_LABEL: &str = "<img/src=x/onerror=alert(1)>";
const HOSTILE_NAME: &str = "<img/src=x/onerror=alert(1)>.update-java.net";

/// One plain HTTP/1.1 GET on loopback; the status code, or `None` while nothing answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}

/// The demo log, then one query for the hostile name, in the same Windows debug format.
fn input() -> String {
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/demo/dns-demo.log"
    ))
    .expect("the demo log");
    format!(
        "{demo}8/12/2017 9:35:59 AM 0490 PACKET  000000216EFFCCC0 UDP Rcv 10.20.0.66      148c   \
         Q [0001   D   NOERROR] A      (28){HOSTILE_LABEL}(11)update-java(3)net(0)\n"
    )
}

/// Starts the shipped topology reading standard input, with the API on `port`; the input is
/// written and standard input kept open, so the run lasts until the test ends it.
fn start_antimony(port: u16) -> (Group, ChildStdin) {
    let mut child = Group::spawn(
        Command::new(env!("CARGO_BIN_EXE_antimony"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "topologies/dns-threats.toml", "--input", "-"])
            .args(["--alerts", "-", "--api", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("antimony starts");
    let mut stdin = child.0.stdin.take().expect("antimony's standard input");
    stdin
        .write_all(input().as_bytes())
        .expect("the input is written");
    stdin.flush().expect("the input is flushed");
    let start = Instant::now();
    while http_status(port, "/readyz") != Some(200) {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("antimony exited with {status} before its API was ready");
        }
        assert!(
            start.elapsed() < PAGE_WAIT,
            "antimony's API on port {port} was not ready within {PAGE_WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, stdin)
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

/// What a person would do: look at the graph, wait for alerts, open the hostile one.
async fn use_dashboard(client: &Client, page: &str) -> Result<(), String> {
    client
        .goto(page)
        .await
        .map_err(|e| format!("opening {page}: {e}"))?;

    // The graph: every component of the shipped topology, each with a rate.
    let nodes = wait_for(
        client,
        "the topology graph",
        "return Array.from(document.querySelectorAll('#graph g.node')).map(n => \
           [n.querySelector('.node-name').textContent, n.querySelector('.node-rate').textContent]);",
        |v| {
            v.as_array().is_some_and(|nodes| {
                nodes.len() == 7
                    && nodes
                        .iter()
                        .all(|n| n[1].as_str().is_some_and(|r| r.ends_with("/s")))
            })
        },
    )
    .await?;
    for name in [
        "logs", "parse", "detect", "domains", "clients", "dedup", "alerts",
    ] {
        check(
            nodes
                .as_array()
                .is_some_and(|n| n.iter().any(|n| n[0] == name)),
            || format!("no node {name} in the graph: {nodes}"),
        )?;
    }
    let edges = client
        .execute(
            "return document.querySelectorAll('#graph path.edge').length;",
            vec![],
        )
        .await
        .map_err(|e| format!("counting edges: {e}"))?;
    check(edges == json!(8), || {
        format!("the graph should have 8 edges, has {edges}")
    })?;

    // An alert row, then the one for the hostile name, shown as the text it is.
    wait_for(
        client,
        "an alert row",
        "return document.querySelectorAll('#alert-rows tr.alert-row').length;",
        |v| v.as_u64().is_some_and(|n| n > 0),
    )
    .await?;
    let row_script = format!(
        "return Array.from(document.querySelectorAll('#alert-rows tr.alert-row')).filter(r => \
           r.querySelector('td.domain').textContent === {name} && \
           r.cells[2].textContent === 'threat_intel').length;",
        name = json!(HOSTILE_NAME)
    );
    wait_for(client, "the hostile name's alert row", &row_script, |v| {
        v.as_u64() == Some(1)
    })
    .await?;
    let rows = client
        .find_all(Locator::Css("#alert-rows tr.alert-row"))
        .await
        .map_err(|e| format!("finding alert rows: {e}"))?;
    let mut hostile_row = None;
    for row in rows {
        let text = row
            .text()
            .await
            .map_err(|e| format!("reading a row: {e}"))?;
        if text.contains(HOSTILE_NAME) && text.contains("threat_intel") {
            hostile_row = Some(row);
        }
    }
    let row = hostile_row.ok_or("the hostile row vanished")?;
    row.click()
        .await
        .map_err(|e| format!("clicking the alert: {e}"))?;

    // The detail: its reason, with the name as literal text, and its evidence.
    let reason = wait_for(
        client,
        "the alert's reason",
        "const d = document.getElementById('detail'); \
         return d.hidden ? '' : document.getElementById('d-reason').textContent;",
        |v| v.as_str().is_some_and(|s| !s.is_empty()),
    )
    .await?;
    let reason = reason.as_str().unwrap_or_default().to_string();
    check(
        reason.starts_with(HOSTILE_NAME) && reason.contains("listed in maltrail"),
        || format!("the reason should name {HOSTILE_NAME} as text and the list: {reason:?}"),
    )?;
    let evidence = client
        .find(Locator::Css("#d-evidence"))
        .await
        .map_err(|e| format!("finding the evidence: {e}"))?
        .text()
        .await
        .map_err(|e| format!("reading the evidence: {e}"))?;
    check(evidence.contains("update-java.net"), || {
        format!("the evidence should show the list entry: {evidence:?}")
    })?;
    let domain = client
        .find(Locator::Css("#d-domain"))
        .await
        .map_err(|e| format!("finding the domain: {e}"))?
        .text()
        .await
        .map_err(|e| format!("reading the domain: {e}"))?;
    check(domain == HOSTILE_NAME, || {
        format!("the detail should show the name as text: {domain:?}")
    })?;

    // Nothing was parsed as markup: no image element anywhere, no script ran.
    let images = client
        .execute(
            "return document.getElementsByTagName('img').length + \
                    document.getElementsByTagNameNS('http://www.w3.org/2000/svg', 'image').length;",
            vec![],
        )
        .await
        .map_err(|e| format!("counting images: {e}"))?;
    check(images == json!(0), || {
        format!("the hostile name made {images} image elements")
    })?;
    check(client.get_alert_text().await.is_err(), || {
        "a JavaScript dialog is open: the hostile name ran".to_string()
    })?;
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn dashboard_shows_the_topology_and_alerts_and_hostile_names_as_text() {
    require_browser();
    let api_port = free_port();
    let (_antimony, _stdin) = start_antimony(api_port);
    let profile = tempfile::tempdir().expect("a browser profile directory");
    let (_driver, client) = start_browser(profile.path()).await;

    let page = format!("http://127.0.0.1:{api_port}/");
    let outcome =
        tokio::time::timeout(Duration::from_secs(120), use_dashboard(&client, &page)).await;
    // Closing the session ends the browser; the guards end the rest whatever happened.
    let _ = client.close().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => panic!("dashboard: {failure}"),
        Err(_) => panic!("dashboard: the browser session took more than two minutes"),
    }
}
