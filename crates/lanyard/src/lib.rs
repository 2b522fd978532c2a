//! The `lanyard` program: `serve` (the whole product on one machine) and
//! `render` (badges from the command line).

pub mod app;
pub mod render;

pub use app::{Application, ServeSettings};
