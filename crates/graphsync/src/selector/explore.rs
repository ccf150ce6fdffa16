//! Selectors at run time: the state a traversal carries from node to node.
//!
//! This follows go-ipld-prime's `traversal/selector` semantics step for step,
//! because a requester and a responder must load the same links in the same
//! order: `interests` says which children to visit (none = all, in node order),
//! and `explore` gives the selector for one child (or nothing to do there).
//! ExploreRecursive replaces its edges with its sequence while the depth limit
//! lasts, and drops them once it is spent.
//!
//! State stays bounded (issue 20: a union inside a recursion used to double
//! the state at every level). Identical subselectors are compiled once and
//! shared ([`Sel::compile`] interns them), and every union built at run time
//! is flattened and deduplicated ([`union`]): a member equal to one already
//! there is dropped, and of two recursions with the same sequence and the same
//! current selector only the one with more depth left is kept (it explores a
//! superset). So a state is at most one node per distinct compiled subselector
//! per recursion level; [`Sel::weight`] measures it and the traversal refuses
//! states above [`Limits::max_selector_state`](crate::traversal::Limits).
//!
//! This is one deliberate difference from go-ipld-prime: go concatenates the
//! interests of identical union members and so visits such a child once per
//! copy; we visit it once. Honest selectors do not repeat union members.

use std::collections::HashMap;
use std::sync::Arc;

use super::{HamtLayout, RecursionLimit, Selector};

/// A compiled selector, shared between the frames of a traversal.
///
/// Nodes other than `Union` and `Recursive` are only ever made by
/// [`Sel::compile`], which interns them: two of them are equal exactly when
/// they are the same allocation.
#[derive(Debug)]
pub(crate) enum Sel {
    Matcher,
    All(Arc<Sel>),
    /// Fields in the order go-ipld-prime visits them (DAG-CBOR map order:
    /// length-first, then bytewise), and their names as interests, made once
    /// and shared by every frame that walks with this selector.
    Fields(Vec<(String, Arc<Sel>)>, Arc<[Interest]>),
    Index(i64, Arc<Sel>),
    Range(i64, i64, Arc<Sel>),
    Recursive {
        sequence: Arc<Sel>,
        current: Arc<Sel>,
        limit: RecursionLimit,
    },
    Edge,
    Union(Vec<Arc<Sel>>),
    Interpret(HamtLayout, Arc<Sel>),
}

/// One step from a node to a child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Field(String),
    Index(i64),
}

impl Segment {
    /// The segment as a list index (go parses string segments as decimal).
    fn index(&self) -> Option<i64> {
        match self {
            Segment::Field(s) => s.parse().ok(),
            Segment::Index(i) => Some(*i),
        }
    }

    /// The segment as a map key.
    fn name(&self) -> String {
        match self {
            Segment::Field(s) => s.clone(),
            Segment::Index(i) => i.to_string(),
        }
    }
}

/// A child a selector is interested in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    Field(String),
    Index(i64),
    /// List indexes `start..end` (go expands these eagerly; we do not).
    Range(i64, i64),
}

impl Sel {
    /// Compiles a parsed selector; equal subselectors share one node.
    pub(crate) fn compile(s: &Selector) -> Arc<Sel> {
        Sel::compile_interned(s, &mut HashMap::new())
    }

