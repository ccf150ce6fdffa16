//! The Graphsync v2 message (go-graphsync `message/ipldbind/schema.ipldsch`).
//!
//! On the wire a message is the DAG-CBOR map
//! `{"gs2": {"req"?: [Request], "rsp"?: [Response], "blk"?: [Block]}}`:
//!
//! | type | representation |
//! |---|---|
//! | Request | map `{"id": bytes(16), "type": "n"\|"c"\|"u", "pri"?: int, "root"?: link, "sel"?: any, "ext"?: {string: any}}` |
//! | Response | map `{"reqid": bytes(16), "stat": int, "meta"?: [[link, "p"\|"d"\|"m"\|"s"]], "ext"?: {…}}` |
//! | Block | tuple `[prefix bytes, data bytes]` |
//!
//! Optional fields are omitted, never `null`. As go does, a request's `pri` is
//! written only when non-zero, empty lists and empty `ext` maps are omitted, and
//! cancels carry only `id` and `type`.

mod block;
mod encode;
mod extensions;
mod status;

pub use block::{Block, CidPrefix};
pub use extensions::{Extensions, DEDUP_BY_KEY, DO_NOT_SEND_CIDS, DO_NOT_SEND_FIRST_BLOCKS};
pub use status::{LinkAction, Status};

use std::collections::BTreeMap;

use cid::Cid;
use ipld_core::ipld::Ipld;

use crate::dagcbor;
use crate::fields::{as_bytes, as_i64, as_int, as_link, as_list, as_string, Fields};
use crate::{Error, Result};

/// A request id: 16 bytes (a UUID in go-graphsync), chosen by the requester.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub [u8; 16]);

impl RequestId {
    /// The id in `bytes`, which must be exactly 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        <[u8; 16]>::try_from(bytes).map(RequestId).map_err(|_| {
            Error::InvalidMessage(format!("request id must be 16 bytes, got {}", bytes.len()))
        })
    }
}

/// A request: its id and what it asks.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The request id.
    pub id: RequestId,
    /// New, cancel or update.
    pub kind: RequestKind,
}

/// What a request asks for (`type` `"n"`, `"c"` or `"u"`).
#[derive(Clone, Debug, PartialEq)]
pub enum RequestKind {
    /// Start a traversal of `selector` from `root`.
    New {
        /// The root block.
        root: Cid,
        /// The selector as sent (parse it with [`crate::Selector::from_ipld`];
        /// kept raw so a responder can answer an unsupported selector with 30).
        selector: Ipld,
        /// Priority; 0 is omitted on the wire.
        priority: i32,
        /// Extensions.
        extensions: Extensions,
    },
    /// Stop the request.
    Cancel,
    /// New extension values for a running request.
    Update {
        /// Extensions.
        extensions: Extensions,
    },
}

/// One entry of a response's `meta`: a link the responder's traversal loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadatum {
    /// The link.
    pub link: Cid,
    /// What the responder did with it.
    pub action: LinkAction,
}

/// A response to one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The request answered.
    pub id: RequestId,
    /// Its status.
    pub status: Status,
    /// The links loaded since the previous response, in traversal order.
    pub metadata: Vec<Metadatum>,
    /// Extensions.
    pub extensions: Extensions,
}

/// A Graphsync v2 message.
///
/// ```
/// use tau_graphsync::{Message, Request, RequestId, RequestKind, Extensions};
/// let cancel = Message {
///     requests: vec![Request { id: RequestId([7; 16]), kind: RequestKind::Cancel }],
///     ..Message::default()
/// };
/// let bytes = cancel.encode()?;
/// assert_eq!(Message::decode(&bytes)?, cancel);
/// # Ok::<(), tau_graphsync::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Message {
    /// Requests (`req`).
    pub requests: Vec<Request>,
    /// Responses (`rsp`).
    pub responses: Vec<Response>,
    /// Blocks (`blk`), shared by all responses of the message.
    pub blocks: Vec<Block>,
}

