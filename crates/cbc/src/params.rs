//! Parameters of the safety rule and of process B.

use tau_state::Ratio;

use crate::{Error, Result};

/// What the vote threshold is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdBase {
    /// All known mining peers (the asker included): two safety points each
    /// backed by more than 2/3 of the same population share more than 1/3 of
    /// it. The default.
    Known,
    /// Only the peers traversed in the pass (the TAU design note read literally). A pass
    /// samples as few as half the peers, so two samples can hold different
    /// 2/3 majorities: under forking, nodes then adopt conflicting points.
    Traversed,
}

/// Parameters of the TAU vote rule, fork choice and the process-B planner.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Params {
    /// Share of traversed peers whose chains must hold a state for it to be
    /// safe (the TAU design note and cuitaixiang's drafts: 2/3; the test is
    /// `support · den ≥ num · traversed`).
    pub threshold: Ratio,
    /// Share of the known mining peers that must be traversed before a vote
    /// counts (the TAU design note: half).
    pub min_traversed: Ratio,
    /// Blocks a state must have on top of it in a peer's view before that
    /// view counts as support for it (a k-deep rule: states at the very tip
    /// flip with every fork and are never voted safe).
    pub confirmations: u64,
    /// Blocks behind the newest head within which a safety point may lie and
    /// a reorganization may reach (mainnet: one week of 300 s blocks).
    pub mutable_range: u64,
    /// Start a new pass when the known mining peers grew by this share
    /// (the TAU design note: 33 %).
    pub regrowth: Ratio,
    /// Start over after this many seconds without any connection (the TAU design note: 12 h).
    pub offline_restart: u64,
    /// What the threshold counts against.
    pub base: ThresholdBase,
    /// Also require a positive Casper-CBC clique-oracle fault tolerance before
    /// a state counts as safe (off by default: the TAU vote rule alone).
    pub require_clique: bool,
    /// Most peers in the peer table (see [`PeerTable`](crate::PeerTable)).
    pub max_peers: usize,
    /// Asks without an answer in a row after which a peer is dropped.
    pub max_failed_asks: u32,
    /// Seconds a dropped peer is refused before it may be learned again.
    pub drop_cooldown: u64,
    /// Seconds a pass waits for the proven miners it asked before voting
    /// with the answers it has.
    pub pass_timeout: u64,
}

impl Params {
    /// The TAU design note's values (`docs/src/vote-rule.md`, "Parameters"): 2/3 of at least half the mining peers, one week of
    /// 300 s blocks (2,016), restart on +33 % peers or 12 h offline.
    pub fn mainnet() -> Self {
        Self {
            threshold: Ratio::new(2, 3),
            min_traversed: Ratio::new(1, 2),
            confirmations: 6,
            mutable_range: 7 * 24 * 3600 / 300,
            regrowth: Ratio::new(33, 100),
            offline_restart: 12 * 3600,
            base: ThresholdBase::Known,
            require_clique: false,
            max_peers: 1024,
            max_failed_asks: 3,
            drop_cooldown: 600,
            pass_timeout: 30,
        }
    }

    /// A short mutable range (32 blocks), 6 confirmations and 3 s passes,
    /// for tests and local networks.
    pub fn devnet() -> Self {
        Self {
            mutable_range: 32,
            confirmations: 6,
            pass_timeout: 3,
            ..Self::mainnet()
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        let fail = |what| Err(Error::InvalidParams(what));
        if self.threshold.den == 0
            || self.threshold.num == 0
            || self.threshold.num > self.threshold.den
        {
            return fail("threshold must be in (0, 1]");
        }
        if self.min_traversed.den == 0 || self.min_traversed.num > self.min_traversed.den {
            return fail("min_traversed must be in [0, 1]");
        }
        if self.regrowth.den == 0 {
            return fail("regrowth denominator must be positive");
        }
        if self.confirmations >= self.mutable_range {
            return fail("confirmations must be below mutable_range");
        }
        if self.mutable_range == 0 {
            return fail("mutable_range must be positive");
        }
        if self.max_peers == 0 || self.max_failed_asks == 0 {
            return fail("max_peers and max_failed_asks must be positive");
        }
        Ok(())
    }

    /// The number the threshold is a share of, given `known` mining peers
    /// (the asker included) and `traversed` views.
    pub fn threshold_total(&self, known: usize, traversed: usize) -> usize {
        match self.base {
            ThresholdBase::Known => known.max(traversed),
            ThresholdBase::Traversed => traversed,
        }
    }

    /// Whether `support` of `total` meets the threshold.
    pub fn meets_threshold(&self, support: usize, total: usize) -> bool {
        total > 0
            && (support as u128) * u128::from(self.threshold.den)
                >= u128::from(self.threshold.num) * total as u128
    }

    /// Peers to traverse when `known` mining peers are known (at least one).
    pub fn needed_peers(&self, known: usize) -> usize {
        let num = u128::from(self.min_traversed.num) * known as u128;
        let den = u128::from(self.min_traversed.den.max(1));
        usize::try_from(num.div_ceil(den))
            .unwrap_or(usize::MAX)
            .max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_and_needed_peers() {
        let p = Params::devnet();
        p.validate().unwrap();
        Params::mainnet().validate().unwrap();
        assert_eq!(Params::mainnet().mutable_range, 2016);
        // 2/3 of 9 is 6; of 10 is 6.67 → 7.
        assert!(p.meets_threshold(6, 9));
        assert!(!p.meets_threshold(5, 9));
        assert!(!p.meets_threshold(6, 10));
        assert!(p.meets_threshold(7, 10));
        assert!(!p.meets_threshold(0, 0));
        // Half of 16 is 8; of 15 is 7.5 → 8.
        assert_eq!(p.needed_peers(16), 8);
        assert_eq!(p.needed_peers(15), 8);
        assert_eq!(p.needed_peers(0), 1);
    }
}
