//! The alert store end to end: the shipped topology with an `alert_store` sink beside its
//! alerts file, run on the demo log; `antimony alerts --store` reads back exactly the alerts
//! file's lines, its filters narrow them as the alerts' fields say, CSV parses back, a
//! second run over the same input stores nothing twice, and a store that cannot be written
//! fails the run with the reason. The same on a real PostgreSQL server the test starts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The store crate's PostgreSQL harness: a real server in a temp dir, stopped on drop.
#[path = "../crates/antimony-store/tests/common/postgres_server.rs"]
#[allow(dead_code)]
mod postgres_server;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn antimony(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_antimony"))
        // Tests run side by side: none serves the API on the default port.
        .env("ANTIMONY_API", "off")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The shipped topology with its alerts file at `alerts.jsonl` and a store `store` (TOML
/// options) beside it, in `dir`.
fn topology(dir: &Path, store: &str) -> PathBuf {
    let shipped = std::fs::read_to_string(format!("{ROOT}/topologies/dns-threats.toml"))
        .expect("the shipped topology");
    let text = shipped
        .replace("\"../assets/", &format!("\"{ROOT}/assets/"))
        .replace("path = \"-\"", "path = \"alerts.jsonl\"")
        + &format!(
            "\n[bolts.store]\ntype = \"alert_store\"\ninputs = [{{ from = \"dedup\", grouping = \"global\" }}]\n{store}\n"
        );
    let path = dir.join("topology.toml");
    std::fs::write(&path, text).expect("write the topology");
    path
}

fn run(topology: &Path, workers: &str) -> Output {
    antimony(&[
        "run",
        topology.to_str().expect("UTF-8"),
        "--workers",
        workers,
    ])
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_owned).collect()
}

/// `antimony alerts --store DB --json` with `filters`: its lines.
fn query(db: &str, filters: &[&str]) -> BTreeSet<String> {
    let mut args = vec!["alerts", "--store", db, "--json"];
    args.extend_from_slice(filters);
    if !filters.contains(&"--limit") {
        args.extend_from_slice(&["--limit", "1000000"]);
    }
    let output = antimony(&args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    lines(&stdout(&output))
}

/// The lines of the alerts file whose JSON passes `keep`.
fn expected(all: &BTreeSet<String>, keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    all.iter()
        .filter(|l| keep(&serde_json::from_str(l).expect("an alert line")))
        .cloned()
        .collect()
}

#[test]
fn the_store_holds_the_alerts_file_and_its_filters_narrow_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let topology = topology(dir.path(), "path = \"alerts.db\"\nmax_age = \"3650d\"");
    let output = run(&topology, "2");
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("alerts written"), "{err}");
    let file =
        lines(&std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("alerts file"));
    assert!(file.len() > 5, "the demo raises alerts: {file:?}");
    let db = dir.path().join("alerts.db");
    let db = db.to_str().expect("UTF-8");

    // Everything, as the alerts file has it.
    assert_eq!(query(db, &[]), file);

    // Each filter narrows to what the alerts' own fields say.
    let any: Value = serde_json::from_str(file.iter().next().expect("an alert")).expect("JSON");
    let client = any["client"].as_str().expect("a client").to_owned();
    let got = query(db, &["--client", &client]);
    assert_eq!(got, expected(&file, |a| a["client"] == client.as_str()));
    assert!(!got.is_empty() && got.len() < file.len());

    let got = query(db, &["--severity", "high"]);
    assert_eq!(
        got,
        expected(&file, |a| matches!(
            a["severity"].as_str(),
            Some("high" | "critical")
        ))
    );
    assert!(!got.is_empty() && got.len() < file.len());

    let detector = any["detector"].as_str().expect("a detector").to_owned();
    assert_eq!(
        query(db, &["--detector", &detector]),
        expected(&file, |a| a["detector"] == detector.as_str())
    );

    let registered = any["registered_domain"]
        .as_str()
        .expect("a registered domain")
        .to_owned();
    assert_eq!(
        query(db, &["--domain", &registered]),
        expected(&file, |a| {
            let d = a["domain"].as_str().unwrap_or_default();
            d == registered || d.ends_with(&format!(".{registered}"))
        })
    );

    // Times: the demo is from August 2017.
    assert_eq!(
        query(
            db,
            &[
                "--since",
                "2017-08-12T00:00:00Z",
                "--until",
                "2017-08-13T00:00:00Z"
            ]
        ),
        file
    );
    assert!(query(db, &["--until", "2017-08-12T00:00:00Z"]).is_empty());
    assert!(
        query(db, &["--since", "1h"]).is_empty(),
        "nothing from the last hour"
    );

    // --limit keeps the newest.
    let two = query(db, &["--limit", "2"]);
    let newest: BTreeSet<String> = {
        let mut by_time: Vec<(String, String, String)> = file
            .iter()
            .map(|l| {
                let a: Value = serde_json::from_str(l).expect("JSON");
                (
                    a["ts"].as_str().unwrap_or_default().to_owned(),
                    a["id"].as_str().unwrap_or_default().to_owned(),
                    l.clone(),
                )
            })
            .collect();
        by_time.sort();
        by_time
            .into_iter()
            .rev()
            .take(2)
            .map(|(_, _, l)| l)
            .collect()
    };
    assert_eq!(two, newest);

    // CSV parses back to the same alerts.
    let output = antimony(&["alerts", "--store", db, "--csv", "--limit", "1000000"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut reader = csv::Reader::from_reader(output.stdout.as_slice());
    let ids: BTreeSet<String> = reader
        .records()
        .map(|r| r.expect("a CSV record")[0].to_owned())
        .collect();
    let file_ids: BTreeSet<String> = file
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON")["id"]
                .as_str()
                .expect("an id")
                .to_owned()
        })
        .collect();
    assert_eq!(ids, file_ids);

    // The table for people, with how many matched.
    let output = antimony(&["alerts", "--store", db, "--client", &client]);
    assert!(output.status.success());
    assert!(stdout(&output).starts_with("TIME"), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("matching alerts"),
        "{}",
        stderr(&output)
    );

    // The same input again (as a resumed run would write it): nothing is stored twice.
    let again = run(&topology, "1");
    assert!(again.status.success(), "{}", stderr(&again));
    let said = format!("alerts written 0, alerts duplicate {}", file.len());
    assert!(stderr(&again).contains(&said), "{}", stderr(&again));
    assert_eq!(query(db, &[]), file);

    // The report from the store and from the alerts file count the same alerts.
    for source in [
        ["--store", db],
        [
            "--alerts",
            dir.path().join("alerts.jsonl").to_str().expect("UTF-8"),
        ],
    ] {
        let out = dir.path().join("report.html");
        let output = antimony(&[
            "report",
            source[0],
            source[1],
            "--out",
            out.to_str().expect("UTF-8"),
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        let page = std::fs::read_to_string(&out).expect("the report");
        assert!(
            page.contains(&format!("<b id=\"total\">{}</b>", file.len())),
            "{source:?}"
        );
    }
}

#[test]
fn wrong_flags_and_unreadable_stores_fail_clearly() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let missing = dir.path().join("missing.db");
    let missing = missing.to_str().expect("UTF-8");
    let cases: [(&[&str], &str); 6] = [
        (&["alerts", "--store", missing], "no such file"),
        (&["alerts", "--csv"], "--store"),
        (&["alerts", "--until", "1h"], "--until needs --store"),
        (
            &["alerts", "--store", missing, "--since", "soon"],
            "--since",
        ),
        (&["report", "--store", missing], "--out"),
        (&["report", "--out", "x.html"], "--store"),
    ];
    for (args, said) in cases {
        let output = antimony(args);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(
            stderr(&output).contains(said),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    // An alerts file with a bad line: the report is made, the line named.
    let file = dir.path().join("alerts.jsonl");
    std::fs::write(&file, "{\"not\":\"an alert\"}\n").expect("write");
    let out = dir.path().join("r.html");
    let output = antimony(&[
        "report",
        "--alerts",
        file.to_str().expect("UTF-8"),
        "--out",
        out.to_str().expect("UTF-8"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("alerts.jsonl:1"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_store_that_cannot_be_written_fails_the_run_with_the_reason() {
    let dir = tempfile::tempdir().expect("a temp dir");
    // A directory where the database file should be.
    std::fs::create_dir(dir.path().join("alerts.db")).expect("mkdir");
    let unwritable = topology(dir.path(), "path = \"alerts.db\"");
    let output = run(&unwritable, "1");
    let err = stderr(&output);
    // Exit code 5, as for an alerts file that cannot be written.
    assert_eq!(output.status.code(), Some(5), "{err}");
    assert!(
        err.contains("`store` could not go on") && err.contains("alert store"),
        "{err}"
    );
    // Every alert the store did not take is counted (and set aside with the reason).
    let alerts = std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("alerts file");
    let failed = format!("alerts failed {}", alerts.lines().count());
    assert!(
        err.contains(&format!("alerts written 0, alerts duplicate 0, {failed}")),
        "{err}"
    );

    // Options that cannot work are refused before the run, at their place.
    for (options, said) in [
        ("path = \"alerts.db\"\nmax_age = \"soon\"", "max_age"),
        (
            "postgres = \"postgres://u:secret@127.0.0.1:1/db\"\nmax_bytes = 1000",
            "max_bytes",
        ),
        ("path = \"no/such/dir/alerts.db\"", "does not exist"),
        ("max_alerts = 10", "exactly one of"),
    ] {
        let refused = topology(dir.path(), options);
        let output = run(&refused, "1");
        let err = stderr(&output);
        assert!(!output.status.success(), "{options}: {err}");
        assert!(err.contains(said), "{options}: {err}");
        assert!(!err.contains("secret"), "{options}: {err}");
    }
}

/// The README's example, beside the shipped topology's alerts file, runs and stores the
/// demo's alerts.
#[test]
fn the_readmes_store_example_runs() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README");
    let section = &readme[readme
        .find("## Alert store")
        .expect("an alert store section")..];
    let start = section.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").expect("its end")];
    let options: String = example
        .lines()
        .filter(|l| !l.starts_with('[') && !l.starts_with("type") && !l.starts_with("inputs"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().expect("a temp dir");
    let output = run(&topology(dir.path(), &options), "1");
    assert!(output.status.success(), "{}", stderr(&output));
    let file =
        lines(&std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("alerts file"));
    let db = dir.path().join("alerts.db");
    assert_eq!(query(db.to_str().expect("UTF-8"), &[]), file);
}

#[test]
fn a_postgres_store_holds_the_alerts_file_and_a_second_run_adds_nothing() {
    let server = postgres_server::PostgresServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().expect("a temp dir");
    // The topology names no password: PGPASSWORD gives it, as to libpq.
    let options = format!(
        "postgres = \"{}\"\nmax_alerts = 100000",
        server.url_without_password()
    );
    let topology = topology(dir.path(), &options);
    for workers in ["2", "1"] {
        let output = Command::new(env!("CARGO_BIN_EXE_antimony"))
            .env("ANTIMONY_API", "off")
            .env("PGPASSWORD", server.password())
            .args([
                "run",
                topology.to_str().expect("UTF-8"),
                "--workers",
                workers,
            ])
            .output()
            .expect("the binary runs");
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(!stderr(&output).contains(server.password()));
    }
    // Without it, the server refuses, and the run fails saying so.
    let output = run(&topology, "1");
    assert!(!output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("password"), "{}", stderr(&output));
    let file =
        lines(&std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("alerts file"));
    assert_eq!(query(&url, &[]), file);
    let high = query(&url, &["--severity", "high"]);
    assert_eq!(
        high,
        expected(&file, |a| matches!(
            a["severity"].as_str(),
            Some("high" | "critical")
        ))
    );
    let out = dir.path().join("report.html");
    let output = antimony(&[
        "report",
        "--store",
        &url,
        "--out",
        out.to_str().expect("UTF-8"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains(server.password()));
}

/// Killed with SIGKILL after a checkpoint and resumed from it, a run's store ends with
/// exactly the alerts of its alerts file: what the killed run stored after the checkpoint is
/// written again with the same ids, and kept once.
#[test]
fn sigkilled_and_resumed_the_store_holds_each_alert_once() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("a temp dir");
    let log = dir.path().join("dns.log");
    let generated = antimony(&[
        "gen",
        "--format",
        "windows-dns",
        "--records",
        "60000",
        "--seed",
        "3",
        "-q",
    ]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    std::fs::write(&log, &generated.stdout).expect("write the log");
    let topology = topology(
        dir.path(),
        "path = \"alerts.db\"\n\n[checkpoint]\ninterval_secs = 0.2",
    );
    let command = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_antimony"));
        command
            .env("ANTIMONY_API", "off")
            .arg("run")
            .arg(&topology)
            .arg("--input")
            .arg(&log)
            .arg("--checkpoint-dir")
            .arg(dir.path().join("checkpoints"));
        command
    };
    let mut child = command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    // Kill it once a checkpoint is complete, if it has not ended by then.
    let started = Instant::now();
    let complete = || {
        std::fs::read_dir(dir.path().join("checkpoints"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().join("COMPLETE").exists())
    };
    while !complete() && child.try_wait().expect("waits").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait().expect("reaped");
    let output = command().output().expect("resumes");
    assert!(output.status.success(), "{}", stderr(&output));

    let file =
        lines(&std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("alerts file"));
    assert!(file.len() > 50, "{} alerts", file.len());
    let stored = query(dir.path().join("alerts.db").to_str().expect("UTF-8"), &[]);
    assert_eq!(stored.len(), file.len());
    assert_eq!(stored, file);
}
