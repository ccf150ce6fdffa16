//! Fork choice: the heaviest chain that holds the safety point.

use crate::params::Params;
use crate::view::{ChainView, ViewEntry};
use crate::vote::SafetyPoint;

/// The outcome of [`fork_choice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForkChoice {
    /// Stay on the local head (it is the best candidate).
    Keep,
    /// Switch to this head, unwinding `reorg_depth` local blocks.
    Switch {
        /// The new head.
        head: ViewEntry,
        /// Local blocks above the common ancestor (0: a pure extension).
        reorg_depth: u64,
    },
    /// The best candidate would unwind more than the mutable range (or shares
    /// nothing with the local chain within it): refused and reported.
    TooDeep {
        /// The refused head.
        head: ViewEntry,
    },
}

/// Picks the head to follow among the local chain and the candidates' views:
/// only chains holding the safety point count (none holds it → keep), the
/// highest cumulative difficulty wins, ties to the higher signature.
pub fn fork_choice<'a>(
    params: &Params,
    local: &ChainView,
    safety: Option<&SafetyPoint>,
    candidates: impl IntoIterator<Item = &'a ChainView>,
) -> ForkChoice {
    let holds = |v: &ChainView| safety.is_none_or(|s| v.contains(&s.entry.root));
    let best = candidates
        .into_iter()
        .filter(|v| holds(v))
        .max_by(|a, b| a.head().preference(b.head()));
    let Some(best) = best else {
        return ForkChoice::Keep;
    };
    let mine = local.head();
    if best.head().root == mine.root || best.head().preference(mine).is_le() && holds(local) {
        return ForkChoice::Keep;
    }
    match best.common_ancestor(local) {
        Some(ancestor) => {
            let reorg_depth = mine.number.saturating_sub(ancestor.number);
            if reorg_depth > params.mutable_range {
                ForkChoice::TooDeep {
                    head: best.head().clone(),
                }
            } else {
                ForkChoice::Switch {
                    head: best.head().clone(),
                    reorg_depth,
                }
            }
        }
        None => ForkChoice::TooDeep {
            head: best.head().clone(),
        },
    }
}
