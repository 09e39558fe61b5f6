//! Format recognition on samples where a general format could win over the specific one.

use antimony_dns::Format;
use antimony_dns::formats::detect_format;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

/// A BIND query log with a line cut short is BIND's, not Infoblox's: Infoblox's decoder reads
/// plain BIND query lines too but skips what it does not know, which would lose the broken
/// line silently instead of reporting it.
#[test]
fn bind_log_with_a_broken_line_is_bind9_not_infoblox() {
    let text = std::fs::read_to_string(format!("{DATA}/logs/bind9_querylog.log")).expect("sample");
    let mut lines: Vec<&[u8]> = text.lines().take(20).map(str::as_bytes).collect();
    lines.insert(
        10,
        b"26-Nov-2026 06:46:50.091 queries: info: client @0x7f170841dc98 127.0.0.1#39",
    );
    assert_eq!(detect_format(&lines), Some(Format::Bind9));
    // And the Infoblox sample stays Infoblox.
    let text =
        std::fs::read_to_string(format!("{DATA}/logs/infoblox_nios_syslog.log")).expect("sample");
    let lines: Vec<&[u8]> = text.lines().map(str::as_bytes).collect();
    assert_eq!(detect_format(&lines), Some(Format::Infoblox));
}
