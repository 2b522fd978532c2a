//! Writes a sample print run: `cargo run -p lanyard-badge --example print_sheet -- SHEET N OUT.pdf`.
use lanyard_badge::{
    Badge, BadgeRenderer, Fonts, Payload, PrintOptions, PrintRun, Sheet, Theme, DEFAULT_ACCENT,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sheet = Sheet::builtin()
        .into_iter()
        .find(|s| s.name == args[1])
        .expect("sheet");
    let n: usize = args[2].parse().unwrap();
    let fonts = Fonts::bundled();
    let renderer = BadgeRenderer::new(
        &fonts,
        Theme {
            title: "Serverless web project".into(),
            accent: DEFAULT_ACCENT,
            subtitle: Some("Seoul · 2026-12-01".into()),
            logo: None,
            band: None,
        },
    )
    .unwrap();
    let out = std::io::BufWriter::new(std::fs::File::create(&args[3]).unwrap());
    let mut run = PrintRun::new(
        out,
        &fonts,
        &sheet,
        PrintOptions {
            cut_marks: true,
            ..Default::default()
        },
    )
    .unwrap();
    let names = [
        "홍길동",
        "Zoë Ångström-Müller",
        "Ada Lovelace",
        "Ирина Петрова",
    ];
    for i in 0..n {
        let name = format!("{} {i}", names[i % names.len()]);
        let payload = Payload::ticket(&format!("7QX4-M2KD-9HZ1-{i:04}"));
        run.add(
            &renderer,
            &Badge {
                name: &name,
                company: Some("Example Corp"),
                payload: &payload,
                details: None,
            },
        )
        .unwrap();
    }
    run.finish().unwrap();
}
