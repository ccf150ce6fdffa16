//! tau-keys (being written)
