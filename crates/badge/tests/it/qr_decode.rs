//! Every rastered badge is read back by an independent QR decoder (rqrr) and
//! must yield exactly the payload that was meant.

use lanyard_badge::{
    Badge, BadgeRenderer, Fonts, Format, Logo, Payload, Preset, Theme, DEFAULT_ACCENT,
};

fn renderer(logo: Option<Logo>) -> BadgeRenderer {
    BadgeRenderer::new(
        &Fonts::bundled(),
        Theme {
            title: "Serverless web project".into(),
            accent: DEFAULT_ACCENT,
            subtitle: Some("Seoul · 2026-12-01".into()),
            logo,
            band: None,
        },
    )
    .expect("theme prepares")
}

/// Decodes the single QR code in an encoded image, returning its raw bytes.
fn decode(image_bytes: &[u8]) -> Vec<u8> {
    let img = image::load_from_memory(image_bytes)
        .expect("image decodes")
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code on the badge");
    let mut out = Vec::new();
    grids[0].decode_to(&mut out).expect("QR decodes");
    out
}

/// Rasters the SVG the renderer produced (independently of the PNG path) and decodes it.
fn decode_svg(svg: &[u8]) -> Vec<u8> {
    let tree = usvg::Tree::from_data(svg, &usvg::Options::default()).expect("badge SVG parses");
    let scale = 4.0;
    let size = tree.size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(
        (size.width() * scale) as u32,
        (size.height() * scale) as u32,
    )
    .unwrap();
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    decode(&pixmap.encode_png().unwrap())
}

const NAMES: &[(&str, Option<&str>, &str)] = &[
    (
        "Ada Lovelace",
        Some("Analytical Engines Ltd"),
        "+44 20 7946 0958",
    ),
    ("홍길동", Some("서버리스 주식회사"), "010-1234-5678"),
    (
        "Zoë Ångström-Müller",
        Some("Société Générale"),
        "+33 1 23 45 67 89",
    ),
    ("محمد عبد الله", Some("شركة المثال"), "+966 50 123 4567"),
    (
        r"Semi;colon, Comma\Backslash",
        Some("Line\nBreak; Inc., \\"),
        "(555) 010-9999",
    ),
];

#[test]
fn every_format_decodes_to_the_exact_vcard() {
    let r = renderer(None);
    for preset in [Preset::Id1, Preset::Original] {
        for (name, company, phone) in NAMES {
            let payload = Payload::vcard(name, phone, *company);
            let badge = Badge {
                name,
                company: *company,
                payload: &payload,
                details: None,
            };
            let want = payload.as_str().as_bytes();
            for format in [Format::Png, Format::Jpeg] {
                let bytes = r.render(&badge, preset, format, None).unwrap();
                assert_eq!(decode(&bytes), want, "{preset:?} {format:?} {name}");
            }
            let svg = r.render(&badge, preset, Format::Svg, None).unwrap();
            assert_eq!(decode_svg(&svg), want, "{preset:?} svg {name}");
        }
    }
}

#[test]
fn tel_and_ticket_payloads_decode() {
    let r = renderer(None);
    for payload in [
        Payload::tel("+82 10-1234-5678"),
        Payload::ticket("Q2hMZ3V4cmVzZ2VkYWJj"),
    ] {
        let badge = Badge {
            name: "Kim",
            company: None,
            payload: &payload,
            details: None,
        };
        let png = r
            .render(&badge, Preset::Original, Format::Png, None)
            .unwrap();
        assert_eq!(decode(&png), payload.as_str().as_bytes());
    }
}

#[test]
fn png_logo_and_any_dpi_still_decode() {
    let logo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logo.png"
    ))
    .unwrap();
    let r = renderer(Some(Logo::from_bytes(logo)));
    let payload = Payload::vcard("이순신", "010-0000-0000", Some("Navy"));
    let badge = Badge {
        name: "이순신",
        company: Some("Navy"),
        payload: &payload,
        details: None,
    };
    for dpi in [150, 300, 600] {
        let png = r
            .render(&badge, Preset::Id1, Format::Png, Some(dpi))
            .unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!(img.width(), (85.6 / 25.4 * dpi as f32).round() as u32);
        assert_eq!(decode(&png), payload.as_str().as_bytes());
    }
}

