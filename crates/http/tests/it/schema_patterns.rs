//! The patterns the OpenAPI document gives for sign-up fields agree with the
//! validation the API applies: a phone number matches exactly when it is
//! accepted, and no accepted name or company is refused by its pattern.

use lanyard_domain::{CompanyName, PhoneNumber, UserName};
use lanyard_http::SignUpBody;
use proptest::prelude::*;
use regex::Regex;

fn pattern(field: &str) -> Regex {
    let schema = serde_json::to_value(<SignUpBody as utoipa::PartialSchema>::schema()).unwrap();
    let pattern = schema["properties"][field]["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{field} has a pattern"));
    Regex::new(pattern).unwrap()
}

fn text(alphabet: &'static [char], max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet), 0..max)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Phone-like text: mostly digits, around the 4- and 20-digit limits, with
/// separators, a `+`, surrounding white space, and now and then a stray
/// character.
fn phone_like() -> impl Strategy<Value = String> {
    let body = proptest::collection::vec(
        prop_oneof![
            6 => proptest::sample::select(&['0', '1', '5', '9'][..]),
            2 => proptest::sample::select(&[' ', '-', '(', ')'][..]),
            1 => proptest::sample::select(&['+', '\t', '\u{3000}', 'x', '٣', '.'][..]),
        ],
        0..30,
    );
    (
        proptest::sample::select(&["", "", "+", " ", "\t+", "++"][..]),
        body,
        proptest::sample::select(&["", "", " ", "\n"][..]),
    )
        .prop_map(|(before, body, after)| format!("{before}{}{after}", String::from_iter(body)))
}
const NAME_CHARS: &[char] = &[
    'a', 'Z', '홍', 'é', 'ح', ' ', '\t', '\n', '\r', '\u{0}', '\u{7}', '\u{1b}', '\u{7f}',
    '\u{85}', '\u{9f}', '\u{a0}', '\u{2028}', '\u{3000}', ';', '<', '\u{202E}', '\u{2067}',
];

/// Characters the server counts as invisible: text made only of them is
/// refused, which a pattern does not say.
fn all_invisible(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

/// Long text from the same alphabet, padded with white space around the
/// 100-character limit.
fn long_text() -> impl Strategy<Value = String> {
    (
        text(&[' ', '\t', '\u{3000}', '\n'], 4),
        proptest::collection::vec(
            proptest::sample::select(&['a', '홍', ' ', 'é'][..]),
            95..106,
        ),
        text(&[' ', '\u{85}', '\r'], 4),
    )
        .prop_map(|(a, body, b)| format!("{a}{}{b}", String::from_iter(body)))
}

proptest! {
    #[test]
    fn phone_pattern_matches_exactly_the_accepted_numbers(s in phone_like()) {
        prop_assert_eq!(pattern("phone_number").is_match(&s), PhoneNumber::parse(&s).is_ok(), "{:?}", s);
    }

    /// In NFC text (the NFC `é` of the alphabet), a name or company matches
    /// its pattern exactly when it is accepted, except text with nothing
    /// visible, which the pattern matches and the server refuses.
    #[test]
    fn names_and_companies_match_their_patterns_exactly_when_accepted(
        s in prop_oneof![text(NAME_CHARS, 24), long_text()]
    ) {
        let visible = !all_invisible(&s);
        prop_assert_eq!(
            pattern("user_name").is_match(&s) && visible,
            UserName::parse(&s).is_ok(),
            "{:?}", s
        );
        prop_assert_eq!(
            pattern("company_name").is_match(&s) && (visible || s.trim().is_empty()),
            CompanyName::parse(&s).is_ok(),
            "{:?}", s
        );
    }
}

#[test]
fn control_characters_inside_a_name_do_not_match() {
    for s in ["A\u{0}B", "A\u{1b}[31mB", "A\u{7f}", "\u{9f}x"] {
        assert!(!pattern("user_name").is_match(s), "{s:?}");
        assert!(UserName::parse(s).is_err());
    }
}
