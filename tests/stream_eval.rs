//! The in-stream promise of `antimony eval` (issue 16) on a few minutes of generated office
//! traffic through the shipped topology: every client with a DGA burst, a listed name, a
//! tunnel or a storm gets a medium+ alert within 5 minutes of its first DGA look-up, and at
//! most 0.1% of clean clients get one. (Beacons and slow infections are promised within
//! the hour: `antimony eval --stream-only` checks them on the full hour.)

use std::process::Command;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

#[test]
fn a_short_office_run_keeps_the_promise() {
    let output = Command::new(env!("CARGO_BIN_EXE_antimony"))
        .env("ANTIMONY_API", "off")
        .args([
            "eval",
            "--data",
            DATA,
            "--stream-only",
            "--stream-minutes",
            "5",
            "--stream-workers",
            "2",
        ])
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("clean clients alerted medium+:"),
        "{stdout}"
    );
    // The run had something to catch.
    let infected = stdout
        .lines()
        .find(|l| l.starts_with("| infected"))
        .and_then(|l| l.split('|').nth(2))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(infected > 0, "{stdout}");
}
