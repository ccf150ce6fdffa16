//! IPLD selectors: the subset Graphsync peers use, as data.
//!
//! A [`Selector`] is the parsed form of the selector schema's short-key keyed
//! union (`docs/src/formats/network.md`, "Selectors"). [`Selector::from_ipld`] accepts exactly the shapes
//! go-ipld-prime's parser accepts for these members and refuses everything
//! else with a typed error: [`Error::InvalidSelector`] for malformed data,
//! [`Error::UnsupportedSelector`] for valid selectors outside the subset
//! (ExploreConditional `&`, stop conditions `!`, matcher subsets, unknown
//! interpretations). [`Selector::check_depth`] applies go-graphsync's
//! validator (recursion limits bounded by a maximum depth).

mod explore;
mod interpret;

pub(crate) use explore::{Interest, Segment, Sel};
pub use interpret::{HamtLayout, KeyEncoding};

use std::collections::BTreeMap;

use ipld_core::ipld::Ipld;

use crate::dagcbor;
use crate::fields::{as_i64, single_entry};
use crate::{Error, Result};

/// Deepest selector nesting accepted (a bound on recursion over selectors).
pub const MAX_SELECTOR_NESTING: usize = 128;

/// go-graphsync's default maximum recursion depth (`maxRecursionDepth`).
pub const DEFAULT_MAX_RECURSION_DEPTH: u64 = 100;

/// How deep an ExploreRecursive may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecursionLimit {
    /// `{"none": {}}`: unbounded (rejected by go peers).
    None,
    /// `{"depth": n}`: at most `n` applications of the sequence.
    Depth(u64),
}

/// A selector.
///
/// ```
/// use tau_graphsync::Selector;
/// // The whole DAG to depth 100 (go-safe): {"R":{"l":{"depth":100},":>":{"a":{">":{"@":{}}}}}}
/// let all = Selector::explore_all_recursively(100);
/// let bytes = all.to_dag_cbor()?;
/// assert_eq!(Selector::from_dag_cbor(&bytes)?, all);
/// all.check_depth(100, false)?;
/// assert!(Selector::explore_all_recursively(101).check_depth(100, false).is_err());
/// # Ok::<(), tau_graphsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Selector {
    /// `.`: match the node (and load it, if reached through a link).
    Matcher,
    /// `a`: apply `next` to every child.
    ExploreAll {
        /// The selector for each child.
        next: Box<Selector>,
    },
    /// `f`: apply a selector to named children (map keys; list indexes spelled
    /// as decimal strings also match, as in go-ipld-prime).
    ExploreFields {
        /// Field name to selector.
        fields: BTreeMap<String, Selector>,
    },
    /// `i`: apply `next` to one list element.
    ExploreIndex {
        /// The index.
        index: i64,
        /// The selector for that element.
        next: Box<Selector>,
    },
    /// `r`: apply `next` to list elements `start..end`.
    ExploreRange {
        /// First index.
        start: i64,
        /// One past the last index (greater than `start`).
        end: i64,
        /// The selector for each element.
        next: Box<Selector>,
    },
    /// `R`: apply `sequence` repeatedly; each `@` in it recurses.
    ExploreRecursive {
        /// The recursion limit.
        limit: RecursionLimit,
        /// The repeated selector (contains at least one [`Selector::ExploreRecursiveEdge`]).
        sequence: Box<Selector>,
    },
    /// `@`: recurse into the enclosing ExploreRecursive.
    ExploreRecursiveEdge,
    /// `|`: all members at once.
    ExploreUnion(Vec<Selector>),
    /// `~`: interpret the node as a HAMT and look keys up (see [`HamtLayout`]).
    InterpretAs {
        /// The interpretation.
        layout: HamtLayout,
        /// The selector over the interpreted node: an ExploreFields of keys.
        next: Box<Selector>,
    },
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidSelector(msg.into())
}

fn empty_map(v: &Ipld, what: &str) -> Result<()> {
    match v {
        Ipld::Map(m) if m.is_empty() => Ok(()),
        Ipld::Map(_) => Err(Error::UnsupportedSelector(format!(
            "{what} with options is not supported"
        ))),
        _ => Err(invalid(format!("{what} body must be a map"))),
    }
}

