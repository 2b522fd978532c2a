//! What the QR code on a badge says.

/// The bytes a badge's QR code encodes, as UTF-8 text without an ECI header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload(String);

impl Payload {
    /// A vCard 3.0 with `N`, `FN`, `ORG` and `TEL`, values escaped per RFC 2426,
    /// so a phone's camera offers "add contact".
    pub fn vcard(name: &str, phone: &str, company: Option<&str>) -> Self {
        Self::card(name, phone, company, None)
    }

    /// A vCard as [`Payload::vcard`] with a `UID` (a URI, written as is), so
    /// one scan can both add the contact and identify the card.
    pub fn vcard_with_uid(name: &str, phone: &str, company: Option<&str>, uid: &str) -> Self {
        Self::card(name, phone, company, Some(uid))
    }

    fn card(name: &str, phone: &str, company: Option<&str>, uid: Option<&str>) -> Self {
        let name = escape_vcard_text(name);
        let mut card = String::with_capacity(96 + 2 * name.len());
        card.push_str("BEGIN:VCARD\r\nVERSION:3.0\r\n");
        card.push_str("N:");
        card.push_str(&name);
        card.push_str(";;;;\r\nFN:");
        card.push_str(&name);
        card.push_str("\r\n");
        if let Some(company) = company.filter(|c| !c.is_empty()) {
            card.push_str("ORG:");
            card.push_str(&escape_vcard_text(company));
            card.push_str("\r\n");
        }
        card.push_str("TEL;TYPE=CELL:");
        card.push_str(&escape_vcard_text(phone));
        card.push_str("\r\n");
        if let Some(uid) = uid {
            card.push_str("UID:");
            card.push_str(uid);
            card.push_str("\r\n");
        }
        card.push_str("END:VCARD\r\n");
        Payload(card)
    }

    /// The phone number as a `tel:` URI (RFC 3966): what the original system encoded,
    /// with the visual separators a dialer does not need removed.
    pub fn tel(phone: &str) -> Self {
        let digits: String = phone
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        Payload(format!("tel:{digits}"))
    }

    /// A check-in code and nothing else: nothing personal, only an
    /// unguessable code a desk can look up.
    pub fn ticket(code: &str) -> Self {
        Payload(code.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Escapes a vCard 3.0 text value (RFC 2426 §5): backslash, comma and semicolon
/// are backslash-escaped and line breaks become `\n`.
pub fn escape_vcard_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcard_escapes_rfc2426_specials() {
        assert_eq!(escape_vcard_text(r"a\b,c;d"), r"a\\b\,c\;d");
        assert_eq!(escape_vcard_text("l1\nl2\r\nl3"), r"l1\nl2\nl3");
    }

    #[test]
    fn vcard_has_required_properties_in_order() {
        let card = Payload::vcard("홍길동", "+82 10-1234-5678", Some("Acme, Inc."));
        assert_eq!(
            card.as_str(),
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:홍길동;;;;\r\nFN:홍길동\r\nORG:Acme\\, Inc.\r\n\
             TEL;TYPE=CELL:+82 10-1234-5678\r\nEND:VCARD\r\n"
        );
    }

    #[test]
    fn a_uid_goes_before_the_end() {
        let card = Payload::vcard_with_uid("Ann", "1234", None, "urn:x:1");
        assert!(card
            .as_str()
            .ends_with("TEL;TYPE=CELL:1234\r\nUID:urn:x:1\r\nEND:VCARD\r\n"));
    }

    #[test]
    fn vcard_without_company_has_no_org() {
        let card = Payload::vcard("Ann", "1234", None);
        assert!(!card.as_str().contains("ORG:"));
    }

    #[test]
    fn tel_keeps_only_dialable_characters() {
        assert_eq!(
            Payload::tel("+82 (10) 1234-5678").as_str(),
            "tel:+821012345678"
        );
    }
}
