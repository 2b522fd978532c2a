//! `deploy/template.yaml` and the functions' code agree: each function
//! gets exactly the environment variables the code reads (besides those
//! Lambda sets itself and the token variable meant for tests), and the web
//! ACL counts exactly the requests the server's own sign-up limit counts,
//! answering as the server does. The template is read with cfn-lint's own
//! decoder (scripts/test installs cfn-lint), so its short-form tags
//! (`!Ref`, `!If`) come out in their long form (`Ref`, `Fn::If`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::process::Command;

use serde_json::{json, Value};

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/template.yaml");

/// The whole template as JSON.
fn decoded() -> Value {
    let script = r#"
import json, sys
from cfnlint.decode import decode
t, errors = decode(sys.argv[1])
assert not errors, errors
print(json.dumps(t))
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

/// Each function's environment variable names: the globals and its own.
fn template_variables() -> BTreeMap<String, BTreeSet<String>> {
    let t = decoded();
    let names = |environment: &Value| -> BTreeSet<String> {
        environment["Variables"]
            .as_object()
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default()
    };
    let common = names(&t["Globals"]["Function"]["Environment"]);
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, r)| {
            let own = names(&r["Properties"]["Environment"]);
            (name.clone(), common.union(&own).cloned().collect())
        })
        .collect()
}

fn set<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_owned).collect()
}

#[test]
fn each_function_gets_exactly_the_variables_its_code_reads() {
    let template = template_variables();
    let functions: Vec<&String> = template.keys().collect();
    assert_eq!(functions, ["ApiFunction", "BadgeFunction"]);
    let read: BTreeSet<String> = lanyard_lambda::environment_variables()
        .into_iter()
        .collect();
    // Set by Lambda itself, and the plain token meant for tests and emulators.
    let not_from_the_template = set(["AWS_LAMBDA_LOG_LEVEL", "LANYARD_ADMIN_TOKEN"]);
    let given = |function: &str| -> BTreeSet<String> { template[function].clone() };
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

/// A deployment's parameters and region, to evaluate the template's
/// conditions and `Fn::If`s with.
struct Deployment<'a> {
    region: &'a str,
    parameters: BTreeMap<&'a str, Value>,
}

impl Deployment<'_> {
    /// A parameter's value, or its default.
    fn parameter(&self, t: &Value, name: &str) -> Value {
        if name == "AWS::Region" {
            return json!(self.region);
        }
        if let Some(v) = self.parameters.get(name) {
            return v.clone();
        }
        let declared = &t["Parameters"][name];
        assert!(declared.is_object(), "no parameter {name}");
        let default = declared["Default"].clone();
        if declared["Type"] == "CommaDelimitedList" {
            let text = default.as_str().unwrap_or_default().to_owned();
            return json!(text.split(',').collect::<Vec<_>>());
        }
        match default {
            Value::Number(n) => json!(n.to_string()),
            other => other,
        }
    }

    /// Evaluates a condition's expression.
    fn holds(&self, t: &Value, expression: &Value) -> bool {
        let (function, args) = expression.as_object().unwrap().iter().next().unwrap();
        match function.as_str() {
            "Condition" => self.condition(t, args.as_str().unwrap()),
            "Fn::And" => args.as_array().unwrap().iter().all(|e| self.holds(t, e)),
            "Fn::Or" => args.as_array().unwrap().iter().any(|e| self.holds(t, e)),
            "Fn::Not" => !self.holds(t, &args[0]),
            // CloudFormation compares parameters as strings: `0` is "0".
            "Fn::Equals" => {
                let text = |v: Value| match v {
                    Value::Number(n) => json!(n.to_string()),
                    other => other,
                };
                text(self.value(t, &args[0])) == text(self.value(t, &args[1]))
            }
            other => panic!("the test evaluates no {other}"),
        }
    }

    fn condition(&self, t: &Value, name: &str) -> bool {
        let expression = &t["Conditions"][name];
        assert!(expression.is_object(), "no condition {name}");
        self.holds(t, expression)
    }

    /// A value with `Ref`s to parameters, `Fn::Join` and `Fn::If` resolved;
    /// `Ref`s to resources and `Fn::GetAtt` are left as they are.
    fn value(&self, t: &Value, v: &Value) -> Value {
        match v {
            Value::Object(map) if map.len() == 1 => {
                let (function, args) = map.iter().next().unwrap();
                match function.as_str() {
                    "Ref"
                        if t["Parameters"].get(args.as_str().unwrap()).is_some()
                            || args == "AWS::Region" =>
                    {
                        self.parameter(t, args.as_str().unwrap())
                    }
                    "Fn::If" => {
                        let branch = if self.condition(t, args[0].as_str().unwrap()) {
                            &args[1]
                        } else {
                            &args[2]
                        };
                        self.value(t, branch)
                    }
                    "Fn::Join" => {
                        let parts = self.value(t, &args[1]);
                        let parts: Vec<String> = parts
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| p.as_str().unwrap().to_owned())
                            .collect();
                        json!(parts.join(args[0].as_str().unwrap()))
                    }
                    _ => Value::Object(
                        map.iter()
                            .map(|(k, v)| (k.clone(), self.value(t, v)))
                            .collect(),
                    ),
                }
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(t, v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(t, i)).collect()),
            other => other.clone(),
        }
    }

    /// Whether a resource with a `Condition` is made.
    fn makes(&self, t: &Value, resource: &str) -> bool {
        let r = &t["Resources"][resource];
        assert!(r.is_object(), "no resource {resource}");
        r["Condition"].as_str().is_none_or(|c| self.condition(t, c))
    }
}

