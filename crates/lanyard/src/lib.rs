//! The `lanyard` program: `serve` (the whole product on one machine) and
//! `render` (badges from the command line). The AWS backend
//! (`serve --backend aws`, `aws-setup`) is the `aws` feature.

pub mod app;
#[cfg(feature = "aws")]
pub mod aws;
pub mod health;
pub mod offline;
pub mod render;
pub mod server;
pub mod tls;

pub use app::{Application, MailOptions, ServeSettings, TlsOptions};
pub use server::ConnectionLimits;

pub use lanyard_http::DEFAULT_LOG_FILTER;
