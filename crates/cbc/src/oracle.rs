//! A Casper-CBC clique safety oracle over peers' answers (`docs/src/vote-rule.md`, "Casper-CBC estimate and clique oracle").
//!
//! Each peer's answer is read as a CBC message: its *estimate* is its head
//! state, its *justification* the heads it has itself collected from other
//! peers. For a candidate state B:
//!
//! 1. keep the peers whose estimate agrees with B (their chain holds B);
//!    less than half agreeing → no tolerance;
//! 2. join two of them when each has seen the other with an estimate that
//!    agrees with B (we hold each peer's latest message, which agrees, so no
//!    unseen conflicting message exists);
//! 3. W = the size of the largest clique (all weights 1); the fault tolerance
//!    is 2W − n, safe when positive.
//!
//! Exact cliques are searched for up to 64 agreeing peers; above that the
//! Turán bound ⌈n²/(n² − 2e)⌉ stands in for W, as the reference's Turán oracle does.

use std::collections::BTreeMap;

use cid::Cid;

/// One peer's answer read as a CBC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<P> {
    /// Who answered.
    pub sender: P,
    /// Its head state.
    pub estimate: Cid,
    /// The head it last collected from each other peer.
    pub seen: BTreeMap<P, Cid>,
}

/// The clique oracle's fault tolerance for `candidate` (`None` if not safe).
///
/// `agrees(root)` says whether the chain ending at `root` holds `candidate`
/// (unknown roots must answer `false`).
pub fn clique_fault_tolerance<P: Ord>(
    messages: &[Message<P>],
    agrees: impl Fn(&Cid) -> bool,
) -> Option<u64> {
    let total = messages.len();
    let agreeing: Vec<&Message<P>> = messages.iter().filter(|m| agrees(&m.estimate)).collect();
    if agreeing.len() * 2 < total || agreeing.is_empty() {
        return None;
    }
    let n = agreeing.len();
    let saw = |a: &Message<P>, b: &Message<P>| a.seen.get(&b.sender).is_some_and(&agrees);
    let mut adjacency = vec![Vec::with_capacity(n); n];
    let mut edges = 0usize;
    for (i, a) in agreeing.iter().enumerate() {
        for (j, b) in agreeing.iter().enumerate() {
            let linked = i != j && saw(a, b) && saw(b, a);
            if let Some(row) = adjacency.get_mut(i) {
                row.push(linked);
            }
            if linked && i < j {
                edges += 1;
            }
        }
    }
    let clique = if n <= 64 {
        max_clique(&adjacency)
    } else {
        turan_bound(n, edges)
    };
    let tolerance = (2 * clique).checked_sub(total)?;
    (tolerance > 0).then_some(tolerance as u64)
}

/// Size of the largest clique (Bron–Kerbosch with pivoting on 64-bit sets).
fn max_clique(adjacency: &[Vec<bool>]) -> usize {
    let n = adjacency.len().min(64);
    let neighbours: Vec<u64> = (0..n)
        .map(|i| {
            (0..n).fold(0u64, |set, j| {
                let linked = adjacency
                    .get(i)
                    .and_then(|r| r.get(j))
                    .copied()
                    .unwrap_or(false);
                if linked {
                    set | (1 << j)
                } else {
                    set
                }
            })
        })
        .collect();
    let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    let mut best = 0;
    expand(&neighbours, 0, all, 0, &mut best);
    best
}

fn expand(nb: &[u64], r_size: usize, mut p: u64, mut x: u64, best: &mut usize) {
    if p == 0 {
        if x == 0 {
            *best = (*best).max(r_size);
        }
        return;
    }
    if r_size + p.count_ones() as usize <= *best {
        return;
    }
    let pivot = (p | x).trailing_zeros() as usize;
    let mut candidates = p & !nb.get(pivot).copied().unwrap_or(0);
    while candidates != 0 {
        let v = candidates.trailing_zeros() as usize;
        let bit = 1u64 << v;
        let nv = nb.get(v).copied().unwrap_or(0);
        expand(nb, r_size + 1, p & nv, x & nv, best);
        p &= !bit;
        x |= bit;
        candidates &= !bit;
    }
}

/// Turán's lower bound on the largest clique of a graph with `n` vertices and `e` edges.
fn turan_bound(n: usize, e: usize) -> usize {
    let n2 = (n * n) as u128;
    let denominator = n2.saturating_sub(2 * e as u128).max(1);
    usize::try_from(n2.div_ceil(denominator))
        .unwrap_or(n)
        .min(n)
}

