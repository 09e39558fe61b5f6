//! A stable hash for alert ids and dedup keys.
//!
//! Alert ids must not change between runs, machines or Rust releases (a replay must give the
//! same ids), so they cannot use `std`'s `DefaultHasher` (unspecified algorithm) or a randomly
//! keyed hasher. FNV-1a is specified, tiny and fast enough for alerts (which are rare); 128 bits
//! make accidental collisions between dedup keys negligible.

/// FNV-1a, 128 bits, over length-prefixed fields so that `("ab", "c")` and `("a", "bc")` differ.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StableHasher(u128);

const OFFSET_BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

impl StableHasher {
    pub(crate) fn new() -> Self {
        Self(OFFSET_BASIS)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }

    /// Adds one field: its length (8 bytes, little endian), then its bytes.
    pub(crate) fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes(&(bytes.len() as u64).to_le_bytes());
        self.bytes(bytes);
        self
    }

    pub(crate) fn finish(&self) -> u128 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // FNV-1a 128 of the empty input is the offset basis; of "a" a published test vector.
        assert_eq!(StableHasher::new().finish(), OFFSET_BASIS);
        let mut h = StableHasher::new();
        h.bytes(b"a");
        assert_eq!(h.finish(), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }

    #[test]
    fn fields_are_delimited() {
        let a = StableHasher::new().field(b"ab").field(b"c").finish();
        let b = StableHasher::new().field(b"a").field(b"bc").finish();
        assert_ne!(a, b);
    }
}
