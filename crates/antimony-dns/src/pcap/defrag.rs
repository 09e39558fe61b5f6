//! IPv4 and IPv6 fragment reassembly, bounded.
//!
//! At most [`MAX_DATAGRAMS`] datagrams are rebuilt at once, each from at most
//! [`MAX_FRAGMENTS`] fragments and 65,535 bytes; the oldest is evicted to make room, and
//! reported. Overlapping fragments are accepted, the later bytes winning (captures rarely
//! hold the attacks where this matters, and DNS detection reads the result anyway).

use std::net::IpAddr;

/// Datagrams being rebuilt at once.
pub(super) const MAX_DATAGRAMS: usize = 256;
/// Fragments per datagram.
pub(super) const MAX_FRAGMENTS: usize = 64;
/// The largest datagram payload IP can carry.
const MAX_PAYLOAD: usize = 65_535;

/// What identifies the fragments of one datagram (RFC 791, RFC 8200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub protocol: u8,
}

/// A datagram that never completed.
#[derive(Debug)]
pub(super) struct Incomplete {
    pub key: Key,
    pub fragments: u64,
    pub first_packet: u64,
    pub last_packet: u64,
}

#[derive(Debug)]
struct Datagram {
    key: Key,
    data: Vec<u8>,
    /// Byte ranges received, `[start, end)`.
    ranges: Vec<(usize, usize)>,
    /// Payload length, known once the last fragment (more-fragments clear) arrived.
    total: Option<usize>,
    first_packet: u64,
    last_packet: u64,
}

/// What adding a fragment did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Added {
    /// Held until the rest arrives.
    Held,
    /// The datagram is whole: its payload, and the number of fragments it was made of.
    Complete(Vec<u8>, u64),
    /// The fragment cannot be part of a datagram (why).
    Refused(&'static str),
}

#[derive(Debug, Default)]
pub(super) struct Defrag {
    datagrams: Vec<Datagram>,
}

impl Defrag {
    /// Adds the fragment at byte `offset` of its datagram's payload. Datagrams evicted to
    /// make room are appended to `evicted`.
    pub fn add(
        &mut self,
        key: Key,
        offset: usize,
        more: bool,
        payload: &[u8],
        packet: u64,
        evicted: &mut Vec<Incomplete>,
    ) -> Added {
        let end = offset + payload.len();
        if end > MAX_PAYLOAD {
            return Added::Refused("fragment ends beyond the 65,535 bytes a datagram can hold");
        }
        if more && !payload.len().is_multiple_of(8) {
            return Added::Refused("a fragment other than the last is not a multiple of 8 bytes");
        }
        let index = match self.datagrams.iter().position(|d| d.key == key) {
            Some(i) => i,
            None => {
                if self.datagrams.len() >= MAX_DATAGRAMS {
                    let oldest = self
                        .datagrams
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, d)| d.first_packet)
                        .map_or(0, |(i, _)| i);
                    let d = self.datagrams.swap_remove(oldest);
                    evicted.push(d.incomplete());
                }
                self.datagrams.push(Datagram {
                    key,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    first_packet: packet,
                    last_packet: packet,
                });
                self.datagrams.len() - 1
            }
        };
        let d = &mut self.datagrams[index];
        if d.ranges.len() >= MAX_FRAGMENTS {
            let d = self.datagrams.swap_remove(index);
            evicted.push(d.incomplete());
            return Added::Refused("more than 64 fragments for one datagram; dropped");
        }
        if !more {
            if d.total.is_some_and(|t| t != end) {
                return Added::Refused("two last fragments of different lengths");
            }
            d.total = Some(end);
        }
        if d.data.len() < end {
            d.data.resize(end, 0);
        }
        d.data[offset..end].copy_from_slice(payload);
        d.ranges.push((offset, end));
        d.last_packet = packet;
        if d.is_complete() {
            let d = self.datagrams.swap_remove(index);
            let fragments = d.ranges.len() as u64;
            let mut data = d.data;
            if let Some(total) = d.total {
                data.truncate(total);
            }
            return Added::Complete(data, fragments);
        }
        Added::Held
    }

    /// Every datagram still incomplete, oldest first; the table is emptied.
    pub fn drain(&mut self) -> Vec<Incomplete> {
        let mut all: Vec<Incomplete> = self.datagrams.drain(..).map(|d| d.incomplete()).collect();
        all.sort_by_key(|d| d.first_packet);
        all
    }
}

impl Datagram {
    fn is_complete(&mut self) -> bool {
        let Some(total) = self.total else {
            return false;
        };
        self.ranges.sort_unstable();
        let mut covered = 0;
        for &(start, end) in &self.ranges {
            if start > covered {
                return false;
            }
            covered = covered.max(end);
        }
        covered >= total
    }

    fn incomplete(self) -> Incomplete {
        Incomplete {
            key: self.key,
            fragments: self.ranges.len() as u64,
            first_packet: self.first_packet,
            last_packet: self.last_packet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> Key {
        Key {
            src: "192.0.2.1".parse().expect("valid test input"),
            dst: "192.0.2.2".parse().expect("valid test input"),
            id,
            protocol: 17,
        }
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut d = Defrag::default();
        let mut evicted = Vec::new();
        assert_eq!(
            d.add(key(1), 16, false, b"xyz", 1, &mut evicted),
            Added::Held
        );
        assert_eq!(
            d.add(key(1), 8, true, b"abcdefgh", 2, &mut evicted),
            Added::Held
        );
        // Another datagram between them does not mix in.
        assert_eq!(
            d.add(key(2), 0, true, b"12345678", 3, &mut evicted),
            Added::Held
        );
        let data = b"ABCDEFGHabcdefghxyz".to_vec();
        assert_eq!(
            d.add(key(1), 0, true, b"ABCDEFGH", 4, &mut evicted),
            Added::Complete(data, 3)
        );
        assert!(evicted.is_empty());
        assert_eq!(d.drain().len(), 1);
    }

    #[test]
    fn bounded() {
        let mut d = Defrag::default();
        let mut evicted = Vec::new();
        for id in 0..(MAX_DATAGRAMS as u32 + 10) {
            assert_eq!(
                d.add(key(id), 0, true, b"abcdefgh", u64::from(id), &mut evicted),
                Added::Held
            );
        }
        assert_eq!(evicted.len(), 10);
        assert_eq!(evicted[0].key.id, 0);
        assert_eq!(d.drain().len(), MAX_DATAGRAMS);
        assert!(matches!(
            d.add(key(1), 65_530, false, b"abcdefgh", 1, &mut evicted),
            Added::Refused(_)
        ));
        assert!(matches!(
            d.add(key(1), 0, true, b"abc", 1, &mut evicted),
            Added::Refused(_)
        ));
        let mut refused = false;
        for i in 0..=MAX_FRAGMENTS {
            if let Added::Refused(_) =
                d.add(key(2), 8 * (i + 1), true, b"abcdefgh", 1, &mut evicted)
            {
                refused = true;
            }
        }
        assert!(refused);
    }
}