    fn compile_interned<'a>(
        s: &'a Selector,
        memo: &mut HashMap<&'a Selector, Arc<Sel>>,
    ) -> Arc<Sel> {
        if let Some(done) = memo.get(s) {
            return done.clone();
        }
        let sel = match s {
            Selector::Matcher => Arc::new(Sel::Matcher),
            Selector::ExploreAll { next } => Arc::new(Sel::All(Sel::compile_interned(next, memo))),
            Selector::ExploreFields { fields } => {
                let mut v: Vec<(String, Arc<Sel>)> = fields
                    .iter()
                    .map(|(k, s)| (k.clone(), Sel::compile_interned(s, memo)))
                    .collect();
                v.sort_by(|a, b| key_order(&a.0, &b.0));
                let names = v.iter().map(|(k, _)| Interest::Field(k.clone())).collect();
                Arc::new(Sel::Fields(v, names))
            }
            Selector::ExploreIndex { index, next } => {
                Arc::new(Sel::Index(*index, Sel::compile_interned(next, memo)))
            }
            Selector::ExploreRange { start, end, next } => {
                Arc::new(Sel::Range(*start, *end, Sel::compile_interned(next, memo)))
            }
            Selector::ExploreRecursive { limit, sequence } => {
                let seq = Sel::compile_interned(sequence, memo);
                Arc::new(Sel::Recursive {
                    sequence: seq.clone(),
                    current: seq,
                    limit: *limit,
                })
            }
            Selector::ExploreRecursiveEdge => Arc::new(Sel::Edge),
            Selector::ExploreUnion(m) => {
                let members: Vec<Arc<Sel>> =
                    m.iter().map(|s| Sel::compile_interned(s, memo)).collect();
                union(members).unwrap_or_else(|| Arc::new(Sel::Union(Vec::new())))
            }
            Selector::InterpretAs { layout, next } => {
                Arc::new(Sel::Interpret(*layout, Sel::compile_interned(next, memo)))
            }
        };
        memo.insert(s, sel.clone());
        sel
    }

    /// The size of a state: one per node, counting the members of unions and
    /// the current selector of recursions (made at run time), but not into
    /// other compiled nodes (shared with the compiled selector).
    pub(crate) fn weight(&self) -> usize {
        match self {
            Sel::Union(m) => 1 + m.iter().map(|s| s.weight()).sum::<usize>(),
            Sel::Recursive { current, .. } => 1 + current.weight(),
            _ => 1,
        }
    }

    /// The children to visit: `None` for all of them, in node order. A
    /// field selector's list is shared, not copied.
    pub(crate) fn interests(&self) -> Option<Arc<[Interest]>> {
        match self {
            Sel::Matcher | Sel::Edge => Some(Arc::from([])),
            Sel::All(_) => None,
            Sel::Fields(_, names) => Some(names.clone()),
            Sel::Index(i, _) => Some(Arc::from([Interest::Index(*i)])),
            Sel::Range(s, e, _) => Some(Arc::from([Interest::Range(*s, *e)])),
            Sel::Recursive { current, .. } => current.interests(),
            Sel::Union(members) => {
                let mut lists = Vec::new();
                for m in members {
                    let list = m.interests()?;
                    if !list.is_empty() {
                        lists.push(list);
                    }
                }
                if lists.len() == 1 {
                    return lists.pop();
                }
                Some(lists.iter().flat_map(|l| l.iter().cloned()).collect())
            }
            Sel::Interpret(_, next) => next.interests(),
        }
    }

    /// The selector for the child at `seg` of a node (`is_list` says which
    /// kind of node), or `None` if the child is not explored.
    pub(crate) fn explore(self: &Arc<Self>, is_list: bool, seg: &Segment) -> Option<Arc<Sel>> {
        match &**self {
            Sel::Matcher | Sel::Edge => None,
            Sel::All(next) => Some(next.clone()),
            Sel::Fields(f, _) => {
                let name = seg.name();
                f.binary_search_by(|(k, _)| key_order(k, &name))
                    .ok()
                    .and_then(|i| f.get(i))
                    .map(|(_, s)| s.clone())
            }
            Sel::Index(i, next) => (is_list && seg.index() == Some(*i)).then(|| next.clone()),
            Sel::Range(s, e, next) => {
                let i = seg.index()?;
                (is_list && *s <= i && i < *e).then(|| next.clone())
            }
            Sel::Recursive {
                sequence,
                current,
                limit,
            } => {
                if matches!(**current, Sel::Edge) {
                    return None;
                }
                let next = current.explore(is_list, seg)?;
                if !next.has_edge() {
                    return Some(Arc::new(Sel::Recursive {
                        sequence: sequence.clone(),
                        current: next,
                        limit: *limit,
                    }));
                }
                match limit {
                    RecursionLimit::Depth(d) if *d < 2 => next.replace_edge(None),
                    RecursionLimit::Depth(d) => Some(Arc::new(Sel::Recursive {
                        sequence: sequence.clone(),
                        current: next.replace_edge(Some(sequence))?,
                        limit: RecursionLimit::Depth(d - 1),
                    })),
                    RecursionLimit::None => Some(Arc::new(Sel::Recursive {
                        sequence: sequence.clone(),
                        current: next.replace_edge(Some(sequence))?,
                        limit: RecursionLimit::None,
                    })),
                }
            }
            Sel::Union(members) => union(members.iter().filter_map(|m| m.explore(is_list, seg))),
            Sel::Interpret(_, next) => Some(next.clone()),
        }
    }

    /// Whether this selector is an edge or a union holding one (directly).
    fn has_edge(&self) -> bool {
        match self {
            Sel::Edge => true,
            Sel::Union(m) => m.iter().any(|s| s.has_edge()),
            _ => false,
        }
    }

    /// Replaces edges (directly here or in a union) with `with`; edges replaced
    /// by nothing drop out of unions.
    fn replace_edge(self: &Arc<Self>, with: Option<&Arc<Sel>>) -> Option<Arc<Sel>> {
        match &**self {
            Sel::Edge => with.cloned(),
            Sel::Union(m) => union(m.iter().filter_map(|s| s.replace_edge(with))),
            _ => Some(self.clone()),
        }
    }
}

