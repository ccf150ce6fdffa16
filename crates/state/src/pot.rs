//! Proof of Transaction: integer-only rules (`docs/src/formats/pot.md`: libTAU HEAD,
//! with BLAKE2b-256 as the hash and constants scaled to `Params::block_time`).
//!
//! * generation signature: `g(n) = BLAKE2b-256(g(n−1) ‖ miner address)`;
//! * hit: the first 8 bytes of `g(n)` read little-endian (as Nxt and libTAU);
//! * power: `⌊log2(nonce + 2)⌋` of the miner's nonce before the block (its
//!   transaction count, mining included);
//! * required interval: `hit / base target / power + 1`, clamped to
//!   `[min_interval, max_interval]`, measured from the previous block and using
//!   the previous block's base target;
//! * base target: libTAU's rule around the average of the last
//!   `adjust_window` block times, with 335/300 and 265/300 written as
//!   `block_time · 67/60` and `block_time · 53/60`;
//! * cumulative difficulty grows by `⌊2^64 / base target⌋`.

use std::cmp::Ordering;

use tau_keys::Address;

use crate::block::Block;
use crate::digest::Digest;
use crate::params::{ChainId, Params};

/// The generation signature of the genesis block: BLAKE2b-256 of the chain id.
pub fn genesis_generation_signature(chain_id: &ChainId) -> Digest {
    Digest::of(&[chain_id.as_str().as_bytes()])
}

/// The next generation signature: BLAKE2b-256(previous ‖ miner address).
pub fn generation_signature(previous: &Digest, miner: &Address) -> Digest {
    Digest::of(&[previous.as_bytes(), miner.as_bytes()])
}

/// The hit of a generation signature: its first 8 bytes, little-endian.
pub fn hit(generation_signature: &Digest) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&generation_signature.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// A miner's power from its nonce (transaction count): `⌊log2(nonce + 2)⌋ ≥ 1`.
pub fn real_power(nonce: u64) -> u64 {
    u64::from(nonce.saturating_add(2).ilog2())
}

/// Seconds a miner must wait after the previous block:
/// `hit / base_target / power + 1`, clamped to the params' interval bounds.
pub fn required_interval(params: &Params, hit: u64, base_target: u64, power: u64) -> u64 {
    let raw = hit / base_target.max(1) / power.max(1) + 1;
    raw.clamp(params.min_interval, params.max_interval)
}

/// The base target of a block at `timestamp` after a block with base target
/// `previous_bt` at `previous_time`, whose `adjust_window`-th ancestor was at
/// `ancestor_time` (`None` while the chain is shorter than the window).
///
/// Unchanged if the elapsed time reaches `max_interval` or there is no
/// ancestor. Otherwise, with `avg = (previous_time − ancestor_time) / window`
/// (0 if not positive) and `T = block_time`:
/// `avg > T`: `bt / T · min(avg, T·67/60)`; else
/// `bt − bt / 100 · 64 / T · (T − max(avg, T·53/60))` (γ = 64/100). The integer
/// division order is libTAU's. The result is kept in `2..=u64::MAX/2`.
pub fn next_base_target(
    params: &Params,
    previous_bt: u64,
    previous_time: u64,
    ancestor_time: Option<u64>,
    timestamp: u64,
) -> u64 {
    let Some(ancestor_time) = ancestor_time else {
        return previous_bt;
    };
    if timestamp.saturating_sub(previous_time) >= params.max_interval {
        return previous_bt;
    }
    let t = u128::from(params.block_time);
    let bt = u128::from(previous_bt);
    let avg = u128::from(previous_time.saturating_sub(ancestor_time) / params.adjust_window);
    let next = if avg > t {
        let upper = t * u128::from(params.max_ratio.num) / u128::from(params.max_ratio.den);
        bt / t * avg.min(upper)
    } else {
        let lower = t * u128::from(params.min_ratio.num) / u128::from(params.min_ratio.den);
        let step = bt / u128::from(params.gamma.den) * u128::from(params.gamma.num) / t;
        bt.saturating_sub(step * (t - avg.max(lower)))
    };
    let capped = next.clamp(2, u128::from(u64::MAX / 2));
    u64::try_from(capped).unwrap_or(u64::MAX / 2)
}

/// The difficulty a block adds: `⌊2^64 / base_target⌋` (`base_target ≥ 2`).
pub fn difficulty(base_target: u64) -> u64 {
    let d = (1u128 << 64) / u128::from(base_target.max(2));
    u64::try_from(d).unwrap_or(u64::MAX)
}

