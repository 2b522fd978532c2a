//! The vCard builder on any text: never a panic, and every value can be read
//! back exactly by undoing RFC 2426 escaping.
#![no_main]

use lanyard_badge::{escape_vcard_text, Payload};
use libfuzzer_sys::fuzz_target;

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => panic!("dangling backslash"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fuzz_target!(|data: (&str, &str, &str)| {
    let (name, phone, company) = data;
    let card = Payload::vcard(name, phone, Some(company));
    let text = card.as_str();
    assert!(text.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n") && text.ends_with("END:VCARD\r\n"));
    let escaped = escape_vcard_text(name);
    assert!(!escaped.contains('\n') && !escaped.contains('\r'));
    let normalized = name.replace("\r\n", "\n").replace('\r', "\n");
    assert_eq!(unescape(&escaped), normalized);
    // Escaped values never contain an unescaped separator.
    let mut prev_backslash = false;
    for c in escaped.chars() {
        if !prev_backslash {
            assert!(c != ';' && c != ',');
        }
        prev_backslash = c == '\\' && !prev_backslash;
    }
});
