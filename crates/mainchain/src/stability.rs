//! Stabilization (TR-2018-02 §3.4; TrustNote `updateStableMcFlag` as an
//! option), advanced from the last stable MC unit each time the tip moves.
//!
//! minAL depends only on the tip; the alt branches of the last stable unit L
//! are read from per-unit subtree maxima kept up to date on insert, so one
//! check costs O(MC units from the tip back to a majority) + O(children of L).

use tau_ipld::Blockstore;

use crate::chain::MainChain;
use crate::order::StableMci;
use crate::params::StabilityRule;

impl<BS: Blockstore> MainChain<BS> {
    /// minAL: the minimum attestation level of the MC units from the tip
    /// back to the one where the tip's attestation level was reached (the
    /// tip's best-parent chain is the MC, so those carry a majority of the
    /// tip round's attestors). TrustNote counts TrustME MC units only and
    /// may find none.
    pub(crate) fn min_mc_al(&self) -> Option<u32> {
        let from = self.wl(self.tip);
        // Levels rise along the MC; scan back from the tip (the segment is
        // read anyway, and a binary search over the whole MC would touch
        // cold memory at every step once the chain is long).
        let mut start = self.mc.len();
        while start > 0
            && self
                .mc
                .get(start - 1)
                .is_some_and(|&u| self.level(u) >= from)
        {
            start -= 1;
        }
        let segment = self.mc.get(start..).unwrap_or(&[]);
        match self.params.rule {
            StabilityRule::Tr => segment.iter().map(|&u| self.wl(u)).min(),
            StabilityRule::TrustNote => segment
                .iter()
                .filter(|&&u| self.dag.is_attestation(u))
                .map(|&u| self.wl(u))
                .min(),
        }
    }

    /// Whether the MC child of the last stable unit is stable now.
    pub(crate) fn next_is_stable(&self, min_al: Option<u32>) -> bool {
        let Some(min_al) = min_al else {
            return false;
        };
        let next = self.last_stable as usize + 1;
        let (Some(&l), Some(&f)) = (self.mc.get(next - 1), self.mc.get(next)) else {
            return false;
        };
        let level_f = self.level(f);
        let alt = self.dag.best_children(l).filter(|&c| c != f);
        match self.params.rule {
            StabilityRule::Tr => {
                // Children that are nobody's best parent cannot compete (TR case 2, first sentence).
                let max_ul = alt
                    .filter(|&c| self.dag.best_children(c).next().is_some())
                    .map(|c| self.max_sub[c as usize])
                    .max();
                match max_ul {
                    None => min_al > level_f,
                    Some(max_ul) => max_ul < min_al,
                }
            }
            StabilityRule::TrustNote => {
                let mut any = false;
                let mut max_alt = 0;
                for c in alt {
                    any = true;
                    max_alt = max_alt.max(self.max_kept_sub[c as usize]);
                }
                if any {
                    min_al > max_alt
                } else {
                    min_al >= level_f
                }
            }
        }
    }

    /// Advances the stable point as far as the current tip allows.
    pub(crate) fn stabilize(&mut self) -> Vec<StableMci> {
        let min_al = self.min_mc_al();
        let mut events = Vec::new();
        while self.next_is_stable(min_al) {
            events.push(self.mark_next_stable());
        }
        events
    }
}
