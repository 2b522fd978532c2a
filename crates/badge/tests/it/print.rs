//! Print runs on every built-in sheet: the PDF is rastered by poppler's
//! `pdftoppm` at 300 dpi, every badge in every cell is read back by rqrr,
//! and each QR code sits where the sheet's geometry says, within 0.5 mm.

use std::path::Path;
use std::process::Command;

use lanyard_badge::{
    Badge, BadgeRenderer, FontSources, Fonts, Format, Logo, Payload, Preset, PrintOptions,
    PrintRun, Sheet, Theme, DEFAULT_ACCENT,
};

const DPI: f32 = 300.0;

fn renderer(fonts: &Fonts, title: &str) -> BadgeRenderer {
    BadgeRenderer::new(
        fonts,
        Theme {
            title: title.into(),
            accent: DEFAULT_ACCENT,
            subtitle: Some("Seoul · 2026-12-01".into()),
            logo: None,
            band: None,
        },
    )
    .expect("theme prepares")
}

struct Person {
    name: String,
    company: Option<String>,
    payload: Payload,
}

fn people(n: usize) -> Vec<Person> {
    let names = [
        ("홍길동", Some("서울대학교")),
        ("Zoë Ångström-Müller", Some("Société Générale")),
        ("Ada Lovelace", None),
        (
            "Maximiliana Alexandrina Konstantinopolous-Wolfeschlegelsteinhausenberger",
            Some("A company whose name is far too long to fit at the preferred size"),
        ),
        ("Ирина Петрова", Some("ООО Ромашка")),
    ];
    (0..n)
        .map(|i| {
            let (name, company) = names[i % names.len()];
            let name = format!("{name} {i}");
            // Every other badge carries a contact card, the rest a check-in code.
            let payload = if i % 2 == 0 {
                Payload::ticket(&format!("7QX4-M2KD-9HZ1-{:04}", i))
            } else {
                Payload::vcard(&name, "010-1234-5678", company)
            };
            Person {
                name,
                company: company.map(str::to_owned),
                payload,
            }
        })
        .collect()
}

fn print(
    fonts: &Fonts,
    renderers: &[BadgeRenderer],
    sheet: &Sheet,
    options: PrintOptions,
    people: &[Person],
) -> Vec<u8> {
    let mut run = PrintRun::new(Vec::new(), fonts, sheet, options).expect("run starts");
    for (i, p) in people.iter().enumerate() {
        let badge = Badge {
            name: &p.name,
            company: p.company.as_deref(),
            payload: &p.payload,
            details: None,
        };
        run.add(&renderers[i % renderers.len()], &badge)
            .expect("badge placed");
    }
    assert_eq!(run.badges(), people.len() as u64);
    run.finish().expect("run finishes")
}

/// Rasters every page at 300 dpi in grey.
fn raster(pdf: &[u8], dir: &Path) -> Vec<image::GrayImage> {
    let file = dir.join("run.pdf");
    std::fs::write(&file, pdf).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-png"])
        .arg(&file)
        .arg(dir.join("page"))
        .status()
        .expect("pdftoppm runs (poppler-utils is installed by scripts/test)");
    assert!(status.success(), "pdftoppm failed");
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pages.sort();
    pages
        .iter()
        .map(|p| image::open(p).unwrap().to_luma8())
        .collect()
}

/// A logo whose white lettering is SVG text, set in a bundled font.
const LETTERED_LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><rect width="200" height="100" rx="12" fill="#1a4fd8"/><text x="100" y="72" font-family="DejaVu Sans" font-weight="bold" font-size="64" text-anchor="middle" fill="#ffffff">LOGO</text></svg>"##;

