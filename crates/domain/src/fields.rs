//! Validated newtypes for every registration field (SPEC §2). Each is built
//! once at the edge by `parse` and trusted everywhere inside.

use std::fmt;

use base64::Engine as _;
use serde::Serialize;

/// Why one input field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

/// Text as it is compared and stored: Unicode NFC, so that the same name
/// typed on two keyboards (precomposed `é`, or `e` and a combining accent)
/// is one name.
pub fn normalize(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect()
}

/// Search text folded the same way on every backend: NFC, then Unicode
/// lower case, so `ÖDÖN` finds `Ödön` and `É` finds `é` whichever way either
/// was typed.
pub fn search_fold(s: &str) -> String {
    normalize(s).to_lowercase()
}

/// Characters that reorder the text around them: `U+202E evil.exe` would
/// print as `exe.live`.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that print nothing: white space, format characters (zero-width
/// space and joiners, the byte-order mark, direction marks), fillers (the
/// Hangul fillers, the blank Braille pattern) and variation selectors.
/// Unicode's `Default_Ignorable_Code_Point` and `White_Space` with the
/// fillers: hand-listed because no maintained crate exposes that property.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}'
            | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Normalises free text (a name, a company), trims it and checks what every
/// such field shares: at most 100 characters, no control or
/// direction-override character, and something visible unless empty.
pub(crate) fn free_text(field: &'static str, s: &str) -> Result<String, FieldError> {
    free_text_of(s, 100).map_err(|message| FieldError::new(field, message))
}

/// [`free_text`] of at most `max` characters; the error is the message.
pub(crate) fn free_text_of(s: &str, max: usize) -> Result<String, String> {
    let s = normalize(s.trim()).trim().to_owned();
    if s.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if let Some(c) = s.chars().find(|c| is_direction_control(*c)) {
        return Err(format!(
            "must not contain text-direction controls (found U+{:04X})",
            c as u32
        ));
    }
    if !s.is_empty() && s.chars().all(is_invisible) {
        return Err("must contain a visible character".into());
    }
    Ok(s)
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// 1–64 characters: letters, digits and `.` `_` `-` `@` `+`; never `*`
/// (the original's "list everything") and never only dots.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(String);
string_newtype!(UserId);

impl UserId {
    pub const FIELD: &'static str = "user_id";

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = &normalize(s);
        let len = s.chars().count();
        if !(1..=64).contains(&len) {
            return Err(FieldError::new(Self::FIELD, "must be 1 to 64 characters"));
        }
        if let Some(c) = s.chars().find(|c| {
            !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+')) || is_invisible(*c)
        }) {
            return Err(FieldError::new(
                Self::FIELD,
                format!("may contain only letters, digits and . _ - @ + (found {c:?})"),
            ));
        }
        if s.chars().all(|c| c == '.') {
            return Err(FieldError::new(
                Self::FIELD,
                "must contain a letter or digit",
            ));
        }
        Ok(UserId(s.to_owned()))
    }

    /// A user id as a store holds it, trusted as it is: the original system
    /// wrote ids today's rules refuse, and they must still list and open.
    pub fn from_stored(id: String) -> Self {
        UserId(id)
    }

    /// A user id from a request's path, to look a registration up by: today's
    /// rules, or any stored id (1–1 024 characters, not one of the store's
    /// own `#` keys, no control characters). Looking up an id nobody has
    /// finds nothing.
    pub fn for_lookup(s: &str) -> Result<Self, FieldError> {
        if let Ok(id) = UserId::parse(s) {
            return Ok(id);
        }
        let len = s.chars().count();
        if (1..=1024).contains(&len) && !s.starts_with('#') && !s.chars().any(char::is_control) {
            return Ok(UserId(s.to_owned()));
        }
        Err(FieldError::new(Self::FIELD, "is not a user id"))
    }
}

/// A person's name: 1–100 characters after trimming, any script, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UserName(String);
string_newtype!(UserName);

