//! Text on badges: every name is set legibly (wrapped before it is made
//! smaller, never below the stated minimum, cut only when even that cannot
//! hold it), and a badge file stays small whatever its text.

use lanyard_badge::{
    Badge, BadgeRenderer, Fonts, Format, Payload, Preset, Shortened, Theme, DEFAULT_ACCENT,
    NAME_MIN_PT,
};
use proptest::prelude::*;

fn renderer() -> BadgeRenderer {
    BadgeRenderer::new(
        &Fonts::bundled(),
        Theme {
            title: "Serverless web project".into(),
            accent: DEFAULT_ACCENT,
            subtitle: Some("Seoul · 2026-12-01".into()),
            logo: None,
            band: None,
        },
    )
    .expect("theme prepares")
}

/// The `<g id="name">` of a badge SVG: its glyph uses and their scales.
fn glyph_scales(svg: &str, id: &str) -> Vec<f32> {
    let start = svg
        .find(&format!(r#"<g id="{id}""#))
        .expect("the text group");
    let end = start + svg[start..].find("</g>").unwrap();
    svg[start..end]
        .split("transform=\"matrix(")
        .skip(1)
        .map(|m| m.split(' ').next().unwrap().parse::<f32>().unwrap())
        .collect()
}

/// Baselines (the `y` of each glyph use) of a text group, distinct.
fn baselines(svg: &str, id: &str) -> Vec<f32> {
    let start = svg.find(&format!(r#"<g id="{id}""#)).unwrap();
    let end = start + svg[start..].find("</g>").unwrap();
    let mut ys: Vec<f32> = svg[start..end]
        .split("transform=\"matrix(")
        .skip(1)
        .map(|m| {
            let nums: Vec<&str> = m.split(')').next().unwrap().split(' ').collect();
            nums[5].parse::<f32>().unwrap()
        })
        .collect();
    ys.sort_by(f32::total_cmp);
    ys.dedup_by(|a, b| (*a - *b).abs() < 0.01);
    ys
}

#[test]
fn a_long_name_wraps_before_it_shrinks() {
    let r = renderer();
    let name = "Maria Fernanda de los Santos Rodríguez";
    let payload = Payload::ticket("7QX4-M2KD-9HZ1-C8TA");
    let badge = Badge {
        name,
        company: None,
        payload: &payload,
        details: None,
    };
    let svg = String::from_utf8(r.render(&badge, Preset::Id1, Format::Svg, None).unwrap()).unwrap();
    let lines = baselines(&svg, "name");
    assert_eq!(lines.len(), 2, "two lines: {lines:?}");
    // The second line sits on the slot's baseline; the first above it.
    assert!((lines[1] - 30.0).abs() < 0.01, "{lines:?}");
    assert_eq!(r.shortened(&badge, Preset::Id1), Shortened::default());
}

#[test]
fn a_name_too_long_for_three_lines_is_cut_at_the_minimum_size_and_says_so() {
    let r = renderer();
    let name = "뷁".repeat(100);
    let company = "뷁".repeat(100);
    let payload = Payload::ticket("7QX4-M2KD-9HZ1-C8TA");
    let badge = Badge {
        name: &name,
        company: Some(&company),
        payload: &payload,
        details: None,
    };
    assert_eq!(
        r.shortened(&badge, Preset::Id1),
        Shortened {
            name: true,
            company: true
        }
    );
    let svg = String::from_utf8(r.render(&badge, Preset::Id1, Format::Svg, None).unwrap()).unwrap();
    assert_eq!(baselines(&svg, "name").len(), 3);
    assert_eq!(baselines(&svg, "company").len(), 2);
    // Glyph scale is size / units per em (NanumGothic: 1000); the size is
    // the minimum in millimetres, not less.
    let min_mm = NAME_MIN_PT * 25.4 / 72.0;
    for scale in glyph_scales(&svg, "name") {
        assert!((scale * 1000.0 - min_mm).abs() < 0.01, "{scale}");
    }
}

/// 100 × 뷁 in the name and the company used to write a 1.1 MB SVG (text
/// as outlines, one per letter) and a 411 KB PDF. Each glyph's outline is
/// now defined once.
#[test]
fn badge_files_stay_small_whatever_the_text() {
    let r = renderer();
    let name = "뷁".repeat(100);
    let payload = Payload::ticket("7QX4-M2KD-9HZ1-C8TA");
    let badge = Badge {
        name: &name,
        company: Some(&name),
        payload: &payload,
        details: None,
    };
    let svg = r.render(&badge, Preset::Id1, Format::Svg, None).unwrap();
    let pdf = r.render(&badge, Preset::Id1, Format::Pdf, None).unwrap();
    let png = r.render(&badge, Preset::Id1, Format::Png, None).unwrap();
    assert!(svg.len() < 80_000, "SVG {} bytes", svg.len());
    assert!(pdf.len() < 80_000, "PDF {} bytes", pdf.len());
    assert!(png.len() < 80_000, "PNG {} bytes", png.len());
    // One definition per glyph, used for every letter: 뷁 and the
    // ellipsis, in the bold face (name) and the regular one (company).
    let svg = String::from_utf8(svg).unwrap();
    assert_eq!(svg.matches("<path id=\"lg").count(), 4);
    assert!(svg.matches("<use ").count() > 50);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever the name, its lines stay inside the badge's left column,
    /// at no less than the minimum size, and on at most three lines.
    #[test]
    fn names_stay_legible_and_inside(name in "[a-zA-Z가-힣 \\-]{1,100}") {
        let name = name.trim();
        prop_assume!(!name.is_empty());
        let r = renderer();
        let payload = Payload::ticket("7QX4-M2KD-9HZ1-C8TA");
        let badge = Badge { name, company: None, payload: &payload, details: None };
        let svg = String::from_utf8(r.render(&badge, Preset::Id1, Format::Svg, None).unwrap()).unwrap();
        let lines = baselines(&svg, "name");
        prop_assert!(lines.len() <= 3, "{} lines", lines.len());
        let min_mm = NAME_MIN_PT * 25.4 / 72.0;
        for scale in glyph_scales(&svg, "name") {
            prop_assert!(scale * 1000.0 >= min_mm - 0.01, "size {}", scale * 1000.0);
        }
        // The original's 400 × 250 px layout keeps the same minimum (9 pt at
        // its 113 dpi), on fewer lines: it has less room above the name.
        let original = String::from_utf8(r.render(&badge, Preset::Original, Format::Svg, None).unwrap()).unwrap();
        for scale in glyph_scales(&original, "name") {
            prop_assert!(scale * 1000.0 >= 9.0 * 113.0 / 72.0 - 0.01, "original size {}", scale * 1000.0);
        }
        let tree = usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
        let name_box = tree.node_by_id("name").map(|n| n.abs_bounding_box());
        if let Some(b) = name_box {
            let px_per_mm = tree.size().width() / 85.6;
            prop_assert!(b.right() / px_per_mm <= 48.0 + 0.05, "right edge {}", b.right() / px_per_mm);
            prop_assert!(b.top() / px_per_mm >= 16.0, "top {}", b.top() / px_per_mm);
        }
    }
}

/// Characters from the scripts the fonts cover, with the marks, joiners
/// and direction changes that make shaping hard, and some no font has.
const MIXED: &[char] = &[
    'a',
    'Z',
    ' ',
    '-',
    'é',
    '\u{301}',
    'ก',
    'ั',
    'ำ',
    'ร',
    'ा',
    'म',
    '्',
    'ष',
    'ি',
    'ক',
    'த',
    '்',
    'ם',
    'ש',
    'ل',
    'ا',
    'م',
    '١',
    '学',
    '辺',
    '伟',
    '한',
    '글',
    'ア',
    'Ж',
    'ω',
    'ნ',
    'አ',
    'ស',
    '្',
    'ម',
    '\u{200D}',
    '\u{200C}',
    '\u{FE0F}',
    '😀',
    '🦄',
    '\u{E000}',
    '\u{1FAE0}',
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    /// Text the font chain accepts is drawn whole: the badge renders in
    /// every format and no glyph 0 (a font's "missing" box) is drawn.
    #[test]
    fn accepted_text_is_drawn_without_missing_boxes(
        chars in proptest::collection::vec(
            prop_oneof![
                30 => proptest::sample::select(&MIXED[..MIXED.len() - 3]),
                1 => proptest::sample::select(&MIXED[MIXED.len() - 3..]),
            ],
            1..60,
        )
    ) {
        let text: String = chars.into_iter().collect();
        let fonts = Fonts::bundled();
        let missing = fonts.missing(&text);
        prop_assert!(missing.iter().all(|c| text.contains(*c)));
        if !missing.is_empty() || text.trim().is_empty() {
            return Ok(()); // refused at sign-up; nothing to draw
        }
        let r = renderer();
        let payload = Payload::ticket("7QX4-M2KD-9HZ1-C8TA");
        let badge = Badge { name: &text, company: Some(&text), payload: &payload, details: None };
        let svg = String::from_utf8(r.render(&badge, Preset::Id1, Format::Svg, None).unwrap()).unwrap();
        let notdef = svg.match_indices("-0\"").any(|(at, _)| {
            svg[..at].rsplit('#').next().is_some_and(|id| id.starts_with("lg"))
        });
        prop_assert!(!notdef, "a glyph 0 drawn for {:?}", text);
        r.render(&badge, Preset::Id1, Format::Png, None).unwrap();
        r.render(&badge, Preset::Original, Format::Png, None).unwrap();
    }
}
