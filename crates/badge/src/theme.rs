//! How a conference's badges look: title, accent colour, subtitle, logo.

use std::fmt;
use std::str::FromStr;

/// The original system's title red.
pub const DEFAULT_ACCENT: Rgb = Rgb(0xed, 0x24, 0x4b);

/// An sRGB colour, written `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl FromStr for Rgb {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s
            .strip_prefix('#')
            .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| format!("expected a colour like #ed244b, got {s:?}"))?;
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex digits");
        Ok(Rgb(byte(0), byte(2), byte(4)))
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// A conference logo as its file bytes.
#[derive(Debug, Clone)]
pub enum Logo {
    Png(Vec<u8>),
    Svg(Vec<u8>),
}

impl Logo {
    /// Tells PNG from SVG by content, not by name.
    pub fn from_bytes(bytes: Vec<u8>) -> Logo {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Logo::Png(bytes)
        } else {
            Logo::Svg(bytes)
        }
    }
}

/// How a conference's badges look.
#[derive(Debug, Clone)]
pub struct Theme {
    pub title: String,
    pub accent: Rgb,
    /// A date or venue line under the title.
    pub subtitle: Option<String>,
    /// `None` uses lanyard's own logo.
    pub logo: Option<Logo>,
    /// A category's band across the badge's foot (`SPEAKER`).
    pub band: Option<Band>,
}

/// A band printed across the badge's foot: its text on its colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    pub text: String,
    pub colour: Rgb,
}

impl Rgb {
    /// Black or white, whichever reads better on this colour (WCAG's
    /// relative luminance against the two contrasts).
    pub fn ink(self) -> Rgb {
        let channel = |c: u8| {
            let c = f32::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let l = 0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2);
        // Contrast with white (1.05 / (l + 0.05)) against with black ((l + 0.05) / 0.05).
        if 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 {
            Rgb(0xff, 0xff, 0xff)
        } else {
            Rgb(0x11, 0x11, 0x11)
        }
    }
}
