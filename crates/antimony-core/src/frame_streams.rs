//! Frame Streams control frames: parse and encode, for files and socket handshakes.
//!
//! A Frame Streams stream is a sequence of frames, each a big-endian `u32` length and that
//! many bytes. A length of 0 is the escape that starts a control frame: a `u32` length (at
//! most [`MAX_CONTROL_LEN`]), a `u32` control type and fields, each a `u32` field type, a
//! `u32` length and the value. The only field is the content type (field type 1).
//!
//! A bidirectional sender (a socket) opens with READY listing its content types; the
//! receiver answers ACCEPT with the one it takes; the sender sends START, data frames and
//! STOP; the receiver answers FINISH. A file, or a unidirectional sender, starts at START.
//!
//! Pure and shared: the Frame Streams receiver at the I/O edge speaks the handshake, and the
//! dnstap decoder reads the frames a file starts and ends with.
//!
//! ```
//! use antimony_core::frame_streams::{self as control, ControlFrame, ControlType};
//!
//! const CONTENT_TYPE: &str = "protobuf:dnstap.Dnstap";
//! // A receiver's side of the handshake, on bytes read from the socket.
//! let from_sender = control::encode(ControlType::Ready, &[CONTENT_TYPE.as_bytes()]);
//! let (frame, used) = control::decode(&from_sender).unwrap().unwrap();
//! assert_eq!(used, from_sender.len());
//! assert_eq!(frame.kind, ControlType::Ready);
//! assert!(frame.offers(CONTENT_TYPE));
//! let reply = control::encode_accept(CONTENT_TYPE.as_bytes()); // written back
//! assert_eq!(control::decode(&reply).unwrap().unwrap().0.kind, ControlType::Accept);
//! ```

use std::fmt;

/// The longest control frame (after the escape and length) Frame Streams allows.
pub const MAX_CONTROL_LEN: usize = 512;
/// Field type of a content type.
const FIELD_CONTENT_TYPE: u32 = 1;

/// The kinds of control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlType {
    /// Receiver to sender: the content type it takes (bidirectional mode).
    Accept,
    /// Sender: data frames follow (with at most one content type).
    Start,
    /// Sender: no more data frames.
    Stop,
    /// Sender to receiver: the content types it offers (bidirectional mode).
    Ready,
    /// Receiver to sender: the stream is done, after STOP.
    Finish,
}

impl ControlType {
    /// The code on the wire.
    pub fn code(self) -> u32 {
        match self {
            ControlType::Accept => 1,
            ControlType::Start => 2,
            ControlType::Stop => 3,
            ControlType::Ready => 4,
            ControlType::Finish => 5,
        }
    }

    /// The control type with this code.
    pub fn from_code(code: u32) -> Option<ControlType> {
        Some(match code {
            1 => ControlType::Accept,
            2 => ControlType::Start,
            3 => ControlType::Stop,
            4 => ControlType::Ready,
            5 => ControlType::Finish,
            _ => return None,
        })
    }

    /// Upper-case name, as in the Frame Streams documentation.
    pub fn name(self) -> &'static str {
        match self {
            ControlType::Accept => "ACCEPT",
            ControlType::Start => "START",
            ControlType::Stop => "STOP",
            ControlType::Ready => "READY",
            ControlType::Finish => "FINISH",
        }
    }
}

impl fmt::Display for ControlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A control frame: its kind and the content types it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlFrame {
    /// READY, ACCEPT, START, STOP or FINISH.
    pub kind: ControlType,
    /// Content types, in order (at most `MAX_CONTROL_LEN / 8` of them).
    pub content_types: Vec<Vec<u8>>,
}

impl ControlFrame {
    /// Whether the frame names `content_type`.
    pub fn offers(&self, content_type: &str) -> bool {
        self.content_types
            .iter()
            .any(|t| t.as_slice() == content_type.as_bytes())
    }
}

/// Why a control frame cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The bytes start with a data frame, not the escape of a control frame.
    #[error("a data frame where a control frame was expected")]
    NotControl,
    /// The length is over [`MAX_CONTROL_LEN`] or shorter than a control type.
    #[error("control frame length {0} is outside 4..={MAX_CONTROL_LEN}")]
    Length(usize),
    /// An unknown control type.
    #[error("unknown control frame type {0}")]
    UnknownType(u32),
    /// A field runs past the end of the frame.
    #[error("a control frame field runs past the end of the frame")]
    FieldOverrun,
}

