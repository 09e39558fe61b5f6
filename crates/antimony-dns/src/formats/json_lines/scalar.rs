//! JSON values as the decoders of JSON logs read them: [`Scalar`], any JSON value borrowed
//! from the line, so a decoder can say which field has a wrong type; timestamps in seconds
//! since the epoch; and the error for a line that is not one JSON object. Used by the JSON
//! lines decoder here and by the Zeek JSON and Suricata EVE decoders.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::codes::parse_u16;
use crate::formats::{ParseError, ParseErrorKind};
use crate::time::MICROS_PER_SECOND;

/// A JSON value of any type, borrowed from the line where it can be. Parsing every field
/// into this lets the decoder say which field has a wrong type, instead of serde's message
/// without a field name; objects and arrays are skipped without being stored.
#[derive(Debug, Default)]
pub(crate) enum Scalar<'a> {
    #[default]
    Null,
    Str(Cow<'a, str>),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
    /// An object or array: present, but never a valid value for our fields.
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor(PhantomData))
    }
}

struct ScalarVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Unsigned(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Signed(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

impl<'a> Scalar<'a> {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }

    /// The value of a JSON boolean; `None` for anything else.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A value borrowed from a parsed [`Value`].
    pub(super) fn from_value(value: &'a Value) -> Self {
        match value {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::String(s) => Scalar::Str(Cow::Borrowed(s)),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Scalar::Unsigned(u),
                (_, Some(i), _) => Scalar::Signed(i),
                (_, _, Some(f)) => Scalar::Float(f),
                _ => Scalar::Other,
            },
            Value::Array(_) | Value::Object(_) => Scalar::Other,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A `u16` from a number, or from a decimal string.
    pub(crate) fn as_u16(&self) -> Option<u16> {
        match self {
            Scalar::Unsigned(n) => u16::try_from(*n).ok(),
            Scalar::Str(s) => parse_u16(s),
            _ => None,
        }
    }

    /// Some(code) for a mnemonic, a number or a decimal string, using `by_name` for names.
    pub(crate) fn as_code(&self, by_name: fn(&str) -> Option<u16>) -> Option<u16> {
        match self {
            Scalar::Str(s) => by_name(s).or_else(|| parse_u16(s)),
            _ => self.as_u16(),
        }
    }
}

/// Seconds since the epoch (a JSON number) as microseconds, if in range.
pub(crate) fn epoch_micros(ts: &Scalar<'_>) -> Option<i64> {
    match *ts {
        Scalar::Unsigned(s) => i64::try_from(s).ok()?.checked_mul(MICROS_PER_SECOND),
        Scalar::Signed(s) => s.checked_mul(MICROS_PER_SECOND),
        // 9.2e12 seconds is the i64 microsecond limit; NaN fails the comparison.
        Scalar::Float(s) if s.abs() < 9.2e12 => Some((s * 1e6).round() as i64),
        _ => None,
    }
}

/// The error for a line that is not one JSON object.
pub(crate) fn not_json() -> ParseError {
    ParseError::new(ParseErrorKind::Json, "line", "one JSON object per line")
}