/// Fork preference between two heads: the higher cumulative difficulty wins;
/// at equal difficulty the higher signature (as a big-endian number) wins
/// (the TAU design note). `Greater` means `a` is preferred.
pub fn fork_preference(a: &Block, b: &Block) -> Ordering {
    a.cumulative_difficulty()
        .cmp(&b.cumulative_difficulty())
        .then_with(|| a.signature.as_bytes().cmp(b.signature.as_bytes()))
}

#[cfg(test)]
mod tests {
    //! Expected values are computed by hand from the formulas of
    //! `docs/src/formats/pot.md` (libTAU HEAD) with mainnet's T = 300 s.
    use super::*;

    fn mainnet() -> Params {
        Params::mainnet()
    }

    #[test]
    fn base_target_up_when_blocks_are_slow() {
        let p = mainnet();
        let bt = 1_000_000_000_000;
        // avg 400 > 300: clamped to 335: 1e12/300 = 3_333_333_333, × 335.
        assert_eq!(
            next_base_target(&p, bt, 1200, Some(0), 1300),
            1_116_666_666_555
        );
        // avg 310: × 310.
        assert_eq!(
            next_base_target(&p, bt, 930, Some(0), 1000),
            1_033_333_333_230
        );
    }

    #[test]
    fn base_target_down_when_blocks_are_fast() {
        let p = mainnet();
        let bt = 1_000_000_000_000;
        // step = 1e12/100*64/300 = 2_133_333_333.
        // avg 200 < 265: × (300 − 265) = 35.
        assert_eq!(next_base_target(&p, bt, 600, Some(0), 700), 925_333_333_345);
        // avg 280: × 20.
        assert_eq!(next_base_target(&p, bt, 840, Some(0), 900), 957_333_333_340);
        // avg exactly 300 leaves it unchanged.
        assert_eq!(next_base_target(&p, bt, 900, Some(0), 1000), bt);
    }

    #[test]
    fn base_target_frozen_cases_and_cap() {
        let p = mainnet();
        let bt = 1_000_000_000_000;
        // No ancestor yet.
        assert_eq!(next_base_target(&p, bt, 100, None, 200), bt);
        // Elapsed ≥ max_interval (1800).
        assert_eq!(next_base_target(&p, bt, 1200, Some(0), 3000), bt);
        // Ancestor not before previous: avg 0 → the largest downward step.
        assert_eq!(next_base_target(&p, bt, 50, Some(60), 100), 925_333_333_345);
        // Cap at u64::MAX / 2.
        let high = u64::MAX / 2;
        assert_eq!(next_base_target(&p, high, 1200, Some(0), 1300), high);
        // Floor at 2.
        assert_eq!(next_base_target(&p, 2, 600, Some(0), 700), 2);
    }

    #[test]
    fn hit_is_little_endian_first_eight_bytes() {
        let mut g = [0u8; 32];
        g[0] = 1;
        g[7] = 0x80;
        g[8] = 0xff;
        assert_eq!(hit(&Digest(g)), 0x8000_0000_0000_0001);
    }

    #[test]
    fn power_is_floor_log2_of_nonce_plus_two() {
        let cases = [
            (0, 1),
            (1, 1),
            (2, 2),
            (5, 2),
            (6, 3),
            (14, 4),
            (u64::MAX, 63),
        ];
        for (nonce, power) in cases {
            assert_eq!(real_power(nonce), power, "nonce {nonce}");
        }
    }

    #[test]
    fn interval_vectors() {
        let p = mainnet();
        let bt = p.genesis_base_target; // 9_517_607_212_509_560
                                        // 2^63 / bt = 969; + 1.
        assert_eq!(required_interval(&p, 1 << 63, bt, 1), 970);
        // power 3: 969 / 3 = 323; + 1.
        assert_eq!(required_interval(&p, 1 << 63, bt, 3), 324);
        // Clamped below and above.
        assert_eq!(required_interval(&p, 0, bt, 1), 60);
        assert_eq!(required_interval(&p, u64::MAX, bt, 1), 1800); // 1938 + 1
    }

    #[test]
    fn difficulty_vectors() {
        // 2^64 / 9_517_607_212_509_560 = 1938.
        assert_eq!(difficulty(9_517_607_212_509_560), 1938);
        assert_eq!(difficulty(2), 1 << 63);
        assert_eq!(difficulty(u64::MAX / 2), 2);
    }
}
