//! # tau-graphsync
//!
//! (crate docs are written below once the API settles)

#![warn(missing_docs)]

pub mod dagcbor;
mod error;
mod fields;
pub mod framing;
pub mod message;
pub mod responder;
pub mod selector;
pub mod traversal;
pub mod varint;
pub mod verifier;

pub use error::{Error, Result};
pub use message::{
    Block, CidPrefix, Extensions, LinkAction, Message, Metadatum, Request, RequestId, RequestKind,
    Response, Status,
};
pub use selector::{HamtLayout, KeyEncoding, RecursionLimit, Selector};
