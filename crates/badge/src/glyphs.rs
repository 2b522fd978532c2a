//! Text: the font chain's faces, shaping, and drawing.
//!
//! Every line of text on a badge, in every format, is shaped here: each
//! character in the first face of the chain that has it, each run of one
//! face shaped by rustybuzz (ligatures, marks, Indic reordering), and a
//! line that mixes directions ordered by the Unicode bidirectional
//! algorithm. Rasters draw glyph coverage masks rendered once per (face,
//! glyph, size, subpixel phase) and reused; SVG and PDF use the outlines.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, RwLock};

use resvg::tiny_skia::{FillRule, Mask, PathBuilder, Transform};
use rustybuzz::ttf_parser::{GlyphId, OutlineBuilder};
use rustybuzz::{Direction, Face, UnicodeBuffer};
use unicode_bidi::{bidi_class, BidiClass, BidiInfo};

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
use usvg::fontdb;

use crate::surface::Surface;
use crate::theme::Rgb;

/// Subpixel positions per pixel a glyph is cached at.
const PHASES: f32 = 4.0;
/// Entries kept before the cache is emptied (names shrunk to fit use odd sizes).
const MAX_CACHED: usize = 50_000;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct GlyphKey {
    face: u16,
    glyph: u16,
    /// Size in 1/64 px.
    size: u32,
    phase: u8,
}

struct Coverage {
    left: i32,
    top: i32,
    width: u32,
    height: u32,
    alpha: Vec<u8>,
}

/// One shaped glyph: which face, which glyph, where (in px from the origin).
#[derive(Clone, Copy)]
pub struct Placed {
    pub(crate) face: u16,
    pub(crate) glyph: u16,
    pub(crate) x: f32,
    pub(crate) y: f32,
    /// The bytes of [`Shaped::text`] this glyph draws (empty for the second
    /// and later glyphs of one cluster).
    pub(crate) text: (u32, u32),
}

#[derive(Clone)]
pub struct Shaped {
    pub glyphs: Vec<Placed>,
    /// Advance width in px.
    pub width: f32,
    /// The text as drawn (control characters dropped, a backslash as `∖`).
    pub text: String,
}

/// One face the renderer draws with, and the file it was parsed from.
pub(crate) struct LoadedFace {
    pub(crate) face: Face<'static>,
    pub(crate) data: &'static [u8],
    /// The face's index in its file (font collections hold several).
    pub(crate) index: u32,
    /// The PostScript name, for PDF font names.
    pub(crate) name: String,
}

impl LoadedFace {
    pub(crate) fn parse(data: &'static [u8], index: u32) -> Option<LoadedFace> {
        let face = Face::from_slice(data, index)?;
        let name = face
            .names()
            .into_iter()
            .find(|n| n.name_id == rustybuzz::ttf_parser::name_id::POST_SCRIPT_NAME)
            .and_then(|n| n.to_string())
            .filter(|n| !n.is_empty())
            .map(|n| {
                n.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect()
            })
            .unwrap_or_else(|| "Font".to_owned());
        Some(LoadedFace {
            face,
            data,
            index,
            name,
        })
    }

    /// Whether the face draws `c` with an outline (a bitmap-only glyph,
    /// as in colour emoji fonts, cannot be drawn here).
    fn draws(&self, c: char) -> bool {
        let Some(glyph) = self.face.glyph_index(c) else {
            return false;
        };
        self.face.glyph_bounding_box(glyph).is_some() || is_blank(c)
    }
}

/// The text as drawn: line breaks and tabs as spaces, control characters
/// dropped, and a backslash as `∖` (Korean fonts draw U+005C as a won
/// sign; only the printed text changes, never the QR payload).
pub(crate) fn clean_text(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            '\\' => Some('\u{2216}'),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => None,
            c => Some(c),
        })
        .collect()
}

