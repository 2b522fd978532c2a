//! The pixels the raster fast path draws on: plain RGB, or palette indices.
//!
//! A badge is a few dozen colours: white, black, the accent, the logo's and
//! the anti-aliased edges of its text. Drawn as palette indices, it is a
//! third of the bytes to filter and compress, and the PNG is smaller, with
//! exactly the same pixels. A badge that turns out to need more than 256
//! colours (a photographic logo, say) is drawn again in RGB.

use resvg::tiny_skia;

use crate::theme::Rgb;

/// An opaque RGB image, 3 bytes a pixel: what the encoders take.
#[derive(Clone)]
pub(crate) struct Canvas {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Canvas {
    /// The badge background is opaque, so premultiplied RGBA is plain RGB plus alpha.
    pub(crate) fn from_opaque(pixmap: &tiny_skia::Pixmap) -> Canvas {
        let src = pixmap.data();
        let mut data = vec![0u8; src.len() / 4 * 3];
        for (dst, px) in data.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
            dst.copy_from_slice(&px[..3]);
        }
        Canvas {
            width: pixmap.width(),
            height: pixmap.height(),
            data,
        }
    }
}

/// What the glyph and QR drawing needs from a canvas.
pub(crate) trait Surface {
    fn width(&self) -> u32;
    fn height(&self) -> u32;
    /// Source-over of `color` at coverage `a` (1–255) onto pixel `i`.
    fn blend(&mut self, i: usize, color: Rgb, a: u8);
    /// Sets pixels `start..end` (indices into the image) to grey `value`.
    fn fill(&mut self, start: usize, end: usize, value: u8);
}

/// One channel of source-over with 8-bit coverage, rounded.
fn mix(src: u8, dst: u8, a: u8) -> u8 {
    let (src, dst, a) = (src as u32, dst as u32, a as u32);
    ((src * a + dst * (255 - a) + 127) / 255) as u8
}

fn over(src: Rgb, dst: Rgb, a: u8) -> Rgb {
    Rgb(
        mix(src.0, dst.0, a),
        mix(src.1, dst.1, a),
        mix(src.2, dst.2, a),
    )
}

impl Surface for Canvas {
    fn width(&self) -> u32 {
        self.width
    }

    fn height(&self) -> u32 {
        self.height
    }

    fn blend(&mut self, i: usize, color: Rgb, a: u8) {
        let px = &mut self.data[i * 3..i * 3 + 3];
        let out = over(color, Rgb(px[0], px[1], px[2]), a);
        px.copy_from_slice(&[out.0, out.1, out.2]);
    }

    fn fill(&mut self, start: usize, end: usize, value: u8) {
        self.data[start * 3..end * 3].fill(value);
    }
}

/// Slots in the colour → index table: at most 256 colours, so it stays at
/// most a quarter full.
const COLOR_SLOTS: usize = 1024;
const OCCUPIED: u32 = 1 << 24;

/// Slots in the cache of recent blends, (colour, background index, coverage)
/// → index: text is a few colours over a few backgrounds at 255 coverages.
const BLEND_SLOTS: usize = 1024;
const BLEND_VALID: u64 = 1 << 63;
const BLEND_KEY: u64 = !(0xff << 40);

/// An opaque image as palette indices, one byte a pixel.
#[derive(Clone)]
pub(crate) struct Indexed {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
    pub palette: Vec<Rgb>,
    /// Open addressing, `OCCUPIED | rgb` per used slot.
    color_keys: Box<[u32; COLOR_SLOTS]>,
    color_index: Box<[u8; COLOR_SLOTS]>,
    blends: Box<[u64; BLEND_SLOTS]>,
    /// Set when a colour did not fit in the palette; the image is then unusable.
    pub overflowed: bool,
}

impl Indexed {
    /// The same pixels as palette indices, or `None` if there are more than
    /// 256 colours.
    pub fn from_canvas(canvas: &Canvas) -> Option<Indexed> {
        let mut image = Indexed {
            width: canvas.width,
            height: canvas.height,
            pixels: Vec::with_capacity(canvas.data.len() / 3),
            palette: Vec::new(),
            color_keys: Box::new([0; COLOR_SLOTS]),
            color_index: Box::new([0; COLOR_SLOTS]),
            blends: Box::new([0; BLEND_SLOTS]),
            overflowed: false,
        };
        let mut last: Option<(Rgb, u8)> = None;
        for px in canvas.data.chunks_exact(3) {
            let rgb = Rgb(px[0], px[1], px[2]);
            let index = match last {
                Some((seen, index)) if seen == rgb => index,
                _ => image.index_of(rgb)?,
            };
            last = Some((rgb, index));
            image.pixels.push(index);
        }
        Some(image)
    }

    /// The palette as the PNG `PLTE` chunk wants it.
    pub fn palette_bytes(&self) -> Vec<u8> {
        self.palette.iter().flat_map(|c| [c.0, c.1, c.2]).collect()
    }

