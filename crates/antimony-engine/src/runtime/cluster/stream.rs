//! A connection to a peer that notices when the peer is gone.
//!
//! timely's communication threads read and write these streams. A peer that leaves cleanly
//! first sends timely's goodbye (a message header of length zero) and then closes; a peer
//! that dies closes without it (the kernel sends FIN or RST for a killed process), and a host
//! that vanishes stops answering TCP keepalive probes (idle) or acknowledgements (data in
//! flight, `TCP_USER_TIMEOUT`). Each of these ends a read or a write here: the loss goes to
//! the [`Watch`], and the thread is then held rather than given the error, since timely
//! would panic on it (and its workers after it). The workers see the loss between steps and
//! end the run; the held threads end with the process.
//!
//! No heartbeats: a quiet but alive peer is not lost, and the kernel watches the connection
//! (keepalive) at no cost to the data path.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::Watch;

/// Idle time before the first keepalive probe, time between probes, and probes unanswered
/// before the kernel declares the connection dead: a vanished host is noticed in about
/// 5 + 3 × 1 s when the connection is idle.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(5);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
const KEEPALIVE_PROBES: u32 = 3;
/// How long written data may stay unacknowledged before the kernel gives up on the
/// connection (keepalive only probes idle connections).
const USER_TIMEOUT: Duration = Duration::from_secs(10);

/// The bytes of timely's message header (`timely_communication::networking::MessageHeader`:
/// six big-endian u64s, the payload's length fifth). timely is pinned exactly, so its wire
/// format cannot change under us; `dataflow.rs`'s `goodbye_is_timelys` checks it.
pub(crate) const HEADER_BYTES: usize = 48;
const LENGTH_AT: usize = 32;

/// One peer of this process.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) process: usize,
    pub(crate) address: String,
}

/// A connection to a peer, as timely's communication threads use it.
#[derive(Debug)]
pub(crate) struct PeerStream {
    socket: TcpStream,
    peer: Arc<Peer>,
    watch: Arc<Watch>,
    framing: Framing,
}

impl PeerStream {
    /// Wraps a connected, greeted socket: sets it blocking, without Nagle's delay, with
    /// keepalive and a user timeout.
    pub(crate) fn new(socket: TcpStream, peer: Peer, watch: Arc<Watch>) -> io::Result<Self> {
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(None)?;
        socket.set_write_timeout(None)?;
        // timely sends small progress messages that must not wait for more data.
        socket.set_nodelay(true)?;
        let sock = socket2::SockRef::from(&socket);
        sock.set_tcp_keepalive(
            &socket2::TcpKeepalive::new()
                .with_time(KEEPALIVE_IDLE)
                .with_interval(KEEPALIVE_INTERVAL)
                .with_retries(KEEPALIVE_PROBES),
        )?;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        sock.set_tcp_user_timeout(Some(USER_TIMEOUT))?;
        Ok(PeerStream {
            socket,
            peer: Arc::new(peer),
            watch,
            framing: Framing::default(),
        })
    }

    /// Another handle on the same connection (timely reads on one thread, writes on another).
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(PeerStream {
            socket: self.socket.try_clone()?,
            peer: Arc::clone(&self.peer),
            watch: Arc::clone(&self.watch),
            framing: Framing::default(),
        })
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking)
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket.shutdown(how)
    }

    /// Reports the peer lost and holds this thread: returning the error would panic timely's
    /// thread. Closing the socket makes the peer (if it is still there) notice too.
    fn lost(&self, reason: String) -> ! {
        self.watch
            .lose(self.peer.process, &self.peer.address, reason);
        let _ = self.socket.shutdown(Shutdown::Both);
        loop {
            std::thread::park();
        }
    }
}

impl Read for PeerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.socket.read(buf) {
                Ok(0) if buf.is_empty() || self.framing.said_goodbye() => return Ok(0),
                Ok(0) => self.lost("connection closed".to_owned()),
                Ok(n) => {
                    self.framing.feed(&buf[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.lost(reason(&e)),
            }
        }
    }
}

impl Write for PeerStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.socket.write(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.lost(reason(&e)),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

/// An I/O error as the message says it: `connection reset` rather than
/// `Connection reset by peer (os error 104)`.
fn reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
        io::ErrorKind::BrokenPipe => "connection closed".to_owned(),
        io::ErrorKind::TimedOut => "no answer (keepalive or acknowledgement timed out)".to_owned(),
        _ => error.to_string(),
    }
}

/// Follows timely's framing on the bytes read, to tell its goodbye (a header of length
/// zero) from a connection cut short.
#[derive(Debug)]
pub(crate) struct Framing {
    header: [u8; HEADER_BYTES],
    filled: usize,
    /// Payload bytes still to skip.
    skip: u64,
    goodbye: bool,
}

impl Default for Framing {
    fn default() -> Self {
        Framing {
            header: [0; HEADER_BYTES],
            filled: 0,
            skip: 0,
            goodbye: false,
        }
    }
}

impl Framing {
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.goodbye {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.skip -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            let n = (HEADER_BYTES - self.filled).min(bytes.len());
            self.header[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            bytes = &bytes[n..];
            if self.filled == HEADER_BYTES {
                self.filled = 0;
                let mut length = [0u8; 8];
                length.copy_from_slice(&self.header[LENGTH_AT..LENGTH_AT + 8]);
                self.skip = u64::from_be_bytes(length);
                self.goodbye = self.skip == 0;
            }
        }
    }

    pub(crate) fn said_goodbye(&self) -> bool {
        self.goodbye
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(length: u64) -> Vec<u8> {
        let mut bytes = Vec::new();
        for field in [3u64, 1, 0, 2, length, 9] {
            bytes.extend_from_slice(&field.to_be_bytes());
        }
        bytes
    }

    fn check(chunks: &[&[u8]], goodbye: bool) {
        let mut framing = Framing::default();
        for chunk in chunks {
            framing.feed(chunk);
        }
        assert_eq!(framing.said_goodbye(), goodbye, "{chunks:?}");
    }

    #[test]
    fn framing_tells_goodbye_from_a_cut() {
        let message = [header(5), b"hello".to_vec()].concat();
        let goodbye = header(0);
        let all = [message.clone(), goodbye.clone()].concat();
        check(&[], false);
        check(&[&message], false);
        // Cut in the middle of a header, of a payload.
        check(&[&message[..20]], false);
        check(&[&message[..50]], false);
        check(&[&all], true);
        // Byte by byte.
        let bytes: Vec<&[u8]> = all.chunks(1).collect();
        check(&bytes, true);
        // A payload of zeros is not a goodbye.
        let zeros = [header(HEADER_BYTES as u64), vec![0; HEADER_BYTES]].concat();
        check(&[&zeros], false);
    }
}