/// What WAF's NORMALIZE_PATH does: no repeated slashes, no `.` segments,
/// `..` segments taking the one before them away.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    format!("/{}", segments.join("/"))
}

struct Request<'a> {
    method: &'a str,
    path: &'a str,
    from: Ipv4Addr,
}

fn in_range(address: Ipv4Addr, range: &str) -> bool {
    let (base, bits) = range.split_once('/').expect("a CIDR range");
    let base: Ipv4Addr = base.parse().unwrap();
    let bits: u32 = bits.parse().unwrap();
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(address) & mask == u32::from(base) & mask
}

/// Whether a WAF statement (the kinds the template uses) matches a request.
/// `ip_sets` gives each referenced IP set's addresses by resource name.
fn matches(statement: &Value, request: &Request, ip_sets: &BTreeMap<String, Vec<String>>) -> bool {
    let (kind, body) = statement.as_object().unwrap().iter().next().unwrap();
    match kind.as_str() {
        "AndStatement" => body["Statements"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| matches(s, request, ip_sets)),
        "OrStatement" => body["Statements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| matches(s, request, ip_sets)),
        "NotStatement" => !matches(&body["Statement"], request, ip_sets),
        "IPSetReferenceStatement" => {
            let set = body["Arn"]["Fn::GetAtt"][0].as_str().unwrap();
            ip_sets[set].iter().any(|r| in_range(request.from, r))
        }
        "ByteMatchStatement" => {
            let field = body["FieldToMatch"].as_object().unwrap();
            let mut value = match field.keys().next().unwrap().as_str() {
                "Method" => request.method.to_owned(),
                "UriPath" => request.path.to_owned(),
                other => panic!("the test matches no {other}"),
            };
            for transformation in body["TextTransformations"].as_array().unwrap() {
                value = match transformation["Type"].as_str().unwrap() {
                    "NONE" => value,
                    "NORMALIZE_PATH" => normalize_path(&value),
                    "LOWERCASE" => value.to_lowercase(),
                    other => panic!("the test applies no {other}"),
                };
            }
            let wanted = body["SearchString"].as_str().unwrap();
            match body["PositionalConstraint"].as_str().unwrap() {
                "EXACTLY" => value == wanted,
                "STARTS_WITH" => value.starts_with(wanted),
                other => panic!("the test matches no {other}"),
            }
        }
        other => panic!("the test evaluates no {other}"),
    }
}

#[test]
fn the_web_acl_counts_only_sign_ups_and_answers_as_the_server_does() {
    let t = decoded();
    let venue: Ipv4Addr = "203.0.113.7".parse().unwrap();
    let elsewhere: Ipv4Addr = "198.51.100.20".parse().unwrap();
    let east = |parameters: Vec<(&'static str, Value)>| Deployment {
        region: "us-east-1",
        parameters: parameters.into_iter().collect(),
    };
    let counted_by = |deployment: &Deployment, request: &Request| -> bool {
        let acl = deployment.value(&t, &t["Resources"]["WebAcl"]["Properties"]);
        let rules = acl["Rules"].as_array().unwrap();
        let blocking: Vec<&Value> = rules
            .iter()
            .filter(|r| r["Action"].get("Block").is_some())
            .collect();
        assert_eq!(blocking.len(), 1, "one rule blocks: the sign-up rate");
        let rate = &blocking[0]["Statement"]["RateBasedStatement"];
        assert_eq!(rate["AggregateKeyType"], "IP");
        let mut ip_sets = BTreeMap::new();
        if deployment.makes(&t, "WebAclAllowlist") {
            let set = deployment.value(&t, &t["Resources"]["WebAclAllowlist"]["Properties"]);
            let addresses = set["Addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            ip_sets.insert("WebAclAllowlist".to_owned(), addresses);
        }
        matches(&rate["ScopeDownStatement"], request, &ip_sets)
    };

    // The stack's own web ACL, in us-east-1: the server's sign-up routes
    // are counted, by POST only, however the path is written.
    let plain = east(vec![]);
    assert!(plain.makes(&t, "WebAcl"));
    assert!(!plain.makes(&t, "WebAclAllowlist"));
    for path in lanyard_http::paths::SIGN_UP_LIMITED {
        let request = Request {
            method: "POST",
            path,
            from: venue,
        };
        assert!(counted_by(&plain, &request), "POST {path} is counted");
        let doubled = path.replace('/', "//");
        let request = Request {
            method: "POST",
            path: &doubled,
            from: venue,
        };
        assert!(counted_by(&plain, &request), "POST {doubled} is counted");
    }
    // Nothing a desk, an organizer or an attendee's badge page sends is.
    for (method, path) in [
        ("GET", "/api/registrations"),
        ("GET", "/api/registrations.csv"),
        ("POST", "/api/registrations/import"),
        ("POST", "/api/checkins"),
        ("POST", "/api/checkins/batch"),
        ("POST", "/api/checkins/walk-ins"),
        ("GET", "/api/checkins/search"),
        ("GET", "/api/checkins/stats"),
        ("GET", "/api/desk"),
        ("POST", "/api/desks"),
        ("GET", "/api/badges/abc"),
        ("PATCH", "/api/badges/abc"),
        ("GET", "/conference"),
        ("GET", "/"),
        ("GET", "/desk"),
    ] {
        let request = Request {
            method,
            path,
            from: venue,
        };
        assert!(
            !counted_by(&plain, &request),
            "{method} {path} is not counted"
        );
    }
    // The venue's address left out: its sign-ups are not counted, others' are.
    let allowing = east(vec![(
        "WebAclAllowedAddresses",
        json!(["203.0.113.0/28", "192.0.2.1/32"]),
    )]);
    assert!(allowing.makes(&t, "WebAclAllowlist"));
    let at = |from| Request {
        method: "POST",
        path: "/api/registrations",
        from,
    };
    assert!(!counted_by(&allowing, &at(venue)));
    assert!(counted_by(&allowing, &at(elsewhere)));

    // Past the limit: 429 with the server's own error and a Retry-After.
    let acl = plain.value(&t, &t["Resources"]["WebAcl"]["Properties"]);
    let block = &acl["Rules"][0]["Action"]["Block"]["CustomResponse"];
    assert_eq!(block["ResponseCode"], 429);
    let retry_after = block["ResponseHeaders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["Name"] == "Retry-After")
        .expect("a Retry-After header");
    assert!(
        retry_after["Value"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    let body = &acl["CustomResponseBodies"][block["CustomResponseBodyKey"].as_str().unwrap()];
    assert_eq!(body["ContentType"], "APPLICATION_JSON");
    let waf: Value = serde_json::from_str(body["Content"].as_str().unwrap()).unwrap();
    let server = {
        use axum::response::IntoResponse;
        let response = lanyard_http::ApiError::RateLimited(1).into_response();
        assert_eq!(response.status(), 429);
        let bytes = futures_executor(axum::body::to_bytes(response.into_body(), 1 << 16)).unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    assert_eq!(waf["error"]["code"], server["error"]["code"]);

    // Which web ACL the distribution gets, by region and WebAclArn.
    let acl_arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/venue/0e1f";
    let attached = |d: &Deployment| {
        let config = d.value(
            &t,
            &t["Resources"]["Distribution"]["Properties"]["DistributionConfig"],
        );
        config["WebACLId"].clone()
    };
    assert_eq!(attached(&plain), json!({"Fn::GetAtt": ["WebAcl", "Arn"]}));
    let seoul = Deployment {
        region: "ap-northeast-2",
        parameters: BTreeMap::new(),
    };
    assert!(!seoul.makes(&t, "WebAcl"));
    assert_eq!(attached(&seoul), json!({"Ref": "AWS::NoValue"}));
    for region in ["ap-northeast-2", "us-east-1"] {
        let given = Deployment {
            region,
            parameters: [("WebAclArn", json!(acl_arn))].into_iter().collect(),
        };
        assert!(
            !given.makes(&t, "WebAcl"),
            "{region}: no web ACL of its own"
        );
        assert_eq!(attached(&given), json!(acl_arn), "{region}");
    }
    let off = east(vec![("WebAclRateLimit", json!("0"))]);
    assert!(!off.makes(&t, "WebAcl"));
    assert_eq!(attached(&off), json!({"Ref": "AWS::NoValue"}));
}

/// Runs a future to its end on a runtime of its own.
fn futures_executor<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// CloudFront's resources have names unique in the account across every
/// region: each is made from the region or the stack's id, so the same
/// stack name deployed in two regions does not collide.
#[test]
fn cloudfronts_names_differ_between_regions() {
    let t = decoded();
    let mut named = 0;
    for (name, resource) in t["Resources"].as_object().unwrap() {
        if !resource["Type"]
            .as_str()
            .unwrap()
            .starts_with("AWS::CloudFront::")
        {
            continue;
        }
        let Some(config) = resource["Properties"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.ends_with("Config"))
            .map(|(_, v)| v)
        else {
            continue;
        };
        let Some(given) = config.get("Name") else {
            continue;
        };
        let text = given.to_string();
        assert!(
            text.contains("AWS::Region") || text.contains("AWS::StackId"),
            "{name}: {text}"
        );
        named += 1;
    }
    assert_eq!(named, 3, "the access control and the two policies");
}

/// With `ExistingTableName` the stack makes no table and everything that
/// names one (the functions' variable, both policies, the output) names
/// the given table; without it, its own.
#[test]
fn an_existing_table_is_used_in_place_of_the_stacks_own() {
    let t = decoded();
    let adopting = Deployment {
        region: "ap-northeast-2",
        parameters: [("ExistingTableName", json!("Registrations"))]
            .into_iter()
            .collect(),
    };
    let own = Deployment {
        region: "ap-northeast-2",
        parameters: BTreeMap::new(),
    };
    assert!(!adopting.makes(&t, "RegistrationsTable"));
    assert!(own.makes(&t, "RegistrationsTable"));
    let variable = |d: &Deployment| {
        d.value(
            &t,
            &t["Globals"]["Function"]["Environment"]["Variables"]["LANYARD_TABLE"],
        )
    };
    assert_eq!(variable(&adopting), json!("Registrations"));
    assert_eq!(variable(&own), json!({"Ref": "RegistrationsTable"}));
    assert_eq!(
        adopting.value(&t, &t["Outputs"]["TableName"]["Value"]),
        json!("Registrations")
    );
    // Every DynamoDB resource in the policies is the given table's ARN.
    for (function, policies) in [
        (
            "ApiFunction",
            &t["Resources"]["ApiFunction"]["Properties"]["Policies"],
        ),
        (
            "BadgeFunctionRole",
            &t["Resources"]["BadgeFunctionRole"]["Properties"]["Policies"],
        ),
    ] {
        let resolved = adopting.value(&t, policies);
        let text = resolved.to_string();
        assert!(!text.contains("RegistrationsTable"), "{function}: {text}");
        let tables: Vec<&Value> = text_subs(&resolved);
        assert!(!tables.is_empty(), "{function} names the table");
        for sub in tables {
            assert!(
                sub[0].as_str().unwrap().contains(":table/${Table}"),
                "{function}: {sub}"
            );
            assert_eq!(sub[1]["Table"], "Registrations", "{function}: {sub}");
        }
    }
}

/// Every `Fn::Sub` with its own variables in a value.
fn text_subs(value: &Value) -> Vec<&Value> {
    match value {
        Value::Object(map) => match map.get("Fn::Sub") {
            Some(args @ Value::Array(_)) => vec![args],
            _ => map.values().flat_map(text_subs).collect(),
        },
        Value::Array(items) => items.iter().flat_map(text_subs).collect(),
        _ => Vec::new(),
    }
}
