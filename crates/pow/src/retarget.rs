//! Digishield v3 difficulty retargeting as Zcash's `pow.cpp` computes it
//! (`docs/src/formats/equihash.md`, "Retargeting"): the mean of the last `window` targets, scaled by the damped and
//! bounded median-time-past timespan over the same window.
//!
//! A pure function of the block history: no clock, no I/O, integer arithmetic only.

use crate::error::{Error, Result};
use crate::target::Target;
use core::num::{NonZeroU32, NonZeroUsize};
use ruint::aliases::U256;

/// Percentages are out of this.
const PERCENT: i128 = 100;

/// Parameters of the Digishield v3 retarget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetargetParams {
    /// Target block spacing in seconds.
    pub spacing_secs: NonZeroU32,
    /// Blocks whose targets are averaged (Zcash: 17).
    pub window: NonZeroUsize,
    /// Blocks in a median-time-past (Zcash: 11).
    pub median_span: NonZeroUsize,
    /// The timespan moves `1/damping` of the way from the expected to the actual (Zcash: 4).
    pub damping: NonZeroU32,
    /// The bounded timespan is at most `100 + max_adjust_down_pct` percent of the expected
    /// one (Zcash: 32), so the target grows by at most that much per block.
    pub max_adjust_down_pct: u32,
    /// The bounded timespan is at least `100 - max_adjust_up_pct` percent of the expected one
    /// (Zcash: 16), so the target shrinks by at most that much per block.
    pub max_adjust_up_pct: u32,
    /// The easiest target allowed: the result is capped to it, and history bits above it are
    /// rejected.
    pub pow_limit: Target,
}

/// `NonZeroU32` for a constant; never falls back for the nonzero literals used here.
const fn nonzero_u32(value: u32) -> NonZeroU32 {
    match NonZeroU32::new(value) {
        Some(value) => value,
        None => NonZeroU32::MIN,
    }
}

/// `NonZeroUsize` for a constant; never falls back for the nonzero literals used here.
const fn nonzero_usize(value: usize) -> NonZeroUsize {
    match NonZeroUsize::new(value) {
        Some(value) => value,
        None => NonZeroUsize::MIN,
    }
}

impl RetargetParams {
    /// Zcash mainnet before Blossom: 150 s blocks, window 17, median of 11, damping 4,
    /// 32 % down / 16 % up, limit bits `0x1f07ffff`.
    #[must_use]
    pub const fn zcash() -> Self {
        RetargetParams {
            spacing_secs: nonzero_u32(150),
            window: nonzero_usize(17),
            median_span: nonzero_usize(11),
            damping: nonzero_u32(4),
            max_adjust_down_pct: 32,
            max_adjust_up_pct: 16,
            pow_limit: Target::pow_limit_zcash(),
        }
    }

    /// TAU mainnet: Zcash's rule with TAU's 300 s blocks and TrustNote's limit `0x1f7fffff`.
    #[must_use]
    pub const fn mainnet() -> Self {
        RetargetParams {
            spacing_secs: nonzero_u32(300),
            pow_limit: Target::pow_limit_trustnote(),
            ..Self::zcash()
        }
    }

    /// Small and fast, for tests and simulations: 1 s blocks, TrustNote's limit.
    #[must_use]
    pub const fn devnet() -> Self {
        RetargetParams {
            spacing_secs: nonzero_u32(1),
            pow_limit: Target::pow_limit_trustnote(),
            ..Self::zcash()
        }
    }

    /// Blocks [`next_target`] needs to retarget (`window + 1`); with fewer it returns the limit.
    #[must_use]
    pub const fn min_history(&self) -> usize {
        self.window.get().saturating_add(1)
    }

    /// Blocks [`next_target_strict`] needs (`window + median_span`): the window, the block
    /// before it, and enough earlier blocks for that block's full median-time-past.
    #[must_use]
    pub const fn full_history(&self) -> usize {
        self.window.get().saturating_add(self.median_span.get())
    }
}

/// The target for the block after `history`, as Zcash's `GetNextWorkRequired` computes it.
///
/// `history` is `(timestamp, compact bits)` per block, oldest first, ending with the parent
/// of the new block; only its last [`RetargetParams::full_history`] entries are read. With
/// fewer than [`RetargetParams::min_history`] blocks the result is the limit, as in Zcash.
/// With fewer than the full history the earliest median-time-past uses the blocks there are,
/// as Zcash does near genesis.
///
/// The result is exact; the new block's header carries its [`Target::to_compact`], as Zcash
/// returns `GetCompact` of it.
///
/// ```
/// use tau_pow::{next_target, RetargetParams};
///
/// let params = RetargetParams::zcash();
/// // 28 blocks, one every 150 s, all at 0x1b09f600 (= 2550 · 2^200, a multiple of 17 · 150).
/// let history: Vec<(i64, u32)> = (0..28).map(|i| (150 * i, 0x1b09f600)).collect();
/// assert_eq!(next_target(&history, &params)?.to_compact(), 0x1b09f600);
/// // Too short to retarget: the limit.
/// assert_eq!(next_target(&history[..17], &params)?, params.pow_limit);
/// # Ok::<(), tau_pow::Error>(())
/// ```
///
/// # Errors
/// - [`Error::NonMonotonic`]`(i)`: `history[i]` has an earlier timestamp than `history[i - 1]`
///   (checked over the blocks read; equal timestamps are allowed);
/// - [`Error::InvalidBits`]: a block of the window has bits that are negative, zero,
///   overflowing or above the limit; or the result would be a zero target.
pub fn next_target(history: &[(i64, u32)], params: &RetargetParams) -> Result<Target> {
    if history.len() < params.min_history() {
        return Ok(params.pow_limit);
    }
    retarget(history, params)
}

