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
#   LANYARD_CONFIG            conference TOML (with its logos beside it);
#                             default: the two built-in conferences
#   LANYARD_ALARM_EMAIL       where alarms are mailed (optional)
#   AWS_REGION, AWS_PROFILE…  the usual AWS CLI settings
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=${LANYARD_STACK:-lanyard}
PARAMETER=${LANYARD_ADMIN_TOKEN_PARAMETER:-/lanyard/admin-token}

for tool in aws sam cargo-lambda; do
    command -v "$tool" >/dev/null || { echo "deploy needs $tool: see deploy/README.md" >&2; exit 1; }
done

echo "== organizer token in SSM Parameter Store ($PARAMETER)"
if ! aws ssm get-parameter --name "$PARAMETER" >/dev/null 2>&1; then
    token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    aws ssm put-parameter --name "$PARAMETER" --type SecureString --value "$token" >/dev/null
    echo "created; read it with: aws ssm get-parameter --name $PARAMETER --with-decryption"
fi

echo "== build (cargo lambda, arm64, release)"
cargo lambda build --release --arm64 --locked --package lanyard-lambda \
    --bin lanyard-api --bin lanyard-badge
conferences_file=""
if [ -n "${LANYARD_CONFIG:-}" ]; then
    for fn in lanyard-api lanyard-badge; do
        rm -rf "target/lambda/$fn/config"
        cp -R "$(dirname "$LANYARD_CONFIG")" "target/lambda/$fn/config"
    done
    conferences_file="/var/task/config/$(basename "$LANYARD_CONFIG")"
fi

echo "== deploy (sam)"
sam deploy \
    --template-file deploy/template.yaml \
    --stack-name "$STACK" \
    --resolve-s3 \
    --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset \
    --parameter-overrides \
        "AdminTokenParameterName=$PARAMETER" \
        "ConferencesFile=$conferences_file" \
        "AlarmEmail=${LANYARD_ALARM_EMAIL:-}"

output() {
    aws cloudformation describe-stacks --stack-name "$STACK" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
bucket=$(output BucketName)
distribution=$(output DistributionId)
site=$(output SiteUrl)

echo "== upload the page to s3://$bucket/site/"
aws s3 sync web/ "s3://$bucket/site/" --delete --cache-control "no-cache"
# Staff are told the desk is at /desk, attendees their page at /me, as
# `lanyard serve` answers them.
aws s3 cp web/desk.html "s3://$bucket/site/desk" --content-type "text/html; charset=utf-8" --cache-control "no-cache"
aws s3 cp web/me.html "s3://$bucket/site/me" --content-type "text/html; charset=utf-8" --cache-control "no-cache"
aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/*" >/dev/null

echo "lanyard is at $site"
