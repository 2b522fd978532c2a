//! Text normalisation and search folding on any input: never a panic;
//! accepted names and companies are NFC, print something, carry no
//! direction override, and parse again to themselves; folding is idempotent
//! and blind to NFC/NFD.
#![no_main]

use lanyard_domain::fields::{normalize, search_fold};
use lanyard_domain::{CompanyName, UserId, UserName};
use libfuzzer_sys::fuzz_target;

fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    assert_eq!(normalize(&normalize(s)), normalize(s));
    assert_eq!(search_fold(&search_fold(s)), search_fold(s));
    use unicode_normalization::UnicodeNormalization;
    let nfd: String = s.nfd().collect();
    assert_eq!(search_fold(&nfd), search_fold(s));
    if let Ok(name) = UserName::parse(s) {
        assert_eq!(normalize(name.as_str()), name.as_str());
        assert!(!name.as_str().chars().any(is_direction_control));
        assert!(!name.as_str().trim().is_empty());
        assert_eq!(UserName::parse(name.as_str()).unwrap(), name);
        assert_eq!(UserName::parse(&nfd).unwrap(), name);
    }
    if let Ok(Some(company)) = CompanyName::parse(s) {
        assert!(!company.as_str().chars().any(is_direction_control));
        assert_eq!(CompanyName::parse(company.as_str()).unwrap(), Some(company));
    }
    if let Ok(id) = UserId::parse(s) {
        assert_eq!(normalize(id.as_str()), id.as_str());
        assert_eq!(UserId::parse(&nfd).unwrap(), id);
    }
});
