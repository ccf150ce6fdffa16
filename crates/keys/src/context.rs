//! The secp256k1 context shared by signing and recovery.
//!
//! A context is immutable once created (creation randomizes its blinding
//! for side-channel resistance, which never changes any output). Building
//! one costs tens of microseconds, so one is built lazily, on first use, and
//! shared read-only by every thread; there is no mutable global state. This is
//! what libsecp256k1's own static context is for: a per-call verification
//! context measured 37 µs against 47 µs for the recovery itself (release build,
//! 2-core EPYC), so building one per `verify` made it 78 % slower.

use std::sync::LazyLock;

use secp256k1::{All, Secp256k1};

static CONTEXT: LazyLock<Secp256k1<All>> = LazyLock::new(Secp256k1::new);

/// The shared, read-only secp256k1 context.
pub(crate) fn secp() -> &'static Secp256k1<All> {
    &CONTEXT
}