impl UserName {
    pub const FIELD: &'static str = "user_name";

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = free_text(Self::FIELD, s)?;
        if s.is_empty() {
            return Err(FieldError::new(Self::FIELD, "is required"));
        }
        Ok(UserName(s))
    }

    /// A name as a store holds it, trusted as it is.
    pub fn from_stored(name: String) -> Self {
        UserName(name)
    }
}

/// An optional leading `+`, then digits with spaces, `-`, `(`, `)`; 4–20 digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);
string_newtype!(PhoneNumber);

impl PhoneNumber {
    pub const FIELD: &'static str = "phone_number";

    /// Longest accepted text, spaces and separators included (the OpenAPI
    /// `maxLength`): room for any real number, nothing like a page of spaces.
    pub const MAX_CHARS: usize = 60;

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        if s.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                Self::FIELD,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let s = s.trim();
        let body = s.strip_prefix('+').unwrap_or(s);
        if let Some(c) = body
            .chars()
            .find(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')')))
        {
            return Err(FieldError::new(
                Self::FIELD,
                format!("may contain only digits, spaces, - ( ) and a leading + (found {c:?})"),
            ));
        }
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if !(4..=20).contains(&digits) {
            return Err(FieldError::new(Self::FIELD, "must have 4 to 20 digits"));
        }
        Ok(PhoneNumber(s.to_owned()))
    }

    /// A phone number as a store holds it, trusted as it is (the original
    /// wrote numbers in any form).
    pub fn from_stored(phone: String) -> Self {
        PhoneNumber(phone)
    }
}

/// A company: up to 100 characters, no control characters. Empty means none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CompanyName(String);
string_newtype!(CompanyName);

impl CompanyName {
    pub const FIELD: &'static str = "company_name";

    pub fn parse(s: &str) -> Result<Option<Self>, FieldError> {
        let s = free_text(Self::FIELD, s)?;
        if s.is_empty() {
            return Ok(None);
        }
        Ok(Some(CompanyName(s)))
    }

    /// A company as a store holds it, trusted as it is; empty means none.
    pub fn from_stored(company: String) -> Option<Self> {
        (!company.trim().is_empty()).then_some(CompanyName(company))
    }
}

/// The id of a configured conference (the original's `type`). Built only by
/// [`crate::Conferences::parse_id`], so it always names a real conference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ConferenceId(String);
string_newtype!(ConferenceId);

impl ConferenceId {
    pub const FIELD: &'static str = "type";

    /// For the conference configuration only; requests go through `Conferences::parse_id`.
    pub(crate) fn configured(id: String) -> Self {
        ConferenceId(id)
    }

    /// An id as stored by a store adapter; the store only holds ids that were valid when written.
    pub fn from_stored(id: String) -> Self {
        ConferenceId(id)
    }
}

/// An unguessable 128-bit token naming a badge in URLs (22 characters of base64url).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BadgeToken(String);
string_newtype!(BadgeToken);

impl BadgeToken {
    pub fn generate() -> Self {
        BadgeToken(random_code())
    }

    /// Accepts only the shape `generate` makes, so a token is always safe in a path or key.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 22
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| BadgeToken(s.to_owned()))
    }
}

/// How many registrations one page of the organizer list holds: 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(usize);

impl PageSize {
    pub const FIELD: &'static str = "limit";
    pub const DEFAULT: PageSize = PageSize(50);
    pub const MAX: usize = 100;

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        s.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(PageSize)
            .ok_or_else(|| {
                FieldError::new(
                    Self::FIELD,
                    format!("must be a whole number from 1 to {}", Self::MAX),
                )
            })
    }

    pub fn get(self) -> usize {
        self.0
    }
}