impl Selector {
    /// Everything reachable, to `depth` levels:
    /// `{"R":{"l":{"depth":depth},":>":{"a":{">":{"@":{}}}}}}`.
    pub fn explore_all_recursively(depth: u64) -> Self {
        Selector::ExploreRecursive {
            limit: RecursionLimit::Depth(depth),
            sequence: Box::new(Selector::ExploreAll {
                next: Box::new(Selector::ExploreRecursiveEdge),
            }),
        }
    }

    /// Follows the field `path` from the root, then applies `last`:
    /// `{"f":{"f>":{path[0]:{"f":{"f>":{path[1]: … last}}}}}}`.
    pub fn field_path<S: AsRef<str>>(path: &[S], last: Selector) -> Self {
        path.iter()
            .rev()
            .fold(last, |next, name| Selector::ExploreFields {
                fields: BTreeMap::from([(name.as_ref().to_string(), next)]),
            })
    }

    /// Looks `key` up in the HAMT at the current node and applies `then` to its
    /// value: `{"~":{"as":layout,">":{"f":{"f>":{name(key): then}}}}}`.
    pub fn hamt_key(layout: HamtLayout, key: &[u8], then: Selector) -> Result<Self> {
        let name = layout.field_name(key)?;
        Ok(Selector::InterpretAs {
            layout,
            next: Box::new(Selector::field_path(&[name], then)),
        })
    }

    /// The selector as IPLD.
    pub fn to_ipld(&self) -> Ipld {
        let body = |entries: Vec<(&str, Ipld)>| {
            Ipld::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        };
        match self {
            Selector::Matcher => single_entry(".", body(vec![])),
            Selector::ExploreAll { next } => single_entry("a", body(vec![(">", next.to_ipld())])),
            Selector::ExploreFields { fields } => {
                let f = fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_ipld()))
                    .collect();
                single_entry("f", body(vec![("f>", Ipld::Map(f))]))
            }
            Selector::ExploreIndex { index, next } => single_entry(
                "i",
                body(vec![
                    ("i", Ipld::Integer((*index).into())),
                    (">", next.to_ipld()),
                ]),
            ),
            Selector::ExploreRange { start, end, next } => single_entry(
                "r",
                body(vec![
                    ("^", Ipld::Integer((*start).into())),
                    ("$", Ipld::Integer((*end).into())),
                    (">", next.to_ipld()),
                ]),
            ),
            Selector::ExploreRecursive { limit, sequence } => {
                let l = match limit {
                    RecursionLimit::None => single_entry("none", body(vec![])),
                    RecursionLimit::Depth(d) => single_entry("depth", Ipld::Integer((*d).into())),
                };
                single_entry("R", body(vec![("l", l), (":>", sequence.to_ipld())]))
            }
            Selector::ExploreRecursiveEdge => single_entry("@", body(vec![])),
            Selector::ExploreUnion(members) => single_entry(
                "|",
                Ipld::List(members.iter().map(Selector::to_ipld).collect()),
            ),
            Selector::InterpretAs { layout, next } => single_entry(
                "~",
                body(vec![
                    ("as", Ipld::String(layout.to_wire())),
                    (">", next.to_ipld()),
                ]),
            ),
        }
    }

    /// The DAG-CBOR encoding.
    pub fn to_dag_cbor(&self) -> Result<Vec<u8>> {
        dagcbor::encode(&self.to_ipld())
    }

    /// Parses untrusted DAG-CBOR bytes.
    pub fn from_dag_cbor(bytes: &[u8]) -> Result<Self> {
        Self::from_ipld(&dagcbor::decode(bytes)?)
    }

    /// Parses a selector from IPLD; never panics.
    pub fn from_ipld(value: &Ipld) -> Result<Self> {
        parse(value, 0, 0)
    }

    /// The selector's size: one per node and one per field name (a bound on
    /// what compiling and walking it costs; see `Limits::max_selector_size`).
    pub fn size(&self) -> usize {
        let mut n = 0usize;
        let mut stack = vec![self];
        while let Some(s) = stack.pop() {
            n += 1;
            match s {
                Selector::Matcher | Selector::ExploreRecursiveEdge => {}
                Selector::ExploreAll { next }
                | Selector::ExploreIndex { next, .. }
                | Selector::ExploreRange { next, .. }
                | Selector::InterpretAs { next, .. } => stack.push(next),
                Selector::ExploreRecursive { sequence, .. } => stack.push(sequence),
                Selector::ExploreFields { fields } => {
                    n += fields.len();
                    stack.extend(fields.values());
                }
                Selector::ExploreUnion(members) => stack.extend(members.iter()),
            }
        }
        n
    }

    /// go-graphsync's validator: every ExploreRecursive must have a depth limit
    /// of at most `max_depth` (`none` only if `allow_unbounded`). Violations are
    /// [`Error::RecursionLimit`], which a responder answers with status 30.
    pub fn check_depth(&self, max_depth: u64, allow_unbounded: bool) -> Result<()> {
        let mut stack = vec![self];
        while let Some(s) = stack.pop() {
            match s {
                Selector::Matcher | Selector::ExploreRecursiveEdge => {}
                Selector::ExploreAll { next }
                | Selector::ExploreIndex { next, .. }
                | Selector::ExploreRange { next, .. }
                | Selector::InterpretAs { next, .. } => stack.push(next),
                Selector::ExploreFields { fields } => stack.extend(fields.values()),
                Selector::ExploreUnion(members) => stack.extend(members.iter()),
                Selector::ExploreRecursive { limit, sequence } => {
                    match limit {
                        RecursionLimit::None if !allow_unbounded => {
                            return Err(Error::RecursionLimit {
                                limit: "none".into(),
                                max: max_depth,
                            })
                        }
                        RecursionLimit::Depth(d) if *d > max_depth => {
                            return Err(Error::RecursionLimit {
                                limit: d.to_string(),
                                max: max_depth,
                            })
                        }
                        _ => {}
                    }
                    stack.push(sequence);
                }
            }
        }
        Ok(())
    }
}

