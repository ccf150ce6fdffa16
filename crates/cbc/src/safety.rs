//! The node's safety point: it only moves forward along one chain.

use std::collections::BTreeMap;

use crate::view::{ChainView, ViewEntry};
use crate::vote::SafetyPoint;

/// What [`SafetyTracker::update`] did with a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SafetyUpdate {
    /// The first safety point, or one that descends from the current one.
    Advanced,
    /// The candidate is the current point or one of its ancestors.
    Unchanged,
    /// The candidate is not on the current point's chain: refused, reported.
    Conflict(Box<SafetyPoint>),
    /// The views do not show how the candidate relates to the current point
    /// (it lies beyond them): refused until they do.
    Unrelated,
}

/// Holds the safety point and refuses any candidate that would revert it.
#[derive(Debug, Clone, Default)]
pub struct SafetyTracker {
    current: Option<SafetyPoint>,
}

impl SafetyTracker {
    /// A tracker with no safety point yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current safety point.
    pub fn current(&self) -> Option<&SafetyPoint> {
        self.current.as_ref()
    }

    /// Offers a candidate computed from `views`: adopted only if it descends
    /// from (or is) the current point on one of the views.
    pub fn update<P>(
        &mut self,
        candidate: SafetyPoint,
        views: &BTreeMap<P, ChainView>,
    ) -> SafetyUpdate {
        self.update_with(candidate, |old, new| views_relation(views, old, new))
    }

    /// Offers a candidate; `relation(old, new)` says whether `old` is `new` or
    /// one of its ancestors (`None`: unknown). Adopted only when it descends
    /// from the current point.
    pub fn update_with(
        &mut self,
        candidate: SafetyPoint,
        relation: impl Fn(&ViewEntry, &ViewEntry) -> Option<bool>,
    ) -> SafetyUpdate {
        let Some(current) = &self.current else {
            self.current = Some(candidate);
            return SafetyUpdate::Advanced;
        };
        let (old, new) = (&current.entry, &candidate.entry);
        if old.root == new.root {
            // Same state: keep the fresher figures, and any tolerance computed.
            let fault_tolerance = candidate.fault_tolerance.or(current.fault_tolerance);
            if candidate.support > 0 {
                self.current = Some(SafetyPoint {
                    fault_tolerance,
                    ..candidate
                });
            }
            return SafetyUpdate::Unchanged;
        }
        if new.number < old.number {
            return match relation(new, old) {
                Some(true) => SafetyUpdate::Unchanged,
                Some(false) => SafetyUpdate::Conflict(Box::new(candidate)),
                None => SafetyUpdate::Unrelated,
            };
        }
        match relation(old, new) {
            Some(true) => {
                self.current = Some(candidate);
                SafetyUpdate::Advanced
            }
            Some(false) => SafetyUpdate::Conflict(Box::new(candidate)),
            None => SafetyUpdate::Unrelated,
        }
    }
}

/// Whether `old` is `new` or an ancestor of it, as far as `views` show: a view
/// holding both answers; a view holding `new` and reaching back past `old`'s
/// number without it says no.
pub fn views_relation<P>(
    views: &BTreeMap<P, ChainView>,
    old: &ViewEntry,
    new: &ViewEntry,
) -> Option<bool> {
    if old.root == new.root {
        return Some(true);
    }
    if old.number >= new.number {
        // A different state at the same height or above cannot be an ancestor.
        return Some(false);
    }
    let mut answer = None;
    for view in views.values() {
        if !view.contains(&new.root) {
            continue;
        }
        if view.contains(&old.root) {
            return Some(true);
        }
        if view
            .entries()
            .last()
            .is_some_and(|e| e.number <= old.number)
        {
            answer = Some(false);
        }
    }
    answer
}
