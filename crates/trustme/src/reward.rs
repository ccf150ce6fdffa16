//! Attestation rewards (TR-2018-02 §2.2, §4.7): per round, 90 % to the PoW
//! attestors by their share of the round's stable main-chain TrustME units,
//! 10 % and every rounding remainder to the foundation.

use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_keys::Address;

/// One payment of a coinbase list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct CoinbaseEntry {
    /// Who is paid.
    pub address: Address,
    /// Notes.
    pub amount: u64,
}

/// A round's reward list: attestors in priority order, the foundation last.
pub type Coinbase = Vec<CoinbaseEntry>;

/// Splits `total` notes: the entry for `(address, count)` gets
/// ⌊total · share_bps · count / (10,000 · Σcount)⌋ (integer arithmetic,
/// 128-bit intermediates); the foundation gets everything else, so the list
/// sums to `total` exactly. Attestors with a zero count get no entry; with
/// Σcount = 0 everything goes to the foundation.
///
/// ```
/// use tau_keys::Address;
/// use tau_trustme::split_reward;
/// let (a, b, f) = (Address::new([1; 20]), Address::new([2; 20]), Address::new([9; 20]));
/// let list = split_reward(1_000, &[(a, 2), (b, 1)], f, 9_000);
/// assert_eq!(list.iter().map(|e| e.amount).collect::<Vec<_>>(), vec![600, 300, 100]);
/// ```
pub fn split_reward(
    total: u64,
    counts: &[(Address, u64)],
    foundation: Address,
    share_bps: u32,
) -> Coinbase {
    let sum: u128 = counts.iter().map(|&(_, c)| u128::from(c)).sum();
    let share = u128::from(share_bps.min(10_000));
    let mut list = Coinbase::new();
    let mut paid: u64 = 0;
    if sum > 0 {
        for &(address, count) in counts.iter().filter(|(_, c)| *c > 0) {
            let amount = u128::from(total) * share * u128::from(count) / (10_000 * sum);
            // amount ≤ total, so it fits.
            let amount = u64::try_from(amount).unwrap_or(0);
            paid = paid.saturating_add(amount);
            list.push(CoinbaseEntry { address, amount });
        }
    }
    list.push(CoinbaseEntry {
        address: foundation,
        amount: total.saturating_sub(paid),
    });
    list
}
