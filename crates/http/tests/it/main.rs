//! lanyard-http's integration tests.

mod schema_patterns;
