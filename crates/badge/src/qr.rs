//! QR encoding: the payload's UTF-8 bytes in byte mode (no ECI header), as
//! modules ready for layout.

use fast_qr::{QRBuilder, ECL};

use crate::render::BadgeError;

/// Quiet zone around the code, in modules (ISO/IEC 18004 asks for 4).
pub const QUIET_ZONE: usize = 4;

/// Most modules (quiet zone included) that fit the ID-1 layout's 30 mm code
/// at 0.33 mm each.
const MAX_PRINT_MODULES: usize = 90;

pub struct QrModules {
    /// Modules per side, without the quiet zone.
    pub width: usize,
    dark: Vec<bool>,
}

impl QrModules {
    /// Encodes in byte mode where needed, choosing the smallest version
    /// and the best mask; no ECI header, so UTF-8 text reads as UTF-8.
    pub fn encode(data: &[u8], level: ECL) -> Result<Self, BadgeError> {
        let code = QRBuilder::new(data)
            .ecl(level)
            .build()
            .map_err(|_| BadgeError::PayloadTooLong(data.len()))?;
        let width = code.size;
        let dark = code.data[..width * width]
            .iter()
            .map(|m| m.value())
            .collect();
        Ok(QrModules { width, dark })
    }

    /// The modules row by row, without the quiet zone; `true` is dark.
    pub fn rows(&self) -> std::slice::Chunks<'_, bool> {
        self.dark.chunks(self.width)
    }

    /// Error correction M (15 % of the code may be damaged), dropping to L
    /// only when M would need so many modules that, in the ID-1 layout's
    /// 30 mm square, one would be smaller than the 0.33 mm phones need.
    pub fn for_print(data: &[u8]) -> Result<Self, BadgeError> {
        let code = Self::encode(data, ECL::M)?;
        if code.width_with_quiet_zone() <= MAX_PRINT_MODULES {
            return Ok(code);
        }
        match Self::encode(data, ECL::L) {
            Ok(low) if low.width < code.width => Ok(low),
            _ => Ok(code),
        }
    }

    /// Modules per side including the quiet zone.
    pub fn width_with_quiet_zone(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// SVG path data drawing every dark module as part of a horizontal run,
    /// one unit per module, the quiet zone included in the coordinates.
    pub fn path_data(&self) -> String {
        let mut d = String::with_capacity(self.width * self.width * 3);
        for y in 0..self.width {
            let row = &self.dark[y * self.width..(y + 1) * self.width];
            let mut x = 0;
            while x < self.width {
                if !row[x] {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.width && row[x] {
                    x += 1;
                }
                use std::fmt::Write;
                let _ = write!(
                    d,
                    "M{} {}h{}v1h-{}z",
                    start + QUIET_ZONE,
                    y + QUIET_ZONE,
                    x - start,
                    x - start
                );
            }
        }
        d
    }
}
