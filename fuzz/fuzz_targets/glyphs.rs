//! The font chain on any text: never a panic; what `Fonts::missing` names
//! is in the text; and text it accepts is drawn whole: a badge renders, and
//! its SVG draws no glyph 0 (the font's "missing" box).
#![no_main]

use std::sync::OnceLock;

use lanyard_badge::{Badge, BadgeRenderer, Fonts, Format, Payload, Preset, Theme, DEFAULT_ACCENT};
use libfuzzer_sys::fuzz_target;

fn setup() -> &'static (Fonts, BadgeRenderer) {
    static SETUP: OnceLock<(Fonts, BadgeRenderer)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let fonts = Fonts::bundled();
        let renderer = BadgeRenderer::new(
            &fonts,
            Theme {
                title: "Serverless web project".into(),
                accent: DEFAULT_ACCENT,
                subtitle: None,
                logo: None,
            },
        )
        .expect("theme prepares");
        (fonts, renderer)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.chars().count() > 200 {
        return;
    }
    let (fonts, renderer) = setup();
    let missing = fonts.missing(text);
    assert!(missing.iter().all(|c| text.contains(*c)));
    if !missing.is_empty() || text.trim().is_empty() {
        return;
    }
    let payload = Payload::ticket("7QX4-M2KD-9HZ1-C8TA");
    let badge = Badge {
        name: text,
        company: Some(text),
        payload: &payload,
    };
    let svg = renderer
        .render(&badge, Preset::Id1, Format::Svg, None)
        .expect("printable text renders");
    let svg = String::from_utf8(svg).unwrap();
    let notdef = svg
        .match_indices("-0\"")
        .any(|(at, _)| svg[..at].rsplit('#').next().is_some_and(|id| id.starts_with("lg")));
    assert!(!notdef, "a glyph 0 drawn for {text:?}");
    renderer
        .render(&badge, Preset::Id1, Format::Png, None)
        .expect("printable text renders");
});