/// The Casper-CBC estimate over peers' latest messages: LMD-GHOST on the
/// block tree their views form. From the deepest state every view holds,
/// step to the child held by the most views (ties to the fork preference:
/// higher cumulative difficulty, then higher signature) until no view goes
/// further. `None` if the views share no state.
pub fn ghost_estimate<P>(views: &BTreeMap<P, crate::ChainView>) -> Option<crate::ViewEntry> {
    let first = views.values().next()?;
    // The newest state every view holds is where the walk starts.
    let mut current = first
        .entries()
        .iter()
        .find(|e| views.values().all(|v| v.contains(&e.root)))?
        .clone();
    loop {
        // Children of `current`: the entry one block above it in each view.
        let mut children: Vec<(crate::ViewEntry, usize)> = Vec::new();
        for view in views.values() {
            let entries = view.entries();
            let Some(pos) = entries.iter().position(|e| e.root == current.root) else {
                continue;
            };
            let Some(child) = pos.checked_sub(1).and_then(|p| entries.get(p)) else {
                continue;
            };
            match children.iter_mut().find(|(c, _)| c.root == child.root) {
                Some((_, n)) => *n += 1,
                None => children.push((child.clone(), 1)),
            }
        }
        let best = children
            .into_iter()
            .max_by(|(a, na), (b, nb)| na.cmp(nb).then_with(|| a.preference(b)));
        match best {
            Some((child, _)) => current = child,
            None => return Some(current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tau_ipld::block::{cid_of, RAW};

    fn root(i: u8) -> Cid {
        cid_of(RAW, &[i])
    }

    /// n peers, all with estimate `good`, each having seen the peers in `saw(i)`.
    fn messages(
        n: u8,
        estimate: impl Fn(u8) -> Cid,
        saw: impl Fn(u8, u8) -> bool,
    ) -> Vec<Message<u8>> {
        (0..n)
            .map(|i| Message {
                sender: i,
                estimate: estimate(i),
                seen: (0..n)
                    .filter(|&j| j != i && saw(i, j))
                    .map(|j| (j, estimate(j)))
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn everyone_agreeing_and_seen_tolerates_n() {
        let good = root(1);
        let m = messages(10, |_| good, |_, _| true);
        // W = 10, 2W − n = 10.
        assert_eq!(clique_fault_tolerance(&m, |r| *r == good), Some(10));
    }

    #[test]
    fn partial_views_give_the_clique_size() {
        let good = root(1);
        // 0..6 all saw each other; 6..10 saw nobody.
        let m = messages(10, |_| good, |i, j| i < 6 && j < 6);
        // W = 6: 2·6 − 10 = 2.
        assert_eq!(clique_fault_tolerance(&m, |r| *r == good), Some(2));
        // W = 5 of 10: 0, not safe.
        let m = messages(10, |_| good, |i, j| i < 5 && j < 5);
        assert_eq!(clique_fault_tolerance(&m, |r| *r == good), None);
    }

    #[test]
    fn disagreeing_majority_is_not_safe() {
        let (good, bad) = (root(1), root(2));
        let m = messages(9, |i| if i < 4 { good } else { bad }, |_, _| true);
        assert_eq!(clique_fault_tolerance(&m, |r| *r == good), None);
        // The 5 on `bad`: W = 5, 2·5 − 9 = 1.
        assert_eq!(clique_fault_tolerance(&m, |r| *r == bad), Some(1));
    }

    #[test]
    fn one_sided_sight_is_no_edge() {
        let good = root(1);
        // i saw j only when i < j: no pair saw each other.
        let m = messages(4, |_| good, |i, j| i < j);
        assert_eq!(clique_fault_tolerance(&m, |r| *r == good), None);
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn max_clique_matches_brute_force_on_small_graphs() {
        // Deterministic pseudo-random graphs on 9 vertices.
        let mut s = 12345u64;
        for _ in 0..50 {
            let n = 9;
            let mut adj = vec![vec![false; n]; n];
            for i in 0..n {
                for j in i + 1..n {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let e = !(s >> 33).is_multiple_of(3);
                    adj[i][j] = e;
                    adj[j][i] = e;
                }
            }
            let brute = (0u32..1 << n)
                .filter(|set| {
                    (0..n).all(|i| {
                        (0..n).all(|j| {
                            i == j || set & (1 << i) == 0 || set & (1 << j) == 0 || adj[i][j]
                        })
                    })
                })
                .map(|set| set.count_ones() as usize)
                .max()
                .unwrap();
            assert_eq!(max_clique(&adj), brute);
        }
    }

    #[test]
    fn turan_bound_is_a_lower_bound() {
        // Complete graph on 5: e = 10, bound = 25/(25−20) = 5.
        assert_eq!(turan_bound(5, 10), 5);
        // No edges: 1.
        assert_eq!(turan_bound(5, 0), 1);
    }
}
