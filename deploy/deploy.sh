#!/usr/bin/env bash
# Builds lanyard's Lambda functions with cargo-lambda (arm64), deploys the
# stack with AWS SAM, uploads the web page to the bucket and prints the URL.
#
# usage: deploy/deploy.sh
#
# Settings (environment):
#   LANYARD_STACK             stack name (default: lanyard)
#   LANYARD_ADMIN_TOKEN_PARAMETER
#                             SSM SecureString holding the organizer token
#                             (default: /lanyard/admin-token; created with a
#                             random token when missing)
#   LANYARD_ORIGIN_SECRET_PARAMETER
#                             SSM String holding the secret CloudFront sends
#                             the API (default: /lanyard/origin-secret;
#                             created with a random value when missing)
#   LANYARD_WEB_ACL_RATE_LIMIT
#                             sign-ups per address per five minutes before
#                             the web ACL answers 429 (default 300; 0: none;
#                             nothing else is counted)
#   LANYARD_WEB_ACL_ALLOW     IPv4 ranges whose sign-ups are not counted, the
#                             venue's own address ("203.0.113.7/32,…")
#   LANYARD_WEB_ACL_ARN       a CloudFront web ACL (made in us-east-1) to
#                             attach instead of the stack's own: the way to
#                             have one when deploying to another region
#   LANYARD_BADGE_CONCURRENCY the most badge functions run at once (default
#                             2: a new account's whole Lambda quota is 10)
#   LANYARD_API_RESERVED_CONCURRENCY
#                             concurrency reserved for the API function
#                             (default 0: none; Lambda keeps 10 unreserved)
#   LANYARD_PRICE_CLASS       CloudFront's edge locations: PriceClass_100,
#                             PriceClass_200 (default; with Korea and Japan)
#                             or PriceClass_All
#   LANYARD_EXISTING_TABLE    keep registrations in this table (the original
#                             system's, say) instead of making one; first
#                             give it lanyard's indexes with
#                             `lanyard aws-setup --table NAME`
#   LANYARD_CONFIG            conference TOML (with its logos beside it);
#                             default: the two built-in conferences
#   LANYARD_ALARM_EMAIL       where alarms are mailed (optional)
#   LANYARD_MAIL_FROM         sender of attendees' e-mails, verified in SES
#                             ("DevFest <reg@example.org>"; optional: none
#                             is sent without it)
#   LANYARD_PUBLIC_URL        the address attendees open, for links in
#                             e-mails (optional: the distribution's own)
#   AWS_REGION, AWS_DEFAULT_REGION, AWS_PROFILE…
#                             the usual AWS CLI settings; the region is
#                             resolved once (AWS_REGION, AWS_DEFAULT_REGION,
#                             then the profile's) and given to every call
set -euo pipefail

# The configuration is named relative to where the command was typed; make
# it absolute before moving to the repository.
if [ -n "${LANYARD_CONFIG:-}" ]; then
    [ -f "$LANYARD_CONFIG" ] || { echo "LANYARD_CONFIG: no file $LANYARD_CONFIG" >&2; exit 1; }
    LANYARD_CONFIG="$(cd "$(dirname "$LANYARD_CONFIG")" && pwd)/$(basename "$LANYARD_CONFIG")"
fi
cd "$(dirname "$0")/.."

STACK=${LANYARD_STACK:-lanyard}
PARAMETER=${LANYARD_ADMIN_TOKEN_PARAMETER:-/lanyard/admin-token}
ORIGIN_SECRET_PARAMETER=${LANYARD_ORIGIN_SECRET_PARAMETER:-/lanyard/origin-secret}
WEB_ACL_RATE_LIMIT=${LANYARD_WEB_ACL_RATE_LIMIT:-300}
# The badge function is named "<stack>-badge", and Lambda takes 64 characters.
if ! [[ "$STACK" =~ ^[A-Za-z][A-Za-z0-9-]{0,57}$ ]]; then
    echo "LANYARD_STACK: a letter, then letters, digits and -, at most 58 characters in all (not '$STACK')" >&2
    exit 1
