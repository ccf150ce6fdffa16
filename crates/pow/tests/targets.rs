//! Compact bits, the acceptance rule and Digishield v3 retargeting
//! (`docs/src/formats/equihash.md`: targets, compact bits, retargeting), against known answers and hand-computed cases.

use proptest::prelude::*;
use ruint::aliases::U256;
use tau_pow::{
    decode_compact, meets_bits, meets_target, next_target, next_target_strict, pow_hash, Error,
    RetargetParams, Target,
};

/// A 256-bit integer from hex (test input, known to be valid).
fn hex(digits: &str) -> U256 {
    U256::from_str_radix(digits, 16).unwrap_or_else(|e| panic!("bad hex {digits}: {e}"))
}

fn invalid(bits: u32, why: &'static str) -> Error {
    Error::InvalidBits { bits, why }
}

// ---------------------------------------------------------------------------------------------
// Compact bits (§6)

#[test]
fn bitcoin_set_compact_vectors() {
    let vectors = include_str!("vectors/compact-bits.txt");
    let mut checked = 0;
    for line in vectors
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["decode", bits, value, compact, negative, overflow] => {
                let bits = u32::from_str_radix(bits, 16).unwrap();
                let decoded = decode_compact(bits);
                assert_eq!(decoded.negative, *negative == "1", "{line}");
                assert_eq!(decoded.overflow, *overflow == "1", "{line}");
                if *value != "-" {
                    assert_eq!(decoded.magnitude, hex(value), "{line}");
                    // GetCompact(fNegative): the magnitude's encoding, sign bit set if negative.
                    let sign = if decoded.negative { 0x0080_0000 } else { 0 };
                    let expected = u32::from_str_radix(compact, 16).unwrap();
                    assert_eq!(
                        Target::new(decoded.magnitude).to_compact() | sign,
                        expected,
                        "{line}"
                    );
                }
                // Exactly one of the acceptance rules applies, or none.
                let expected = if decoded.negative {
                    Err(invalid(bits, "negative"))
                } else if decoded.overflow {
                    Err(invalid(bits, "overflow"))
                } else if decoded.magnitude.is_zero() {
                    Err(invalid(bits, "zero"))
                } else {
                    Ok(Target::new(decoded.magnitude))
                };
                assert_eq!(Target::from_compact_unlimited(bits), expected, "{line}");
                checked += 1;
            }
            ["encode", value, compact] => {
                let compact = u32::from_str_radix(compact, 16).unwrap();
                assert_eq!(Target::new(hex(value)).to_compact(), compact, "{line}");
                checked += 1;
            }
            _ => panic!("malformed vector line: {line}"),
        }
    }
    assert_eq!(checked, 21);
}

#[test]
fn bitcoin_genesis_bits() {
    // size 0x1d = 29 bytes, mantissa 0x00ffff: 0xffff << 8·26 = 0xffff · 2^208.
    let target = Target::from_compact_unlimited(0x1d00_ffff).unwrap();
    assert_eq!(
        target.as_u256(),
        hex("00000000ffff0000000000000000000000000000000000000000000000000000")
    );
    assert_eq!(target.to_compact(), 0x1d00_ffff);
    let mut bytes = [0u8; 32];
    bytes[4] = 0xff;
    bytes[5] = 0xff;
    assert_eq!(target.to_be_bytes(), bytes);
    assert_eq!(Target::from_be_bytes(bytes), target);
}

