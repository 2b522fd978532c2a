//! The badge renderer on any name and company: never a panic; for any name
//! the API would accept, the badge's QR code decodes back to its vCard.
#![no_main]

use std::sync::OnceLock;

use lanyard_badge::{Badge, BadgeRenderer, Fonts, Format, Payload, Preset, Theme, DEFAULT_ACCENT};
use lanyard_domain::{CompanyName, UserName};
use libfuzzer_sys::fuzz_target;

fn renderer() -> &'static BadgeRenderer {
    static R: OnceLock<BadgeRenderer> = OnceLock::new();
    R.get_or_init(|| {
        let theme = Theme { title: "Fuzz".into(), accent: DEFAULT_ACCENT, subtitle: None, logo: None };
        BadgeRenderer::new(&Fonts::bundled(), theme).unwrap()
    })
}

fn decode(png_bytes: &[u8]) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[(y * w + x) * 3 + 1]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    let mut out = Vec::new();
    grids[0].decode_to(&mut out).unwrap();
    out
}

fuzz_target!(|data: (&str, &str)| {
    let (name, company) = data;
    let r = renderer();
    let payload = Payload::vcard(name, "+82 10-1234-5678", Some(company));
    let badge = Badge { name, company: Some(company), payload: &payload };
    // Any input: an error is fine, a panic is not.
    let _ = r.render(&badge, Preset::Id1, Format::Svg, None);
    let Ok(name) = UserName::parse(name) else { return };
    let Ok(company) = CompanyName::parse(company) else { return };
    let company = company.as_ref().map(|c| c.as_str());
    let payload = Payload::vcard(name.as_str(), "+82 10-1234-5678", company);
    let badge = Badge { name: name.as_str(), company, payload: &payload };
    let png = r.render(&badge, Preset::Id1, Format::Png, None).expect("a valid registration renders");
    assert_eq!(decode(&png), payload.as_str().as_bytes());
});
