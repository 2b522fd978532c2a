//! Where everything sits on a badge, per preset, written as SVG.
//!
//! A badge is drawn in two layers: the conference's static layer (background,
//! logo, title), the same on every badge of a conference, and the attendee's
//! layer (name, company, QR code). The raster path renders the static layer
//! once per size and draws only the attendee's layer per badge.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::format::Preset;
use crate::glyphs::{clean_text, GlyphRaster, Shaped};
use crate::qr::QrModules;
use crate::theme::Theme;

/// The href of the conference logo inside badge SVG; resolved to the logo
/// prepared once per conference, never to anything a request supplies.
pub const LOGO_HREF: &str = "lanyard:logo";

/// The smallest a name is ever printed, in points (about 3.2 mm capitals
/// and lower case that read at arm's length).
pub const NAME_MIN_PT: f32 = 9.0;
/// The smallest a company is ever printed, in points.
pub const COMPANY_MIN_PT: f32 = 7.0;

/// Where a text goes: its first baseline's origin, its preferred size and
/// the widest a line may be; and, for text that may wrap, how many lines it
/// may take, how small it may get, and how far its lines may reach.
#[derive(Debug, Clone, Copy)]
pub struct TextSlot {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub max_width: f32,
    pub bold: bool,
    pub wrap: Option<Wrap>,
}

#[derive(Debug, Clone, Copy)]
pub struct Wrap {
    pub max_lines: usize,
    pub min_size: f32,
    /// Lines stack upwards from the baseline (the last line on it) and
    /// their tops stay below `limit`; else they stack downwards and their
    /// descents stay above it.
    pub upwards: bool,
    pub limit: f32,
}

/// The box the logo is fitted in: it keeps its proportions, is as large as
/// the box allows, centred vertically, and centred or flush left.
#[derive(Debug, Clone, Copy)]
pub struct LogoSlot {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub centred: bool,
}

impl LogoSlot {
    /// Where a logo `width` × `height` (in any unit) lands: x, y, width,
    /// height, as `preserveAspectRatio="xMinYMid meet"` (or `xMidYMid`) puts it.
    pub fn fit(&self, width: f32, height: f32) -> (f32, f32, f32, f32) {
        let scale = (self.width / width).min(self.height / height);
        let (w, h) = (width * scale, height * scale);
        let x = if self.centred {
            self.x + (self.width - w) / 2.0
        } else {
            self.x
        };
        (x, self.y + (self.height - h) / 2.0, w, h)
    }

    fn align(&self) -> &'static str {
        if self.centred {
            "xMidYMid meet"
        } else {
            "xMinYMid meet"
        }
    }
}

/// The colour of the line of answers.
pub const DETAILS_INK: &str = "#444444";

/// Line height as a multiple of the size.
const LEADING: f32 = 1.2;
/// How far above the baseline capitals reach, and below it descenders, as
/// a multiple of the size (generous for the scripts the fonts cover).
const ASCENT: f32 = 0.8;
const DESCENT: f32 = 0.25;

#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub width: f32,
    pub height: f32,
    /// Unit of `width`/`height` in the SVG root (`mm` for print presets).
    pub unit: &'static str,
    /// User units per inch, to turn a dpi into a scale.
    pub units_per_inch: f32,
    pub default_dpi: f32,
    pub name: TextSlot,
    pub company: TextSlot,
    pub title: TextSlot,
    pub subtitle: Option<TextSlot>,
    pub logo: LogoSlot,
    /// The square the QR code (quiet zone included) is drawn in.
    pub qr_x: f32,
    pub qr_y: f32,
    pub qr_side: f32,
    /// Largest module size, for presets that fix it (the original used 4 px).
    pub qr_module_max: Option<f32>,
    pub center_qr: bool,
    /// The line of answers under the company.
    pub details: TextSlot,
    /// Where the company's lines must end when a line of answers follows.
    pub company_limit_with_details: f32,
    /// A category's band: its top, and its text's slot.
    pub band: Option<(f32, TextSlot)>,
}