/// The body of a selector member, which must be a map whose keys are all in `allowed`.
fn body_map<'a>(
    body: &'a Ipld,
    what: &str,
    allowed: &[&str],
) -> Result<&'a BTreeMap<String, Ipld>> {
    let Ipld::Map(m) = body else {
        return Err(invalid(format!("{what} body must be a map")));
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(format!("{what} has unknown field {k:?}")));
    }
    Ok(m)
}

fn get<'a>(m: &'a BTreeMap<String, Ipld>, key: &str, what: &str) -> Result<&'a Ipld> {
    m.get(key)
        .ok_or_else(|| invalid(format!("{what} lacks required field {key:?}")))
}

/// Parses `value` nested `nesting` deep, under `recursive` ExploreRecursives.
/// Works on borrowed IPLD: nothing is cloned but strings.
fn parse(value: &Ipld, nesting: usize, recursive: usize) -> Result<Selector> {
    if nesting > MAX_SELECTOR_NESTING {
        return Err(invalid("selector nests too deeply"));
    }
    let Ipld::Map(outer) = value else {
        return Err(invalid("selector is a keyed union and must be a map"));
    };
    if outer.len() != 1 {
        return Err(invalid("selector is a keyed union and must have one entry"));
    }
    let Some((key, body)) = outer.iter().next() else {
        return Err(invalid("selector is empty"));
    };
    let next = |v: &Ipld| parse(v, nesting + 1, recursive).map(Box::new);
    match key.as_str() {
        "." => {
            empty_map(body, "matcher")?;
            Ok(Selector::Matcher)
        }
        "@" => {
            empty_map(body, "recursive edge")?;
            if recursive == 0 {
                return Err(invalid(
                    "ExploreRecursiveEdge must be beneath ExploreRecursive",
                ));
            }
            Ok(Selector::ExploreRecursiveEdge)
        }
        "a" => {
            let m = body_map(body, "ExploreAll", &[">"])?;
            Ok(Selector::ExploreAll {
                next: next(get(m, ">", "ExploreAll")?)?,
            })
        }
        "f" => {
            let m = body_map(body, "ExploreFields", &["f>"])?;
            let Ipld::Map(map) = get(m, "f>", "ExploreFields")? else {
                return Err(invalid("fields in ExploreFields must be a map"));
            };
            let mut fields = BTreeMap::new();
            for (name, sel) in map {
                fields.insert(name.clone(), *next(sel)?);
            }
            Ok(Selector::ExploreFields { fields })
        }
        "i" => {
            let m = body_map(body, "ExploreIndex", &["i", ">"])?;
            let index = as_i64(get(m, "i", "ExploreIndex")?, "index").map_err(invalid)?;
            Ok(Selector::ExploreIndex {
                index,
                next: next(get(m, ">", "ExploreIndex")?)?,
            })
        }
        "r" => {
            let m = body_map(body, "ExploreRange", &["^", "$", ">"])?;
            let start = as_i64(get(m, "^", "ExploreRange")?, "start").map_err(invalid)?;
            let end = as_i64(get(m, "$", "ExploreRange")?, "end").map_err(invalid)?;
            if start >= end {
                return Err(invalid("ExploreRange end must be greater than start"));
            }
            Ok(Selector::ExploreRange {
                start,
                end,
                next: next(get(m, ">", "ExploreRange")?)?,
            })
        }
        "R" => {
            let m = body_map(body, "ExploreRecursive", &["l", ":>", "!"])?;
            if m.contains_key("!") {
                return Err(Error::UnsupportedSelector(
                    "ExploreRecursive stop conditions".into(),
                ));
            }
            let limit = parse_limit(get(m, "l", "ExploreRecursive")?)?;
            let sequence = parse(
                get(m, ":>", "ExploreRecursive")?,
                nesting + 1,
                recursive + 1,
            )?;
            if !has_own_edge(&sequence) {
                return Err(invalid(
                    "ExploreRecursive must have at least one ExploreRecursiveEdge",
                ));
            }
            Ok(Selector::ExploreRecursive {
                limit,
                sequence: Box::new(sequence),
            })
        }
        "|" => {
            let Ipld::List(members) = body else {
                return Err(invalid("ExploreUnion must be a list"));
            };
            let members = members
                .iter()
                .map(|m| next(m).map(|b| *b))
                .collect::<Result<Vec<_>>>()?;
            Ok(Selector::ExploreUnion(members))
        }
        "~" => {
            let m = body_map(body, "InterpretAs", &["as", ">"])?;
            let Ipld::String(adl) = get(m, "as", "InterpretAs")? else {
                return Err(invalid("InterpretAs 'as' must be a string"));
            };
            let layout = HamtLayout::from_wire(adl)?;
            let next = next(get(m, ">", "InterpretAs")?)?;
            let Selector::ExploreFields { fields } = &*next else {
                return Err(Error::UnsupportedSelector(
                    "a HAMT interpretation must be followed by ExploreFields".into(),
                ));
            };
            for name in fields.keys() {
                layout.key(name)?;
            }
            Ok(Selector::InterpretAs { layout, next })
        }
        "&" => Err(Error::UnsupportedSelector("ExploreConditional".into())),
        other => Err(invalid(format!(
            "{other:?} is not a known member of the selector union"
        ))),
    }
}

