//! The badge engine: payload → QR code → layout → PNG, JPEG, SVG or PDF bytes.
//!
//! Pure: no I/O. Fonts are bundled and parsed once ([`Fonts::bundled`]); a
//! conference's look (title, accent colour, logo) is prepared once into a
//! [`BadgeRenderer`] that renders any number of badges.
//!
//! The modules form layers; each uses only the layers above it:
//!
//! | layer | modules | what |
//! |---|---|---|
//! | values | `error`, `format`, `theme`, `payload`, `sheet` | errors, presets and formats, colours and logos, QR text |
//! | pixels | `surface` | RGB and palette canvases, and the drawing they support |
//! | marks | `qr`, `glyphs` | QR symbols and shaped text, drawn onto a surface |
//! | resources | `fonts` | the bundled fonts, parsed once |
//! | page | `layout` | a badge's geometry and SVG |
//! | bytes | `encode`, `pdf` | PNG and JPEG encoders; PDF objects (a conference's layer with its logo, a one-badge page) |
//! | renderer | `render` | [`BadgeRenderer`]: all of the above, per conference |
//! | print runs | `sheet`, `print` | label stock, and [`PrintRun`]: many badges in one PDF |

mod encode;
mod error;
mod fonts;
mod format;
mod glyphs;
mod layout;
mod payload;
mod pdf;
mod print;
mod qr;
mod render;
mod sheet;
mod surface;
mod theme;

pub use error::BadgeError;
pub use fonts::{FontSources, Fonts};
pub use format::{Format, Preset, MAX_DPI, MIN_DPI};
pub use layout::{COMPANY_MIN_PT, NAME_MIN_PT};
pub use payload::{escape_vcard_text, Payload};
pub use print::PrintRun;
pub use qr::{qr_png, qr_svg, QrModules};
pub use render::{BadgeRenderer, BadgeSet, Shortened};
pub use sheet::{PrintOptions, Sheet, BADGE_HEIGHT_MM, BADGE_WIDTH_MM};
pub use theme::{Band, Logo, Rgb, Theme, DEFAULT_ACCENT};

/// The text and code on one badge.
#[derive(Debug, Clone, Copy)]
pub struct Badge<'a> {
    pub name: &'a str,
    pub company: Option<&'a str>,
    pub payload: &'a Payload,
    /// A line under the company: the answers printed on the badge.
    pub details: Option<&'a str>,
}
