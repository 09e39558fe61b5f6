//! The error a decoder returns for a line it cannot read.

use std::fmt;

use crate::domain::NameError;

/// What kind of problem made a line unreadable. Small and `Copy`, so an error costs nothing
/// to build on the hot path and can be counted by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A required field is absent: the line ends early, or a JSON object lacks it.
    Missing,
    /// A field is present but its value cannot be read.
    Invalid,
    /// The question or answer name is not a valid DNS name.
    Name(NameError),
    /// A field that must be text is not UTF-8.
    NotUtf8,
    /// A record that spans lines outgrew the decoder's cap on one record.
    TooLarge,
    /// The line is not valid JSON, or not an object of the expected shape.
    Json,
}

/// A line that could not be decoded: which field, what kind of problem, what was expected.
///
/// The decoder does not know where the line came from; the caller adds `file:line`.
/// Display gives a short sentence such as `flags: invalid, expected 4 hex digits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    field: &'static str,
    expected: &'static str,
}

impl ParseError {
    /// A new error about `field`, saying what a valid value looks like.
    pub fn new(kind: ParseErrorKind, field: &'static str, expected: &'static str) -> Self {
        ParseError {
            kind,
            field,
            expected,
        }
    }

    pub(crate) fn missing(field: &'static str, expected: &'static str) -> Self {
        Self::new(ParseErrorKind::Missing, field, expected)
    }

    pub(crate) fn invalid(field: &'static str, expected: &'static str) -> Self {
        Self::new(ParseErrorKind::Invalid, field, expected)
    }

    pub(crate) fn name(field: &'static str, error: NameError) -> Self {
        Self::new(ParseErrorKind::Name(error), field, "a DNS name")
    }

    pub(crate) fn not_utf8(field: &'static str) -> Self {
        Self::new(ParseErrorKind::NotUtf8, field, "UTF-8 text")
    }

    /// The kind of problem.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// The field that could not be read (`timestamp`, `client address`, `qname`...).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What a valid value of the field looks like.
    pub fn expected(&self) -> &'static str {
        self.expected
    }

    /// Whether the caller can skip this line and decode the next one.
    ///
    /// Every error of the line formats is confined to its line, so this is always true:
    /// even the stateful decoders (Zeek's header, Windows "details" blocks) keep their
    /// state through a bad line. A framed binary format would return false when it cannot
    /// find the start of the next record.
    pub fn can_continue(&self) -> bool {
        true
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (field, expected) = (self.field, self.expected);
        match self.kind {
            ParseErrorKind::Missing => write!(f, "{field}: missing, expected {expected}"),
            ParseErrorKind::Invalid => write!(f, "{field}: invalid, expected {expected}"),
            ParseErrorKind::Name(e) => write!(f, "{field}: {e}"),
            ParseErrorKind::NotUtf8 => write!(f, "{field}: not UTF-8"),
            ParseErrorKind::TooLarge => write!(f, "{field}: too large, expected {expected}"),
            ParseErrorKind::Json => write!(f, "{field}: invalid JSON, expected {expected}"),
        }
    }
}

impl std::error::Error for ParseError {}