/// The logo (lanyard's own, a PNG with transparency, an SVG with text) is
/// drawn in both PDFs, a badge's own and a print run, where the PNG puts it
/// and as it looks there: pixels in its slot compared with the PNG's.
#[test]
fn logos_in_pdfs_look_as_in_pngs() {
    let fonts = Fonts::bundled();
    let png_logo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logo.png"
    ))
    .unwrap();
    let sheet = Sheet::builtin().remove(0);
    let person = &people(1)[0];
    let badge = Badge {
        name: &person.name,
        company: person.company.as_deref(),
        payload: &person.payload,
        details: None,
    };
    for (what, logo) in [
        ("lanyard's logo", None),
        ("a PNG logo", Some(Logo::from_bytes(png_logo))),
        (
            "a lettered SVG logo",
            Some(Logo::from_bytes(LETTERED_LOGO.into())),
        ),
    ] {
        let theme = Theme {
            title: "Serverless web project".into(),
            accent: DEFAULT_ACCENT,
            subtitle: None,
            logo,
            band: None,
        };
        let r = BadgeRenderer::new(&fonts, theme).unwrap();
        let png = r
            .render(&badge, Preset::Id1, Format::Png, Some(300))
            .unwrap();
        let expected = image::load_from_memory(&png).unwrap().to_luma8();
        let dir = tempfile::tempdir().unwrap();
        let pdf = r.render(&badge, Preset::Id1, Format::Pdf, None).unwrap();
        let own = raster(&pdf, dir.path()).remove(0);
        let dir = tempfile::tempdir().unwrap();
        let run = raster(
            &print(
                &fonts,
                &[r],
                &sheet,
                PrintOptions::default(),
                std::slice::from_ref(person),
            ),
            dir.path(),
        )
        .remove(0);
        // The logo's slot on an ID-1 badge, a pixel inside its edges.
        let (x0, y0, x1, y1) = (
            px(5.0) as u32 + 1,
            px(4.6) as u32 + 1,
            px(23.0) as u32 - 1,
            px(13.6) as u32 - 1,
        );
        let inked = (x0..x1)
            .flat_map(|x| (y0..y1).map(move |y| (x, y)))
            .filter(|&(x, y)| expected.get_pixel(x, y).0[0] < 160)
            .count();
        assert!(
            inked > 200,
            "{what}: the PNG shows the logo ({inked} dark pixels)"
        );
        let (bx, by) = sheet.badge_origin(0);
        for (pdf, name, (dx, dy)) in [
            (&own, "badge PDF", (0, 0)),
            (&run, "print run", (px(bx) as u32, px(by) as u32)),
        ] {
            let mut total = 0u64;
            let mut count = 0u64;
            for x in x0..x1 {
                for y in y0..y1 {
                    let a = expected.get_pixel(x, y).0[0] as i64;
                    let b = pdf.get_pixel(x + dx, y + dy).0[0] as i64;
                    total += (a - b).unsigned_abs();
                    count += 1;
                }
            }
            let mean = total as f64 / count as f64;
            assert!(
                mean < 10.0,
                "{what} in the {name}: mean difference {mean:.1} of 255"
            );
        }
    }
}

