//! Request and response extensions (`ext`): the known ones typed, the rest kept
//! as raw IPLD.

use std::collections::BTreeMap;

use cid::Cid;
use ipld_core::ipld::Ipld;

use crate::fields::{as_int, as_link, as_list, as_string, kind};

/// Name of the extension listing CIDs the requester already has.
pub const DO_NOT_SEND_CIDS: &str = "graphsync/do-not-send-cids";
/// Name of the extension counting traversal steps whose blocks the requester already has.
pub const DO_NOT_SEND_FIRST_BLOCKS: &str = "graphsync/do-not-send-first-blocks";
/// Name of the extension scoping block deduplication across requests.
pub const DEDUP_BY_KEY: &str = "graphsync/dedup-by-key";

/// The `ext` map of a request or response.
///
/// ```
/// use tau_graphsync::Extensions;
/// let ext = Extensions { do_not_send_first_blocks: Some(3), ..Extensions::default() };
/// let back = Extensions::from_ipld(ext.to_ipld())?;
/// assert_eq!(back, ext);
/// assert!(Extensions::default().is_empty());
/// # Ok::<(), tau_graphsync::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extensions {
    /// `graphsync/do-not-send-cids`: blocks the responder must not send (a list of links).
    pub do_not_send_cids: Option<Vec<Cid>>,
    /// `graphsync/do-not-send-first-blocks`: the responder sends no block for the
    /// first this-many links its traversal loads (at most `i64::MAX`, go's range).
    pub do_not_send_first_blocks: Option<u64>,
    /// `graphsync/dedup-by-key`: requests sharing the key share one set of
    /// "already sent" blocks, separate from other requests of the peer.
    pub dedup_by_key: Option<String>,
    /// Every other extension, by name, as raw IPLD (`null` allowed).
    pub other: BTreeMap<String, Ipld>,
}

impl Extensions {
    /// Whether there is no extension at all (then `ext` is omitted on the wire).
    pub fn is_empty(&self) -> bool {
        self.do_not_send_cids.is_none()
            && self.do_not_send_first_blocks.is_none()
            && self.dedup_by_key.is_none()
            && self.other.is_empty()
    }

    /// The `ext` map.
    pub fn to_ipld(&self) -> Ipld {
        let mut map = self.other.clone();
        if let Some(cids) = &self.do_not_send_cids {
            let links = cids.iter().copied().map(Ipld::Link).collect();
            map.insert(DO_NOT_SEND_CIDS.into(), Ipld::List(links));
        }
        if let Some(n) = self.do_not_send_first_blocks {
            map.insert(DO_NOT_SEND_FIRST_BLOCKS.into(), Ipld::Integer(n.into()));
        }
        if let Some(key) = &self.dedup_by_key {
            map.insert(DEDUP_BY_KEY.into(), Ipld::String(key.clone()));
        }
        Ipld::Map(map)
    }

    /// Parses an `ext` map; a known extension with a value of the wrong shape
    /// is an error.
    pub fn from_ipld(value: Ipld) -> crate::Result<Self> {
        Self::parse(value).map_err(crate::Error::InvalidMessage)
    }

    fn parse(value: Ipld) -> Result<Self, String> {
        let Ipld::Map(map) = value else {
            return Err(format!("ext must be a map, found {}", kind(&value)));
        };
        let mut ext = Extensions::default();
        for (name, value) in map {
            match name.as_str() {
                DO_NOT_SEND_CIDS => {
                    let cids = as_list(value, DO_NOT_SEND_CIDS)?
                        .into_iter()
                        .map(|v| as_link(v, DO_NOT_SEND_CIDS))
                        .collect::<Result<_, _>>()?;
                    ext.do_not_send_cids = Some(cids);
                }
                DO_NOT_SEND_FIRST_BLOCKS => {
                    let n = as_int(&value, DO_NOT_SEND_FIRST_BLOCKS)?;
                    // go reads an int64: accept 0..=i64::MAX.
                    let n = i64::try_from(n)
                        .ok()
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| format!("{DO_NOT_SEND_FIRST_BLOCKS} out of 0..=2^63-1"))?;
                    ext.do_not_send_first_blocks = Some(n);
                }
                DEDUP_BY_KEY => ext.dedup_by_key = Some(as_string(value, DEDUP_BY_KEY)?),
                _ => {
                    ext.other.insert(name, value);
                }
            }
        }
        Ok(ext)
    }
}
