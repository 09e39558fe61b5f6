//! Data compiled in, so a topology can name a list that needs no file: a list path of
//! `builtin:NAME`. Provenance: `assets/README.md` at the workspace root.

/// A sample of maltrail's malware and malicious-domain trails.
pub const MALTRAIL_SAMPLE: &str = include_str!("../../../assets/threatintel/maltrail-sample.txt");

/// Names accepted as `builtin:NAME` list paths.
pub const BUILTIN_LISTS: &[&str] = &["maltrail"];

/// A bundled list by name.
pub fn builtin_list(name: &str) -> Option<&'static str> {
    match name {
        "maltrail" => Some(MALTRAIL_SAMPLE),
        _ => None,
    }
}