impl Geometry {
    pub fn of(preset: Preset, has_subtitle: bool, has_band: bool) -> Geometry {
        let mut g = Geometry::plain(preset, has_subtitle);
        if has_band {
            match preset {
                Preset::Id1 => {
                    g.band = Some((
                        47.5,
                        TextSlot {
                            x: 5.0,
                            y: 52.3,
                            size: 4.4,
                            max_width: 75.6,
                            bold: true,
                            wrap: None,
                        },
                    ));
                    // The code moves up off the band, its quiet zone kept.
                    g.qr_y = 16.5;
                    if let Some(w) = g.company.wrap.as_mut() {
                        w.limit = 46.8;
                    }
                }
                Preset::Original => {
                    g.band = Some((
                        236.0,
                        TextSlot {
                            x: 150.0,
                            y: 247.0,
                            size: 11.0,
                            max_width: 240.0,
                            bold: true,
                            wrap: None,
                        },
                    ));
                    if let Some(w) = g.company.wrap.as_mut() {
                        w.limit = 232.0;
                    }
                }
            }
        }
        g
    }

    fn plain(preset: Preset, has_subtitle: bool) -> Geometry {
        match preset {
            // ID-1 card, 85.6 × 54 mm, drawn in millimetres.
            Preset::Id1 => Geometry {
                width: 85.6,
                height: 54.0,
                unit: "mm",
                units_per_inch: 25.4,
                default_dpi: 300.0,
                title: TextSlot {
                    x: 26.0,
                    y: if has_subtitle { 9.4 } else { 11.0 },
                    size: 3.8,
                    max_width: 54.6,
                    bold: true,
                    wrap: None,
                },
                subtitle: Some(TextSlot {
                    x: 26.0,
                    y: 13.6,
                    size: 2.6,
                    max_width: 54.6,
                    bold: false,
                    wrap: None,
                }),
                logo: LogoSlot {
                    x: 5.0,
                    y: 4.6,
                    width: 18.0,
                    height: 9.0,
                    centred: false,
                },
                name: TextSlot {
                    x: 5.0,
                    y: 30.0,
                    size: 6.4,
                    max_width: 43.0,
                    bold: true,
                    wrap: Some(Wrap {
                        max_lines: 3,
                        min_size: points(NAME_MIN_PT, 25.4),
                        upwards: true,
                        limit: 17.0,
                    }),
                },
                company: TextSlot {
                    x: 5.0,
                    y: 37.5,
                    size: 3.6,
                    max_width: 43.0,
                    bold: false,
                    wrap: Some(Wrap {
                        max_lines: 2,
                        min_size: points(COMPANY_MIN_PT, 25.4),
                        upwards: false,
                        limit: 50.5,
                    }),
                },
                qr_x: 51.0,
                qr_y: 19.0,
                qr_side: 30.0,
                qr_module_max: None,
                center_qr: true,
                details: TextSlot {
                    x: 5.0,
                    y: 45.8,
                    size: 3.0,
                    max_width: 43.0,
                    bold: false,
                    wrap: None,
                },
                company_limit_with_details: 43.0,
                band: None,
            },
            // The original system's 400 × 250 px JPEG: QR at (15,100) with 4 px
            // modules, text from x = 150 (PIL's top-left origins moved to baselines).
            Preset::Original => Geometry {
                width: 400.0,
                height: 250.0,
                unit: "",
                // 400 px across about 90 mm: the original's 113 dpi.
                units_per_inch: 113.0,
                default_dpi: 113.0,
                name: TextSlot {
                    x: 150.0,
                    y: 127.0,
                    size: 20.0,
                    max_width: 240.0,
                    bold: false,
                    wrap: Some(Wrap {
                        max_lines: 3,
                        min_size: points(NAME_MIN_PT, 113.0),
                        upwards: true,
                        limit: 92.0,
                    }),
                },
                title: TextSlot {
                    x: 150.0,
                    y: 158.0,
                    size: 22.0,
                    max_width: 240.0,
                    bold: false,
                    wrap: None,
                },
                subtitle: None,
                logo: LogoSlot {
                    x: 200.0,
                    y: 0.0,
                    width: 180.0,
                    height: 90.0,
                    centred: true,
                },
                company: TextSlot {
                    x: 150.0,
                    y: 182.0,
                    size: 15.0,
                    max_width: 240.0,
                    bold: false,
                    wrap: Some(Wrap {
                        max_lines: 2,
                        min_size: points(COMPANY_MIN_PT, 113.0),
                        upwards: false,
                        limit: 242.0,
                    }),
                },
                qr_x: 15.0,
                qr_y: 100.0,
                qr_side: 135.0,
                qr_module_max: Some(4.0),
                center_qr: false,
                details: TextSlot {
                    x: 150.0,
                    y: 212.0,
                    size: 13.0,
                    max_width: 240.0,
                    bold: false,
                    wrap: None,
                },
                company_limit_with_details: 199.0,
                band: None,
            },
        }
    }
}

