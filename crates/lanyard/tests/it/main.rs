//! The lanyard program's integration tests: the real server and CLI.
//! One test binary for the crate: each module was once a binary of its own.

mod common;

mod api;
#[cfg(feature = "aws")]
mod aws;
mod checkins;
mod cli;
mod connections;
mod deploy;
mod faults;
mod form;
mod hostile;
mod limits;
mod lists;
mod logs;
mod mail;
mod process;
mod reliability;
mod text;
mod tls;
