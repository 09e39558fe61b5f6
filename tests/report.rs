//! `antimony report` in a real browser: headless Chromium opens the page made from the demo
//! run's alerts file, with two hostile alerts added (a domain that is a script element, a
//! reason that would close an attribute), and sees one table row per alert, the timeline's
//! SVG bars, the hostile texts shown as text, and no script: none in the page, none run.
//!
//! With `ANTIMONY_UPDATE_SCREENSHOTS=1`, the browser's screenshot replaces docs/report.png.
//! Needs Debian's `chromium` and `chromium-driver`; fails, never skips, when they are missing.

mod browser;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use browser::{require_browser, start_browser};
use fantoccini::Client;
use serde_json::{Value, json};

const HOSTILE_DOMAIN: &str = "<script>alert(1)</script>.evil.com";
const HOSTILE_REASON: &str = "\"onmouseover=alert(2) x=\" <b>bold</b> & more";

fn antimony(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_antimony"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The demo's alerts plus the hostile ones, as an alerts file in `dir`; how many alerts.
fn alerts_file(dir: &Path) -> (String, usize) {
    let path = dir.join("alerts.jsonl");
    let path = path.to_str().expect("UTF-8").to_owned();
    let output = antimony(&[
        "run",
        "topologies/dns-threats.toml",
        "--alerts",
        &path,
        "-q",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut text = std::fs::read_to_string(&path).expect("the alerts file");
    let first: Value = serde_json::from_str(text.lines().next().expect("an alert")).expect("JSON");
    for (i, (domain, reason)) in [
        (HOSTILE_DOMAIN, "a name that is markup"),
        ("x.evil.com", HOSTILE_REASON),
    ]
    .into_iter()
    .enumerate()
    {
        let mut hostile = first.clone();
        hostile["id"] = json!(format!("{:032x}", 0xbad0 + i));
        hostile["domain"] = json!(domain);
        hostile["registered_domain"] = json!("evil.com");
        hostile["severity"] = json!("critical");
        hostile["reason"] = json!(reason);
        text.push_str(&hostile.to_string());
        text.push('\n');
    }
    std::fs::write(&path, &text).expect("write");
    (path, text.lines().count())
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

async fn eval(client: &Client, script: &str) -> Result<Value, String> {
    client
        .execute(script, vec![])
        .await
        .map_err(|e| format!("{script}: {e}"))
}

/// What a person looks at, checked; the screenshot's PNG.
async fn look_at_report(client: &Client, page: &str, alerts: usize) -> Result<Vec<u8>, String> {
    client
        .goto(page)
        .await
        .map_err(|e| format!("opening {page}: {e}"))?;
    let rows = eval(
        client,
        "return document.querySelectorAll('#alerts tbody tr').length;",
    )
    .await?;
    check(rows == json!(alerts), || {
        format!("{alerts} alerts, {rows} table rows")
    })?;
    let total = eval(
        client,
        "return document.getElementById('total').textContent;",
    )
    .await?;
    check(total == json!(alerts.to_string()), || {
        format!("the summary says {total}")
    })?;
    let bars = eval(
        client,
        "return document.querySelectorAll('svg#timeline rect.bar').length;",
    )
    .await?;
    check(bars.as_u64().is_some_and(|n| n > 0), || {
        "no bars in the timeline".to_owned()
    })?;
    let shown = |text: &str, cells: &str| {
        format!(
            "return Array.from(document.querySelectorAll({cells})).filter(td => td.textContent === {text}).length;",
            cells = json!(cells),
            text = json!(text)
        )
    };
    let domains = eval(client, &shown(HOSTILE_DOMAIN, "#alerts td.name")).await?;
    check(domains == json!(1), || {
        format!("the hostile domain shows as text in {domains} cells")
    })?;
    let reasons = eval(client, &shown(HOSTILE_REASON, "#alerts td.reason")).await?;
    check(reasons == json!(1), || {
        format!("the hostile reason shows as text in {reasons} cells")
    })?;
    // Nothing of the alerts became markup: no script, no bold, no event handler.
    let markup = eval(
        client,
        "return document.getElementsByTagName('script').length + document.getElementsByTagName('b').length \
           - document.querySelectorAll('.card b').length + document.querySelectorAll('[onmouseover]').length;",
    )
    .await?;
    check(markup == json!(0), || {
        format!("{markup} elements came from alert text")
    })?;
    check(client.get_alert_text().await.is_err(), || {
        "a JavaScript dialog is open: the hostile domain ran".to_owned()
    })?;
    client
        .screenshot()
        .await
        .map_err(|e| format!("taking the screenshot: {e}"))
}

#[tokio::test(flavor = "current_thread")]
async fn the_report_renders_in_a_browser_with_hostile_text_as_text() {
    require_browser();
    let dir = tempfile::tempdir().expect("a temp dir");
    let (alerts, count) = alerts_file(dir.path());
    let out = dir.path().join("report.html");
    let output = antimony(&[
        "report",
        "--alerts",
        &alerts,
        "--out",
        out.to_str().expect("UTF-8"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let profile = tempfile::tempdir().expect("a browser profile directory");
    let (_driver, client) = start_browser(profile.path()).await;
    let page = format!("file://{}", out.display());
    let outcome = tokio::time::timeout(
        Duration::from_secs(120),
        look_at_report(&client, &page, count),
    )
    .await;
    let _ = client.close().await;
    let png = match outcome {
        Ok(Ok(png)) => png,
        Ok(Err(failure)) => panic!("report: {failure}"),
        Err(_) => panic!("report: the browser session took more than two minutes"),
    };
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    if std::env::var_os("ANTIMONY_UPDATE_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.png");
        std::fs::write(&docs, &png).expect("write docs/report.png");
    }
}
