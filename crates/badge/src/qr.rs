//! QR encoding: the payload's UTF-8 bytes in byte mode (no ECI header), as
//! modules ready for layout.
//!
//! The codewords and function patterns come from `qrcodegen`. Choosing the
//! mask is most of the cost of a small code, so the eight masks are applied
//! and scored here on bit rows, with the same penalty rules and tie-break as
//! `qrcodegen` (ISO/IEC 18004 §7.8.3): the result is, module for module, the
//! symbol `qrcodegen` makes by itself (the tests check this).

use qrcodegen::{Mask, QrCode, QrCodeEcc, QrSegment, Version};

use crate::error::BadgeError;
use crate::surface::Surface;

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
    /// Encodes in byte mode, in the smallest version that holds the data at
    /// `level`, with the error correction raised where that version has room
    /// for more, and the mask with the lowest penalty; no ECI header, so
    /// UTF-8 text reads as UTF-8.
    pub fn encode(data: &[u8], level: QrCodeEcc) -> Result<Self, BadgeError> {
        let segments = [QrSegment::make_bytes(data)];
        let build = |mask: Option<Mask>| {
            QrCode::encode_segments_advanced(
                &segments,
                level,
                Version::MIN,
                Version::MAX,
                mask,
                true,
            )
            .map_err(|_| BadgeError::PayloadTooLong(data.len()))
        };
        let probe = build(Some(Mask::new(0)))?;
        let dark = match masks::best(&probe) {
            Some(dark) => dark,
            // Too wide for bit rows: qrcodegen scores the masks itself.
            None => {
                let code = build(None)?;
                let size = code.size();
                (0..size * size)
                    .map(|i| code.get_module(i % size, i / size))
                    .collect()
            }
        };
        let width = probe.size() as usize;
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
        let code = Self::encode(data, QrCodeEcc::Medium)?;
        if code.width_with_quiet_zone() <= MAX_PRINT_MODULES {
            return Ok(code);
        }
        match Self::encode(data, QrCodeEcc::Low) {
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

/// A QR code of `data` alone as an SVG document (black on white, one unit
/// per module, with its quiet zone): the code a screen shows, such as a
/// desk's sign-in link. Same encoding as [`qr_png`].
pub fn qr_svg(data: &str) -> Result<String, BadgeError> {
    let modules = QrModules::for_print(data.as_bytes())?;
    let side = modules.width_with_quiet_zone();
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" \
         fill=\"#fff\"/><path d=\"{}\" fill=\"#000\"/></svg>",
        modules.path_data()
    ))
}

