//! lanyard-badge's integration tests.
//! One test binary for the crate: each module was once a binary of its own.

mod print;
mod qr_decode;
mod text;