/// 128 random bits from the operating system, as 22 characters of base64url.
pub fn random_code() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert!(UserId::parse("alice.kim+conf@example.com").is_ok());
        assert!(UserId::parse("홍길동_01").is_ok());
        for bad in [
            "",
            "*",
            "..",
            "../etc",
            "a/b",
            "%2e%2e",
            "a\0b",
            "a b",
            &"x".repeat(65),
        ] {
            assert_eq!(UserId::parse(bad).unwrap_err().field, "user_id", "{bad:?}");
        }
        assert_eq!(UserName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(UserName::parse("   ").is_err());
        assert!(UserName::parse("a\u{7}b").is_err());
        assert!(PhoneNumber::parse("+82 (10) 1234-5678").is_ok());
        assert!(PhoneNumber::parse("123").is_err());
        assert!(PhoneNumber::parse("++1234").is_err());
        assert!(PhoneNumber::parse("1234x").is_err());
        assert_eq!(CompanyName::parse("  ").unwrap(), None);
        assert!(BadgeToken::parse(BadgeToken::generate().as_str()).is_some());
        assert!(BadgeToken::parse("../../../../etc/passwd").is_none());
    }

    #[test]
    fn text_is_normalised_and_must_print() {
        // NFC and NFD spellings are one name, one user id.
        let nfd = "\u{1112}\u{1169}\u{11BC}\u{1100}\u{1175}\u{11AF}\u{1103}\u{1169}\u{11BC}";
        assert_eq!(UserName::parse(nfd).unwrap().as_str(), "홍길동");
        assert_eq!(UserId::parse(nfd).unwrap().as_str(), "홍길동");
        assert_eq!(UserId::parse("jose\u{301}").unwrap().as_str(), "josé");
        // Direction overrides are refused, with the character named.
        let evil = UserName::parse("\u{202E}evil.exe").unwrap_err();
        assert!(evil.message.contains("U+202E"), "{evil}");
        assert!(CompanyName::parse("ACME \u{2067}x").is_err());
        // Nothing visible: refused (a company may be empty, not invisible).
        for blank in [
            "\u{FEFF}",
            "\u{200B}",
            "\u{3164}",
            "\u{200B}\u{2800}",
            "\u{115F}\u{1160}",
        ] {
            assert!(UserName::parse(blank).is_err(), "{blank:?}");
            assert!(CompanyName::parse(blank).is_err(), "{blank:?}");
        }
        assert!(UserId::parse("\u{3164}").is_err());
        assert!(UserId::parse("a\u{200B}b").is_err());
        // A joiner inside visible text is fine (emoji sequences, Indic conjuncts).
        assert!(UserName::parse("क\u{94D}\u{200D}ष").is_ok());
        assert_eq!(search_fold("ÖDÖN"), search_fold("o\u{308}do\u{308}n"));
    }

    fn user_id_char() -> impl Strategy<Value = char> {
        prop_oneof![
            proptest::char::range('a', 'z'),
            proptest::char::range('A', 'Z'),
            proptest::char::range('0', '9'),
            proptest::char::range('가', '힣'),
            Just('.'),
            Just('_'),
            Just('-'),
            Just('@'),
            Just('+'),
        ]
    }

    proptest! {
        #[test]
        fn user_id_accepts_allowed(chars in proptest::collection::vec(user_id_char(), 1..=64)) {
            let s: String = chars.into_iter().collect();
            prop_assume!(!s.chars().all(|c| c == '.'));
            prop_assert_eq!(UserId::parse(&s).unwrap().to_string(), s);
        }

        #[test]
        fn user_id_rejects_other_chars(prefix in "[a-z]{0,10}", bad in "[ /\\\\*%#?&=:;,<>\"'\\x00-\\x1f]", suffix in "[a-z]{0,10}") {
            let s = format!("{prefix}{bad}{suffix}");
            prop_assert_eq!(UserId::parse(&s).unwrap_err().field, "user_id");
        }

        #[test]
        fn user_id_rejects_too_long(s in "[a-z0-9]{65,120}") {
            prop_assert_eq!(UserId::parse(&s).unwrap_err().field, "user_id");
        }

        #[test]
        fn user_name_accepts_any_script(s in "[\\p{L}\\p{M}\\p{N} .,;'\\\\-]{1,100}") {
            // Length counts after normalisation (NFC lengthens a few
            // characters), and the text must have something visible.
            let expected = normalize(s.trim());
            prop_assume!(expected.trim().chars().count() <= 100);
            prop_assume!(expected.chars().any(|c| !is_invisible(c)));
            prop_assert_eq!(UserName::parse(&s).unwrap().to_string(), expected.trim());
        }

        #[test]
        fn user_name_rejects_controls(a in "[a-z]{1,10}", c in "[\\x00-\\x08\\x0b-\\x1f\\x7f\\u{80}-\\u{9f}]", b in "[a-z]{1,10}") {
            prop_assert_eq!(UserName::parse(&format!("{a}{c}{b}")).unwrap_err().field, "user_name");
        }

        #[test]
        fn user_name_rejects_over_100(s in "[a-z가-힣]{101,200}") {
            prop_assert_eq!(UserName::parse(&s).unwrap_err().field, "user_name");
        }

        #[test]
        fn phone_accepts_allowed(plus in proptest::bool::ANY, digits in "[0-9]{4,20}", seps in proptest::collection::vec("[ ()-]{0,2}", 20)) {
            let mut s = String::from(if plus { "+" } else { "" });
            for (d, sep) in digits.chars().zip(seps.iter()) {
                s.push(d);
                s.push_str(sep);
            }
            let s = s.trim().to_owned();
            prop_assert!(PhoneNumber::parse(&s).is_ok(), "{}", s);
        }

        #[test]
        fn phone_rejects_wrong_digit_count(digits in "[0-9]{0,3}|[0-9]{21,30}") {
            prop_assert_eq!(PhoneNumber::parse(&digits).unwrap_err().field, "phone_number");
        }

        #[test]
        fn phone_rejects_letters(a in "[0-9]{4,8}", c in "[a-zA-Z+*#.]", b in "[0-9]{0,4}") {
            prop_assert_eq!(PhoneNumber::parse(&format!("{a}{c}{b}")).unwrap_err().field, "phone_number");
        }

        #[test]
        fn company_accepts_up_to_100(s in "[\\p{L}\\p{N} &.,-]{0,100}") {
            let expected = normalize(s.trim());
            prop_assume!(expected.trim().chars().count() <= 100);
            prop_assume!(expected.is_empty() || expected.chars().any(|c| !is_invisible(c)));
            let parsed = CompanyName::parse(&s).unwrap();
            prop_assert_eq!(parsed.as_ref().map(|c| c.as_str()), Some(expected.trim()).filter(|t| !t.is_empty()));
        }

        #[test]
        fn company_rejects_over_100_and_controls(s in "[a-z]{101,150}", a in "[a-z]{1,5}", c in "[\\x00-\\x1f]") {
            prop_assert_eq!(CompanyName::parse(&s).unwrap_err().field, "company_name");
            prop_assert_eq!(CompanyName::parse(&format!("{a}{c}{a}")).unwrap_err().field, "company_name");
        }
    }
}

