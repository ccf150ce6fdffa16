//! One completed pass of process B, evaluated: the vote, the endorsement of
//! what peers already found safe, and the fork choice — the order every
//! caller (the simulator, tau-node) must follow, in one place.

use std::collections::BTreeMap;

use cid::Cid;
use tau_ipld::Blockstore;
use tau_state::Executor;

use crate::oracle::{clique_fault_tolerance, Message};
use crate::params::Params;
use crate::safety::{views_relation, SafetyTracker, SafetyUpdate};
use crate::view::{is_ancestor, ChainView, ValidatedRoots, ViewEntry};
use crate::vote::{endorsed_point, safety_point, SafetyPoint};
use crate::{fork_choice, ForkChoice};

/// What a node collected in one pass.
#[derive(Debug, Clone, Copy)]
pub struct Pass<'a, P> {
    /// The node itself (it votes with its own view).
    pub local: &'a P,
    /// The node's own chain view.
    pub own_view: &'a ChainView,
    /// The peers' validated views collected in this pass.
    pub views: &'a BTreeMap<P, ChainView>,
    /// The latest answer of each peer read as a CBC message.
    pub messages: &'a BTreeMap<P, Message<P>>,
    /// The safety point each peer last reported, as found on its view.
    pub reports: &'a BTreeMap<P, ViewEntry>,
    /// Known mining peers, the node excluded.
    pub known_mining: usize,
}

/// What [`evaluate_pass`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassOutcome {
    /// Candidate safety points refused because they would revert the current one.
    pub conflicts: usize,
    /// Which head to follow.
    pub choice: ForkChoice,
}

/// Evaluates a completed pass: (1) the TAU vote rule over the views (the
/// node's own included), with the clique oracle's fault tolerance attached
/// and, if `require_clique`, required; (2) adoption of a point enough peers
/// report as safe ([`endorsed_point`]); (3) the fork choice among the views
/// under the resulting safety point. `tracker` is updated; the caller
/// applies the returned [`ForkChoice`]. Ancestry is judged from the views,
/// then from `chain`'s store along the links of `validated` states only.
pub fn evaluate_pass<P: Ord + Clone, BS: Blockstore>(
    params: &Params,
    chain: &Executor<BS>,
    validated: &ValidatedRoots,
    tracker: &mut SafetyTracker,
    pass: Pass<'_, P>,
) -> PassOutcome {
    let mut conflicts = 0;
    let mut views = pass.views.clone();
    views.insert(pass.local.clone(), pass.own_view.clone());
    let known = pass.known_mining + 1;
    let relation = |old: &ViewEntry, new: &ViewEntry| {
        views_relation(&views, old, new).or_else(|| is_ancestor(chain, validated, old, &new.root))
    };

    if let Ok(Some(mut point)) = safety_point(params, known, &views) {
        let mut messages: Vec<Message<P>> = pass.messages.values().cloned().collect();
        messages.push(Message {
            sender: pass.local.clone(),
            estimate: pass.own_view.head().root,
            seen: pass
                .messages
                .iter()
                .map(|(p, m)| (p.clone(), m.estimate))
                .collect(),
        });
        let target = point.entry.root;
        let agrees = |root: &Cid| {
            views.values().any(|v| match (v.get(root), v.get(&target)) {
                (Some(r), Some(t)) => r.number >= t.number,
                _ => false,
            })
        };
        point.fault_tolerance = clique_fault_tolerance(&messages, agrees);
        if !params.require_clique || point.fault_tolerance.is_some() {
            if let SafetyUpdate::Conflict(_) = tracker.update_with(point, relation) {
                conflicts += 1;
            }
        }
    }

    let mut reports = pass.reports.clone();
    if let Some(mine) = tracker.current() {
        reports.insert(pass.local.clone(), mine.entry.clone());
    }
    if let Some(entry) = endorsed_point(params, known, &reports, relation) {
        let endorsed = SafetyPoint {
            entry,
            support: 0,
            traversed: views.len(),
            fault_tolerance: None,
        };
        if let SafetyUpdate::Conflict(_) = tracker.update_with(endorsed, relation) {
            conflicts += 1;
        }
    }

    let choice = fork_choice(params, pass.own_view, tracker.current(), views.values());
    PassOutcome { conflicts, choice }
}
