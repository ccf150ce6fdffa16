//! # tau-hamt
//!
//! (crate docs being written)

pub mod block;
pub mod blockstore;
mod error;

pub use blockstore::{Blockstore, MemoryBlockstore, RedbBlockstore};
pub use cid::Cid;
pub use error::{Error, Result};