fi
BADGE_CONCURRENCY=${LANYARD_BADGE_CONCURRENCY:-2}
API_RESERVED=${LANYARD_API_RESERVED_CONCURRENCY:-0}
for number in "$BADGE_CONCURRENCY" "$API_RESERVED"; do
    [[ "$number" =~ ^[0-9]+$ ]] || { echo "concurrency settings are whole numbers, not '$number'" >&2; exit 1; }
done

# Every tool, checked before anything is done, each with how to get it.
missing=0
need() { # need COMMAND HOW-TO-INSTALL
    if ! command -v "$1" >/dev/null; then
        echo "deploy needs $1: $2" >&2
        missing=1
    fi
}
need aws "install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
need sam "install the AWS SAM CLI: pip install aws-sam-cli (or https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html)"
need cargo-lambda "install cargo-lambda: pip install cargo-lambda, or cargo install --locked cargo-lambda"
need zig "install Zig, which cargo-lambda cross-compiles with: pip install ziglang"
need rustup "install Rust with rustup: https://rustup.rs"
need python3 "install Python 3.11 or later (it reads the conference file's list of logos and fonts)"
if command -v rustup >/dev/null \
    && ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    echo "deploy needs the Rust target for Lambda's arm64: rustup target add aarch64-unknown-linux-gnu" >&2
    missing=1
fi
[ "$missing" = 0 ] || exit 1

# One region for every call: SAM does not read AWS_REGION.
REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}
if [ -z "$REGION" ]; then
    echo "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your AWS profile)" >&2
    exit 1
fi
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
echo "== region $REGION"

# The account's Lambda concurrency is shared by both functions: a new
# account's is 10, and Lambda keeps 10 of it unreserved.
echo "== Lambda concurrency quota"
quota=$(aws lambda get-account-settings --region "$REGION" \
    --query AccountLimit.ConcurrentExecutions --output text 2>/dev/null || true)
raise="ask for more in Service Quotas: aws service-quotas request-service-quota-increase --region $REGION --service-code lambda --quota-code L-B99A9384 --desired-value 1000"
if [[ "$quota" =~ ^[0-9]+$ ]]; then
    echo "this account may run $quota functions at once; badges take at most $BADGE_CONCURRENCY, the API reserves $API_RESERVED"
    if (( API_RESERVED > 0 && quota - API_RESERVED < 10 )); then
        echo "LANYARD_API_RESERVED_CONCURRENCY=$API_RESERVED would leave fewer than the 10 unreserved Lambda keeps of $quota; set 0, or $raise" >&2
        exit 1
    fi
    if (( BADGE_CONCURRENCY + API_RESERVED + 2 > quota )); then
        echo "LANYARD_BADGE_CONCURRENCY=$BADGE_CONCURRENCY leaves the API fewer than 2 of $quota concurrent functions in a sign-up rush; lower it, or $raise" >&2
        exit 1
    fi
    if (( quota <= 50 )); then
        echo "note: $quota is a new account's quota; for a large event, $raise" >&2
    fi
else
    echo "note: could not read the account's Lambda quota (lambda:GetAccountSettings); see deploy/README.md" >&2
fi

if [ -z "${LANYARD_ALARM_EMAIL:-}" ]; then
    echo "note: no LANYARD_ALARM_EMAIL: the alarms (failed badges, dead letters, API errors) reach nobody" \
        "until someone subscribes to the stack's AlarmTopicArn output" >&2
fi

echo "== organizer token in SSM Parameter Store ($PARAMETER)"
if ! aws ssm get-parameter --region "$REGION" --name "$PARAMETER" >/dev/null 2>&1; then
    token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    aws ssm put-parameter --region "$REGION" --name "$PARAMETER" --type SecureString --value "$token" >/dev/null
    echo "created; read it with: aws ssm get-parameter --name $PARAMETER --with-decryption"
fi

echo "== origin secret in SSM Parameter Store ($ORIGIN_SECRET_PARAMETER)"
if ! aws ssm get-parameter --region "$REGION" --name "$ORIGIN_SECRET_PARAMETER" >/dev/null 2>&1; then
    secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    aws ssm put-parameter --region "$REGION" --name "$ORIGIN_SECRET_PARAMETER" --type String --value "$secret" >/dev/null
    echo "created"
