//! Label and card stock: where each badge of a print run goes on a page.
//!
//! All lengths are millimetres, measured from the page's top-left corner, as
//! label vendors publish them. The built-in stocks take their cell geometry
//! from the vendors' templates as collected in the gLabels template
//! database (`templates/*.xml` of github.com/jimevins/glabels-qt, MIT
//! licence), which records each vendor's published layout; the numbers
//! below are those, converted to millimetres.

use crate::error::BadgeError;

/// An ID-1 badge's width and height in millimetres.
pub const BADGE_WIDTH_MM: f32 = 85.6;
pub const BADGE_HEIGHT_MM: f32 = 54.0;

/// Millimetres per inch.
const INCH: f32 = 25.4;

/// A page of cells in a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// What `--sheet` and `?sheet=` take: lower case, digits and `-`.
    pub name: String,
    /// The stock, as a buyer would recognise it.
    pub description: String,
    pub page_width: f32,
    pub page_height: f32,
    pub columns: u32,
    pub rows: u32,
    pub cell_width: f32,
    pub cell_height: f32,
    /// From the page's left edge to the first column's left edge.
    pub margin_left: f32,
    /// From the page's top edge to the first row's top edge.
    pub margin_top: f32,
    /// Space between two columns, and between two rows.
    pub gap_x: f32,
    pub gap_y: f32,
}

/// How one print run uses its sheets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PrintOptions {
    /// Labels already used on the first sheet: the run starts after them.
    pub skip: u32,
    /// Thin lines in the margins along every cell edge, for a guillotine.
    pub cut_marks: bool,
    /// Moves everything right (x) and down (y) by this many millimetres, for
    /// a printer that feeds the stock slightly off.
    pub offset_x: f32,
    pub offset_y: f32,
}

impl PrintOptions {
    /// The largest printer offset taken, in millimetres either way.
    pub const MAX_OFFSET_MM: f32 = 20.0;

    pub fn validate(&self, sheet: &Sheet) -> Result<(), BadgeError> {
        if self.skip >= sheet.cells_per_page() {
            return Err(BadgeError::Sheet(format!(
                "skip must be less than the {} labels of a {} sheet, got {}",
                sheet.cells_per_page(),
                sheet.name,
                self.skip
            )));
        }
        for (name, value) in [("offset_x", self.offset_x), ("offset_y", self.offset_y)] {
            if !value.is_finite() || value.abs() > Self::MAX_OFFSET_MM {
                return Err(BadgeError::Sheet(format!(
                    "{name} must be between -{max} and {max} mm, got {value}",
                    max = Self::MAX_OFFSET_MM
                )));
            }
        }
        Ok(())
    }
}

