//! Which stabilization rule to run.

/// The stabilization rule (`docs/src/trustme.md`, "Stabilization").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StabilityRule {
    /// TR-2018-02 §3.4 (the default). minAL = the minimum attestation level
    /// of the main-chain units from the tip back to a majority of the tip
    /// round's attestors (those with level ≥ AL(tip)). The last stable unit
    /// L moves to its MC child F when:
    /// * case 1, no other child of L is the best parent of another unit:
    ///   minAL **>** level(F);
    /// * case 2, else: maxUL **<** minAL, maxUL the largest level in the
    ///   alt branches (those children and all their best-child descendants).
    Tr,
    /// TrustNote beta1 `updateStableMcFlag`: min over **TrustME** MC units
    /// only (none → not stable); case 1 when L has no other best child,
    /// non-strict (`≥`); case 2 keeps only alt-branch units with a parent of
    /// lower attestation level (literal SQL) and is strict.
    TrustNote,
}

/// Parameters of the main chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Params {
    /// The stabilization rule.
    pub rule: StabilityRule,
}

impl Params {
    /// TR-2018-02 rules.
    pub fn mainnet() -> Self {
        Self {
            rule: StabilityRule::Tr,
        }
    }

    /// TR-2018-02 rules (the main chain has no size knobs).
    pub fn devnet() -> Self {
        Self::mainnet()
    }

    /// The TrustNote code's rules, for comparison and replaying TrustNote data.
    pub fn trustnote() -> Self {
        Self {
            rule: StabilityRule::TrustNote,
        }
    }
}