fi
if [ "$REGION" != us-east-1 ] && [ "$WEB_ACL_RATE_LIMIT" != 0 ]; then
    echo "note: CloudFront's web ACLs live in us-east-1, so this stack in $REGION makes none;" \
        "see deploy/README.md to attach one" >&2
fi

echo "== build (cargo lambda, arm64, release)"
cargo lambda build --release --arm64 --locked --package lanyard-lambda \
    --bin lanyard-api --bin lanyard-badge
conferences_file=""
if [ -n "${LANYARD_CONFIG:-}" ]; then
    # The configuration and the files it names (logos, font files), at the
    # same places relative to it; nothing else of its folder.
    config_dir=$(dirname "$LANYARD_CONFIG")
    files=$(python3 - "$LANYARD_CONFIG" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    config = tomllib.load(f)
for c in config.get("conference", []):
    if c.get("logo"):
        print(c["logo"])
for f in config.get("fonts", {}).get("files", []):
    print(f)
PY
)
    for fn in lanyard-api lanyard-badge; do
        dest="target/lambda/$fn/config"
        rm -rf "$dest"
        mkdir -p "$dest"
        cp "$LANYARD_CONFIG" "$dest/"
        while IFS= read -r file; do
            [ -n "$file" ] || continue
            case "$file" in
                /*|*..*) echo "LANYARD_CONFIG: $file must be a path inside $config_dir" >&2; exit 1 ;;
            esac
            mkdir -p "$dest/$(dirname "$file")"
            cp "$config_dir/$file" "$dest/$file"
        done <<<"$files"
    done
    conferences_file="/var/task/config/$(basename "$LANYARD_CONFIG")"
fi

# Only the parameters that have a value: SAM refuses "Name=" pairs.
overrides=(
    "AdminTokenParameterName=$PARAMETER"
    "OriginSecretParameterName=$ORIGIN_SECRET_PARAMETER"
    "WebAclRateLimit=$WEB_ACL_RATE_LIMIT"
    "BadgeMaximumConcurrency=$BADGE_CONCURRENCY"
    "ApiReservedConcurrency=$API_RESERVED"
    "PriceClass=${LANYARD_PRICE_CLASS:-PriceClass_200}"
)
for pair in "ConferencesFile=$conferences_file" \
    "AlarmEmail=${LANYARD_ALARM_EMAIL:-}" \
    "MailFrom=${LANYARD_MAIL_FROM:-}" \
    "PublicUrl=${LANYARD_PUBLIC_URL:-}" \
    "WebAclAllowedAddresses=${LANYARD_WEB_ACL_ALLOW:-}" \
    "WebAclArn=${LANYARD_WEB_ACL_ARN:-}" \
    "ExistingTableName=${LANYARD_EXISTING_TABLE:-}"; do
    [ -n "${pair#*=}" ] && overrides+=("$pair")
done

echo "== deploy (sam)"
sam deploy \
    --region "$REGION" \
    --template-file deploy/template.yaml \
    --stack-name "$STACK" \
    --resolve-s3 \
    --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset \
    --parameter-overrides "${overrides[@]}"

output() {
    aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
bucket=$(output BucketName)
distribution=$(output DistributionId)
site=$(output SiteUrl)

echo "== upload the page to s3://$bucket/site/"
aws s3 sync --region "$REGION" web/ "s3://$bucket/site/" --delete --cache-control "no-cache"
# Staff are told the desk is at /desk, attendees their page at /me, as
# `lanyard serve` answers them.
aws s3 cp --region "$REGION" web/desk.html "s3://$bucket/site/desk" --content-type "text/html; charset=utf-8" --cache-control "no-cache"
aws s3 cp --region "$REGION" web/me.html "s3://$bucket/site/me" --content-type "text/html; charset=utf-8" --cache-control "no-cache"
aws cloudfront create-invalidation --region "$REGION" --distribution-id "$distribution" --paths "/*" >/dev/null

echo "lanyard is at $site"