/// A QR code of `data` alone as a greyscale PNG, `module_px` pixels per
/// module with its quiet zone: the code an e-mail carries, for a desk to
/// scan off a phone's screen. Same encoding as a badge's
/// ([`QrModules::for_print`]).
pub fn qr_png(data: &str, module_px: u32) -> Result<Vec<u8>, BadgeError> {
    let modules = QrModules::for_print(data.as_bytes())?;
    let module_px = module_px.clamp(1, 32) as usize;
    let side = modules.width_with_quiet_zone() * module_px;
    let mut pixels = vec![255u8; side * side];
    for (my, row) in modules.rows().enumerate() {
        for (mx, &dark) in row.iter().enumerate() {
            if !dark {
                continue;
            }
            for py in 0..module_px {
                let y = (my + QUIET_ZONE) * module_px + py;
                let x = (mx + QUIET_ZONE) * module_px;
                pixels[y * side + x..y * side + x + module_px].fill(0);
            }
        }
    }
    let err = |e: png::EncodingError| BadgeError::Encode {
        format: "png",
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(err)?;
        writer.write_image_data(&pixels).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(out)
}

/// Fills whole-pixel rectangles for the dark modules of a QR code.
pub(crate) fn draw_qr<S: Surface>(
    canvas: &mut S,
    modules: &QrModules,
    x: i32,
    y: i32,
    module_px: i32,
) {
    let (pw, ph) = (canvas.width() as i32, canvas.height() as i32);
    let n = modules.width_with_quiet_zone() as i32;
    let mut fill = |x0: i32, y0: i32, w: i32, h: i32, v: u8| {
        for py in y0.max(0)..(y0 + h).min(ph) {
            let start = (py * pw + x0.max(0)) as usize;
            let end = (py * pw + (x0 + w).min(pw)) as usize;
            if start < end {
                canvas.fill(start, end, v);
            }
        }
    };
    fill(x, y, n * module_px, n * module_px, 255);
    let q = QUIET_ZONE as i32;
    for (my, row) in modules.rows().enumerate() {
        let mut mx = 0;
        while mx < row.len() {
            if !row[mx] {
                mx += 1;
                continue;
            }
            // A run of dark modules is one rectangle.
            let start = mx;
            while mx < row.len() && row[mx] {
                mx += 1;
            }
            fill(
                x + (start as i32 + q) * module_px,
                y + (my as i32 + q) * module_px,
                (mx - start) as i32 * module_px,
                module_px,
                0,
            );
        }
    }
}

/// Mask selection on bit rows: one word per row (bit x is column x) and one
/// per column (bit y is row y): a `u64` up to version 8, a `u128` up to
/// version 24.
mod masks {
    use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, BitXor, Not, Shl, Shr};

    use qrcodegen::{QrCode, QrCodeEcc};

    /// A line of modules as the bits of a machine word.
    pub(super) trait Line:
        Copy
        + PartialEq
        + BitAnd<Output = Self>
        + BitOr<Output = Self>
        + BitXor<Output = Self>
        + Not<Output = Self>
        + Shl<u32, Output = Self>
        + Shr<u32, Output = Self>
        + BitOrAssign
        + BitAndAssign
    {
        const BITS: u32;
        const ZERO: Self;
        const ONE: Self;
        /// The low bits of `bits`.
        fn truncate(bits: u128) -> Self;
        fn count_ones(self) -> u32;
        fn trailing_zeros(self) -> u32;
        fn ones() -> Self {
            !Self::ZERO
        }
        fn bit(i: usize) -> Self {
            Self::ONE << i as u32
        }
        /// Widest line scored: eight light bits below it and four above.
        fn max_size() -> usize {
            Self::BITS as usize - 12
        }
    }

    macro_rules! line {
        ($t:ty) => {
            impl Line for $t {
                const BITS: u32 = <$t>::BITS;
                const ZERO: Self = 0;
                const ONE: Self = 1;
                fn truncate(bits: u128) -> Self {
                    bits as $t
                }
                fn count_ones(self) -> u32 {
                    <$t>::count_ones(self)
                }
                fn trailing_zeros(self) -> u32 {
                    <$t>::trailing_zeros(self)
                }
            }
        };
    }
    line!(u64);
    line!(u128);

    /// Columns the mask tables cover: the widest line a `u128` scores.
    const MAX_SIZE: usize = 116;

    /// Whether mask `m` inverts the data module at column `x`, row `y`.
    const fn inverts(m: usize, x: usize, y: usize) -> bool {
        match m {
            0 => (x + y).is_multiple_of(2),
            1 => y.is_multiple_of(2),
            2 => x.is_multiple_of(3),
            3 => (x + y).is_multiple_of(3),
            4 => (x / 3 + y / 2).is_multiple_of(2),
            5 => x * y % 2 + x * y % 3 == 0,
            6 => (x * y % 2 + x * y % 3).is_multiple_of(2),
            _ => ((x + y) % 2 + x * y % 3).is_multiple_of(2),
        }
    }

    /// Every mask repeats every 12 rows and every 12 columns.
    const PERIOD: usize = 12;

    /// `[m][y % 12]`: mask `m` on row `y`; with `transposed`, on column `x`
    /// (bit y), `[m][x % 12]`.
    const fn mask_lines(transposed: bool) -> [[u128; PERIOD]; 8] {
        let mut lines = [[0u128; PERIOD]; 8];
        let mut m = 0;
        while m < 8 {
            let mut line = 0;
            while line < PERIOD {
                let mut bits = 0u128;
                let mut i = 0;
                while i < MAX_SIZE {
                    let hit = if transposed {
                        inverts(m, line, i)
                    } else {
                        inverts(m, i, line)
                    };
                    if hit {
                        bits |= 1 << i;
                    }
                    i += 1;
                }
                lines[m][line] = bits;
                line += 1;
            }
            m += 1;
        }
        lines
    }

    const ROW_MASKS: [[u128; PERIOD]; 8] = mask_lines(false);
    const COLUMN_MASKS: [[u128; PERIOD]; 8] = mask_lines(true);

    /// The 15 format bits for an error correction level and mask: BCH(15,5)
    /// with the ISO mask pattern 0x5412.
    fn format_bits(level: QrCodeEcc, mask: u32) -> u32 {
        let level = match level {
            QrCodeEcc::Low => 1,
            QrCodeEcc::Medium => 0,
            QrCodeEcc::Quartile => 3,
            QrCodeEcc::High => 2,
        };
        let data = level << 3 | mask;
        let mut rem = data;
        for _ in 0..10 {
            rem = (rem << 1) ^ ((rem >> 9) * 0x537);
        }
        (data << 10 | rem) ^ 0x5412
    }

    /// Where each of the 15 format bits goes, both copies: (bit, x, y).
    fn format_cells(size: usize) -> impl Iterator<Item = (usize, usize, usize)> {
        let first = (0..6)
            .map(|i| (i, 8, i))
            .chain([(6, 8, 7), (7, 8, 8), (8, 7, 8)])
            .chain((9..15).map(|i| (i, 14 - i, 8)));
        let second = (0..8)
            .map(move |i| (i, size - 1 - i, 8))
            .chain((8..15).map(move |i| (i, 8, size - 15 + i)));
        first.chain(second)
    }

    /// The function modules (finders and separators, timing, alignment,
    /// format and version areas, the dark module) of a version, as rows.
    /// The set is symmetric about the diagonal, so these are its columns too.
    pub(super) fn function_rows(version: u8, size: usize) -> Vec<u128> {
        let mut rows = vec![0u128; size];
        let mut set = |x: usize, y: usize| rows[y] |= 1 << x;
        for i in 0..size {
            set(6, i);
            set(i, 6);
        }
        for (cx, cy) in [(0, 0), (size - 8, 0), (0, size - 8)] {
            for y in cy..cy + 8 {
                for x in cx..cx + 8 {
                    set(x, y);
                }
            }
        }
        let centres = alignment_centres(version, size);
        let last = centres.len().saturating_sub(1);
        for (i, &cx) in centres.iter().enumerate() {
            for (j, &cy) in centres.iter().enumerate() {
                // Not over the three finder patterns.
                let corner =
                    (i == 0 || i == last) && (j == 0 || j == last) && !(i == last && j == last);
                if corner {
                    continue;
                }
                for y in cy - 2..=cy + 2 {
                    for x in cx - 2..=cx + 2 {
                        set(x, y);
                    }
                }
            }
        }
        for (_, x, y) in format_cells(size) {
            set(x, y);
        }
        set(8, size - 8);
        if version >= 7 {
            for i in 0..18 {
                let (a, b) = (size - 11 + i % 3, i / 3);
                set(a, b);
                set(b, a);
            }
        }
        rows
    }

    fn alignment_centres(version: u8, size: usize) -> Vec<usize> {
        if version == 1 {
            return Vec::new();
        }
        let count = version as usize / 7 + 2;
        let step = (version as usize * 8 + count * 3 + 5) / (count * 4 - 4) * 2;
        let mut centres: Vec<usize> = (0..count - 1).map(|i| size - 7 - i * step).collect();
        centres.push(6);
        centres.reverse();
        centres
    }

    /// The symbol masked as `qrcodegen` would mask it, given the symbol
    /// built with mask 0, as modules row by row (`true` is dark); `None` for
    /// symbols wider than a `u128` line holds.
    pub(super) fn best(probe: &QrCode) -> Option<Vec<bool>> {
        let size = probe.size() as usize;
        if size <= u64::max_size() {
            Some(best_in::<u64>(probe))
        } else if size <= u128::max_size() {
            Some(best_in::<u128>(probe))
        } else {
            None
        }
    }

    fn best_in<W: Line>(probe: &QrCode) -> Vec<bool> {
        let size = probe.size() as usize;
        let version = probe.version().value();
        let level = probe.error_correction_level();
        let all = W::ones() >> (W::BITS - size as u32);
        let data: Vec<W> = function_rows(version, size)
            .into_iter()
            .map(|f| !W::truncate(f) & all)
            .collect();
        let mut format_area = vec![W::ZERO; size];
        for (_, x, y) in format_cells(size) {
            format_area[y] |= W::bit(x);
        }
        // The symbol without its mask and format bits, by rows and by columns.
        let mut rows = vec![W::ZERO; size];
        let mut columns = vec![W::ZERO; size];
        for (y, row) in rows.iter_mut().enumerate() {
            let mut bits = W::ZERO;
            for x in 0..size {
                if probe.get_module(x as i32, y as i32) {
                    bits |= W::bit(x);
                }
            }
            bits = bits ^ (W::truncate(ROW_MASKS[0][y % PERIOD]) & data[y]);
            bits &= !format_area[y];
            *row = bits;
            let mut rest = bits;
            while rest != W::ZERO {
                let x = rest.trailing_zeros() as usize;
                columns[x] |= W::bit(y);
                rest &= !W::bit(x);
            }
        }
        let mut best = (u32::MAX, Vec::new());
        let mut masked_rows = vec![W::ZERO; size];
        let mut masked_columns = vec![W::ZERO; size];
        for m in 0..8 {
            let format = format_bits(level, m as u32);
            for y in 0..size {
                masked_rows[y] = rows[y] ^ (W::truncate(ROW_MASKS[m][y % PERIOD]) & data[y]);
                masked_columns[y] =
                    columns[y] ^ (W::truncate(COLUMN_MASKS[m][y % PERIOD]) & data[y]);
            }
            for (bit, x, y) in format_cells(size) {
                if format >> bit & 1 == 1 {
                    masked_rows[y] |= W::bit(x);
                    masked_columns[x] |= W::bit(y);
                }
            }
            masked_rows[size - 8] |= W::bit(8);
            masked_columns[8] |= W::bit(size - 8);
            let score = penalty(&masked_rows, &masked_columns, size);
            if score < best.0 {
                best = (score, masked_rows.clone());
            }
        }
        best.1
            .iter()
            .flat_map(|&row| (0..size).map(move |x| row & W::bit(x) != W::ZERO))
            .collect()
    }

    const N2: u32 = 3;
    const N3: u32 = 40;
    const N4: u32 = 10;

    /// The penalty of a masked symbol, given as rows and as columns.
    pub(super) fn penalty<W: Line>(rows: &[W], columns: &[W], size: usize) -> u32 {
        let mut score = 0;
        for &line in rows.iter().chain(columns) {
            score += line_penalty(line, size as u32);
        }
        // 2 × 2 blocks of one colour.
        let pairs = W::ones() >> (W::BITS - (size as u32 - 1));
        for pair in rows.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let same_below = !(a ^ b);
            let same_right = !(a ^ (a >> 1));
            score += N2 * (same_below & (same_below >> 1) & same_right & pairs).count_ones();
        }
        // Balance of dark and light.
        let dark: i64 = rows.iter().map(|r| r.count_ones() as i64).sum();
        let total = (size * size) as i64;
        let k = ((dark * 20 - total * 10).abs() + total - 1) / total - 1;
        score + k as u32 * N4
    }

    /// Runs of five or more (N1) and finder-like 1:1:3:1:1 patterns with
    /// four light modules on a side (N3), counted as qrcodegen's
    /// `FinderPenalty` counts them, the quiet zone light.
    pub(super) fn line_penalty<W: Line>(line: W, size: u32) -> u32 {
        let n = size;
        // N1: a run of length L ≥ 5 costs L − 2: one per window of five
        // equal modules (L − 4), plus two per run.
        let same = !(line ^ (line >> 1)) & (W::ones() >> (W::BITS + 1 - n));
        let five = same & (same >> 1) & (same >> 2) & (same >> 3);
        let mut score = five.count_ones() + 2 * (five & !(five << 1)).count_ones();
        // N3 at unit 1: exactly dark, light, 3 dark, light, dark, with light
        // on both sides, and four light modules before or after. The line
        // sits 8 bits up so the quiet zone on both sides is zeros.
        let dark = line << 8;
        let light = !dark;
        let core = dark
            & (light >> 1)
            & (dark >> 2)
            & (dark >> 3)
            & (dark >> 4)
            & (light >> 5)
            & (dark >> 6)
            & (light >> 7)
            & (light << 1);
        if core != W::ZERO {
            let after = (light >> 7) & (light >> 8) & (light >> 9) & (light >> 10);
            let before = (light << 1) & (light << 2) & (light << 3) & (light << 4);
            score += N3 * ((core & after).count_ones() + (core & before).count_ones());
        }
        // Larger units need a dark run of at least six with two light
        // modules before it and a dark run before those; rare, so these are
        // counted run by run.
        let six = line & (line >> 1) & (line >> 2) & (line >> 3) & (line >> 4) & (line >> 5);
        let wide = six & !(line << 1) & !(line << 2) & (W::ones() << 4);
        if wide != W::ZERO {
            score += N3 * wide_finder_patterns(line, n);
        }
        score
    }

    /// Finder-like patterns of unit 2 or more, over the line's runs exactly
    /// as qrcodegen's `FinderPenalty` (unit 1 is counted with bit masks).
    fn wide_finder_patterns<W: Line>(line: W, n: u32) -> u32 {
        let mut count = 0;
        // Run lengths, newest first; the first run also counts the border.
        let mut history = [0u32; 7];
        let push = |history: &mut [u32; 7], mut run: u32| {
            if history[0] == 0 {
                run += n;
            }
            history.copy_within(0..6, 1);
            history[0] = run;
        };
        let patterns = |h: &[u32; 7]| -> u32 {
            let m = h[1];
            let core = m > 1 && h[2] == m && h[3] == m * 3 && h[4] == m && h[5] == m;
            u32::from(core && h[0] >= m * 4 && h[6] >= m)
                + u32::from(core && h[6] >= m * 4 && h[0] >= m)
        };
        let mut x = 0;
        // Runs alternate light, dark, light…; the first light run may be empty.
        let mut dark = false;
        loop {
            let rest = if dark { !line } else { line } >> x;
            let run = rest.trailing_zeros().min(n - x);
            let end = x + run;
            if end == n {
                if dark {
                    push(&mut history, run);
                    push(&mut history, n);
                } else {
                    push(&mut history, run + n);
                }
                return count + patterns(&history);
            }
            push(&mut history, run);
            if !dark {
                count += patterns(&history);
            }
            dark = !dark;
            x = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_code_reads_back_with_an_independent_decoder() {
        let text = "LANYARD:K3QF-7XPA-M2R9";
        let png = qr_png(text, 6).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        assert_eq!(grids[0].decode().unwrap().1, text);
    }
    use proptest::prelude::*;

    fn levels() -> [QrCodeEcc; 4] {
        [
            QrCodeEcc::Low,
            QrCodeEcc::Medium,
            QrCodeEcc::Quartile,
            QrCodeEcc::High,
        ]
    }

    fn modules(code: &QrCode) -> Vec<bool> {
        let mut out = Vec::new();
        for y in 0..code.size() {
            for x in 0..code.size() {
                out.push(code.get_module(x, y));
            }
        }
        out
    }

    /// The same symbol, module for module, as qrcodegen choosing its own mask.
    fn same_as_qrcodegen(data: &[u8], level: QrCodeEcc) {
        let ours = QrModules::encode(data, level).unwrap();
        let theirs = QrCode::encode_segments_advanced(
            &[QrSegment::make_bytes(data)],
            level,
            Version::MIN,
            Version::MAX,
            None,
            true,
        )
        .unwrap();
        assert_eq!(ours.width, theirs.size() as usize);
        assert!(ours.dark == modules(&theirs), "{data:?} at {level:?}");
    }

    #[test]
    fn function_modules_leave_exactly_the_data_capacity() {
        // ISO/IEC 18004 Table 1 (codewords × 8 + remainder bits), in closed form.
        let capacity = |v: usize| {
            let mut modules = (16 * v + 128) * v + 64;
            if v >= 2 {
                let align = v / 7 + 2;
                modules -= (25 * align - 10) * align - 55;
                if v >= 7 {
                    modules -= 36;
                }
            }
            modules
        };
        assert_eq!((capacity(1), capacity(2), capacity(7)), (208, 359, 1568));
        for version in 1..=27u8 {
            let size = 4 * version as usize + 17;
            let function = masks::function_rows(version, size);
            let data: usize = function
                .iter()
                .map(|r| size - r.count_ones() as usize)
                .sum();
            assert_eq!(data, capacity(version as usize), "version {version}");
        }
    }

    #[test]
    fn every_version_picks_qrcodegen_s_mask() {
        // Byte capacities at L just above each version's lower bound reach every size.
        for len in [
            1, 10, 17, 20, 40, 60, 80, 100, 150, 200, 300, 400, 600, 800, 1000, 1200,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            for level in levels() {
                same_as_qrcodegen(&data, level);
            }
        }
    }

    #[test]
    fn wider_symbols_still_encode() {
        let data = vec![b'x'; 1500];
        let code = QrModules::encode(&data, QrCodeEcc::Low).unwrap();
        assert!(code.width > 116);
        same_as_qrcodegen(&data, QrCodeEcc::Low);
    }

    /// qrcodegen's row scan, module by module: N1 and N3 of one line.
    fn reference_line_penalty(line: u128, n: u32) -> u32 {
        let module = |x: u32| line >> x & 1 == 1;
        let mut history = [0u32; 7];
        let push = |h: &mut [u32; 7], mut run: u32| {
            if h[0] == 0 {
                run += n;
            }
            h.copy_within(0..6, 1);
            h[0] = run;
        };
        let count = |h: &[u32; 7]| {
            let m = h[1];
            let core = m > 0 && h[2] == m && h[3] == m * 3 && h[4] == m && h[5] == m;
            u32::from(core && h[0] >= m * 4 && h[6] >= m)
                + u32::from(core && h[6] >= m * 4 && h[0] >= m)
        };
        let (mut score, mut color, mut run) = (0, false, 0);
        for x in 0..n {
            if module(x) == color {
                run += 1;
                if run == 5 {
                    score += 3;
                } else if run > 5 {
                    score += 1;
                }
            } else {
                push(&mut history, run);
                if !color {
                    score += 40 * count(&history);
                }
                color = module(x);
                run = 1;
            }
        }
        if color {
            push(&mut history, run);
            run = 0;
        }
        push(&mut history, run + n);
        score + 40 * count(&history)
    }

    /// A line of `n` modules from run lengths, light first.
    fn line_from_runs(runs: &[u32], n: u32) -> u128 {
        let (mut line, mut x, mut dark) = (0u128, 0, false);
        for &run in runs {
            for _ in 0..run {
                if x < n && dark {
                    line |= 1 << x;
                }
                x += 1;
            }
            dark = !dark;
        }
        line
    }

    #[test]
    fn scaled_finder_patterns_count() {
        let n = 45;
        // Units 1, 2 and 3 with light on either side, at the edges and inside.
        for runs in [
            vec![0, 1, 1, 3, 1, 1, 4],
            vec![4, 2, 2, 6, 2, 2, 1],
            vec![0, 3, 3, 9, 3, 3],
            vec![10, 2, 2, 6, 2, 2, 8, 1],
            vec![1, 2, 2, 6, 2, 2, 2, 5],
        ] {
            let line = line_from_runs(&runs, n);
            let expected = reference_line_penalty(line, n);
            assert!(expected >= 40, "{runs:?} has a pattern");
            assert_eq!(masks::line_penalty(line, n), expected, "{runs:?}");
        }
    }

    proptest! {
        #[test]
        fn line_penalty_matches_qrcodegen(bits in any::<u128>(), n in 21u32..=116) {
            let line = bits & (u128::MAX >> (128 - n));
            prop_assert_eq!(masks::line_penalty(line, n), reference_line_penalty(line, n));
        }

        #[test]
        fn narrow_lines_score_the_same_in_64_bits(bits in any::<u64>(), n in 21u32..=52) {
            let line = bits & (u64::MAX >> (64 - n));
            prop_assert_eq!(masks::line_penalty(line, n), reference_line_penalty(line as u128, n));
        }

        #[test]
        fn line_penalty_matches_qrcodegen_on_runs(
            runs in proptest::collection::vec(prop_oneof![Just(1u32), Just(2), Just(3), Just(4), Just(6), Just(8), Just(9), 1u32..20], 1..40),
            n in 21u32..=116,
        ) {
            let line = line_from_runs(&runs, n);
            prop_assert_eq!(masks::line_penalty(line, n), reference_line_penalty(line, n));
        }

        #[test]
        fn any_payload_picks_qrcodegen_s_mask(data in proptest::collection::vec(any::<u8>(), 0..300), level in 0..4usize) {
            same_as_qrcodegen(&data, levels()[level]);
        }
    }
}
