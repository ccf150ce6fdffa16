//! The serving hook: an application's say over what the responder serves.
//!
//! A [`ServeHook`] is consulted for every new request before any block is
//! loaded ([`ServeHook::admit`]) and may refuse it with an error status and a
//! reason; the reason travels in the response's [`REJECTION_REASON`]
//! extension, so the requester's error names it
//! ([`Error::Refused`](crate::Error::Refused)). Each admitted request reports
//! what it served when it ends ([`ServeHook::served`]). Quotas and logs of
//! served downloads (tau-node) are built on it.

use std::sync::Arc;

use cid::Cid;
use ipld_core::ipld::Ipld;

use crate::message::{Extensions, RequestId, Status};

/// Name of the response extension carrying the reason of a refusal (a string).
pub const REJECTION_REASON: &str = "tau/rejection-reason";

/// Longest reason sent, in bytes (longer reasons are cut at a char boundary).
pub const MAX_REASON_LEN: usize = 512;

/// A new request, as the hook sees it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The request id.
    pub id: RequestId,
    /// The root asked for.
    pub root: &'a Cid,
    /// The selector, as sent.
    pub selector: &'a Ipld,
    /// The request's extensions.
    pub extensions: &'a Extensions,
}

/// The hook's answer to a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Serve it, within the responder's own per-request budgets.
    Allow,
    /// Serve it, but end it (an error status with a reason, as a request over
    /// the responder's own budget ends) before its block data
    /// would pass `bytes` (or the responder's own byte budget, if smaller).
    /// A host charging requests caps each at what it reserved, so a request
    /// cannot take more than was admitted, whatever its selector reaches.
    AllowUpTo {
        /// Most block bytes this request may be sent.
        bytes: u64,
    },
    /// Refuse it with `status` (an error status; anything else is sent as 30
    /// Rejected) and `reason`, sent in the [`REJECTION_REASON`] extension.
    Reject {
        /// The status to answer with.
        status: Status,
        /// Why, for the requester.
        reason: String,
    },
}

/// What an admitted request served, reported once when it ends.
#[derive(Debug, Clone, Copy)]
pub struct Served<'a> {
    /// The request id.
    pub id: RequestId,
    /// Its root.
    pub root: &'a Cid,
    /// Its extensions (without `do-not-send-cids`).
    pub extensions: &'a Extensions,
    /// Bytes of block data put in messages for it.
    pub bytes: u64,
    /// Blocks put in messages for it.
    pub blocks: u64,
    /// How it ended: its final status (35 when cancelled), or `None` when the
    /// peer went away.
    pub status: Option<Status>,
}

/// Decides which requests of a peer `P` are served, and hears what was.
/// Called with the responder's state locked: keep it short, never call back
/// into the responder.
pub trait ServeHook<P>: Send + Sync {
    /// Admits or refuses a new request (well-formed selector, not a duplicate,
    /// the peer not busy).
    fn admit(&self, peer: &P, request: &Incoming<'_>) -> Admission;

    /// An admitted request ended.
    fn served(&self, peer: &P, served: &Served<'_>);
}

/// A shared hook.
pub type SharedHook<P> = Arc<dyn ServeHook<P>>;

/// The extensions of a refusal with `reason` (cut to [`MAX_REASON_LEN`]).
pub(crate) fn rejection_extensions(reason: &str) -> Extensions {
    let mut end = reason.len().min(MAX_REASON_LEN);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut ext = Extensions::default();
    ext.other.insert(
        REJECTION_REASON.into(),
        Ipld::String(reason.get(..end).unwrap_or_default().to_string()),
    );
    ext
}

/// The reason of a refusal carried by a response's extensions, if any.
pub fn rejection_reason(extensions: &Extensions) -> Option<&str> {
    match extensions.other.get(REJECTION_REASON) {
        Some(Ipld::String(reason)) => Some(reason),
        _ => None,
    }
}