#[test]
fn zcash_limit_bits() {
    // size 0x1f = 31 bytes, mantissa 0x07ffff: 0x07ffff << 8·28 = 0x07ffff · 2^224.
    let expected = hex("0007ffff00000000000000000000000000000000000000000000000000000000");
    let limit = Target::pow_limit_zcash();
    assert_eq!(limit.as_u256(), expected);
    assert_eq!(
        Target::from_compact(Target::ZCASH_LIMIT_BITS, &limit),
        Ok(limit)
    );
    assert_eq!(limit.to_compact(), 0x1f07_ffff);
    // Zcash's own powLimit 0007ffff ff…ff keeps the same three leading bytes.
    let zcash_pow_limit = hex("0007ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    assert_eq!(Target::new(zcash_pow_limit).to_compact(), 0x1f07_ffff);
}

#[test]
fn trustnote_limit_bits() {
    // §6 check: 0x1f7fffff ↔ 0x7fffff · 2^224, the bytes 00 7f ff ff 00 … 00.
    let limit = Target::pow_limit_trustnote();
    let mut bytes = [0u8; 32];
    bytes[1] = 0x7f;
    bytes[2] = 0xff;
    bytes[3] = 0xff;
    assert_eq!(limit.to_be_bytes(), bytes);
    assert_eq!(
        Target::from_compact(Target::TRUSTNOTE_LIMIT_BITS, &limit),
        Ok(limit)
    );
    assert_eq!(limit.to_compact(), 0x1f7f_ffff);
}

#[test]
fn rejected_bits() {
    let limit = Target::pow_limit_trustnote();
    for (bits, why) in [
        (0x01fe_dcba, "negative"), // size 1: word 0x7edcba >> 16 = 0x7e ≠ 0, sign bit set
        (0x0492_3456, "negative"), // word 0x123456 ≠ 0, sign bit set
        (0xff92_3456, "negative"), // negative and overflowing: negative is named first
        (0xff12_3456, "overflow"), // size 255 > 34
        (0x2101_0000, "overflow"), // word 0x010000 > 0xffff and size 33 > 32
        (0x2200_0100, "overflow"), // word 0x0100 > 0xff and size 34 > 33
        (0x2300_0001, "overflow"), // size 35 > 34
        (0x0000_0000, "zero"),     //
        (0x0100_3456, "zero"),     // size 1: 0x003456 >> 16 = 0
        (0x0080_0000, "zero"),     // word 0: the sign bit alone is not negative
        (0x0480_0000, "zero"),     // word 0 << 8
        (0x1f80_0000, "zero"),     // word 0 at the limit's size
        (0x2000_ffff, "above the limit"), // 0xffff · 2^232 > 0x7fffff · 2^224
        (0x1f80_0001, "negative"), // the limit's size with the sign bit
        (0x2000_8000, "above the limit"), // 0x8000 · 2^232 = 0x800000 · 2^224, one step above
    ] {
        assert_eq!(
            Target::from_compact(bits, &limit),
            Err(invalid(bits, why)),
            "{bits:#010x}"
        );
    }
    // The largest sizes that do not overflow.
    // 0x2100ffff: 0xffff << 8·30 = 0xffff · 2^240; 0x220000ff: 0xff << 8·31 = 0xff · 2^248.
    assert_eq!(
        Target::from_compact_unlimited(0x2100_ffff).map(|t| t.as_u256()),
        Ok(hex(
            "ffff000000000000000000000000000000000000000000000000000000000000"
        ))
    );
    assert_eq!(
        Target::from_compact_unlimited(0x2200_00ff).map(|t| t.as_u256()),
        Ok(hex(
            "ff00000000000000000000000000000000000000000000000000000000000000"
        ))
    );
    // Above the Zcash limit by one mantissa step: 0x080000 · 2^224 > 0x07ffff · 2^224.
    assert_eq!(
        Target::from_compact(0x1f08_0000, &Target::pow_limit_zcash()),
        Err(invalid(0x1f08_0000, "above the limit"))
    );
    // Below a limit, by a lot.
    assert_eq!(
        Target::from_compact(0x1d00_ffff, &Target::pow_limit_zcash()).map(|t| t.to_compact()),
        Ok(0x1d00_ffff)
    );
}

#[test]
fn encode_edges() {
    // 2^256 − 1: 32 bytes, mantissa 0xffffff has the sign bit, so 0xffff at size 33.
    assert_eq!(Target::MAX.to_compact(), 0x2100_ffff);
    assert_eq!(Target::new(U256::ZERO).to_compact(), 0);
    // 1: one byte, shifted into the mantissa's top byte.
    assert_eq!(Target::new(U256::from(1u64)).to_compact(), 0x0101_0000);
    // 0x7fffff fits; 0x800000 needs a leading zero byte.
    assert_eq!(
        Target::new(U256::from(0x7f_ffffu64)).to_compact(),
        0x037f_ffff
    );
    assert_eq!(
        Target::new(U256::from(0x80_0000u64)).to_compact(),
        0x0400_8000
    );
    // Truncation: 0x12345678 keeps 0x123456.
    assert_eq!(
        Target::new(U256::from(0x1234_5678u64)).to_compact(),
        0x0412_3456
    );
}

// ---------------------------------------------------------------------------------------------
// Acceptance (§5)

#[test]
fn pow_hash_is_plain_blake2b_256() {
    // RFC 7693 BLAKE2b with a 32-byte digest, no key, no personalization.
    assert_eq!(
        U256::from_be_bytes(pow_hash(b"abc")),
        hex("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
    );
    assert_eq!(
        U256::from_be_bytes(pow_hash(b"")),
        hex("0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
    );
}

#[test]
fn meets_target_is_less_or_equal() {
    let hash = hex("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    assert!(meets_target(b"abc", &Target::new(hash)));
    assert!(!meets_target(b"abc", &Target::new(hash - U256::from(1u64))));
    assert!(meets_target(b"abc", &Target::MAX));
    assert!(!meets_target(b"abc", &Target::pow_limit_trustnote()));
    // 0x2100bddd = 0xbddd · 2^240 < 0xbddd813c…; 0x2100bdde = 0xbdde · 2^240 > it.
    assert_eq!(meets_bits(b"abc", 0x2100_bddd, &Target::MAX), Ok(false));
    assert_eq!(meets_bits(b"abc", 0x2100_bdde, &Target::MAX), Ok(true));
    assert_eq!(
        meets_bits(b"abc", 0x2100_bdde, &Target::pow_limit_trustnote()),
        Err(invalid(0x2100_bdde, "above the limit"))
    );
    assert_eq!(
        meets_bits(b"abc", 0x0492_3456, &Target::MAX),
        Err(invalid(0x0492_3456, "negative"))
    );
}

// ---------------------------------------------------------------------------------------------
// Retargeting (§7), Zcash parameters unless stated.
//
// AWT = 17 · 150 = 2550 s; min = ⌊2550 · 84 / 100⌋ = 2142; max = ⌊2550 · 132 / 100⌋ = 3366.
// Most cases use constant bits 0x1b09f600: size 27, word 0x09f600 << 8·24 = 0x9f6 · 2^200
// = 2550 · 2^200, so mean / AWT = 2^200 exactly and the result is bounded · 2^200.

const BITS_2550: u32 = 0x1b09_f600;
const BASE: i64 = 1_700_000_000;

/// `m · 2^200`.
fn times_2_200(m: u64) -> Target {
    Target::new(U256::from(m) << 200usize)
}

/// 28 blocks (window 17 + median span 11), all with `bits`, whose median-time-past timespan
/// is `actual`: ts[i] = BASE + ⌊actual · clamp(i − 5, 0, 17) / 17⌋ is nondecreasing, so
/// MTP(last) = median(ts[17..=27]) = ts[22] = BASE + actual and
/// MTP(first, index 10) = median(ts[0..=10]) = ts[5] = BASE.
fn history(actual: i64, bits: u32) -> Vec<(i64, u32)> {
    (0..28i64)
        .map(|i| (BASE + actual * (i - 5).clamp(0, 17) / 17, bits))
        .collect()
}

fn zcash_next(actual: i64) -> Result<Target, Error> {
    next_target(&history(actual, BITS_2550), &RetargetParams::zcash())
}

#[test]
fn retarget_table() {
    // actual | ⌊(actual − 2550) / 4⌋ toward zero | damped | bounded
    let cases: [(i64, u64); 12] = [
        (2550, 2550),  // exact spacing: 0 → 2550
        (1275, 2232),  // twice as fast: −1275/4 = −318.75 → −318 (floor would be 2231)
        (3000, 2662),  // 450/4 = 112.5 → 112
        (5100, 3187),  // twice as slow: 2550/4 = 637.5 → 637, within bounds
        (918, 2142),   // −1632/4 = −408 → 2142, exactly the minimum
        (915, 2142),   // −1635/4 = −408.75 → −408 → 2142 (floor would give 2141)
        (914, 2142),   // −1636/4 = −409 → 2141 < 2142 → clamped to 2142
        (0, 2142),     // all at once: −2550/4 = −637.5 → −637 → 1913 → clamped
        (5814, 3366),  // 3264/4 = 816 → 3366, exactly the maximum
        (5817, 3366),  // 3267/4 = 816.75 → 816 → 3366
        (5818, 3366),  // 3268/4 = 817 → 3367 > 3366 → clamped
        (25500, 3366), // ten times as slow: 22950/4 = 5737.5 → 5737 → 8287 → clamped
    ];
    for (actual, bounded) in cases {
        assert_eq!(
            zcash_next(actual),
            Ok(times_2_200(bounded)),
            "actual {actual}"
        );
    }
    // The strict variant agrees on a full history.
    for (actual, _) in cases {
        let history = history(actual, BITS_2550);
        assert_eq!(
            next_target_strict(&history, &RetargetParams::zcash()),
            next_target(&history, &RetargetParams::zcash())
        );
    }
    // Exact spacing keeps the bits.
    assert_eq!(zcash_next(2550).map(|t| t.to_compact()), Ok(BITS_2550));
}

#[test]
fn division_first_rounds_down() {
    // Bitcoin's 0x1d00ffff: T = 0xffff · 2^208 = 65535 · 2^208, exact spacing.
    // 65535 = 3·5·17·257 and 2550 = 2·3·5²·17, so T / 2550 = 257 · 2^207 / 5;
    // 257 ≡ 2 and 2^207 ≡ 2^3 ≡ 3 (mod 5), so 257 · 2^207 ≡ 1 (mod 5) and
    // ⌊T / 2550⌋ · 2550 = (257 · 2^207 − 1) · 510 = T − 510, since T = 257 · 2^207 · 510.
    let t = hex("00000000ffff0000000000000000000000000000000000000000000000000000");
    let expected = hex("00000000fffefffffffffffffffffffffffffffffffffffffffffffffffffe02");
    assert_eq!(expected, t - U256::from(510u64));
    let got = next_target(&history(2550, 0x1d00_ffff), &RetargetParams::zcash());
    assert_eq!(got, Ok(Target::new(expected)));
    // So the bits drift from 0x1d00ffff to 0x1d00fffe (top bytes ff fe ff → 0x00fffe, size 29).
    assert_eq!(got.map(|t| t.to_compact()), Ok(0x1d00_fffe));
}

#[test]
fn mean_of_targets_not_of_bits() {
    // 16 blocks of 2550 · 2^200 and one of 0x1c00b34c = 0xb34c << 8·25 = 45900 · 2^200
    // = 18 · 2550 · 2^200: mean = (16 + 18) · 2550 · 2^200 / 17 = 5100 · 2^200; exact spacing
    // gives 5100 · 2^200. (Averaging the compact integers, TrustNote's quirk, would not.)
    let mut blocks = history(2550, BITS_2550);
    blocks[20].1 = 0x1c00_b34c;
    assert_eq!(
        next_target(&blocks, &RetargetParams::zcash()),
        Ok(times_2_200(5100))
    );

    // Floor of the mean: one block of 0x1b09f601 = 2550 · 2^200 + 2^192. The sum is
    // 17 · 2550 · 2^200 + 2^192 and 2^192 ≡ (2^8)^24 ≡ 1 (mod 17), so
    // mean = 2550 · 2^200 + (2^192 − 1) / 17 and the result is
    // 2550 · (2^200 + ⌊(2^192 − 1) / (17 · 2550)⌋)
    // = 0x9f6000f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f08ac (Python big ints).
    let mut blocks = history(2550, BITS_2550);
    blocks[27].1 = 0x1b09_f601;
    let two_192_minus_1 = (U256::from(1u64) << 192usize) - U256::from(1u64);
    let expected = U256::from(2550u64)
        * ((U256::from(1u64) << 200usize) + two_192_minus_1 / U256::from(43_350u64));
    assert_eq!(
        expected,
        hex("9f6000f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f08ac")
    );
    assert_eq!(
        next_target(&blocks, &RetargetParams::zcash()),
        Ok(Target::new(expected))
    );
}

#[test]
fn capped_at_the_limit() {
    let params = RetargetParams::zcash();
    let limit = params.pow_limit.as_u256();
    // Slow blocks at the limit: ⌊L / 2550⌋ · 3366 ≈ 1.32 · L > L, so the result is L.
    assert_eq!(
        next_target(&history(25_500, Target::ZCASH_LIMIT_BITS), &params),
        Ok(params.pow_limit)
    );
    // Exact spacing at the limit loses L mod 2550 = 1792 (big-int): L − 1792, whose top bytes
    // 07 ff fe give 0x1f07fffe.
    let got = next_target(&history(2550, Target::ZCASH_LIMIT_BITS), &params);
    assert_eq!(limit % U256::from(2550u64), U256::from(1792u64));
    assert_eq!(got, Ok(Target::new(limit - U256::from(1792u64))));
    assert_eq!(got.map(|t| t.to_compact()), Ok(0x1f07_fffe));
}

#[test]
fn median_time_past_ignores_outliers() {
    // The last block claims the far future; MTP(last) is still ts[22].
    let mut blocks = history(2550, BITS_2550);
    blocks[27].0 = i64::MAX;
    assert_eq!(
        next_target(&blocks, &RetargetParams::zcash()),
        Ok(times_2_200(2550))
    );
    // Extreme but monotonic: the MTP span is 2^64 − 1 (i128, no overflow) → clamped to max.
    let blocks: Vec<(i64, u32)> = (0..28)
        .map(|i| (if i < 22 { i64::MIN } else { i64::MAX }, BITS_2550))
        .collect();
    assert_eq!(
        next_target(&blocks, &RetargetParams::zcash()),
        Ok(times_2_200(3366))
    );
}

#[test]
fn short_history() {
    let params = RetargetParams::zcash();
    assert_eq!(params.min_history(), 18);
    assert_eq!(params.full_history(), 28);
    // Fewer than 18 blocks: the limit, without reading them (Zcash's pindexFirst == NULL),
    // even if their bits and timestamps are bad.
    let bad: Vec<(i64, u32)> = (0..17).map(|i| (-i, 0xff12_3456)).collect();
    for len in [0, 1, 17] {
        assert_eq!(next_target(&bad[..len], &params), Ok(params.pow_limit));
        assert_eq!(
            next_target_strict(&bad[..len], &params),
            Err(Error::ShortHistory {
                needed: 28,
                got: len
            })
        );
    }

    // 18 blocks, ts[i] = 150 · i: first = index 0, MTP(first) = ts[0] = 0 (one block);
    // MTP(last) = median(ts[7..=17]) = ts[12] = 1800. actual = 1800:
    // −750/4 = −187.5 → −187 → 2363.
    let blocks: Vec<(i64, u32)> = (0..18).map(|i| (150 * i, BITS_2550)).collect();
    assert_eq!(next_target(&blocks, &params), Ok(times_2_200(2363)));
    assert_eq!(
        next_target_strict(&blocks, &params),
        Err(Error::ShortHistory {
            needed: 28,
            got: 18
        })
    );

    // 19 blocks: MTP(first = index 1) over ts[0..=1], an even count, takes the upper middle
    // ts[1] = 150 (as GetMedianTimePast); MTP(last) = median(ts[8..=18]) = ts[13] = 1950.
    // actual = 1800 → 2363 again (the lower middle, 0, would give 1950 → −150 → 2400).
    let blocks: Vec<(i64, u32)> = (0..19).map(|i| (150 * i, BITS_2550)).collect();
    assert_eq!(next_target(&blocks, &params), Ok(times_2_200(2363)));
}

#[test]
fn only_the_last_blocks_are_read() {
    let params = RetargetParams::zcash();
    // An older block with a later timestamp and bad bits, before the 28 read: ignored.
    let mut blocks = vec![(BASE + 1_000_000, 0xff12_3456)];
    blocks.extend(history(2550, BITS_2550));
    assert_eq!(next_target(&blocks, &params), Ok(times_2_200(2550)));
    assert_eq!(next_target_strict(&blocks, &params), Ok(times_2_200(2550)));
    // The block before the window (index 10 of 28) gives only its time, not its bits.
    let mut blocks = history(2550, BITS_2550);
    blocks[10].1 = 0;
    assert_eq!(next_target(&blocks, &params), Ok(times_2_200(2550)));
}

#[test]
fn non_monotonic_timestamps() {
    let params = RetargetParams::zcash();
    for i in [1, 20, 27] {
        let mut blocks = history(2550, BITS_2550);
        blocks[i].0 = blocks[i - 1].0 - 1;
        assert_eq!(next_target(&blocks, &params), Err(Error::NonMonotonic(i)));
        assert_eq!(
            next_target_strict(&blocks, &params),
            Err(Error::NonMonotonic(i))
        );
    }
    // Equal timestamps are allowed (actual 0 has many).
    assert_eq!(zcash_next(0), Ok(times_2_200(2142)));
}

#[test]
fn invalid_bits_in_the_window() {
    let params = RetargetParams::zcash();
    for (i, bits, why) in [
        (27, 0x0492_3456, "negative"),
        (11, Target::TRUSTNOTE_LIMIT_BITS, "above the limit"),
        (15, 0x0000_0000, "zero"),
        (20, 0xff12_3456, "overflow"),
    ] {
        let mut blocks = history(2550, BITS_2550);
        blocks[i].1 = bits;
        assert_eq!(next_target(&blocks, &params), Err(invalid(bits, why)));
    }
}

#[test]
fn zero_result_is_an_error() {
    // Targets of 1 (0x01010000): mean 1, ⌊1 / 2550⌋ = 0.
    assert_eq!(
        next_target(&history(2550, 0x0101_0000), &RetargetParams::zcash()),
        Err(invalid(0, "retarget produced a zero target"))
    );
}

#[test]
fn presets() {
    // devnet: AWT = 17 · 1 = 17; L = 0x7fffff · 2^224 with 0x7fffff = 8388607 ≡ 8 (mod 17)
    // (17 · 493447 = 8388599) and 2^224 ≡ 1 (mod 17), so exact spacing gives L − 8.
    let params = RetargetParams::devnet();
    let blocks: Vec<(i64, u32)> = (0..28).map(|i| (i, Target::TRUSTNOTE_LIMIT_BITS)).collect();
    let limit = Target::pow_limit_trustnote().as_u256();
    assert_eq!(
        next_target(&blocks, &params),
        Ok(Target::new(limit - U256::from(8u64)))
    );
    assert_eq!(RetargetParams::mainnet().spacing_secs.get(), 300);
    assert_eq!(
        RetargetParams::mainnet().pow_limit,
        Target::pow_limit_trustnote()
    );
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Any 256-bit value, often with leading zero bytes.
fn any_u256() -> impl Strategy<Value = U256> {
    (0usize..=32, any::<[u8; 32]>()).prop_map(|(zeros, mut bytes)| {
        bytes[..zeros].fill(0);
        U256::from_be_bytes(bytes)
    })
}

proptest! {
    #[test]
    fn compact_rounds_down_and_is_idempotent(value in any_u256()) {
        prop_assume!(!value.is_zero());
        let target = Target::new(value);
        let bits = target.to_compact();
        let decoded = Target::from_compact_unlimited(bits);
        prop_assert!(decoded.is_ok(), "{bits:#010x}");
        let decoded = decoded.unwrap();
        prop_assert!(decoded <= target);
        prop_assert_eq!(decoded.to_compact(), bits);
        // Only bytes past the two or three most significant are lost (two when the third
        // would set the sign bit).
        let kept = 8 * value.byte_len().saturating_sub(2);
        prop_assert!(target.as_u256() - decoded.as_u256() < (U256::from(1u64) << kept));
    }

    #[test]
    fn valid_bits_round_trip_by_value(bits in any::<u32>()) {
        if let Ok(target) = Target::from_compact_unlimited(bits) {
            prop_assert_eq!(Target::from_compact_unlimited(target.to_compact()), Ok(target));
        }
    }

    #[test]
    fn any_bits_decode_without_panic(bits in any::<u32>()) {
        let decoded = decode_compact(bits);
        let _ = Target::from_compact(bits, &Target::MAX);
        let _ = Target::from_compact(bits, &Target::pow_limit_trustnote());
        let _ = meets_bits(b"", bits, &Target::pow_limit_zcash());
        if let Ok(target) = Target::from_compact(bits, &Target::pow_limit_trustnote()) {
            prop_assert!(target <= Target::pow_limit_trustnote());
            prop_assert_eq!(target.as_u256(), decoded.magnitude);
        }
    }

    #[test]
    fn bytes_round_trip_and_order(a in any_u256(), b in any_u256()) {
        let (ta, tb) = (Target::new(a), Target::new(b));
        prop_assert_eq!(Target::from_be_bytes(ta.to_be_bytes()), ta);
        prop_assert_eq!(ta.cmp(&tb), ta.to_be_bytes().cmp(&tb.to_be_bytes()));
    }

    #[test]
    fn retarget_never_panics(
        steps in proptest::collection::vec((-5i64..2000, any::<u32>()), 0..40),
        valid_bits in any::<bool>(),
    ) {
        let mut time = BASE;
        let blocks: Vec<(i64, u32)> = steps
            .iter()
            .map(|&(step, bits)| {
                time += step;
                (time, if valid_bits { BITS_2550 } else { bits })
            })
            .collect();
        for params in [RetargetParams::zcash(), RetargetParams::devnet()] {
            if let Ok(target) = next_target(&blocks, &params) {
                prop_assert!(target <= params.pow_limit);
                prop_assert!(!target.as_u256().is_zero());
            }
            let strict = next_target_strict(&blocks, &params);
            if blocks.len() >= params.full_history() {
                prop_assert_eq!(strict, next_target(&blocks, &params));
            }
        }
    }

    #[test]
    fn retarget_stays_within_the_clamp(steps in proptest::collection::vec(0i64..2000, 28)) {
        // Constant target 2550 · 2^200: the result is bounded · 2^200 with 2142 ≤ bounded ≤ 3366.
        let mut time = BASE;
        let blocks: Vec<(i64, u32)> = steps
            .iter()
            .map(|&step| {
                time += step;
                (time, BITS_2550)
            })
            .collect();
        let target = next_target(&blocks, &RetargetParams::zcash());
        prop_assert!(target.is_ok());
        let target = target.unwrap();
        prop_assert!(target >= times_2_200(2142) && target <= times_2_200(3366));
        prop_assert!((target.as_u256() % (U256::from(1u64) << 200usize)).is_zero());
    }
}
