//! Print runs: any number of ID-1 badges in one PDF, laid out on a sheet of
//! label or card stock.
//!
//! The document is written as a stream. Each page goes to the writer as soon
//! as its cells are full; what stays in memory is one page's drawing, the
//! byte offset of every object written, and the glyphs used so far. Each
//! conference's layer (background, logo, title) is one form XObject that
//! every badge of that conference draws; the attendee's name and company
//! are text, each face embedded once at the end of the document as a subset
//! of the glyphs the run used (TrueType whole, CFF as its bare program);
//! faces with CFF2 outlines, which a PDF font cannot carry as they are, are
//! drawn as paths. QR codes are filled rectangles. The same badges in the
//! same order give the same bytes.
//!
//! `pdf-writer` writes the objects and `subsetter` the font subsets; what is
//! written here is the part no library offers: placing a page's objects in a
//! stream as they are made, and the cross-reference table that follows.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Chunk, Content, Filter, Finish, Name, Rect, Ref, Str};
use rustybuzz::ttf_parser::{Face, GlyphId, OutlineBuilder, RawFace, Tag};
use subsetter::GlyphRemapper;

use crate::error::BadgeError;
use crate::fonts::Fonts;
use crate::format::Preset;
use crate::glyphs::{GlyphRaster, Shaped};
use crate::layout::{self, Geometry};
use crate::pdf::Refs;
use crate::qr::{QrModules, QUIET_ZONE};
use crate::render::BadgeRenderer;
use crate::sheet::{PrintOptions, Sheet, BADGE_HEIGHT_MM, BADGE_WIDTH_MM};
use crate::Badge;

/// Points per millimetre.
const PT: f32 = 72.0 / 25.4;
/// Cut marks: how far from the grid they stop, and their longest length (mm).
const MARK_GAP: f32 = 1.5;
const MARK_LENGTH: f32 = 6.0;

const SYSTEM_INFO: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};
/// The resource name of the font made from face `index`.
fn font_resource(index: u16) -> String {
    format!("F{index}")
}

/// One face as used so far: which glyphs, and the text each draws.
#[derive(Default)]
struct FontUse {
    remapper: Option<GlyphRemapper>,
    /// Old glyph id → the text it draws, for the `ToUnicode` map.
    text: BTreeMap<u16, String>,
}

/// A PDF of badges on a sheet, written to `W` as the badges are added.
pub struct PrintRun<W: Write> {
    out: W,
    written: u64,
    sheet: Sheet,
    options: PrintOptions,
    glyphs: Arc<GlyphRaster>,
    refs: Refs,
    /// Every object written: its number and where it starts.
    offsets: Vec<(Ref, u64)>,
    catalog: Ref,
    page_tree: Ref,
    resources: Ref,
    pages: Vec<Ref>,
    /// The faces used so far, by index in the font chain.
    fonts: BTreeMap<u16, FontUse>,
    /// One form XObject per conference: renderer id, resource name, object.
    layers: Vec<(u64, String, Ref)>,
    page: Option<Content>,
    /// The cell the next badge goes in, on the current page.
    cell: u32,
    badges: u64,
    failed: bool,
}

impl<W: Write> PrintRun<W> {
    /// Starts a document on `sheet`; nothing is checked later that could
    /// have been checked here.
    pub fn new(
        out: W,
        fonts: &Fonts,
        sheet: &Sheet,
        options: PrintOptions,
    ) -> Result<Self, BadgeError> {
        sheet.validate()?;
        options.validate(sheet)?;
        let mut run = PrintRun {
            out,
            written: 0,
            sheet: sheet.clone(),
            options,
            glyphs: fonts.glyphs.clone(),
            refs: Refs(1),
            offsets: Vec::new(),
            catalog: Ref::new(1),
            page_tree: Ref::new(1),
            resources: Ref::new(1),
            pages: Vec::new(),
            fonts: Default::default(),
            layers: Vec::new(),
            page: None,
            cell: options.skip,
            badges: 0,
            failed: false,
        };
        run.catalog = run.alloc();
        run.page_tree = run.alloc();
        run.resources = run.alloc();
        // The binary comment tells transfer programs the file is binary.
        run.write(b"%PDF-1.7\n%\x80\x80\x80\x80\n")?;
        Ok(run)
    }

