//! PDF objects both PDF outputs share: a conference's layer as one form
//! XObject, logo included, and the one-badge document.
//!
//! svg2pdf writes the vector drawing. It is built without its image support,
//! which would compile the `image` crate and its colour management into
//! every build for the one picture a badge has: the logo is written here,
//! from the SVG tree or the PNG the renderer prepared.

use std::collections::BTreeMap;
use std::io::Cursor;

use pdf_writer::{Chunk, Content, Filter, Finish, Name, Pdf, Rect, Ref};
use usvg::ImageKind;

use crate::error::BadgeError;

/// Where the logo goes, as fractions of the drawing's width and height,
/// from its top-left corner: x, y, width, height.
pub(crate) type LogoBox = (f32, f32, f32, f32);

/// Object numbers, handed out in order.
pub(crate) struct Refs(pub(crate) i32);

impl Refs {
    pub(crate) fn next(&mut self) -> Ref {
        let id = Ref::new(self.0);
        self.0 += 1;
        id
    }
}

fn err(reason: impl ToString) -> BadgeError {
    BadgeError::Encode {
        format: "pdf",
        reason: reason.to_string(),
    }
}

/// `tree`, then `logo` over it, as one form XObject drawn in the unit
/// square (as svg2pdf's own are). Returns the objects and the form's number.
pub(crate) fn layer(
    tree: &usvg::Tree,
    (logo, (x, y, w, h)): (&ImageKind, LogoBox),
    refs: &mut Refs,
) -> Result<(Chunk, Ref), BadgeError> {
    let mut chunk = Chunk::new();
    let drawing = vector(tree, &mut chunk, refs)?;
    let picture = match logo {
        ImageKind::SVG(logo) => vector(logo, &mut chunk, refs)?,
        ImageKind::PNG(bytes) => png(bytes, &mut chunk, refs)?,
        _ => return Err(err("a logo is PNG or SVG")),
    };
    let mut content = Content::new();
    content.x_object(Name(b"D"));
    // The unit square has y up; the box is measured from the top.
    content.save_state();
    content.transform([w, 0.0, 0.0, h, x, 1.0 - y - h]);
    content.x_object(Name(b"L"));
    content.restore_state();
    let id = refs.next();
    let content = content.finish();
    let mut form = chunk.form_xobject(id, &content);
    form.bbox(Rect::new(0.0, 0.0, 1.0, 1.0));
    let mut resources = form.resources();
    let mut xobjects = resources.x_objects();
    xobjects.pair(Name(b"D"), drawing);
    xobjects.pair(Name(b"L"), picture);
    xobjects.finish();
    resources.finish();
    form.finish();
    Ok((chunk, id))
}

/// A one-page document of `width` × `height` points showing `form` (a unit
/// square form XObject, from [`layer`]) over the whole page.
pub(crate) fn document(
    form: Chunk,
    root: Ref,
    refs: &mut Refs,
    width: f32,
    height: f32,
) -> Vec<u8> {
    let (catalog, pages, page, contents) = (refs.next(), refs.next(), refs.next(), refs.next());
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut content = Content::new();
    content.transform([width, 0.0, 0.0, height, 0.0, 0.0]);
    content.x_object(Name(b"B"));
    let content = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish(), 6);
    pdf.stream(contents, &content).filter(Filter::FlateDecode);
    let mut p = pdf.page(page);
    p.parent(pages)
        .media_box(Rect::new(0.0, 0.0, width, height))
        .contents(contents);
    p.resources().x_objects().pair(Name(b"B"), root);
    p.finish();
    pdf.extend(&form);
    pdf.finish()
}

/// A vector drawing as svg2pdf writes it (paths only: text is outlined
/// before it gets here), renumbered into `refs`, into `chunk`.
fn vector(tree: &usvg::Tree, chunk: &mut Chunk, refs: &mut Refs) -> Result<Ref, BadgeError> {
    let options = svg2pdf::ConversionOptions {
        embed_text: false,
        ..Default::default()
    };
    let (own, root) = svg2pdf::to_chunk(tree, options).map_err(err)?;
    let mut map = BTreeMap::new();
    let own = own.renumber(|old| *map.entry(old).or_insert_with(|| refs.next()));
    chunk.extend(&own);
    Ok(map[&root])
}

/// A PNG as an image XObject (the unit square, as PDF images are), its
/// transparency as a soft mask.
fn png(bytes: &[u8], chunk: &mut Chunk, refs: &mut Refs) -> Result<Ref, BadgeError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(err)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| err("logo too large"))?;
    let mut pixels = vec![0; size];
    let frame = reader.next_frame(&mut pixels).map_err(err)?;
    pixels.truncate(frame.buffer_size());
    let (colours, alpha) = match frame.color_type {
        png::ColorType::Grayscale => (1, false),
        png::ColorType::GrayscaleAlpha => (1, true),
        png::ColorType::Rgb => (3, false),
        png::ColorType::Rgba => (3, true),
        png::ColorType::Indexed => return Err(err("a palette left after expansion")),
    };
    let step = colours + usize::from(alpha);
    let colour: Vec<u8> = pixels
        .chunks_exact(step)
        .flat_map(|p| &p[..colours])
        .copied()
        .collect();
    let mask: Option<Vec<u8>> = alpha
        .then(|| {
            pixels
                .chunks_exact(step)
                .map(|p| p[colours])
                .collect::<Vec<u8>>()
        })
        .filter(|m| m.iter().any(|&a| a != u8::MAX));
    let (width, height) = (frame.width as i32, frame.height as i32);
    let deflate = |data: &[u8]| miniz_oxide::deflate::compress_to_vec_zlib(data, 6);
    let mask = mask.map(|mask| {
        let id = refs.next();
        let data = deflate(&mask);
        let mut image = chunk.image_xobject(id, &data);
        image.filter(Filter::FlateDecode);
        image.width(width).height(height).bits_per_component(8);
        image.color_space().device_gray();
        image.finish();
        id
    });
    let id = refs.next();
    let data = deflate(&colour);
    let mut image = chunk.image_xobject(id, &data);
    image.filter(Filter::FlateDecode);
    image.width(width).height(height).bits_per_component(8);
    if colours == 3 {
        image.color_space().device_rgb();
    } else {
        image.color_space().device_gray();
    }
    if let Some(mask) = mask {
        image.s_mask(mask);
    }
    // Scaled smoothly, as the PNG badge draws it.
    image.interpolate(true);
    image.finish();
    Ok(id)
}
