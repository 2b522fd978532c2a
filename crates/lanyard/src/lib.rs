//! The `lanyard` program: `serve` (the whole product on one machine) and
//! `render` (badges from the command line).

pub mod app;
pub mod render;

pub use app::{Application, ServeSettings};

/// Log levels when `RUST_LOG` is not set: `info`, without the SVG library's
/// per-badge notes (such as a font fallback for scripts one font lacks).
pub const DEFAULT_LOG_FILTER: &str = "info,usvg=error,resvg=error";
