//! Selectors at run time: the state a traversal carries from node to node.
//!
//! This follows go-ipld-prime's `traversal/selector` semantics step for step,
//! because a requester and a responder must load the same links in the same
//! order: `interests` says which children to visit (none = all, in node order),
//! and `explore` gives the selector for one child (or nothing to do there).
//! ExploreRecursive replaces its edges with its sequence while the depth limit
//! lasts, and drops them once it is spent.

use std::sync::Arc;

use super::{HamtLayout, RecursionLimit, Selector};

/// A compiled selector, shared between the frames of a traversal.
#[derive(Debug)]
pub(crate) enum Sel {
    Matcher,
    All(Arc<Sel>),
    /// Fields in the order go-ipld-prime visits them (DAG-CBOR map order:
    /// length-first, then bytewise).
    Fields(Vec<(String, Arc<Sel>)>),
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
    /// Compiles a parsed selector.
    pub(crate) fn compile(s: &Selector) -> Arc<Sel> {
        Arc::new(match s {
            Selector::Matcher => Sel::Matcher,
            Selector::ExploreAll { next } => Sel::All(Sel::compile(next)),
            Selector::ExploreFields { fields } => {
                let mut v: Vec<(String, Arc<Sel>)> = fields
                    .iter()
                    .map(|(k, s)| (k.clone(), Sel::compile(s)))
                    .collect();
                v.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
                Sel::Fields(v)
            }
            Selector::ExploreIndex { index, next } => Sel::Index(*index, Sel::compile(next)),
            Selector::ExploreRange { start, end, next } => {
                Sel::Range(*start, *end, Sel::compile(next))
            }
            Selector::ExploreRecursive { limit, sequence } => {
                let seq = Sel::compile(sequence);
                Sel::Recursive {
                    sequence: seq.clone(),
                    current: seq,
                    limit: *limit,
                }
            }
            Selector::ExploreRecursiveEdge => Sel::Edge,
            Selector::ExploreUnion(m) => Sel::Union(m.iter().map(Sel::compile).collect()),
            Selector::InterpretAs { layout, next } => Sel::Interpret(*layout, Sel::compile(next)),
        })
    }

    /// The children to visit: `None` for all of them, in node order.
    pub(crate) fn interests(&self) -> Option<Vec<Interest>> {
        match self {
            Sel::Matcher | Sel::Edge => Some(Vec::new()),
            Sel::All(_) => None,
            Sel::Fields(f) => Some(f.iter().map(|(k, _)| Interest::Field(k.clone())).collect()),
            Sel::Index(i, _) => Some(vec![Interest::Index(*i)]),
            Sel::Range(s, e, _) => Some(vec![Interest::Range(*s, *e)]),
            Sel::Recursive { current, .. } => current.interests(),
            Sel::Union(members) => {
                let mut all = Vec::new();
                for m in members {
                    all.extend(m.interests()?);
                }
                Some(all)
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
            Sel::Fields(f) => {
                let name = seg.name();
                f.iter().find(|(k, _)| *k == name).map(|(_, s)| s.clone())
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
            Sel::Union(members) => {
                let mut found: Vec<Arc<Sel>> = members
                    .iter()
                    .filter_map(|m| m.explore(is_list, seg))
                    .collect();
                match found.len() {
                    0 => None,
                    1 => found.pop(),
                    _ => Some(Arc::new(Sel::Union(found))),
                }
            }
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
            Sel::Union(m) => {
                let mut kept: Vec<Arc<Sel>> =
                    m.iter().filter_map(|s| s.replace_edge(with)).collect();
                match kept.len() {
                    0 => None,
                    1 => kept.pop(),
                    _ => Some(Arc::new(Sel::Union(kept))),
                }
            }
            _ => Some(self.clone()),
        }
    }
}
