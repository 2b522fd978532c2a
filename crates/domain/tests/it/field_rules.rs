//! The sign-up field parsers against the shared table of valid and invalid
//! values (`tests/field-rules.json`), the same table the page's own rules
//! (`web/rules.js`) are tested with.

use lanyard_domain::{CompanyName, PhoneNumber, UserId, UserName};

#[test]
fn the_parsers_accept_exactly_the_valid_cases_of_the_shared_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/field-rules.json");
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("the table is JSON");
    let cases = table["cases"].as_array().expect("a list of cases");
    assert!(cases.len() >= 40);
    let mut disagreements = Vec::new();
    for case in cases {
        let (field, value) = (
            case["field"].as_str().unwrap(),
            case["value"].as_str().unwrap(),
        );
        let accepted = match field {
            "user_id" => UserId::parse(value).is_ok(),
            "user_name" => UserName::parse(value).is_ok(),
            "phone_number" => PhoneNumber::parse(value).is_ok(),
            "company_name" => CompanyName::parse(value).is_ok(),
            other => panic!("no such field {other}"),
        };
        if accepted != case["valid"].as_bool().unwrap() {
            disagreements.push(format!("{field} {value:?}: accepted = {accepted}"));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}
