//! [`StableHasher`]: the one hash that must never change.
//!
//! Alert ids, stateful detector keys and the routing of fields groupings must be the same in
//! every process, on every machine and across Rust releases (a replay gives the same ids; a
//! key reaches the same worker in every process), so they cannot use `std`'s
//! `DefaultHasher` (unspecified algorithm) or a randomly keyed hasher. FNV-1a is specified,
//! tiny and fast enough; 128 bits make accidental collisions between alert ids negligible,
//! and [`StableHasher::finish64`] folds them for keys and routing.

/// FNV-1a, 128 bits, over length-prefixed fields so that `("ab", "c")` and `("a", "bc")`
/// differ.
#[derive(Clone, Copy, Debug)]
pub struct StableHasher(u128);

const OFFSET_BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

impl Default for StableHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl StableHasher {
    /// A hasher with nothing hashed yet.
    pub const fn new() -> Self {
        Self(OFFSET_BASIS)
    }

    #[inline]
    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }

    /// Adds one field: its length (8 bytes, little endian), then its bytes.
    #[inline]
    pub fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes(&(bytes.len() as u64).to_le_bytes());
        self.bytes(bytes);
        self
    }

    /// The 128-bit hash (alert ids).
    pub fn finish(&self) -> u128 {
        self.0
    }

    /// The hash folded to 64 bits (keys, routing): both halves mixed, so `hash % workers`
    /// is well spread.
    pub fn finish64(&self) -> u64 {
        (self.0 as u64) ^ ((self.0 >> 64) as u64)
    }

    /// The folded 64-bit hash of a list of fields.
    pub fn hash64(fields: &[&[u8]]) -> u64 {
        let mut h = Self::new();
        for field in fields {
            h.field(field);
        }
        h.finish64()
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
        assert_eq!(
            StableHasher::hash64(&[b"ab", b"c"]),
            StableHasher::new().field(b"ab").field(b"c").finish64()
        );
    }
}