/// Names in a configured font with CFF outlines (shown as text, its subset
/// embedded as a CFF program) and one with CFF2 outlines (drawn as paths)
/// print as the PNG shows them.
#[test]
fn names_in_cff_and_cff2_fonts_print_as_in_pngs() {
    let sheet = Sheet::builtin().remove(0);
    let name = "Ann \u{e000}\u{e001}\u{e002}";
    let payload = Payload::ticket("7QX4-M2KD-9HZ1-0001");
    let badge = Badge {
        name,
        company: None,
        payload: &payload,
        details: None,
    };
    assert_eq!(
        Fonts::bundled().missing(name).len(),
        3,
        "no bundled face has them"
    );
    for file in ["test-cff.otf", "test-cff2.otf"] {
        let fonts = Fonts::load(&FontSources {
            files: vec![Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(file)],
            installed: false,
        })
        .unwrap();
        assert!(fonts.missing(name).is_empty(), "{file} covers the name");
        let r = renderer(&fonts, "Serverless web project");
        let png = r
            .render(&badge, Preset::Id1, Format::Png, Some(300))
            .unwrap();
        let expected = image::load_from_memory(&png).unwrap().to_luma8();
        let dir = tempfile::tempdir().unwrap();
        let person = Person {
            name: name.into(),
            company: None,
            payload: payload.clone(),
        };
        let pdf = print(&fonts, &[r], &sheet, PrintOptions::default(), &[person]);
        let run = raster(&pdf, dir.path()).remove(0);
        // The name's slot: left of the QR code, above the company.
        let (x0, y0, x1, y1) = (
            px(4.0) as u32,
            px(16.0) as u32,
            px(49.0) as u32,
            px(33.0) as u32,
        );
        let (bx, by) = sheet.badge_origin(0);
        let (dx, dy) = (px(bx) as u32, px(by) as u32);
        let (mut inked, mut total, mut count) = (0u64, 0u64, 0u64);
        for x in x0..x1 {
            for y in y0..y1 {
                let a = expected.get_pixel(x, y).0[0] as i64;
                let b = run.get_pixel(x + dx, y + dy).0[0] as i64;
                inked += u64::from(a < 128);
                total += (a - b).unsigned_abs();
                count += 1;
            }
        }
        let mean = total as f64 / count as f64;
        assert!(
            inked > 2000,
            "{file}: the PNG shows the name ({inked} dark pixels)"
        );
        assert!(mean < 10.0, "{file}: mean difference {mean:.1} of 255");
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(
            text.contains("/FontFile3"),
            file == "test-cff.otf",
            "{file}"
        );
    }
}

fn px(mm: f32) -> f32 {
    mm / 25.4 * DPI
}

/// Decodes the one QR code in a cell; returns its payload and the code's
/// top-left corner in millimetres from the page's top-left.
fn decode_cell(page: &image::GrayImage, sheet: &Sheet, cell: u32) -> (String, (f32, f32)) {
    let (x, y) = sheet.cell_origin(cell);
    let (x0, y0) = (px(x).floor() as u32, px(y).floor() as u32);
    let w = (px(sheet.cell_width).ceil() as u32).min(page.width() - x0);
    let h = (px(sheet.cell_height).ceil() as u32).min(page.height() - y0);
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |cx, cy| {
            page.get_pixel(x0 + cx as u32, y0 + cy as u32).0[0]
        });
    let grids = prepared.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "cell {cell}: one QR code, found {}",
        grids.len()
    );
    let mut out = Vec::new();
    grids[0].decode_to(&mut out).expect("QR decodes");
    let left = grids[0].bounds.iter().map(|p| p.x).min().unwrap() as f32;
    let top = grids[0].bounds.iter().map(|p| p.y).min().unwrap() as f32;
    let to_mm = |v: f32| v / DPI * 25.4;
    (
        String::from_utf8(out).unwrap(),
        (
            x + to_mm(left - (px(x) - x0 as f32)),
            y + to_mm(top - (px(y) - y0 as f32)),
        ),
    )
}

/// Where an ID-1 badge's code (without its quiet zone) starts: the layout
/// centres a 30 mm square at (51, 19) mm and divides it into modules.
fn expected_code_corner(
    sheet: &Sheet,
    cell: u32,
    payload: &Payload,
    dx: f32,
    dy: f32,
) -> (f32, f32) {
    let modules = lanyard_badge::QrModules::for_print(payload.as_str().as_bytes())
        .unwrap()
        .width_with_quiet_zone();
    let module = 30.0 / modules as f32;
    let (bx, by) = sheet.badge_origin(cell);
    (bx + dx + 51.0 + 4.0 * module, by + dy + 19.0 + 4.0 * module)
}

