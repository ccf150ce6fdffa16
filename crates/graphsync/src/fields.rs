//! Reading typed fields out of IPLD maps, with every unexpected shape an error.

use std::collections::BTreeMap;

use cid::Cid;
use ipld_core::ipld::Ipld;

/// The entries of an IPLD map being taken apart: each known key is taken once,
/// and [`Fields::finish`] rejects whatever is left (an unknown key).
pub(crate) struct Fields {
    map: BTreeMap<String, Ipld>,
    what: &'static str,
}

/// The kind of an IPLD value, for error messages.
pub(crate) fn kind(v: &Ipld) -> &'static str {
    match v {
        Ipld::Null => "null",
        Ipld::Bool(_) => "bool",
        Ipld::Integer(_) => "int",
        Ipld::Float(_) => "float",
        Ipld::String(_) => "string",
        Ipld::Bytes(_) => "bytes",
        Ipld::List(_) => "list",
        Ipld::Map(_) => "map",
        Ipld::Link(_) => "link",
    }
}

impl Fields {
    /// The entries of `value`, which must be a map; `what` names it in errors.
    pub(crate) fn new(value: Ipld, what: &'static str) -> Result<Self, String> {
        match value {
            Ipld::Map(map) => Ok(Fields { map, what }),
            other => Err(format!("{what} must be a map, found {}", kind(&other))),
        }
    }

    /// The value under `key`, if present.
    pub(crate) fn optional(&mut self, key: &str) -> Option<Ipld> {
        self.map.remove(key)
    }

    /// The value under `key`, which must be present.
    pub(crate) fn required(&mut self, key: &str) -> Result<Ipld, String> {
        self.map
            .remove(key)
            .ok_or_else(|| format!("{} lacks required field {key:?}", self.what))
    }

    /// Fails if any key was not taken.
    pub(crate) fn finish(self) -> Result<(), String> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(key) => Err(format!("{} has unknown field {key:?}", self.what)),
        }
    }
}

pub(crate) fn as_bytes(v: Ipld, what: &str) -> Result<Vec<u8>, String> {
    match v {
        Ipld::Bytes(b) => Ok(b),
        other => Err(format!("{what} must be bytes, found {}", kind(&other))),
    }
}

pub(crate) fn as_string(v: Ipld, what: &str) -> Result<String, String> {
    match v {
        Ipld::String(s) => Ok(s),
        other => Err(format!("{what} must be a string, found {}", kind(&other))),
    }
}

pub(crate) fn as_int(v: &Ipld, what: &str) -> Result<i128, String> {
    match v {
        Ipld::Integer(i) => Ok(*i),
        other => Err(format!("{what} must be an int, found {}", kind(other))),
    }
}

pub(crate) fn as_i64(v: &Ipld, what: &str) -> Result<i64, String> {
    i64::try_from(as_int(v, what)?).map_err(|_| format!("{what} out of the int64 range"))
}

pub(crate) fn as_link(v: Ipld, what: &str) -> Result<Cid, String> {
    match v {
        Ipld::Link(c) => Ok(c),
        other => Err(format!("{what} must be a link, found {}", kind(&other))),
    }
}

pub(crate) fn as_list(v: Ipld, what: &str) -> Result<Vec<Ipld>, String> {
    match v {
        Ipld::List(l) => Ok(l),
        other => Err(format!("{what} must be a list, found {}", kind(&other))),
    }
}

/// A one-entry map `{key: value}`.
pub(crate) fn single_entry(key: &str, value: Ipld) -> Ipld {
    Ipld::Map(BTreeMap::from([(key.to_string(), value)]))
}
