//! Where everything sits on a badge, per preset, written as SVG.
//!
//! A badge is drawn in two layers: the conference's static layer (background,
//! logo, title), the same on every badge of a conference, and the attendee's
//! layer (name, company, QR code). The raster path renders the static layer
//! once per size and draws only the attendee's layer per badge.

use std::fmt::Write;

use crate::format::Preset;
use crate::qr::QrModules;
use crate::theme::Theme;

/// The href of the conference logo inside badge SVG; resolved to the logo
/// prepared once per conference, never to anything a request supplies.
pub const LOGO_HREF: &str = "lanyard:logo";

const FONT_FAMILY: &str = "NanumGothic, 'DejaVu Sans'";

/// One line of text: its baseline origin, its preferred size and the widest it may be.
#[derive(Debug, Clone, Copy)]
pub struct TextSlot {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub max_width: f32,
    pub bold: bool,
}

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
    /// The square the QR code (quiet zone included) is drawn in.
    pub qr_x: f32,
    pub qr_y: f32,
    pub qr_side: f32,
    /// Largest module size, for presets that fix it (the original used 4 px).
    pub qr_module_max: Option<f32>,
    pub center_qr: bool,
}

impl Geometry {
    pub fn of(preset: Preset, has_subtitle: bool) -> Geometry {
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
                },
                subtitle: Some(TextSlot {
                    x: 26.0,
                    y: 13.6,
                    size: 2.6,
                    max_width: 54.6,
                    bold: false,
                }),
                name: TextSlot {
                    x: 5.0,
                    y: 30.0,
                    size: 6.4,
                    max_width: 43.0,
                    bold: true,
                },
                company: TextSlot {
                    x: 5.0,
                    y: 37.5,
                    size: 3.6,
                    max_width: 43.0,
                    bold: false,
                },
                qr_x: 51.0,
                qr_y: 19.0,
                qr_side: 30.0,
                qr_module_max: None,
                center_qr: true,
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
                },
                title: TextSlot {
                    x: 150.0,
                    y: 158.0,
                    size: 22.0,
                    max_width: 240.0,
                    bold: false,
                },
                subtitle: None,
                company: TextSlot {
                    x: 150.0,
                    y: 182.0,
                    size: 15.0,
                    max_width: 240.0,
                    bold: false,
                },
                qr_x: 15.0,
                qr_y: 100.0,
                qr_side: 135.0,
                qr_module_max: Some(4.0),
                center_qr: false,
            },
        }
    }
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
pub fn static_layer(
    out: &mut String,
    preset: Preset,
    g: &Geometry,
    theme: &Theme,
    title_size: f32,
) {
    let accent = theme.accent;
    let _ = write!(
        out,
        r##"<rect width="{}" height="{}" fill="#ffffff"/>"##,
        g.width, g.height
    );
    match preset {
        Preset::Id1 => {
            let _ = write!(
                out,
                r#"<rect width="{w}" height="2.2" fill="{accent}"/><rect y="{y}" width="{w}" height="1.8" fill="{accent}"/><image x="5" y="4.6" width="18" height="9" preserveAspectRatio="xMinYMid meet" xlink:href="{LOGO_HREF}"/>"#,
                w = g.width,
                y = g.height - 1.8,
            );
        }
        Preset::Original => {
            let _ = write!(
                out,
                r#"<image x="200" y="0" width="180" height="90" preserveAspectRatio="xMidYMid meet" xlink:href="{LOGO_HREF}"/>"#
            );
        }
    }
    text(
        out,
        "title",
        &g.title,
        title_size,
        &accent.to_string(),
        &theme.title,
    );
    if let (Some(slot), Some(subtitle)) = (g.subtitle, theme.subtitle.as_deref()) {
        text(out, "subtitle", &slot, slot.size, "#555555", subtitle);
    }
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
    g: &Geometry,
    name: &str,
    name_size: f32,
    company: Option<&str>,
    company_size: f32,
    qr: &QrModules,
    px_per_unit: Option<f32>,
) {
    text(out, "name", &g.name, name_size, "#111111", name);
    if let Some(company) = company.filter(|c| !c.trim().is_empty()) {
        text(out, "company", &g.company, company_size, "#333333", company);
    }
    let n = qr.width_with_quiet_zone();
    let (x, y, module) = qr_placement(g, n, px_per_unit);
    let side = module * n as f32;
    let _ = write!(
        out,
        r##"<rect x="{x}" y="{y}" width="{side}" height="{side}" fill="#ffffff"/><path transform="matrix({module} 0 0 {module} {x} {y})" shape-rendering="crispEdges" fill="#000000" d="{d}"/>"##,
        d = qr.path_data()
    );
}

fn text(out: &mut String, id: &str, slot: &TextSlot, size: f32, fill: &str, value: &str) {
    let weight = if slot.bold { "700" } else { "400" };
    let _ = write!(
        out,
        r#"<text id="{id}" x="{x}" y="{y}" font-family="{FONT_FAMILY}" font-size="{size}" font-weight="{weight}" fill="{fill}">"#,
        x = slot.x,
        y = slot.y,
    );
    escape_text(out, value);
    out.push_str("</text>");
}

/// Writes `value` as XML character data: markup characters become entities
/// and characters XML cannot carry are dropped, so text never becomes markup.
pub fn escape_text(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            // Korean fonts draw U+005C as a won sign; U+2216 looks like the backslash
            // that was meant. Only the printed text changes, never the QR payload.
            '\\' => out.push('\u{2216}'),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
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
    fn markup_is_escaped() {
        let mut s = String::new();
        escape_text(&mut s, "<script>&\"'\u{1}x");
        assert_eq!(s, "&lt;script&gt;&amp;&quot;&apos;x");
    }

    #[test]
    fn fitted_size_shrinks_only_when_needed() {
        assert_eq!(fitted_size(10.0, 50.0, 100.0), 10.0);
        assert!(fitted_size(10.0, 200.0, 100.0) * 200.0 / 10.0 <= 100.0);
    }
}
