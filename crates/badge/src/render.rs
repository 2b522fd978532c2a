//! The renderer: a conference's look prepared once, then any number of
//! badges drawn from it in any format.

use std::collections::HashMap;
use std::fmt;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use resvg::tiny_skia;
use usvg::{tiny_skia_path::Transform, ImageHrefResolver, ImageKind};

use crate::encode::{encode_jpeg, encode_png, Raster};
use crate::error::BadgeError;
use crate::fonts::Fonts;
use crate::format::{Format, Preset, MAX_DPI, MIN_DPI};
use crate::glyphs::GlyphRaster;
use crate::layout::{self, Geometry, LOGO_HREF};
use crate::pdf::{self, Refs};
use crate::qr::{draw_qr, QrModules};
use crate::surface::{Canvas, Indexed, Surface};
use crate::theme::{Logo, Rgb, Theme};
use crate::Badge;

static DEFAULT_LOGO: &[u8] = include_bytes!("../assets/lanyard-logo.svg");

/// Which of a badge's texts were cut to fit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shortened {
    pub name: bool,
    pub company: bool,
}

/// What a badge worker writes: the PNG the page previews and prints, and the
/// SVG. (The PDF, much slower to make, is rendered when first asked for.)
#[derive(Debug, Clone)]
pub struct BadgeSet {
    pub png: Vec<u8>,
    pub svg: Vec<u8>,
}

/// Renders the badges of one conference. Built once: fonts, logo and the
/// conference's layer are prepared here and reused for every badge.
pub struct BadgeRenderer {
    /// Tells renderers apart (a print run embeds each one's layer once).
    id: u64,
    options: usvg::Options<'static>,
    glyphs: Arc<GlyphRaster>,
    theme: Theme,
    /// The logo, prepared (an SVG's text outlined), and its size.
    logo: ImageKind,
    logo_size: (f32, f32),
    /// The conference's layer as SVG to parse (the logo by reference).
    static_layers: HashMap<Preset, String>,
    /// The same without the logo, for PDFs (which draw it themselves).
    vector_layers: HashMap<Preset, String>,
    /// The conference's layer as a self-contained SVG document without its
    /// closing tag, and the scale from the preset's units to its pixels.
    static_documents: HashMap<Preset, (String, f32)>,
    /// The conference's layer rastered once per (preset, dpi).
    backgrounds: Mutex<HashMap<(Preset, u32), Arc<Background>>>,
}

impl fmt::Debug for BadgeRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BadgeRenderer")
            .field("title", &self.theme.title)
            .finish()
    }
}