/// `pt` points in units of which `units_per_inch` make an inch.
const fn points(pt: f32, units_per_inch: f32) -> f32 {
    pt * units_per_inch / 72.0
}

pub fn svg_open(out: &mut String, g: &Geometry) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}{u}" height="{h}{u}" viewBox="0 0 {w} {h}">"#,
        w = g.width,
        h = g.height,
        u = g.unit
    );
}

pub fn svg_close(out: &mut String) {
    out.push_str("</svg>");
}

/// The conference's layer: background, accent bands, logo, title, subtitle.
/// Without `logo`, the logo is left for the caller to draw (PDFs do).
pub fn static_layer(
    out: &mut String,
    glyphs: &GlyphRaster,
    preset: Preset,
    g: &Geometry,
    theme: &Theme,
    logo: bool,
) {
    let accent = theme.accent;
    let _ = write!(
        out,
        r##"<rect width="{}" height="{}" fill="#ffffff"/>"##,
        g.width, g.height
    );
    if preset == Preset::Id1 && theme.band.is_none() {
        let _ = write!(
            out,
            r#"<rect width="{w}" height="2.2" fill="{accent}"/><rect y="{y}" width="{w}" height="1.8" fill="{accent}"/>"#,
            w = g.width,
            y = g.height - 1.8,
        );
    }
    if logo {
        let slot = g.logo;
        let _ = write!(
            out,
            r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="{}" xlink:href="{LOGO_HREF}"/>"#,
            slot.x,
            slot.y,
            slot.width,
            slot.height,
            slot.align(),
        );
    }
    let mut defs = GlyphDefs::new("lt");
    if let (Some((top, slot)), Some(band)) = (g.band, &theme.band) {
        let _ = write!(
            out,
            r#"<rect y="{top}" width="{w}" height="{h}" fill="{c}"/>"#,
            w = g.width,
            h = g.height - top,
            c = band.colour,
        );
        let text_block = block(glyphs, &slot, &band.text);
        text(
            out,
            &mut defs,
            glyphs,
            "band",
            &band.colour.ink().to_string(),
            &text_block,
        );
    }
    let title = block(glyphs, &g.title, &theme.title);
    text(out, &mut defs, glyphs, "title", &accent.to_string(), &title);
    if let (Some(slot), Some(subtitle)) = (g.subtitle, theme.subtitle.as_deref()) {
        let subtitle = block(glyphs, &slot, subtitle);
        text(out, &mut defs, glyphs, "subtitle", "#555555", &subtitle);
    }
    defs.write(out, glyphs);
}

/// Where the code goes and how big a module is, optionally snapped to whole
/// device pixels (`px_per_unit`) so every module has the same width when rastered.
pub fn qr_placement(g: &Geometry, modules: usize, px_per_unit: Option<f32>) -> (f32, f32, f32) {
    let mut module = g.qr_side / modules as f32;
    if let Some(max) = g.qr_module_max {
        module = module.min(max);
    }
    if let Some(p) = px_per_unit {
        module = ((module * p).floor().max(1.0)) / p;
    }
    let side = module * modules as f32;
    let (mut x, mut y) = if g.center_qr {
        (
            g.qr_x + (g.qr_side - side) / 2.0,
            g.qr_y + (g.qr_side - side) / 2.0,
        )
    } else {
        (g.qr_x, g.qr_y)
    };
    if let Some(p) = px_per_unit {
        x = (x * p).round() / p;
        y = (y * p).round() / p;
    }
    (x, y, module)
}

/// The attendee's layer: name, company and the QR code.
#[allow(clippy::too_many_arguments)]
pub fn attendee_layer(
    out: &mut String,
    glyphs: &GlyphRaster,
    g: &Geometry,
    name: &Block,
    company: Option<&Block>,
    details: Option<&Block>,
    qr: &QrModules,
) {
    let mut defs = GlyphDefs::new("lg");
    text(out, &mut defs, glyphs, "name", "#111111", name);
    if let Some(company) = company {
        text(out, &mut defs, glyphs, "company", "#333333", company);
    }
    if let Some(details) = details {
        text(out, &mut defs, glyphs, "details", DETAILS_INK, details);
    }
    let n = qr.width_with_quiet_zone();
    let (x, y, module) = qr_placement(g, n, None);
    let side = module * n as f32;
    let _ = write!(
        out,
        r##"<rect x="{x}" y="{y}" width="{side}" height="{side}" fill="#ffffff"/><path transform="matrix({module} 0 0 {module} {x} {y})" shape-rendering="crispEdges" fill="#000000" d="{d}"/>"##,
        d = qr.path_data()
    );
    defs.write(out, glyphs);
}