#[test]
fn rendering_is_deterministic() {
    let r = renderer(None);
    let payload = Payload::vcard("홍길동", "010-1234-5678", Some("ACME"));
    let badge = Badge {
        name: "홍길동",
        company: Some("ACME"),
        payload: &payload,
        details: None,
    };
    for format in [Format::Png, Format::Jpeg, Format::Svg, Format::Pdf] {
        let a = r.render(&badge, Preset::Id1, format, None).unwrap();
        let b = renderer(None)
            .render(&badge, Preset::Id1, format, None)
            .unwrap();
        assert!(a == b, "{format:?} bytes differ between renders");
    }
}

#[test]
fn original_preset_is_400_by_250() {
    let r = renderer(None);
    let payload = Payload::tel("010-1234-0001");
    let badge = Badge {
        name: "홍길동 1",
        company: Some("Example Corp"),
        payload: &payload,
        details: None,
    };
    let png = r
        .render(&badge, Preset::Original, Format::Png, None)
        .unwrap();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (400, 250));
}

#[test]
fn pdf_is_a_vector_page_of_id1_size() {
    let r = renderer(None);
    let payload = Payload::vcard("Ann", "1234", None);
    let badge = Badge {
        name: "Ann",
        company: None,
        payload: &payload,
        details: None,
    };
    let pdf = r.render(&badge, Preset::Id1, Format::Pdf, None).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&pdf);
    // 85.6 mm × 54 mm in points.
    assert!(
        text.contains("/MediaBox [0 0 242.6"),
        "media box of ID-1 size"
    );
    assert!(
        !text.contains("/Subtype /Image"),
        "no raster image in the PDF"
    );
}

#[test]
fn long_names_shrink_to_fit_and_stay_inside() {
    let r = renderer(None);
    let name = "Maximiliana Alexandrina Konstantinopolous-Wolfeschlegelsteinhausenberger";
    let payload = Payload::vcard(name, "1234", None);
    let badge = Badge {
        name,
        company: None,
        payload: &payload,
        details: None,
    };
    let svg = String::from_utf8(r.render(&badge, Preset::Id1, Format::Svg, None).unwrap()).unwrap();
    let tree = usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
    // Written SVG has text as paths; everything must stay on the card.
    let bbox = tree.root().abs_bounding_box();
    assert!(
        bbox.right() <= tree.size().width() + 0.01 && bbox.left() >= 0.0,
        "{bbox:?}"
    );
    let png = r.render(&badge, Preset::Id1, Format::Png, None).unwrap();
    assert_eq!(decode(&png), payload.as_str().as_bytes());
}

#[test]
fn markup_in_names_is_text_not_markup() {
    let r = renderer(None);
    let name = r#"<image href="file:///etc/passwd"/><script>alert(1)</script>&amp;"#;
    let payload = Payload::vcard(name, "1234", None);
    let badge = Badge {
        name,
        company: Some("]]><!ENTITY x SYSTEM 'file:///etc/passwd'>"),
        payload: &payload,
        details: None,
    };
    let svg = String::from_utf8(r.render(&badge, Preset::Id1, Format::Svg, None).unwrap()).unwrap();
    assert!(!svg.contains("<script"));
    assert!(!svg.contains("passwd"));
    let png = r.render(&badge, Preset::Id1, Format::Png, None).unwrap();
    assert_eq!(decode(&png), payload.as_str().as_bytes());
}

#[test]
fn the_longest_allowed_values_still_decode() {
    let r = renderer(None);
    let name = "가".repeat(100);
    let company = "나".repeat(100);
    let payload = Payload::vcard(&name, "+82 10-1234-5678 9999", Some(&company));
    let badge = Badge {
        name: &name,
        company: Some(&company),
        payload: &payload,
        details: None,
    };
    for format in [Format::Png, Format::Jpeg] {
        let bytes = r.render(&badge, Preset::Id1, format, None).unwrap();
        assert_eq!(decode(&bytes), payload.as_str().as_bytes(), "{format:?}");
    }
    let svg = r.render(&badge, Preset::Id1, Format::Svg, None).unwrap();
    assert_eq!(decode_svg(&svg), payload.as_str().as_bytes());
}
