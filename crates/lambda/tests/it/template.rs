//! `deploy/template.yaml` and the functions' code agree on the environment:
//! each function gets exactly the variables the code reads (besides those
//! Lambda sets itself and the token variable meant for tests). The template
//! is read with cfn-lint's own decoder (scripts/test installs cfn-lint), so
//! its short-form tags (`!Ref`, `!If`) are understood.

use std::collections::BTreeSet;
use std::process::Command;

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/template.yaml");

/// Each function's environment variable names: the globals and its own.
fn template_variables() -> serde_json::Value {
    let script = r#"
import json, sys
from cfnlint.decode import decode
t, errors = decode(sys.argv[1])
assert not errors, errors
names = lambda env: sorted((env or {}).get("Variables", {}).keys())
common = names(t["Globals"]["Function"].get("Environment"))
out = {}
for name, r in t["Resources"].items():
    if r["Type"] == "AWS::Serverless::Function":
        out[name] = sorted(set(common) | set(names(r["Properties"].get("Environment"))))
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script, TEMPLATE])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "reading the template with cfn-lint's decoder (pip install cfn-lint): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn set<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_owned).collect()
}

#[test]
fn each_function_gets_exactly_the_variables_its_code_reads() {
    let template = template_variables();
    let functions: Vec<&String> = template.as_object().unwrap().keys().collect();
    assert_eq!(functions, ["ApiFunction", "BadgeFunction"]);
    let read: BTreeSet<String> = lanyard_lambda::environment_variables()
        .into_iter()
        .collect();
    // Set by Lambda itself, and the plain token meant for tests and emulators.
    let not_from_the_template = set(["AWS_LAMBDA_LOG_LEVEL", "LANYARD_ADMIN_TOKEN"]);
    let given = |function: &str| -> BTreeSet<String> {
        template[function]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let api: BTreeSet<String> = read.difference(&not_from_the_template).cloned().collect();
    assert_eq!(given("ApiFunction"), api, "the API function");
    // The badge function needs no organizer token, and no origin secret.
    let badge: BTreeSet<String> = api
        .difference(&set([
            "LANYARD_ADMIN_TOKEN_PARAMETER",
            "LANYARD_ORIGIN_SECRET",
        ]))
        .cloned()
        .collect();
    assert_eq!(given("BadgeFunction"), badge, "the badge function");
}