/// Glyph outlines a drawing uses, each defined once (in font units) and
/// drawn with `<use>`: a line of one repeated letter costs a few bytes a
/// letter, not its outline each time.
pub struct GlyphDefs {
    /// Keeps the ids of two layers drawn in one document apart.
    prefix: &'static str,
    used: BTreeSet<(u16, u16)>,
}

impl GlyphDefs {
    pub fn new(prefix: &'static str) -> GlyphDefs {
        GlyphDefs {
            prefix,
            used: BTreeSet::new(),
        }
    }

    /// The `<defs>` element holding every outline used.
    pub fn write(&self, out: &mut String, glyphs: &GlyphRaster) {
        if self.used.is_empty() {
            return;
        }
        out.push_str("<defs>");
        for &(face, glyph) in &self.used {
            let d = glyphs.outline_svg(face, glyph).unwrap_or_default();
            let _ = write!(
                out,
                r#"<path id="{p}{face}-{glyph}" d="{d}"/>"#,
                p = self.prefix
            );
        }
        out.push_str("</defs>");
    }
}

/// A text's lines as glyphs shaped by the font chain (every character in
/// the face that has it, directions in visual order).
fn text(
    out: &mut String,
    defs: &mut GlyphDefs,
    glyphs: &GlyphRaster,
    id: &str,
    fill: &str,
    block: &Block,
) {
    let _ = write!(out, r#"<g id="{id}" fill="{fill}">"#);
    for line in &block.lines {
        let shaped = line.shaped.scaled(block.size);
        for g in &shaped.glyphs {
            if !glyphs.has_outline(g.face, g.glyph) {
                continue;
            }
            defs.used.insert((g.face, g.glyph));
            let scale = block.size / glyphs.units_per_em(g.face);
            let _ = write!(
                out,
                r##"<use xlink:href="#{p}{f}-{n}" transform="matrix({scale} 0 0 {neg} {x} {y})"/>"##,
                p = defs.prefix,
                f = g.face,
                n = g.glyph,
                neg = -scale,
                x = line.x + g.x,
                y = line.y + g.y,
            );
        }
    }
    out.push_str("</g>");
}

/// A text set in its slot: its lines and their baselines, one size for
/// all, and whether it had to be shortened to fit.
#[derive(Clone)]
pub struct Block {
    pub lines: Vec<Line>,
    pub size: f32,
    pub shortened: bool,
}

#[derive(Clone)]
pub struct Line {
    pub x: f32,
    pub y: f32,
    /// The line shaped at size 1: scale it by the block's size to draw.
    pub shaped: Shaped,
}

/// Sets `value` in `slot`: on one line at the preferred size when it fits;
/// else on as many lines (up to the slot's limit) as give the largest size,
/// never below the slot's minimum; and only when even that cannot hold it,
/// cut with an ellipsis (`shortened`). Lines break between words, and
/// inside a word (never before a mark or joiner) only when the word alone
/// is too wide.
pub fn block(glyphs: &GlyphRaster, slot: &TextSlot, value: &str) -> Block {
    let text = clean_text(value).trim().to_owned();
    let width_at = |t: &str, size: f32| glyphs.shape(t, slot.bold, size).width;
    let unit = glyphs.shape(&text, slot.bold, 1.0);
    let one = unit.width;
    let Some(wrap) = slot.wrap.filter(|_| one * slot.size > slot.max_width) else {
        return Block {
            size: fitted_size(slot.size, one * slot.size, slot.max_width),
            lines: vec![Line {
                x: slot.x,
                y: slot.y,
                shaped: unit,
            }],
            shortened: false,
        };
    };
    // The largest size `n` lines allow vertically.
    let room = |n: usize| {
        let reach = if wrap.upwards {
            slot.y - wrap.limit
        } else {
            wrap.limit - slot.y
        };
        let per_size = (n - 1) as f32 * LEADING + if wrap.upwards { ASCENT } else { DESCENT };
        (reach / per_size).min(slot.size)
    };
    let tokens = tokens(&text, |t| width_at(t, wrap.min_size) > slot.max_width);
    let widths: Vec<f32> = tokens.iter().map(|t| width_at(t, 1.0)).collect();
    let mut best: Option<(f32, Vec<String>)> = None;
    for n in 1..=wrap.max_lines {
        let lines = balanced(&tokens, &widths, n);
        if lines.len() > n {
            continue;
        }
        let widest = lines
            .iter()
            .map(|l| width_at(l, 1.0))
            .fold(0.0f32, f32::max);
        let size = fitted_size(slot.size, widest * slot.size, slot.max_width).min(room(n));
        // Another line only for a clearly larger size (15 %).
        if size >= wrap.min_size && best.as_ref().is_none_or(|(b, _)| size > *b * 1.15) {
            best = Some((size, lines));
        }
    }
    let (size, lines, shortened) = match best {
        Some((size, lines)) => (size, lines, false),
        None => {
            // As many lines as fit at the minimum size (never smaller).
            let max_lines = (1..=wrap.max_lines)
                .rev()
                .find(|&n| room(n) >= wrap.min_size)
                .unwrap_or(1);
            let size = wrap.min_size;
            let fits = |t: &str| width_at(t, size) <= slot.max_width;
            let mut lines = Vec::new();
            let mut rest = tokens.as_slice();
            while !rest.is_empty() && lines.len() < max_lines {
                let mut take = 1;
                while take < rest.len() && fits(rest[..=take].concat().trim_end()) {
                    take += 1;
                }
                lines.push(rest[..take].concat().trim_end().to_owned());
                rest = &rest[take..];
            }
            let mut last = lines.pop().unwrap_or_default();
            loop {
                let candidate = format!("{}…", last.trim_end());
                if fits(&candidate) || last.is_empty() {
                    lines.push(candidate);
                    break;
                }
                last.pop();
            }
            (size, lines, true)
        }
    };
    let step = size * LEADING;
    let first = if wrap.upwards {
        slot.y - (lines.len() - 1) as f32 * step
    } else {
        slot.y
    };
    Block {
        lines: lines
            .into_iter()
            .enumerate()
            .map(|(i, text)| Line {
                shaped: glyphs.shape(&text, slot.bold, 1.0),
                x: slot.x,
                y: first + i as f32 * step,
            })
            .collect(),
        size,
        shortened,
    }
}

/// Words with the spaces (or the hyphen) after them; a word `too_wide` is
/// split into its characters (a mark or joiner stays with the character
/// before it).
fn tokens(text: &str, too_wide: impl Fn(&str) -> bool) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for c in text.chars() {
        match words.last_mut() {
            Some(w) if !(w.ends_with(' ') || w.ends_with('-')) || c == ' ' => w.push(c),
            _ => words.push(c.to_string()),
        }
    }
    let mut tokens = Vec::new();
    for word in words {
        if !too_wide(word.trim_end()) {
            tokens.push(word);
            continue;
        }
        for c in word.chars() {
            match tokens.last_mut() {
                Some(t) if is_attached(c) => t.push(c),
                _ => tokens.push(c.to_string()),
            }
        }
    }
    tokens
}