/// The line's runs of one direction, in visual order: whether each is
/// right-to-left, and its bytes. Text with no right-to-left character is
/// one left-to-right run without running the algorithm.
fn visual_runs(text: &str) -> Vec<(bool, Range<usize>)> {
    let rtl = |c: char| matches!(bidi_class(c), BidiClass::R | BidiClass::AL);
    if !text.chars().any(rtl) {
        return vec![(false, 0..text.len())];
    }
    let info = BidiInfo::new(text, None);
    let mut runs = Vec::new();
    for paragraph in &info.paragraphs {
        let (levels, visual) = info.visual_runs(paragraph, paragraph.range.clone());
        for run in visual {
            runs.push((levels[run.start].is_rtl(), run));
        }
    }
    runs
}

impl Shaped {
    /// The same line at `k` times the size: shaping has no hinting, so
    /// every position scales exactly, and a line is shaped once.
    pub fn scaled(&self, k: f32) -> Shaped {
        Shaped {
            glyphs: self
                .glyphs
                .iter()
                .map(|g| Placed {
                    x: g.x * k,
                    y: g.y * k,
                    ..*g
                })
                .collect(),
            width: self.width * k,
            text: self.text.clone(),
        }
    }
}

/// Characters drawn as nothing on purpose: spaces and the invisible
/// controls of shaping (joiners, variation selectors, soft hyphen).
pub(crate) fn is_blank(c: char) -> bool {
    c.is_whitespace()
        || matches!(c as u32,
            0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0xFE00..=0xFE0F | 0xFEFF
            | 0xE0000..=0xE0FFF)
}

/// The fonts installed on the system, as fontdb found them.
struct Installed {
    db: fontdb::Database,
    ids: Vec<fontdb::ID>,
    /// For every code point, 1 + the slot in `ids` of the first outline
    /// face that maps it (0: none). Built on first need: one pass over each
    /// font's character map, so a later lookup costs nothing whatever the
    /// text asks for.
    index: Option<Vec<u32>>,
    /// Slot in `ids` → index in [`GlyphRaster::faces`], once loaded.
    loaded: HashMap<u32, u16>,
}

impl Installed {
    fn face_for(&mut self, c: char) -> Option<u32> {
        self.build_index();
        let entry = self.index.as_ref()?[c as usize];
        entry.checked_sub(1)
    }

    fn build_index(&mut self) {
        if self.index.is_none() {
            let mut index = vec![0u32; 0x11_0000];
            for (slot, &id) in self.ids.iter().enumerate() {
                self.db.with_face_data(id, |data, face_index| {
                    let Ok(face) = rustybuzz::ttf_parser::Face::parse(data, face_index) else {
                        return;
                    };
                    let tables = face.tables();
                    if tables.glyf.is_none() && tables.cff.is_none() && tables.cff2.is_none() {
                        return; // bitmap glyphs only (colour emoji): not drawable here
                    }
                    let Some(cmap) = tables.cmap else { return };
                    for sub in cmap.subtables {
                        if !sub.is_unicode() {
                            continue;
                        }
                        sub.codepoints(|cp| {
                            if let Some(entry) = index.get_mut(cp as usize) {
                                if *entry == 0 {
                                    *entry = slot as u32 + 1;
                                }
                            }
                        });
                    }
                });
            }
            self.index = Some(index);
        }
    }
}

pub struct GlyphRaster {
    /// Faces in the order they are tried. The first four are NanumGothic,
    /// NanumGothic Bold, DejaVu Sans and DejaVu Sans Bold; the bundled
    /// fallbacks and the configured files follow, then installed fonts as
    /// they are first needed.
    faces: RwLock<Vec<Arc<LoadedFace>>>,
    /// Installed fonts not yet drawn with, searched for characters the
    /// faces above lack.
    installed: Option<Mutex<Installed>>,
    /// The face chosen for a character outside the first four, or none.
    fallback: RwLock<HashMap<(char, bool), Option<u16>>>,
    cache: RwLock<HashMap<GlyphKey, Arc<Coverage>>>,
}

/// Faces always present, at these indices.
const CORE_FACES: usize = 4;

