//! lanyard-http's integration tests.

mod batch_limit;
mod schema_patterns;