fn parse_limit(v: &Ipld) -> Result<RecursionLimit> {
    let Ipld::Map(m) = v else {
        return Err(invalid("recursion limit must be a map"));
    };
    let mut entries = m.iter();
    let (Some((kind, body)), None) = (entries.next(), entries.next()) else {
        return Err(invalid("recursion limit is a keyed union: want one entry"));
    };
    match kind.as_str() {
        "none" => {
            empty_map(body, "limit none")?;
            Ok(RecursionLimit::None)
        }
        "depth" => {
            let d = as_i64(body, "depth").map_err(invalid)?;
            let d = u64::try_from(d).map_err(|_| invalid("negative recursion depth"))?;
            Ok(RecursionLimit::Depth(d))
        }
        other => Err(invalid(format!("unknown recursion limit {other:?}"))),
    }
}

/// Whether `s` contains an edge that belongs to the recursion it is the
/// sequence of (not one of a nested ExploreRecursive).
fn has_own_edge(s: &Selector) -> bool {
    let mut stack = vec![s];
    while let Some(s) = stack.pop() {
        match s {
            Selector::ExploreRecursiveEdge => return true,
            Selector::ExploreRecursive { .. } | Selector::Matcher => {}
            Selector::ExploreAll { next }
            | Selector::ExploreIndex { next, .. }
            | Selector::ExploreRange { next, .. }
            | Selector::InterpretAs { next, .. } => stack.push(next),
            Selector::ExploreFields { fields } => stack.extend(fields.values()),
            Selector::ExploreUnion(members) => stack.extend(members.iter()),
        }
    }
    false
}

#[cfg(test)]
mod tests;
