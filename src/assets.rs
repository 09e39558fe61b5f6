//! Data compiled into the binary, so `antimony demo` needs no files. Provenance:
//! `assets/README.md`.

use antimony_components::builtin::MALTRAIL_SAMPLE;

/// The shipped DNS topology.
pub const DNS_THREATS_TOPOLOGY: &str = include_str!("../topologies/dns-threats.toml");
/// The demo's Windows DNS debug log.
pub const DEMO_LOG: &str = include_str!("../assets/demo/dns-demo.log");

/// The files the demo lays out so the shipped topology finds them where it expects.
pub const DEMO_FILES: &[(&str, &str)] = &[
    ("topologies/dns-threats.toml", DNS_THREATS_TOPOLOGY),
    ("assets/demo/dns-demo.log", DEMO_LOG),
    ("assets/threatintel/maltrail-sample.txt", MALTRAIL_SAMPLE),
];