/// DAG-CBOR map key order: shorter first, then bytewise.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether two states are equal. Compiled nodes are interned, so for them
/// this is identity; unions and recursions (also made at run time) compare
/// by their parts.
fn same(a: &Arc<Sel>, b: &Arc<Sel>) -> bool {
    if Arc::ptr_eq(a, b) {
        return true;
    }
    match (&**a, &**b) {
        (Sel::Union(x), Sel::Union(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (
            Sel::Recursive {
                sequence: s1,
                current: c1,
                limit: l1,
            },
            Sel::Recursive {
                sequence: s2,
                current: c2,
                limit: l2,
            },
        ) => l1 == l2 && Arc::ptr_eq(s1, s2) && same(c1, c2),
        _ => false,
    }
}

/// Whether a recursion with limit `a` goes at least as deep as one with `b`.
fn covers(a: RecursionLimit, b: RecursionLimit) -> bool {
    match (a, b) {
        (RecursionLimit::None, _) => true,
        (RecursionLimit::Depth(_), RecursionLimit::None) => false,
        (RecursionLimit::Depth(x), RecursionLimit::Depth(y)) => x >= y,
    }
}

/// Adds `m` to the union members `out`: nested unions are flattened, a member
/// already present is dropped, and a recursion that another with the same
/// sequence and current selector covers is merged into the deeper one.
fn push_member(out: &mut Vec<Arc<Sel>>, m: Arc<Sel>) {
    if let Sel::Union(inner) = &*m {
        for x in inner {
            push_member(out, x.clone());
        }
        return;
    }
    for existing in out.iter_mut() {
        if same(existing, &m) {
            return;
        }
        if let (
            Sel::Recursive {
                sequence: s1,
                current: c1,
                limit: l1,
            },
            Sel::Recursive {
                sequence: s2,
                current: c2,
                limit: l2,
            },
        ) = (&**existing, &*m)
        {
            if Arc::ptr_eq(s1, s2) && same(c1, c2) {
                if !covers(*l1, *l2) {
                    *existing = m;
                }
                return;
            }
        }
    }
    out.push(m);
}

/// The union of `members`, flattened and deduplicated; `None` if empty, the
/// member itself if only one remains.
fn union(members: impl IntoIterator<Item = Arc<Sel>>) -> Option<Arc<Sel>> {
    let mut out = Vec::new();
    for m in members {
        push_member(&mut out, m);
    }
    match out.len() {
        0 => None,
        1 => out.pop(),
        _ => Some(Arc::new(Sel::Union(out))),
    }
}