fn is_attached(c: char) -> bool {
    use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
    c == ' '
        || c.general_category_group() == GeneralCategoryGroup::Mark
        || matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}')
}

/// Breaks the tokens into at most `n` lines of even width if it can: the
/// narrowest line width for which filling lines greedily takes `n` lines.
fn balanced(tokens: &[String], widths: &[f32], n: usize) -> Vec<String> {
    let fill = |limit: f32| {
        let mut lines: Vec<(String, f32)> = Vec::new();
        for (t, &w) in tokens.iter().zip(widths) {
            match lines.last_mut() {
                Some((line, lw)) if *lw + w <= limit => {
                    line.push_str(t);
                    *lw += w;
                }
                _ => lines.push((t.clone(), w)),
            }
        }
        lines
            .into_iter()
            .map(|(l, _)| l.trim_end().to_owned())
            .collect::<Vec<_>>()
    };
    let total: f32 = widths.iter().sum();
    let (mut low, mut high) = (total / n as f32, total + 1.0);
    for _ in 0..24 {
        let mid = (low + high) / 2.0;
        if fill(mid).len() <= n {
            high = mid;
        } else {
            low = mid;
        }
    }
    fill(high)
}

/// The size at which text measured `width` wide at `size` fits in `max_width`.
pub fn fitted_size(size: f32, width: f32, max_width: f32) -> f32 {
    if width <= max_width || width <= 0.0 {
        size
    } else {
        // A hair under the exact ratio so rounding never tips it over.
        size * (max_width / width) * 0.995
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_size_shrinks_only_when_needed() {
        assert_eq!(fitted_size(10.0, 50.0, 100.0), 10.0);
        assert!(fitted_size(10.0, 200.0, 100.0) * 200.0 / 10.0 <= 100.0);
    }
}