/// Parses the body of a control frame: what follows the escape and the length.
pub fn parse(body: &[u8]) -> Result<ControlFrame, ControlError> {
    if body.len() < 4 || body.len() > MAX_CONTROL_LEN {
        return Err(ControlError::Length(body.len()));
    }
    let code = be32(&body[..4]);
    let kind = ControlType::from_code(code).ok_or(ControlError::UnknownType(code))?;
    let mut content_types = Vec::new();
    let mut rest = &body[4..];
    while !rest.is_empty() {
        let header = rest.get(..8).ok_or(ControlError::FieldOverrun)?;
        let field = be32(&header[..4]);
        let len = be32(&header[4..]) as usize;
        let value = rest[8..].get(..len).ok_or(ControlError::FieldOverrun)?;
        if field == FIELD_CONTENT_TYPE {
            content_types.push(value.to_vec());
        }
        rest = &rest[8 + len..];
    }
    Ok(ControlFrame {
        kind,
        content_types,
    })
}

/// Reads a whole control frame (escape, length, body) at the start of `buf`: the frame and
/// the bytes it took, or `None` when `buf` does not hold all of it yet.
pub fn decode(buf: &[u8]) -> Result<Option<(ControlFrame, usize)>, ControlError> {
    let Some(escape) = buf.get(..4) else {
        return Ok(None);
    };
    if be32(escape) != 0 {
        return Err(ControlError::NotControl);
    }
    let Some(len) = buf.get(4..8) else {
        return Ok(None);
    };
    let len = be32(len) as usize;
    if !(4..=MAX_CONTROL_LEN).contains(&len) {
        return Err(ControlError::Length(len));
    }
    match buf.get(8..8 + len) {
        Some(body) => parse(body).map(|frame| Some((frame, 8 + len))),
        None => Ok(None),
    }
}

/// Encodes a control frame with its escape and length.
pub fn encode(kind: ControlType, content_types: &[&[u8]]) -> Vec<u8> {
    let body_len = 4 + content_types.iter().map(|t| 8 + t.len()).sum::<usize>();
    let mut out = Vec::with_capacity(8 + body_len);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&(body_len as u32).to_be_bytes());
    out.extend_from_slice(&kind.code().to_be_bytes());
    for content_type in content_types {
        out.extend_from_slice(&FIELD_CONTENT_TYPE.to_be_bytes());
        out.extend_from_slice(&(content_type.len() as u32).to_be_bytes());
        out.extend_from_slice(content_type);
    }
    out
}

/// ACCEPT with one content type: the receiver's answer to READY.
pub fn encode_accept(content_type: &[u8]) -> Vec<u8> {
    encode(ControlType::Accept, &[content_type])
}

/// FINISH: the receiver's answer to STOP.
pub fn encode_finish() -> Vec<u8> {
    encode(ControlType::Finish, &[])
}

/// START with one content type, as a file begins.
pub fn encode_start(content_type: &[u8]) -> Vec<u8> {
    encode(ControlType::Start, &[content_type])
}

/// STOP, as a file ends.
pub fn encode_stop() -> Vec<u8> {
    encode(ControlType::Stop, &[])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTENT_TYPE: &str = "protobuf:dnstap.Dnstap";

    #[test]
    fn round_trip() {
        for kind in [
            ControlType::Accept,
            ControlType::Start,
            ControlType::Stop,
            ControlType::Ready,
            ControlType::Finish,
        ] {
            assert_eq!(ControlType::from_code(kind.code()), Some(kind));
            let bytes = encode(kind, &[b"a", CONTENT_TYPE.as_bytes()]);
            let (frame, used) = decode(&bytes)
                .expect("valid test input")
                .expect("valid test input");
            assert_eq!(used, bytes.len());
            assert_eq!(frame.kind, kind);
            assert_eq!(
                frame.content_types,
                [b"a".to_vec(), CONTENT_TYPE.as_bytes().to_vec()]
            );
            for cut in 0..bytes.len() {
                assert_eq!(decode(&bytes[..cut]), Ok(None));
            }
        }
        assert_eq!(encode_finish(), b"\0\0\0\0\0\0\0\x04\0\0\0\x05");
    }

    #[test]
    fn refusals() {
        assert_eq!(decode(b"\0\0\0\x05hello"), Err(ControlError::NotControl));
        assert_eq!(
            decode(b"\0\0\0\0\0\0\x10\0"),
            Err(ControlError::Length(4096))
        );
        assert_eq!(
            decode(b"\0\0\0\0\0\0\0\x02ab"),
            Err(ControlError::Length(2))
        );
        assert_eq!(parse(b"\0\0\0\x09"), Err(ControlError::UnknownType(9)));
        assert_eq!(
            parse(b"\0\0\0\x02\0\0\0\x01\0\0\0\x09abc"),
            Err(ControlError::FieldOverrun)
        );
        assert_eq!(parse(b"\0\0\0\x02\0\0\0"), Err(ControlError::FieldOverrun));
    }
}
