//! The house stays as drawn in ARCHITECTURE.md: each crate uses only the floors below it, and
//! the pure crates pull in no runtime. Read from `cargo metadata`, so a dependency added to
//! any Cargo.toml (directly or through another crate) that the architecture forbids fails
//! here.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Every workspace crate and the workspace crates it may depend on, directly or not.
const ALLOWED: &[(&str, &[&str])] = &[
    ("antimony-core", &[]),
    ("antimony-engine", &["antimony-core"]),
    ("antimony-io", &["antimony-core"]),
    ("antimony-dns", &["antimony-core"]),
    ("antimony-detect", &["antimony-core", "antimony-dns"]),
    (
        "antimony-lab",
        &[
            "antimony-core",
            "antimony-dns",
            "antimony-detect",
            "antimony-gen",
        ],
    ),
    ("antimony-gen", &["antimony-core", "antimony-dns"]),
    ("antimony-web", &["antimony-core", "antimony-engine"]),
    (
        "antimony-store",
        &["antimony-core", "antimony-dns", "antimony-detect"],
    ),
    (
        "antimony-components",
        &[
            "antimony-core",
            "antimony-engine",
            "antimony-io",
            "antimony-dns",
            "antimony-detect",
            "antimony-store",
        ],
    ),
    (
        "antimony",
        &[
            "antimony-core",
            "antimony-engine",
            "antimony-io",
            "antimony-dns",
            "antimony-detect",
            "antimony-lab",
            "antimony-gen",
            "antimony-components",
            "antimony-web",
            "antimony-store",
        ],
    ),
];

/// Outside crates a workspace crate must not reach, even through others: the runtimes.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("antimony-core", &["timely", "tokio"]),
    ("antimony-dns", &["timely", "tokio"]),
    ("antimony-detect", &["timely", "tokio"]),
    ("antimony-lab", &["timely", "tokio"]),
    ("antimony-gen", &["timely", "tokio"]),
    ("antimony-engine", &["tokio"]),
    ("antimony-io", &["timely"]),
    // The store knows databases, not the engine (PostgreSQL's client brings its own Tokio).
    ("antimony-store", &["timely"]),
];

/// Each workspace crate's dependency closure, by name: normal and build dependencies
/// (what ships), or dev dependencies too (what its tests use).
fn closures(with_dev: bool) -> BTreeMap<String, BTreeSet<String>> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let name_of: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("an id"),
                p["name"].as_str().expect("a name"),
            )
        })
        .collect();
    let deps: BTreeMap<&str, Vec<(&str, bool)>> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .map(|d| {
                    let dev_only = d["dep_kinds"]
                        .as_array()
                        .expect("dep kinds")
                        .iter()
                        .all(|k| k["kind"] == "dev");
                    (d["pkg"].as_str().expect("a package"), dev_only)
                })
                .collect();
            (node["id"].as_str().expect("an id"), deps)
        })
        .collect();
    let mut closures = BTreeMap::new();
    for member in metadata["workspace_members"].as_array().expect("members") {
        let member = member.as_str().expect("a member id");
        let mut seen = BTreeSet::new();
        // Dev dependencies count for the crate itself only: a dependency's tests are not
        // part of what this crate uses.
        let mut stack: Vec<&str> = deps[member]
            .iter()
            .filter(|(_, dev_only)| with_dev || !dev_only)
            .map(|(id, _)| *id)
            .collect();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(
                    deps[id]
                        .iter()
                        .filter(|(_, dev_only)| !dev_only)
                        .map(|(d, _)| *d),
                );
            }
        }
        closures.insert(
            name_of[member].to_owned(),
            seen.iter().map(|id| name_of[id].to_owned()).collect(),
        );
    }
    closures
}

#[test]
fn each_crate_uses_only_the_floors_below_it() {
    let closures = closures(true);
    let drawn: BTreeSet<&str> = ALLOWED.iter().map(|(name, _)| *name).collect();
    let members: BTreeSet<&str> = closures.keys().map(String::as_str).collect();
    assert_eq!(
        members, drawn,
        "every workspace crate has a place in the architecture (ALLOWED and ARCHITECTURE.md)"
    );
    for (name, allowed) in ALLOWED {
        let ours: BTreeSet<&str> = closures[*name]
            .iter()
            .map(String::as_str)
            .filter(|dep| dep.starts_with("antimony"))
            .collect();
        let extra: Vec<&&str> = ours.iter().filter(|dep| !allowed.contains(dep)).collect();
        assert!(
            extra.is_empty(),
            "{name} depends on {extra:?}, which the architecture forbids (allowed: {allowed:?})"
        );
    }
}

#[test]
fn the_pure_crates_pull_in_no_runtime() {
    let closures = closures(false);
    for (name, forbidden) in FORBIDDEN {
        for runtime in *forbidden {
            assert!(
                !closures[*name].contains(*runtime),
                "{name} reaches {runtime}, which the architecture forbids"
            );
        }
    }
}
