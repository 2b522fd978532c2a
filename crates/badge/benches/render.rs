//! Badge rendering costs. `cargo bench -p lanyard-badge`; results and method
//! in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use lanyard_badge::{
    Badge, BadgeRenderer, Fonts, Format, Logo, Payload, Preset, Theme, DEFAULT_ACCENT,
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
    };
    let vcard = Payload::vcard("홍길동", "010-1234-5678", Some("Example Corp"));
    let id1 = Badge {
        name: "홍길동",
        company: Some("Example Corp"),
        payload: &vcard,
    };

    c.bench_function("qr_encode_vcard", |b| {
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

    // The floor: PNG-encoding the same 1011 × 638 pixels alone, as the renderer does.
    let png = r.render(&id1, Preset::Id1, Format::Png, None).unwrap();
    let pixels = image::load_from_memory(&png).unwrap().to_rgb8();
    c.bench_function("png_encode_only_1011x638", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            let mut enc = png::Encoder::new(&mut out, pixels.width(), pixels.height());
            enc.set_color(png::ColorType::Rgb);
            enc.set_compression(png::Compression::Fast);
            enc.set_filter(png::Filter::Up);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(black_box(pixels.as_raw())).unwrap();
            w.finish().unwrap();
            out
        })
    });
}

criterion_group! {
    name = render;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = benches
}
criterion_main!(render);
