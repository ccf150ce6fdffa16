//! The simulation's omniscient observer: every validly mined state and its parent.

use std::collections::HashMap;

use cid::Cid;

/// Every state mined in the run (forged ones never enter), with its number and parent.
#[derive(Debug, Default)]
pub(crate) struct Observer {
    states: HashMap<Cid, (u64, Option<Cid>)>,
}

impl Observer {
    pub(crate) fn record(&mut self, root: Cid, number: u64, previous: Option<Cid>) {
        self.states.insert(root, (number, previous));
    }

    /// Whether `root` was validly mined.
    pub(crate) fn knows(&self, root: &Cid) -> bool {
        self.states.contains_key(root)
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub(crate) fn on_chain(&self, ancestor: &Cid, descendant: &Cid) -> bool {
        let Some(&(target, _)) = self.states.get(ancestor) else {
            return false;
        };
        let mut cursor = *descendant;
        loop {
            if cursor == *ancestor {
                return true;
            }
            match self.states.get(&cursor) {
                Some(&(number, Some(previous))) if number > target => cursor = previous,
                _ => return false,
            }
        }
    }
}