impl Sheet {
    /// The stocks lanyard knows by name.
    pub fn builtin() -> Vec<Sheet> {
        let inch = |v: f32| v * INCH;
        let pt = |v: f32| v * INCH / 72.0;
        vec![
            // One badge per page at its own size: card printers (CR80 cards
            // are ID-1) and thermal label printers with 86 × 54 mm labels.
            Sheet {
                name: "card".into(),
                description: "One badge per page, 85.6 × 54 mm (card and thermal printers)".into(),
                page_width: BADGE_WIDTH_MM,
                page_height: BADGE_HEIGHT_MM,
                columns: 1,
                rows: 1,
                cell_width: BADGE_WIDTH_MM,
                cell_height: BADGE_HEIGHT_MM,
                margin_left: 0.0,
                margin_top: 0.0,
                gap_x: 0.0,
                gap_y: 0.0,
            },
            // Avery 5395 (also 8395, 15395) name badge labels, 2-1/3" × 3-3/8",
            // 8 per US Letter sheet: gLabels avery-us-templates.xml,
            // x0 0.6875 in, y0 0.583333 in, dx 3.75 in, dy 2.5 in.
            Sheet {
                name: "avery-5395".into(),
                description:
                    "Avery 5395/8395 name badge labels, 3-3/8 × 2-1/3 in, 8 per US Letter sheet"
                        .into(),
                page_width: inch(8.5),
                page_height: inch(11.0),
                columns: 2,
                rows: 4,
                cell_width: inch(3.375),
                cell_height: inch(2.333_333),
                margin_left: inch(0.6875),
                margin_top: inch(0.583_333),
                gap_x: inch(3.75 - 3.375),
                gap_y: inch(2.5 - 2.333_333),
            },
            // Avery 6874 labels, 3 × 3-3/4", 6 per US Letter sheet (the size of
            // a 4 × 3 in badge-holder insert): gLabels avery-us-templates.xml,
            // x0 0.375 in, y0 0.625 in, dx 4.0 in, dy 3.375 in.
            Sheet {
                name: "avery-6874".into(),
                description: "Avery 6874 labels, 3-3/4 × 3 in, 6 per US Letter sheet".into(),
                page_width: inch(8.5),
                page_height: inch(11.0),
                columns: 2,
                rows: 3,
                cell_width: inch(3.75),
                cell_height: inch(3.0),
                margin_left: inch(0.375),
                margin_top: inch(0.625),
                gap_x: inch(4.0 - 3.75),
                gap_y: inch(3.375 - 3.0),
            },
            // Avery L7165 labels, 99.1 × 67.7 mm, 8 per A4 sheet: gLabels
            // avery-iso-templates.xml, 280.8 × 191.991 pt, x0 13.2378 pt,
            // y0 36.9638 pt, dx 288.113 pt, dy 191.991 pt.
            Sheet {
                name: "avery-l7165".into(),
                description: "Avery L7165 labels, 99.1 × 67.7 mm, 8 per A4 sheet".into(),
                page_width: 210.0,
                page_height: 297.0,
                columns: 2,
                rows: 4,
                cell_width: pt(280.8),
                cell_height: pt(191.991),
                margin_left: pt(13.2378),
                margin_top: pt(36.9638),
                gap_x: pt(288.113 - 280.8),
                gap_y: 0.0,
            },
            // 105 × 57 mm labels, 10 per A4 sheet, edge to edge across: Igepa
            // EA-1050x570, Endisch 6510557x, Rayfilm R0915 (gLabels
            // igepa-templates.xml and others: x0 0, y0 6 mm, dx 105, dy 57 mm).
            Sheet {
                name: "a4-105x57".into(),
                description:
                    "105 × 57 mm labels, 10 per A4 sheet (Igepa EA-1050x570, Rayfilm R0915)".into(),
                page_width: 210.0,
                page_height: 297.0,
                columns: 2,
                rows: 5,
                cell_width: 105.0,
                cell_height: 57.0,
                margin_left: 0.0,
                margin_top: 6.0,
                gap_x: 0.0,
                gap_y: 0.0,
            },
            // Plain A4 card stock cut to ID-1 badges: 2 × 5, centred, with
            // cut marks to guide a guillotine.
            Sheet {
                name: "a4-cut".into(),
                description: "Plain A4 card, 10 badges of 85.6 × 54 mm to cut out".into(),
                page_width: 210.0,
                page_height: 297.0,
                columns: 2,
                rows: 5,
                cell_width: BADGE_WIDTH_MM,
                cell_height: BADGE_HEIGHT_MM,
                margin_left: (210.0 - 2.0 * BADGE_WIDTH_MM) / 2.0,
                margin_top: (297.0 - 5.0 * BADGE_HEIGHT_MM) / 2.0,
                gap_x: 0.0,
                gap_y: 0.0,
            },
            // Plain US Letter card stock, the same.
            Sheet {
                name: "letter-cut".into(),
                description: "Plain US Letter card, 10 badges of 85.6 × 54 mm to cut out".into(),
                page_width: inch(8.5),
                page_height: inch(11.0),
                columns: 2,
                rows: 5,
                cell_width: BADGE_WIDTH_MM,
                cell_height: BADGE_HEIGHT_MM,
                margin_left: (inch(8.5) - 2.0 * BADGE_WIDTH_MM) / 2.0,
                margin_top: (inch(11.0) - 5.0 * BADGE_HEIGHT_MM) / 2.0,
                gap_x: 0.0,
                gap_y: 0.0,
            },
        ]
    }

    /// Cells on one page.
    pub fn cells_per_page(&self) -> u32 {
        self.columns * self.rows
    }

    /// The top-left corner of cell `index` (row by row from the top left),
    /// in millimetres from the page's top-left corner.
    pub fn cell_origin(&self, index: u32) -> (f32, f32) {
        let (column, row) = (index % self.columns, index / self.columns);
        (
            self.margin_left + column as f32 * (self.cell_width + self.gap_x),
            self.margin_top + row as f32 * (self.cell_height + self.gap_y),
        )
    }

