//! The deterministic data of the reference vectors (`docs/src/formats/hamt.md`, "Reference vectors"), so
//! that anyone can rebuild the published roots and benchmark on the same keys.
//!
//! Key `i` is the `i`-th splitmix64 draw as 8 bytes big-endian; value `i` is
//! `i as u64`. With seed 1, 1,000,000 entries and bit width 5 the root is
//! `bafy2bzacea3dk62ugdzlwrxh26dackljx5flvqbnq773a6rflfqjvhhq3swl6`.
//!
//! ```
//! use tau_hamt::{vectors, Config, Hamt};
//! use tau_ipld::MemoryBlockstore;
//! let store = MemoryBlockstore::new();
//! let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, Config::with_bit_width(5)?);
//! map.extend(vectors::keys(1, 1_000).into_iter().zip(0u64..))?;
//! assert_eq!(
//!     map.flush()?.to_string(),
//!     "bafy2bzacebgzr7gu73yf2qfwqtmemkfdzuszcwrzjskt5wccsbzlj5jysmdls"
//! );
//! # Ok::<(), tau_hamt::Error>(())
//! ```

/// The splitmix64 generator: a bijection of its 64-bit state, so its first
/// 2^64 outputs are distinct.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose first output follows the state `seed + 0x9E3779B97F4A7C15`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }
}

impl Iterator for SplitMix64 {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Some(z ^ (z >> 31))
    }
}

/// The first `n` keys of seed `seed`: splitmix64 draws as 8 bytes big-endian.
pub fn keys(seed: u64, n: usize) -> Vec<[u8; 8]> {
    SplitMix64::new(seed)
        .take(n)
        .map(u64::to_be_bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn first_draws_of_seed_1_match_the_spec() {
        let k = super::keys(1, 3);
        assert_eq!(k[0], 0x910a2dec89025cc1u64.to_be_bytes());
        assert_eq!(k[1], 0xbeeb8da1658eec67u64.to_be_bytes());
        assert_eq!(k[2], 0xf893a2eefb32555eu64.to_be_bytes());
    }
}