impl GlyphRaster {
    /// `faces` starts with the four core faces; `installed` holds the
    /// system's fonts, consulted only for characters none of `faces` has.
    pub(crate) fn new(faces: Vec<LoadedFace>, installed: Option<fontdb::Database>) -> Self {
        assert!(faces.len() >= CORE_FACES, "the core faces come first");
        GlyphRaster {
            faces: RwLock::new(faces.into_iter().map(Arc::new).collect()),
            installed: installed.map(|db| {
                Mutex::new(Installed {
                    ids: db.faces().map(|f| f.id).collect(),
                    db,
                    index: None,
                    loaded: HashMap::new(),
                })
            }),
            fallback: RwLock::new(HashMap::new()),
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// Reads the installed fonts' character maps now rather than on the
    /// first character that needs them (which may be inside a request).
    pub(crate) fn index_installed(&self) {
        if let Some(installed) = &self.installed {
            installed.lock().expect("installed fonts").build_index();
        }
    }

    pub(crate) fn face(&self, index: u16) -> Arc<LoadedFace> {
        self.faces.read().expect("faces")[index as usize].clone()
    }

    /// The characters of `text` that no face can draw, each once, in order.
    pub fn missing(&self, text: &str) -> Vec<char> {
        let mut missing: Vec<char> = Vec::new();
        for c in text.chars() {
            if is_blank(c) || c.is_control() || missing.contains(&c) {
                continue;
            }
            let core = self.faces.read().expect("faces")[..CORE_FACES]
                .iter()
                .any(|f| f.draws(c));
            if !core && self.fallback_face(c, false).is_none() {
                missing.push(c);
            }
        }
        missing
    }

    fn face_for(&self, c: char, bold: bool) -> u16 {
        let order: &[u16] = if bold { &[1, 3, 0, 2] } else { &[0, 2] };
        let faces = self.faces.read().expect("faces");
        if let Some(i) = order
            .iter()
            .copied()
            .find(|&i| faces[i as usize].face.glyph_index(c).is_some())
        {
            return i;
        }
        drop(faces);
        self.fallback_face(c, bold).unwrap_or(order[0])
    }

    /// The first face after the core four that draws `c`: a bundled or
    /// configured one, else an installed font, loaded now and kept.
    fn fallback_face(&self, c: char, bold: bool) -> Option<u16> {
        if let Some(&known) = self.fallback.read().expect("fallback").get(&(c, bold)) {
            return known;
        }
        let found = self.find_fallback(c, bold);
        let mut fallback = self.fallback.write().expect("fallback");
        if fallback.len() >= MAX_CACHED {
            fallback.clear();
        }
        fallback.insert((c, bold), found);
        found
    }

    fn find_fallback(&self, c: char, bold: bool) -> Option<u16> {
        {
            let faces = self.faces.read().expect("faces");
            let candidates = || faces.iter().enumerate().skip(CORE_FACES);
            let weighted = candidates().find(|(_, f)| f.face.is_bold() == bold && f.draws(c));
            if let Some((i, _)) = weighted.or_else(|| candidates().find(|(_, f)| f.draws(c))) {
                return Some(i as u16);
            }
        }
        let mut installed = self.installed.as_ref()?.lock().expect("installed fonts");
        let slot = installed.face_for(c)?;
        if let Some(&loaded) = installed.loaded.get(&slot) {
            return Some(loaded);
        }
        let id = installed.ids[slot as usize];
        let (data, index) = installed
            .db
            .with_face_data(id, |data, index| (data.to_vec(), index))?;
        // Kept for the life of the process: the face borrows the bytes, and
        // fonts are loaded once, at start; each installed face at most once.
        let data: &'static [u8] = Box::leak(data.into_boxed_slice());
        let face = LoadedFace::parse(data, index)?;
        if !face.draws(c) {
            return None;
        }
        let mut faces = self.faces.write().expect("faces");
        if faces.len() >= u16::MAX as usize {
            return None;
        }
        faces.push(Arc::new(face));
        let loaded = (faces.len() - 1) as u16;
        installed.loaded.insert(slot, loaded);
        Some(loaded)
    }

    /// Splits `text` into runs of one face each: every character in the
    /// first face of the chain that has it, except that spaces, joiners and
    /// combining marks stay with the character before them when its face
    /// has them (a vowel sign is shaped with its consonant).
    pub(crate) fn runs(&self, text: &str, bold: bool) -> Vec<(u16, String)> {
        let mut runs: Vec<(u16, String)> = Vec::new();
        for c in text.chars() {
            let attached = is_blank(c) || c.general_category_group() == GeneralCategoryGroup::Mark;
            let face = match runs.last() {
                Some(&(face, _))
                    if attached
                        && (is_blank(c) || self.face(face).face.glyph_index(c).is_some()) =>
                {
                    face
                }
                _ => self.face_for(c, bold),
            };
            match runs.last_mut() {
                Some((f, s)) if *f == face => s.push(c),
                _ => runs.push((face, c.to_string())),
            }
        }
        runs
    }

    /// Shapes one line at `size` px: each character in the face the font
    /// chain picks for it, and a line that mixes directions put in visual
    /// order by the Unicode bidirectional algorithm.
    pub fn shape(&self, text: &str, bold: bool, size: f32) -> Shaped {
        let clean = clean_text(text);
        let mut glyphs = Vec::with_capacity(clean.len());
        let mut pen = 0.0f32;
        for (rtl, range) in visual_runs(&clean) {
            // Runs of one face in logical order, each with where it starts.
            let mut at = range.start;
            let mut runs: Vec<(u16, usize, String)> = self
                .runs(&clean[range], bold)
                .into_iter()
                .map(|(face, run)| {
                    let start = at;
                    at += run.len();
                    (face, start, run)
                })
                .collect();
            if rtl {
                runs.reverse();
            }
            for (face_index, run_start, run) in runs {
                let loaded = self.face(face_index);
                let face = &loaded.face;
                let scale = size / face.units_per_em() as f32;
                let mut buffer = UnicodeBuffer::new();
                buffer.push_str(&run);
                buffer.guess_segment_properties();
                buffer.set_direction(if rtl {
                    Direction::RightToLeft
                } else {
                    Direction::LeftToRight
                });
                let shaped = rustybuzz::shape(face, &[], buffer);
                let infos = shaped.glyph_infos();
                let mut starts: Vec<u32> = infos.iter().map(|g| g.cluster).collect();
                starts.sort_unstable();
                starts.dedup();
                let run_start = run_start as u32;
                for (i, (info, pos)) in infos.iter().zip(shaped.glyph_positions()).enumerate() {
                    // A cluster's text ends where the next larger cluster starts.
                    let first_of_cluster = i == 0 || infos[i - 1].cluster != info.cluster;
                    let next = starts.partition_point(|&c| c <= info.cluster);
                    let end = starts.get(next).copied().unwrap_or(run.len() as u32);
                    let text = if first_of_cluster {
                        (run_start + info.cluster, run_start + end)
                    } else {
                        (0, 0)
                    };
                    glyphs.push(Placed {
                        face: face_index,
                        glyph: info.glyph_id as u16,
                        x: pen + pos.x_offset as f32 * scale,
                        y: -(pos.y_offset as f32) * scale,
                        text,
                    });
                    pen += pos.x_advance as f32 * scale;
                }
            }
        }
        Shaped {
            glyphs,
            width: pen,
            text: clean,
        }
    }

    pub(crate) fn units_per_em(&self, face: u16) -> f32 {
        self.face(face).face.units_per_em() as f32
    }

    /// Whether the glyph has an outline to draw (a space has none).
    pub(crate) fn has_outline(&self, face: u16, glyph: u16) -> bool {
        self.face(face)
            .face
            .glyph_bounding_box(GlyphId(glyph))
            .is_some()
    }

    /// The glyph's outline as SVG path data, in font units, y up.
    pub(crate) fn outline_svg(&self, face: u16, glyph: u16) -> Option<String> {
        let mut d = SvgPath(String::new());
        self.face(face).face.outline_glyph(GlyphId(glyph), &mut d)?;
        Some(d.0)
    }

    /// Draws shaped text with its baseline starting at (`x`, `y`) px.
    pub fn draw<S: Surface>(
        &self,
        canvas: &mut S,
        shaped: &Shaped,
        size: f32,
        x: f32,
        y: f32,
        color: Rgb,
    ) {
        let size_key = (size * 64.0).round() as u32;
        for g in &shaped.glyphs {
            let gx = x + g.x;
            let origin_x = gx.floor();
            let phase = ((gx - origin_x) * PHASES).floor() as u8;
            let origin_y = (y + g.y).round();
            let key = GlyphKey {
                face: g.face,
                glyph: g.glyph,
                size: size_key,
                phase,
            };
            let Some(coverage) = self.coverage(key, size) else {
                continue;
            };
            blend(
                canvas,
                &coverage,
                origin_x as i32 + coverage.left,
                origin_y as i32 + coverage.top,
                color,
            );
        }
    }

    fn coverage(&self, key: GlyphKey, size: f32) -> Option<Arc<Coverage>> {
        if let Some(c) = self.cache.read().expect("glyph cache").get(&key) {
            return Some(c.clone());
        }
        let coverage = Arc::new(self.rasterize(key, size)?);
        let mut cache = self.cache.write().expect("glyph cache");
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, coverage.clone());
        Some(coverage)
    }

    fn rasterize(&self, key: GlyphKey, size: f32) -> Option<Coverage> {
        let loaded = self.face(key.face);
        let face = &loaded.face;
        let scale = size / face.units_per_em() as f32;
        let mut outline = Outline {
            builder: PathBuilder::new(),
            scale,
            dx: key.phase as f32 / PHASES,
        };
        face.outline_glyph(GlyphId(key.glyph), &mut outline)?;
        let path = outline.builder.finish()?;
        let b = path.bounds();
        let (left, top) = (b.left().floor() as i32 - 1, b.top().floor() as i32 - 1);
        let width = (b.right().ceil() as i32 - left + 1).max(1) as u32;
        let height = (b.bottom().ceil() as i32 - top + 1).max(1) as u32;
        let mut mask = Mask::new(width, height)?;
        mask.fill_path(
            &path,
            FillRule::Winding,
            true,
            Transform::from_translate(-left as f32, -top as f32),
        );
        Some(Coverage {
            left,
            top,
            width,
            height,
            alpha: mask.data().to_vec(),
        })
    }
}

/// Path data in font units; TrueType points are whole units, CFF ones
/// are rounded to a tenth.
struct SvgPath(String);

impl SvgPath {
    fn point(&mut self, x: f32, y: f32) {
        use std::fmt::Write;
        let r = |v: f32| (v * 10.0).round() / 10.0;
        let _ = write!(self.0, "{} {}", r(x), r(y));
    }
}

impl OutlineBuilder for SvgPath {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.push('M');
        self.point(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.0.push('L');
        self.point(x, y);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.0.push('Q');
        self.point(x1, y1);
        self.0.push(' ');
        self.point(x, y);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.0.push('C');
        self.point(x1, y1);
        self.0.push(' ');
        self.point(x2, y2);
        self.0.push(' ');
        self.point(x, y);
    }
    fn close(&mut self) {
        self.0.push('Z');
    }
}

struct Outline {
    builder: PathBuilder,
    scale: f32,
    dx: f32,
}

impl OutlineBuilder for Outline {
    fn move_to(&mut self, x: f32, y: f32) {
        self.builder
            .move_to(x * self.scale + self.dx, -y * self.scale);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.builder
            .line_to(x * self.scale + self.dx, -y * self.scale);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let s = self.scale;
        self.builder
            .quad_to(x1 * s + self.dx, -y1 * s, x * s + self.dx, -y * s);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let s = self.scale;
        self.builder.cubic_to(
            x1 * s + self.dx,
            -y1 * s,
            x2 * s + self.dx,
            -y2 * s,
            x * s + self.dx,
            -y * s,
        );
    }
    fn close(&mut self) {
        self.builder.close();
    }
}

/// Source-over of a solid colour through a coverage mask onto the canvas.
fn blend<S: Surface>(canvas: &mut S, c: &Coverage, x0: i32, y0: i32, color: Rgb) {
    let (pw, ph) = (canvas.width() as i32, canvas.height() as i32);
    for row in 0..c.height as i32 {
        let py = y0 + row;
        if py < 0 || py >= ph {
            continue;
        }
        let alpha = &c.alpha[(row as u32 * c.width) as usize..][..c.width as usize];
        for (col, &a) in alpha.iter().enumerate() {
            let px = x0 + col as i32;
            if a == 0 || px < 0 || px >= pw {
                continue;
            }
            canvas.blend((py * pw + px) as usize, color, a);
        }
    }
}
