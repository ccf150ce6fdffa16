//! Deposits (TR-2018-02 §2.3): a super node's deposit contract, its
//! silent-locking time and withdrawal.
//!
//! A `Message::Deposit` carries a [`DepositPayload`]. Opening (or topping
//! up) a contract needs payments in the same unit to the contract address
//! [`deposit_address`] of the author; their sum is the amount deposited,
//! once the [`Ledger`](crate::Ledger) accepted the payments (a deposit unit
//! whose payments fail opens nothing). Every TrustME unit and every refused
//! unit of the super node restarts its silent-locking time; a withdrawal is
//! valid only after `lock_rounds` rounds without either. The deposit is never
//! slashed (TR: "won't lose their deposit under any circumstances").

use std::collections::BTreeMap;

use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_keys::{blake2b_256_concat, Address};

use crate::params::Params;
use crate::{Error, Result};

/// The deposit contract message: open/top up (`withdraw == false`) or withdraw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct DepositPayload {
    /// Withdraw everything to the payout address (the other fields are ignored).
    pub withdraw: bool,
    /// Silent-locking time in rounds (≥ `Params::silent_lock_rounds`).
    pub lock_rounds: u64,
    /// Where the deposit goes back.
    pub payout_address: Address,
    /// Where the attestation rewards go.
    pub reward_address: Address,
}

impl DepositPayload {
    /// The canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(tau_ipld::canonical::encode("deposit payload", self)?)
    }

    /// Decodes a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(tau_ipld::canonical::decode_canonical(
            "deposit payload",
            bytes,
        )?)
    }
}

/// The contract address of a super node's deposit.
pub fn deposit_address(super_node: &Address) -> Address {
    let h = blake2b_256_concat(&[b"tau-trustme deposit", super_node.as_bytes()]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[..20]);
    Address::new(a)
}

/// One super node's deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deposit {
    /// Notes held.
    pub amount: u64,
    /// Silent-locking time in rounds.
    pub lock_rounds: u64,
    /// Where the deposit goes back.
    pub payout_address: Address,
    /// Where the rewards go.
    pub reward_address: Address,
    /// The last round with a deposit, a TrustME unit or a bad unit.
    pub last_activity: u64,
}

/// All deposits, keyed by super node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deposits {
    by_node: BTreeMap<Address, Deposit>,
}

impl Deposits {
    /// Opens or tops up `node`'s deposit with `amount` notes in `round`.
    pub fn open(
        &mut self,
        node: Address,
        payload: &DepositPayload,
        amount: u64,
        round: u64,
        params: &Params,
    ) -> Result<()> {
        if payload.lock_rounds < params.silent_lock_rounds {
            return Err(Error::LockTooShort {
                got: payload.lock_rounds,
                min: params.silent_lock_rounds,
            });
        }
        // A unit pays no commission unless it pays someone: an unfunded
        // deposit unit would open an entry for free, from any fresh key.
        if amount == 0 {
            return Err(Error::UnfundedDeposit(node));
        }
        let d = self.by_node.entry(node).or_insert(Deposit {
            amount: 0,
            lock_rounds: payload.lock_rounds,
            payout_address: payload.payout_address,
            reward_address: payload.reward_address,
            last_activity: round,
        });
        d.amount = d.amount.saturating_add(amount);
        d.lock_rounds = d.lock_rounds.max(payload.lock_rounds);
        d.last_activity = d.last_activity.max(round);
        Ok(())
    }

    /// Restarts `node`'s silent-locking time (a TrustME unit or a bad unit in `round`).
    pub fn touch(&mut self, node: &Address, round: u64) {
        if let Some(d) = self.by_node.get_mut(node) {
            d.last_activity = d.last_activity.max(round);
        }
    }

    /// Withdraws `node`'s whole deposit in `round`: returns (payout address,
    /// amount), or [`Error::DepositLocked`] before the lock has run out.
    pub fn withdraw(&mut self, node: &Address, round: u64) -> Result<(Address, u64)> {
        let d = self
            .by_node
            .get(node)
            .filter(|d| d.amount > 0)
            .ok_or(Error::NoDeposit(*node))?;
        let until = d.last_activity.saturating_add(d.lock_rounds);
        if round < until {
            return Err(Error::DepositLocked {
                author: *node,
                until,
            });
        }
        let out = (d.payout_address, d.amount);
        self.by_node.remove(node);
        Ok(out)
    }

    /// The deposit of `node`, if any.
    pub fn get(&self, node: &Address) -> Option<&Deposit> {
        self.by_node.get(node)
    }

    /// Notes deposited by `node`.
    pub fn balance(&self, node: &Address) -> u64 {
        self.by_node.get(node).map_or(0, |d| d.amount)
    }

    /// Where `node`'s rewards go: its contract's reward address, else itself.
    pub fn reward_address(&self, node: &Address) -> Address {
        self.by_node.get(node).map_or(*node, |d| d.reward_address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(lock: u64) -> DepositPayload {
        DepositPayload {
            withdraw: false,
            lock_rounds: lock,
            payout_address: Address::new([7; 20]),
            reward_address: Address::new([8; 20]),
        }
    }

    #[test]
    fn lock_is_reset_by_activity_and_withdrawal_waits_for_it() {
        let p = Params::devnet();
        let node = Address::new([1; 20]);
        let mut d = Deposits::default();
        assert!(matches!(
            d.open(node, &payload(p.silent_lock_rounds - 1), 5, 1, &p),
            Err(Error::LockTooShort { .. })
        ));
        d.open(node, &payload(p.silent_lock_rounds), 5, 1, &p)
            .unwrap();
        d.open(node, &payload(p.silent_lock_rounds), 7, 2, &p)
            .unwrap();
        assert_eq!(d.balance(&node), 12);
        assert_eq!(d.reward_address(&node), Address::new([8; 20]));
        d.touch(&node, 6);
        let until = 6 + p.silent_lock_rounds;
        assert!(matches!(
            d.withdraw(&node, until - 1),
            Err(Error::DepositLocked { until: u, .. }) if u == until
        ));
        assert_eq!(
            d.withdraw(&node, until).unwrap(),
            (Address::new([7; 20]), 12)
        );
        assert_eq!(d.balance(&node), 0);
        assert!(matches!(d.withdraw(&node, until), Err(Error::NoDeposit(_))));
        let payload_bytes = payload(3).encode().unwrap();
        assert_eq!(DepositPayload::decode(&payload_bytes).unwrap(), payload(3));
        assert_ne!(deposit_address(&node), node);
    }
}
