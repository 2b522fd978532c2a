//! Pixels into file bytes: PNG (RGB or palette) and JPEG.

use crate::error::BadgeError;
use crate::surface::{Canvas, Indexed};

/// A badge's pixels, ready for an encoder.
pub(crate) enum Raster {
    Rgb(Canvas),
    Indexed(Indexed),
}

pub(crate) fn encode_png(raster: &Raster, dpi: u32) -> Result<Vec<u8>, BadgeError> {
    let err = |e: png::EncodingError| BadgeError::Encode {
        format: "png",
        reason: e.to_string(),
    };
    let (width, height, data) = match raster {
        Raster::Rgb(c) => (c.width, c.height, &c.data),
        Raster::Indexed(i) => (i.width, i.height, &i.pixels),
    };
    let mut out = Vec::with_capacity(data.len() / 8);
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        match raster {
            Raster::Rgb(_) => encoder.set_color(png::ColorType::Rgb),
            Raster::Indexed(i) => {
                encoder.set_color(png::ColorType::Indexed);
                encoder.set_palette(i.palette_bytes());
            }
        }
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        // A badge is mostly flat rows: "up" filtering compresses them almost as
        // well as trying every filter per row, at half the cost.
        encoder.set_filter(png::Filter::Up);
        // Tell printers the physical size.
        let per_metre = (dpi as f64 / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
        let mut writer = encoder.write_header().map_err(err)?;
        writer.write_image_data(data).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(out)
}

pub(crate) fn encode_jpeg(canvas: &Canvas) -> Result<Vec<u8>, BadgeError> {
    let err = |e: jpeg_encoder::EncodingError| BadgeError::Encode {
        format: "jpeg",
        reason: e.to_string(),
    };
    let (Ok(w), Ok(h)) = (u16::try_from(canvas.width), u16::try_from(canvas.height)) else {
        return Err(BadgeError::Encode {
            format: "jpeg",
            reason: "image wider or taller than 65535 pixels".into(),
        });
    };
    let mut out = Vec::with_capacity(canvas.data.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 92);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    encoder
        .encode(&canvas.data, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(err)?;
    Ok(out)
}
