//! Badge rendering costs. `cargo bench -p lanyard-badge`; results and method
//! in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use lanyard_badge::{
    Badge, BadgeRenderer, Fonts, Format, Logo, Payload, Preset, QrModules, Theme, DEFAULT_ACCENT,
};

fn renderer() -> BadgeRenderer {
    let logo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logo.png"
    ))
    .unwrap();
    BadgeRenderer::new(
        &Fonts::bundled(),
        Theme {
            title: "Serverless web project".into(),
            accent: DEFAULT_ACCENT,
            subtitle: None,
            logo: Some(Logo::from_bytes(logo)),
            band: None,
        },
    )
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let r = renderer();
    // The same badge the Python baseline renders: name, company, phone as tel QR.
    let tel = Payload::tel("010-1234-0001");
    let original = Badge {
        name: "홍길동 1",
        company: Some("Example Corp"),
        payload: &tel,
        details: None,
    };
    let vcard = Payload::vcard("홍길동", "010-1234-5678", Some("Example Corp"));
    let id1 = Badge {
        name: "홍길동",
        company: Some("Example Corp"),
        payload: &vcard,
        details: None,
    };

    c.bench_function("qr_encode_vcard", |b| {
        b.iter(|| QrModules::for_print(black_box(vcard.as_str().as_bytes())).unwrap())
    });
    // The same symbol with qrcodegen choosing the mask itself.
    c.bench_function("qr_encode_vcard_qrcodegen_alone", |b| {
        b.iter(|| {
            qrcodegen::QrCode::encode_binary(
                black_box(vcard.as_str().as_bytes()),
                qrcodegen::QrCodeEcc::Medium,
            )
            .unwrap()
        })
    });
    c.bench_function("original_400x250_png", |b| {
        b.iter(|| {
            r.render(black_box(&original), Preset::Original, Format::Png, None)
                .unwrap()
        })
    });
    c.bench_function("original_400x250_jpeg", |b| {
        b.iter(|| {
            r.render(black_box(&original), Preset::Original, Format::Jpeg, None)
                .unwrap()
        })
    });
    c.bench_function("id1_png_300dpi", |b| {
        b.iter(|| {
            r.render(black_box(&id1), Preset::Id1, Format::Png, None)
                .unwrap()
        })
    });
    c.bench_function("id1_svg", |b| {
        b.iter(|| {
            r.render(black_box(&id1), Preset::Id1, Format::Svg, None)
                .unwrap()
        })
    });
    c.bench_function("id1_pdf", |b| {
        b.iter(|| {
            r.render(black_box(&id1), Preset::Id1, Format::Pdf, None)
                .unwrap()
        })
    });
    c.bench_function("id1_png_svg_set", |b| {
        b.iter(|| r.render_set(black_box(&id1), Preset::Id1).unwrap())
    });

    // The floor: PNG-encoding the same 1011 × 638 pixels alone, with the
    // renderer's settings. This badge (photo-like PNG logo, scaled up) has
    // more than 256 colours and is written as RGB.
    let png = r.render(&id1, Preset::Id1, Format::Png, None).unwrap();
    c.bench_function("png_encode_only_1011x638", |b| {
        let (color, palette, pixels) = decode_raw(&png);
        assert_eq!(color, png::ColorType::Rgb);
        b.iter(|| encode_png(color, &palette, black_box(&pixels)))
    });
    // With lanyard's own SVG logo the badge has under 256 colours and is
    // written as palette indices.
    let svg_logo = BadgeRenderer::new(
        &Fonts::bundled(),
        Theme {
            title: "Serverless web project".into(),
            accent: DEFAULT_ACCENT,
            subtitle: None,
            logo: None,
            band: None,
        },
    )
    .unwrap();
    c.bench_function("id1_png_300dpi_palette", |b| {
        b.iter(|| {
            svg_logo
                .render(black_box(&id1), Preset::Id1, Format::Png, None)
                .unwrap()
        })
    });
    let png = svg_logo
        .render(&id1, Preset::Id1, Format::Png, None)
        .unwrap();
    c.bench_function("png_encode_only_1011x638_palette", |b| {
        let (color, palette, pixels) = decode_raw(&png);
        assert_eq!(color, png::ColorType::Indexed);
        b.iter(|| encode_png(color, &palette, black_box(&pixels)))
    });
}

/// A PNG's colour type, palette and raw (undecoded-palette) pixel rows.
fn decode_raw(png: &[u8]) -> (png::ColorType, Vec<u8>, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut pixels).unwrap();
    let info = reader.info();
    let palette = info
        .palette
        .as_ref()
        .map(|p| p.to_vec())
        .unwrap_or_default();
    (info.color_type, palette, pixels)
}

/// PNG-encodes 1011 × 638 pixels as the renderer does (fdeflate, "up" filter).
fn encode_png(color: png::ColorType, palette: &[u8], pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 1011, 638);
    enc.set_color(color);
    if color == png::ColorType::Indexed {
        enc.set_palette(palette.to_vec());
    }
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::Filter::Up);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(pixels).unwrap();
    w.finish().unwrap();
    out
}

criterion_group! {
    name = render;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = benches
}
criterion_main!(render);
