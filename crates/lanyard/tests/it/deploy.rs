//! `deploy/deploy.sh` before it reaches AWS: the tools it needs are named
//! with how to get each, one region is resolved and given to every `aws`
//! and `sam` call, and a configuration at the repository's root is packaged
//! with the files it names. `aws`, `sam`, `cargo`, `zig` and `rustup` are
//! stand-ins that log their arguments (a real AWS account cannot be reached
//! here); the script, bash and Python are real.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A copy of the script, the page and a conference file with a logo, in
/// the repository's layout.
fn repository(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("deploy")).unwrap();
    std::fs::create_dir_all(repo.join("web")).unwrap();
    std::fs::copy(
        Path::new(REPO).join("deploy/deploy.sh"),
        repo.join("deploy/deploy.sh"),
    )
    .unwrap();
    for page in ["desk.html", "me.html", "index.html"] {
        std::fs::write(repo.join("web").join(page), "<!doctype html>").unwrap();
    }
    std::fs::create_dir_all(repo.join("art")).unwrap();
    std::fs::write(repo.join("art/logo.svg"), "<svg/>").unwrap();
    std::fs::write(
        repo.join("lanyard.toml"),
        "[[conference]]\nid = \"c\"\ntitle = \"C\"\nlogo = \"art/logo.svg\"\n",
    )
    .unwrap();
    repo
}

/// Stand-ins for the tools, each logging `name args…` to `calls.log`.
fn stand_ins(dir: &Path, profile_region: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("calls.log");
    let script = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\n{body}\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        "aws",
        &format!(
            "case \"$*\" in\n  'configure get region') [ -n '{profile_region}' ] && echo '{profile_region}' ;;\n  *describe-stacks*) echo out ;;\n  *get-account-settings*) [ \"$FAKE_LAMBDA_QUOTA\" = denied ] && exit 254; echo \"${{FAKE_LAMBDA_QUOTA:-1000}}\" ;;\nesac\nexit 0"
        ),
    );
    script("sam", "exit 0");
    script(
        "cargo",
        "mkdir -p target/lambda/lanyard-api target/lambda/lanyard-badge",
    );
    script("cargo-lambda", "exit 0");
    script("zig", "exit 0");
    script("rustup", "echo aarch64-unknown-linux-gnu");
    bin
}

