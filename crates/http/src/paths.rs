//! The API's routes, written once: the router, the OpenAPI description and
//! the links in answers all take them from here.

use lanyard_domain::BadgeToken;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

pub const HEALTH: &str = "/api/health";
pub const CONFERENCES: &str = "/api/conferences";
pub const CONFERENCE_FORM: &str = "/api/conferences/{type}/form";
pub const CONFERENCE_LOGO: &str = "/api/conferences/{type}/logo";
pub const REGISTRATIONS: &str = "/api/registrations";
/// The original system's route, for its page: sign-up (`POST`), and its
/// History tab (`GET`, refused).
pub const ORIGINAL_SIGNUP: &str = "/conference";
pub const USER_REGISTRATIONS: &str = "/api/registrations/{user_id}";
pub const REGISTRATION: &str = "/api/registrations/{user_id}/{type}";
pub const REGISTRATION_BADGE: &str = "/api/registrations/{user_id}/{type}/badge";
pub const REGISTRATION_SEAT: &str = "/api/registrations/{user_id}/{type}/seat";
pub const BADGE_SEAT: &str = "/api/badges/{token}/seat";
pub const REGISTRATION_CHECKIN: &str = "/api/registrations/{user_id}/{type}/checkin";
pub const BADGE: &str = "/api/badges/{token}";
pub const BADGE_LOOKUP: &str = "/api/badges/lookup";
pub const MESSAGES: &str = "/api/messages";
pub const DESKS: &str = "/api/desks";
pub const DESK: &str = "/api/desks/{name}";
pub const DESK_ENROLMENT: &str = "/api/desks/{name}/enrolment";
pub const DESK_SELF: &str = "/api/desk";
pub const DESK_ENROL: &str = "/api/desk/enrol";
pub const CHECKINS: &str = "/api/checkins";
pub const CHECKIN_BATCH: &str = "/api/checkins/batch";
pub const CHECKIN_WALK_INS: &str = "/api/checkins/walk-ins";
pub const CHECKIN_SEARCH: &str = "/api/checkins/search";
pub const CHECKIN_STATS: &str = "/api/checkins/stats";
pub const IMPORT: &str = "/api/registrations/import";
pub const EXPORT_CSV: &str = "/api/registrations.csv";
pub const EXPORT_XLSX: &str = "/api/registrations.xlsx";
pub const SHEETS: &str = "/api/sheets";
pub const PRINTABLE: &str = "/api/printable";
pub const BADGES_PDF: &str = "/api/badges.pdf";
pub const OPENAPI: &str = "/api/openapi.json";

/// The routes whose `POST`s count against a client address's sign-up
/// limit, the public writes: sign-ups (the page's and the original
/// page's), lost-link requests (each costs an e-mail) and desk sign-in
/// codes. The server limits these; on AWS the web ACL counts exactly these.
pub const SIGN_UP_LIMITED: [&str; 4] = [REGISTRATIONS, ORIGINAL_SIGNUP, BADGE_LOOKUP, DESK_ENROL];

/// Fills a route's `{name}` segments with values already safe in a path.
fn fill(route: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(route.to_owned(), |path, (name, value)| {
        path.replace(&format!("{{{name}}}"), value)
    })
}

/// The URL of a conference's logo.
pub fn conference_logo(conference: &str) -> String {
    let encode = |s| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    fill(CONFERENCE_LOGO, &[("type", &encode(conference))])
}

/// The URL of one registration.
pub fn registration(user_id: &str, conference: &str) -> String {
    let encode = |s| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    fill(
        REGISTRATION,
        &[("user_id", &encode(user_id)), ("type", &encode(conference))],
    )
}

/// The URL of a badge (add `.png`, `.svg` or `.pdf` for its files). Tokens
/// are base64url, safe in a path as they are.
pub fn badge(token: &BadgeToken) -> String {
    fill(BADGE, &[("token", token.as_str())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_into_their_segments() {
        assert_eq!(
            registration("a/b", "Serverless web project"),
            "/api/registrations/a%2Fb/Serverless%20web%20project"
        );
        let token = BadgeToken::parse("6cJ3p1xq0uKqL2m8eVn4_-").unwrap();
        assert_eq!(badge(&token), "/api/badges/6cJ3p1xq0uKqL2m8eVn4_-");
    }
}
