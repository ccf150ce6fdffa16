//! The crate's error type.

/// Everything that can go wrong in `tau-rpc`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A server could not start (address in use, …).
    #[error("serving: {0}")]
    Serve(String),
    /// Input that is not what it should be (a CID, an address, hex).
    #[error("bad input: {0}")]
    BadInput(String),
    /// A proof that does not prove what it claims against the trusted root.
    #[error("proof refused: {0}")]
    BadProof(String),
    /// The node could not be reached or answered with an error.
    #[error("node API: {0}")]
    Client(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
