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
        entry(&mut out, name, description);
    }
    out.push_str("bolts:\n");
    for (name, description) in registry.bolt_types() {
        entry(&mut out, name, description);
    }
    out.push_str(
        "alert body formats (`format = \"...\"` on alert outputs; JSON-lines files take json, ecs and eve):\n",
    );
    for format in AlertFormat::ALL {
        entry(&mut out, format.name(), format.describe());
    }
    out.push_str("chat styles (webhook outputs):\n");
    for format in ChatFormat::ALL {
        entry(&mut out, format.name(), format.describe());
    }
    out
}

/// The column descriptions start at, and the width they are wrapped to, for a terminal.
const NAME_WIDTH: usize = 19;
const LINE_WIDTH: usize = 100;

/// One name and its description, wrapped at word boundaries under the description column
/// (a name longer than the column gets the description on the next line).
fn entry(out: &mut String, name: &str, description: &str) {
    let indent = " ".repeat(2 + NAME_WIDTH + 1);
    let _ = write!(out, "  {name:<NAME_WIDTH$} ");
    let mut column = indent.len();
    if name.len() > NAME_WIDTH {
        out.push('\n');
        out.push_str(&indent);
    }
    let mut first = true;
    for word in description.split(' ') {
        if !first && column + 1 + word.len() > LINE_WIDTH {
            out.push('\n');
            out.push_str(&indent);
            column = indent.len();
            first = true;
        }
        if !first {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
        first = false;
    }
    out.push('\n');
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
        // Wrapped for a terminal: no line wider than the width, unless one word is.
        for line in text.lines() {
            assert!(
                line.len() <= super::LINE_WIDTH || !line.trim().contains(' '),
                "too wide: {line}"
            );
        }
    }
}
