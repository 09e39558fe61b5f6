//! Errors shared by every crate: [`ConfigError`], a component option that cannot be used,
//! located in the topology file when it came from one.

use std::ops::Range;

/// A component's options that cannot be used: what is wrong, which option, and where.
///
/// Components return it from their configuration step; the topology reader turns `span`
/// (bytes of the topology file) into `file:line:column`, and names the option otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", option.as_ref().map(|o| format!("option `{o}`: ")).unwrap_or_default())]
pub struct ConfigError {
    /// What is wrong, for a person, and what to do.
    pub message: String,
    /// The option at fault, when one is.
    pub option: Option<String>,
    /// Where in the topology file (bytes), when known.
    pub span: Option<Range<usize>>,
}

impl ConfigError {
    /// An error about the component's options as a whole.
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
            option: None,
            span: None,
        }
    }

    /// An error about one option.
    pub fn option(option: &str, message: impl Into<String>) -> Self {
        ConfigError {
            option: Some(option.to_owned()),
            ..ConfigError::new(message)
        }
    }

    /// The same error, located at `span` of the topology file (kept if already located).
    pub fn at(mut self, span: Option<Range<usize>>) -> Self {
        if self.span.is_none() {
            self.span = span;
        }
        self
    }
}

/// `line:column` (both from 1) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_option() {
        assert_eq!(
            ConfigError::option("path", "no such file").to_string(),
            "option `path`: no such file"
        );
        assert_eq!(ConfigError::new("bad").to_string(), "bad");
    }

    #[test]
    fn lines_and_columns_count_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, text.find('2').expect("2")), (2, 6));
    }
}