impl BadgeRenderer {
    pub fn new(fonts: &Fonts, theme: Theme) -> Result<BadgeRenderer, BadgeError> {
        let (logo, logo_size) = prepare_logo(fonts, theme.logo.as_ref())?;
        let resolved = logo.clone();
        let mut options = usvg::Options {
            fontdb: fonts.db.clone(),
            font_family: "NanumGothic".into(),
            ..usvg::Options::default()
        };
        // Images resolve only to the prepared logo: nothing in badge SVG can
        // make the renderer read a file or decode data it was not given here.
        options.image_href_resolver = ImageHrefResolver {
            resolve_data: Box::new(|_, _, _| None),
            resolve_string: Box::new(move |href, _| (href == LOGO_HREF).then(|| resolved.clone())),
        };
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let mut renderer = BadgeRenderer {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            options,
            glyphs: fonts.glyphs.clone(),
            theme,
            logo,
            logo_size,
            static_layers: HashMap::new(),
            vector_layers: HashMap::new(),
            static_documents: HashMap::new(),
            backgrounds: Mutex::new(HashMap::new()),
        };
        for preset in [Preset::Id1, Preset::Original] {
            let g = renderer.geometry(preset);
            for (logo, layers) in [
                (true, &mut renderer.static_layers),
                (false, &mut renderer.vector_layers),
            ] {
                let mut layer = String::new();
                layout::static_layer(
                    &mut layer,
                    &renderer.glyphs,
                    preset,
                    &g,
                    &renderer.theme,
                    logo,
                );
                layers.insert(preset, layer);
            }
            let tree = renderer.static_tree(preset)?;
            let mut document = tree.to_string(&Default::default());
            let end = document.rfind("</svg>").unwrap_or(document.len());
            document.truncate(end);
            let scale = tree.size().width() / g.width;
            renderer.static_documents.insert(preset, (document, scale));
        }
        Ok(renderer)
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The conference's layer alone (background, logo, title), parsed.
    fn static_tree(&self, preset: Preset) -> Result<usvg::Tree, BadgeError> {
        self.layer_tree(preset, &self.static_layers)
    }

    /// One of the layer strings `layers` keeps for `preset`, as a parsed SVG.
    fn layer_tree(
        &self,
        preset: Preset,
        layers: &HashMap<Preset, String>,
    ) -> Result<usvg::Tree, BadgeError> {
        let g = self.geometry(preset);
        let mut svg = String::new();
        layout::svg_open(&mut svg, &g);
        svg.push_str(&layers[&preset]);
        layout::svg_close(&mut svg);
        self.parse(&svg)
    }

    /// The conference's layer as one PDF form XObject in the unit square.
    pub(crate) fn pdf_layer(
        &self,
        preset: Preset,
        refs: &mut Refs,
    ) -> Result<(pdf_writer::Chunk, pdf_writer::Ref), BadgeError> {
        let tree = self.layer_tree(preset, &self.vector_layers)?;
        let logo = (&self.logo, self.logo_box(&self.geometry(preset)));
        pdf::layer(&tree, logo, refs)
    }

    /// The badge as a one-page PDF of its size.
    fn pdf(
        &self,
        badge: &Badge<'_>,
        qr: &QrModules,
        preset: Preset,
    ) -> Result<Vec<u8>, BadgeError> {
        let g = self.geometry(preset);
        let mut svg = String::with_capacity(16 * 1024);
        layout::svg_open(&mut svg, &g);
        svg.push_str(&self.vector_layers[&preset]);
        self.attendee_layer(&mut svg, &g, badge, qr);
        layout::svg_close(&mut svg);
        let tree = self.parse(&svg)?;
        let mut refs = Refs(1);
        let (form, root) = pdf::layer(&tree, (&self.logo, self.logo_box(&g)), &mut refs)?;
        // usvg works in CSS pixels (96 per inch); PDF pages are in points.
        let size = tree.size();
        Ok(pdf::document(
            form,
            root,
            &mut refs,
            size.width() * 0.75,
            size.height() * 0.75,
        ))
    }

    /// Where the logo lands, as fractions of the badge from its top-left.
    fn logo_box(&self, g: &Geometry) -> pdf::LogoBox {
        let (x, y, w, h) = g.logo.fit(self.logo_size.0, self.logo_size.1);
        (x / g.width, y / g.height, w / g.width, h / g.height)
    }

    fn geometry(&self, preset: Preset) -> Geometry {
        Geometry::of(
            preset,
            self.theme.subtitle.is_some(),
            self.theme.band.is_some(),
        )
    }

    /// Renders one badge in one format. `dpi` applies to PNG and JPEG
    /// (default 300 for `id1`, 113 — 400 × 250 px — for `original`).
    pub fn render(
        &self,
        badge: &Badge<'_>,
        preset: Preset,
        format: Format,
        dpi: Option<u32>,
    ) -> Result<Vec<u8>, BadgeError> {
        let qr = QrModules::for_print(badge.payload.as_str().as_bytes())?;
        match format {
            Format::Png => {
                let (raster, dpi) = self.raster(badge, &qr, preset, dpi, true)?;
                encode_png(&raster, dpi)
            }
            Format::Jpeg => match self.raster(badge, &qr, preset, dpi, false)? {
                (Raster::Rgb(canvas), _) => encode_jpeg(&canvas),
                (Raster::Indexed(_), _) => unreachable!("JPEG is drawn in RGB"),
            },
            Format::Svg => Ok(self.svg_document(badge, &qr, preset).into_bytes()),
            Format::Pdf => self.pdf(badge, &qr, preset),
        }
    }

    /// Renders the PNG (at the preset's default dpi) and the SVG of one badge,
    /// encoding its QR code once.
    pub fn render_set(&self, badge: &Badge<'_>, preset: Preset) -> Result<BadgeSet, BadgeError> {
        let qr = QrModules::for_print(badge.payload.as_str().as_bytes())?;
        let (raster, dpi) = self.raster(badge, &qr, preset, None, true)?;
        Ok(BadgeSet {
            png: encode_png(&raster, dpi)?,
            svg: self.svg_document(badge, &qr, preset).into_bytes(),
        })
    }

    /// The badge as an SVG file: the conference's layer as usvg wrote it
    /// once, then the attendee's layer, its glyphs each defined once.
    fn svg_document(&self, badge: &Badge<'_>, qr: &QrModules, preset: Preset) -> String {
        let g = self.geometry(preset);
        let (document, scale) = &self.static_documents[&preset];
        let mut svg = String::with_capacity(document.len() + 8 * 1024);
        svg.push_str(document);
        let _ = write!(svg, r#"<g transform="matrix({scale} 0 0 {scale} 0 0)">"#);
        self.attendee_layer(&mut svg, &g, badge, qr);
        svg.push_str("</g></svg>\n");
        svg
    }

    /// Name and company set in their slots, and the QR code, in the
    /// preset's units.
    fn attendee_layer(&self, out: &mut String, g: &Geometry, badge: &Badge<'_>, qr: &QrModules) {
        let (name, company, details) = self.blocks(g, badge);
        layout::attendee_layer(
            out,
            &self.glyphs,
            g,
            &name,
            company.as_ref(),
            details.as_ref(),
            qr,
        );
    }

    /// The name, company and line of answers as they are set on the badge.
    pub(crate) fn blocks(
        &self,
        g: &Geometry,
        badge: &Badge<'_>,
    ) -> (layout::Block, Option<layout::Block>, Option<layout::Block>) {
        let details = badge
            .details
            .filter(|d| !d.trim().is_empty())
            .map(|d| layout::block(&self.glyphs, &g.details, d));
        let mut company_slot = g.company;
        if details.is_some() {
            if let Some(w) = company_slot.wrap.as_mut() {
                w.limit = w.limit.min(g.company_limit_with_details);
            }
        }
        (
            layout::block(&self.glyphs, &g.name, badge.name),
            badge
                .company
                .filter(|c| !c.trim().is_empty())
                .map(|c| layout::block(&self.glyphs, &company_slot, c)),
            details,
        )
    }

    /// Whether the name or the company had to be cut to fit the `preset`
    /// (each is wrapped and made smaller first, down to a legible minimum).
    pub fn shortened(&self, badge: &Badge<'_>, preset: Preset) -> Shortened {
        let (name, company, _) = self.blocks(&self.geometry(preset), badge);
        Shortened {
            name: name.shortened,
            company: company.is_some_and(|c| c.shortened),
        }
    }

    /// Draws the badge's pixels: as palette indices when `indexed` is asked
    /// for and the badge has at most 256 colours, else as RGB.
    fn raster(
        &self,
        badge: &Badge<'_>,
        qr: &QrModules,
        preset: Preset,
        dpi: Option<u32>,
        indexed: bool,
    ) -> Result<(Raster, u32), BadgeError> {
        let g = self.geometry(preset);
        let dpi = dpi.unwrap_or(g.default_dpi as u32);
        if !(MIN_DPI..=MAX_DPI).contains(&dpi) {
            return Err(BadgeError::InvalidDpi(dpi));
        }
        let scale = dpi as f32 / g.units_per_inch;
        let background = self.background(preset, &g, dpi, scale)?;
        if let (true, Some(indexed)) = (indexed, &background.indexed) {
            let mut image = indexed.clone();
            self.draw_attendee(&mut image, &g, badge, qr, scale);
            if !image.overflowed {
                return Ok((Raster::Indexed(image), dpi));
            }
        }
        let mut canvas = background.rgb.clone();
        self.draw_attendee(&mut canvas, &g, badge, qr, scale);
        Ok((Raster::Rgb(canvas), dpi))
    }

    /// The attendee's layer drawn straight onto the canvas: cached glyphs and
    /// whole-pixel QR modules, at the same places the SVG layout puts them.
    fn draw_attendee<S: Surface>(
        &self,
        canvas: &mut S,
        g: &Geometry,
        badge: &Badge<'_>,
        qr: &QrModules,
        scale: f32,
    ) {
        let text = |canvas: &mut S, block: &layout::Block, color: Rgb| {
            let size = block.size * scale;
            for line in &block.lines {
                let shaped = line.shaped.scaled(size);
                self.glyphs
                    .draw(canvas, &shaped, size, line.x * scale, line.y * scale, color);
            }
        };
        let (name, company, details) = self.blocks(g, badge);
        text(canvas, &name, Rgb(0x11, 0x11, 0x11));
        if let Some(company) = company {
            text(canvas, &company, Rgb(0x33, 0x33, 0x33));
        }
        if let Some(details) = details {
            let ink = layout::DETAILS_INK.parse().unwrap_or(Rgb(0x44, 0x44, 0x44));
            text(canvas, &details, ink);
        }
        let (x, y, module) = layout::qr_placement(g, qr.width_with_quiet_zone(), Some(scale));
        draw_qr(
            canvas,
            qr,
            (x * scale).round() as i32,
            (y * scale).round() as i32,
            (module * scale).round() as i32,
        );
    }

    fn background(
        &self,
        preset: Preset,
        g: &Geometry,
        dpi: u32,
        scale: f32,
    ) -> Result<Arc<Background>, BadgeError> {
        if let Some(bg) = self
            .backgrounds
            .lock()
            .expect("background cache")
            .get(&(preset, dpi))
        {
            return Ok(bg.clone());
        }
        let width = (g.width * scale).round() as u32;
        let height = (g.height * scale).round() as u32;
        let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or_else(|| {
            BadgeError::Layout(format!("cannot allocate {width}×{height} pixels"))
        })?;
        pixmap.fill(tiny_skia::Color::WHITE);
        let tree = self.static_tree(preset)?;
        resvg::render(
            &tree,
            device_transform(&tree, &pixmap),
            &mut pixmap.as_mut(),
        );
        let rgb = Canvas::from_opaque(&pixmap);
        let background = Arc::new(Background {
            indexed: Indexed::from_canvas(&rgb),
            rgb,
        });
        self.backgrounds
            .lock()
            .expect("background cache")
            .insert((preset, dpi), background.clone());
        Ok(background)
    }

    fn parse(&self, svg: &str) -> Result<usvg::Tree, BadgeError> {
        usvg::Tree::from_str(svg, &self.options).map_err(|e| BadgeError::Layout(e.to_string()))
    }
}

/// usvg resolves physical sizes to CSS pixels; this maps them onto the pixmap.
fn device_transform(tree: &usvg::Tree, pixmap: &tiny_skia::Pixmap) -> Transform {
    Transform::from_scale(
        pixmap.width() as f32 / tree.size().width(),
        pixmap.height() as f32 / tree.size().height(),
    )
}

/// The logo as usvg resolves it, and its size in pixels (PNG) or user units (SVG).
fn prepare_logo(fonts: &Fonts, logo: Option<&Logo>) -> Result<(ImageKind, (f32, f32)), BadgeError> {
    match logo {
        Some(Logo::Png(bytes)) => {
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes.as_slice()));
            let reader = decoder
                .read_info()
                .map_err(|e| BadgeError::InvalidLogo(e.to_string()))?;
            let (w, h) = reader.info().size();
            Ok((
                ImageKind::PNG(Arc::new(bytes.clone())),
                (w as f32, h as f32),
            ))
        }
        Some(Logo::Svg(bytes)) => parse_logo_svg(fonts, bytes),
        None => parse_logo_svg(fonts, DEFAULT_LOGO),
    }
}

