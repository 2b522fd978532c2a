//! lanyard-lambda's integration tests: recorded events on the emulator.
//! One test binary for the crate: each module was once a binary of its own.

mod handlers;
mod iam;
mod template;