    /// The pixels expanded to RGB.
    #[cfg(test)]
    pub fn to_rgb(&self) -> Vec<u8> {
        self.pixels
            .iter()
            .flat_map(|&i| {
                let c = self.palette[i as usize];
                [c.0, c.1, c.2]
            })
            .collect()
    }

    /// The index of `rgb`, added to the palette if new; `None` when the
    /// palette is full.
    fn index_of(&mut self, rgb: Rgb) -> Option<u8> {
        let key = OCCUPIED | (rgb.0 as u32) << 16 | (rgb.1 as u32) << 8 | rgb.2 as u32;
        let mut slot = (key.wrapping_mul(0x9e37_79b1) >> 22) as usize % COLOR_SLOTS;
        loop {
            match self.color_keys[slot] {
                k if k == key => return Some(self.color_index[slot]),
                0 => break,
                _ => slot = (slot + 1) % COLOR_SLOTS,
            }
        }
        let index = u8::try_from(self.palette.len()).ok()?;
        self.palette.push(rgb);
        self.color_keys[slot] = key;
        self.color_index[slot] = index;
        Some(index)
    }
}

impl Surface for Indexed {
    fn width(&self) -> u32 {
        self.width
    }

    fn height(&self) -> u32 {
        self.height
    }

    fn blend(&mut self, i: usize, color: Rgb, a: u8) {
        let under = self.pixels[i];
        let key = BLEND_VALID
            | (color.0 as u64) << 32
            | (color.1 as u64) << 24
            | (color.2 as u64) << 16
            | (under as u64) << 8
            | a as u64;
        let slot = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize % BLEND_SLOTS;
        let cached = self.blends[slot];
        if cached & BLEND_KEY == key {
            self.pixels[i] = (cached >> 40) as u8;
            return;
        }
        let out = over(color, self.palette[under as usize], a);
        match self.index_of(out) {
            Some(index) => {
                self.pixels[i] = index;
                self.blends[slot] = key | (index as u64) << 40;
            }
            None => self.overflowed = true,
        }
    }

    fn fill(&mut self, start: usize, end: usize, value: u8) {
        match self.index_of(Rgb(value, value, value)) {
            Some(index) => self.pixels[start..end].fill(index),
            None => self.overflowed = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(width: u32, height: u32, pixel: impl Fn(u32, u32) -> Rgb) -> Canvas {
        let mut data = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let c = pixel(x, y);
                data.extend([c.0, c.1, c.2]);
            }
        }
        Canvas {
            width,
            height,
            data,
        }
    }

    #[test]
    fn indexed_drawing_gives_the_same_pixels_as_rgb() {
        // A background of 16 colours, blended over with two colours at four
        // coverages, then filled: the RGB and indexed results must agree.
        let mut rgb = canvas(64, 64, |x, y| {
            Rgb((x / 16 * 60) as u8, (y / 16 * 60) as u8, 200)
        });
        let mut indexed = Indexed::from_canvas(&rgb).expect("16 colours fit");
        assert_eq!(indexed.palette.len(), 16);
        for (n, i) in (0..64 * 64).step_by(3).enumerate() {
            let color = if n % 2 == 0 {
                Rgb(0x11, 0x11, 0x11)
            } else {
                Rgb(0xed, 0x24, 0x4b)
            };
            let a = [1, 100, 200, 255][n / 2 % 4];
            // Each (colour, background, coverage) recurs, so most of these
            // are answered from the blend cache.
            rgb.blend(i, color, a);
            indexed.blend(i, color, a);
        }
        rgb.fill(100, 180, 0);
        indexed.fill(100, 180, 0);
        assert!(!indexed.overflowed);
        assert!(indexed.palette.len() > 100, "{}", indexed.palette.len());
        assert_eq!(indexed.to_rgb(), rgb.data);
        // A few colours must always fit.
        let mut small = canvas(32, 32, |_, _| Rgb(255, 255, 255));
        let mut small_indexed = Indexed::from_canvas(&small).unwrap();
        for (i, a) in (0..1024).zip((1..=255u8).cycle()) {
            small.blend(i, Rgb(0, 0, 0), a);
            small_indexed.blend(i, Rgb(0, 0, 0), a);
        }
        assert!(!small_indexed.overflowed);
        assert_eq!(small_indexed.to_rgb(), small.data);
    }

    #[test]
    fn more_than_256_colours_is_not_indexed() {
        let rgb = canvas(17, 17, |x, y| Rgb(x as u8, y as u8, 0));
        assert!(Indexed::from_canvas(&rgb).is_none());
        let rgb = canvas(16, 16, |x, y| Rgb(x as u8, y as u8, 0));
        let mut indexed = Indexed::from_canvas(&rgb).expect("exactly 256 colours fit");
        indexed.blend(0, Rgb(1, 2, 3), 255);
        assert!(indexed.overflowed, "a 257th colour must be reported");
    }
}
