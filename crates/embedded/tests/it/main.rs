//! lanyard-embedded's integration tests.
//! One test binary for the crate: each module was once a binary of its own.

mod migration;
mod store_contract;
mod wal;