/// An e-mail address: RFC 5322's `addr-spec` as the `email_address` crate
/// checks it, at most 254 characters (what SMTP carries), with a domain
/// that has a dot (no mail reaches `user@localhost` from outside), stored
/// with its domain in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);
string_newtype!(Email);

impl Email {
    pub const FIELD: &'static str = "email";

    /// `None` for empty text.
    pub fn parse(s: &str) -> Result<Option<Self>, FieldError> {
        let s = normalize(s.trim());
        if s.is_empty() {
            return Ok(None);
        }
        let invalid = || {
            FieldError::new(
                Self::FIELD,
                "is not an e-mail address like name@example.org",
            )
        };
        if s.chars().count() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let options = email_address::Options::default().without_display_text();
        let parsed =
            email_address::EmailAddress::parse_with_options(&s, options).map_err(|_| invalid())?;
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('[') || domain.ends_with('.') {
            return Err(invalid());
        }
        Ok(Some(Email(format!(
            "{}@{}",
            parsed.local_part(),
            domain.to_lowercase()
        ))))
    }

    /// The address as lookups compare it: ASCII letters in lower case (an
    /// attendee types their address as they please; the local part's case
    /// is, in practice, ignored by every mail service).
    pub fn lookup_key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// As stored: trusted, not checked again.
    pub fn from_stored(s: String) -> Option<Self> {
        (!s.is_empty()).then_some(Email(s))
    }
}