    /// Where an ID-1 badge's top-left corner goes in cell `index`: centred.
    pub fn badge_origin(&self, index: u32) -> (f32, f32) {
        let (x, y) = self.cell_origin(index);
        (
            x + (self.cell_width - BADGE_WIDTH_MM) / 2.0,
            y + (self.cell_height - BADGE_HEIGHT_MM) / 2.0,
        )
    }

    /// Checks that the sheet is a real page, its grid fits on it, and an
    /// ID-1 badge fits in a cell (a badge is never shrunk to fit).
    pub fn validate(&self) -> Result<(), BadgeError> {
        let fail = |why: String| Err(BadgeError::Sheet(format!("sheet {:?}: {why}", self.name)));
        let valid_name = !self.name.is_empty()
            && self.name.len() <= 40
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_name {
            return fail("a name is 1 to 40 of a-z, 0-9 and -".into());
        }
        let lengths = [
            ("page_width", self.page_width),
            ("page_height", self.page_height),
            ("cell_width", self.cell_width),
            ("cell_height", self.cell_height),
            ("margin_left", self.margin_left),
            ("margin_top", self.margin_top),
            ("gap_x", self.gap_x),
            ("gap_y", self.gap_y),
        ];
        for (name, value) in lengths {
            if !value.is_finite() || !(0.0..=2000.0).contains(&value) {
                return fail(format!("{name} must be 0 to 2000 mm, got {value}"));
            }
        }
        if self.page_width < 10.0 || self.page_height < 10.0 {
            return fail("the page must be at least 10 × 10 mm".into());
        }
        if !(1..=50).contains(&self.columns) || !(1..=50).contains(&self.rows) {
            return fail("columns and rows must be 1 to 50".into());
        }
        // A hundredth of a millimetre of slack: vendors round to it.
        const SLACK: f32 = 0.01;
        if self.cell_width + SLACK < BADGE_WIDTH_MM || self.cell_height + SLACK < BADGE_HEIGHT_MM {
            return fail(format!(
                "a {} × {} mm cell is smaller than the {BADGE_WIDTH_MM} × {BADGE_HEIGHT_MM} mm badge; \
                 badges are never shrunk to fit",
                self.cell_width, self.cell_height
            ));
        }
        let right = self.margin_left
            + self.columns as f32 * self.cell_width
            + (self.columns - 1) as f32 * self.gap_x;
        let bottom = self.margin_top
            + self.rows as f32 * self.cell_height
            + (self.rows - 1) as f32 * self.gap_y;
        if right > self.page_width + SLACK || bottom > self.page_height + SLACK {
            return fail(format!(
                "the grid reaches {right:.1} × {bottom:.1} mm, past the {} × {} mm page",
                self.page_width, self.page_height
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_sheet_is_valid_and_named_once() {
        let sheets = Sheet::builtin();
        for sheet in &sheets {
            sheet.validate().unwrap();
            assert_eq!(
                sheets.iter().filter(|s| s.name == sheet.name).count(),
                1,
                "{}",
                sheet.name
            );
        }
    }

    #[test]
    fn cells_follow_the_vendor_pitch() {
        let avery = Sheet::builtin()
            .into_iter()
            .find(|s| s.name == "avery-5395")
            .unwrap();
        // Second column, third row: x0 + dx, y0 + 2 dy (inches).
        let (x, y) = avery.cell_origin(5);
        assert!((x - (0.6875 + 3.75) * INCH).abs() < 0.01, "{x}");
        assert!((y - (0.583_333 + 2.0 * 2.5) * INCH).abs() < 0.01, "{y}");
    }

    #[test]
    fn small_cells_and_overflowing_grids_are_refused() {
        let mut sheet = Sheet::builtin().remove(0);
        sheet.cell_width = 85.0;
        let err = sheet.validate().unwrap_err().to_string();
        assert!(err.contains("never shrunk"), "{err}");
        let mut sheet = Sheet::builtin().remove(0);
        sheet.columns = 2;
        let err = sheet.validate().unwrap_err().to_string();
        assert!(err.contains("past the"), "{err}");
    }

    #[test]
    fn skip_and_offsets_are_bounded() {
        let sheet = Sheet::builtin().remove(1);
        assert!(PrintOptions {
            skip: 7,
            ..Default::default()
        }
        .validate(&sheet)
        .is_ok());
        assert!(PrintOptions {
            skip: 8,
            ..Default::default()
        }
        .validate(&sheet)
        .is_err());
        assert!(PrintOptions {
            offset_x: f32::NAN,
            ..Default::default()
        }
        .validate(&sheet)
        .is_err());
    }
}
