//! Attestation rewards issued per round (TR-2018-02 §2.2).
//!
//! TR: 500,000,000 MN over 30 years, 6.79 % of it in year 1, decaying year
//! by year (its Figure 2-1, whose values the text does not give). The table
//! here is the geometric decay that meets both numbers: year y (1-based)
//! issues ⌊500,000,000 · 0.0679 · r^(y−1)⌋ MN with r ≈ 0.944246 (the root of
//! 0.0679 · (1 − r^30)/(1 − r) = 1), the last year taking the rounding so
//! the sum is exactly 500,000,000 MN. Computed once offline; the logic only
//! reads the integers.

use crate::params::{Params, NOTES_PER_MN};

/// Yearly issuance in MN, years 1..=30 (sum 500,000,000; year 1 = 6.79 %).
pub const TR_ISSUANCE_MN: [u64; 30] = [
    33_950_000, 32_057_137, 30_269_811, 28_582_135, 26_988_556, 25_483_825, 24_062_989, 22_721_371,
    21_454_555, 20_258_369, 19_128_876, 18_062_356, 17_055_301, 16_104_392, 15_206_502, 14_358_672,
    13_558_113, 12_802_188, 12_088_410, 11_414_428, 10_778_023, 10_177_101, 9_609_683, 9_073_900,
    8_567_990, 8_090_287, 7_639_218, 7_213_298, 6_811_125, 6_431_389,
];

/// Notes issued as the attestation reward of `round` (1-based): the year's
/// issuance split evenly over its rounds, the remainder one note each to the
/// year's first rounds, so a year's rounds sum to the table exactly.
///
/// ```
/// use tau_trustme::{round_issuance, Params};
/// let p = Params::mainnet();
/// let year1: u64 = (1..=p.rounds_per_year).map(|r| round_issuance(&p, r)).sum();
/// assert_eq!(year1, 33_950_000 * 1_000_000);
/// assert_eq!(round_issuance(&p, 30 * p.rounds_per_year + 1), 0);
/// ```
pub fn round_issuance(params: &Params, round: u64) -> u64 {
    let Some(r) = round.checked_sub(1) else {
        return 0;
    };
    let per_year = params.rounds_per_year.max(1);
    let year = r / per_year;
    let Some(&mn) = usize::try_from(year)
        .ok()
        .and_then(|y| params.issuance_mn.get(y))
    else {
        return 0;
    };
    let total = u128::from(mn) * u128::from(NOTES_PER_MN);
    let per = total / u128::from(per_year);
    let rem = total % u128::from(per_year);
    let extra = u128::from(u128::from(r % per_year) < rem);
    u64::try_from(per + extra).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_tr() {
        let sum: u64 = TR_ISSUANCE_MN.iter().sum();
        assert_eq!(sum, 500_000_000);
        // 6.79 % in year 1, then strictly decaying.
        assert_eq!(TR_ISSUANCE_MN[0] * 10_000, 679 * 500_000_000);
        assert!(TR_ISSUANCE_MN.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn every_year_sums_exactly() {
        let p = Params::devnet();
        for (y, &mn) in TR_ISSUANCE_MN.iter().enumerate() {
            let first = y as u64 * p.rounds_per_year + 1;
            let s: u64 = (first..first + p.rounds_per_year)
                .map(|r| round_issuance(&p, r))
                .sum();
            assert_eq!(s, mn * NOTES_PER_MN);
        }
        assert_eq!(round_issuance(&p, 0), 0);
    }
}
