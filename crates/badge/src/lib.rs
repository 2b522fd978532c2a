//! The badge engine: payload → QR code → layout → PNG, JPEG, SVG or PDF bytes.
//!
//! Pure: no I/O. Fonts are bundled and parsed once ([`Fonts::bundled`]); a
//! conference's look (title, accent colour, logo) is prepared once into a
//! [`BadgeRenderer`] that renders any number of badges.

mod glyphs;
mod layout;
mod payload;
mod qr;
mod render;
mod surface;

pub use payload::{escape_vcard_text, Payload};
pub use qr::QrModules;
pub use render::{
    BadgeError, BadgeRenderer, BadgeSet, Fonts, Format, Logo, Preset, Rgb, Theme, DEFAULT_ACCENT,
};

/// The text and code on one badge.
#[derive(Debug, Clone, Copy)]
pub struct Badge<'a> {
    pub name: &'a str,
    pub company: Option<&'a str>,
    pub payload: &'a Payload,
}
