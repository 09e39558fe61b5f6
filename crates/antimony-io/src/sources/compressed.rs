//! Compressed sources (rotated logs are): gzip and zstd, recognised by the magic number their
//! first bytes hold, not by their name, and read as the stream they hold, so the sniffer and
//! the line cutter see the decompressed bytes.
//!
//! Memory stays bounded whatever the input: a decoder keeps its window (32 KiB for gzip; at
//! most [`ZSTD_WINDOW_LOG_MAX`] for zstd) and hands on what it decodes one read buffer at a
//! time. A decompression bomb is only a long stream, whose lines the cutter bounds. A stream
//! that is corrupt or cut short ends reading with an error naming the compression, after the
//! bytes decoded before the fault have been handed on.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use async_compression::zstd::DParameter;
use tokio::io::{AsyncRead, BufReader, ReadBuf};

/// A compression the file spout reads through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip (RFC 1952), what logrotate's `compress` writes: magic `1f 8b`.
    Gzip,
    /// Zstandard (RFC 8878): magic `28 b5 2f fd`.
    Zstd,
}

/// The largest zstd window accepted, as a power of two: 2^27 bytes (128 MiB), the default
/// of libzstd and of the `zstd` tool (which needs `--memory` beyond it), enough for logs
/// compressed with `--ultra -22` or `--long`. A frame asking for more is refused rather than
/// allowed to take memory its header names.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// What a decoder reads from its source at a time.
const READ_BUFFER: usize = 64 * 1024;

impl Compression {
    /// The compression `head` (a source's first bytes) starts with, if it is one read here.
    pub fn detect(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    /// Its name, as people say it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// A reader of the bytes `compressed` decompresses to. Members (gzip) or frames (zstd)
    /// one after the other are read as one stream, as `zcat` and `zstdcat` do.
    pub(crate) fn decoder<R>(self, compressed: R) -> Box<dyn AsyncRead + Unpin + Send>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let buffered = BufReader::with_capacity(READ_BUFFER, compressed);
        let decoder: Box<dyn AsyncRead + Unpin + Send> = match self {
            Compression::Gzip => {
                let mut decoder = GzipDecoder::new(buffered);
                decoder.multiple_members(true);
                Box::new(decoder)
            }
            Compression::Zstd => {
                let mut decoder = ZstdDecoder::with_params(
                    buffered,
                    &[DParameter::window_log_max(ZSTD_WINDOW_LOG_MAX)],
                );
                decoder.multiple_members(true);
                Box::new(decoder)
            }
        };
        Box::new(Named {
            inner: decoder,
            compression: self,
        })
    }
}

/// A decoder whose errors say which compression failed, and how, for the dead letter.
struct Named {
    inner: Box<dyn AsyncRead + Unpin + Send>,
    compression: Compression,
}

impl AsyncRead for Named {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let name = self.compression.name();
        Pin::new(&mut self.inner).poll_read(cx, buf).map_err(|e| {
            let what = match e.kind() {
                io::ErrorKind::UnexpectedEof => {
                    format!("{name} stream cut short: the file ends inside it")
                }
                _ => format!("{name} stream is corrupt or unreadable: {e}"),
            };
            io::Error::new(e.kind(), what)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognised_by_magic_number() {
        assert_eq!(
            Compression::detect(&[0x1f, 0x8b, 0x08, 0]),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0x04]),
            Some(Compression::Zstd)
        );
        for other in [
            &b"plain text\n"[..],
            b"",
            b"\x1f",
            b"\x28\xb5\x2f",
            b"BZh91AY",
        ] {
            assert_eq!(Compression::detect(other), None, "{other:?}");
        }
    }
}
