//! Any input to the field parsers: never a panic; what is accepted parses
//! again to itself and keeps every rule of SPEC §2.
#![no_main]

use lanyard_domain::{BadgeToken, CompanyName, PhoneNumber, UserId, UserName};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(id) = UserId::parse(s) {
        assert!((1..=64).contains(&id.as_str().chars().count()));
        assert!(!id.as_str().contains(['/', '\\', '*', '\0', ' ']));
        assert_eq!(UserId::parse(id.as_str()).unwrap(), id);
    }
    if let Ok(name) = UserName::parse(s) {
        assert!(!name.as_str().chars().any(char::is_control));
        assert_eq!(name.as_str(), name.as_str().trim());
        assert_eq!(UserName::parse(name.as_str()).unwrap(), name);
    }
    if let Ok(phone) = PhoneNumber::parse(s) {
        let digits = phone.as_str().chars().filter(char::is_ascii_digit).count();
        assert!((4..=20).contains(&digits));
        assert_eq!(PhoneNumber::parse(phone.as_str()).unwrap(), phone);
    }
    if let Ok(Some(company)) = CompanyName::parse(s) {
        assert!(company.as_str().chars().count() <= 100);
    }
    if let Some(token) = BadgeToken::parse(s) {
        assert!(token.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
});
