//! The TAU vote rule: the newest state on the chains of enough peers.

use std::collections::{BTreeMap, HashMap};

use cid::Cid;

use crate::params::Params;
use crate::view::{ChainView, ViewEntry};
use crate::{Error, Result};

/// A state that enough traversed peers hold on their chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyPoint {
    /// The safe state.
    pub entry: ViewEntry,
    /// Peers whose chains hold it.
    pub support: usize,
    /// Peers traversed (with a valid view).
    pub traversed: usize,
    /// The Casper-CBC clique oracle's fault tolerance for it, when computed:
    /// how many faulty peers (by count) it withstands.
    pub fault_tolerance: Option<u64>,
}

/// Applies the TAU vote rule to the views collected in one pass.
///
/// Needs views from at least [`Params::needed_peers`] of the `known_mining`
/// peers ([`Error::NotEnoughPeers`] otherwise). Among the states no older than
/// `mutable_range` blocks behind the newest head, a view supporting only the
/// states with at least `confirmations` blocks on top of them in it, returns the newest one
/// held by at least the threshold of the views — a share of all
/// `known_mining` peers by default, or of the views only
/// ([`ThresholdBase`](crate::ThresholdBase)); ties (possible only with a
/// threshold ≤ 1/2) go to more support, then to the fork preference, then
/// to the larger root bytes. `Ok(None)`: no state qualifies — keep collecting.
pub fn safety_point<P: Ord>(
    params: &Params,
    known_mining: usize,
    views: &BTreeMap<P, ChainView>,
) -> Result<Option<SafetyPoint>> {
    let needed = params.needed_peers(known_mining);
    if views.len() < needed {
        return Err(Error::NotEnoughPeers {
            traversed: views.len(),
            needed,
        });
    }
    let Some(tip) = views.values().map(|v| v.head().number).max() else {
        return Ok(None);
    };
    let horizon = tip.saturating_sub(params.mutable_range);
    let total = params.threshold_total(known_mining, views.len());
    let mut support: HashMap<Cid, (&ViewEntry, usize)> = HashMap::new();
    for view in views.values() {
        let deepest_supported = view.head().number.saturating_sub(params.confirmations);
        for entry in view.entries() {
            if entry.number < horizon {
                break;
            }
            if entry.number > deepest_supported {
                continue;
            }
            support.entry(entry.root).or_insert((entry, 0)).1 += 1;
        }
    }
    let best = support
        .into_values()
        .filter(|(_, count)| params.meets_threshold(*count, total))
        .max_by(|(a, ca), (b, cb)| {
            a.number
                .cmp(&b.number)
                .then(ca.cmp(cb))
                .then_with(|| a.preference(b))
                .then_with(|| a.root.to_bytes().cmp(&b.root.to_bytes()))
        });
    Ok(best.map(|(entry, count)| SafetyPoint {
        entry: entry.clone(),
        support: count,
        traversed: views.len(),
        fault_tolerance: None,
    }))
}

/// Peers needed to vouch for a safety point before a node adopts it from
/// their reports: one more than the faulty peers the threshold tolerates
/// (`known − ⌈threshold · known⌉ + 1`; 6 of 16 at 2/3), so at least one
/// honest peer found it safe by the vote rule.
pub fn endorsements_needed(params: &Params, known: usize) -> usize {
    let supermajority = (params.threshold.num as u128 * known as u128)
        .div_ceil(u128::from(params.threshold.den.max(1)));
    let supermajority = usize::try_from(supermajority).unwrap_or(known);
    known.saturating_sub(supermajority) + 1
}

/// The newest state that enough peers report as their safety point (or as
/// an ancestor of it): a node whose own passes lag adopts what others have
/// already found safe, instead of following a heavier chain that drops it.
///
/// `reports` maps each peer to the entry of its reported safety point (taken
/// from that peer's validated view); `relation(a, b)` says whether `a` is `b`
/// or an ancestor of it (`None`: unknown, counted as no).
pub fn endorsed_point<P: Ord>(
    params: &Params,
    known: usize,
    reports: &BTreeMap<P, ViewEntry>,
    relation: impl Fn(&ViewEntry, &ViewEntry) -> Option<bool>,
) -> Option<ViewEntry> {
    let needed = endorsements_needed(params, known);
    reports
        .values()
        .filter(|candidate| {
            reports
                .values()
                .filter(|r| relation(candidate, r) == Some(true))
                .count()
                >= needed
        })
        .max_by(|a, b| {
            a.number
                .cmp(&b.number)
                .then_with(|| a.root.to_bytes().cmp(&b.root.to_bytes()))
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endorsements_exceed_the_tolerated_faults() {
        let p = Params::devnet();
        assert_eq!(endorsements_needed(&p, 16), 6);
        assert_eq!(endorsements_needed(&p, 3), 2);
        assert_eq!(endorsements_needed(&p, 1), 1);
    }
}
