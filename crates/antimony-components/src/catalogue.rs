//! What `antimony components` prints: every component type a topology file can name, and
//! the body formats its alert outputs write, so a user finds them without the source.

use std::fmt::Write as _;

use antimony_detect::{AlertFormat, ChatFormat};

/// The listing: spouts, bolts (steps and sinks), the alert body formats (the `format`
/// option of alert outputs) and the chat styles of webhook outputs, one per line.
pub fn components_text() -> String {
    let registry = crate::registry();
    let mut out = String::from("spouts:\n");
    for (name, description) in registry.spout_types() {
        let _ = writeln!(out, "  {name:<14} {description}");
    }
    out.push_str("bolts:\n");
    for (name, description) in registry.bolt_types() {
        let _ = writeln!(out, "  {name:<14} {description}");
    }
    out.push_str(
        "alert body formats (`format = \"...\"` on alert outputs; JSON-lines files take json, ecs and eve):\n",
    );
    for format in AlertFormat::ALL {
        let _ = writeln!(out, "  {:<14} {}", format.name(), format.describe());
    }
    out.push_str("chat styles (webhook outputs):\n");
    for format in ChatFormat::ALL {
        let _ = writeln!(out, "  {:<14} {}", format.name(), format.describe());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_body_format_is_listed() {
        let text = super::components_text();
        for name in [
            "json",
            "ecs",
            "eve",
            "cef",
            "leef",
            "slack",
            "teams",
            "alert_file",
        ] {
            assert!(
                text.lines().any(|l| l.trim_start().starts_with(name)),
                "{name} missing:\n{text}"
            );
        }
    }
}
