//! What can go wrong turning a badge into bytes.

use crate::format::{MAX_DPI, MIN_DPI};

#[derive(Debug, thiserror::Error)]
pub enum BadgeError {
    #[error("the QR payload is too long to encode ({0} bytes)")]
    PayloadTooLong(usize),
    #[error("dpi must be between {MIN_DPI} and {MAX_DPI}, got {0}")]
    InvalidDpi(u32),
    #[error("the logo is not a readable PNG or SVG image: {0}")]
    InvalidLogo(String),
    #[error("badge layout failed: {0}")]
    Layout(String),
    #[error("{0}")]
    Sheet(String),
    #[error("{0}")]
    Font(String),
    #[error("writing the print run failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding the badge as {format} failed: {reason}")]
    Encode {
        format: &'static str,
        reason: String,
    },
}
