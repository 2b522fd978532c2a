//! Badge sizes (presets) and file formats.

use std::str::FromStr;

/// The resolutions a raster badge may be rendered at.
pub const MIN_DPI: u32 = 30;
pub const MAX_DPI: u32 = 1200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Preset {
    /// ID-1 card, 85.6 × 54 mm.
    #[default]
    Id1,
    /// The original system's 400 × 250 px layout.
    Original,
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "id1" => Ok(Preset::Id1),
            "original" => Ok(Preset::Original),
            other => Err(format!(
                "unknown preset {other:?} (expected id1 or original)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Jpeg,
    Svg,
    Pdf,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpg",
            Format::Svg => "svg",
            Format::Pdf => "pdf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Svg => "image/svg+xml",
            Format::Pdf => "application/pdf",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "png" => Ok(Format::Png),
            "jpg" | "jpeg" => Ok(Format::Jpeg),
            "svg" => Ok(Format::Svg),
            "pdf" => Ok(Format::Pdf),
            other => Err(format!(
                "unknown format {other:?} (expected png, jpg, svg or pdf)"
            )),
        }
    }
}
