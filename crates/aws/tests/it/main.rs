//! lanyard-aws's integration tests, on the moto AWS emulator.
//! One test binary for the crate: each module was once a binary of its own.

mod contract;
mod tallies;
mod worker;
