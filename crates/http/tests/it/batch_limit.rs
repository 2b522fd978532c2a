//! The one limit on a check-in batch, as the server, its OpenAPI
//! description, the README and the desk page state it.

use lanyard_http::CheckinBatchBody;

#[test]
fn every_statement_of_the_batch_limit_agrees_with_the_server() {
    let max = CheckinBatchBody::MAX;
    let doc: serde_json::Value = serde_json::from_str(lanyard_http::openapi_json()).unwrap();
    let schema = &doc["components"]["schemas"]["CheckinBatchBody"]["properties"]["scans"];
    assert_eq!(schema["maxItems"], max, "{schema}");
    let refused = &doc["paths"]["/api/checkins/batch"]["post"]["responses"]["400"]["description"];
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains(&format!("1 to {max} scans")),
        "{refused}"
    );
    let readme = include_str!("../../../../README.md");
    assert!(
        readme.contains(&format!("up to {max} scans")),
        "the README's batch row"
    );
    let desk = include_str!("../../../../web/desk.js");
    assert!(
        desk.contains(&format!("const BATCH_MAX = {max};")),
        "the desk page's batch size"
    );
}
