//! Data compiled into the binary, so `antimony demo` and `antimony check` need no files.
//! Provenance: `assets/README.md`.

/// The shipped DNS topology.
pub const DNS_THREATS_TOPOLOGY: &str = include_str!("../topologies/dns-threats.toml");
/// The demo's Windows DNS debug log.
pub const DEMO_LOG: &str = include_str!("../assets/demo/dns-demo.log");
/// A sample of maltrail's malware and malicious-domain trails.
pub const MALTRAIL_SAMPLE: &str = include_str!("../assets/threatintel/maltrail-sample.txt");

/// Names accepted as `builtin:NAME` list paths.
pub const BUILTIN_LISTS: &[&str] = &["maltrail"];

/// A bundled list by name.
pub fn builtin_list(name: &str) -> Option<&'static str> {
    match name {
        "maltrail" => Some(MALTRAIL_SAMPLE),
        _ => None,
    }
}

/// The files the demo lays out so the shipped topology finds them where it expects.
pub const DEMO_FILES: &[(&str, &str)] = &[
    ("topologies/dns-threats.toml", DNS_THREATS_TOPOLOGY),
    ("assets/demo/dns-demo.log", DEMO_LOG),
    ("assets/threatintel/maltrail-sample.txt", MALTRAIL_SAMPLE),
];