#[test]
fn every_badge_on_every_builtin_sheet_decodes_where_the_template_puts_it() {
    let fonts = Fonts::bundled();
    let renderers = [
        renderer(&fonts, "Serverless web project"),
        renderer(&fonts, "About cloud computing"),
    ];
    for sheet in Sheet::builtin() {
        let per_page = sheet.cells_per_page();
        let skip = if per_page > 1 { 1 } else { 0 };
        let (dx, dy) = (0.7, -0.4);
        let options = PrintOptions {
            skip,
            cut_marks: true,
            offset_x: dx,
            offset_y: dy,
        };
        // A page and a half: the first page has `skip` cells left empty.
        let count = (per_page - skip + per_page / 2 + 1) as usize;
        let people = people(count);
        let pdf = print(&fonts, &renderers, &sheet, options, &people);
        assert_eq!(
            pdf,
            print(&fonts, &renderers, &sheet, options, &people),
            "{}: the same run gives the same bytes",
            sheet.name
        );
        let dir = tempfile::tempdir().unwrap();
        let pages = raster(&pdf, dir.path());
        let expected_pages = (count as u32 + skip).div_ceil(per_page) as usize;
        assert_eq!(pages.len(), expected_pages, "{}: pages", sheet.name);
        for (i, person) in people.iter().enumerate() {
            let slot = i as u32 + skip;
            let (page, cell) = ((slot / per_page) as usize, slot % per_page);
            let (payload, corner) = decode_cell(&pages[page], &sheet, cell);
            assert_eq!(
                payload,
                person.payload.as_str(),
                "{} cell {slot}",
                sheet.name
            );
            let want = expected_code_corner(&sheet, cell, &person.payload, dx, dy);
            assert!(
                (corner.0 - want.0).abs() <= 0.5 && (corner.1 - want.1).abs() <= 0.5,
                "{} cell {slot}: code at {corner:?} mm, template says {want:?}",
                sheet.name
            );
        }
        // Skipped cells stay blank.
        for cell in 0..skip {
            let (x, y) = sheet.cell_origin(cell);
            let (x0, y0) = (px(x + 2.0) as u32, px(y + 2.0) as u32);
            let dark = (0..px(sheet.cell_width - 4.0) as u32)
                .flat_map(|cx| (0..px(sheet.cell_height - 4.0) as u32).map(move |cy| (cx, cy)))
                .filter(|&(cx, cy)| pages[0].get_pixel(x0 + cx, y0 + cy).0[0] < 128)
                .count();
            assert_eq!(dark, 0, "{}: skipped cell {cell} is blank", sheet.name);
        }
    }
}

#[test]
fn names_are_text_in_embedded_font_subsets_and_the_logo_is_drawn_once() {
    let fonts = Fonts::bundled();
    let renderers = [renderer(&fonts, "Serverless web project")];
    let sheet = Sheet::builtin()
        .into_iter()
        .find(|s| s.name == "a4-cut")
        .unwrap();
    let people = people(40);
    let pdf = print(&fonts, &renderers, &sheet, PrintOptions::default(), &people);
    let text = String::from_utf8_lossy(&pdf);
    // The conference layer (and the logo inside it) once, however many
    // badges; each used face once.
    let one = print(
        &fonts,
        &renderers,
        &sheet,
        PrintOptions::default(),
        &people[..1],
    );
    let forms = |t: &str| t.matches("/Subtype /Form").count();
    assert_eq!(forms(&text), forms(&String::from_utf8_lossy(&one)));
    assert_eq!(
        text.matches("/FontFile2").count(),
        text.matches("/Type0").count()
    );
    assert!(text.matches("/Type0").count() <= 4);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success());
    let extracted = String::from_utf8(out.stdout).unwrap();
    for p in &people {
        let first_word = p.name.split(' ').next().unwrap();
        assert!(
            extracted.contains(first_word),
            "{first_word:?} is not in the PDF's text:\n{extracted}"
        );
    }
}

#[test]
fn sheets_that_cannot_hold_a_badge_are_refused() {
    let fonts = Fonts::bundled();
    let mut sheet = Sheet::builtin().remove(0);
    sheet.cell_height = 50.8;
    let err = PrintRun::new(Vec::new(), &fonts, &sheet, PrintOptions::default())
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("never shrunk"), "{err}");
}