fn deploy(repo: &Path, path: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("bash");
    command
        .arg(repo.join("deploy/deploy.sh"))
        .current_dir(repo)
        .env_clear()
        .env("PATH", path)
        .env("HOME", repo);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_missing_tool_is_named_with_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path());
    let out = deploy(&repo, "/usr/bin:/bin", &[("AWS_REGION", "eu-west-1")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (tool, how) in [
        ("aws", "AWS CLI v2"),
        ("sam", "pip install aws-sam-cli"),
        ("cargo-lambda", "cargo-lambda"),
        ("zig", "pip install ziglang"),
        ("rustup", "rustup.rs"),
    ] {
        assert!(
            stderr.contains(&format!("deploy needs {tool}: ")) && stderr.contains(how),
            "{tool}: {stderr}"
        );
    }
    assert!(
        calls(dir.path()).is_empty(),
        "nothing was run: {:?}",
        calls(dir.path())
    );
}

#[test]
fn one_region_goes_to_every_aws_and_sam_call() {
    for (env, profile, expected) in [
        (
            vec![
                ("AWS_REGION", "eu-west-1"),
                ("AWS_DEFAULT_REGION", "us-east-2"),
            ],
            "",
            "eu-west-1",
        ),
        (
            vec![("AWS_DEFAULT_REGION", "us-east-2")],
            "ap-south-1",
            "us-east-2",
        ),
        (vec![], "ap-northeast-2", "ap-northeast-2"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let repo = repository(dir.path());
        let bin = stand_ins(dir.path(), profile);
        let out = deploy(&repo, &format!("{}:/usr/bin:/bin", bin.display()), &env);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let calls = calls(dir.path());
        let cloud: Vec<&String> = calls
            .iter()
            .filter(|c| {
                (c.starts_with("aws ") || c.starts_with("sam ")) && !c.starts_with("aws configure")
            })
            .collect();
        assert!(cloud.len() >= 8, "{calls:?}");
        for call in cloud {
            assert!(
                call.contains(&format!("--region {expected}")),
                "{call} (expected {expected})"
            );
        }
    }
    // No region anywhere: refused before any call.
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path());
    let bin = stand_ins(dir.path(), "");
    let out = deploy(&repo, &format!("{}:/usr/bin:/bin", bin.display()), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no AWS region"));
    assert!(calls(dir.path())
        .iter()
        .filter(|c| c.starts_with("aws ") || c.starts_with("sam "))
        .all(|c| c.starts_with("aws configure")));
}

/// A configuration at the repository's root (once: "cannot copy a
/// directory into itself") is packaged with its logo, and nothing else.
#[test]
fn a_configuration_at_the_root_is_packaged_with_the_files_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path());
    let bin = stand_ins(dir.path(), "");
    let out = deploy(
        &repo,
        &format!("{}:/usr/bin:/bin", bin.display()),
        &[
            ("AWS_REGION", "eu-west-1"),
            ("LANYARD_CONFIG", "lanyard.toml"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for function in ["lanyard-api", "lanyard-badge"] {
        let config = repo.join("target/lambda").join(function).join("config");
        let mut packaged: Vec<String> = walk(&config)
            .iter()
            .map(|p| p.strip_prefix(&config).unwrap().display().to_string())
            .collect();
        packaged.sort();
        assert_eq!(packaged, ["art/logo.svg", "lanyard.toml"], "{function}");
    }
    let sam = calls(dir.path())
        .into_iter()
        .find(|c| c.starts_with("sam deploy"))
        .unwrap();
    assert!(
        sam.contains("ConferencesFile=/var/task/config/lanyard.toml"),
        "{sam}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// SAM refuses a parameter override with no value: only the settings given
/// are passed, each once.
#[test]
fn only_parameters_with_a_value_reach_sam() {
    let sam_call = |env: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let repo = repository(dir.path());
        let bin = stand_ins(dir.path(), "eu-west-1");
        let out = deploy(&repo, &format!("{}:/usr/bin:/bin", bin.display()), env);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        calls(dir.path())
            .into_iter()
            .find(|c| c.starts_with("sam deploy"))
            .expect("sam deploy was called")
    };
    let bare = sam_call(&[]);
    let overrides = bare.split("--parameter-overrides").nth(1).unwrap();
    for word in overrides.split_whitespace() {
        assert!(!word.ends_with('='), "an empty pair in {bare}");
    }
    assert!(
        !bare.contains("MailFrom") && !bare.contains("AlarmEmail"),
        "{bare}"
    );
    assert!(
        bare.contains("AdminTokenParameterName=/lanyard/admin-token"),
        "{bare}"
    );
    let acl = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/venue/0e1f";
    let full = sam_call(&[
        ("LANYARD_ALARM_EMAIL", "ops@example.org"),
        ("LANYARD_MAIL_FROM", "reg@example.org"),
        ("LANYARD_PUBLIC_URL", "https://reg.example.org"),
        ("LANYARD_WEB_ACL_ALLOW", "203.0.113.7/32,198.51.100.0/24"),
        ("LANYARD_WEB_ACL_ARN", acl),
        ("LANYARD_EXISTING_TABLE", "Registrations"),
    ]);
    for pair in [
        "AlarmEmail=ops@example.org",
        "MailFrom=reg@example.org",
        "PublicUrl=https://reg.example.org",
        "WebAclAllowedAddresses=203.0.113.7/32,198.51.100.0/24",
        &format!("WebAclArn={acl}"),
        "ExistingTableName=Registrations",
    ] {
        assert!(full.contains(pair), "{pair} not in {full}");
    }
    // Each pair names one of the template's parameters.
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/template.yaml"),
    )
    .unwrap();
    let parameters = &template
        [template.find("\nParameters:\n").unwrap()..template.find("\nConditions:\n").unwrap()];
    let overrides = full.split("--parameter-overrides").nth(1).unwrap();
    for word in overrides.split_whitespace() {
        let name = word.split_once('=').unwrap().0;
        assert!(
            parameters.contains(&format!("\n  {name}:\n")),
            "{name} is no parameter of the template"
        );
    }
}

#[test]
fn the_accounts_lambda_quota_is_checked_before_anything_is_deployed() {
    let run = |env: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let repo = repository(dir.path());
        let bin = stand_ins(dir.path(), "ap-northeast-2");
        let out = deploy(&repo, &format!("{}:/usr/bin:/bin", bin.display()), env);
        let sam = calls(dir.path())
            .into_iter()
            .find(|c| c.starts_with("sam deploy"));
        (out, sam)
    };
    // A new account (10 at once): the defaults fit, and it is told how to get more.
    let (out, sam) = run(&[("FAKE_LAMBDA_QUOTA", "10")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("L-B99A9384"), "{stderr}");
    assert!(
        stderr.contains("reach nobody"),
        "alarms without a subscriber are named: {stderr}"
    );
    let (out, _) = run(&[("LANYARD_ALARM_EMAIL", "ops@example.org")]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("reach nobody"));
    let sam = sam.expect("deployed");
    for pair in [
        "BadgeMaximumConcurrency=2",
        "ApiReservedConcurrency=0",
        "PriceClass=PriceClass_200",
    ] {
        assert!(sam.contains(pair), "{pair} in {sam}");
    }
    // What cannot fit is refused before anything is deployed.
    for (env, says) in [
        (
            vec![
                ("FAKE_LAMBDA_QUOTA", "10"),
                ("LANYARD_API_RESERVED_CONCURRENCY", "5"),
            ],
            "10 unreserved",
        ),
        (
            vec![
                ("FAKE_LAMBDA_QUOTA", "10"),
                ("LANYARD_BADGE_CONCURRENCY", "9"),
            ],
            "fewer than 2",
        ),
        (vec![("LANYARD_BADGE_CONCURRENCY", "many")], "whole numbers"),
        (vec![("LANYARD_STACK", &"x".repeat(59))], "at most 58"),
    ] {
        let (out, sam) = run(&env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?}");
        assert!(stderr.contains(says), "{env:?}: {stderr}");
        assert!(sam.is_none(), "{env:?}: nothing deployed");
    }
    // A large quota takes a reservation; one that cannot be read is said.
    let (out, sam) = run(&[
        ("FAKE_LAMBDA_QUOTA", "1000"),
        ("LANYARD_API_RESERVED_CONCURRENCY", "50"),
        ("LANYARD_BADGE_CONCURRENCY", "20"),
        ("LANYARD_PRICE_CLASS", "PriceClass_All"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sam = sam.unwrap();
    assert!(
        sam.contains("ApiReservedConcurrency=50") && sam.contains("PriceClass=PriceClass_All"),
        "{sam}"
    );
    let (out, _) = run(&[("FAKE_LAMBDA_QUOTA", "denied")]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not read"));
}

/// `deploy/teardown.sh` with a stand-in `aws` that logs its calls, answers
/// the stack's outputs, and lists one page of versions in the bucket.
fn teardown(args: &[&str], env: &[(&str, &str)]) -> (Output, Vec<String>) {
    teardown_of(args, env, "")
}

/// As [`teardown`], for a stack given `existing_table` (empty: none).
fn teardown_of(args: &[&str], env: &[(&str, &str)], existing_table: &str) -> (Output, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("deploy")).unwrap();
    std::fs::copy(
        Path::new(REPO).join("deploy/teardown.sh"),
        repo.join("deploy/teardown.sh"),
    )
    .unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let (log, listed) = (dir.path().join("calls.log"), dir.path().join("listed"));
    let aws = bin.join("aws");
    std::fs::write(
        &aws,
        format!(
            r#"#!/bin/sh
echo "aws $*" >> '{log}'
case "$*" in
  *describe-stacks*BucketName*) echo site-bucket ;;
  *describe-stacks*ExistingTableName*) echo '{existing}' ;;
  *describe-stacks*TableName*) echo regs-table ;;
  *list-object-versions*)
    if [ -e '{listed}' ]; then echo '{{}}'; else touch '{listed}'
      echo '{{"Versions":[{{"Key":"badges/a.png","VersionId":"v1"}}],"DeleteMarkers":[{{"Key":"site/index.html","VersionId":"v2"}}]}}'
    fi ;;
esac
exit 0
"#,
            log = log.display(),
            listed = listed.display(),
            existing = if existing_table.is_empty() { "None" } else { existing_table }
        ),
    )
    .unwrap();
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut command = Command::new("bash");
    command
        .arg(repo.join("deploy/teardown.sh"))
        .args(args)
        .current_dir(&repo)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", &repo)
        .env("AWS_REGION", "ap-northeast-2")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (out, calls(dir.path()))
}

#[test]
fn teardown_keeps_the_data_unless_told_and_confirmed() {
    // The stack goes; the table and the bucket stay, and it says so.
    let (out, calls) = teardown(&[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(calls
        .iter()
        .any(|c| c.contains("cloudformation delete-stack") && c.contains("--stack-name lanyard")));
    assert!(
        calls
            .iter()
            .all(|c| !c.contains("delete-bucket") && !c.contains("delete-table")),
        "{calls:?}"
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("kept: the table regs-table") && said.contains("site-bucket"),
        "{said}"
    );

    // Not confirmed (no terminal, or the wrong name): nothing at all.
    for env in [vec![], vec![("LANYARD_TEARDOWN_CONFIRM", "lanyrd")]] {
        let (out, calls) = teardown(&["--delete-data"], &env);
        assert!(!out.status.success());
        assert!(calls.iter().all(|c| !c.contains("delete")), "{calls:?}");
    }

    // Confirmed: the stack, then every version in the bucket and the bucket,
    // the table (its protection off first) and the parameters.
    let (out, calls) = teardown(
        &["--delete-data"],
        &[("LANYARD_TEARDOWN_CONFIRM", "lanyard")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let at = |needle: &str| {
        calls
            .iter()
            .position(|c| c.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {calls:?}"))
    };
    let objects = &calls[at("delete-objects")];
    assert!(
        objects.contains(r#""Key": "badges/a.png", "VersionId": "v1""#),
        "{objects}"
    );
    assert!(
        objects.contains(r#""Key": "site/index.html", "VersionId": "v2""#),
        "{objects}"
    );
    assert!(at("delete-stack") < at("delete-objects"));
    assert!(
        at("delete-objects")
            < at("s3api delete-bucket --region ap-northeast-2 --bucket site-bucket")
    );
    assert!(
        at("--no-deletion-protection-enabled")
            < at("dynamodb delete-table --region ap-northeast-2 --table-name regs-table")
    );
    assert!(
        at("ssm delete-parameter --region ap-northeast-2 --name /lanyard/admin-token")
            > at("delete-table")
    );
    at("ssm delete-parameter --region ap-northeast-2 --name /lanyard/origin-secret");

    // A table the stack was given is never the stack's to delete.
    let (out, calls) = teardown_of(
        &["--delete-data"],
        &[("LANYARD_TEARDOWN_CONFIRM", "lanyard")],
        "Registrations",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(calls.iter().any(|c| c.contains("delete-bucket")));
    assert!(
        calls
            .iter()
            .all(|c| !c.contains("delete-table") && !c.contains("deletion-protection")),
        "{calls:?}"
    );
}