impl Message {
    /// Decodes a message from untrusted DAG-CBOR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Self::from_ipld(dagcbor::decode(bytes)?)
    }

    /// The message as IPLD ([`encode`](Self::encode) writes the same bytes
    /// without building it).
    pub fn to_ipld(&self) -> Ipld {
        let mut inner = BTreeMap::new();
        if !self.requests.is_empty() {
            let reqs = self.requests.iter().map(Request::to_ipld).collect();
            inner.insert("req".to_string(), Ipld::List(reqs));
        }
        if !self.responses.is_empty() {
            let rsps = self.responses.iter().map(Response::to_ipld).collect();
            inner.insert("rsp".to_string(), Ipld::List(rsps));
        }
        if !self.blocks.is_empty() {
            let blks = self
                .blocks
                .iter()
                .map(|b| {
                    Ipld::List(vec![
                        Ipld::Bytes(b.prefix.to_bytes()),
                        Ipld::Bytes(b.data.to_vec()),
                    ])
                })
                .collect();
            inner.insert("blk".to_string(), Ipld::List(blks));
        }
        crate::fields::single_entry("gs2", Ipld::Map(inner))
    }

    /// Parses a message from IPLD; any field of the wrong shape, unknown field or
    /// unknown enum value is [`Error::InvalidMessage`].
    pub fn from_ipld(value: Ipld) -> Result<Self> {
        let mut root = Fields::new(value, "message root").map_err(Error::InvalidMessage)?;
        let gs2 = root.required("gs2").map_err(Error::InvalidMessage)?;
        root.finish().map_err(Error::InvalidMessage)?;
        let mut f = Fields::new(gs2, "gs2 message").map_err(Error::InvalidMessage)?;
        let mut msg = Message::default();
        if let Some(reqs) = f.optional("req") {
            for r in as_list(reqs, "req").map_err(Error::InvalidMessage)? {
                msg.requests.push(Request::from_ipld(r)?);
            }
        }
        if let Some(rsps) = f.optional("rsp") {
            for r in as_list(rsps, "rsp").map_err(Error::InvalidMessage)? {
                msg.responses.push(Response::from_ipld(r)?);
            }
        }
        if let Some(blks) = f.optional("blk") {
            for b in as_list(blks, "blk").map_err(Error::InvalidMessage)? {
                msg.blocks.push(block_from_ipld(b)?);
            }
        }
        f.finish().map_err(Error::InvalidMessage)?;
        Ok(msg)
    }
}

fn block_from_ipld(value: Ipld) -> Result<Block> {
    let tuple = as_list(value, "block").map_err(Error::InvalidMessage)?;
    let [prefix, data]: [Ipld; 2] = tuple
        .try_into()
        .map_err(|_| Error::InvalidMessage("block must be a 2-tuple".into()))?;
    let prefix = as_bytes(prefix, "block prefix").map_err(Error::InvalidMessage)?;
    let data = as_bytes(data, "block data").map_err(Error::InvalidMessage)?;
    Ok(Block {
        prefix: CidPrefix::from_bytes(&prefix)?,
        // The decoded vector itself, shared from here on (no copy).
        data: data.into(),
    })
}

impl Request {
    /// The request as IPLD.
    pub fn to_ipld(&self) -> Ipld {
        let mut m = BTreeMap::new();
        m.insert("id".to_string(), Ipld::Bytes(self.id.0.to_vec()));
        let (ty, ext) = match &self.kind {
            RequestKind::New {
                root,
                selector,
                priority,
                extensions,
            } => {
                m.insert("root".to_string(), Ipld::Link(*root));
                m.insert("sel".to_string(), selector.clone());
                if *priority != 0 {
                    m.insert("pri".to_string(), Ipld::Integer((*priority).into()));
                }
                ("n", Some(extensions))
            }
            RequestKind::Cancel => ("c", None),
            RequestKind::Update { extensions } => ("u", Some(extensions)),
        };
        m.insert("type".to_string(), Ipld::String(ty.to_string()));
        if let Some(ext) = ext.filter(|e| !e.is_empty()) {
            m.insert("ext".to_string(), ext.to_ipld());
        }
        Ipld::Map(m)
    }

