//! lanyard-domain's integration tests.
//! One test binary for the crate: each module was once a binary of its own.

mod field_rules;