    /// Badges placed so far.
    pub fn badges(&self) -> u64 {
        self.badges
    }

    /// Whether a write to the output has failed: the run cannot go on.
    pub fn failed_writing(&self) -> bool {
        self.failed
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Places one badge, drawn with its conference's renderer, in the next cell.
    pub fn add(&mut self, renderer: &BadgeRenderer, badge: &Badge<'_>) -> Result<(), BadgeError> {
        let qr = QrModules::for_print(badge.payload.as_str().as_bytes())?;
        let layer = self.layer(renderer)?;
        if self.cell >= self.sheet.cells_per_page() {
            self.end_page()?;
            self.cell = 0;
        }
        let (x, y) = self.sheet.badge_origin(self.cell);
        let (x, y) = (x + self.options.offset_x, y + self.options.offset_y);
        let page_height = self.sheet.page_height;
        let g = Geometry::of(
            Preset::Id1,
            renderer.theme().subtitle.is_some(),
            renderer.theme().band.is_some(),
        );
        // Each line of the name, company and answers as set on the badge:
        // its origin, size, glyphs and grey.
        let (name, company, details) = renderer.blocks(&g, badge);
        let shaped: Vec<((f32, f32), f32, Shaped, f32)> =
            [(Some(name), 0x11), (company, 0x33), (details, 0x44)]
                .into_iter()
                .filter_map(|(block, grey)| Some((block?, grey)))
                .flat_map(|(block, grey)| {
                    block
                        .lines
                        .iter()
                        .map(move |line| {
                            (
                                (line.x, line.y),
                                block.size,
                                line.shaped.scaled(block.size),
                                grey as f32 / 255.0,
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
        for (_, _, s, _) in &shaped {
            self.note_glyphs(s);
        }

        let content = self.page.get_or_insert_with(Content::new);
        // The conference's layer, scaled from its unit square to the badge.
        content.save_state();
        content.transform([
            BADGE_WIDTH_MM * PT,
            0.0,
            0.0,
            BADGE_HEIGHT_MM * PT,
            x * PT,
            (page_height - y - BADGE_HEIGHT_MM) * PT,
        ]);
        content.x_object(Name(layer.as_bytes()));
        content.restore_state();
        // The attendee's layer, in millimetres from the badge's top-left
        // corner with y pointing down, as the layout is written.
        content.save_state();
        content.transform([PT, 0.0, 0.0, -PT, x * PT, (page_height - y) * PT]);
        let (qx, qy, module) = layout::qr_placement(&g, qr.width_with_quiet_zone(), None);
        content.set_fill_gray(0.0);
        for (row, dark) in qr.rows().enumerate() {
            let top = qy + (QUIET_ZONE + row) as f32 * module;
            let mut col = 0;
            while col < dark.len() {
                if !dark[col] {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < dark.len() && dark[col] {
                    col += 1;
                }
                content.rect(
                    qx + (QUIET_ZONE + start) as f32 * module,
                    top,
                    (col - start) as f32 * module,
                    module,
                );
            }
        }
        content.fill_nonzero();
        for (origin, size, shaped, grey) in &shaped {
            draw_text(
                content,
                &self.fonts,
                &self.glyphs,
                *origin,
                *size,
                shaped,
                *grey,
            );
        }
        content.restore_state();
        self.cell += 1;
        self.badges += 1;
        Ok(())
    }

    /// Writes the fonts, the shared resources, the page tree and the
    /// cross-reference table, and hands the writer back.
    pub fn finish(mut self) -> Result<W, BadgeError> {
        if self.page.is_some() || self.pages.is_empty() {
            self.end_page()?;
        }
        let mut font_refs = Vec::new();
        let used: Vec<u16> = self.fonts.keys().copied().collect();
        for face in used {
            let type0 = self.write_font(face)?;
            font_refs.push((font_resource(face), type0));
        }
        let (resources, layers) = (self.resources, self.layers.clone());
        self.object(resources, |chunk, id| {
            let mut dict = chunk.indirect(id).dict();
            let mut fonts = dict.insert(Name(b"Font")).dict();
            for (name, font) in &font_refs {
                fonts.pair(Name(name.as_bytes()), *font);
            }
            fonts.finish();
            let mut xobjects = dict.insert(Name(b"XObject")).dict();
            for (_, name, layer) in &layers {
                xobjects.pair(Name(name.as_bytes()), *layer);
            }
        })?;
        let (page_tree, pages) = (self.page_tree, std::mem::take(&mut self.pages));
        self.object(page_tree, |chunk, id| {
            chunk
                .pages(id)
                .kids(pages.iter().copied())
                .count(pages.len() as i32);
        })?;
        let catalog = self.catalog;
        self.object(catalog, |chunk, id| {
            chunk
                .indirect(id)
                .dict()
                .pair(Name(b"Type"), Name(b"Catalog"))
                .pair(Name(b"Pages"), page_tree);
        })?;
        self.write_xref()?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn alloc(&mut self) -> Ref {
        self.refs.next()
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), BadgeError> {
        if let Err(e) = self.out.write_all(bytes) {
            self.failed = true;
            return Err(e.into());
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes one indirect object, recording where it starts.
    fn object(&mut self, id: Ref, f: impl FnOnce(&mut Chunk, Ref)) -> Result<(), BadgeError> {
        let mut chunk = Chunk::new();
        f(&mut chunk, id);
        self.offsets.push((id, self.written));
        self.write(chunk.as_bytes())
    }

    /// The resource name of a conference's layer, written on first use.
    fn layer(&mut self, renderer: &BadgeRenderer) -> Result<String, BadgeError> {
        if let Some((_, name, _)) = self.layers.iter().find(|l| l.0 == renderer.id()) {
            return Ok(name.clone());
        }
        let (chunk, root) = renderer.pdf_layer(Preset::Id1, &mut self.refs)?;
        // The chunk's objects follow one another as `N 0 obj … endobj`;
        // their offsets are found from their headers, in order.
        let bytes = chunk.as_bytes();
        let mut from = 0;
        for id in chunk.refs() {
            let header = format!("{} 0 obj\n", id.get());
            let at = find(&bytes[from..], header.as_bytes())
                .filter(|&at| from + at == 0 || bytes[..from + at].ends_with(b"endobj\n\n"))
                .ok_or_else(|| BadgeError::Encode {
                    format: "pdf",
                    reason: format!("object {} of the conference layer not found", id.get()),
                })?;
            self.offsets.push((id, self.written + (from + at) as u64));
            from += at + header.len();
        }
        self.write(bytes)?;
        let name = format!("L{}", self.layers.len());
        self.layers.push((renderer.id(), name.clone(), root));
        Ok(name)
    }

    fn note_glyphs(&mut self, shaped: &Shaped) {
        for g in &shaped.glyphs {
            if outlined(&self.glyphs.face(g.face).face) {
                continue;
            }
            let font = self.fonts.entry(g.face).or_default();
            font.remapper
                .get_or_insert_with(GlyphRemapper::new)
                .remap(g.glyph);
            let (start, end) = (g.text.0 as usize, g.text.1 as usize);
            if end > start {
                font.text
                    .entry(g.glyph)
                    .or_insert_with(|| shaped.text[start..end].to_owned());
            }
        }
    }

    /// Writes the current page (cut marks included) and its content.
    fn end_page(&mut self) -> Result<(), BadgeError> {
        let mut content = self.page.take().unwrap_or_else(Content::new);
        if self.options.cut_marks {
            self.cut_marks(&mut content);
        }
        let data = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish(), 6);
        let (page, contents) = (self.alloc(), self.alloc());
        let (parent, resources) = (self.page_tree, self.resources);
        let media = Rect::new(
            0.0,
            0.0,
            self.sheet.page_width * PT,
            self.sheet.page_height * PT,
        );
        self.object(page, |chunk, id| {
            chunk
                .page(id)
                .parent(parent)
                .media_box(media)
                .contents(contents)
                .pair(Name(b"Resources"), resources);
        })?;
        self.object(contents, |chunk, id| {
            chunk.stream(id, &data).filter(Filter::FlateDecode);
        })?;
        self.pages.push(page);
        Ok(())
    }

    /// Short lines in the page margins, in line with every cell edge, that
    /// stop short of the grid.
    fn cut_marks(&self, content: &mut Content) {
        let s = &self.sheet;
        let (dx, dy) = (self.options.offset_x, self.options.offset_y);
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for c in 0..s.columns {
            let (x, _) = s.cell_origin(c);
            xs.extend([x + dx, x + s.cell_width + dx]);
        }
        for r in 0..s.rows {
            let (_, y) = s.cell_origin(r * s.columns);
            ys.extend([y + dy, y + s.cell_height + dy]);
        }
        let (left, right) = (xs[0], xs[xs.len() - 1]);
        let (top, bottom) = (ys[0], ys[ys.len() - 1]);
        let y_pt = |y: f32| (s.page_height - y) * PT;
        content.save_state();
        content.set_line_width(0.25);
        content.set_stroke_gray(0.0);
        let mut line = |x1: f32, y1: f32, x2: f32, y2: f32| {
            content.move_to(x1 * PT, y_pt(y1));
            content.line_to(x2 * PT, y_pt(y2));
        };
        for &x in &xs {
            let above = (top - MARK_GAP).min(MARK_LENGTH);
            if above > 0.5 {
                line(x, top - MARK_GAP - above, x, top - MARK_GAP);
            }
            let below = (s.page_height - bottom - MARK_GAP).min(MARK_LENGTH);
            if below > 0.5 {
                line(x, bottom + MARK_GAP, x, bottom + MARK_GAP + below);
            }
        }
        for &y in &ys {
            let before = (left - MARK_GAP).min(MARK_LENGTH);
            if before > 0.5 {
                line(left - MARK_GAP - before, y, left - MARK_GAP, y);
            }
            let after = (s.page_width - right - MARK_GAP).min(MARK_LENGTH);
            if after > 0.5 {
                line(right + MARK_GAP, y, right + MARK_GAP + after, y);
            }
        }
        content.stroke();
        content.restore_state();
    }

    /// One face as a subset Type 0 font with its widths and text map.
    fn write_font(&mut self, face_index: u16) -> Result<Ref, BadgeError> {
        let loaded = self.glyphs.face(face_index);
        let face = &loaded.face;
        let used = &self.fonts[&face_index];
        let remapper = used.remapper.as_ref().expect("a used face");
        let units = face.units_per_em() as f32;
        let to_pdf = |v: f32| v / units * 1000.0;
        let subset = subsetter::subset(loaded.data, loaded.index, remapper).map_err(|e| {
            BadgeError::Encode {
                format: "pdf",
                reason: format!("subsetting {}: {e}", loaded.name),
            }
        })?;
        // A subset is named with six capitals that follow from its glyphs,
        // so the same run gives the same name.
        let mut hash: u32 = 0x811c_9dc5;
        for gid in remapper.remapped_gids() {
            for b in gid.to_be_bytes() {
                hash = (hash ^ b as u32).wrapping_mul(0x0100_0193);
            }
        }
        let tag: String = (0..6)
            .map(|i| (b'A' + ((hash >> (i * 5)) % 26) as u8) as char)
            .collect();
        let base_font = format!("{tag}+{}", loaded.name);
        let widths: Vec<f32> = remapper
            .remapped_gids()
            .map(|gid| to_pdf(face.glyph_hor_advance(GlyphId(gid)).unwrap_or(0) as f32))
            .collect();
        let mut cmap = UnicodeCmap::new(Name(b"Custom"), SYSTEM_INFO);
        for (&old, text) in &used.text {
            if let Some(new) = remapper.get(old) {
                cmap.pair_with_multiple(new, text.chars());
            }
        }
        let cmap = cmap.finish();
        let bbox = face.global_bounding_box();
        let bbox = Rect::new(
            to_pdf(bbox.x_min as f32),
            to_pdf(bbox.y_min as f32),
            to_pdf(bbox.x_max as f32),
            to_pdf(bbox.y_max as f32),
        );
        let ascent = to_pdf(face.ascender() as f32);
        let descent = to_pdf(face.descender() as f32);
        let cap_height = face
            .capital_height()
            .map(|h| to_pdf(h as f32))
            .unwrap_or(ascent);
        // A CFF subset is embedded as its bare CFF program (a CIDFontType0
        // font); a TrueType one whole (CIDFontType2).
        let cff = face.tables().cff.is_some();
        let program = if cff {
            RawFace::parse(&subset, 0)
                .ok()
                .and_then(|raw| raw.table(Tag::from_bytes(b"CFF ")))
                .ok_or_else(|| BadgeError::Encode {
                    format: "pdf",
                    reason: format!("subsetting {}: no CFF table in the subset", loaded.name),
                })?
        } else {
            &subset[..]
        };
        let data = miniz_oxide::deflate::compress_to_vec_zlib(program, 6);

        let (type0, cid, descriptor, unicode, file) = (
            self.alloc(),
            self.alloc(),
            self.alloc(),
            self.alloc(),
            self.alloc(),
        );
        let name = if cff {
            format!("{base_font}-Identity-H")
        } else {
            base_font.clone()
        };
        self.object(type0, |chunk, id| {
            chunk
                .type0_font(id)
                .base_font(Name(name.as_bytes()))
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid)
                .to_unicode(unicode);
        })?;
        let name = base_font.clone();
        self.object(cid, |chunk, id| {
            let mut font = chunk.cid_font(id);
            font.subtype(if cff {
                CidFontType::Type0
            } else {
                CidFontType::Type2
            })
            .base_font(Name(name.as_bytes()))
            .system_info(SYSTEM_INFO)
            .font_descriptor(descriptor)
            .default_width(0.0);
            if !cff {
                font.cid_to_gid_map_predefined(Name(b"Identity"));
            }
            font.widths().consecutive(0, widths.iter().copied());
        })?;
        let bold = face.is_bold();
        self.object(descriptor, |chunk, id| {
            let mut descriptor = chunk.font_descriptor(id);
            descriptor
                .name(Name(base_font.as_bytes()))
                .flags(FontFlags::NON_SYMBOLIC)
                .bbox(bbox)
                .italic_angle(0.0)
                .ascent(ascent)
                .descent(descent)
                .cap_height(cap_height)
                .stem_v(if bold { 140.0 } else { 80.0 });
            if cff {
                descriptor.font_file3(file);
            } else {
                descriptor.font_file2(file);
            }
        })?;
        self.object(unicode, |chunk, id| {
            chunk.cmap(id, &cmap);
        })?;
        self.object(file, |chunk, id| {
            let mut stream = chunk.stream(id, &data);
            stream.filter(Filter::FlateDecode);
            if cff {
                stream.pair(Name(b"Subtype"), Name(b"CIDFontType0C"));
            }
        })?;
        Ok(type0)
    }

    fn write_xref(&mut self) -> Result<(), BadgeError> {
        let mut offsets = std::mem::take(&mut self.offsets);
        offsets.sort_by_key(|(id, _)| id.get());
        let size = self.refs.0;
        let start = self.written;
        let mut table = Vec::with_capacity(32 + 20 * size as usize);
        write!(table, "xref\n0 {size}\n0000000000 65535 f\r\n")?;
        let mut next = offsets.iter().peekable();
        for id in 1..size {
            match next.peek() {
                Some((r, at)) if r.get() == id => {
                    write!(table, "{at:010} 00000 n\r\n")?;
                    next.next();
                }
                // Allocated and never written: a free entry.
                _ => write!(table, "0000000000 00001 f\r\n")?,
            }
        }
        write!(
            table,
            "trailer\n<< /Size {size} /Root {} 0 R >>\nstartxref\n{start}\n%%EOF\n",
            self.catalog.get()
        )?;
        self.write(&table)
    }
}

/// Whether a face's glyphs are drawn as outlines rather than shown as text
/// in an embedded font: CFF2 (variable) outlines, which a PDF font cannot
/// carry without converting them.
fn outlined(face: &Face<'_>) -> bool {
    let tables = face.tables();
    tables.glyf.is_none() && tables.cff.is_none()
}

/// Draws shaped text with its baseline at `(x, y)`. Glyphs are
/// shown in runs of one face; where the shaper moved a glyph from where the
/// font's advance would put it (kerning), the run says so.
fn draw_text(
    content: &mut Content,
    fonts: &BTreeMap<u16, FontUse>,
    glyphs: &GlyphRaster,
    (x, y): (f32, f32),
    size: f32,
    shaped: &Shaped,
    grey: f32,
) {
    content.set_fill_gray(grey);
    let mut i = 0;
    while i < shaped.glyphs.len() {
        let first = shaped.glyphs[i];
        let end = shaped.glyphs[i..]
            .iter()
            .position(|g| g.face != first.face || g.y != first.y)
            .map_or(shaped.glyphs.len(), |n| i + n);
        let run = &shaped.glyphs[i..end];
        i = end;
        let loaded = glyphs.face(first.face);
        let face = &loaded.face;
        let scale = size / face.units_per_em() as f32;
        if outlined(face) {
            for g in run {
                content.save_state();
                content.transform([scale, 0.0, 0.0, -scale, x + g.x, y + g.y]);
                let mut pen = Pen {
                    content,
                    at: (0.0, 0.0),
                };
                if face.outline_glyph(GlyphId(g.glyph), &mut pen).is_some() {
                    content.fill_nonzero();
                }
                content.restore_state();
            }
            continue;
        }
        let remapper = fonts[&first.face]
            .remapper
            .as_ref()
            .expect("glyphs are noted before they are drawn");
        content.begin_text();
        content.set_font(Name(font_resource(first.face).as_bytes()), size);
        content.set_text_matrix([1.0, 0.0, 0.0, -1.0, x + first.x, y + first.y]);
        let mut show = content.show_positioned();
        let mut items = show.items();
        let mut pen = first.x;
        for g in run {
            // Text space units are thousandths of the font size.
            let shift = (g.x - pen) / size * 1000.0;
            if shift.abs() > 0.01 {
                items.adjust(-shift);
            }
            let cid = remapper.get(g.glyph).unwrap_or(0);
            items.show(Str(&cid.to_be_bytes()));
            pen = g.x + face.glyph_hor_advance(GlyphId(g.glyph)).unwrap_or(0) as f32 * scale;
        }
        items.finish();
        show.finish();
        content.end_text();
    }
}

/// A glyph outline, in font units, as a PDF path.
struct Pen<'a> {
    content: &'a mut Content,
    at: (f32, f32),
}

impl OutlineBuilder for Pen<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        self.content.move_to(x, y);
        self.at = (x, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        self.content.line_to(x, y);
        self.at = (x, y);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        // A quadratic curve as the cubic that traces it.
        let (x0, y0) = self.at;
        self.content.cubic_to(
            x0 + 2.0 / 3.0 * (x1 - x0),
            y0 + 2.0 / 3.0 * (y1 - y0),
            x + 2.0 / 3.0 * (x1 - x),
            y + 2.0 / 3.0 * (y1 - y),
            x,
            y,
        );
        self.at = (x, y);
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.content.cubic_to(x1, y1, x2, y2, x, y);
        self.at = (x, y);
    }

    fn close(&mut self) {
        self.content.close_path();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