/// [`next_target`], but a history shorter than [`RetargetParams::full_history`] is an error
/// instead of the limit or a partial median.
///
/// # Errors
/// [`Error::ShortHistory`], and those of [`next_target`].
pub fn next_target_strict(history: &[(i64, u32)], params: &RetargetParams) -> Result<Target> {
    let needed = params.full_history();
    if history.len() < needed {
        return Err(Error::ShortHistory {
            needed,
            got: history.len(),
        });
    }
    retarget(history, params)
}

/// Digishield v3 over a history of at least `window + 1` blocks.
fn retarget(history: &[(i64, u32)], params: &RetargetParams) -> Result<Target> {
    let window = params.window.get();
    let short = || Error::ShortHistory {
        needed: params.min_history(),
        got: history.len(),
    };
    // The parent, and the block just before the window (Zcash's `pindexFirst`).
    let last = history.len().checked_sub(1).ok_or_else(short)?;
    let first = last.checked_sub(window).ok_or_else(short)?;
    let span_back = params.median_span.get() - 1;
    check_monotonic(history, first.saturating_sub(span_back))?;

    let mean = mean_target(history.get(first + 1..).unwrap_or_default(), params)?;

    let actual = i128::from(median_time_past(history, last, span_back))
        - i128::from(median_time_past(history, first, span_back));
    let expected = i128::from(params.spacing_secs.get()) * window as i128;
    let damped = expected + (actual - expected) / i128::from(params.damping.get());
    let min_span = expected * (PERCENT - i128::from(params.max_adjust_up_pct)) / PERCENT;
    let max_span = expected * (PERCENT + i128::from(params.max_adjust_down_pct)) / PERCENT;
    let bounded = damped.max(min_span).min(max_span);

    // Division first, as Zcash does. `expected` ≥ 1 and `bounded` ≤ 1.32·expected fit in u128.
    let expected = u256_from_u128(u128::try_from(expected).unwrap_or(u128::MAX));
    let bounded = u256_from_u128(u128::try_from(bounded).unwrap_or(0));
    // A product past 2^256 is past any limit, so saturating gives the same capped result.
    let scaled = Target::new((mean / expected).saturating_mul(bounded));
    let target = scaled.min(params.pow_limit);
    if target.as_u256().is_zero() {
        return Err(Error::InvalidBits {
            bits: 0,
            why: "retarget produced a zero target",
        });
    }
    Ok(target)
}

/// `NonMonotonic(i)` for the first `history[i]` (i > `from`) earlier than `history[i - 1]`.
fn check_monotonic(history: &[(i64, u32)], from: usize) -> Result<()> {
    for (i, pair) in history.windows(2).enumerate().skip(from) {
        if let [(earlier, _), (later, _)] = pair {
            if later < earlier {
                return Err(Error::NonMonotonic(i + 1));
            }
        }
    }
    Ok(())
}

/// ⌊Σ targets / n⌋ over `blocks`, without overflow: Σ(t / n) + ⌊Σ(t mod n) / n⌋.
fn mean_target(blocks: &[(i64, u32)], params: &RetargetParams) -> Result<U256> {
    let n = U256::from_limbs([blocks.len() as u64, 0, 0, 0]);
    if n.is_zero() {
        return Err(Error::ShortHistory {
            needed: params.min_history(),
            got: 0,
        });
    }
    let mut quotients = U256::ZERO;
    let mut remainders = U256::ZERO;
    for &(_, bits) in blocks {
        let (quotient, remainder) = Target::from_compact(bits, &params.pow_limit)?
            .as_u256()
            .div_rem(n);
        // Neither sum can overflow: Σ(t / n) ≤ max t, Σ(t mod n) < n².
        quotients = quotients.saturating_add(quotient);
        remainders = remainders.saturating_add(remainder);
    }
    Ok(quotients.saturating_add(remainders / n))
}

/// Median of the timestamps of `history[end - span_back ..= end]` (fewer near the start),
/// taking the upper middle of an even count, as `CBlockIndex::GetMedianTimePast` does.
fn median_time_past(history: &[(i64, u32)], end: usize, span_back: usize) -> i64 {
    let start = end.saturating_sub(span_back);
    let mut times: Vec<i64> = history
        .get(start..=end)
        .unwrap_or_default()
        .iter()
        .map(|&(time, _)| time)
        .collect();
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// A `u128` as a 256-bit integer.
const fn u256_from_u128(value: u128) -> U256 {
    U256::from_limbs([value as u64, (value >> 64) as u64, 0, 0])
}