fn parse_logo_svg(fonts: &Fonts, bytes: &[u8]) -> Result<(ImageKind, (f32, f32)), BadgeError> {
    let options = usvg::Options {
        fontdb: fonts.db.clone(),
        // A logo may not pull in other files or images.
        image_href_resolver: ImageHrefResolver {
            resolve_data: Box::new(|_, _, _| None),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    let invalid = |e: usvg::Error| BadgeError::InvalidLogo(e.to_string());
    let tree = usvg::Tree::from_data(bytes, &options).map_err(invalid)?;
    // The logo's text, set in the bundled fonts, becomes outlines once, here:
    // usvg writes text as paths. The PDF writer then meets paths only, and is
    // built without text support (which would add a second font toolkit to
    // every build).
    let outlined = usvg::Tree::from_str(&tree.to_string(&usvg::WriteOptions::default()), &options)
        .map_err(invalid)?;
    let size = (outlined.size().width(), outlined.size().height());
    Ok((ImageKind::SVG(outlined), size))
}

/// A conference's layer rastered at one size: RGB and (when it has at most
/// 256 colours) palette indices.
struct Background {
    rgb: Canvas,
    indexed: Option<Indexed>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Payload;
    use crate::DEFAULT_ACCENT;

    fn renderer(logo: Option<Logo>, subtitle: Option<&str>) -> BadgeRenderer {
        BadgeRenderer::new(
            &Fonts::bundled(),
            Theme {
                title: "Serverless web project".into(),
                accent: DEFAULT_ACCENT,
                subtitle: subtitle.map(Into::into),
                logo,
                band: None,
            },
        )
        .unwrap()
    }

    /// A palette image holds exactly the pixels the RGB drawing makes; a
    /// badge with more than 256 colours (here, a gradient logo) is drawn in
    /// RGB instead.
    #[test]
    fn palette_pixels_equal_rgb_pixels() {
        let png_logo = Logo::from_bytes(
            std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/logo.png"
            ))
            .unwrap(),
        );
        let mut gradient = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut gradient, 64, 64);
            encoder.set_color(png::ColorType::Rgb);
            let pixels: Vec<u8> = (0..64 * 64u32)
                .flat_map(|i| [(i % 64 * 4) as u8, (i / 64 * 4) as u8, 128])
                .collect();
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&pixels).unwrap();
        }
        let subtitle = Some("Seoul · 2026-12-01");
        let mut palettes = 0;
        for (r, preset, palette_expected) in [
            (renderer(None, None), Preset::Original, true),
            (
                renderer(Some(png_logo.clone()), None),
                Preset::Original,
                true,
            ),
            (renderer(Some(png_logo), subtitle), Preset::Original, true),
            (renderer(None, None), Preset::Id1, true),
            (renderer(None, subtitle), Preset::Id1, true),
            (
                renderer(Some(Logo::from_bytes(gradient.clone())), None),
                Preset::Original,
                false,
            ),
            (
                renderer(Some(Logo::from_bytes(gradient)), None),
                Preset::Id1,
                false,
            ),
        ] {
            for (name, company) in [
                ("홍길동 1", Some("Example Corp")),
                ("Zoë Ångström-Müller", Some("Société Générale")),
                (
                    "Maximiliana Alexandrina Konstantinopolous-Wolfeschlegelsteinhausenberger",
                    None,
                ),
            ] {
                let payload = Payload::vcard(name, "010-1234-5678", company);
                let badge = Badge {
                    name,
                    company,
                    payload: &payload,
                    details: None,
                };
                let qr = QrModules::for_print(payload.as_str().as_bytes()).unwrap();
                let (Raster::Rgb(rgb), _) = r.raster(&badge, &qr, preset, None, false).unwrap()
                else {
                    panic!("RGB asked for");
                };
                match r.raster(&badge, &qr, preset, None, true).unwrap().0 {
                    Raster::Indexed(indexed) => {
                        assert!(palette_expected, "{preset:?} {name}: unexpected palette");
                        assert_eq!((indexed.width, indexed.height), (rgb.width, rgb.height));
                        assert!(
                            indexed.to_rgb() == rgb.data,
                            "{preset:?} {name}: pixels differ"
                        );
                        palettes += 1;
                    }
                    Raster::Rgb(again) => {
                        assert!(!palette_expected, "{preset:?} {name}: expected a palette");
                        assert!(again.data == rgb.data);
                    }
                }
            }
        }
        assert_eq!(palettes, 15);
    }
}