    /// Parses a request. As go does, a cancel ignores every other field and an
    /// update ignores `pri`, `root` and `sel`; a new request needs `root` and `sel`.
    pub fn from_ipld(value: Ipld) -> Result<Self> {
        let inv = Error::InvalidMessage;
        let mut f = Fields::new(value, "request").map_err(inv)?;
        let id = as_bytes(f.required("id").map_err(inv)?, "request id").map_err(inv)?;
        let id = RequestId::from_slice(&id)?;
        let ty = as_string(f.required("type").map_err(inv)?, "request type").map_err(inv)?;
        let pri = f.optional("pri");
        let root = f.optional("root");
        let sel = f.optional("sel");
        let ext = f.optional("ext");
        f.finish().map_err(inv)?;
        let extensions = ext.map(Extensions::from_ipld).transpose()?;
        let kind = match ty.as_str() {
            "n" => {
                let priority = match pri {
                    None => 0,
                    Some(p) => {
                        let p = as_int(&p, "priority").map_err(inv)?;
                        i32::try_from(p)
                            .map_err(|_| inv("priority out of the int32 range".into()))?
                    }
                };
                let root = root.ok_or_else(|| inv("new request lacks root".into()))?;
                RequestKind::New {
                    root: as_link(root, "root").map_err(inv)?,
                    selector: sel.ok_or_else(|| inv("new request lacks sel".into()))?,
                    priority,
                    extensions: extensions.unwrap_or_default(),
                }
            }
            "c" => RequestKind::Cancel,
            "u" => RequestKind::Update {
                extensions: extensions.unwrap_or_default(),
            },
            other => return Err(inv(format!("unknown request type {other:?}"))),
        };
        Ok(Request { id, kind })
    }
}

impl Response {
    /// The response as IPLD.
    pub fn to_ipld(&self) -> Ipld {
        let mut m = BTreeMap::new();
        m.insert("reqid".to_string(), Ipld::Bytes(self.id.0.to_vec()));
        m.insert("stat".to_string(), Ipld::Integer(self.status.code().into()));
        if !self.metadata.is_empty() {
            let meta = self
                .metadata
                .iter()
                .map(|md| {
                    Ipld::List(vec![
                        Ipld::Link(md.link),
                        Ipld::String(md.action.as_str().to_string()),
                    ])
                })
                .collect();
            m.insert("meta".to_string(), Ipld::List(meta));
        }
        if !self.extensions.is_empty() {
            m.insert("ext".to_string(), self.extensions.to_ipld());
        }
        Ipld::Map(m)
    }

    /// Parses a response.
    pub fn from_ipld(value: Ipld) -> Result<Self> {
        let inv = Error::InvalidMessage;
        let mut f = Fields::new(value, "response").map_err(inv)?;
        let id = as_bytes(f.required("reqid").map_err(inv)?, "reqid").map_err(inv)?;
        let id = RequestId::from_slice(&id)?;
        let stat = as_i64(&f.required("stat").map_err(inv)?, "stat").map_err(inv)?;
        let status =
            Status::from_code(stat.into()).ok_or_else(|| inv(format!("unknown status {stat}")))?;
        let mut metadata = Vec::new();
        if let Some(meta) = f.optional("meta") {
            for entry in as_list(meta, "meta").map_err(inv)? {
                let tuple = as_list(entry, "metadatum").map_err(inv)?;
                let [link, action]: [Ipld; 2] = tuple
                    .try_into()
                    .map_err(|_| inv("metadatum must be a 2-tuple".into()))?;
                let link = as_link(link, "metadatum link").map_err(inv)?;
                let action = as_string(action, "link action").map_err(inv)?;
                let action = LinkAction::from_wire(&action)
                    .ok_or_else(|| inv(format!("unknown link action {action:?}")))?;
                metadata.push(Metadatum { link, action });
            }
        }
        let extensions = f
            .optional("ext")
            .map(Extensions::from_ipld)
            .transpose()?
            .unwrap_or_default();
        f.finish().map_err(inv)?;
        Ok(Response {
            id,
            status,
            metadata,
            extensions,
        })
    }
}
